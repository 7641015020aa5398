/*
 * The h2c proxy of a filtered stolen connection (see http2-filter.h).
 * Three peers, each an nghttp2 session over one fd: the client (a
 * server session), the pod and the laptop (client sessions, made on
 * their first stream). A stream pairs the client's stream id with the
 * id its side gave it. Bodies are relayed through a buffer per stream
 * and direction that the flow control bounds: automatic WINDOW_UPDATEs
 * are off, and bytes are consumed on the receiving session only once
 * the other session has taken them, so a peer that does not read stops
 * its counterpart by the window. Headers are bounded in bytes and
 * fields (over: that stream is reset); nghttp2 bounds the rest (flood
 * of control frames, stream count past our SETTINGS). One poll loop on
 * the three fds; a session's frames (mem_send) are gathered into one
 * write, what the socket does not take kept for the next POLLOUT.
 */
#include "config.h"

#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http-filter.h"
#include "http2-filter.h"
#include "log.h"
#include "xmalloc.h"

#define H2F_READ	65536
#define H2F_OUT		32768		/* one write */
#define H2F_WINDOW	(256 * 1024)	/* a stream's receive window */
#define H2F_CONN_WINDOW	(1024 * 1024)	/* a session's */
#define H2F_BODY_MAX	(H2F_CONN_WINDOW + 65536)

enum { P_POD = 0, P_LAPTOP = 1, P_CLIENT = 2 };

struct h2conn;

struct h2peer {
	struct h2conn	*h;
	int		 side;
	int		 fd;
	int		 dead;		/* to be closed by the loop */
	int		 gone;		/* the laptop's: cannot come back */
	nghttp2_session	*s;
	const uint8_t	*pend;		/* mem_send's bytes not yet in ob */
	size_t		 npend;
	size_t		 olen;		/* ob's bytes not yet written */
	uint8_t		 ob[H2F_OUT];
};

/* A header block: fields "name: value" NUL-ended in b. */
struct h2head {
	char		*b;
	size_t		 len;
	size_t		 n;
	int		 over;
	struct {
		uint32_t off, nlen, vlen;
	} f[H2F_FIELDS_MAX];
};

/* One direction of a stream: its body and its end. */
struct h2dir {
	uint8_t		*d;
	size_t		 off, len, cap;
	int		 eof;
	int		 trailers;	/* eof came with trailers (in head) */
	struct h2head	 head;
};

struct h2stream {
	struct h2stream	*next;
	int32_t		 cid;		/* the client's id */
	int32_t		 uid;		/* its side's id; 0: not sent */
	int		 side;
	int		 cclosed;
	int		 uclosed;
	struct h2dir	 req;		/* client to side */
	struct h2dir	 resp;		/* side to client */
};

struct h2conn {
	struct h2peer	 p[3];
	struct h2stream	*streams;
	size_t		 nstreams;
	const struct http_filter *f;
	struct sockaddr_in orig;
	uint32_t	 mark;
	nghttp2_session_callbacks *cb;
	nghttp2_option	*opt;
	uint8_t		 rbuf[H2F_READ];
};

static void
head_reset(struct h2head *hd)
{
	hd->len = hd->n = 0;
	hd->over = 0;
}

static int
head_add(struct h2head *hd, const uint8_t *name, size_t nlen,
    const uint8_t *value, size_t vlen)
{
	size_t need = nlen + vlen + 3;

	if (hd->over || hd->n >= H2F_FIELDS_MAX ||
	    need > H2F_HEAD_MAX - hd->len) {
		hd->over = 1;
		return -1;
	}
	if (hd->b == NULL)
		hd->b = xmalloc(H2F_HEAD_MAX);
	hd->f[hd->n].off = (uint32_t)hd->len;
	hd->f[hd->n].nlen = (uint32_t)nlen;
	hd->f[hd->n].vlen = (uint32_t)vlen;
	memcpy(hd->b + hd->len, name, nlen);
	memcpy(hd->b + hd->len + nlen, ": ", 2);
	memcpy(hd->b + hd->len + nlen + 2, value, vlen);
	hd->b[hd->len + need - 1] = '\0';
	hd->len += need;
	hd->n++;
	return 0;
}

