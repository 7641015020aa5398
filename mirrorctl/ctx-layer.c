/*
 * How `mirrorctl exec` hands the path rules to the LD_PRELOAD layer: the
 * fs.* settings (mode, mapping, the pattern lists) become a rules file
 * in the session's state directory, in the format layer/rules.h
 * defines, and three variables name it, the mount and the layer. The
 * file is checked here with the layer's own parser, so a pattern that
 * does not compile is one error from mirrorctl that names the setting,
 * not a program that dies at start.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "xmalloc.h"
#include "mirrorctl.h"
#include "ctx.h"
#include "../layer/rules.h"

#ifndef MIRROR_PKGLIBDIR
#define MIRROR_PKGLIBDIR "/usr/local/lib/mirror"
#endif
#define CTX_LAYER_SO	"libmirror-layer.so"
#define CTX_LAYER_LINES	(3 + CONF_MAPPINGS_MAX + 7 * CONF_PATTERNS_MAX + 1)

/* The rules text being built, and what each line came from. */
struct ctx_rules {
	char	 text[LAYER_RULES_FILE_MAX];
	size_t	 len;
	int	 nlines;
	char	 what[CTX_LAYER_LINES + 1][48];
};

/* Appends one line "key\tv1[\tv2]" said to come from what. */
static int
ctx_rules_add(struct ctx_rules *r, const char *what, const char *key,
    const char *v1, const char *v2)
{
	int n;

	n = snprintf(r->text + r->len, sizeof(r->text) - r->len, "%s%s%s%s%s\n",
	    key, v1 ? "\t" : "", v1 ? v1 : "", v2 ? "\t" : "", v2 ? v2 : "");
	if (n < 0 || (size_t)n >= sizeof(r->text) - r->len ||
	    r->nlines >= CTX_LAYER_LINES) {
		ctl_fail("the layer's rules do not fit in %d bytes",
		    LAYER_RULES_FILE_MAX);
		return -1;
	}
	r->len += (size_t)n;
	snprintf(r->what[++r->nlines], sizeof(r->what[0]), "%s", what);
	return 0;
}

static int
ctx_rules_list(struct ctx_rules *r, const char *name,
    const struct conf_patterns *p)
{
	char what[48];
	int i;

	for (i = 0; i < p->n; i++) {
		snprintf(what, sizeof(what), "fs.%s[%d]", name, i);
		if (ctx_rules_add(r, what, name, p->v[i], NULL) < 0)
			return -1;
	}
	return 0;
}

/* The rules for conf and root, checked by the layer's parser. */
static int
ctx_rules_build(struct ctx_rules *r, const struct mirror_conf *conf,
    const char *root)
{
	static const char *const modes[] = {
		[CONF_FS_LOCAL] = "local", [CONF_FS_READ] = "read",
		[CONF_FS_WRITE] = "write",
	};
	struct layer_rules *check;
	char what[48];
	int i, line, rc;

	if (root[0] != '/' || strpbrk(root, "\t\n") != NULL) {
		ctl_fail("%s: the mount for the layer must be an absolute path "
		    "without tabs or newlines", root);
		return -1;
	}
	if (ctx_rules_add(r, "", LAYER_RULES_MAGIC, NULL, NULL) < 0 ||
	    ctx_rules_add(r, "the mount", "root", root, NULL) < 0 ||
	    ctx_rules_add(r, "fs.mode", "mode", modes[conf->fs_layer_mode],
	    NULL) < 0)
		return -1;
	for (i = 0; i < conf->fs_nmapping; i++) {
		snprintf(what, sizeof(what), "fs.mapping[%d]", i);
		if (ctx_rules_add(r, what, "map", conf->fs_mapping[i][0],
		    conf->fs_mapping[i][1]) < 0)
			return -1;
	}
	if (ctx_rules_list(r, "not_found", &conf->fs_not_found) < 0 ||
	    ctx_rules_list(r, "read_write", &conf->fs_read_write) < 0 ||
	    ctx_rules_list(r, "read_only", &conf->fs_read_only) < 0 ||
	    ctx_rules_list(r, "local", &conf->fs_local) < 0 ||
	    ctx_rules_list(r, "default_not_found",
	    &conf->fs_default_not_found) < 0 ||
	    ctx_rules_list(r, "default_remote", &conf->fs_default_remote) < 0 ||
	    ctx_rules_list(r, "default_local", &conf->fs_default_local) < 0 ||
	    ctx_rules_add(r, "", "end", NULL, NULL) < 0)
		return -1;
	/* "~" needs a home to expand; any absolute one shows the shape. */
	check = xcalloc(1, sizeof(*check));
	rc = layer_rules_parse(check, r->text, r->len, "/home", &line);
	layer_rules_free(check);
	x_free(check);
	if (rc < 0) {
		if (line < 1 || line > r->nlines)
			ctl_fail("the layer's rules do not parse (line %d)",
			    line);
		else
			ctl_fail("%s: not a path (\"/dir\", \"~/dir\") nor a "
			    "valid POSIX extended regex without back-references",
			    r->what[line]);
		return -1;
	}
	return 0;
}

