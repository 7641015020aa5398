/* Routes through libnl-route-3: the only module that includes libnl. */
#ifndef MIRROR_NETD_ROUTE_H
#define MIRROR_NETD_ROUTE_H

/* Counts the IPv4 routes of the main table; -errno on failure. */
int	route_count_ipv4(void);
/* The kernel's index of a link by name, or -errno. */
int	route_link_index(const char *name);

#endif