/* The block as nghttp2 takes it (it copies on submit). */
static size_t
head_nva(const struct h2head *hd, nghttp2_nv *nva)
{
	size_t i;

	for (i = 0; i < hd->n; i++) {
		nva[i].name = (uint8_t *)hd->b + hd->f[i].off;
		nva[i].namelen = hd->f[i].nlen;
		nva[i].value = nva[i].name + hd->f[i].nlen + 2;
		nva[i].valuelen = hd->f[i].vlen;
		nva[i].flags = NGHTTP2_NV_FLAG_NONE;
	}
	return hd->n;
}

/* The value of the pseudo-header name (":path"), or NULL. */
static const char *
head_get(const struct h2head *hd, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < hd->n; i++)
		if (hd->f[i].nlen == n &&
		    memcmp(hd->b + hd->f[i].off, name, n) == 0)
			return hd->b + hd->f[i].off + n + 2;
	return NULL;
}

static int
dir_put(struct h2dir *d, const uint8_t *p, size_t n)
{
	size_t cap;

	if (n > H2F_BODY_MAX - d->len)
		return -1;
	if (d->off > 0 && d->off + d->len + n > d->cap) {
		memmove(d->d, d->d + d->off, d->len);
		d->off = 0;
	}
	if (d->len + n > d->cap) {
		for (cap = d->cap ? d->cap : 16384; cap < d->len + n; )
			cap *= 2;
		d->cap = cap;
		d->d = xrealloc(d->d, cap);
	}
	memcpy(d->d + d->off + d->len, p, n);
	d->len += n;
	return 0;
}

static void
dir_free(struct h2dir *d)
{
	x_free(d->d);
	x_free(d->head.b);
}

/* Freed once neither session knows it. */
static void
stream_maybe_free(struct h2conn *h, struct h2stream *st)
{
	struct h2stream **pp;

	if (!st->cclosed || (st->uid > 0 && !st->uclosed))
		return;
	for (pp = &h->streams; *pp != st; pp = &(*pp)->next)
		;
	*pp = st->next;
	h->nstreams--;
	dir_free(&st->req);
	dir_free(&st->resp);
	x_free(st);
}

static nghttp2_session *
side_session(struct h2conn *h, const struct h2stream *st)
{
	return h->p[st->side].s;
}

/* Body bytes of a stream toward session s (the client's: the response;
 * a side's: the request), consumed on the session they came from. */
static ssize_t
body_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
    uint32_t *flags, nghttp2_data_source *src, void *ud)
{
	struct h2peer *p = ud;
	struct h2conn *h = p->h;
	struct h2stream *st = src->ptr;
	int to_client = p->side == P_CLIENT;
	struct h2dir *d = to_client ? &st->resp : &st->req;
	nghttp2_nv nva[H2F_FIELDS_MAX];
	size_t n = len < d->len ? len : d->len;

	if (n > 0) {
		memcpy(buf, d->d + d->off, n);
		d->off += n;
		d->len -= n;
		if (d->len == 0)
			d->off = 0;
		if (to_client && side_session(h, st) != NULL && !st->uclosed)
			(void)nghttp2_session_consume(side_session(h, st),
			    st->uid, n);
		else if (!to_client && !st->cclosed)
			(void)nghttp2_session_consume(h->p[P_CLIENT].s,
			    st->cid, n);
	}
	if (d->len == 0 && d->eof) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		if (d->trailers && nghttp2_submit_trailer(s, id, nva,
		    head_nva(&d->head, nva)) == 0)
			*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
	} else if (n == 0)
		return NGHTTP2_ERR_DEFERRED;
	return (ssize_t)n;
}

static int peer_open(struct h2conn *, int);

