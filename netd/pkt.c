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

int
pkt_parse(uint8_t *buf, size_t len, struct pkt *p)
{
	struct virtio_net_hdr vh;
	uint8_t *ip;
	size_t tot;
	uint16_t v;

	if (len < PKT_VNET_LEN + 20)
		return -EINVAL;
	memcpy(&vh, buf, PKT_VNET_LEN);
	ip = buf + PKT_VNET_LEN;
	len -= PKT_VNET_LEN;
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
	p->proto = ip[9];
	memcpy(&p->saddr, ip + 12, 4);
	memcpy(&p->daddr, ip + 16, 4);
	p->l4 = ip + p->ihl;
	p->l4len = tot - p->ihl;
	p->partial = (vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0;
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
		if (p->l4len < 8)
			return -EINVAL;
		memcpy(&p->sport, p->l4 + 4, 2);
		break;
	}
	return 0;
}

void
pkt_tcp_rewrite(struct pkt *p, uint32_t saddr, uint16_t sport,
    uint32_t daddr, uint16_t dport)
{
	uint8_t *ip = p->ip, *th = p->l4;

	if (saddr != p->saddr) {
		csum_replace(ip + 10, &p->saddr, &saddr, 4);
		if (p->partial)
			csum_replace_partial(th + 16, &p->saddr, &saddr, 4);
		else
			csum_replace(th + 16, &p->saddr, &saddr, 4);
		memcpy(ip + 12, &saddr, 4);
		p->saddr = saddr;
	}
	if (daddr != p->daddr) {
		csum_replace(ip + 10, &p->daddr, &daddr, 4);
		if (p->partial)
			csum_replace_partial(th + 16, &p->daddr, &daddr, 4);
		else
			csum_replace(th + 16, &p->daddr, &daddr, 4);
		memcpy(ip + 16, &daddr, 4);
		p->daddr = daddr;
	}
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

/* Writes an empty virtio-net header and an IPv4 header; returns the
 * IP header. */
static uint8_t *
put_ip(uint8_t *buf, uint8_t proto, uint32_t saddr, uint32_t daddr,
    size_t l4len)
{
	uint8_t *ip = buf + PKT_VNET_LEN;
	uint16_t v;

	memset(buf, 0, PKT_VNET_LEN + 20);
	ip[0] = 0x45;
	v = htons((uint16_t)(20 + l4len));
	memcpy(ip + 2, &v, 2);
	v = htons(atomic_fetch_add_explicit(&ip_ident, 1,
	    memory_order_relaxed));
	memcpy(ip + 4, &v, 2);
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, &saddr, 4);
	memcpy(ip + 16, &daddr, 4);
	v = (uint16_t)~csum_fold(csum_add(0, ip, 20));
	memcpy(ip + 10, &v, 2);
	return ip;
}

/* TCP and UDP: the pseudo-header and the segment. */
static uint16_t
l4_csum(uint32_t saddr, uint32_t daddr, uint8_t proto, const uint8_t *l4,
    size_t n)
{
	uint32_t sum = 0;
	uint16_t v;

	sum = csum_add(sum, &saddr, 4);
	sum = csum_add(sum, &daddr, 4);
	v = htons(proto);
	sum = csum_add(sum, &v, 2);
	v = htons((uint16_t)n);
	sum = csum_add(sum, &v, 2);
	sum = csum_add(sum, l4, n);
	return (uint16_t)~csum_fold(sum);
}

size_t
pkt_tcp_rst(uint8_t *buf, const struct pkt *syn)
{
	uint8_t *ip, *th;
	uint32_t seq, ack;
	uint16_t v;

	ip = put_ip(buf, IPPROTO_TCP, syn->daddr, syn->saddr, 20);
	th = ip + 20;
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
		size_t dlen = syn->l4len - (size_t)(syn->l4[12] >> 4) * 4;

		ack = htonl(ntohl(seq) + (uint32_t)dlen +
		    ((syn->tcp_flags & PKT_TCP_SYN) ? 1 : 0) +
		    ((syn->tcp_flags & PKT_TCP_FIN) ? 1 : 0));
		memcpy(th + 8, &ack, 4);
		th[13] = PKT_TCP_RST | PKT_TCP_ACK;
	}
	th[12] = 5 << 4;
	v = l4_csum(syn->daddr, syn->saddr, IPPROTO_TCP, th, 20);
	memcpy(th + 16, &v, 2);
	return PKT_VNET_LEN + 40;
}

size_t
pkt_icmp_unreach(uint8_t *buf, const struct pkt *orig, uint8_t code)
{
	size_t quote = orig->ihl + 8, n;
	uint8_t *ip, *ic;
	uint16_t v;

	if (quote > orig->len)
		quote = orig->len;
	n = 8 + quote;
	ip = put_ip(buf, IPPROTO_ICMP, orig->daddr, orig->saddr, n);
	ic = ip + 20;
	memset(ic, 0, 8);
	ic[0] = 3;		/* destination unreachable */
	ic[1] = code;
	memcpy(ic + 8, orig->ip, quote);
	v = (uint16_t)~csum_fold(csum_add(0, ic, n));
	memcpy(ic + 2, &v, 2);
	return PKT_VNET_LEN + 20 + n;
}

size_t
pkt_udp(uint8_t *buf, uint32_t saddr, uint16_t sport, uint32_t daddr,
    uint16_t dport, const uint8_t *data, size_t n)
{
	uint8_t *ip, *uh;
	uint16_t v;

	if (n > 65535 - 28)
		return 0;
	ip = put_ip(buf, IPPROTO_UDP, saddr, daddr, 8 + n);
	uh = ip + 20;
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
	return PKT_VNET_LEN + 28 + n;
}

size_t
pkt_icmp(uint8_t *buf, uint32_t saddr, uint32_t daddr, uint16_t id,
    const uint8_t *msg, size_t n)
{
	uint8_t *ip, *ic;
	uint16_t v;

	if (n < 8 || n > 65535 - 20)
		return 0;
	ip = put_ip(buf, IPPROTO_ICMP, saddr, daddr, n);
	ic = ip + 20;
	memcpy(ic, msg, n);
	memcpy(ic + 4, &id, 2);
	memset(ic + 2, 0, 2);
	v = (uint16_t)~csum_fold(csum_add(0, ic, n));
	memcpy(ic + 2, &v, 2);
	return PKT_VNET_LEN + 20 + n;
}
