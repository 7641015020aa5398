/*
 * libFuzzer harness for the two readers of a pod's resolv.conf: the
 * agent's (agent/resolv.c: the "nameserver" lines as c-ares' server
 * list, which c-ares then parses) and netd's (netd/admit.c: the pod's
 * and this machine's nameservers as prefixes). Each server list entry
 * must be an address c-ares takes ("A.B.C.D:53" or "[V6]:53"), the list
 * must end inside its buffer at every size, and every prefix netd reads
 * must be a whole address.
 *
 * FUZZ-SOURCES: agent/resolv.c netd/admit.c lib/cidr.c
 * FUZZ-FLAGS:
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../agent/resolv.h"
#include "../../netd/admit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_list(char *csv, size_t sz)
{
	char *save = NULL, *e, *end;
	uint8_t a[16];

	if (memchr(csv, '\0', sz) == NULL)
		abort();
	for (e = strtok_r(csv, ",", &save); e; e = strtok_r(NULL, ",", &save)) {
		size_t n = strlen(e);

		if (n < 4 || strcmp(e + n - 3, ":53") != 0)
			abort();
		e[n - 3] = '\0';
		if (e[0] == '[') {
			end = e + strlen(e) - 1;
			if (*end != ']')
				abort();
			*end = '\0';
			if (inet_pton(AF_INET6, e + 1, a) != 1)
				abort();
		} else if (inet_pton(AF_INET, e, a) != 1)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t sizes[] = { 4096, 64, 13 };
	char csv[4096], *text;
	struct cidr ns[32];
	size_t i;
	int n, k;

	if (size > 65536)
		return 0;
	text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(csv, 'x', sizeof(csv));
		agent_resolv_servers(text, csv, sizes[i]);
		check_list(csv, sizes[i]);
	}
	n = admit_nameservers((const char *)data, size, ns, 32);
	if (n < 0 || n > 32)
		abort();
	for (k = 0; k < n; k++)
		if (ns[k].len != (ns[k].family == AF_INET ? 32 : 128))
			abort();
	free(text);
	return 0;
}
