/*
 * Weak stand-ins for the ctx.h functions the helpers beside "shell"
 * write (ctx-info.c, ctx-env.c: shellenv; ctx-net.c: shellnet;
 * ctx-layer.c: layer), so that mirrorctl shell links and runs before
 * their code is merged; their definitions replace these. TEMPORARY:
 * this file goes once they are in main. What each does meanwhile:
 * the hostname from the target's /etc/hostname (through the mount,
 * confined to it), the local environment only, no network (the shell's
 * namespace has only lo), no layer.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ctx.h"
#include "mirrorctl.h"
#include "session.h"
#include "shell.h"
#include "xmalloc.h"

#define WEAK __attribute__((weak))

WEAK int
ctx_info_fetch(const struct session *s, struct ctx_info *ci)
{
	struct open_how how;
	int root, fd;
	ssize_t n;
	size_t i;

	memset(ci, 0, sizeof(*ci));
	ci->environ = xcalloc(1, sizeof(char *));
	ci->volumes = xcalloc(1, sizeof(char *));
	if ((root = open(s->mountpoint, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return 0;
	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	fd = (int)syscall(SYS_openat2, root, "etc/hostname", &how, sizeof(how));
	close(root);
	if (fd < 0)
		return 0;
	n = read(fd, ci->hostname, sizeof(ci->hostname) - 1);
	close(fd);
	if (n <= 0) {
		ci->hostname[0] = '\0';
		return 0;
	}
	ci->hostname[n] = '\0';
	ci->hostname[strcspn(ci->hostname, "\n")] = '\0';
	for (i = 0; ci->hostname[i]; i++)
		if (!isalnum((unsigned char)ci->hostname[i]) &&
		    ci->hostname[i] != '-' && ci->hostname[i] != '.')
			ci->hostname[0] = '\0';
	return 0;
}

WEAK void
ctx_info_free(struct ctx_info *ci)
{
	ctx_env_free(ci->environ);
	ctx_env_free(ci->volumes);
	ci->environ = ci->volumes = NULL;
}

WEAK int
ctx_env_merge(const struct ctx_info *ci, char *const *local,
    const struct mirror_conf *conf, char ***out)
{
	size_t n = 0, i;

	(void)ci;
	(void)conf;
	while (local[n])
		n++;
	*out = xcalloc(n + 1, sizeof(char *));
	for (i = 0; i < n; i++)
		(*out)[i] = xstrdup(local[i]);
	return 0;
}

WEAK void
ctx_env_free(char **env)
{
	size_t i;

	for (i = 0; env && env[i]; i++)
		x_free(env[i]);
	x_free(env);
}

WEAK int
ctx_net_start(struct session *s, pid_t ns_pid, const char *config,
    struct ctx_net *cn)
{
	(void)s;
	(void)ns_pid;
	(void)config;
	memset(cn, 0, sizeof(*cn));
	return 0;
}

WEAK void
ctx_net_stop(struct ctx_net *cn)
{
	session_stop_proc(cn->netd_pid, cn->netd_start, 2000);
}

WEAK int
ctx_layer_env(const struct mirror_conf *conf, const char *root,
    const char *statedir, char ***add)
{
	(void)conf;
	(void)root;
	(void)statedir;
	*add = NULL;
	return 0;
}
