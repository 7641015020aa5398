/*
 * Unit tests of netd's packet checksums (netd/pkt.c, compiled into this
 * test: its checksum helpers are static, so they are reached through
 * the packets pkt.c builds and rewrites). Every expected checksum below
 * was computed once, independently, with Python's struct module (RFC
 * 1071 sum over big-endian 16-bit words, an odd byte padded with zero)
 * and pasted here. Checked: the IPv4 header checksum and the UDP, TCP
 * and ICMP ones over odd and even lengths and an empty payload; a UDP
 * sum of 0 sent as 0xffff; a TCP reset to a SYN; an ICMP unreachable
 * quoting a packet; the incremental NAT rewrite of a TCP segment with a
 * full checksum (must equal a fresh one) and with a partial one (the
 * pseudo-header sum the device completes); and packets pkt_parse
 * refuses. IPv6: UDP, ICMPv6 echo and unreachable, a TCP reset and a
 * rewrite, each checked against an independent pseudo-header sum, and
 * the IPv6 packets pkt_parse refuses. Prints TAP.
 *
 * pkt.c numbers the packets it builds: the n-th built here carries IP
 * identification n - 1, which the constants include, so the order of
 * the builds below matters.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "pkt.h"

#include "tap.h"

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* An address as pkt.c takes it: IPv4 mapped, IPv6 as is. */
static struct in6_addr
addr(const char *s)
{
	struct in6_addr a6;
	struct in_addr a;

	if (inet_pton(AF_INET6, s, &a6) == 1)
		return a6;
	inet_pton(AF_INET, s, &a);
	return pkt_addr4(a.s_addr);
}

static int sums_to_ones(const uint8_t *p, size_t n);
static uint16_t get16(const uint8_t *p);

/* The IPv6 pseudo header's sum and an upper-layer message (n bytes at
 * l4, proto) sum to 0xffff, computed here on their own. */
static int
sums_to_ones6(const uint8_t *ip, uint8_t proto, const uint8_t *l4, size_t n)
{
	static uint8_t tmp[PKT_BUF_MAX];

	memcpy(tmp, ip + 8, 32);
	memset(tmp + 32, 0, 8);
	tmp[34] = (uint8_t)(n >> 8);
	tmp[35] = (uint8_t)n;
	tmp[39] = proto;
	memcpy(tmp + 40, l4, n);
	return sums_to_ones(tmp, 40 + n);
}

/* Checks of IPv6 packets: built, parsed, rewritten. Checksums are
 * checked by an independent sum (sums_to_ones6). */
