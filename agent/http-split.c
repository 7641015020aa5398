/*
 * The HTTP/1.x splitter of a filtered stolen port (see http-split.h).
 * Message boundaries come from pausing http-parser in
 * on_message_complete: http_parser_execute then returns the bytes up to
 * and including the message's last one. The request's head (method,
 * target, "name: value" lines with the name in lower case) is collected
 * in fixed buffers for the filter; what does not fit refuses the
 * request (431).
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "http-split.h"

/* ---- requests ---- */

static int
head_put(struct http_split_req *r, const char *p, size_t n, int lower)
{
	size_t i;

	if (n >= sizeof(r->head) - r->hlen) {
		r->too_big = 1;
		return -1;
	}
	for (i = 0; i < n; i++)
		r->head[r->hlen++] = lower ?
		    (char)tolower((unsigned char)p[i]) : p[i];
	return 0;
}

/* The header line being collected is complete. */
static int
line_end(struct http_split_req *r)
{
	if (r->hlen == r->line_at)
		return 0;
	if (r->nlines >= HTTP_SPLIT_LINES_MAX || r->hlen + 1 >=
	    sizeof(r->head)) {
		r->too_big = 1;
		return -1;
	}
	r->head[r->hlen++] = '\0';
	r->lines[r->nlines++] = r->line_at;
	r->line_at = r->hlen;
	return 0;
}

static int
on_url(http_parser *p, const char *at, size_t n)
{
	struct http_split_req *r = (struct http_split_req *)p;

	if (n >= sizeof(r->target) - r->tlen) {
		r->too_big = 1;
		return -1;
	}
	memcpy(r->target + r->tlen, at, n);
	r->tlen += n;
	r->target[r->tlen] = '\0';
	return 0;
}

static int
on_field(http_parser *p, const char *at, size_t n)
{
	struct http_split_req *r = (struct http_split_req *)p;

	if (r->in_value && line_end(r) < 0)
		return -1;
	r->in_value = 0;
	return head_put(r, at, n, 1);
}

static int
on_value(http_parser *p, const char *at, size_t n)
{
	struct http_split_req *r = (struct http_split_req *)p;

	if (!r->in_value && head_put(r, ": ", 2, 0) < 0)
		return -1;
	r->in_value = 1;
	return head_put(r, at, n, 0);
}

static int
on_req_headers(http_parser *p)
{
	struct http_split_req *r = (struct http_split_req *)p;
	const char *lines[HTTP_SPLIT_LINES_MAX];
	struct http_filter_req fr;
	size_t i;

	if (line_end(r) < 0)
		return -1;
	for (i = 0; i < r->nlines; i++)
		lines[i] = r->head + r->lines[i];
	fr.method = http_method_str((enum http_method)p->method);
	fr.target = r->target;
	fr.lines = lines;
	fr.nlines = r->nlines;
	r->dest = http_filter_match(r->f, &fr) ? HS_LAPTOP : HS_POD;
	return 0;
}

/* Pausing here makes http_parser_execute return at the message's end. */
static int
on_done(http_parser *p)
{
	((struct http_split_msg *)p)->done = 1;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings req_settings = {
	.on_url = on_url,
	.on_header_field = on_field,
	.on_header_value = on_value,
	.on_headers_complete = on_req_headers,
	.on_message_complete = on_done,
};

static void
req_reset(struct http_split_req *r)
{
	r->dest = HS_HOLD;
	r->m.done = 0;
	r->in_value = 0;
	r->tlen = r->hlen = r->line_at = r->nlines = 0;
	r->target[0] = '\0';
}

void
http_split_req_init(struct http_split_req *r, const struct http_filter *f)
{
	http_parser_init(&r->m.p, HTTP_REQUEST);
	r->f = f;
	r->too_big = 0;
	req_reset(r);
}

/* After an execute: the step, or the error. */
static int
step_end(http_parser *p, size_t n, int too_big, int done,
    struct http_split_step *st)
{
	enum http_errno e = HTTP_PARSER_ERRNO(p);

	st->used = n;
	st->done = done;
	if (e == HPE_PAUSED)
		http_parser_pause(p, 0);
	else if (e != HPE_OK) {
		st->err = too_big || e == HPE_HEADER_OVERFLOW ? 431 : 400;
		return -1;
	}
	return 0;
}

int
http_split_req_feed(struct http_split_req *r, const uint8_t *p, size_t len,
    struct http_split_step *st)
{
	size_t n;

	memset(st, 0, sizeof(*st));
	if (r->m.done)
		req_reset(r);
	n = http_parser_execute(&r->m.p, &req_settings, (const char *)p, len);
	if (step_end(&r->m.p, n, r->too_big, r->m.done, st) < 0)
		return -1;
	if (len == 0 && !r->m.done && r->dest != HS_HOLD) {
		st->err = 400;	/* the client's input ended mid-request */
		return -1;
	}
	st->dest = r->dest;
	st->upgrade = r->m.done && r->m.p.upgrade;
	st->head = r->m.p.method == HTTP_HEAD || r->m.p.method == HTTP_CONNECT;
	return 0;
}

/* ---- responses ---- */

static int
on_resp_headers(http_parser *p)
{
	struct http_split_resp *s = (struct http_split_resp *)p;

	return s->head ? 1 : 0;	/* 1: no body follows */
}

static const http_parser_settings resp_settings = {
	.on_headers_complete = on_resp_headers,
	.on_message_complete = on_done,
};

void
http_split_resp_init(struct http_split_resp *s)
{
	http_parser_init(&s->m.p, HTTP_RESPONSE);
	s->head = 0;
	s->m.done = 0;
}

int
http_split_resp_feed(struct http_split_resp *s, int head, const uint8_t *p,
    size_t len, struct http_split_step *st)
{
	size_t n;

	memset(st, 0, sizeof(*st));
	s->m.done = 0;
	s->head = head;
	n = http_parser_execute(&s->m.p, &resp_settings, (const char *)p, len);
	if (step_end(&s->m.p, n, 0, s->m.done, st) < 0)
		return -1;
	st->status = (int)s->m.p.status_code;
	st->upgrade = s->m.done && (s->m.p.upgrade || st->status == 101);
	return 0;
}
