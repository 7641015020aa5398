/*
 * Packet parsing, in-place NAT rewriting and packet building for netd.
 * Checksums are one's complement sums over raw (network order) 16-bit
 * words, so no byte swapping is needed to update them (RFC 1071); the
 * incremental updates follow RFC 1624.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <stdatomic.h>

#include "pkt.h"

/* The IP ID of the packets made here; any thread. */
static _Atomic uint16_t ip_ident;

static uint32_t
csum_add(uint32_t sum, const void *data, size_t n)
{
	const uint8_t *p = data;
	uint16_t w;

	while (n >= 2) {
		memcpy(&w, p, 2);
		sum += w;
		p += 2;
		n -= 2;
	}
	if (n) {
		w = 0;
		memcpy(&w, p, 1);
		sum += w;
	}
	return sum;
}

static uint16_t
csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* A full checksum field: HC' = ~(~HC + ~m + m'). */
static void
csum_replace(uint8_t *field, const void *from, const void *to, size_t n)
{
	uint16_t hc, w;
	uint32_t sum;
	size_t i;

	memcpy(&hc, field, 2);
	sum = (uint16_t)~hc;
	for (i = 0; i < n; i += 2) {
		memcpy(&w, (const uint8_t *)from + i, 2);
		sum += (uint16_t)~w;
		memcpy(&w, (const uint8_t *)to + i, 2);
		sum += w;
	}
	hc = (uint16_t)~csum_fold(sum);
	memcpy(field, &hc, 2);
}

/* A partial checksum field holds the pseudo-header sum, not inverted:
 * S' = S + ~m + m'. */
static void
csum_replace_partial(uint8_t *field, const void *from, const void *to,
    size_t n)
{
	uint16_t s, w;
	uint32_t sum;
	size_t i;

	memcpy(&s, field, 2);
	sum = s;
	for (i = 0; i < n; i += 2) {
		memcpy(&w, (const uint8_t *)from + i, 2);
		sum += (uint16_t)~w;
		memcpy(&w, (const uint8_t *)to + i, 2);
		sum += w;
	}
	s = csum_fold(sum);
	memcpy(field, &s, 2);
}

/* The transport header's ports (or the echo id). */
static int
parse_l4(struct pkt *p)
{
	p->sport = p->dport = 0;
	p->tcp_flags = 0;
	switch (p->proto) {
	case IPPROTO_TCP:
		if (p->l4len < 20)
			return -EINVAL;
		memcpy(&p->sport, p->l4, 2);
		memcpy(&p->dport, p->l4 + 2, 2);
		p->tcp_flags = p->l4[13];
		break;
	case IPPROTO_UDP:
		if (p->l4len < 8)
			return -EINVAL;
		memcpy(&p->sport, p->l4, 2);
		memcpy(&p->dport, p->l4 + 2, 2);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (p->l4len < 8)
			return -EINVAL;
		memcpy(&p->sport, p->l4 + 4, 2);
		break;
	}
	return 0;
}

/* An IPv6 packet: the fixed header and the transport right after it.
 * Extension headers (fragments among them) are not relayed. */
static int
parse6(uint8_t *ip, size_t len, struct pkt *p)
{
	size_t tot;
	uint16_t v;

	if (len < 40)
		return -EINVAL;
	memcpy(&v, ip + 4, 2);
	tot = 40 + (size_t)ntohs(v);
	/* A TSO packet's payload length may be 0 or short of what was
	 * read; the read length is the truth then. */
	if (tot > len)
		return -EINVAL;
	if (tot == 40)
		tot = len;
	p->ip = ip;
	p->len = tot;
	p->ihl = 40;
	p->v6 = 1;
	p->proto = ip[6];
	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP &&
	    p->proto != IPPROTO_ICMPV6)
		return -EINVAL;
	memcpy(&p->saddr, ip + 8, 16);
	memcpy(&p->daddr, ip + 24, 16);
	p->l4 = ip + 40;
	p->l4len = tot - 40;
	return parse_l4(p);
}

