/*
 * The -L spec of `mirrorctl port-forward` (forward-spec.h): split on ':'
 * outside brackets, every field checked for its shape, the local address
 * made a sockaddr; and the listening socket it names. User input, not
 * the pod's, but checked as strictly: a name that is not a DNS name or a
 * port that is not a number in range is refused with a reason.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "forward-spec.h"

#define FIELDS_MAX	4
#define FIELD_LEN	FWDSPEC_HOST_MAX

struct field {
	char	s[FIELD_LEN];
	int	bracketed;
};

/* Splits s into at most FIELDS_MAX fields. The count, or -1. */
static int
split(const char *s, struct field *fl, const char **why)
{
	const char *p = s, *end;
	size_t n;
	int k = 0;

	for (;;) {
		if (k == FIELDS_MAX) {
			*why = "too many ':'-separated parts (IPv6 addresses "
			    "go in brackets: [::1])";
			return -1;
		}
		fl[k].bracketed = *p == '[';
		if (fl[k].bracketed) {
			if ((end = strchr(p, ']')) == NULL) {
				*why = "a '[' without its ']'";
				return -1;
			}
			p++;
			n = (size_t)(end - p);
			end++;
			if (*end != ':' && *end != '\0') {
				*why = "']' must end a part";
				return -1;
			}
		} else {
			end = p + strcspn(p, ":");
			n = (size_t)(end - p);
		}
		if (n == 0) {
			*why = "an empty part";
			return -1;
		}
		if (n >= FIELD_LEN) {
			*why = "a part is too long";
			return -1;
		}
		memcpy(fl[k].s, p, n);
		fl[k].s[n] = '\0';
		k++;
		if (*end == '\0')
			return k;
		p = end + 1;
	}
}

/* A decimal port in lo..65535. */
static int
port_parse(const struct field *fl, unsigned int lo, uint16_t *port)
{
	const char *p = fl->s;
	unsigned long v = 0;

	if (fl->bracketed || *p == '\0')
		return -1;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > 65535)
			return -1;
	}
	if (v < lo)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* A DNS name: labels of [A-Za-z0-9_-], 1..63 long, joined by dots; one
 * trailing dot allowed; not all digits and dots (that is an address
 * that did not parse). */
static int
name_ok(const char *s)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.";
	size_t len = strlen(s), k;
	const char *dot;

	if (len == 0 || len >= FWDSPEC_HOST_MAX || s[0] == '-' ||
	    strspn(s, chars) != len || strspn(s, "0123456789.") == len)
		return 0;
	for (;;) {
		dot = strchr(s, '.');
		k = dot ? (size_t)(dot - s) : strlen(s);
		if (k == 0 || k > 63)
			return 0;
		if (dot == NULL)
			return 1;
		s = dot + 1;
		if (*s == '\0')
			return 1;	/* the trailing dot */
	}
}

/* A numeric address: 4 or 6 into *family, the bytes into addr. */
static int
addr_parse(const struct field *fl, int *family, uint8_t *addr)
{
	if (!fl->bracketed && inet_pton(AF_INET, fl->s, addr) == 1) {
		*family = 4;
		return 0;
	}
	if (fl->bracketed && inet_pton(AF_INET6, fl->s, addr) == 1) {
		*family = 6;
		return 0;
	}
	return -1;
}

/* The sockaddr of a numeric address or localhost, with port. */
static int
sockaddr_make(const struct field *fl, uint16_t port,
    struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	uint8_t a[16];
	int fam;

	memset(ss, 0, sizeof(*ss));
	if (!fl->bracketed && strcmp(fl->s, "localhost") == 0) {
		fam = 4;
		a[0] = 127, a[1] = 0, a[2] = 0, a[3] = 1;
	} else if (addr_parse(fl, &fam, a) < 0)
		return -1;
	if (fam == 4) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a, 4);
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a, 16);
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
	}
	return 0;
}

static int
local_parse(const struct field *fl, struct fwd_spec *f)
{
	static const struct field lo = { "127.0.0.1", 0 }, any = { "0.0.0.0", 0 };

	if (fl == NULL)
		fl = &lo;
	else if (!fl->bracketed && strcmp(fl->s, "*") == 0)
		fl = &any;
	return sockaddr_make(fl, f->lport, &f->laddr, &f->llen);
}

