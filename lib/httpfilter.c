/*
 * The HTTP filter of a stolen port (see httpfilter.h): its wire form,
 * built by the configuration and compiled by the agent, and the matcher
 * the agent runs on each request's head. POSIX regexes (regcomp), one
 * compiled tree shared by a port's connection threads.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpfilter.h"
#include "proto.h"
#include "xmalloc.h"

struct hf_node {
	int		 kind;
	int		 has_re;
	regex_t		 re;
	int		 first;		/* first child, -1: none */
	int		 next;		/* next sibling, -1: none */
};

struct http_filter {
	atomic_int	 refs;
	int		 n;
	struct hf_node	 nodes[HTTP_FILTER_NODES_MAX];
};

static int
leaf_kind(int kind)
{
	return kind == HF_HEADER || kind == HF_PATH || kind == HF_METHOD;
}

/* A back-reference (\1..\9) makes matching time unbounded. */
static int
has_backref(const char *re)
{
	const char *p;

	for (p = re; *p != '\0'; p++)
		if (*p == '\\') {
			if (p[1] >= '1' && p[1] <= '9')
				return 1;
			if (p[1] != '\0')
				p++;
		}
	return 0;
}

/* glibc compiles "x+" as "xx*" and "x{n,m}" as m copies of x: nested
 * repetitions multiply the compiled size (and time), and stacked ones
 * ("x+*+") its epsilon closures. A repetition right after another is
 * refused, and the product of every repetition's copies, an upper bound
 * whatever the nesting, is kept under HTTP_FILTER_COPIES_MAX. */
#define HTTP_FILTER_COPIES_MAX	64

static int
too_many_copies(const char *re)
{
	unsigned long prod = 1, n, m;
	const char *p = re;
	int quant = 0, q;
	char *end;

	while (*p != '\0') {
		if (*p == '\\') {
			p += p[1] != '\0' ? 2 : 1;
			quant = 0;
			continue;
		}
		if (*p == '[') {	/* a bracket expression: no operators */
			p++;
			if (*p == '^')
				p++;
			if (*p == ']')
				p++;
			while (*p != '\0' && *p != ']')
				p++;
			if (*p == ']')
				p++;
			quant = 0;
			continue;
		}
		q = *p == '+' || *p == '*' || *p == '?' || *p == '{';
		if (q && quant)
			return 1;
		if (*p == '+')
			prod *= 2;
		else if (*p == '{') {
			n = strtoul(p + 1, &end, 10);
			m = *end == ',' ? strtoul(end + 1, &end, 10) : n;
			prod *= (m > n ? m : n) + 1;
			if (*end == '}')
				p = end;	/* the interval is one token */
		}
		if (prod > HTTP_FILTER_COPIES_MAX)
			return 1;
		quant = q;
		p++;
	}
	return 0;
}

static int
re_compile(int kind, const char *re, regex_t *out, char *err, size_t errsz)
{
	char buf[HTTP_FILTER_RE_MAX + 8];
	int rc;

	if (re[0] == '\0' || strlen(re) > HTTP_FILTER_RE_MAX) {
		snprintf(err, errsz, "a regex must have 1 to %d characters",
		    HTTP_FILTER_RE_MAX);
		return -EINVAL;
	}
	if (has_backref(re)) {
		snprintf(err, errsz, "back-references are not allowed");
		return -EINVAL;
	}
	if (too_many_copies(re)) {
		snprintf(err, errsz, "too many repetitions (+ and {n,m}, "
		    "multiplied, at most %d)", HTTP_FILTER_COPIES_MAX);
		return -EINVAL;
	}
	if (kind == HF_METHOD) {
		snprintf(buf, sizeof(buf), "^(%s)$", re);
		re = buf;
	}
	if ((rc = regcomp(out, re, REG_EXTENDED | REG_NOSUB)) != 0) {
		regerror(rc, out, err, errsz);
		return -EINVAL;
	}
	return 0;
}

int
http_filter_check_re(int kind, const char *re, char *err, size_t errsz)
{
	regex_t r;
	int rc;

	if (!leaf_kind(kind)) {
		snprintf(err, errsz, "not a header, path or method");
		return -EINVAL;
	}
	if ((rc = re_compile(kind, re, &r, err, errsz)) == 0)
		regfree(&r);
	return rc;
}

/* ---- the wire form ---- */

