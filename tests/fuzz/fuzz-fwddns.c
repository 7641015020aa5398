/*
 * libFuzzer harness for what mirror-forward reads from the pod when a
 * -L HOST is a name (tools/forward-dns.c): the DNS answer the agent
 * relays from the pod's nameservers, parsed for A and AAAA records, and
 * the pod's resolv.conf, turned into the names to try. The input's first
 * byte picks which; whatever the pod sent, at most FWDDNS_ADDRS_MAX
 * addresses come back, and every name planned is a NUL-terminated
 * string of DNS name characters within FWDDNS_NAME_MAX.
 *
 * FUZZ-SOURCES: tools/forward-dns.c netd/resolvout.c
 * FUZZ-PKG: libcares
 * FUZZ-FLAGS:
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/forward-dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_plan(const struct fwddns_plan *p)
{
	int i;
	size_t n;

	if (p->n < 0 || p->n > FWDDNS_SEARCH_MAX + 1)
		abort();
	for (i = 0; i < p->n; i++) {
		n = strnlen(p->names[i], FWDDNS_NAME_MAX);
		if (n == 0 || n >= FWDDNS_NAME_MAX ||
		    strspn(p->names[i], "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != n)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t addrs[FWDDNS_ADDRS_MAX][16];
	struct fwddns_plan p;
	int n;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		fwddns_plan("web", (const char *)data + 1, size - 1, &p);
		check_plan(&p);
		fwddns_plan("a.b", (const char *)data + 1, size - 1, &p);
		check_plan(&p);
		return 0;
	}
	n = fwddns_answer(data + 1, size - 1, 4, addrs);
	if (n > FWDDNS_ADDRS_MAX)
		abort();
	n = fwddns_answer(data + 1, size - 1, 6, addrs);
	if (n > FWDDNS_ADDRS_MAX)
		abort();
	return 0;
}
