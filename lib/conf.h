/*
 * Configuration (libconfig syntax). Every setting has a default, so a
 * missing file is fine; a file that does not parse is an error that
 * names the line. Only lib/conf.c includes <libconfig.h>.
 */
#ifndef MIRROR_CONF_H
#define MIRROR_CONF_H

#define CONF_CIDRS_MAX	64
#define CONF_LOCAL_MAX	64	/* net.local entries */
#define CONF_LOCAL_LEN	264	/* one: a host name (255), ":PORT", NUL */
#define CONF_USERS_MAX	64
#define CONF_ENV_MAX	64	/* entries of env.include, exclude, override */
#define CONF_ENV_PATTERN_MAX 128
#define CONF_ENV_OVERRIDE_MAX 512

#define CONF_PATTERNS_MAX	48	/* per fs.* pattern list */
#define CONF_PATTERN_MAX	256	/* bytes of one pattern, with the NUL */
#define CONF_MAPPINGS_MAX	16

/* The layer's fs.mode (mirrorctl exec): as mirrord's. */
#define CONF_FS_LOCAL	0	/* nothing remote but what fs.read_* name */
#define CONF_FS_READ	1	/* reads from the target, writes refused */
#define CONF_FS_WRITE	2	/* reads and writes to the target */

/* A list of path patterns: "/prefix", "~/prefix" (under $HOME) or a
 * POSIX extended regex. */
struct conf_patterns {
	int	n;
	char	v[CONF_PATTERNS_MAX][CONF_PATTERN_MAX];
};

/* incoming.mode (mirrorctl shell and exec) */
#define CONF_IN_OFF	0
#define CONF_IN_STEAL	1
#define CONF_IN_MIRROR	2	/* a copy while the pod answers */
#define CONF_PORTS_MAX	64	/* incoming.ports, ignore_ports, mapping */

#define CONF_REMOTE_MAX	32	/* fs.remote entries */
#define CONF_PATH_MAX	256	/* one fs.remote path */

#include <sys/types.h>
#include <stdint.h>
#include <stdio.h>

#include "httpfilter.h"

struct mirror_conf {
	char	log_level[16];		/* log.level */
	/* fs */
	int	fs_rw;			/* fs.mode = "ro" | "rw" */
	/* the layer of mirrorctl exec (see conf/mirror.conf.in) */
	int	fs_layer_mode;		/* fs.mode: CONF_FS_* */
	int	fs_nmapping;		/* fs.mapping: [pattern, replacement] */
	char	fs_mapping[CONF_MAPPINGS_MAX][2][CONF_PATTERN_MAX];
	struct conf_patterns fs_read_only, fs_read_write, fs_local,
		fs_not_found, fs_default_local, fs_default_remote,
		fs_default_not_found;
	double	fs_attr_timeout;	/* seconds the kernel caches attributes */
	double	fs_entry_timeout;	/* seconds it caches names */
	double	fs_negative_timeout;	/* seconds it caches "no such file" */
	double	fs_watched_timeout;	/* the same where the agent watches */
	double	fs_request_timeout;	/* an agent request fails with EIO after */
	int	fs_max_read_kb;		/* largest read sent to the agent */
	int	fs_readahead_kb;	/* the mount's read_ahead_kb */
	int	fs_max_inflight;	/* requests outstanding per mount */
	int	fs_write_behind_kb;	/* writes answered before done, per file */
	int	fs_max_nodes;		/* files mountd keeps track of, at most */
	int	fs_nallow_users;	/* fs.allow_users: served besides the */
	char	fs_allow_users[CONF_USERS_MAX][64]; /* owner and root */
	int	fs_nremote;		/* fs.remote: paths a shell takes */
	char	fs_remote[CONF_REMOTE_MAX][CONF_PATH_MAX]; /* from the target */
	/* agent */
	int	agent_workers;		/* file-syscall threads */
	double	agent_connect_timeout;	/* bounded wait for an agent */
	/* agents mirrorctl starts in Kubernetes */
	char	agent_image[256];	/* agent.image: the agent's container image */
	int	agent_job;		/* agent.mode = "ephemeral" (0) | "job" (1) */
	double	agent_idle_ttl;		/* agent.idle_ttl: exit after so long idle */
	int	agent_port;		/* agent.port: in the pod; 0 picks one */
	char	kubectl[256];		/* kube.kubectl: the kubectl to run */
	/* net (mirrorctl connect, mirror-netd) */
	char	net_tun_name[16];	/* net.tun_name */
	char	net_tun_range[64];	/* net.tun_range: CIDR */
	char	net_tun_range6[64];	/* net.tun_range6: IPv6 CIDR */
	int	net_dns;		/* net.dns: the DNS stub */
	double	net_udp_idle;		/* net.udp_idle_timeout: seconds */
	int	net_nroutes;		/* net.routes: CIDRs routed too */
	char	net_routes[CONF_CIDRS_MAX][64];
	int	net_nnever;		/* net.never_route: CIDRs left out */
	char	net_never[CONF_CIDRS_MAX][64];
	int	net_nlocal;		/* net.local: leave from the laptop */
	char	net_local[CONF_LOCAL_MAX][CONF_LOCAL_LEN];
	/* env (the environment of mirrorctl shell, exec and env) */
	int	env_ninclude;		/* env.include: only these of the pod's */
	char	env_include[CONF_ENV_MAX][CONF_ENV_PATTERN_MAX];
	int	env_nexclude;		/* env.exclude: none of these */
	char	env_exclude[CONF_ENV_MAX][CONF_ENV_PATTERN_MAX];
	int	env_noverride;		/* env.override: "NAME=value", set */
	char	env_override[CONF_ENV_MAX][CONF_ENV_OVERRIDE_MAX];
	/* incoming (the pod's traffic to a shell's listeners) */
	int	incoming_mode;		/* incoming.mode: CONF_IN_* */
	int	incoming_nports;	/* incoming.ports: only these local */
	int	incoming_ports[CONF_PORTS_MAX];	/* ports (none: all) */
	int	incoming_nignore;	/* incoming.ignore_ports: never */
	int	incoming_ignore[CONF_PORTS_MAX];
	int	incoming_nmapping;	/* incoming.port_mapping: [local, */
	int	incoming_mapping[CONF_PORTS_MAX][2];	/* remote] */
	/* incoming.http_filter: lib/httpfilter.h's wire form (0 bytes:
	 * none); it implies steal */
	size_t	incoming_filter_len;
	uint8_t	incoming_filter[HTTP_FILTER_WIRE_MAX];
	int	incoming_flush;		/* incoming.flush_connections */
};

