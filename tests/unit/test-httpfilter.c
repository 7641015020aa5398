/*
 * Unit tests of the HTTP filter of a stolen port: lib/httpfilter.c (the
 * wire form built (from the configuration's tree and from the flags)
 * and compiled, malformed forms refused, matching of
 * header, path and method leaves and all_of / any_of), agent/http-split.c
 * (pipelined requests cut at their boundaries and each sent to the side
 * the filter picks, chunked and Content-Length bodies, an upgrade, a
 * head too big refused with 431; responses cut with HEAD and 100
 * Continue) and lib/conf.c's incoming.http_filter (its tree, a bad regex
 * refused). Prints TAP.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "http-split.h"
#include "httpfilter.h"
#include "tap.h"

static char err[256];

/* The filter: header x-mirror: me, or (POST and path /api/). */
static struct http_filter *
sample_filter(void)
{
	struct http_filter_wire w;
	struct http_filter *f = NULL;

	memset(&w, 0, sizeof(w));
	if (http_filter_put_group(&w, HF_ANY_OF, 2) < 0 ||
	    http_filter_put_leaf(&w, HF_HEADER, "^x-mirror: me$", err,
	    sizeof(err)) < 0 ||
	    http_filter_put_group(&w, HF_ALL_OF, 2) < 0 ||
	    http_filter_put_leaf(&w, HF_METHOD, "POST", err, sizeof(err)) < 0 ||
	    http_filter_put_leaf(&w, HF_PATH, "^/api/", err, sizeof(err)) < 0 ||
	    http_filter_compile(w.buf, w.len, &f) < 0)
		return NULL;
	return f;
}

static int
match(const struct http_filter *f, const char *method, const char *target,
    const char *line)
{
	const char *lines[1] = { line };
	struct http_filter_req r = { method, target, lines, line ? 1 : 0 };

	return http_filter_match(f, &r);
}

static void
test_matcher(void)
{
	struct http_filter *f = sample_filter();
	struct http_filter_wire w;
	struct http_filter *g;
	static const uint8_t bad_kind[] = { 9, 1, 0, 'a' };
	static const uint8_t short_re[] = { HF_PATH, 5, 0, 'a' };
	static const uint8_t empty_group[] = { HF_ALL_OF, 0 };
	static const uint8_t trailing[] = { HF_PATH, 1, 0, 'a', 0 };
	uint8_t deep[64];
	size_t i;

	ok(f != NULL, "the sample filter compiles");
	if (f == NULL)
		return;
	ok(match(f, "GET", "/", "x-mirror: me"), "the header matches");
	ok(!match(f, "GET", "/", "x-mirror: you"), "another value does not");
	ok(!match(f, "GET", "/", "x-mirror: me too"), "the $ anchors");
	ok(!match(f, "GET", "/api/x", NULL), "GET /api/ is not POST");
	ok(match(f, "POST", "/api/x", NULL), "POST /api/ matches");
	ok(!match(f, "POST", "/web/api/", NULL), "the path's ^ anchors");
	ok(!match(f, "XPOST", "/api/x", NULL) && !match(f, "POSTX", "/api/x",
	    NULL), "the method must match whole");
	http_filter_unref(f);

	ok(http_filter_check_re(HF_HEADER, "(a)\\1", err, sizeof(err)) ==
	    -EINVAL && strstr(err, "back-ref") != NULL,
	    "a back-reference is refused: %s", err);
	ok(http_filter_check_re(HF_PATH, "a+*", err, sizeof(err)) == -EINVAL &&
	    http_filter_check_re(HF_PATH, "(((a+)+)+)+(b+)+(c+)+", err,
	    sizeof(err)) == -EINVAL && http_filter_check_re(HF_PATH,
	    "((a{200}){200})", err, sizeof(err)) == -EINVAL,
	    "stacked and multiplying repetitions are refused: %s", err);
	ok(http_filter_check_re(HF_PATH, "^/api/v[0-9]+/[a-z{}+]+$", err,
	    sizeof(err)) == 0 && http_filter_check_re(HF_PATH, "\\++x{3}",
	    err, sizeof(err)) == 0, "a few repetitions are fine");
	ok(http_filter_check_re(HF_PATH, "([", err, sizeof(err)) == -EINVAL,
	    "a bad regex is refused: %s", err);
	ok(http_filter_check_re(HF_PATH, "", err, sizeof(err)) == -EINVAL,
	    "an empty regex is refused");
	ok(http_filter_compile(bad_kind, sizeof(bad_kind), &g) == -EINVAL &&
	    g == NULL, "an unknown kind is refused");
	ok(http_filter_compile(short_re, sizeof(short_re), &g) == -EINVAL,
	    "a cut regex is refused");
	ok(http_filter_compile(empty_group, sizeof(empty_group), &g) ==
	    -EINVAL, "an empty group is refused");
	ok(http_filter_compile(trailing, sizeof(trailing), &g) == -EINVAL,
	    "a trailing byte is refused");
	for (i = 0; i + 2 <= sizeof(deep); i += 2) {
		deep[i] = HF_ALL_OF;
		deep[i + 1] = 1;
	}
	ok(http_filter_compile(deep, sizeof(deep), &g) == -EINVAL,
	    "nesting past the depth limit is refused");
	memset(&w, 0, sizeof(w));
	for (i = 0; i < HTTP_FILTER_NODES_MAX; i++)
		(void)http_filter_put_leaf(&w, HF_PATH, "x", err, sizeof(err));
	ok(w.err == 0 && http_filter_put_leaf(&w, HF_PATH, "x", err,
	    sizeof(err)) == -E2BIG, "the node limit holds when building");
	ok(http_filter_from_flags(&w, "^x-mirror: me$", "^/api/", err,
	    sizeof(err)) == 0 && http_filter_compile(w.buf, w.len, &g) == 0 &&
	    match(g, "GET", "/api/1", "x-mirror: me") &&
	    !match(g, "GET", "/api/1", NULL) &&
	    !match(g, "GET", "/", "x-mirror: me"),
	    "the flags' filter: header and path, all of them");
	http_filter_unref(g);
	ok(http_filter_from_flags(&w, NULL, "(", err, sizeof(err)) == -EINVAL,
	    "a flag's bad regex is refused: %s", err);
}

