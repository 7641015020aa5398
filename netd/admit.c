/*
 * Route admission: the rules that keep a pod (through its agent) from
 * taking this machine's traffic. See admit.h.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "admit.h"

/* What a pod may ask netd to route: RFC 1918, the shared address space
 * of RFC 6598, the benchmarking range of RFC 2544, the TEST-NETs of
 * RFC 5737, and for IPv6 unique local addresses (RFC 4193) and the
 * benchmarking range (RFC 5180).
 * None of them is routed on the internet, so none of them can be a
 * public resolver or a public service this machine talks to. */
static const char *const admit_ranges[] = {
	"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
	"100.64.0.0/10", "198.18.0.0/15",
	"192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",
	"fc00::/7", "2001:2::/48",
};

int
admit_agent_prefix(const struct cidr *c, const char **why)
{
	struct cidr r;
	size_t i;

	if (c->len < ADMIT_AGENT_PREFIX_MIN) {
		*why = "wider than a /8";
		return -EPERM;
	}
	for (i = 0; i < sizeof(admit_ranges) / sizeof(admit_ranges[0]); i++)
		if (cidr_parse(admit_ranges[i], &r) == 0 &&
		    cidr_contains(&r, c))
			return 0;
	*why = "not inside a private, shared or test range";
	return -EPERM;
}

int
admit_covering(const struct cidr *want, const struct route_have *have, int n)
{
	int i, best = -1;

	for (i = 0; i < n; i++)
		if (cidr_contains(&have[i].dst, want) &&
		    (best < 0 || have[i].dst.len > have[best].dst.len))
			best = i;
	return best;
}

int
admit_nameservers(const char *text, size_t len, struct cidr *out, int max)
{
	char line[256], word[16], addr[INET6_ADDRSTRLEN + 16], *pct;
	const char *p = text, *end = text + len, *nl;
	size_t k;
	int n = 0;

	while (p < end && n < max) {
		nl = memchr(p, '\n', (size_t)(end - p));
		k = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (k < sizeof(line)) {
			memcpy(line, p, k);
			line[k] = '\0';
		} else
			line[0] = '\0';		/* no resolver writes such */
		p = nl ? nl + 1 : end;
		if (sscanf(line, " %15s %61s", word, addr) != 2 ||
		    strcmp(word, "nameserver") != 0)
			continue;
		if ((pct = strchr(addr, '%')) != NULL)
			*pct = '\0';
		if (strchr(addr, '/') != NULL ||
		    cidr_parse(addr, &out[n]) < 0)
			continue;
		n++;
	}
	return n;
}
