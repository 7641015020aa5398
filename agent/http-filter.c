/*
 * Filtered steal (see http-filter.h): the thread of one connection.
 * The client's bytes are cut into requests by http-split.c; a request's
 * head is held until it is complete, then it and its body go to the
 * side the filter picked (the pod's connection is made on the first
 * request it gets, and again after the pod closed an idle one). Each
 * request sent is queued with its side; only the side at the head of
 * the queue is read, its bytes cut into responses and passed to the
 * client, so answers keep the requests' order and a side that answers
 * early waits in its socket (TCP's flow control, no buffer of ours). An
 * upgrade request (websocket, CONNECT) turns the connection into a pipe
 * to its side once answered. Every buffer has a cap; a request head
 * past HTTP_SPLIT_HEAD_MAX is answered 431 and the connection closed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http-filter.h"
#include "http-split.h"
#include "http2-filter.h"
#include "log.h"
#include "xmalloc.h"

#define FC_READ		65536		/* one read */
#define FC_HIGH		(2 * FC_READ)	/* no read while a buffer holds more */
#define FC_CAP		(4 * FC_READ + 2 * HTTP_SPLIT_HEAD_MAX)
#define FC_MIN		16384		/* a buffer's first size */
#define FC_QUEUE_MAX	64		/* requests awaiting their answer */
#define FC_CONNECT_S	5		/* the pod's connect */

enum { SIDE_POD = 0, SIDE_LAPTOP = 1 };

/* HTTP/2 with prior knowledge (h2c) starts so: such a connection is
 * handed to http2-filter.c. */
static const char h2_preface[24] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

static atomic_int nconns;

/* Bytes in d[off, off + len); d grows (doubling from FC_MIN) up to
 * FC_CAP. */
struct fbuf {
	uint8_t		*d;
	size_t		 off;
	size_t		 len;
	size_t		 cap;
};

struct fc_req {
	uint8_t		 side;
	uint8_t		 head;		/* HEAD or CONNECT: no body answers */
};

/* One connection; its thread's only. */
struct fconn {
	int		 cfd;
	int		 sfd[2];	/* pod, laptop; -1: not open */
	int		 side_eof[2];
	int		 shut[2];	/* our write side shut */
	int		 laptop_gone;
	struct sockaddr_in orig;
	uint32_t	 mark;
	struct http_filter *f;
	struct http_split_req req;
	struct http_split_resp resp[2];
	int		 queued;	/* the current request is queued */
	int		 cur_side;
	int		 raw_side;	/* after an upgrade request, or -1 */
	int		 tunnel;	/* its answer came: a pipe, or -1 */
	int		 cl_eof;
	int		 cl_shut;
	int		 started;	/* the first bytes were looked at */
	int		 h2;		/* they were the h2c preface */
	int		 refused;	/* the status of a refused request */
	int		 refusal_sent;
	size_t		 pre_len;
	uint8_t		 pre[24];	/* the client's first bytes */
	struct fbuf	 held;		/* an undecided request head */
	struct fbuf	 out[2];	/* to the pod, to the laptop */
	struct fbuf	 in[2];		/* read from a side, not yet cut */
	struct fbuf	 back;		/* to the client */
	struct fc_req	 q[FC_QUEUE_MAX];
	unsigned int	 qh, qn;
	uint8_t		 rbuf[FC_READ];
};

static int
fbuf_put(struct fbuf *b, const uint8_t *p, size_t n)
{
	size_t cap;

	if (n == 0)
		return 0;
	if (n > FC_CAP - b->len)
		return -ENOBUFS;
	if (b->off > 0 && b->off + b->len + n > b->cap) {
		memmove(b->d, b->d + b->off, b->len);
		b->off = 0;
	}
	if (b->len + n > b->cap) {
		for (cap = b->cap ? b->cap : FC_MIN; cap < b->len + n; )
			cap *= 2;
		b->cap = cap < FC_CAP ? cap : FC_CAP;
		b->d = xrealloc(b->d, b->cap);
	}
	memcpy(b->d + b->off + b->len, p, n);
	b->len += n;
	return 0;
}

