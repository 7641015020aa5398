/*
 * Unit tests of port-forward's user input and name plan
 * (tools/forward-spec.c, tools/forward-dns.c): every -L form parses to
 * the right local and remote ends, every -R form to its pod port and
 * local address, bad specs are refused with a reason,
 * a listener on a taken port fails with EADDRINUSE, the names tried for
 * a HOST follow the pod's search list and ndots as a stub resolver's
 * do, and a DNS answer (built here byte by byte) yields its addresses
 * while a cut one is refused. Prints TAP.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "forward-dns.h"
#include "forward-spec.h"

#include "tap.h"

/* s parses; its ends print as local and remote. */
static void
parses(const char *s, const char *local, const char *remote, int family)
{
	char l[FWDSPEC_STR_MAX + 8], r[FWDSPEC_STR_MAX + 8];
	struct fwd_spec f;
	const char *why = "";
	int rc = fwdspec_parse(s, &f, &why);

	l[0] = r[0] = '\0';
	if (rc == 0) {
		fwdspec_local_str(&f.laddr, l, sizeof(l));
		fwdspec_remote_str(&f, r, sizeof(r));
	}
	ok(rc == 0 && strcmp(l, local) == 0 && strcmp(r, remote) == 0 &&
	    f.host_family == family,
	    "\"%s\" -> %s -> %s (rc %d: %s; got %s -> %s, family %d)", s,
	    local, remote, rc, rc ? why : "ok", l, r, rc ? -1 : f.host_family);
}

static void
refused(const char *s, const char *reason)
{
	struct fwd_spec f;
	const char *why = "";
	int rc = fwdspec_parse(s, &f, &why);

	ok(rc == -EINVAL && strstr(why, reason) != NULL,
	    "\"%s\" refused: %s (got rc %d, \"%s\")", s, reason, rc, why);
}

static void
test_specs(void)
{
	parses("8080:127.0.0.1:80", "127.0.0.1:8080", "127.0.0.1:80", 4);
	parses("0.0.0.0:8080:10.0.0.5:5432", "0.0.0.0:8080",
	    "10.0.0.5:5432", 4);
	parses("*:8080:db:5432", "0.0.0.0:8080", "db:5432", 0);
	parses("localhost:9000:db.shop.svc.cluster.local.:5432",
	    "127.0.0.1:9000", "db.shop.svc.cluster.local.:5432", 0);
	parses("[::1]:8080:[fd00::5]:80", "[::1]:8080", "[fd00::5]:80", 6);
	parses("redis:6379", "127.0.0.1:6379", "redis:6379", 0);
	parses("0:web:80", "127.0.0.1:0", "web:80", 0);
	parses("65535:my_host-1:65535", "127.0.0.1:65535",
	    "my_host-1:65535", 0);
	parses("8080:localhost:80", "127.0.0.1:8080", "localhost:80", 0);

	refused("", "empty");
	refused("8080", "want");
	refused("8080::80", "empty");
	refused("8080:db:0", "remote port");
	refused("8080:db:65536", "remote port");
	refused("8080:db:http", "remote port");
	refused("70000:db:80", "local port");
	refused("-1:db:80", "local port");
	refused("example.com:8080:db:80", "local address");
	refused("8080:::1:80", "empty");
	refused("8080:fd00::1:80", "empty");
	refused("8080:fd00:1:2:3", "too many");
	refused("1:2:3:4:5", "too many");
	refused("8080:[db]:80", "neither");
	refused("8080:10.0.0.256:80", "neither");
	refused("8080:1.2.3:80", "neither");
	refused("8080:bad..name:80", "neither");
	refused("8080:-lead:80", "neither");
	refused("8080:sp ace:80", "neither");
	refused("8080:a/b:80", "neither");
	refused("8080:[::1:80", "without");
	refused("8080:[::1]x:80", "end a part");
	refused("8080:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaa.com:80", "neither");
}

/* The -R spec s parses to the pod's port rport and the local to. */
static void
rparses(const char *s, unsigned int rport, const char *to)
{
	char t[FWDSPEC_STR_MAX + 8];
	struct fwd_rspec r;
	const char *why = "";
	int rc = fwdspec_parse_r(s, &r, &why);

	t[0] = '\0';
	if (rc == 0)
		fwdspec_local_str(&r.to, t, sizeof(t));
	ok(rc == 0 && r.rport == rport && strcmp(t, to) == 0 &&
	    r.tolen == (r.to.ss_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)),
	    "-R \"%s\" -> :%u -> %s (rc %d: %s; got :%u -> %s)", s, rport,
	    to, rc, rc ? why : "ok", rc ? 0 : r.rport, t);
}

static void
rrefused(const char *s, const char *reason)
{
	struct fwd_rspec r;
	const char *why = "";
	int rc = fwdspec_parse_r(s, &r, &why);

	ok(rc == -EINVAL && strstr(why, reason) != NULL,
	    "-R \"%s\" refused: %s (got rc %d, \"%s\")", s, reason, rc, why);
}

