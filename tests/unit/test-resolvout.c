/*
 * Unit tests of the shell's resolv.conf (netd/resolvout.c): the stub as
 * the only nameserver, the pod's last search list with bad domains
 * dropped and trailing dots cut, known options with their last value,
 * unknown or out-of-range options dropped, at most three nameservers.
 * Prints TAP.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "resolvout.h"

#include "tap.h"

static char out[RESOLVOUT_MAX];

static int
fmt(const char *pod, const char *const *servers)
{
	return resolvout_format(pod, strlen(pod), servers, out, sizeof(out));
}

int
main(void)
{
	static const char *const stub[] = { "198.18.0.1", NULL };
	static const char *const bad[] = { "not-an-address", NULL };
	static const char *const many[] = { "10.0.0.1", "10.0.0.2",
	    "fd00::1", "10.0.0.4", NULL };
	const char *hdr = "# mirror-netd: the shell's DNS stub, with the "
	    "pod's search list and options\n";
	char want[1024];
	int n;

	plan(9);
	n = fmt("nameserver 10.96.0.10\nsearch a.svc.cluster.local "
	    "svc.cluster.local\noptions ndots:5\n", stub);
	snprintf(want, sizeof(want), "%snameserver 198.18.0.1\nsearch "
	    "a.svc.cluster.local svc.cluster.local\noptions ndots:5\n", hdr);
	ok(n == (int)strlen(want) && strcmp(out, want) == 0,
	    "a Kubernetes resolv.conf: stub, search list, ndots");
	fmt("search first.example\ndomain second.example\n", stub);
	ok(strstr(out, "search second.example\n") != NULL &&
	    strstr(out, "first") == NULL, "the last search or domain wins");
	fmt("search ok.example. bad..dots sl/ash sp\tok2 "
	    "_srv-x.example\n", stub);
	ok(strstr(out, "search ok.example sp ok2 _srv-x.example\n") != NULL,
	    "bad domains dropped, a trailing dot cut: %s", out);
	fmt("options ndots:5 timeout:99 evil attempts:2\noptions ndots:2 "
	    "edns0 ndots:x\n", stub);
	ok(strstr(out, "options ndots:2 attempts:2 edns0\n") != NULL,
	    "options: last value, unknown and out of range dropped: %s", out);
	fmt("nameserver 10.0.0.1\nsortlist 10.0.0.0/8\n", stub);
	ok(strstr(out, "10.0.0.1") == NULL && strstr(out, "sortlist") == NULL,
	    "nothing else of the pod's file passes");
	fmt("", stub);
	snprintf(want, sizeof(want), "%snameserver 198.18.0.1\n", hdr);
	ok(strcmp(out, want) == 0, "an empty pod file: the stub alone");
	ok(fmt("search a\n", bad) == -EINVAL, "no numeric server: -EINVAL");
	fmt("", many);
	ok(strstr(out, "nameserver fd00::1\n") != NULL &&
	    strstr(out, "10.0.0.4") == NULL, "at most three nameservers");
	ok(resolvout_format("", 0, stub, out, 64) == -EINVAL,
	    "a buffer under RESOLVOUT_MAX is refused");
	return done_testing();
}
