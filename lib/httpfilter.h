/*
 * The HTTP filter of a stolen port (incoming.http_filter): which
 * requests go to the laptop. A filter is a tree of leaves (a regex on a
 * header line, on the request target, on the method) and groups (all_of,
 * any_of). It travels in OP_INCOMING_SUB as a compact pre-order
 * serialization written here once: the configuration builds it
 * (lib/conf.c), netd sends it, the agent compiles and matches it
 * (agent/http-filter.c).
 *
 * Wire form, one node:
 *   u8 kind HF_HEADER | HF_PATH | HF_METHOD, str regex (u16 length,
 *      1..HTTP_FILTER_RE_MAX bytes, no NUL)
 *   u8 kind HF_ALL_OF | HF_ANY_OF, u8 n (1..HTTP_FILTER_KIDS_MAX), then n
 *      nodes
 * The whole filter is one node, at most HTTP_FILTER_WIRE_MAX bytes,
 * HTTP_FILTER_NODES_MAX nodes and HTTP_FILTER_DEPTH_MAX levels, and
 * nothing after it.
 *
 * Matching: a header leaf matches when its regex (POSIX extended)
 * matches one header line written "name: value" with the name in lower
 * case (names are case-insensitive); a path leaf matches the request
 * target as sent ("/api/x?y=1"); a method leaf must match the whole
 * method ("GET" is "^(GET)$"). Back-references are refused: their
 * matching time is not bounded and header values are the client's; so
 * are repetitions (+, {n,m}) whose copies multiply past a bound.
 */
#ifndef MIRROR_HTTPFILTER_H
#define MIRROR_HTTPFILTER_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_FILTER_WIRE_MAX	4096
#define HTTP_FILTER_NODES_MAX	64
#define HTTP_FILTER_DEPTH_MAX	8
#define HTTP_FILTER_KIDS_MAX	32
#define HTTP_FILTER_RE_MAX	1024

enum http_filter_kind {
	HF_HEADER = 1,
	HF_PATH,
	HF_METHOD,
	HF_ALL_OF,
	HF_ANY_OF
};

/* The wire form being built (configuration). */
struct http_filter_wire {
	uint8_t		buf[HTTP_FILTER_WIRE_MAX];
	size_t		len;
	int		nodes;
	int		err;		/* sticky -E2BIG */
};

/* Appends a leaf; 0, -EINVAL (the regex: a message in err), -E2BIG. */
int	http_filter_put_leaf(struct http_filter_wire *, int kind,
	    const char *re, char *err, size_t errsz);
/* Appends a group's head; its n nodes follow. */
int	http_filter_put_group(struct http_filter_wire *, int kind,
	    unsigned int n);
/* The filter of command-line flags: a header regex, a path regex, or
 * both (all of them); at least one. 0 or -EINVAL with a message in err. */
int	http_filter_from_flags(struct http_filter_wire *, const char *header,
	    const char *path, char *err, size_t errsz);
/* Checks a leaf's regex: 0 or -EINVAL with a message in err. */
int	http_filter_check_re(int kind, const char *re, char *err,
	    size_t errsz);

struct http_filter;

/* Compiles a wire form; 0 or -EINVAL (malformed, a bad regex) with *out
 * NULL. The result is shared: _ref and _unref (the last frees it; may be
 * called from any thread, matching too). */
int	http_filter_compile(const uint8_t *p, size_t len,
	    struct http_filter **out);
struct http_filter *http_filter_ref(struct http_filter *);
void	http_filter_unref(struct http_filter *);

/* One request's head, as the matcher sees it. */
struct http_filter_req {
	const char	*method;
	const char	*target;
	const char	**lines;	/* "name: value", name in lower case */
	size_t		 nlines;
};

/* 1: the request goes to the laptop; 0: to the pod. */
int	http_filter_match(const struct http_filter *,
	    const struct http_filter_req *);

#endif
