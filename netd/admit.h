/*
 * Which routes netd may add. The agent's word is the pod's word and the
 * pod is not trusted: a prefix it reports is admitted only inside the
 * private, shared and test ranges and no wider than a /8, never over a
 * route or resolver of this machine, and never where this machine's
 * default route carries the traffic today unless the user named it.
 * Pure functions over parsed data: the route table comes from route.c.
 */
#ifndef MIRROR_NETD_ADMIT_H
#define MIRROR_NETD_ADMIT_H

#include <stddef.h>

#include "cidr.h"
#include "route.h"

/* The widest prefix the agent may have routed. */
#define ADMIT_AGENT_PREFIX_MIN	8

/* c (reported by the agent) lies inside one of the ranges a pod may
 * route through netd and is no wider than a /8: 0. Otherwise -EPERM and
 * *why says which rule it broke. */
int	admit_agent_prefix(const struct cidr *c, const char **why);

/* The route of have[0..n-1] that carries want's traffic today: the most
 * specific one that contains want. Its index, or -1 when none does.
 * A default route (len 0) is returned only when nothing narrower
 * contains want. */
int	admit_covering(const struct cidr *want, const struct route_have *have,
	    int n);

/* The "nameserver" addresses of a resolv.conf text (len bytes, not
 * necessarily NUL-terminated), as /32 or /128 prefixes into out (at most
 * max; a "%zone" suffix is dropped). Returns how many. */
int	admit_nameservers(const char *text, size_t len, struct cidr *out,
	    int max);

#endif
