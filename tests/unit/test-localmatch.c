/*
 * Unit tests of net.local's matcher (netd/localmatch.c): every entry
 * form and the input it refuses, addresses and ports matched by
 * addresses, CIDRs, ports and names, learned addresses (their port,
 * their expiry, the bounded table), the CIDRs mirrorctl connect leaves
 * unrouted, names with the pod's search domains after them, and the
 * DNS answers the stub makes for a net.local name (A records, NXDOMAIN,
 * no records for other types, the query's id and question kept, EDNS
 * left out). Prints TAP.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "localmatch.h"

#include "tap.h"

static struct localmatch M;

static uint32_t
A(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		diag("bad address in the test: %s", s);
	return a.s_addr;
}

static void
accepted(struct localmatch *m, const char *e)
{
	const char *why = "";
	int rc = localmatch_add(m, e, &why);

	ok(rc == 0, "\"%s\" accepted (%s)", e, rc ? why : "ok");
}

static void
refused(const char *e)
{
	struct localmatch m;
	const char *why = NULL;

	localmatch_init(&m);
	ok(localmatch_add(&m, e, &why) == -EINVAL && why != NULL &&
	    localmatch_empty(&m), "\"%s\" refused (%s)", e, why ? why : "-");
}

static void
match(const char *addr, unsigned int port, double now, int want)
{
	ok(localmatch_addr(&M, A(addr), htons((uint16_t)port), now) == want,
	    "%s:%u %s", addr, port, want ? "is local" : "is not local");
}

/* A query for name, type qtype, id 0x1234, RD, with an EDNS OPT record
 * after the question. Returns its length. */
static size_t
query(uint8_t *q, const char *name, unsigned int qtype)
{
	static const uint8_t opt[] = { 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0 };
	size_t off = 12;
	const char *p = name, *dot;

	memset(q, 0, 12);
	q[0] = 0x12;
	q[1] = 0x34;
	q[2] = 0x01;
	q[5] = 1;
	q[11] = 1;		/* ARCOUNT: the OPT */
	while (*p) {
		dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		q[off++] = (uint8_t)l;
		memcpy(q + off, p, l);
		off += l;
		p += l + (dot != NULL);
	}
	q[off++] = 0;
	q[off++] = (uint8_t)(qtype >> 8);
	q[off++] = (uint8_t)qtype;
	q[off++] = 0;
	q[off++] = 1;
	memcpy(q + off, opt, sizeof(opt));
	return off + sizeof(opt);
}

