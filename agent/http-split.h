/*
 * The HTTP/1.x message splitter of a filtered stolen port
 * (agent/http-filter.c): it cuts a client's byte stream into requests
 * and decides each one's side with the port's filter, and cuts a side's
 * byte stream into responses, so that answers go back in request order.
 * http-parser does the parsing; this keeps the bounds (a request head is
 * at most HTTP_SPLIT_HEAD_MAX bytes and HTTP_SPLIT_LINES_MAX lines) and
 * the message boundaries. No I/O here: it is fuzzed as it is.
 */
#ifndef MIRROR_AGENT_HTTP_SPLIT_H
#define MIRROR_AGENT_HTTP_SPLIT_H

#include <http_parser.h>
#include <stddef.h>
#include <stdint.h>

#include "httpfilter.h"

#define HTTP_SPLIT_HEAD_MAX	65536
#define HTTP_SPLIT_LINES_MAX	256

/* Where a request's bytes go. */
enum { HS_HOLD = 0, HS_POD = 1, HS_LAPTOP = 2 };

/* What one feed did: bytes [0, used) of the input belong to the current
 * message; dest says where they go (HS_HOLD: the head is not complete,
 * keep them until a later step decides). done: the message ended with
 * the last of them; the next feed starts a new one. */
struct http_split_step {
	size_t		 used;
	int		 dest;
	int		 done;
	int		 upgrade;	/* done, and the rest is not HTTP */
	int		 head;		/* a HEAD request (its answer has no body) */
	int		 status;	/* responses: the status code */
	int		 err;		/* 431, 400: the input is refused */
};

/* What both directions share; first in each (http-split.c's callbacks
 * get the parser, the first member of both). */
struct http_split_msg {
	http_parser	 p;
	int		 done;		/* the message ended */
};

/* The client's requests. f is borrowed. */
struct http_split_req {
	struct http_split_msg m;
	const struct http_filter *f;
	int		 dest;
	int		 too_big;
	int		 in_value;
	size_t		 tlen;
	size_t		 hlen;
	size_t		 line_at;
	size_t		 nlines;
	char		 target[HTTP_SPLIT_HEAD_MAX];
	char		 head[HTTP_SPLIT_HEAD_MAX];
	size_t		 lines[HTTP_SPLIT_LINES_MAX];
};

void	http_split_req_init(struct http_split_req *,
	    const struct http_filter *);
/* Feeds len bytes (len 0: the client's end of input). Returns 0, or -1
 * with step->err set (the connection is to be closed). */
int	http_split_req_feed(struct http_split_req *, const uint8_t *p,
	    size_t len, struct http_split_step *step);

/* A side's responses. */
struct http_split_resp {
	struct http_split_msg m;
	int		 head;		/* the current request was HEAD */
};

void	http_split_resp_init(struct http_split_resp *);
/* As http_split_req_feed (dest is unused); head: the request this
 * response answers was a HEAD or a CONNECT (no body follows). len 0: the
 * side's end of input (completes a body read up to EOF). */
int	http_split_resp_feed(struct http_split_resp *, int head,
	    const uint8_t *p, size_t len, struct http_split_step *step);

#endif