static void
fbuf_take(struct fbuf *b, size_t n)
{
	b->off += n;
	b->len -= n;
	if (b->len == 0)
		b->off = 0;
}

static int
fbuf_move(struct fbuf *to, struct fbuf *from)
{
	int rc = fbuf_put(to, from->d + from->off, from->len);

	if (rc == 0 && from->len > 0)
		fbuf_take(from, from->len);
	return rc;
}

/* Writes what fits; 0 or -errno. */
static int
fbuf_write(struct fbuf *b, int fd)
{
	ssize_t n;

	while (b->len > 0) {
		n = send(fd, b->d + b->off, b->len, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		fbuf_take(b, (size_t)n);
	}
	return 0;
}

int
http_filter_pod_connect(const struct sockaddr_in *orig, uint32_t mark)
{
	struct timeval tv = { FC_CONNECT_S, 0 };
	int fd, rc, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (const struct sockaddr *)orig, sizeof(*orig)) < 0 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int
pod_connect(struct fconn *c)
{
	int fd = http_filter_pod_connect(&c->orig, c->mark);

	if (fd < 0)
		return fd;
	c->sfd[SIDE_POD] = fd;
	c->side_eof[SIDE_POD] = c->shut[SIDE_POD] = 0;
	http_split_resp_init(&c->resp[SIDE_POD]);
	return 0;
}

static int refuse(struct fconn *, int);

/* A request has been given its side: queue it, open the side, pass on
 * its held head. */
static int
request_start(struct fconn *c, int side, int head)
{
	int rc;

	if (c->qn >= FC_QUEUE_MAX)
		return -ENOBUFS;
	if (side == SIDE_LAPTOP && c->laptop_gone)
		return -EPIPE;
	if (side == SIDE_POD && c->sfd[SIDE_POD] < 0 &&
	    (rc = pod_connect(c)) < 0) {
		log_debug("http filter: cannot reach the pod's process: %s",
		    strerror(-rc));
		return refuse(c, 502);
	}
	c->q[(c->qh + c->qn++) % FC_QUEUE_MAX] =
	    (struct fc_req){ (uint8_t)side, (uint8_t)head };
	c->queued = 1;
	c->cur_side = side;
	return fbuf_move(&c->out[side], &c->held);
}

/* A refused request: the client is no longer read; once the answers
 * owed are passed on, its error answer goes and the connection closes
 * (loop). */
static int
refuse(struct fconn *c, int status)
{
	if (c->queued)
		return -EPROTO;	/* a side has half a request: no way on */
	c->refused = status;
	return 0;
}

/* The refusal's answer, after every answer owed. */
static int
refusal_answer(struct fconn *c)
{
	char msg[128];
	int n, st = c->refused;

	c->refusal_sent = 1;
	n = snprintf(msg, sizeof(msg), "HTTP/1.1 %d %s\r\n"
	    "Connection: close\r\nContent-Length: 0\r\n\r\n", st,
	    st == 431 ? "Request Header Fields Too Large" :
	    st == 502 ? "Bad Gateway" : "Bad Request");
	return fbuf_put(&c->back, (const uint8_t *)msg, (size_t)n);
}

/* n bytes of HTTP/1.x from the client (n 0: its end). */
static int
client_http(struct fconn *c, const uint8_t *p, size_t n)
{
	struct http_split_step st;
	int eof = n == 0, rc;

	if (c->raw_side >= 0)
		return fbuf_put(&c->out[c->raw_side], p, n);
	do {
		if (c->refused)
			return 0;
		if (http_split_req_feed(&c->req, p, n, &st) < 0)
			return refuse(c, st.err);
		if (st.dest == HS_HOLD) {
			if ((rc = fbuf_put(&c->held, p, st.used)) < 0)
				return refuse(c, 431);
		} else {
			if (!c->queued && ((rc = request_start(c,
			    st.dest == HS_LAPTOP ? SIDE_LAPTOP : SIDE_POD,
			    st.head)) < 0 || c->refused))
				return rc;
			if ((rc = fbuf_put(&c->out[c->cur_side], p,
			    st.used)) < 0)
				return rc;
		}
		p += st.used;
		n -= st.used;
		if (st.done) {
			c->queued = 0;
			if (st.upgrade) {
				c->raw_side = c->cur_side;
				return fbuf_put(&c->out[c->raw_side], p, n);
			}
		} else if (st.used == 0)
			break;
	} while (n > 0 && !eof);
	return 0;
}

static int side_closed(struct fconn *, int);

/* n bytes from the client (n 0: its end); its first bytes say whether
 * it speaks HTTP/2 (h2c): then http2-filter.c takes it. */
static int
client_input(struct fconn *c, const uint8_t *p, size_t n)
{
	size_t k;
	int rc;

	if (c->started)
		return client_http(c, p, n);
	k = n < sizeof(c->pre) - c->pre_len ? n : sizeof(c->pre) - c->pre_len;
	memcpy(c->pre + c->pre_len, p, k);
	c->pre_len += k;
	if (memcmp(c->pre, h2_preface, c->pre_len) == 0) {
		if (c->pre_len < sizeof(h2_preface) && n > 0)
			return 0;	/* more is needed to tell */
		if (c->pre_len == sizeof(h2_preface)) {
			/* conn_main runs the HTTP/2 proxy on held. */
			c->started = c->h2 = 1;
			if ((rc = fbuf_put(&c->held, c->pre,
			    c->pre_len)) < 0)
				return rc;
			return fbuf_put(&c->held, p + k, n - k);
		}
	}
	c->started = 1;
	if (c->pre_len > 0 && (rc = client_http(c, c->pre, c->pre_len)) < 0)
		return rc;
	return n - k > 0 || n == 0 ? client_input(c, p + k, n - k) : 0;
}

/* Cuts what side s sent while it is at the head of the queue (eof: its
 * end of input). */
static int
side_answers(struct fconn *c, int s, int eof)
{
	struct http_split_step st;
	struct fc_req *r;
	int rc;

	while (c->tunnel < 0 && c->qn > 0 &&
	    (r = &c->q[c->qh])->side == s && (c->in[s].len > 0 || eof)) {
		if (http_split_resp_feed(&c->resp[s], r->head,
		    c->in[s].d + c->in[s].off, c->in[s].len, &st) < 0)
			return -EPROTO;
		if ((rc = fbuf_put(&c->back, c->in[s].d + c->in[s].off,
		    st.used)) < 0)
			return rc;
		fbuf_take(&c->in[s], st.used);
		if (!st.done) {
			if (eof)
				return -EPIPE;	/* cut short */
			if (st.used == 0)
				break;
			continue;
		}
		if (st.status >= 100 && st.status < 200 && !st.upgrade)
			continue;	/* 100 Continue: the answer follows */
		c->qh = (c->qh + 1) % FC_QUEUE_MAX;
		c->qn--;
		if (c->raw_side == s && c->qn == 0)
			c->tunnel = s;
		if (eof)
			break;
		if (c->tunnel != s && !http_should_keep_alive(&c->resp[s].m.p)) {
			/* The side closes after this answer. */
			c->side_eof[s] = 1;
			return side_closed(c, s);
		}
	}
	if (c->tunnel == s)
		return fbuf_move(&c->back, &c->in[s]);
	return 0;
}

/* Side s has requests awaiting their answer. */
static int
owes(const struct fconn *c, int s)
{
	unsigned int i;

	for (i = 0; i < c->qn; i++)
		if (c->q[(c->qh + i) % FC_QUEUE_MAX].side == s)
			return 1;
	return 0;
}

/* Side s's end of input, nothing owed by it: the pod's idle connection
 * is made again if needed; the laptop's stays gone. */
static int
side_closed(struct fconn *c, int s)
{
	if (owes(c, s))
		return -EPIPE;
	if (c->tunnel == s || c->raw_side == s)
		return 0;	/* the pipe's end: handled by the loop */
	if (s == SIDE_LAPTOP)
		c->laptop_gone = 1;
	c->in[s].off = c->in[s].len = 0;
	close(c->sfd[s]);
	c->sfd[s] = -1;
	return 0;
}

static int
side_read(struct fconn *c, int s)
{
	ssize_t n;

	n = recv(c->sfd[s], c->rbuf, sizeof(c->rbuf), 0);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0) {
		c->side_eof[s] = 1;
		if (side_answers(c, s, 1) < 0)
			return -EPIPE;
		return side_closed(c, s);
	}
	if (fbuf_put(&c->in[s], c->rbuf, (size_t)n) < 0)
		return -ENOBUFS;
	return side_answers(c, s, 0);
}