static void
test_answers(void)
{
	uint8_t q[512], out[512];
	uint32_t addrs[20];
	size_t qn, qlen;
	int i, n;

	for (i = 0; i < 20; i++)
		addrs[i] = htonl(0x0a4f0000u + (uint32_t)i);
	qn = query(q, "db.example", 1);
	qlen = qn - 11;		/* header and question */
	n = localmatch_dns_answer(q, qn, 0, addrs, 2, out, sizeof(out));
	ok(n == (int)qlen + 32, "A: two records (%d bytes)", n);
	ok(n > 0 && out[0] == 0x12 && out[1] == 0x34, "A: the query's id");
	ok(n > 0 && out[2] == 0x81 && out[3] == 0x80, "A: QR, RD, RA, NOERROR");
	ok(n > 0 && out[5] == 1 && out[7] == 2 && out[9] == 0 && out[11] == 0,
	    "A: one question, two answers, no EDNS");
	ok(n > 0 && memcmp(out + 12, q + 12, qlen - 12) == 0,
	    "A: the question as asked");
	ok(n > 0 && out[qlen] == 0xc0 && out[qlen + 1] == 12 &&
	    out[qlen + 3] == 1 && out[qlen + 9] == LOCALMATCH_DNS_TTL &&
	    out[qlen + 11] == 4 && memcmp(out + qlen + 12, &addrs[0], 4) == 0 &&
	    memcmp(out + qlen + 28, &addrs[1], 4) == 0,
	    "A: records name the question, TTL %d, the addresses",
	    LOCALMATCH_DNS_TTL);
	n = localmatch_dns_answer(q, qn, 0, addrs, 20, out, sizeof(out));
	ok(n == (int)qlen + 16 * LOCALMATCH_ANSWERS_MAX && out[7] ==
	    LOCALMATCH_ANSWERS_MAX, "A: at most %d records",
	    LOCALMATCH_ANSWERS_MAX);
	n = localmatch_dns_answer(q, qn, 3, addrs, 2, out, sizeof(out));
	ok(n == (int)qlen && out[3] == 0x83 && out[7] == 0,
	    "NXDOMAIN: no records");
	qn = query(q, "db.example", 28);
	n = localmatch_dns_answer(q, qn, 0, addrs, 2, out, sizeof(out));
	ok(n == (int)qlen && out[3] == 0x80 && out[7] == 0,
	    "AAAA of a local name: NOERROR, no records");
	qn = query(q, "db.example", 1);
	ok(localmatch_dns_answer(q, qn, 0, addrs, 2, out, qlen + 31) ==
	    -EINVAL, "no room: -EINVAL");
	q[2] |= 0x80;
	ok(localmatch_dns_answer(q, qn, 0, addrs, 2, out, sizeof(out)) ==
	    -EINVAL, "a response is no query: -EINVAL");
	ok(localmatch_dns_answer(q, 11, 0, addrs, 2, out, sizeof(out)) ==
	    -EINVAL, "a short query: -EINVAL");
}

