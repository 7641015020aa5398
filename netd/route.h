/* Routes through libnl-route-3: the only module that includes libnl. */
#ifndef MIRROR_NETD_ROUTE_H
#define MIRROR_NETD_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "cidr.h"

/* A route this machine has: its destination and how it reads in a
 * message ("10.77.0.0/16 via 10.0.0.1 dev eth0"). */
struct route_have {
	struct cidr	 dst;		/* len 0: a default route */
	char		 what[96];
};

/* The unicast routes of the main table, and the default routes of every
 * table (a policy-routed default still carries this machine's traffic),
 * IPv4 and IPv6, other than routes through own_ifindex (0: none), into
 * *out (caller frees with x_free()). Returns how many, or -errno. */
int	route_list(struct route_have **out, int own_ifindex);
/* Counts the IPv4 routes of the main table; -errno on failure. */
int	route_count_ipv4(void);
/* The kernel's index of a link by name, or -errno. */
int	route_link_index(const char *name);
/* Adds or deletes a route of dst through the link ifindex, preferred
 * source src (an address of dst's family, 4 or 16 bytes in network
 * order; NULL: none). 0 or -errno; *why (may be NULL) gets libnl's
 * reason. */
int	route_add(int ifindex, const struct cidr *dst, const void *src,
	    const char **why);
int	route_del(int ifindex, const struct cidr *dst);

#endif