static void
wire_put(struct http_filter_wire *w, const void *p, size_t n)
{
	if (w->err == 0 && n > sizeof(w->buf) - w->len)
		w->err = -E2BIG;
	if (w->err != 0)
		return;
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static int
wire_node(struct http_filter_wire *w)
{
	if (w->err == 0 && ++w->nodes > HTTP_FILTER_NODES_MAX)
		w->err = -E2BIG;
	return w->err;
}

int
http_filter_put_leaf(struct http_filter_wire *w, int kind, const char *re,
    char *err, size_t errsz)
{
	uint8_t h[3];
	size_t n = strlen(re);
	int rc;

	if ((rc = http_filter_check_re(kind, re, err, errsz)) < 0)
		return rc;
	if (wire_node(w) < 0)
		return w->err;
	h[0] = (uint8_t)kind;
	h[1] = (uint8_t)(n & 0xff);
	h[2] = (uint8_t)(n >> 8);
	wire_put(w, h, sizeof(h));
	wire_put(w, re, n);
	return w->err;
}

int
http_filter_put_group(struct http_filter_wire *w, int kind, unsigned int n)
{
	uint8_t h[2];

	if ((kind != HF_ALL_OF && kind != HF_ANY_OF) || n == 0 ||
	    n > HTTP_FILTER_KIDS_MAX)
		return -EINVAL;
	if (wire_node(w) < 0)
		return w->err;
	h[0] = (uint8_t)kind;
	h[1] = (uint8_t)n;
	wire_put(w, h, sizeof(h));
	return w->err;
}

int
http_filter_from_flags(struct http_filter_wire *w, const char *header,
    const char *path, char *err, size_t errsz)
{
	int rc;

	memset(w, 0, sizeof(*w));
	if (header == NULL && path == NULL) {
		snprintf(err, errsz, "no header or path regex");
		return -EINVAL;
	}
	if (header != NULL && path != NULL &&
	    (rc = http_filter_put_group(w, HF_ALL_OF, 2)) < 0)
		return rc;
	if (header != NULL && (rc = http_filter_put_leaf(w, HF_HEADER,
	    header, err, errsz)) < 0)
		return rc;
	if (path != NULL && (rc = http_filter_put_leaf(w, HF_PATH, path, err,
	    errsz)) < 0)
		return rc;
	return 0;
}

/* ---- compiling ---- */

static void
filter_free(struct http_filter *f)
{
	int i;

	for (i = 0; i < f->n; i++)
		if (f->nodes[i].has_re)
			regfree(&f->nodes[i].re);
	x_free(f);
}

/* One node at c (depth levels deep); its index, or -EINVAL. */
static int
decode_node(struct http_filter *f, struct proto_cur *c, int depth)
{
	char re[HTTP_FILTER_RE_MAX + 1], err[128];
	struct hf_node *nd;
	uint8_t kind, n;
	int idx, kid, prev, i;

	if (depth > HTTP_FILTER_DEPTH_MAX || f->n >= HTTP_FILTER_NODES_MAX ||
	    proto_get_u8(c, &kind) < 0)
		return -EINVAL;
	idx = f->n++;
	nd = &f->nodes[idx];
	nd->kind = kind;
	nd->first = nd->next = -1;
	if (leaf_kind(kind)) {
		if (proto_get_str(c, re, sizeof(re)) < 0 ||
		    re_compile(kind, re, &nd->re, err, sizeof(err)) < 0)
			return -EINVAL;
		nd->has_re = 1;
		return idx;
	}
	if ((kind != HF_ALL_OF && kind != HF_ANY_OF) ||
	    proto_get_u8(c, &n) < 0 || n == 0 || n > HTTP_FILTER_KIDS_MAX)
		return -EINVAL;
	for (i = 0, prev = -1; i < n; i++) {
		if ((kid = decode_node(f, c, depth + 1)) < 0)
			return kid;
		if (prev < 0)
			f->nodes[idx].first = kid;
		else
			f->nodes[prev].next = kid;
		prev = kid;
	}
	return idx;
}

int
http_filter_compile(const uint8_t *p, size_t len, struct http_filter **out)
{
	struct proto_cur c = { p, len };
	struct http_filter *f;

	*out = NULL;
	if (len == 0 || len > HTTP_FILTER_WIRE_MAX)
		return -EINVAL;
	f = xcalloc(1, sizeof(*f));
	atomic_init(&f->refs, 1);
	if (decode_node(f, &c, 1) < 0 || proto_end(&c) < 0) {
		filter_free(f);
		return -EINVAL;
	}
	*out = f;
	return 0;
}

struct http_filter *
http_filter_ref(struct http_filter *f)
{
	atomic_fetch_add(&f->refs, 1);
	return f;
}

void
http_filter_unref(struct http_filter *f)
{
	if (f != NULL && atomic_fetch_sub(&f->refs, 1) == 1)
		filter_free(f);
}

/* ---- matching ---- */

static int
node_match(const struct http_filter *f, int idx,
    const struct http_filter_req *r)
{
	const struct hf_node *nd = &f->nodes[idx];
	size_t i;
	int k;

	switch (nd->kind) {
	case HF_HEADER:
		for (i = 0; i < r->nlines; i++)
			if (regexec(&nd->re, r->lines[i], 0, NULL, 0) == 0)
				return 1;
		return 0;
	case HF_PATH:
		return regexec(&nd->re, r->target, 0, NULL, 0) == 0;
	case HF_METHOD:
		return regexec(&nd->re, r->method, 0, NULL, 0) == 0;
	case HF_ALL_OF:
		for (k = nd->first; k >= 0; k = f->nodes[k].next)
			if (!node_match(f, k, r))
				return 0;
		return 1;
	default:	/* HF_ANY_OF */
		for (k = nd->first; k >= 0; k = f->nodes[k].next)
			if (node_match(f, k, r))
				return 1;
		return 0;
	}
}

int
http_filter_match(const struct http_filter *f,
    const struct http_filter_req *r)
{
	return node_match(f, 0, r);
}
