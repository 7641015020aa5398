/*
 * The remote context of `mirrorctl shell` and `mirrorctl exec` (issue
 * 12): what the target is (ctx-info.c, ctx-env.c), its network inside
 * the shell's own network namespace (ctx-net.c), and the shell built on
 * both (cmd-shell.c, shell*.c). This header is the contract between
 * those parts; each is documented where it is defined.
 */
#ifndef MIRRORCTL_CTX_H
#define MIRRORCTL_CTX_H
#include <limits.h>
#include <sys/types.h>

struct session;
struct mirror_conf;
struct kube_opts;

/* What the agent reports about its target (OP_TARGET_INFO). Every
 * string came from the pod: checked for shape by the decoder (a hostname
 * of hostname characters, NAME=value entries with a valid NAME, absolute
 * normalized paths without ".."), never trusted beyond that. */
struct ctx_info {
	char	  hostname[65];	/* the target's UTS name */
	char	**environ;	/* NULL-terminated "NAME=value", the target's */
	char	**volumes;	/* NULL-terminated absolute paths: the target's
				 * volume mount points (its mountinfo beyond
				 * the image root, /proc, /sys, /dev left out) */
};

/* Asks the agent of s (its url, token file, fingerprint; the agent is
 * running) for its target's info. 0, or -1 after one printed error. */
int	ctx_info_fetch(const struct session *s, struct ctx_info *ci);
void	ctx_info_free(struct ctx_info *ci);

/* The environment of a shell or exec, merged as mirrord does: the
 * target's variables win, except conf's env.exclude patterns and the
 * ones that stay local (PATH, HOME, USER, SHELL, TERM, DISPLAY,
 * WAYLAND_*, SSH_*, XDG_*, LANG, LC_*, MIRROR_*); env.include restricts,
 * env.override sets. local is the caller's environment. *out is a
 * NULL-terminated array the caller frees with ctx_env_free. 0 or -1. */
int	ctx_env_merge(const struct ctx_info *ci, char *const *local,
	    const struct mirror_conf *conf, char ***out);
void	ctx_env_free(char **env);

/* The network of a shell: mirror-netd with its TUN device, addresses,
 * routes and DNS stub inside the network namespace of ns_pid (a process
 * already in the shell's fresh network namespace), connected to the
 * agent of s from mirrorctl's own namespace; nothing outside that
 * namespace changes. resolv_conf: a file (in the session directory)
 * that names the stub with the pod's search list, ndots and options,
 * for the shell to bind over /etc/resolv.conf. netd exits by itself when
 * ns_pid exits. incoming: CONF_IN_* for netd's --incoming, or -1 for
 * the configuration's incoming.mode. 0, or -1 after one printed error. */
struct ctx_net {
	pid_t			netd_pid;
	unsigned long long	netd_start;
	char			resolv_conf[PATH_MAX];
};
/* filter: NULL, or netd's --http-filter-* options and their values
 * (NULL-terminated, at most CTX_NET_FILTER_ARGS). */
#define CTX_NET_FILTER_ARGS	4
int	ctx_net_start(struct session *s, pid_t ns_pid, const char *config,
	    int incoming, const char *const *filter, struct ctx_net *cn);
void	ctx_net_stop(struct ctx_net *cn);

/* An agent for a command that needs one only while it runs (env, and
 * the shell when nothing else keeps one): a live session of the same
 * TARGET lends its agent (url, token file, fingerprint); else one is
 * started as `mirrorctl mount` starts it (read-only), in a session
 * directory of its own, and ctx_agent_release stops it and removes the
 * directory. Local agents also exit by themselves after agent.idle_ttl
 * without a client, so a killed mirrorctl leaves none for long. */
struct ctx_agent {
	struct session	*s;	/* url, token_file, fingerprint, target */
	int		 owned;	/* started here */
};
/* token_file, fingerprint: as mount's --token-file, --fingerprint (NULL
 * if not given). 0, or -1 after one printed error. */
int	ctx_agent_get(struct ctx_agent *ca, const char *target,
	    const char *token_file, const char *fingerprint,
	    const char *config, const struct mirror_conf *conf,
	    const struct kube_opts *ko);
void	ctx_agent_release(struct ctx_agent *ca);

/* The LD_PRELOAD layer of exec: writes conf's path rules (fs.mode,
 * fs.mapping, the fs.* pattern lists; see conf/mirror.conf.in) for the
 * target's root mounted at root into a rules file in statedir, readable
 * by the command's user, and sets *add to the variables exec adds to
 * the command's environment: LD_PRELOAD (the installed
 * libmirror-layer.so, or $MIRROR_LAYER), MIRROR_LAYER_RULES (the file)
 * and MIRROR_ROOT=root. *add is NULL-terminated; the caller frees it
 * with ctx_layer_env_free. 0, or -1 after one printed error (a pattern
 * that is not valid is named by its setting). */
int	ctx_layer_env(const struct mirror_conf *conf, const char *root,
	    const char *statedir, char ***add);
void	ctx_layer_env_free(char **add);
#endif