int
main(void)
{
	struct localmatch m;
	struct cidr c[8];
	char buf[CIDR_STR_MAX];
	const char *why;
	int i, k;

	localmatch_init(&M);
	ok(localmatch_empty(&M), "empty at first");
	accepted(&M, "10.79.0.1");
	accepted(&M, "10.80.0.0/16");
	accepted(&M, "10.77.0.2:8080");
	accepted(&M, "10.90.0.0/24:5432");
	accepted(&M, ":6379");
	accepted(&M, "DB.Example.");
	accepted(&M, "cache.example:11211");
	ok(!localmatch_empty(&M), "not empty after");
	refused("");
	refused(":");
	refused("10.1.2.3:");
	refused("10.1.2.3:0");
	refused("10.1.2.3:65536");
	refused("10.1.2.3:80x");
	refused("10.1.2.3:-1");
	refused("10.0.0.0/33");
	refused("10.1.2");
	refused("fd00::1");
	refused("[fd00::1]:80");
	refused("fd00::/8");
	refused("a..b");
	refused(".a");
	refused("a b");
	refused("a/b");
	refused("x.example:1:2");
	{
		char longname[300];

		memset(longname, 'a', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		refused(longname);
		memset(longname, 'a', 64);
		longname[64] = '\0';
		refused(longname);
	}

	match("10.79.0.1", 80, 0, 1);
	match("10.79.0.1", 22, 0, 1);
	match("10.79.0.2", 80, 0, 0);
	match("10.80.255.1", 443, 0, 1);
	match("10.81.0.1", 443, 0, 0);
	match("10.77.0.2", 8080, 0, 1);
	match("10.77.0.2", 80, 0, 0);
	match("10.90.0.200", 5432, 0, 1);
	match("10.90.0.200", 5433, 0, 0);
	match("10.90.1.1", 5432, 0, 0);
	match("1.2.3.4", 6379, 0, 1);
	match("1.2.3.4", 6380, 0, 0);
	ok(localmatch_addr(&M, A("10.79.0.1"), 0, 0) == 1,
	    "ICMP (port 0) to an address of every port: local");
	ok(localmatch_addr(&M, A("10.77.0.2"), 0, 0) == 0,
	    "ICMP to an address of one port: not local");

	ok(localmatch_name(&M, "db.example") == 0, "db.example is entry 0");
	ok(localmatch_name(&M, "DB.EXAMPLE.") == 0, "any case, a final dot");
	ok(localmatch_name(&M, "cache.example") == 1, "cache.example: 1");
	ok(localmatch_name(&M, "example") == -1, "example: no entry");
	ok(localmatch_name(&M, "x.db.example") == -1, "x.db.example: none");
	ok(localmatch_name(&M, "db.example.com") == -1,
	    "db.example.com: none");

	{
		static const char pod[] = "nameserver 10.96.0.10\n"
		    "search demo.svc.cluster.local svc.cluster.local "
		    "bad..domain x\001y\noptions ndots:5\n";

		localmatch_pod_search(&M, pod, sizeof(pod) - 1);
		ok(M.nsearch == 2, "the pod's search list: 2 good domains "
		    "(%d)", M.nsearch);
	}
	ok(localmatch_name(&M, "db.example.demo.svc.cluster.local") == 0,
	    "db.example + a search domain: entry 0");
	ok(localmatch_name(&M, "DB.example.SVC.cluster.local.") == 0,
	    "db.example + the other search domain, any case: entry 0");
	ok(localmatch_name(&M, "db.example.cluster.local") == -1,
	    "db.example + a domain not in the list: none");
	ok(localmatch_name(&M, "db.exampledemo.svc.cluster.local") == -1,
	    "no dot between name and domain: none");
	ok(localmatch_name(&M, "x.db.example.svc.cluster.local") == -1,
	    "a label before the name: none");
	localmatch_pod_search(&M, "", 0);
	ok(M.nsearch == 0 && localmatch_name(&M,
	    "db.example.svc.cluster.local") == -1,
	    "no search list: only the name itself");

	match("10.99.0.1", 80, 100, 0);
	localmatch_learn(&M, 0, A("10.99.0.1"), 100);
	match("10.99.0.1", 80, 101, 1);
	match("10.99.0.1", 5432, 101, 1);
	match("10.99.0.1", 80, 100 + LOCALMATCH_LEARN_TTL + 1, 0);
	localmatch_learn(&M, 1, A("10.99.0.2"), 100);
	match("10.99.0.2", 11211, 101, 1);
	match("10.99.0.2", 80, 101, 0);
	localmatch_learn(&M, 7, A("10.99.0.3"), 100);
	match("10.99.0.3", 80, 101, 0);
	for (i = 0; i < LOCALMATCH_LEARNED_MAX + 10; i++)
		localmatch_learn(&M, 0, htonl(0x0a620000u + (uint32_t)i), 200);
	match("10.98.0.0", 80, 201, 0);
	match("10.98.0.9", 80, 201, 0);
	match("10.98.0.10", 80, 201, 1);
	ok(localmatch_addr(&M, htonl(0x0a620000u + LOCALMATCH_LEARNED_MAX +
	    9), htons(80), 201) == 1, "the table keeps the last %d learned",
	    LOCALMATCH_LEARNED_MAX);

	k = localmatch_cidrs(&M, c, 8);
	ok(k == 2 && strcmp(cidr_format(&c[0], buf), "10.79.0.1/32") == 0 &&
	    strcmp(cidr_format(&c[1], buf), "10.80.0.0/16") == 0,
	    "the whole-address entries as CIDRs: 10.79.0.1/32 10.80.0.0/16");

	localmatch_init(&m);
	for (i = 0; i < LOCALMATCH_MAX; i++) {
		snprintf(buf, sizeof(buf), "10.0.%d.0/24", i);
		if (localmatch_add(&m, buf, &why) != 0)
			break;
	}
	ok(i == LOCALMATCH_MAX && localmatch_add(&m, "10.1.0.0/24", &why) ==
	    -E2BIG, "%d entries at most", LOCALMATCH_MAX);
	localmatch_init(&m);
	accepted(&m, "0.0.0.0/0");
	ok(localmatch_addr(&m, A("8.8.8.8"), htons(53), 0) == 1,
	    "0.0.0.0/0: everything is local");

	test_answers();
	return done_testing();
}
