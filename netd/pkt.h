/*
 * IPv4 packets as netd sees them on the TUN: a virtio-net header in
 * front (IFF_VNET_HDR), addresses and ports rewritten in place with
 * incremental checksum updates, and the few packets netd makes itself
 * (a TCP reset, ICMP errors and echo replies, UDP datagrams).
 * Addresses and ports are in network byte order throughout.
 */
#ifndef MIRROR_NETD_PKT_H
#define MIRROR_NETD_PKT_H

#include <stddef.h>
#include <stdint.h>
#include <linux/virtio_net.h>

#define PKT_VNET_LEN	((size_t)sizeof(struct virtio_net_hdr))
/* Room for one packet read from the TUN: the header and 64 KiB. */
#define PKT_BUF_MAX	(PKT_VNET_LEN + 65536)
#define PKT_TCP_FIN	0x01
#define PKT_TCP_SYN	0x02
#define PKT_TCP_RST	0x04
#define PKT_TCP_ACK	0x10

/* What pkt_parse found in an IPv4 packet (pointers into it). */
struct pkt {
	uint8_t		*ip;
	size_t		 len;		/* IP packet bytes */
	size_t		 ihl;		/* IP header bytes */
	uint8_t		 proto;
	uint32_t	 saddr, daddr;
	uint16_t	 sport, dport;	/* TCP/UDP; ICMP echo: id, 0 */
	uint8_t		 tcp_flags;
	uint8_t		*l4;		/* transport header */
	size_t		 l4len;		/* transport header and data */
	int		 partial;	/* checksum left to the device
					 * (VIRTIO_NET_HDR_F_NEEDS_CSUM) */
};

/* Parses the IPv4 packet after a virtio-net header; 0 or -EINVAL (not
 * IPv4, truncated, a fragment). */
int	pkt_parse(uint8_t *buf, size_t len, struct pkt *p);
/* Rewrites a TCP packet's addresses and ports in place, fixing the IP
 * checksum and the TCP one, full or partial. */
void	pkt_tcp_rewrite(struct pkt *p, uint32_t saddr, uint16_t sport,
	    uint32_t daddr, uint16_t dport);

/* Each builder writes a virtio-net header and a whole IPv4 packet with
 * checksums into buf (PKT_BUF_MAX) and returns the total length, or 0
 * when it does not fit. */
size_t	pkt_tcp_rst(uint8_t *buf, const struct pkt *syn);
size_t	pkt_icmp_unreach(uint8_t *buf, const struct pkt *orig, uint8_t code);
size_t	pkt_udp(uint8_t *buf, uint32_t saddr, uint16_t sport, uint32_t daddr,
	    uint16_t dport, const uint8_t *data, size_t n);
/* An ICMP message (type, code, checksum, id, seq, data) from saddr to
 * daddr with its id set to id. */
size_t	pkt_icmp(uint8_t *buf, uint32_t saddr, uint32_t daddr, uint16_t id,
	    const uint8_t *msg, size_t n);

#endif