/* Feeds text to a request splitter in chunks of step bytes; the side
 * of each request in dests, its bytes in out[side]. Returns the number
 * of requests, or -status. */
static int
split(const struct http_filter *f, const char *text, size_t step,
    int *dests, char out[3][4096])
{
	struct http_split_req *r = malloc(sizeof(*r));
	struct http_split_step st;
	static char held[2 * HTTP_SPLIT_HEAD_MAX];
	size_t len = strlen(text), at = 0, n, hl = 0;
	int nreq = 0, queued = 0, rc = 0;

	http_split_req_init(r, f);
	memset(out, 0, 3 * 4096);
	while (at < len) {
		n = len - at < step ? len - at : step;
		if (http_split_req_feed(r, (const uint8_t *)text + at, n,
		    &st) < 0) {
			rc = -st.err;
			goto out;
		}
		if (st.dest == HS_HOLD) {
			memcpy(held + hl, text + at, st.used);
			hl += st.used;
		} else {
			if (!queued) {
				dests[nreq] = st.dest;
				queued = 1;
				if (hl < 4096)
					strncat(out[st.dest], held, hl);
				hl = 0;
			}
			strncat(out[st.dest], text + at, st.used);
		}
		at += st.used;
		if (st.done) {
			nreq++;
			queued = 0;
			if (st.upgrade && strcmp(text + at, "RAW") == 0)
				break;	/* the rest is the pipe's */
		}
	}
	rc = nreq;
out:
	free(r);
	return rc;
}

