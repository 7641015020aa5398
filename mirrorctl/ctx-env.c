/*
 * The merged environment of a shell, exec or `mirrorctl env` (ctx.h),
 * by mirrord's rules: the local environment, then the target's variables
 * over it (the target wins) except those that must stay local and those
 * env.exclude names, only those env.include names when it names any,
 * then env.override over everything.
 */
#include "config.h"

#include <fnmatch.h>
#include <string.h>

#include "conf.h"
#include "ctx.h"
#include "envmap.h"
#include "proto-target.h"
#include "xmalloc.h"

/* A pod's value for these would break the laptop's tools or session. */
static const char *const stay_local[] = {
	"PATH", "HOME", "USER", "SHELL", "TERM", "DISPLAY", "WAYLAND_*",
	"SSH_*", "XDG_*", "LANG", "LC_*", "MIRROR_*",
};

/* name matches one of the n patterns of conf's list pats. */
static int
conf_matches(const char *name, const char (*pats)[CONF_ENV_PATTERN_MAX],
    int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (fnmatch(pats[i], name, 0) == 0)
			return 1;
	return 0;
}

/* Whether the target's variable name is taken. */
static int
ctx_env_takes(const char *name, const struct mirror_conf *conf)
{
	size_t i;

	for (i = 0; i < sizeof(stay_local) / sizeof(stay_local[0]); i++)
		if (fnmatch(stay_local[i], name, 0) == 0)
			return 0;
	if (conf->env_ninclude > 0 && !conf_matches(name, conf->env_include,
	    conf->env_ninclude))
		return 0;
	return !conf_matches(name, conf->env_exclude, conf->env_nexclude);
}

int
ctx_env_merge(const struct ctx_info *ci, char *const *local,
    const struct mirror_conf *conf, char ***out)
{
	char name[256];
	struct envmap m;
	size_t i, n;

	envmap_init(&m);
	/* A name twice in the local environment: getenv's, the first. */
	for (i = 0; local != NULL && local[i] != NULL; i++)
		if (strchr(local[i], '=') != NULL)
			envmap_set(&m, local[i], 1);
	for (i = 0; ci->environ != NULL && ci->environ[i] != NULL; i++) {
		n = strcspn(ci->environ[i], "=");
		/* The decoder checked NAME; a name this long is no one's. */
		if (n >= sizeof(name) || !target_env_ok(ci->environ[i]))
			continue;
		memcpy(name, ci->environ[i], n);
		name[n] = '\0';
		if (ctx_env_takes(name, conf))
			envmap_set(&m, ci->environ[i], 0);
	}
	for (i = 0; i < (size_t)conf->env_noverride; i++)
		envmap_set(&m, conf->env_override[i], 0);
	*out = envmap_take(&m, NULL);
	return 0;
}

void
ctx_env_free(char **env)
{
	size_t i;

	for (i = 0; env != NULL && env[i] != NULL; i++)
		x_free(env[i]);
	x_free(env);
}