static void
check_ipv6(void)
{
	static uint8_t buf[PKT_BUF_MAX], out[PKT_BUF_MAX];
	static const uint8_t echo[] = { 129, 0, 0, 0, 0, 0, 0, 9, 'x', 'y',
	    'z' };
	struct in6_addr a = addr("fd00:77::2"), b = addr("fd00:78::9");
	struct in6_addr c = addr("fd6d:6972:726f::3");
	struct in6_addr d = addr("fd6d:6972:726f::1");
	uint8_t *ip = buf + PKT_VNET_LEN, *oip = out + PKT_VNET_LEN;
	struct pkt p, q;
	size_t len;

	len = pkt_udp(buf, &a, htons(53), &b, htons(40000),
	    (const uint8_t *)"hello", 5);
	ok(len == PKT_VNET_LEN + 40 + 8 + 5 && ip[0] == 0x60 && ip[6] == 17,
	    "IPv6 UDP: length and header");
	ok(sums_to_ones6(ip, 17, ip + 40, 13), "IPv6 UDP: checksum");
	ok(pkt_parse(buf, len, &p) == 0 && p.v6 && p.proto == IPPROTO_UDP &&
	    pkt_addr_eq(&p.saddr, &a) && pkt_addr_eq(&p.daddr, &b) &&
	    ntohs(p.sport) == 53 && ntohs(p.dport) == 40000 && p.l4len == 13,
	    "IPv6 UDP: parsed back");
	len = pkt_icmp_unreach(out, &p, PKT_UNREACH_PORT);
	ok(len == PKT_VNET_LEN + 40 + 8 + 48 && oip[6] == 58 &&
	    oip[40] == 1 && oip[41] == 4, "ICMPv6 port unreachable: type 1 "
	    "code 4, quoting 48 bytes");
	ok(sums_to_ones6(oip, 58, oip + 40, 56), "ICMPv6 unreachable: "
	    "checksum");

	len = pkt_icmp(buf, &b, &a, htons(0x4242), echo, sizeof(echo));
	ok(len == PKT_VNET_LEN + 40 + sizeof(echo) && ip[6] == 58 &&
	    get16(ip + 44) == 0x4242, "ICMPv6 echo reply: length, id");
	ok(sums_to_ones6(ip, 58, ip + 40, sizeof(echo)), "ICMPv6 echo reply: "
	    "checksum");
	buf[PKT_VNET_LEN + 40] = 128;
	ok(pkt_parse(buf, len, &p) == 0 && pkt_is_echo_request(&p) &&
	    get16((uint8_t *)&p.sport) == 0x4242, "ICMPv6 echo request: "
	    "parsed, id");

	/* A SYN from a (the RST's checks), then a rewrite to c -> d. */
	len = pkt_udp(buf, &a, htons(40000), &b, htons(80),
	    (const uint8_t *)"0123456789abcdefghij", 20);
	ip[6] = IPPROTO_TCP;
	memset(ip + 40, 0, 20);
	memcpy(ip + 40, "\x9c\x40\x00\x50\x01\x02\x03\x04", 8);
	ip[52] = 5 << 4;
	ip[53] = PKT_TCP_SYN;
	memcpy(ip + 60, "GET /\r\n", 7);
	ip[5] = 27;
	len = PKT_VNET_LEN + 40 + 27;
	/* its checksum, from the independent sum */
	{
		uint32_t sum = 0;
		size_t i;
		uint8_t tmp[40 + 27];

		memcpy(tmp, ip + 8, 32);
		memset(tmp + 32, 0, 8);
		tmp[35] = 27;
		tmp[39] = IPPROTO_TCP;
		memcpy(tmp + 40, ip + 40, 27);
		for (i = 0; i + 1 < sizeof(tmp); i += 2)
			sum += get16(tmp + i);
		sum += (uint32_t)tmp[sizeof(tmp) - 1] << 8;
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		sum = ~sum & 0xffff;
		ip[56] = (uint8_t)(sum >> 8);
		ip[57] = (uint8_t)sum;
	}
	ok(sums_to_ones6(ip, IPPROTO_TCP, ip + 40, 27), "IPv6 TCP: made");
	ok(pkt_parse(buf, len, &p) == 0 && p.v6 && p.proto == IPPROTO_TCP &&
	    p.tcp_flags == PKT_TCP_SYN, "IPv6 SYN parsed");
	len = pkt_tcp_rst(out, &p);
	ok(len == PKT_VNET_LEN + 60 && oip[53] == (PKT_TCP_RST | PKT_TCP_ACK) &&
	    get16(oip + 48) == 0x0102 && get16(oip + 50) == 0x030c,
	    "IPv6 RST: RST|ACK, ack = seq + 7 + 1");
	ok(sums_to_ones6(oip, IPPROTO_TCP, oip + 40, 20), "IPv6 RST: checksum");
	pkt_tcp_rewrite(&p, &c, htons(10000), &d, htons(40001));
	ok(sums_to_ones6(ip, IPPROTO_TCP, ip + 40, 27), "IPv6 rewrite: the "
	    "incremental checksum equals a fresh one");
	ok(pkt_parse(buf, len = PKT_VNET_LEN + 67, &q) == 0 &&
	    pkt_addr_eq(&q.saddr, &c) && pkt_addr_eq(&q.daddr, &d) &&
	    ntohs(q.sport) == 10000 && ntohs(q.dport) == 40001,
	    "IPv6 rewrite: addresses and ports in place");

	ip[6] = 0;			/* a hop-by-hop options header */
	ok(pkt_parse(buf, len, &p) == -EINVAL, "parse: an IPv6 extension "
	    "header");
	ip[6] = 44;			/* a fragment header */
	ok(pkt_parse(buf, len, &p) == -EINVAL, "parse: an IPv6 fragment");
	ip[6] = IPPROTO_TCP;
	ok(pkt_parse(buf, PKT_VNET_LEN + 39, &p) == -EINVAL,
	    "parse: shorter than an IPv6 header");
	ip[5] = 28;
	ok(pkt_parse(buf, len, &p) == -EINVAL,
	    "parse: IPv6 payload length past what was read");
}

/* An independent check: a header with its checksum in place sums to
 * 0xffff (one's complement), read as big-endian words. */
