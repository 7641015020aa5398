/*
 * libFuzzer harness for the splitter of a filtered stolen connection
 * (agent/http-split.c over http-parser): the client's bytes (after a
 * first byte that picks a chunk size) are fed in chunks and, again, all
 * at once; each feed must use no more than it was given, every byte
 * must be used until an error or an upgrade, and both runs must cut the
 * same messages and send each to the same side (the filter: the header
 * x-mirror: me, or a path under /api/). The same bytes then go through
 * the response splitter (its HEAD flag from the first byte), which must
 * also stay within what it is given.
 *
 * FUZZ-SOURCES: agent/http-split.c lib/httpfilter.c lib/proto.c lib/xmalloc.c lib/log.c
 * FUZZ-FLAGS: -lhttp_parser
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/http-split.h"
#include "httpfilter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CUTS_MAX	256

struct cut {
	size_t	end;	/* offset after the message's last byte */
	int	dest;
};

/* Feeds p in chunks of step; the messages cut, or -1 at an error.
 * *upgraded: where the HTTP part ended at an upgrade. */
static int
run(struct http_split_req *r, const struct http_filter *f,
    const uint8_t *p, size_t len, size_t step, struct cut *cuts,
    size_t *upgraded)
{
	struct http_split_step st;
	size_t at = 0, n;
	int ncuts = 0, dest = HS_HOLD;

	http_split_req_init(r, f);
	*upgraded = 0;
	while (at < len) {
		n = len - at < step ? len - at : step;
		if (http_split_req_feed(r, p + at, n, &st) < 0)
			return -1;
		if (st.used > n)
			abort();
		if (st.dest != HS_HOLD) {
			if (dest != HS_HOLD && dest != st.dest)
				abort();	/* a message changed sides */
			dest = st.dest;
		}
		at += st.used;
		if (st.done) {
			if (dest == HS_HOLD)
				abort();	/* ended undecided */
			if (ncuts < CUTS_MAX)
				cuts[ncuts++] = (struct cut){ at, dest };
			dest = HS_HOLD;
			if (st.upgrade) {
				*upgraded = at;
				break;
			}
		} else if (st.used != n)
			abort();	/* stopped short without a reason */
	}
	return ncuts;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_split_req *r;
	static struct http_filter *f;
	static struct cut a[CUTS_MAX], b[CUTS_MAX];
	struct http_split_resp resp;
	struct http_split_step st;
	struct http_filter_wire w;
	char err[128];
	size_t step, ua, ub, at;
	uint8_t *p;
	int na, nb;

	if (size < 1 || size > 1 << 20)
		return 0;
	if (f == NULL) {
		memset(&w, 0, sizeof(w));
		if (http_filter_put_group(&w, HF_ANY_OF, 2) < 0 ||
		    http_filter_put_leaf(&w, HF_HEADER, "^x-mirror: me$", err,
		    sizeof(err)) < 0 ||
		    http_filter_put_leaf(&w, HF_PATH, "^/api/", err,
		    sizeof(err)) < 0 ||
		    http_filter_compile(w.buf, w.len, &f) < 0)
			abort();
		r = malloc(sizeof(*r));
	}
	step = (size_t)(data[0] % 64) + 1;
	p = malloc(size - 1 ? size - 1 : 1);
	memcpy(p, data + 1, size - 1);
	na = run(r, f, p, size - 1, step, a, &ua);
	nb = run(r, f, p, size - 1, size, b, &ub);
	/* An error may come earlier or later with other chunks, but the
	 * messages cut before it are the same. */
	if (na >= 0 && nb >= 0 && (na != nb || ua != ub))
		abort();
	for (int i = 0; i < na && i < nb; i++)
		if (a[i].end != b[i].end || a[i].dest != b[i].dest)
			abort();

	http_split_resp_init(&resp);
	for (at = 0; at < size - 1; ) {
		if (http_split_resp_feed(&resp, data[0] & 1, p + at,
		    size - 1 - at, &st) < 0)
			break;
		if (st.used > size - 1 - at)
			abort();
		if (st.used == 0 || st.upgrade)
			break;
		at += st.used;
	}
	free(p);
	return 0;
}