/* The client's request is complete: to the side the filter picks. */
static void
route(struct h2conn *h, struct h2stream *st)
{
	const char *lines[H2F_FIELDS_MAX + 1];
	char *host = NULL;
	nghttp2_nv nva[H2F_FIELDS_MAX];
	nghttp2_data_provider prd = { .source.ptr = st,
	    .read_callback = body_read };
	struct h2head *hd = &st->req.head;
	struct http_filter_req fr = { .lines = lines };
	struct h2peer *p;
	const char *auth;
	int32_t id;
	size_t i;

	fr.method = head_get(hd, ":method");
	fr.target = head_get(hd, ":path");
	if (fr.method == NULL)
		goto refuse;
	if (fr.target == NULL)
		fr.target = "";
	/* The matcher's lines are HTTP/1's: :authority is its host. */
	for (i = 0; i < hd->n; i++)
		if (hd->b[hd->f[i].off] != ':')
			lines[fr.nlines++] = hd->b + hd->f[i].off;
	if (head_get(hd, "host") == NULL &&
	    (auth = head_get(hd, ":authority")) != NULL) {
		host = xmalloc(strlen(auth) + sizeof("host: "));
		memcpy(host, "host: ", 6);
		strcpy(host + 6, auth);
		lines[fr.nlines++] = host;
	}
	st->side = http_filter_match(h->f, &fr) ? P_LAPTOP : P_POD;
	x_free(host);
	p = &h->p[st->side];
	/* A side is reached on its first stream. */
	if (p->s == NULL && peer_open(h, st->side) < 0)
		goto refuse;
	if (p->dead)
		goto refuse;
	id = nghttp2_submit_request(p->s, NULL, nva, head_nva(hd, nva),
	    st->req.eof ? NULL : &prd, st);
	if (id < 0)
		goto refuse;
	st->uid = id;
	head_reset(hd);
	return;
refuse:
	(void)nghttp2_submit_rst_stream(h->p[P_CLIENT].s, NGHTTP2_FLAG_NONE,
	    st->cid, NGHTTP2_REFUSED_STREAM);
}

