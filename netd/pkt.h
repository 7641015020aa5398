/*
 * IPv4 and IPv6 packets as netd sees them on the TUN: a virtio-net
 * header in front (IFF_VNET_HDR), addresses and ports rewritten in place
 * with incremental checksum updates, and the few packets netd makes
 * itself (a TCP reset, ICMP or ICMPv6 errors and echo replies, UDP
 * datagrams). Addresses and ports are in network byte order throughout.
 * An address of either family is a struct in6_addr: an IPv4 one is
 * IPv4-mapped (::ffff:a.b.c.d), so one compare and one hash serve both.
 */
#ifndef MIRROR_NETD_PKT_H
#define MIRROR_NETD_PKT_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/virtio_net.h>

#define PKT_VNET_LEN	((size_t)sizeof(struct virtio_net_hdr))
/* Room for one packet read from the TUN: the header and 64 KiB. */
#define PKT_BUF_MAX	(PKT_VNET_LEN + 65536)
#define PKT_TCP_FIN	0x01
#define PKT_TCP_SYN	0x02
#define PKT_TCP_RST	0x04
#define PKT_TCP_ACK	0x10

/* pkt_icmp_unreach's reasons (ICMP's codes; ICMPv6 has its own). */
#define PKT_UNREACH_NET		0
#define PKT_UNREACH_HOST	1
#define PKT_UNREACH_PORT	3

/* IPv4 a (network order) as an IPv4-mapped address. */
static inline struct in6_addr
pkt_addr4(uint32_t a)
{
	struct in6_addr m;

	memset(&m, 0, sizeof(m));
	m.s6_addr[10] = m.s6_addr[11] = 0xff;
	memcpy(m.s6_addr + 12, &a, 4);
	return m;
}

/* 1 for an IPv4(-mapped) address. */
static inline int
pkt_is4(const struct in6_addr *a)
{
	return IN6_IS_ADDR_V4MAPPED(a);
}

/* The IPv4 address of a mapped one (network order). */
static inline uint32_t
pkt_v4(const struct in6_addr *a)
{
	uint32_t v;

	memcpy(&v, a->s6_addr + 12, 4);
	return v;
}

static inline int
pkt_addr_eq(const struct in6_addr *a, const struct in6_addr *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* What pkt_parse found in an IPv4 or IPv6 packet (pointers into it). */
struct pkt {
	uint8_t		*ip;
	size_t		 len;		/* IP packet bytes */
	size_t		 ihl;		/* IP header bytes (IPv6: 40) */
	int		 v6;		/* an IPv6 packet */
	uint8_t		 proto;		/* IPPROTO_ICMPV6 for ICMPv6 */
	struct in6_addr	 saddr, daddr;	/* IPv4: mapped */
	uint16_t	 sport, dport;	/* TCP/UDP; ICMP echo: id, 0 */
	uint8_t		 tcp_flags;
	uint8_t		*l4;		/* transport header */
	size_t		 l4len;		/* transport header and data */
	int		 partial;	/* checksum left to the device
					 * (VIRTIO_NET_HDR_F_NEEDS_CSUM) */
};

/* Parses the IPv4 or IPv6 packet after a virtio-net header; 0 or
 * -EINVAL (truncated, a fragment, an IPv6 extension header). */
int	pkt_parse(uint8_t *buf, size_t len, struct pkt *p);
/* 1 for an ICMP or ICMPv6 echo request. */
int	pkt_is_echo_request(const struct pkt *p);
/* Rewrites a TCP packet's addresses and ports in place (the new ones of
 * the packet's family), fixing the IPv4 header checksum and the TCP one,
 * full or partial. */
void	pkt_tcp_rewrite(struct pkt *p, const struct in6_addr *saddr,
	    uint16_t sport, const struct in6_addr *daddr, uint16_t dport);

/* Each builder writes a virtio-net header and a whole IPv4 or IPv6
 * packet (the family of its addresses) with checksums into buf
 * (PKT_BUF_MAX) and returns the total length, or 0 when it does not
 * fit. */
size_t	pkt_tcp_rst(uint8_t *buf, const struct pkt *syn);
/* why: PKT_UNREACH_*; as ICMPv6 for an IPv6 packet. */
size_t	pkt_icmp_unreach(uint8_t *buf, const struct pkt *orig, uint8_t why);
size_t	pkt_udp(uint8_t *buf, const struct in6_addr *saddr, uint16_t sport,
	    const struct in6_addr *daddr, uint16_t dport, const uint8_t *data,
	    size_t n);
/* An ICMP or ICMPv6 message (type, code, checksum, id, seq, data) from
 * saddr to daddr with its id set to id. */
size_t	pkt_icmp(uint8_t *buf, const struct in6_addr *saddr,
	    const struct in6_addr *daddr, uint16_t id, const uint8_t *msg,
	    size_t n);

#endif
