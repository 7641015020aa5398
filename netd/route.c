/* Route and link queries and changes through libnl-route-3. */
#include "config.h"

#include <errno.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

#include "route.h"
#include "xmalloc.h"

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

/* "10.77.0.0/16 via 10.0.0.1 dev eth0" */
static void
describe(struct rtnl_route *r, const struct cidr *dst, char *what,
    size_t whatsz)
{
	struct rtnl_nexthop *nh = rtnl_route_get_nnexthops(r) > 0 ?
	    rtnl_route_nexthop_n(r, 0) : NULL;
	struct nl_addr *gw = nh ? rtnl_route_nh_get_gateway(nh) : NULL;
	char d[CIDR_STR_MAX], g[INET6_ADDRSTRLEN] = "", dev[IF_NAMESIZE];
	int idx = nh ? rtnl_route_nh_get_ifindex(nh) : 0;

	if (gw)
		inet_ntop(nl_addr_get_family(gw), nl_addr_get_binary_addr(gw),
		    g, sizeof(g));
	if (idx <= 0 || if_indextoname((unsigned int)idx, dev) == NULL)
		snprintf(dev, sizeof(dev), "?");
	if (dst->len == 0)
		snprintf(d, sizeof(d), "default");
	else
		cidr_format(dst, d);
	snprintf(what, whatsz, "%s%s%s dev %s", d,
	    gw ? " via " : "", g, dev);
}

int
route_list(struct route_have **out, int own_ifindex)
{
	struct nl_sock *sk = route_socket();
	struct nl_cache *cache = NULL;
	struct nl_object *o;
	struct route_have *have = NULL;
	int n = 0, cap = 0, fam, rc = 0;

	*out = NULL;
	if (sk == NULL)
		return -ENOTCONN;
	for (fam = 0; fam < 2; fam++) {
		int family = fam == 0 ? AF_INET : AF_INET6;

		if (rtnl_route_alloc_cache(sk, family, 0, &cache) < 0) {
			rc = -EIO;
			break;
		}
		for (o = nl_cache_get_first(cache); o;
		    o = nl_cache_get_next(o)) {
			struct rtnl_route *r = (struct rtnl_route *)o;
			struct nl_addr *d = rtnl_route_get_dst(r);
			struct rtnl_nexthop *nh;
			struct cidr have1;
			int plen;

			if (rtnl_route_get_type(r) != RTN_UNICAST || d == NULL)
				continue;
			plen = (int)nl_addr_get_prefixlen(d);
			if (plen != 0 &&
			    rtnl_route_get_table(r) != RT_TABLE_MAIN)
				continue;
			if (own_ifindex > 0 &&
			    rtnl_route_get_nnexthops(r) > 0 &&
			    (nh = rtnl_route_nexthop_n(r, 0)) != NULL &&
			    rtnl_route_nh_get_ifindex(nh) == own_ifindex)
				continue;
			if (plen == 0) {
				/* "default" has no address bytes */
				memset(&have1, 0, sizeof(have1));
				have1.family = family;
			} else if (nl_addr_get_len(d) ==
			    (family == AF_INET ? 4u : 16u))
				cidr_make(&have1, family,
				    nl_addr_get_binary_addr(d), plen);
			else
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				have = xrealloc(have,
				    (size_t)cap * sizeof(*have));
			}
			have[n].dst = have1;
			describe(r, &have1, have[n].what,
			    sizeof(have[n].what));
			n++;
		}
		nl_cache_free(cache);
		cache = NULL;
	}
	nl_socket_free(sk);
	if (rc < 0) {
		x_free(have);
		return rc;
	}
	*out = have;
	return n;
}

static struct rtnl_route *
route_build(int ifindex, const struct cidr *dst, const void *src)
{
	struct rtnl_route *r = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *a;

	if (r == NULL || nh == NULL) {
		if (r)
			rtnl_route_put(r);
		if (nh)
			rtnl_route_nh_free(nh);
		return NULL;
	}
	a = nl_addr_build(dst->family, dst->addr,
	    dst->family == AF_INET ? 4 : 16);
	nl_addr_set_prefixlen(a, (unsigned int)dst->len);
	rtnl_route_set_family(r, (uint8_t)dst->family);
	rtnl_route_set_dst(r, a);
	nl_addr_put(a);
	if (src) {
		a = nl_addr_build(dst->family, src,
		    dst->family == AF_INET ? 4 : 16);
		rtnl_route_set_pref_src(r, a);
		nl_addr_put(a);
	}
	rtnl_route_set_table(r, RT_TABLE_MAIN);
	rtnl_route_set_scope(r, RT_SCOPE_LINK);
	rtnl_route_set_protocol(r, RTPROT_STATIC);
	rtnl_route_set_type(r, RTN_UNICAST);
	rtnl_route_nh_set_ifindex(nh, ifindex);
	rtnl_route_add_nexthop(r, nh);
	return r;
}

static int
nl_to_errno(int nlerr)
{
	switch (-nlerr) {
	case NLE_EXIST: return -EEXIST;
	case NLE_OBJ_NOTFOUND: return -ESRCH;
	case NLE_PERM: return -EPERM;
	case NLE_NODEV: return -ENODEV;
	case NLE_INVAL: return -EINVAL;
	default: return -EIO;
	}
}

int
route_add(int ifindex, const struct cidr *dst, const void *src,
    const char **why)
{
	struct nl_sock *sk = route_socket();
	struct rtnl_route *r;
	int rc;

	if (sk == NULL)
		return -ENOTCONN;
	if ((r = route_build(ifindex, dst, src)) == NULL) {
		nl_socket_free(sk);
		return -ENOMEM;
	}
	rc = rtnl_route_add(sk, r, NLM_F_CREATE | NLM_F_EXCL);
	if (rc < 0 && why)
		*why = nl_geterror(rc);
	rtnl_route_put(r);
	nl_socket_free(sk);
	return rc < 0 ? nl_to_errno(rc) : 0;
}

int
route_del(int ifindex, const struct cidr *dst)
{
	struct nl_sock *sk = route_socket();
	struct rtnl_route *r;
	int rc;

	if (sk == NULL)
		return -ENOTCONN;
	if ((r = route_build(ifindex, dst, NULL)) == NULL) {
		nl_socket_free(sk);
		return -ENOMEM;
	}
	rc = rtnl_route_delete(sk, r, 0);
	rtnl_route_put(r);
	nl_socket_free(sk);
	return rc < 0 ? nl_to_errno(rc) : 0;
}