int
fwdspec_parse(const char *s, struct fwd_spec *f, const char **why)
{
	struct field fl[FIELDS_MAX];
	const struct field *laddr = NULL, *lport, *host, *rport;
	int n;

	memset(f, 0, sizeof(*f));
	if ((n = split(s, fl, why)) < 0)
		return -EINVAL;
	switch (n) {
	case 4:
		laddr = &fl[0];
		lport = &fl[1], host = &fl[2], rport = &fl[3];
		break;
	case 3:
		lport = &fl[0], host = &fl[1], rport = &fl[2];
		break;
	case 2:
		lport = &fl[1], host = &fl[0], rport = &fl[1];
		break;
	default:
		*why = "want [LADDR:]LPORT:HOST:RPORT";
		return -EINVAL;
	}
	if (port_parse(rport, 1, &f->rport) < 0) {
		*why = "the remote port is not a number in 1..65535";
		return -EINVAL;
	}
	if (port_parse(lport, 0, &f->lport) < 0) {
		*why = "the local port is not a number in 0..65535";
		return -EINVAL;
	}
	if (local_parse(laddr, f) < 0) {
		*why = "the local address is not a numeric address, "
		    "localhost or *";
		return -EINVAL;
	}
	if (addr_parse(host, &f->host_family, f->host_addr) < 0) {
		if (host->bracketed || !name_ok(host->s)) {
			*why = "the host is neither an address nor a DNS name";
			return -EINVAL;
		}
		f->host_family = 0;
	}
	snprintf(f->host, sizeof(f->host), "%s", host->s);
	return 0;
}

int
fwdspec_parse_r(const char *s, struct fwd_rspec *r, const char **why)
{
	struct field fl[FIELDS_MAX];
	const struct field *addr = NULL, *rport, *lhost, *lport;
	uint16_t lp;
	int n;

	memset(r, 0, sizeof(*r));
	if ((n = split(s, fl, why)) < 0)
		return -EINVAL;
	switch (n) {
	case 4:
		addr = &fl[0];
		rport = &fl[1], lhost = &fl[2], lport = &fl[3];
		break;
	case 3:
		rport = &fl[0], lhost = &fl[1], lport = &fl[2];
		break;
	default:
		*why = "want [ADDR:]RPORT:LHOST:LPORT";
		return -EINVAL;
	}
	if (addr != NULL && (addr->bracketed ? strcmp(addr->s, "::") != 0 :
	    strcmp(addr->s, "*") != 0 && strcmp(addr->s, "0.0.0.0") != 0)) {
		*why = "the agent takes the pod's port on every address: ADDR "
		    "can only be *, 0.0.0.0 or [::]";
		return -EINVAL;
	}
	if (port_parse(rport, 1, &r->rport) < 0) {
		*why = "the pod's port is not a number in 1..65535";
		return -EINVAL;
	}
	if (port_parse(lport, 1, &lp) < 0) {
		*why = "the local port is not a number in 1..65535";
		return -EINVAL;
	}
	if (sockaddr_make(lhost, lp, &r->to, &r->tolen) < 0) {
		*why = "the local host is not a numeric address or localhost";
		return -EINVAL;
	}
	return 0;
}

void
fwdspec_local_str(const struct sockaddr_storage *sa, char *out, size_t size)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	char a[INET6_ADDRSTRLEN];

	if (sa->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		snprintf(out, size, "[%s]:%u", a, ntohs(sin6->sin6_port));
	} else {
		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		snprintf(out, size, "%s:%u", a, ntohs(sin->sin_port));
	}
}

void
fwdspec_remote_str(const struct fwd_spec *f, char *out, size_t size)
{
	snprintf(out, size, f->host_family == 6 ? "[%s]:%u" : "%s:%u",
	    f->host, f->rport);
}

int
fwdspec_listen(const struct fwd_spec *f)
{
	int fd, one = 1, rc;

	fd = socket(f->laddr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (f->laddr.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
		    sizeof(one));
	if (bind(fd, (const struct sockaddr *)&f->laddr, f->llen) < 0 ||
	    listen(fd, 512) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}
