/* Route and link queries through libnl-route-3. */
#include "config.h"

#include <errno.h>
#include <sys/socket.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

#include "route.h"

static struct nl_sock *
route_socket(void)
{
	struct nl_sock *sk = nl_socket_alloc();

	if (sk == NULL)
		return NULL;
	if (nl_connect(sk, NETLINK_ROUTE) < 0) {
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

int
route_count_ipv4(void)
{
	struct nl_sock *sk = route_socket();
	struct nl_cache *cache = NULL;
	int n;

	if (sk == NULL)
		return -ENOTCONN;
	if (rtnl_route_alloc_cache(sk, AF_INET, 0, &cache) < 0) {
		nl_socket_free(sk);
		return -EIO;
	}
	n = nl_cache_nitems(cache);
	nl_cache_free(cache);
	nl_socket_free(sk);
	return n;
}

int
route_link_index(const char *name)
{
	struct nl_sock *sk = route_socket();
	struct nl_cache *cache = NULL;
	int idx;

	if (sk == NULL)
		return -ENOTCONN;
	if (rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache) < 0) {
		nl_socket_free(sk);
		return -EIO;
	}
	idx = rtnl_link_name2i(cache, name);
	nl_cache_free(cache);
	nl_socket_free(sk);
	return idx > 0 ? idx : -ENODEV;
}
