/*
 * libFuzzer harness for the HTTP filter's wire form as the agent
 * receives it in OP_INCOMING_SUB (lib/httpfilter.c,
 * http_filter_compile): whatever the bytes, compiling never reads past
 * them, refuses what is not one well-formed tree (bounded nodes, depth
 * and regex lengths, no back-reference), and a compiled filter matches
 * a few requests without crashing, the same way twice.
 *
 * FUZZ-SOURCES: lib/httpfilter.c lib/proto.c lib/xmalloc.c lib/log.c
 * FUZZ-FLAGS:
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpfilter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *lines[] = { "x-mirror: me", "host: web",
	    "content-length: 5" };
	static const struct http_filter_req reqs[] = {
		{ "GET", "/", lines, 3 },
		{ "POST", "/api/x?y=1", lines + 1, 2 },
		{ "DELETE", "", NULL, 0 },
	};
	struct http_filter *f;
	uint8_t *copy;
	size_t i;
	int a;

	/* An exact-size copy: ASan sees any read past the end. */
	copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	if (http_filter_compile(copy, size, &f) < 0) {
		if (f != NULL)
			abort();
		free(copy);
		return 0;
	}
	if (size == 0 || size > HTTP_FILTER_WIRE_MAX)
		abort();
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		a = http_filter_match(f, &reqs[i]);
		if ((a != 0 && a != 1) || a != http_filter_match(f, &reqs[i]))
			abort();
	}
	http_filter_unref(http_filter_ref(f));
	http_filter_unref(f);
	free(copy);
	return 0;
}
