/*
 * Unit tests of netd's route admission (netd/admit.c): which prefixes an
 * agent may have routed (private, shared and test ranges, no wider than
 * a /8; 0.0.0.0/1 and 0.0.0.0/4 never), which of this machine's routes
 * carries a prefix today (the default route only when nothing narrower
 * does), and the "nameserver" lines of a resolv.conf. Prints TAP.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "admit.h"

#include "tap.h"

static int
agent_ok(const char *s)
{
	struct cidr c;
	const char *why = NULL;

	if (cidr_parse(s, &c) < 0) {
		diag("bad test CIDR %s", s);
		return -99;
	}
	return admit_agent_prefix(&c, &why) == 0 ? 1 : 0;
}

static const char *
why_of(const char *s)
{
	struct cidr c;
	const char *why = "";

	cidr_parse(s, &c);
	admit_agent_prefix(&c, &why);
	return why;
}

static void
have_set(struct route_have *h, const char *s)
{
	memset(h, 0, sizeof(*h));
	if (strcmp(s, "default") == 0)
		h->dst.family = AF_INET;
	else
		cidr_parse(s, &h->dst);
	snprintf(h->what, sizeof(h->what), "%s dev x", s);
}

static int
covering(const char *want, struct route_have *have, int n)
{
	struct cidr c;

	cidr_parse(want, &c);
	return admit_covering(&c, have, n);
}

int
main(void)
{
	static const char *const yes[] = {
		"10.0.0.0/8", "10.77.0.0/24", "10.66.0.10/32",
		"172.16.0.0/12", "172.31.255.0/24", "192.168.0.0/16",
		"192.168.1.1/32", "100.64.0.0/10", "100.127.0.1/32",
		"198.18.0.0/15", "198.19.255.255/32", "192.0.2.0/24",
		"198.51.100.7/32", "203.0.113.0/24", "fd00::/8",
		"fc00::/8", "fd12:3456::/64", "2001:2::/48", "2001:2:0:7::/64",
	};
	static const char *const no[] = {
		"0.0.0.0/0", "0.0.0.0/1", "128.0.0.0/1", "0.0.0.0/4",
		"10.0.0.0/7", "8.0.0.0/6", "1.1.1.1/32", "8.8.8.8/32",
		"11.0.0.0/8", "172.32.0.0/16", "172.15.0.0/16",
		"100.128.0.0/16", "100.0.0.0/10", "198.20.0.0/16",
		"192.0.3.0/24", "198.51.101.0/24", "203.0.112.0/24",
		"224.0.0.0/4", "169.254.0.0/16", "127.0.0.0/8",
		"::/0", "fc00::/7", "2001:db8::/32", "::ffff:10.0.0.1/128",
		"fe80::/10", "2000::/3", "2001:2::/47", "2001:3::/64",
	};
	struct route_have have[4];
	struct cidr ns[8];
	char buf[600];
	size_t i;
	int n;
	const char *text =
	    "# a comment\n"
	    "search a.svc.cluster.local svc.cluster.local\n"
	    "nameserver 10.96.0.10\n"
	    "  nameserver\t1.1.1.1  # trailing\n"
	    "nameserver fe80::1%eth0\n"
	    "nameservers 10.9.9.9\n"
	    "nameserver 10.0.0.0/8\n"
	    "nameserver bogus\n"
	    "options ndots:5\n"
	    "nameserver 192.168.1.1";	/* no newline at the end */

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ok(agent_ok(yes[i]) == 1, "the agent may route %s", yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ok(agent_ok(no[i]) == 0, "the agent may not route %s (%s)",
		    no[i], why_of(no[i]));
	ok(strstr(why_of("0.0.0.0/1"), "/8") != NULL,
	    "0.0.0.0/1: the reason names the /8 limit");
	ok(strstr(why_of("1.1.1.1/32"), "private") != NULL,
	    "1.1.1.1/32: the reason names the ranges");

	/* Which route carries a prefix today. */
	have_set(&have[0], "default");
	have_set(&have[1], "10.0.0.0/8");
	have_set(&have[2], "10.77.0.0/16");
	have_set(&have[3], "192.168.1.0/24");
	ok(covering("10.77.1.0/24", have, 4) == 2,
	    "10.77.1.0/24: the most specific route, 10.77.0.0/16");
	ok(covering("10.1.0.0/16", have, 4) == 1, "10.1.0.0/16: 10.0.0.0/8");
	ok(covering("10.77.0.0/16", have, 4) == 2,
	    "the same prefix counts as covering");
	ok(covering("172.16.0.0/12", have, 4) == 0,
	    "172.16.0.0/12: only the default route");
	ok(covering("10.0.0.0/7", have, 4) == 0,
	    "a prefix wider than a route: only the default route");
	ok(covering("0.0.0.0/1", have, 4) == 0,
	    "0.0.0.0/1: the default route carries it");
	ok(covering("172.16.0.0/12", have + 1, 3) == -1,
	    "no default route: nothing covers 172.16.0.0/12");
	ok(covering("192.168.0.0/16", have + 1, 3) == -1,
	    "a route inside the prefix does not cover it");
	ok(covering("fd00::/8", have, 4) == -1,
	    "an IPv4 default route does not cover IPv6");

	/* resolv.conf */
	n = admit_nameservers(text, strlen(text), ns, 8);
	ok(n == 4, "four nameservers (got %d)", n);
	if (n == 4) {
		char a[CIDR_STR_MAX];

		ok(strcmp(cidr_format(&ns[0], a), "10.96.0.10/32") == 0,
		    "first: %s", a);
		ok(strcmp(cidr_format(&ns[1], a), "1.1.1.1/32") == 0,
		    "second, indented with a comment: %s", a);
		ok(strcmp(cidr_format(&ns[2], a), "fe80::1/128") == 0,
		    "IPv6 with a zone: %s", a);
		ok(strcmp(cidr_format(&ns[3], a), "192.168.1.1/32") == 0,
		    "last, without a newline: %s", a);
	} else
		for (i = 0; i < 4; i++)
			ok(0, "nameserver %zu", i);
	ok(admit_nameservers(text, strlen(text), ns, 2) == 2,
	    "at most max nameservers");
	ok(admit_nameservers("nameserver 10.0.0.1", 14, ns, 8) == 0,
	    "the length bounds the text, not a NUL");
	memset(buf, ' ', sizeof(buf));
	memcpy(buf + sizeof(buf) - 22, "nameserver 10.0.0.1\n", 20);
	ok(admit_nameservers(buf, sizeof(buf) - 2, ns, 8) == 0,
	    "a line longer than any resolver writes is ignored");
	ok(admit_nameservers("", 0, ns, 8) == 0, "empty text");
	return done_testing();
}
