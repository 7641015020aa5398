/*
 * The agent's network side, OP_NET_INFO: the target's resolv.conf (read
 * under its root, as the file service would), and its addresses and
 * routes as its network namespace shows them to this thread.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "net-int.h"
#include "proto-net.h"

#define NET_ADDRS_MAX		1024	/* addresses or routes per answer */

/* The target's /etc/resolv.conf into buf (NUL-terminated); 0 bytes if
 * it has none. Returns the length. */
size_t
net_read_resolv_conf(struct agent_net *net, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t r;
	int fd;

	fd = agent_fs_open_regular_in_root(net->fs, "/etc/resolv.conf",
	    O_RDONLY);
	if (fd >= 0) {
		while (len < size - 1) {
			r = read(fd, buf + len, size - 1 - len);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			len += (size_t)r;
		}
		close(fd);
	}
	buf[len] = '\0';
	return len;
}

static int
prefix_len(const uint8_t *mask, size_t n)
{
	int bits = 0;
	size_t i;

	for (i = 0; i < n; i++)
		bits += __builtin_popcount(mask[i]);
	return bits;
}

static int
is_ll6(const uint8_t *a)
{
	return (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || a[0] == 0xff;
}

/* One address or route into the answer; one the codec refuses (a name
 * too long) is left out. */
static int
put_prefix(struct proto_net_info_enc *e, uint8_t fam, const void *addr,
    unsigned int plen, const char *ifname)
{
	struct proto_net_prefix p;

	memset(&p, 0, sizeof(p));
	p.family = fam;
	memcpy(p.addr, addr, fam == 4 ? 4 : 16);
	p.prefixlen = (uint8_t)plen;
	if (strlen(ifname) >= sizeof(p.ifname))
		return -EINVAL;
	strcpy(p.ifname, ifname);
	return proto_enc_net_info_prefix(e, &p);
}

/* Routes of the main table, not default ones, not on lo. */
static void
put_routes(struct proto_net_info_enc *e)
{
	char line[512], ifname[IF_NAMESIZE + 1], dst[33];
	unsigned int d, g, flags, refc, use, metric, mask, plen, i;
	uint8_t a6[16];
	uint32_t n = 0;
	FILE *f;

	proto_enc_net_info_routes(e);
	/* /proc/net follows the reading thread's netns only by this way. */
	if ((f = fopen("/proc/thread-self/net/route", "re")) != NULL) {
		if (fgets(line, sizeof(line), f) == NULL)	/* header */
			line[0] = '\0';
		while (fgets(line, sizeof(line), f) != NULL && n < NET_ADDRS_MAX) {
			if (sscanf(line, "%16s %x %x %x %u %u %u %x", ifname,
			    &d, &g, &flags, &refc, &use, &metric, &mask) != 8)
				continue;
			if (mask == 0 || !(flags & RTF_UP) ||
			    (flags & RTF_REJECT) || strcmp(ifname, "lo") == 0)
				continue;
			/* d: network order */
			if (put_prefix(e, 4, &d, (unsigned int)prefix_len(
			    (uint8_t *)&mask, 4), ifname) == 0)
				n++;
		}
		fclose(f);
	}
	if ((f = fopen("/proc/thread-self/net/ipv6_route", "re")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL && n < NET_ADDRS_MAX) {
			if (sscanf(line, "%32s %x %*s %*x %*s %x %x %x %x %16s",
			    dst, &plen, &metric, &refc, &use, &flags,
			    ifname) != 7 || strlen(dst) != 32)
				continue;
			for (i = 0; i < 16; i++) {
				unsigned int b;

				if (sscanf(dst + 2 * i, "%2x", &b) != 1)
					break;
				a6[i] = (uint8_t)b;
			}
			if (i != 16 || plen == 0 || plen > 128 ||
			    !(flags & RTF_UP) || (flags & RTF_REJECT) ||
			    (flags & 0x80000000u) /* RTF_LOCAL */ ||
			    (flags & 0x01000000u) /* RTF_CACHE */ ||
			    is_ll6(a6) || strcmp(ifname, "lo") == 0)
				continue;
			if (put_prefix(e, 6, a6, plen, ifname) == 0)
				n++;
		}
		fclose(f);
	}
}

void
net_serve_info(struct agent_net *net, struct agent_net_client *cl,
    const struct proto_hdr *h)
{
	char *resolv = net->resolv;
	struct proto_net_info_enc e;
	struct proto_buf out;
	struct ifaddrs *ifa0 = NULL, *ifa;
	const uint8_t *addr, *mask;
	size_t len;
	uint32_t n = 0;
	uint8_t fam;

	if (!net->ok) {
		net_reply_errno(cl, h, EPERM);
		return;
	}
	len = net_read_resolv_conf(net, resolv, sizeof(net->resolv));
	proto_buf_init(&out, 4096);
	proto_enc_net_info_begin(&e, &out, h->id, resolv, len);
	if (getifaddrs(&ifa0) < 0)
		log_warn("getifaddrs in the target's network namespace");
	for (ifa = ifa0; ifa != NULL && n < NET_ADDRS_MAX; ifa = ifa->ifa_next) {
		if (ifa->ifa_addr == NULL || ifa->ifa_netmask == NULL ||
		    (ifa->ifa_flags & IFF_LOOPBACK))
			continue;
		if (ifa->ifa_addr->sa_family == AF_INET) {
			fam = 4;
			addr = (const uint8_t *)&((struct sockaddr_in *)
			    ifa->ifa_addr)->sin_addr;
			mask = (const uint8_t *)&((struct sockaddr_in *)
			    ifa->ifa_netmask)->sin_addr;
		} else if (ifa->ifa_addr->sa_family == AF_INET6) {
			fam = 6;
			addr = (const uint8_t *)&((struct sockaddr_in6 *)
			    ifa->ifa_addr)->sin6_addr;
			mask = (const uint8_t *)&((struct sockaddr_in6 *)
			    ifa->ifa_netmask)->sin6_addr;
			if (is_ll6(addr))
				continue;
		} else
			continue;
		if (put_prefix(&e, fam, addr, (unsigned int)prefix_len(mask,
		    fam == 4 ? 4 : 16), ifa->ifa_name) == 0)
			n++;
	}
	if (ifa0)
		freeifaddrs(ifa0);
	put_routes(&e);
	(void)proto_enc_net_info_end(&e);
	net_send_buf(cl, &out);
}
