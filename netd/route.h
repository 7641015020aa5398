/* Routes through libnl-route-3: the only module that includes libnl. */
#ifndef MIRROR_NETD_ROUTE_H
#define MIRROR_NETD_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "cidr.h"

/* Counts the IPv4 routes of the main table; -errno on failure. */
int	route_count_ipv4(void);
/* The kernel's index of a link by name, or -errno. */
int	route_link_index(const char *name);
/* Which of want[0..n-1] would shadow a route of the main table that
 * this machine already has: one that is the same prefix or contains it
 * (so ours would take some of its traffic), other than a default route
 * and other than routes through own_ifindex (0: none). Returns the index
 * of the first such want and describes the existing route in what
 * ("10.77.0.0/16 dev eth0"); -1 when none does; -errno when the table
 * cannot be read. */
int	route_find_shadowed(const struct cidr *want, int n, int own_ifindex,
	    char *what, size_t whatsz);
/* Adds or deletes a route of dst through the link ifindex, preferred
 * source src (network order, 0: none). 0 or -errno; *why (may be NULL)
 * gets libnl's reason. */
int	route_add(int ifindex, const struct cidr *dst, uint32_t src,
	    const char **why);
int	route_del(int ifindex, const struct cidr *dst);

#endif
