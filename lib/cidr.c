/* CIDR prefixes: the arithmetic behind netd's route set, and the parser
 * mirrorctl checks --route with. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cidr.h"

static int
family_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

static void
clear_host_bits(struct cidr *c)
{
	int i, bits = family_bits(c->family);

	for (i = c->len; i < bits; i++)
		c->addr[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
}

void
cidr_make(struct cidr *c, int family, const void *addr, int len)
{
	memset(c, 0, sizeof(*c));
	c->family = family;
	memcpy(c->addr, addr, family == AF_INET ? 4 : 16);
	c->len = len;
	clear_host_bits(c);
}

int
cidr_parse(const char *s, struct cidr *c)
{
	char buf[CIDR_STR_MAX], *slash, *end;
	long len;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", s);
	memset(c, 0, sizeof(*c));
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, c->addr) == 1)
		c->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, c->addr) == 1)
		c->family = AF_INET6;
	else
		return -EINVAL;
	len = family_bits(c->family);
	if (slash) {
		/* Digits only: strtol would also take a sign and blanks. */
		if (slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		errno = 0;
		len = strtol(slash + 1, &end, 10);
		if (*end != '\0' || errno != 0 || len < 0 ||
		    len > family_bits(c->family))
			return -EINVAL;
	}
	c->len = (int)len;
	clear_host_bits(c);
	return 0;
}

char *
cidr_format(const struct cidr *c, char *buf)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(c->family, c->addr, a, sizeof(a));
	snprintf(buf, CIDR_STR_MAX, "%s/%d", a, c->len);
	return buf;
}

/* The first n bits of a and b agree. */
static int
prefix_match(const uint8_t *a, const uint8_t *b, int n)
{
	int full = n / 8, rest = n % 8;
	uint8_t mask;

	if (memcmp(a, b, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

int
cidr_contains(const struct cidr *a, const struct cidr *b)
{
	return a->family == b->family && a->len <= b->len &&
	    prefix_match(a->addr, b->addr, a->len);
}

int
cidr_overlap(const struct cidr *a, const struct cidr *b)
{
	return cidr_contains(a, b) || cidr_contains(b, a);
}

int
cidr_equal(const struct cidr *a, const struct cidr *b)
{
	return a->family == b->family && a->len == b->len &&
	    memcmp(a->addr, b->addr, 16) == 0;
}

int
cidr_subtract(const struct cidr *c, const struct cidr *n, struct cidr *out,
    int max)
{
	struct cidr lo, hi;
	int a, b;

	if (!cidr_overlap(c, n)) {
		if (max < 1)
			return -E2BIG;
		out[0] = *c;
		return 1;
	}
	if (cidr_contains(n, c))
		return 0;
	/* n lies strictly inside c: halve c and keep what n misses. */
	lo = *c;
	lo.len++;
	hi = lo;
	hi.addr[c->len / 8] |= (uint8_t)(0x80 >> (c->len % 8));
	if ((a = cidr_subtract(&lo, n, out, max)) < 0)
		return a;
	if ((b = cidr_subtract(&hi, n, out + a, max - a)) < 0)
		return b;
	return a + b;
}