int
pkt_parse(uint8_t *buf, size_t len, struct pkt *p)
{
	struct virtio_net_hdr vh;
	uint8_t *ip;
	size_t tot;
	uint32_t a;
	uint16_t v;

	if (len < PKT_VNET_LEN + 20)
		return -EINVAL;
	memcpy(&vh, buf, PKT_VNET_LEN);
	ip = buf + PKT_VNET_LEN;
	len -= PKT_VNET_LEN;
	p->partial = (vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0;
	if ((ip[0] >> 4) == 6)
		return parse6(ip, len, p);
	if ((ip[0] >> 4) != 4)
		return -EINVAL;
	p->ihl = (size_t)(ip[0] & 0x0f) * 4;
	memcpy(&v, ip + 2, 2);
	tot = ntohs(v);
	/* A TSO packet's total length may be 0 or short of what was
	 * read; the read length is the truth then. */
	if (tot > len || p->ihl < 20 || p->ihl > len)
		return -EINVAL;
	if (tot < p->ihl)
		tot = len;
	memcpy(&v, ip + 6, 2);
	if (ntohs(v) & 0x3fff)		/* MF or an offset: a fragment */
		return -EINVAL;
	p->ip = ip;
	p->len = tot;
	p->v6 = 0;
	p->proto = ip[9];
	memcpy(&a, ip + 12, 4);
	p->saddr = pkt_addr4(a);
	memcpy(&a, ip + 16, 4);
	p->daddr = pkt_addr4(a);
	p->l4 = ip + p->ihl;
	p->l4len = tot - p->ihl;
	return parse_l4(p);
}

int
pkt_is_echo_request(const struct pkt *p)
{
	if (p->proto == IPPROTO_ICMP && !p->v6)
		return p->l4[0] == 8 && p->l4[1] == 0;
	if (p->proto == IPPROTO_ICMPV6 && p->v6)
		return p->l4[0] == 128 && p->l4[1] == 0;
	return 0;
}

/* One address of a TCP packet replaced (off: its offset in the IP
 * header): the IPv4 header checksum and the TCP one follow. */
static void
rewrite_addr(struct pkt *p, struct in6_addr *cur, const struct in6_addr *to,
    size_t off)
{
	uint8_t *ip = p->ip, *th = p->l4;
	const uint8_t *from = cur->s6_addr, *want = to->s6_addr;
	size_t n = 16;

	if (!p->v6) {
		from += 12;
		want += 12;
		n = 4;
		csum_replace(ip + 10, from, want, n);
	}
	if (p->partial)
		csum_replace_partial(th + 16, from, want, n);
	else
		csum_replace(th + 16, from, want, n);
	memcpy(ip + off, want, n);
	*cur = *to;
}

void
pkt_tcp_rewrite(struct pkt *p, const struct in6_addr *saddr, uint16_t sport,
    const struct in6_addr *daddr, uint16_t dport)
{
	uint8_t *th = p->l4;

	if (!pkt_addr_eq(saddr, &p->saddr))
		rewrite_addr(p, &p->saddr, saddr, p->v6 ? 8 : 12);
	if (!pkt_addr_eq(daddr, &p->daddr))
		rewrite_addr(p, &p->daddr, daddr, p->v6 ? 24 : 16);
	/* Ports are inside the span a partial checksum is computed over
	 * later; only a full one needs them. */
	if (sport != p->sport) {
		if (!p->partial)
			csum_replace(th + 16, &p->sport, &sport, 2);
		memcpy(th, &sport, 2);
		p->sport = sport;
	}
	if (dport != p->dport) {
		if (!p->partial)
			csum_replace(th + 16, &p->dport, &dport, 2);
		memcpy(th + 2, &dport, 2);
		p->dport = dport;
	}
}

/* Writes an empty virtio-net header and an IPv4 or IPv6 header (the
 * family of the addresses); returns the transport header's place. */
static uint8_t *
put_ip(uint8_t *buf, uint8_t proto, const struct in6_addr *saddr,
    const struct in6_addr *daddr, size_t l4len)
{
	uint8_t *ip = buf + PKT_VNET_LEN;
	uint16_t v;

	if (!pkt_is4(daddr)) {
		memset(buf, 0, PKT_VNET_LEN + 40);
		ip[0] = 0x60;
		v = htons((uint16_t)l4len);
		memcpy(ip + 4, &v, 2);
		ip[6] = proto == IPPROTO_ICMP ? IPPROTO_ICMPV6 : proto;
		ip[7] = 64;
		memcpy(ip + 8, saddr, 16);
		memcpy(ip + 24, daddr, 16);
		return ip + 40;
	}
	memset(buf, 0, PKT_VNET_LEN + 20);
	ip[0] = 0x45;
	v = htons((uint16_t)(20 + l4len));
	memcpy(ip + 2, &v, 2);
	v = htons(atomic_fetch_add_explicit(&ip_ident, 1,
	    memory_order_relaxed));
	memcpy(ip + 4, &v, 2);
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, saddr->s6_addr + 12, 4);
	memcpy(ip + 16, daddr->s6_addr + 12, 4);
	v = (uint16_t)~csum_fold(csum_add(0, ip, 20));
	memcpy(ip + 10, &v, 2);
	return ip + 20;
}

static size_t
ip_hlen(const struct in6_addr *daddr)
{
	return pkt_is4(daddr) ? 20 : 40;
}

/* TCP, UDP and ICMPv6: the pseudo-header and the segment. */
static uint16_t
l4_csum(const struct in6_addr *saddr, const struct in6_addr *daddr,
    uint8_t proto, const uint8_t *l4, size_t n)
{
	uint32_t sum = 0, v32;
	uint16_t v;

	if (pkt_is4(daddr)) {
		sum = csum_add(sum, saddr->s6_addr + 12, 4);
		sum = csum_add(sum, daddr->s6_addr + 12, 4);
		v = htons(proto);
		sum = csum_add(sum, &v, 2);
		v = htons((uint16_t)n);
		sum = csum_add(sum, &v, 2);
	} else {
		sum = csum_add(sum, saddr, 16);
		sum = csum_add(sum, daddr, 16);
		v32 = htonl((uint32_t)n);
		sum = csum_add(sum, &v32, 4);
		v32 = htonl(proto);
		sum = csum_add(sum, &v32, 4);
	}
	sum = csum_add(sum, l4, n);
	return (uint16_t)~csum_fold(sum);
}

