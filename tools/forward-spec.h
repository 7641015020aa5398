/*
 * The forwards of `mirrorctl port-forward -L` and -R: the specs a user
 * types, [LADDR:]LPORT:HOST:RPORT and [ADDR:]RPORT:LHOST:LPORT, parsed and checked once here, and the local
 * listening socket it names. mirrorctl parses and binds (so that a bad
 * spec or a taken port is said before any agent starts) and mirror-forward
 * parses again the same way; tests/unit/test-fwdspec.c covers the parser.
 * Pure C, no transport: mirrorctl links it.
 */
#ifndef MIRROR_FORWARD_SPEC_H
#define MIRROR_FORWARD_SPEC_H

#include <stdint.h>
#include <sys/socket.h>

/* A DNS name (without a trailing dot) fits in this much, NUL included. */
#define FWDSPEC_HOST_MAX	254
/* An address or name as printed ("[::1]" or "db.shop.svc"). */
#define FWDSPEC_STR_MAX		(FWDSPEC_HOST_MAX + 2)

struct fwd_spec {
	/* the local end: a numeric address (127.0.0.1 unless given) */
	struct sockaddr_storage	laddr;	/* port included; 0: any free */
	socklen_t		llen;
	uint16_t		lport;
	/* the pod's end */
	char			host[FWDSPEC_HOST_MAX];	/* as typed */
	int			host_family;	/* 4 or 6 if numeric, else 0 */
	uint8_t			host_addr[16];
	uint16_t		rport;
};

/*
 * Parses s, one of
 *   LADDR:LPORT:HOST:RPORT   LADDR: a numeric address, "localhost" or
 *                            "*" (every address); IPv6 in brackets
 *   LPORT:HOST:RPORT         LADDR 127.0.0.1
 *   HOST:RPORT               LPORT = RPORT
 * HOST: a numeric address (IPv6 in brackets) or a DNS name the pod
 * resolves (letters, digits, '-', '_', '.'; labels of 1..63; a trailing
 * dot allowed). LPORT 0..65535 (0: a free port), RPORT 1..65535.
 * 0, or -EINVAL with *why saying what is wrong.
 */
int	fwdspec_parse(const char *s, struct fwd_spec *f, const char **why);

/* One -R: the pod's port RPORT, stolen (on every address of the pod),
 * to LHOST:LPORT on this machine. */
struct fwd_rspec {
	uint16_t		rport;
	struct sockaddr_storage	to;	/* LHOST:LPORT */
	socklen_t		tolen;
};

/*
 * Parses s, one of
 *   ADDR:RPORT:LHOST:LPORT   ADDR: the pod's any-address, "*", 0.0.0.0
 *                            or [::] (the agent steals a port on every
 *                            address; another ADDR is refused)
 *   RPORT:LHOST:LPORT
 * LHOST: a numeric address (IPv6 in brackets) or localhost; RPORT and
 * LPORT 1..65535. 0, or -EINVAL with *why saying what is wrong.
 */
int	fwdspec_parse_r(const char *s, struct fwd_rspec *r, const char **why);

/* "127.0.0.1:8080" / "[::1]:8080" for the local end, with port. */
void	fwdspec_local_str(const struct sockaddr_storage *sa, char *out,
	    size_t size);
/* "HOST:RPORT" ("[fd00::1]:80" for an IPv6 address). */
void	fwdspec_remote_str(const struct fwd_spec *f, char *out, size_t size);

/* A listening TCP socket on f's local end (close-on-exec, non-blocking).
 * The fd, or -errno (-EADDRINUSE: the port is taken). */
int	fwdspec_listen(const struct fwd_spec *f);

#endif
