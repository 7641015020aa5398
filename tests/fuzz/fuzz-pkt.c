/*
 * libFuzzer harness for netd's packet code (netd/pkt.c), the way netd
 * uses it on what it reads from the TUN device: pkt_parse, then for TCP
 * pkt_tcp_rewrite both ways (to the listener and back), checking that a
 * full checksum that was right stays right and that the packet parses
 * again to the new addresses; pkt_tcp_rst and pkt_icmp_unreach answering
 * it, and pkt_udp / pkt_icmp rebuilding its payload, each of whose
 * outputs must parse. IPv4 and IPv6 alike: an IPv6 packet's rewrite
 * goes to IPv6 addresses, and its checksum is checked over the IPv6
 * pseudo header.
 *
 * FUZZ-SOURCES: netd/pkt.c
 * FUZZ-FLAGS:
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../netd/pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t buf[PKT_BUF_MAX], out[PKT_BUF_MAX];

/* The ones' complement sum of the TCP pseudo header and segment. */
static uint16_t
tcp_sum(const struct pkt *p)
{
	uint32_t sum = 0;
	size_t i, off = p->v6 ? 8 : 12, n = p->v6 ? 32 : 8;

	for (i = 0; i < n; i += 2)
		sum += (uint32_t)p->ip[off + i] << 8 | p->ip[off + 1 + i];
	sum += IPPROTO_TCP + (uint32_t)(p->l4len & 0xffff) +
	    (uint32_t)(p->l4len >> 16);
	for (i = 0; i + 1 < p->l4len; i += 2)
		sum += (uint32_t)p->l4[i] << 8 | p->l4[i + 1];
	if (i < p->l4len)
		sum += (uint32_t)p->l4[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void
must_parse(size_t n)
{
	struct pkt q;

	if (n > 0 && pkt_parse(out, n, &q) < 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t tun6[16] = { 0xfd, 0x6d, 0x69, 0x72, 0x72, 0x6f,
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	static const uint8_t peer6[16] = { 0xfd, 0x6d, 0x69, 0x72, 0x72,
	    0x6f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3 };
	struct pkt p, q;
	struct in6_addr a1, a2, sa, da;
	uint16_t sp, dp;
	int ok;

	if (size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	if (pkt_parse(buf, size, &p) < 0)
		return 0;
	if (p.l4 + p.l4len > buf + size || p.ip + p.len > buf + size)
		abort();
	if (p.v6) {
		memcpy(&a1, tun6, 16);
		memcpy(&a2, peer6, 16);
	} else {
		a1 = pkt_addr4(htonl(0xc6120001));
		a2 = pkt_addr4(htonl(0xc6120003));
	}
	if (p.proto == IPPROTO_TCP) {
		ok = !p.partial && tcp_sum(&p) == 0xffff;
		sa = p.saddr;
		da = p.daddr;
		sp = p.sport;
		dp = p.dport;
		pkt_tcp_rewrite(&p, &a2, htons(10000), &a1, htons(40000));
		if (pkt_parse(buf, size, &q) < 0 || !pkt_addr_eq(&q.saddr,
		    &a2) || !pkt_addr_eq(&q.daddr, &a1) ||
		    q.sport != htons(10000) || q.dport != htons(40000))
			abort();
		if (ok && tcp_sum(&q) != 0xffff)
			abort();
		pkt_tcp_rewrite(&q, &sa, sp, &da, dp);
		if (ok && tcp_sum(&q) != 0xffff)
			abort();
		must_parse(pkt_tcp_rst(out, &q));
	}
	must_parse(pkt_icmp_unreach(out, &p, PKT_UNREACH_PORT));
	if (p.proto == IPPROTO_UDP)
		must_parse(pkt_udp(out, &p.daddr, p.dport, &p.saddr, p.sport,
		    p.l4 + 8, p.l4len - 8));
	if (p.proto == IPPROTO_ICMP || p.proto == IPPROTO_ICMPV6) {
		(void)pkt_is_echo_request(&p);
		must_parse(pkt_icmp(out, &p.daddr, &p.saddr, p.sport, p.l4,
		    p.l4len));
	}
	return 0;
}
