/*
 * Unit tests of netd's systemd-resolved registration (netd/resolved.c)
 * where there is no system bus (DBUS_SYSTEM_BUS_ADDRESS names a socket
 * nobody listens on): nothing in the status before it is tried; then a
 * "not registered" line with the reason, a resolvectl line and a dnsmasq
 * line for the stub, with ~cluster.local first, the pod's search domains
 * after it without repeats (case aside), and a single-label domain left
 * out and named. resolved_revert is a no-op. t-resolved.sh runs the
 * other half against a real systemd-resolved. Prints TAP.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "resolved.h"

#include "tap.h"

static char *
status(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	resolved_status(f);
	fclose(f);
	return buf;
}

int
main(void)
{
	static const char search[][DNS_NAME_MAX + 1] = {
		"demo.svc.cluster.local", "svc.cluster.local", "com",
		"CLUSTER.local",
	};
	uint32_t stub = htonl(0xc6120001);	/* 198.18.0.1 */
	char *s;

	plan(7);
	log_init("test-resolved", LOG_LVL_ERROR);
	setenv("DBUS_SYSTEM_BUS_ADDRESS",
	    "unix:path=/nonexistent/mirror-test-bus", 1);
	s = status();
	ok(s[0] == '\0', "no status before registering: '%s'", s);
	free(s);

	resolved_register(7, "mirror0", stub, search, 4);
	s = status();
	ok(strstr(s, "system_dns=not registered: no system bus: ") == s,
	    "not registered, no system bus");
	ok(strstr(s, "to send the pod's names to the stub 198.18.0.1:53:\n")
	    != NULL, "names the stub");
	ok(strstr(s, "system_dns=  resolvectl dns mirror0 198.18.0.1; "
	    "resolvectl domain mirror0 ~cluster.local "
	    "~demo.svc.cluster.local ~svc.cluster.local\n") != NULL,
	    "a resolvectl line with the routing domains, once each");
	ok(strstr(s, "system_dns=  or dnsmasq: server=/cluster.local/"
	    "198.18.0.1 server=/demo.svc.cluster.local/198.18.0.1 "
	    "server=/svc.cluster.local/198.18.0.1\n") != NULL,
	    "a dnsmasq line");
	ok(strstr(s, "system_dns=not routed: com (a top-level domain)\n") !=
	    NULL && strstr(s, "~com") == NULL && strstr(s, "/com/") == NULL,
	    "the single-label domain is left out and named");
	free(s);

	resolved_revert();
	s = status();
	ok(strstr(s, "not registered") != NULL, "revert without a "
	    "registration changes nothing");
	free(s);
	return done_testing();
}