static int
client_read(struct fconn *c)
{
	ssize_t n;

	n = recv(c->cfd, c->rbuf, sizeof(c->rbuf), 0);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0)
		c->cl_eof = 1;
	return client_input(c, c->rbuf, (size_t)n);
}

/* The side the client is waiting on now: read it. */
static int
side_wanted(const struct fconn *c, int s)
{
	if (c->sfd[s] < 0 || c->side_eof[s] || c->back.len >= FC_HIGH)
		return 0;
	return c->tunnel == s ||
	    (c->qn > 0 && c->q[c->qh].side == s);
}

static int
finished(struct fconn *c)
{
	int s;

	if (c->back.len > 0)
		return 0;
	if (c->refusal_sent)
		return 1;
	if (c->tunnel >= 0)
		return c->side_eof[c->tunnel] && c->cl_eof &&
		    c->out[c->tunnel].len == 0;
	if (!c->cl_eof || c->qn > 0)
		return 0;
	for (s = 0; s < 2; s++)
		if (c->out[s].len > 0 && c->sfd[s] >= 0)
			return 0;
	return 1;
}

/* Pipelined answers already read, each cut once its side is at the
 * head of the queue (the sides take turns). */
static int
pump(struct fconn *c)
{
	unsigned int qn;
	int s, rc, again;

	do {
		again = 0;
		for (s = 0; s < 2; s++) {
			if (c->in[s].len == 0)
				continue;
			qn = c->qn;
			if ((rc = side_answers(c, s, 0)) < 0)
				return rc;
			again |= c->qn != qn;
		}
	} while (again);
	return 0;
}