size_t
pkt_tcp_rst(uint8_t *buf, const struct pkt *syn)
{
	uint8_t *th;
	uint32_t seq, ack;
	uint16_t v;

	th = put_ip(buf, IPPROTO_TCP, &syn->daddr, &syn->saddr, 20);
	memset(th, 0, 20);
	memcpy(th, &syn->dport, 2);
	memcpy(th + 2, &syn->sport, 2);
	memcpy(&seq, syn->l4 + 4, 4);
	if (syn->tcp_flags & PKT_TCP_ACK) {
		/* RFC 793: a reset to a segment with an ACK takes its
		 * sequence number from that ACK. */
		memcpy(th + 4, syn->l4 + 8, 4);
		th[13] = PKT_TCP_RST;
	} else {
		size_t off = (size_t)(syn->l4[12] >> 4) * 4;
		size_t dlen = syn->l4len > off ? syn->l4len - off : 0;

		ack = htonl(ntohl(seq) + (uint32_t)dlen +
		    ((syn->tcp_flags & PKT_TCP_SYN) ? 1 : 0) +
		    ((syn->tcp_flags & PKT_TCP_FIN) ? 1 : 0));
		memcpy(th + 8, &ack, 4);
		th[13] = PKT_TCP_RST | PKT_TCP_ACK;
	}
	th[12] = 5 << 4;
	v = l4_csum(&syn->daddr, &syn->saddr, IPPROTO_TCP, th, 20);
	memcpy(th + 16, &v, 2);
	return PKT_VNET_LEN + ip_hlen(&syn->saddr) + 20;
}

size_t
pkt_icmp_unreach(uint8_t *buf, const struct pkt *orig, uint8_t why)
{
	size_t quote = orig->ihl + 8, n;
	uint8_t *ic;
	uint16_t v;

	if (quote > orig->len)
		quote = orig->len;
	n = 8 + quote;
	ic = put_ip(buf, IPPROTO_ICMP, &orig->daddr, &orig->saddr, n);
	memset(ic, 0, 8);
	if (orig->v6) {
		ic[0] = 1;	/* ICMPv6 destination unreachable */
		ic[1] = why == PKT_UNREACH_NET ? 0 : why == PKT_UNREACH_HOST ?
		    3 : 4;
	} else {
		ic[0] = 3;	/* destination unreachable */
		ic[1] = why;
	}
	memcpy(ic + 8, orig->ip, quote);
	if (orig->v6)
		v = l4_csum(&orig->daddr, &orig->saddr, IPPROTO_ICMPV6, ic,
		    n);
	else
		v = (uint16_t)~csum_fold(csum_add(0, ic, n));
	memcpy(ic + 2, &v, 2);
	return PKT_VNET_LEN + ip_hlen(&orig->saddr) + n;
}

size_t
pkt_udp(uint8_t *buf, const struct in6_addr *saddr, uint16_t sport,
    const struct in6_addr *daddr, uint16_t dport, const uint8_t *data,
    size_t n)
{
	uint8_t *uh;
	uint16_t v;

	if (n > 65535 - 28)
		return 0;
	uh = put_ip(buf, IPPROTO_UDP, saddr, daddr, 8 + n);
	memcpy(uh, &sport, 2);
	memcpy(uh + 2, &dport, 2);
	v = htons((uint16_t)(8 + n));
	memcpy(uh + 4, &v, 2);
	memset(uh + 6, 0, 2);
	memcpy(uh + 8, data, n);
	v = l4_csum(saddr, daddr, IPPROTO_UDP, uh, 8 + n);
	if (v == 0)
		v = 0xffff;
	memcpy(uh + 6, &v, 2);
	return PKT_VNET_LEN + ip_hlen(daddr) + 8 + n;
}

size_t
pkt_icmp(uint8_t *buf, const struct in6_addr *saddr,
    const struct in6_addr *daddr, uint16_t id, const uint8_t *msg, size_t n)
{
	uint8_t *ic;
	uint16_t v;

	if (n < 8 || n > 65535 - 40)
		return 0;
	ic = put_ip(buf, IPPROTO_ICMP, saddr, daddr, n);
	memcpy(ic, msg, n);
	memcpy(ic + 4, &id, 2);
	memset(ic + 2, 0, 2);
	if (pkt_is4(daddr))
		v = (uint16_t)~csum_fold(csum_add(0, ic, n));
	else
		v = l4_csum(saddr, daddr, IPPROTO_ICMPV6, ic, n);
	memcpy(ic + 2, &v, 2);
	return PKT_VNET_LEN + ip_hlen(daddr) + n;
}