static int
on_begin_headers(nghttp2_session *s, const nghttp2_frame *fr, void *ud)
{
	struct h2peer *p = ud;
	struct h2conn *h = p->h;
	struct h2stream *st;

	if (fr->hd.type != NGHTTP2_HEADERS)
		return 0;
	st = nghttp2_session_get_stream_user_data(s, fr->hd.stream_id);
	if (p->side != P_CLIENT) {
		if (st != NULL)
			head_reset(&st->resp.head);
		return 0;
	}
	if (st != NULL) {	/* the request's trailers */
		head_reset(&st->req.head);
		return 0;
	}
	if (fr->headers.cat != NGHTTP2_HCAT_REQUEST ||
	    h->nstreams >= H2F_STREAMS_MAX)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	st = xcalloc(1, sizeof(*st));
	st->cid = fr->hd.stream_id;
	st->next = h->streams;
	h->streams = st;
	h->nstreams++;
	if (nghttp2_session_set_stream_user_data(s, st->cid, st) != 0) {
		st->cclosed = 1;
		stream_maybe_free(h, st);
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	return 0;
}

static int
on_header(nghttp2_session *s, const nghttp2_frame *fr, const uint8_t *name,
    size_t nlen, const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
	struct h2peer *p = ud;
	struct h2stream *st;

	(void)flags;
	st = nghttp2_session_get_stream_user_data(s, fr->hd.stream_id);
	if (st == NULL)
		return 0;
	if (head_add(p->side == P_CLIENT ? &st->req.head : &st->resp.head,
	    name, nlen, value, vlen) < 0)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	return 0;
}

/* A header block from a side: the response (1xx: informational), or
 * its trailers. */
static void
side_headers(struct h2conn *h, struct h2stream *st, const nghttp2_frame *fr)
{
	nghttp2_nv nva[H2F_FIELDS_MAX];
	nghttp2_data_provider prd = { .source.ptr = st,
	    .read_callback = body_read };
	nghttp2_session *cs = h->p[P_CLIENT].s;
	const char *status;
	int eos = fr->hd.flags & NGHTTP2_FLAG_END_STREAM;

	if (st->cclosed)
		return;
	if (fr->headers.cat == NGHTTP2_HCAT_HEADERS) {
		if (eos) {
			st->resp.eof = st->resp.trailers = 1;
			(void)nghttp2_session_resume_data(cs, st->cid);
		}
		return;
	}
	status = head_get(&st->resp.head, ":status");
	if (status != NULL && status[0] == '1')
		(void)nghttp2_submit_headers(cs, NGHTTP2_FLAG_NONE, st->cid,
		    NULL, nva, head_nva(&st->resp.head, nva), NULL);
	else {
		st->resp.eof = eos != 0;
		if (nghttp2_submit_response(cs, st->cid, nva,
		    head_nva(&st->resp.head, nva), eos ? NULL : &prd) != 0)
			(void)nghttp2_submit_rst_stream(cs, NGHTTP2_FLAG_NONE,
			    st->cid, NGHTTP2_INTERNAL_ERROR);
	}
	head_reset(&st->resp.head);
}

static int
on_frame_recv(nghttp2_session *s, const nghttp2_frame *fr, void *ud)
{
	struct h2peer *p = ud;
	struct h2conn *h = p->h;
	struct h2stream *st;
	int eos = fr->hd.flags & NGHTTP2_FLAG_END_STREAM;

	if (fr->hd.type != NGHTTP2_HEADERS && fr->hd.type != NGHTTP2_DATA)
		return 0;
	st = nghttp2_session_get_stream_user_data(s, fr->hd.stream_id);
	if (st == NULL)
		return 0;
	if (p->side != P_CLIENT) {
		if (fr->hd.type == NGHTTP2_HEADERS)
			side_headers(h, st, fr);
		else if (eos && !st->cclosed) {
			st->resp.eof = 1;
			(void)nghttp2_session_resume_data(h->p[P_CLIENT].s,
			    st->cid);
		}
		return 0;
	}
	if (eos) {
		st->req.eof = 1;
		st->req.trailers = fr->hd.type == NGHTTP2_HEADERS &&
		    fr->headers.cat == NGHTTP2_HCAT_HEADERS;
	}
	if (fr->hd.type == NGHTTP2_HEADERS &&
	    fr->headers.cat == NGHTTP2_HCAT_REQUEST) {
		route(h, st);
	} else if (eos && st->uid > 0 && !st->uclosed)
		(void)nghttp2_session_resume_data(side_session(h, st),
		    st->uid);
	return 0;
}

static int
on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id,
    const uint8_t *data, size_t len, void *ud)
{
	struct h2peer *p = ud;
	struct h2conn *h = p->h;
	struct h2stream *st;
	int gone;

	(void)flags;
	st = nghttp2_session_get_stream_user_data(s, id);
	if (st == NULL)
		return 0;
	gone = p->side == P_CLIENT ? st->uid == 0 || st->uclosed : st->cclosed;
	if (gone) {	/* nobody to take them: let the window move */
		(void)nghttp2_session_consume(s, id, len);
		return 0;
	}
	if (dir_put(p->side == P_CLIENT ? &st->req : &st->resp, data, len) < 0)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (p->side == P_CLIENT)
		(void)nghttp2_session_resume_data(side_session(h, st), st->uid);
	else
		(void)nghttp2_session_resume_data(h->p[P_CLIENT].s, st->cid);
	return 0;
}

static int
on_stream_close(nghttp2_session *s, int32_t id, uint32_t err, void *ud)
{
	struct h2peer *p = ud;
	struct h2conn *h = p->h;
	struct h2stream *st;

	st = nghttp2_session_get_stream_user_data(s, id);
	if (st == NULL)
		return 0;
	if (p->side == P_CLIENT) {
		st->cclosed = 1;
		if (st->uid > 0 && !st->uclosed)
			(void)nghttp2_submit_rst_stream(side_session(h, st),
			    NGHTTP2_FLAG_NONE, st->uid,
			    err ? err : NGHTTP2_CANCEL);
	} else {
		st->uclosed = 1;
		/* Cut short: the client is told so. */
		if (!st->cclosed && (err || !st->resp.eof))
			(void)nghttp2_submit_rst_stream(h->p[P_CLIENT].s,
			    NGHTTP2_FLAG_NONE, st->cid,
			    err ? err : NGHTTP2_INTERNAL_ERROR);
	}
	stream_maybe_free(h, st);
	return 0;
}