static int
loop(struct fconn *c)
{
	struct pollfd pf[3];
	int s, rc;

	for (;;) {
		if (c->refused && !c->refusal_sent && c->qn == 0 &&
		    (rc = refusal_answer(c)) < 0)
			return rc;
		if (finished(c))
			return 0;
		/* The client is done and all is passed on: say so. */
		for (s = 0; s < 2; s++)
			if (c->cl_eof && c->sfd[s] >= 0 && !c->shut[s] &&
			    c->out[s].len == 0 && (c->raw_side < 0 ||
			    c->raw_side == s)) {
				(void)shutdown(c->sfd[s], SHUT_WR);
				c->shut[s] = 1;
			}
		if (c->tunnel >= 0 && c->side_eof[c->tunnel] && !c->cl_shut &&
		    c->back.len == 0) {
			(void)shutdown(c->cfd, SHUT_WR);
			c->cl_shut = 1;
		}
		pf[0].events = (!c->cl_eof && !c->refused &&
		    c->out[0].len < FC_HIGH &&
		    c->out[1].len < FC_HIGH && c->qn < FC_QUEUE_MAX ?
		    POLLIN : 0) | (c->back.len > 0 ? POLLOUT : 0);
		pf[0].fd = pf[0].events != 0 ? c->cfd : -1;
		for (s = 0; s < 2; s++) {
			pf[1 + s].events = (side_wanted(c, s) ? POLLIN : 0) |
			    (c->out[s].len > 0 ? POLLOUT : 0);
			/* An idle side that closes is noticed. */
			if (c->sfd[s] >= 0 && !c->side_eof[s] && !owes(c, s) &&
			    c->tunnel != s)
				pf[1 + s].events |= POLLRDHUP;
			pf[1 + s].fd = pf[1 + s].events != 0 ? c->sfd[s] : -1;
		}
		if (poll(pf, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if ((pf[0].revents & POLLOUT) &&
		    (rc = fbuf_write(&c->back, c->cfd)) < 0)
			return rc;
		for (s = 0; s < 2; s++) {
			if (c->sfd[s] < 0)
				continue;
			if ((pf[1 + s].revents & (POLLOUT | POLLERR)) &&
			    c->out[s].len > 0 &&
			    (rc = fbuf_write(&c->out[s], c->sfd[s])) < 0)
				return rc;
			if ((pf[1 + s].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    side_wanted(c, s) && (rc = side_read(c, s)) < 0)
				return rc;
			if (c->sfd[s] >= 0 && (pf[1 + s].revents &
			    (POLLRDHUP | POLLHUP | POLLERR)) && !owes(c, s) &&
			    c->tunnel != s && c->raw_side != s) {
				c->side_eof[s] = 1;
				if ((rc = side_closed(c, s)) < 0)
					return rc;
			}
		}
		if ((pf[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    !c->cl_eof && (rc = client_read(c)) < 0)
			return rc;
		if (c->h2)
			return 0;
		if ((rc = pump(c)) < 0)
			return rc;
	}
}

static void *
conn_main(void *arg)
{
	struct fconn *c = arg;
	struct linger lg = { 1, 0 };
	int s, rc;

	rc = loop(c);
	if (rc == 0 && c->h2)
		rc = http2_filter_run(c->cfd, c->sfd[SIDE_LAPTOP], &c->orig,
		    c->mark, c->f, c->held.d + c->held.off, c->held.len);
	if (rc < 0) {
		log_debug("http filter: connection ends: %s", strerror(-rc));
		(void)setsockopt(c->cfd, SOL_SOCKET, SO_LINGER, &lg,
		    sizeof(lg));
	}
	close(c->cfd);
	for (s = 0; s < 2; s++) {
		if (c->sfd[s] >= 0)
			close(c->sfd[s]);
		x_free(c->out[s].d);
		x_free(c->in[s].d);
	}
	x_free(c->held.d);
	x_free(c->back.d);
	http_filter_unref(c->f);
	x_free(c);
	atomic_fetch_sub(&nconns, 1);
	return NULL;
}

int
http_filter_conn_start(int cfd, int lfd, const struct sockaddr_in *orig,
    struct http_filter *f, uint32_t mark)
{
	pthread_attr_t attr;
	pthread_t t;
	struct fconn *c;
	int rc, one = 1;

	if (atomic_fetch_add(&nconns, 1) >= HTTP_FILTER_CONNS_MAX) {
		atomic_fetch_sub(&nconns, 1);
		return -EMFILE;
	}
	/* Answers are written as they are cut: no Nagle delay on them. */
	(void)setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = xcalloc(1, sizeof(*c));
	c->cfd = cfd;
	c->sfd[SIDE_POD] = -1;
	c->sfd[SIDE_LAPTOP] = lfd;
	c->orig = *orig;
	c->mark = mark;
	c->f = http_filter_ref(f);
	c->raw_side = c->tunnel = -1;
	http_split_req_init(&c->req, f);
	http_split_resp_init(&c->resp[SIDE_POD]);
	http_split_resp_init(&c->resp[SIDE_LAPTOP]);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	rc = -pthread_create(&t, &attr, conn_main, c);
	pthread_attr_destroy(&attr);
	if (rc < 0) {
		http_filter_unref(c->f);
		x_free(c);
		atomic_fetch_sub(&nconns, 1);
	}
	return rc;
}
