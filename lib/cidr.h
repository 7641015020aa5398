/*
 * CIDR prefixes (IPv4 and IPv6): parse, print, compare, subtract. netd
 * keeps its route set with these; mirrorctl checks --route with
 * cidr_parse.
 */
#ifndef MIRROR_CIDR_H
#define MIRROR_CIDR_H

#include <stddef.h>
#include <stdint.h>

#define CIDR_STR_MAX	64

struct cidr {
	int		family;		/* AF_INET or AF_INET6 */
	uint8_t		addr[16];	/* host bits cleared */
	int		len;		/* prefix length */
};

/* "10.0.0.0/8", "10.1.2.3" (a /32), "fd00::/8". Host bits are cleared.
 * 0 or -EINVAL. */
int	cidr_parse(const char *s, struct cidr *c);
void	cidr_make(struct cidr *c, int family, const void *addr, int len);
/* "10.0.0.0/8" into buf (CIDR_STR_MAX); returns buf. */
char	*cidr_format(const struct cidr *c, char *buf);
/* a contains b (same family, a no longer than b, b's first bits are
 * a's). */
int	cidr_contains(const struct cidr *a, const struct cidr *b);
int	cidr_overlap(const struct cidr *a, const struct cidr *b);
int	cidr_equal(const struct cidr *a, const struct cidr *b);
/* c minus n, as at most max prefixes into out; returns how many, or
 * -E2BIG. */
int	cidr_subtract(const struct cidr *c, const struct cidr *n,
	    struct cidr *out, int max);

#endif
