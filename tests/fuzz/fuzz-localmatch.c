/*
 * libFuzzer harness for net.local's use of the pod's resolv.conf
 * (netd/localmatch.c, localmatch_pod_search, through resolvout.c):
 * whatever the pod wrote, the search list kept is at most
 * RESOLVOUT_SEARCH_MAX non-empty domains of domain characters without a
 * final dot, a name entry with any of them after it is still found,
 * and the same bytes as a query name never match another entry or
 * crash the matcher.
 *
 * FUZZ-SOURCES: netd/localmatch.c netd/resolvout.c netd/dns.c lib/cidr.c
 * FUZZ-FLAGS: -lpthread
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../netd/localmatch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct localmatch m;
	static int ready;
	char q[DNS_NAME_MAX * 2 + 2];
	const char *why;
	size_t n;
	int i;

	if (size > 65536)
		return 0;
	if (!ready) {
		localmatch_init(&m);
		if (localmatch_add(&m, "db.example", &why) < 0 ||
		    localmatch_add(&m, "web:8080", &why) < 0)
			abort();
		ready = 1;
	}
	localmatch_pod_search(&m, (const char *)data, size);
	if (m.nsearch < 0 || m.nsearch > RESOLVOUT_SEARCH_MAX)
		abort();
	for (i = 0; i < m.nsearch; i++) {
		n = strlen(m.search[i]);
		if (n == 0 || n > DNS_NAME_MAX || m.search[i][n - 1] == '.' ||
		    strspn(m.search[i], "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != n)
			abort();
		snprintf(q, sizeof(q), "db.example.%s", m.search[i]);
		if (localmatch_name(&m, q) != 0)
			abort();
		snprintf(q, sizeof(q), "web.%s.", m.search[i]);
		if (localmatch_name(&m, q) != 1)
			abort();
	}
	n = size < DNS_NAME_MAX ? size : DNS_NAME_MAX;
	memcpy(q, data, n);
	q[n] = '\0';
	i = localmatch_name(&m, q);
	if (i < -1 || i > 1)
		abort();
	return 0;
}