/* The layer to preload: $MIRROR_LAYER as it is (the tests name the
 * build tree's, after a sanitizer's runtime if it needs one), else the
 * installed one. Caller frees. */
static char *
ctx_layer_path(void)
{
	const char *v;
	char *path;

	if ((v = getenv("MIRROR_LAYER")) != NULL && *v)
		return xstrdup(v);
	xasprintf(&path, "%s/%s", MIRROR_PKGLIBDIR, CTX_LAYER_SO);
	if (access(path, R_OK) != 0) {
		ctl_fail("no %s (install mirror, or set MIRROR_LAYER)", path);
		x_free(path);
		return NULL;
	}
	return path;
}

/* text into statedir/layer.rules, readable by the command's user, whole
 * or not at all. Its path, or NULL after one printed error. */
static char *
ctx_rules_write(const char *statedir, const struct ctx_rules *r)
{
	char *path, *tmp;
	int fd = -1, ok = 0;

	xasprintf(&path, "%s/layer.rules", statedir);
	xasprintf(&tmp, "%s/.layer.rules.%ld", statedir, (long)getpid());
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0644)) < 0 || fchmod(fd, 0644) < 0 ||
	    write(fd, r->text, r->len) != (ssize_t)r->len) {
		ctl_fail("%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		ctl_fail("%s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		ctl_fail("%s: %s", path, strerror(errno));
		goto out;
	}
	ok = 1;
out:
	if (fd >= 0)
		close(fd);
	if (!ok) {
		(void)unlink(tmp);
		x_free(path);
		path = NULL;
	}
	x_free(tmp);
	return path;
}

int
ctx_layer_env(const struct mirror_conf *conf, const char *root,
    const char *statedir, char ***add)
{
	struct ctx_rules *r;
	char *layer = NULL, *file = NULL, **env;
	int rc = -1;

	*add = NULL;
	r = xcalloc(1, sizeof(*r));
	if (ctx_rules_build(r, conf, root) < 0 ||
	    (layer = ctx_layer_path()) == NULL ||
	    (file = ctx_rules_write(statedir, r)) == NULL)
		goto out;
	env = xcalloc(4, sizeof(*env));
	xasprintf(&env[0], "LD_PRELOAD=%s", layer);
	xasprintf(&env[1], "MIRROR_LAYER_RULES=%s", file);
	xasprintf(&env[2], "MIRROR_ROOT=%s", root);
	*add = env;
	rc = 0;
out:
	x_free(layer);
	x_free(file);
	x_free(r);
	return rc;
}

void
ctx_layer_env_free(char **add)
{
	size_t i;

	for (i = 0; add != NULL && add[i] != NULL; i++)
		x_free(add[i]);
	x_free(add);
}