static int
sums_to_ones(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += get16(p + i);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/* Hex into buf after an empty virtio-net header; returns the length of
 * the whole. */
static size_t
load(uint8_t *buf, const char *hex)
{
	size_t n = 0;
	unsigned int b;

	memset(buf, 0, PKT_VNET_LEN);
	while (hex[0] && hex[1]) {
		sscanf(hex, "%2x", &b);
		buf[PKT_VNET_LEN + n++] = (uint8_t)b;
		hex += 2;
	}
	return PKT_VNET_LEN + n;
}

static void
check_udp(const char *what, const uint8_t *data, size_t n, uint16_t ip_sum,
    uint16_t udp_sum)
{
	static uint8_t buf[PKT_BUF_MAX];
	size_t len;
	uint8_t *ip = buf + PKT_VNET_LEN;

	struct in6_addr s = addr("10.0.0.1"), d = addr("10.0.0.2");

	len = pkt_udp(buf, &s, htons(1234), &d, htons(53), data, n);
	ok(len == PKT_VNET_LEN + 28 + n, "%s: length %zu", what, len);
	ok(get16(ip + 10) == ip_sum, "%s: IPv4 header checksum 0x%04x "
	    "(want 0x%04x)", what, get16(ip + 10), ip_sum);
	ok(sums_to_ones(ip, 20), "%s: IPv4 header sums to 0xffff", what);
	ok(get16(ip + 26) == udp_sum, "%s: UDP checksum 0x%04x (want 0x%04x)",
	    what, get16(ip + 26), udp_sum);
}

int
main(void)
{
	/* A SYN 10.0.0.1:40000 -> 10.0.0.2:80, seq 0x01020304. */
	static const char syn_hex[] = "4500002811110000400655bd0a0000010a000002"
	    "9c40005001020304000000005002fffffb490000";
	/* ACK|PSH 192.168.1.10:51000 -> 10.96.0.10:8080 with the 7 bytes
	 * "GET /\r\n", checksums full. */
	static const char data_hex[] = "4500002f2222000040068c8bc0a8010a0a60000a"
	    "c7381f90000003e8000007d05018ffff1cb60000474554202f0d0a";
	static uint8_t buf[PKT_BUF_MAX], orig[PKT_BUF_MAX];
	static const uint8_t zero_data[] = { 0xe6, 0xd0 };
	/* type 0 (echo reply), code 0, checksum, id, seq 7, "abc" */
	static const uint8_t echo[] = { 0, 0, 0, 0, 0, 0, 0, 7, 'a', 'b', 'c' };
	struct in6_addr a1 = addr("10.0.0.1"), a2 = addr("10.0.0.2");
	struct in6_addr r1 = addr("100.64.0.2"), r2 = addr("10.0.0.5");
	struct virtio_net_hdr vh;
	struct pkt p;
	uint8_t *ip = buf + PKT_VNET_LEN, *l4;
	size_t len, olen;

	/* Built in this order: IP identification 0, 1, 2, ... */
	check_udp("UDP, 5 bytes (odd)", (const uint8_t *)"hello", 5, 0x66ca,
	    0xa2f8);
	check_udp("UDP, 4 bytes", (const uint8_t *)"abcd", 4, 0x66ca, 0x2206);
	check_udp("UDP, empty", (const uint8_t *)"", 0, 0x66cd, 0xe6d4);
	/* Two bytes chosen so the sum is 0, which UDP sends as 0xffff
	 * (0 means "no checksum"). */
	check_udp("UDP, a sum of 0", zero_data, 2, 0x66ca, 0xffff);

	len = pkt_icmp(buf, &a2, &a1, htons(0x4242), echo, sizeof(echo));
	ok(len == PKT_VNET_LEN + 20 + sizeof(echo), "ICMP echo reply: length");
	ok(get16(ip + 10) == 0x66d8, "ICMP: IPv4 header checksum 0x%04x",
	    get16(ip + 10));
	ok(get16(ip + 24) == 0x4242, "ICMP: id set");
	ok(get16(ip + 22) == 0xf953, "ICMP, 11 bytes (odd): checksum 0x%04x "
	    "(want 0xf953)", get16(ip + 22));
	ok(sums_to_ones(ip + 20, sizeof(echo)), "ICMP message sums to 0xffff");
	ok(pkt_icmp(buf, &a1, &a1, 0, echo, 7) == 0, "ICMP under 8 bytes "
	    "refused");

	/* A reset to a SYN: seq 0, ack = the SYN's seq + 1. */
	len = load(orig, syn_hex);
	ok(pkt_parse(orig, len, &p) == 0 && p.proto == IPPROTO_TCP &&
	    p.tcp_flags == PKT_TCP_SYN && ntohs(p.sport) == 40000 &&
	    ntohs(p.dport) == 80, "SYN parsed");
	len = pkt_tcp_rst(buf, &p);
	l4 = ip + 20;
	ok(len == PKT_VNET_LEN + 40, "RST: length");
	ok(get16(ip + 10) == 0x66c9, "RST: IPv4 header checksum 0x%04x "
	    "(want 0x66c9)", get16(ip + 10));
	ok(l4[13] == (PKT_TCP_RST | PKT_TCP_ACK) &&
	    get16(l4 + 8) == 0x0102 && get16(l4 + 10) == 0x0305,
	    "RST|ACK, ack = seq + 1");
	ok(get16(l4 + 16) == 0xfb36, "RST: TCP checksum 0x%04x (want 0xfb36)",
	    get16(l4 + 16));

	/* ICMP port unreachable quoting the "hello" datagram (its IP
	 * header and 8 bytes). */
	olen = pkt_udp(orig, &a1, htons(1234), &a2, htons(53),
	    (const uint8_t *)"hello", 5);
	/* That was the 7th packet built (ident 6): give it ident 0, as the
	 * constants below quote the first "hello"; the reply is the 8th
	 * (ident 7). */
	memcpy(orig + PKT_VNET_LEN + 4, "\0\0", 2);
	memcpy(orig + PKT_VNET_LEN + 10, "\x66\xca", 2);
	ok(pkt_parse(orig, olen, &p) == 0 && p.proto == IPPROTO_UDP,
	    "UDP datagram parsed");
	len = pkt_icmp_unreach(buf, &p, PKT_UNREACH_PORT);
	ok(len == PKT_VNET_LEN + 20 + 8 + 28, "unreachable: quotes 28 bytes");
	ok(ip[20] == 3 && ip[21] == 3, "unreachable: type 3 code 3");
	ok(get16(ip + 10) == 0x66bc, "unreachable: IPv4 header checksum "
	    "0x%04x (want 0x66bc)", get16(ip + 10));
	ok(get16(ip + 22) == 0x54f0, "unreachable: ICMP checksum 0x%04x "
	    "(want 0x54f0)", get16(ip + 22));

	/* NAT rewrite with full checksums: the incremental update must
	 * give what a fresh computation over the new packet gives. */
	len = load(buf, data_hex);
	ok(pkt_parse(buf, len, &p) == 0 && !p.partial && p.l4len == 27,
	    "data segment parsed (27 bytes of TCP, odd)");
	pkt_tcp_rewrite(&p, &r1, htons(40001), &r2, htons(80));
	ok(get16(ip + 10) == 0xea60, "rewrite: IPv4 header checksum 0x%04x "
	    "(want 0xea60)", get16(ip + 10));
	ok(get16(ip + 36) == 0xc4c2, "rewrite: TCP checksum 0x%04x "
	    "(want 0xc4c2)", get16(ip + 36));
	ok(get16(ip + 20) == 40001 && get16(ip + 22) == 80 &&
	    pkt_addr_eq(&p.saddr, &r1) && pkt_addr_eq(&p.daddr, &r2),
	    "rewrite: addresses and ports in place");

	/* The same with a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM):
	 * the field holds the pseudo-header sum, not inverted, and only
	 * the addresses change it. */
	len = load(buf, data_hex);
	memset(&vh, 0, sizeof(vh));
	vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	memcpy(buf, &vh, sizeof(vh));
	memcpy(ip + 36, "\xcc\x3d", 2);
	ok(pkt_parse(buf, len, &p) == 0 && p.partial, "partial: parsed");
	pkt_tcp_rewrite(&p, &r1, htons(40001), &r2, htons(80));
	ok(get16(ip + 10) == 0xea60, "partial: IPv4 header checksum 0x%04x",
	    get16(ip + 10));
	ok(get16(ip + 36) == 0x6e68, "partial: pseudo-header sum 0x%04x "
	    "(want 0x6e68)", get16(ip + 36));

	/* What pkt_parse refuses. */
	len = load(buf, data_hex);
	ok(pkt_parse(buf, PKT_VNET_LEN + 19, &p) == -EINVAL,
	    "parse: shorter than an IPv4 header");
	ok(pkt_parse(buf, len - 1, &p) == -EINVAL,
	    "parse: total length past what was read");
	ip[6] = 0x20;			/* more fragments */
	ok(pkt_parse(buf, len, &p) == -EINVAL, "parse: a fragment");
	ip[6] = 0;
	ip[0] = 0x50;
	ok(pkt_parse(buf, len, &p) == -EINVAL, "parse: neither IPv4 nor IPv6");
	ip[0] = 0x45;
	memcpy(ip + 2, "\x00\x24", 2);	/* 20 + 16: a TCP header cut short */
	ok(pkt_parse(buf, len, &p) == -EINVAL, "parse: TCP header cut short");
	check_ipv6();
	return done_testing();
}