static void
test_split(void)
{
	static const char pipelined[] =
	    "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
	    "POST /b HTTP/1.1\r\nX-Mirror: me\r\nContent-Length: 5\r\n\r\nhello"
	    "POST /api/c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3\r\nabc\r\n0\r\n\r\n"
	    "GET /d HTTP/1.1\r\n\r\n";
	struct http_filter *f = sample_filter();
	char out[3][4096];
	int dests[8], n;
	size_t steps[] = { 1, 7, 4096 }, i;
	char *big;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		n = split(f, pipelined, steps[i], dests, out);
		ok(n == 4 && dests[0] == HS_POD && dests[1] == HS_LAPTOP &&
		    dests[2] == HS_LAPTOP && dests[3] == HS_POD,
		    "4 pipelined requests, pod laptop laptop pod (chunks of "
		    "%zu)", steps[i]);
		ok(strcmp(out[HS_POD], "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
		    "GET /d HTTP/1.1\r\n\r\n") == 0 &&
		    strstr(out[HS_LAPTOP], "hello") != NULL &&
		    strstr(out[HS_LAPTOP], "0\r\n\r\n") != NULL &&
		    strlen(out[HS_POD]) + strlen(out[HS_LAPTOP]) ==
		    strlen(pipelined), "every byte goes to its side, once");
	}
	n = split(f, "GET /ws HTTP/1.1\r\nX-Mirror: me\r\nConnection: "
	    "Upgrade\r\nUpgrade: websocket\r\n\r\nRAW", 4096, dests, out);
	ok(n == 1 && dests[0] == HS_LAPTOP, "an upgrade request ends the "
	    "HTTP part (the rest is the caller's to pipe)");
	big = malloc(HTTP_SPLIT_HEAD_MAX + 64);
	snprintf(big, HTTP_SPLIT_HEAD_MAX + 64, "GET / HTTP/1.1\r\nX-A: %0*d"
	    "\r\n\r\n", HTTP_SPLIT_HEAD_MAX, 0);
	ok(split(f, big, 4096, dests, out) == -431, "a head too big is 431");
	free(big);
	ok(split(f, "BLAH\r\n\r\n", 4096, dests, out) == -400,
	    "garbage is 400");
	http_filter_unref(f);
}

static void
test_responses(void)
{
	static const char ans[] = "HTTP/1.1 100 Continue\r\n\r\n"
	    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
	    "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"
	    "HTTP/1.1 204 No Content\r\n\r\n";
	struct http_split_resp s;
	struct http_split_step st;
	size_t at = 0, len = strlen(ans);
	int status[4], heads[4] = { 0, 1, 0, 0 }, n = 0, finals = 0;

	http_split_resp_init(&s);
	while (at < len && n < 4) {
		if (http_split_resp_feed(&s, heads[finals], (const uint8_t *)
		    ans + at, len - at, &st) < 0)
			break;
		at += st.used;
		if (st.done) {
			status[n++] = st.status;
			if (st.status >= 200)
				finals++;
		}
	}
	ok(n == 4 && at == len && status[0] == 100 && status[1] == 200 &&
	    status[2] == 200 && status[3] == 204, "responses cut: 100, 200, "
	    "a HEAD's 200 without its body, 204");
}

static void
test_conf(void)
{
	char path[] = "/tmp/mirror-test-httpfilter.XXXXXX";
	struct mirror_conf *c = malloc(sizeof(*c));
	struct http_filter *f;
	FILE *fp;
	int fd;

	if ((fd = mkstemp(path)) < 0 || (fp = fdopen(fd, "w")) == NULL)
		exit(1);
	fputs("incoming: {\n  http_filter = { any_of = (\n"
	    "    { header = \"^x-mirror: me$\"; },\n"
	    "    { method = \"POST\"; path = \"^/api/\"; } ); };\n};\n", fp);
	fclose(fp);
	conf_defaults(c);
	ok(conf_load(c, path) == 0 && c->incoming_filter_len > 0 &&
	    c->incoming_mode == CONF_IN_STEAL, "incoming.http_filter loads "
	    "and implies steal");
	ok(http_filter_compile(c->incoming_filter, c->incoming_filter_len,
	    &f) == 0 && match(f, "GET", "/", "x-mirror: me") &&
	    match(f, "POST", "/api/1", NULL) && !match(f, "GET", "/api/1",
	    NULL), "the loaded filter is the tree written");
	http_filter_unref(f);
	fp = fopen(path, "w");
	fputs("incoming: {\n  http_filter = {\n    path = \"([\";\n  };\n};\n",
	    fp);
	fclose(fp);
	conf_defaults(c);
	ok(conf_load(c, path) == -EINVAL, "a bad regex fails the load");
	fp = fopen(path, "w");
	fputs("incoming: { mode = \"mirror\"; http_filter = { path = \"/\"; "
	    "}; };\n", fp);
	fclose(fp);
	conf_defaults(c);
	ok(conf_load(c, path) == -EINVAL, "a filter with mirror mode fails");
	unlink(path);
	free(c);
}

int
main(void)
{
	test_matcher();
	test_split();
	test_responses();
	test_conf();
	return done_testing();
}