static void
test_rspecs(void)
{
	rparses("9101:127.0.0.1:8080", 9101, "127.0.0.1:8080");
	rparses("80:localhost:3000", 80, "127.0.0.1:3000");
	rparses("*:80:10.1.2.3:1", 80, "10.1.2.3:1");
	rparses("0.0.0.0:65535:[::1]:65535", 65535, "[::1]:65535");
	rparses("[::]:443:[fd00::7]:8443", 443, "[fd00::7]:8443");

	rrefused("", "empty");
	rrefused("9101:8080", "want");
	rrefused("9101", "want");
	rrefused("0:127.0.0.1:80", "pod's port");
	rrefused("65536:127.0.0.1:80", "pod's port");
	rrefused("http:127.0.0.1:80", "pod's port");
	rrefused("80:127.0.0.1:0", "local port");
	rrefused("80:127.0.0.1:x", "local port");
	rrefused("80:db:8080", "numeric address or localhost");
	rrefused("80:[db]:8080", "numeric address or localhost");
	rrefused("80:10.0.0.256:8080", "numeric address or localhost");
	rrefused("127.0.0.1:80:127.0.0.1:8080", "every address");
	rrefused("203.0.113.2:80:127.0.0.1:8080", "every address");
	rrefused("[::1]:80:127.0.0.1:8080", "every address");
	rrefused("[0.0.0.0]:80:127.0.0.1:8080", "every address");
	rrefused("[*]:80:127.0.0.1:8080", "every address");
	rrefused("1:2:3:4:5", "too many");
}

static void
test_listen(void)
{
	struct fwd_spec f, g;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	const char *why;
	char spec[64];
	int fd, fd2;

	ok(fwdspec_parse("0:db:80", &f, &why) == 0, "0:db:80 parses");
	fd = fwdspec_listen(&f);
	ok(fd >= 0, "listening on a free port (%d)", fd);
	if (fd < 0)
		return;
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	snprintf(spec, sizeof(spec), "%u:db:80", ntohs(sin.sin_port));
	ok(fwdspec_parse(spec, &g, &why) == 0, "%s parses", spec);
	fd2 = fwdspec_listen(&g);
	ok(fd2 == -EADDRINUSE, "the same port again: EADDRINUSE (got %d)",
	    fd2);
	if (fd2 >= 0)
		close(fd2);
	close(fd);
}

static void
plan_is(const char *name, const char *resolv, const char *want)
{
	struct fwddns_plan p;
	char got[2048] = "";
	int i;

	fwddns_plan(name, resolv, resolv ? strlen(resolv) : 0, &p);
	for (i = 0; i < p.n; i++) {
		if (i)
			strcat(got, " ");
		strcat(got, p.names[i]);
	}
	ok(strcmp(got, want) == 0, "plan for %s: %s (got %s)", name, want,
	    got);
}

static void
test_plan(void)
{
	const char *kube = "nameserver 10.96.0.10\n"
	    "search shop.svc.cluster.local svc.cluster.local cluster.local\n"
	    "options ndots:5\n";

	plan_is("db", kube, "db.shop.svc.cluster.local db.svc.cluster.local "
	    "db.cluster.local db");
	plan_is("db.other", kube, "db.other.shop.svc.cluster.local "
	    "db.other.svc.cluster.local db.other.cluster.local db.other");
	plan_is("db.", kube, "db.");
	plan_is("a.b.c.d.e.f", kube, "a.b.c.d.e.f a.b.c.d.e.f.shop.svc."
	    "cluster.local a.b.c.d.e.f.svc.cluster.local "
	    "a.b.c.d.e.f.cluster.local");
	plan_is("web", "search corp\n", "web.corp web");
	plan_is("web.corp", "search corp\n", "web.corp web.corp.corp");
	plan_is("web", NULL, "web");
	plan_is("web", "search bad..dom good\nsearch $(x) ok\n", "web.ok web");
	plan_is("web", "options ndots:0\nsearch s\n", "web web.s");
}

/* A DNS answer to "web" A: two addresses, compressed names. */
static const uint8_t answer_a[] = {
	0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
	3, 'w', 'e', 'b', 0, 0, 1, 0, 1,
	0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 1, 2, 3,
	0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 1, 2, 4,
};

static void
test_answer(void)
{
	uint8_t addrs[FWDDNS_ADDRS_MAX][16], *q = NULL;
	size_t qlen = 0;
	int n;

	n = fwddns_answer(answer_a, sizeof(answer_a), 4, addrs);
	ok(n == 2 && memcmp(addrs[0], "\12\1\2\3", 4) == 0 &&
	    memcmp(addrs[1], "\12\1\2\4", 4) == 0,
	    "an A answer: 10.1.2.3 and 10.1.2.4 (got %d)", n);
	n = fwddns_answer(answer_a, sizeof(answer_a), 6, addrs);
	ok(n == 0, "no AAAA in it (got %d)", n);
	n = fwddns_answer(answer_a, sizeof(answer_a) - 3, 4, addrs);
	ok(n == -EBADMSG, "a cut answer refused (got %d)", n);
	n = fwddns_answer(answer_a, 5, 4, addrs);
	ok(n == -EBADMSG, "a cut header refused (got %d)", n);
	ok(fwddns_query("web.shop", 1, &q, &qlen) == 0 && qlen == 12 + 10 + 4 &&
	    q[4] == 0 && q[5] == 1 && memcmp(q + 12, "\3web\4shop", 10) == 0,
	    "a query for web.shop: one question, its labels (len %zu)", qlen);
	fwddns_free(q);
}

int
main(void)
{
	test_specs();
	test_rspecs();
	test_listen();
	test_plan();
	test_answer();
	return done_testing();
}
