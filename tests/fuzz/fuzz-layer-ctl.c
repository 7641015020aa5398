/*
 * libFuzzer harness for netd's parser of the layer's requests
 * (netd/layer-ctl-parse.c, layer_ctl_parse): the sender is the user's program
 * in the shell. Whatever the bytes, a request that parses has ports of
 * 1..65535, a listener address of IPv4 or IPv6 with the local port and
 * never an unspecified one (netd connects there), and the same request
 * written again parses to the same thing.
 *
 * FUZZ-SOURCES: netd/layer-ctl-parse.c
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../netd/layer-ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct layer_ctl_req r, r2;
	char line[LAYER_CTL_LINE_MAX * 2], a[INET6_ADDRSTRLEN];
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&r.to;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&r.to;
	int n;

	if (layer_ctl_parse((const char *)data, size, &r) < 0)
		return 0;
	if (r.asked == 0 || size > LAYER_CTL_LINE_MAX)
		abort();
	if (r.op == LAYER_CTL_BIND) {
		if (r.tolen != 0)
			abort();
		n = snprintf(line, sizeof(line), "B %u\n", r.asked);
	} else if (r.op == LAYER_CTL_LISTEN) {
		if (r.local == 0)
			abort();
		if (r.to.ss_family == AF_INET) {
			if (r.tolen != sizeof(*sin) ||
			    sin->sin_port != htons(r.local) ||
			    sin->sin_addr.s_addr == htonl(INADDR_ANY))
				abort();
			inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		} else if (r.to.ss_family == AF_INET6) {
			if (r.tolen != sizeof(*sin6) ||
			    sin6->sin6_port != htons(r.local) ||
			    IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
				abort();
			inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		} else
			abort();
		n = snprintf(line, sizeof(line), "L %u %u %s\n", r.local,
		    r.asked, a);
	} else
		abort();
	if (n <= 0 || (size_t)n > LAYER_CTL_LINE_MAX ||
	    layer_ctl_parse(line, (size_t)n, &r2) < 0 || r2.op != r.op ||
	    r2.local != r.local || r2.asked != r.asked ||
	    r2.tolen != r.tolen || memcmp(&r2.to, &r.to, r.tolen) != 0)
		abort();
	return 0;
}