static int
session_new(struct h2conn *h, struct h2peer *p)
{
	nghttp2_settings_entry set[] = {
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2F_WINDOW },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, H2F_HEAD_MAX },
		/* The client is told how many streams it may open; the
		 * sides push nothing. */
		p->side == P_CLIENT ?
		    (nghttp2_settings_entry){
			NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100 } :
		    (nghttp2_settings_entry){ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
	};
	int rc;

	if (p->side == P_CLIENT)
		rc = nghttp2_session_server_new2(&p->s, h->cb, p, h->opt);
	else
		rc = nghttp2_session_client_new2(&p->s, h->cb, p, h->opt);
	if (rc != 0) {
		p->s = NULL;
		return -ENOMEM;
	}
	if (nghttp2_submit_settings(p->s, NGHTTP2_FLAG_NONE, set, 3) != 0 ||
	    nghttp2_session_set_local_window_size(p->s, NGHTTP2_FLAG_NONE, 0,
	    H2F_CONN_WINDOW) != 0) {
		nghttp2_session_del(p->s);
		p->s = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* A side's first stream: the pod's process is connected (marked), the
 * laptop's pair end is there unless it went. */
static int
peer_open(struct h2conn *h, int side)
{
	struct h2peer *p = &h->p[side];
	int fd = p->fd, rc;

	if (p->gone)
		return -EPIPE;
	if (side == P_POD && (fd = http_filter_pod_connect(&h->orig,
	    h->mark)) < 0) {
		log_debug("http2 filter: cannot reach the pod's process: %s",
		    strerror(-fd));
		return fd;
	}
	p->fd = fd;
	p->dead = 0;
	if ((rc = session_new(h, p)) < 0) {
		if (side == P_POD) {
			close(fd);
			p->fd = -1;
		}
		return rc;
	}
	return 0;
}

/* A side's session ends (its EOF, an error, its GOAWAY done): its open
 * streams are reset toward the client. The pod's may be made again;
 * the laptop's pair end is shut, not closed (the caller's). */
static void
peer_kill(struct h2conn *h, struct h2peer *p)
{
	struct h2stream *st, *next;

	for (st = h->streams; st != NULL; st = next) {
		next = st->next;
		if (st->side != p->side || st->uid == 0 || st->uclosed)
			continue;
		st->uclosed = 1;
		if (!st->cclosed && !st->resp.eof)
			(void)nghttp2_submit_rst_stream(h->p[P_CLIENT].s,
			    NGHTTP2_FLAG_NONE, st->cid,
			    NGHTTP2_REFUSED_STREAM);
		stream_maybe_free(h, st);
	}
	nghttp2_session_del(p->s);
	p->s = NULL;
	p->pend = NULL;
	p->npend = p->olen = 0;
	if (p->side == P_POD) {
		close(p->fd);
		p->fd = -1;
	} else {
		(void)shutdown(p->fd, SHUT_RDWR);
		p->gone = 1;
	}
}

/* Writes what the session has to send, as far as the fd takes it,
 * frames gathered in ob (one write for many small ones): 1 if nghttp2
 * gave bytes, 0 if not, or -errno. */
static int
peer_flush(struct h2peer *p)
{
	ssize_t n;
	size_t k;
	int gave = 0;

	for (;;) {
		while (p->olen < sizeof(p->ob)) {
			if (p->npend == 0) {
				n = nghttp2_session_mem_send(p->s, &p->pend);
				if (n < 0)
					return -EPROTO;
				if (n == 0)
					break;
				p->npend = (size_t)n;
				gave = 1;
			}
			k = sizeof(p->ob) - p->olen;
			k = k < p->npend ? k : p->npend;
			memcpy(p->ob + p->olen, p->pend, k);
			p->olen += k;
			p->pend += k;
			p->npend -= k;
		}
		if (p->olen == 0)
			return gave;
		n = send(p->fd, p->ob, p->olen, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? gave : -errno;
		memmove(p->ob, p->ob + n, p->olen - (size_t)n);
		p->olen -= (size_t)n;
		if (p->olen > 0)
			return gave;	/* the socket is full */
	}
}

static int
peer_read(struct h2conn *h, struct h2peer *p)
{
	ssize_t n;

	n = recv(p->fd, h->rbuf, sizeof(h->rbuf), 0);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0)
		return -EPIPE;
	if (nghttp2_session_mem_recv(p->s, h->rbuf, (size_t)n) < 0)
		return -EPROTO;
	return 0;
}

static int
peer_idle(const struct h2peer *p)
{
	return !nghttp2_session_want_read(p->s) &&
	    !nghttp2_session_want_write(p->s) && p->npend == 0 &&
	    p->olen == 0;
}

static int
loop(struct h2conn *h)
{
	struct h2peer *cl = &h->p[P_CLIENT];
	struct pollfd pf[3];
	int i, rc, more;

	for (;;) {
		/* Sending on one session may consume on another (a body
		 * passed on opens its window): until none has more. */
		do {
			more = 0;
			for (i = 0; i < 3; i++) {
				struct h2peer *p = &h->p[i];

				if (p->s == NULL || p->dead)
					continue;
				if ((rc = peer_flush(p)) < 0) {
					if (i == P_CLIENT)
						return rc;
					p->dead = 1;
				}
				more |= rc > 0;
			}
		} while (more);
		for (i = 0; i < 2; i++)
			if (h->p[i].s != NULL &&
			    (h->p[i].dead || peer_idle(&h->p[i])))
				peer_kill(h, &h->p[i]);
		if (peer_idle(cl))
			return 0;
		for (i = 0; i < 3; i++) {
			struct h2peer *p = &h->p[i];

			pf[i].fd = -1;
			pf[i].events = 0;
			if (p->s == NULL)
				continue;
			pf[i].fd = p->fd;
			pf[i].events = (nghttp2_session_want_read(p->s) ?
			    POLLIN : 0) | (p->olen > 0 ? POLLOUT : 0);
		}
		if (poll(pf, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (i = 0; i < 3; i++) {
			struct h2peer *p = &h->p[i];

			if (p->s == NULL || pf[i].revents == 0)
				continue;
			if ((pf[i].revents & POLLOUT) &&
			    (rc = peer_flush(p)) < 0)
				goto bad;
			if ((pf[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    (rc = peer_read(h, p)) < 0)
				goto bad;
			continue;
bad:
			if (i == P_CLIENT) {
				if (rc == -EPIPE)
					return 0;	/* the client went */
				if (rc == -EPROTO) {
					(void)nghttp2_session_terminate_session(
					    p->s, NGHTTP2_PROTOCOL_ERROR);
					(void)peer_flush(p);
				}
				return rc;
			}
			p->dead = 1;
		}
	}
}

int
http2_filter_run(int cfd, int lfd, const struct sockaddr_in *orig,
    uint32_t mark, const struct http_filter *f, const uint8_t *pre,
    size_t npre)
{
	struct h2conn *h;
	struct h2stream *st;
	int i, rc = -ENOMEM;

	h = xcalloc(1, sizeof(*h));
	h->f = f;
	h->orig = *orig;
	h->mark = mark;
	for (i = 0; i < 3; i++) {
		h->p[i].h = h;
		h->p[i].side = i;
	}
	h->p[P_POD].fd = -1;
	h->p[P_LAPTOP].fd = lfd;
	h->p[P_CLIENT].fd = cfd;
	if (nghttp2_session_callbacks_new(&h->cb) != 0 ||
	    nghttp2_option_new(&h->opt) != 0)
		goto out;
	nghttp2_option_set_no_auto_window_update(h->opt, 1);
	nghttp2_session_callbacks_set_on_begin_headers_callback(h->cb,
	    on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(h->cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(h->cb,
	    on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(h->cb,
	    on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(h->cb,
	    on_stream_close);
	if ((rc = session_new(h, &h->p[P_CLIENT])) < 0)
		goto out;
	if (nghttp2_session_mem_recv(h->p[P_CLIENT].s, pre, npre) < 0) {
		rc = -EPROTO;
		goto out;
	}
	rc = loop(h);
out:
	for (i = 0; i < 3; i++)
		if (h->p[i].s != NULL)
			nghttp2_session_del(h->p[i].s);
	if (h->p[P_POD].fd >= 0)
		close(h->p[P_POD].fd);
	while ((st = h->streams) != NULL) {
		h->streams = st->next;
		dir_free(&st->req);
		dir_free(&st->resp);
		x_free(st);
	}
	if (h->cb != NULL)
		nghttp2_session_callbacks_del(h->cb);
	if (h->opt != NULL)
		nghttp2_option_del(h->opt);
	x_free(h);
	return rc;
}