/* The layers of the configuration, lowest first; a setting in a later
 * one wins. */
#define CONF_LAYER_BUILTIN	0	/* conf_defaults() */
#define CONF_LAYER_SYSTEM	1	/* $(sysconfdir)/mirror/mirror.conf */
#define CONF_LAYER_USER		2	/* ~/.config/mirror/mirror.conf */
#define CONF_LAYER_PROJECT	3	/* nearest .mirror/mirror.conf up */
#define CONF_LAYER_EXPLICIT	4	/* --config FILE or $MIRROR_CONFIG */
#define CONF_LAYERS		5
#define CONF_SETTINGS_MAX	128	/* entries of the key table, at most */
#define CONF_VALUE_MAX		512	/* a value as config show prints it */

/* Where each setting came from, for "mirrorctl config show". */
struct conf_trace {
	char	file[CONF_LAYERS][4096];	/* a layer's file, "" if none */
	int	layer[CONF_SETTINGS_MAX];	/* per key: CONF_LAYER_* */
	char	value[CONF_SETTINGS_MAX][CONF_VALUE_MAX];	/* as written */
};

/* "steal", "mirror" or "off": CONF_IN_*, or -EINVAL. */
int	conf_incoming_mode(const char *s);

/* Fills c with defaults. */
void	conf_defaults(struct mirror_conf *c);
/* Loads the layers over c: the system file, the user's, the nearest
 * .mirror/mirror.conf from the working directory up (each if present,
 * and only if owned by the invoking user or root and not writable by
 * others), then path (NULL: $MIRROR_CONFIG, if set), which must exist.
 * Later wins per setting. Returns 0, or -errno after printing a message
 * that names the file and line. */
int	conf_load(struct mirror_conf *c, const char *path);
/* The same, noting in t (zeroed by the caller) where each setting came
 * from. */
int	conf_load_traced(struct mirror_conf *c, const char *path,
	    struct conf_trace *t);
/* The file a layer would read, into buf: 0, or -ENOENT if that layer
 * has none (no project file up from here, no --config). */
int	conf_layer_path(int layer, const char *explicit_path, char *buf,
	    size_t size);
/* Checks one file on its own: 0, or -errno after a message naming the
 * file and line. */
int	conf_check_file(const char *path);
/* Prints the effective settings of t, one "name = value;  # source" a
 * line, in the key table's order. */
void	conf_show(FILE *out, const struct conf_trace *t);
/* The user a root program acts for: SUDO_UID when root runs it under
 * sudo, else the real uid. */
uid_t	conf_invoking_uid(void);
/* A numeric uid (decimal digits only, below (uid_t)-1): 0 or -EINVAL. */
int	conf_parse_uid(const char *s, uid_t *uid);

#endif
