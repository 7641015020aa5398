/*
 * OP_TARGET_INFO (proto.h): what the agent tells about its target, its
 * hostname, environment and volume mount points, as one typed encoder
 * and decoder pair; and the line format mirror-query prints it in for
 * mirrorctl, which links no transport. Everything in a reply came from
 * the pod: the decoders check its shape and nothing else trusts it.
 */
#ifndef MIRROR_PROTO_TARGET_H
#define MIRROR_PROTO_TARGET_H

#include <stddef.h>

#include "proto.h"

#define TARGET_HOSTNAME_MAX	64		/* a UTS name's length */
#define TARGET_ENV_MAX		(256u * 1024)	/* environ bytes sent */
#define TARGET_ENV_COUNT_MAX	16384		/* variables kept */
#define TARGET_VOLUMES_MAX	256		/* volume mount points */
#define TARGET_VOLUME_PATH_MAX	4095		/* bytes of one path */

/* A decoded reply. The arrays are NULL-terminated; caller frees all with
 * target_info_free. */
struct target_info {
	char	  hostname[TARGET_HOSTNAME_MAX + 1];	/* "" if unknown */
	char	**environ;	/* "NAME=value", NAME valid, first of a name */
	size_t	  nenv;
	char	**volumes;	/* target_volume_ok paths */
	size_t	  nvolumes;
};

/* The agent's reply payload: environ is the raw /proc/PID/environ bytes
 * (cut to TARGET_ENV_MAX here), volumes n target_volume_ok paths. */
void	proto_put_target_info(struct proto_buf *b, const char *hostname,
	    const void *environ, size_t envlen, char *const *volumes,
	    size_t n);
/*
 * Decodes a reply payload into ti (ending with proto_end). An environ
 * entry that is not NAME=value with a valid NAME, or repeats a NAME, is
 * left out (a process may hold anything there, and getenv finds the
 * first); a bad hostname, a bad volume path or too many of them fail the
 * whole reply. 0 or -EBADMSG (ti then holds nothing to free).
 */
int	proto_get_target_info(struct proto_cur *c, struct target_info *ti);
void	target_info_free(struct target_info *ti);

/* "" or 1..TARGET_HOSTNAME_MAX of [A-Za-z0-9._-], not starting with '-'. */
int	target_hostname_ok(const char *s);
/* A variable name a shell can export: [A-Za-z_][A-Za-z0-9_]*, n bytes. */
int	target_env_name_ok(const char *s, size_t n);
/* "NAME=value" with a valid NAME (the value holds any byte but NUL). */
int	target_env_ok(const char *entry);
/* An absolute, normalized path: no "//", no "." or ".." component, no
 * trailing '/', no control character, at most TARGET_VOLUME_PATH_MAX. */
int	target_path_ok(const char *path);
/* A path the shell may bind over a local one: target_path_ok, not "/",
 * not /proc, /sys, /dev or under them. */
int	target_volume_ok(const char *path);

/*
 * The line format (mirror-query's stdout, mirrorctl's input), one item a
 * line, every byte outside '!'..'~' and '%' itself written %XX:
 *   hostname NAME        (left out when unknown)
 *   env NAME=VALUE
 *   volume PATH
 * format: a NUL-terminated string, caller frees. parse: the same checks
 * as the decoder (an env line must be valid, though); unknown or
 * malformed lines fail it. 0 or -EBADMSG (ti then holds nothing).
 */
char	*target_info_format(const struct target_info *ti);
int	target_info_parse(const char *text, size_t len, struct target_info *ti);

#endif
