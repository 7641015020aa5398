/*
 * The websocket transport's send path (the rule is at the top of
 * lib/ws.c): a sending thread frames its message in place and writes it
 * into an idle plaintext socket itself; what the socket does not take,
 * and everything on TLS, is queued for the lws service thread, which
 * writes the queue's head when lws says the socket is writable.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "log.h"
#include "proto.h"
#include "ws-int.h"
#include "wsframe.h"
#include "xmalloc.h"

void
ws_msg_free(struct ws_msg *m)
{
	x_free(m->data);
	x_free(m);
}

/* Puts c on the context's pending list and wakes the service thread. */
void
ws_conn_kick(struct ws_conn *c)
{
	struct ws_ctx *ctx = c->ctx;
	int add = 0;

	pthread_mutex_lock(&ctx->mtx);
	if (!c->pending) {
		c->pending = 1;
		c->pending_next = ctx->pending;
		ctx->pending = c;
		add = 1;
	}
	pthread_mutex_unlock(&ctx->mtx);
	if (add)
		ws_conn_ref(c);
	lws_cancel_service(ctx->lws);
}

/* A fresh masking key. xorshift per thread: masking keys only need to
 * be unpredictable to a web page, which cannot see this connection. */
static void
mask_key(uint8_t key[4])
{
	static __thread uint64_t s;
	uint32_t k;

	if (s == 0 && (getrandom(&s, sizeof(s), 0) != sizeof(s) || s == 0))
		s = 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)&s;
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	k = (uint32_t)(s >> 32);
	memcpy(key, &k, 4);
}

/* Plaintext: m's frame header, and a client's payload masked where it
 * lies (the caller handed it over). No lock needed. The header is kept
 * beside the message, not in headroom before it: proto_buf users and
 * the agent's network code hand over plain malloc'd messages, and one
 * gathered write (sendmsg of header and payload) frames every one of
 * them without a copy. */
static void
frame_in_place(struct ws_conn *c, struct ws_msg *m)
{
	uint8_t key[4];

	if (c->ctx->server) {	/* a server's frames are not masked */
		m->hl = (uint8_t)wsframe_header(m->hdr, 1, WSFRAME_BINARY,
		    m->len, NULL);
		return;
	}
	mask_key(key);
	m->hl = (uint8_t)wsframe_header(m->hdr, 1, WSFRAME_BINARY, m->len,
	    key);
	wsframe_mask(m->data, m->data, m->len, key, 0);
}

/* Plaintext: writes what the socket takes of m's frame, never waiting.
 * 1: all of it is out; 0: the socket is full; -errno: it failed. The
 * caller is the one writer of the moment (see the top comment). */
static int
frame_write(int fd, struct ws_msg *m)
{
	struct msghdr mh;
	struct iovec iov[2];
	ssize_t n;

	while (m->off < m->hl + m->len) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		if (m->off < m->hl) {
			iov[0].iov_base = m->hdr + m->off;
			iov[0].iov_len = m->hl - m->off;
			iov[1].iov_base = m->data;
			iov[1].iov_len = m->len;
			mh.msg_iovlen = m->len > 0 ? 2 : 1;
		} else {
			iov[0].iov_base = m->data + (m->off - m->hl);
			iov[0].iov_len = m->len - (m->off - m->hl);
			mh.msg_iovlen = 1;
		}
		n = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0)
			m->off += (size_t)n;
		else if (n < 0 && errno == EINTR)
			continue;
		else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		else
			return n < 0 ? -errno : -EPIPE;
	}
	return 1;
}

/* Locked: the socket failed; nothing more is written, and the service
 * thread closes the connection. */
static void
conn_fail_locked(struct ws_conn *c, const char *why)
{
	c->done = 1;
	if (!c->close_requested) {
		c->close_requested = 1;
		snprintf(c->close_why, sizeof(c->close_why), "%s", why);
	}
}

int
ws_send(struct ws_conn *c, uint8_t *msg, size_t len)
{
	struct ws_msg mm = { .data = msg, .len = len }, *m;
	int rc, kick;

	if (!c->tls)
		frame_in_place(c, &mm);
	pthread_mutex_lock(&c->mtx);
	if (c->done) {
		pthread_mutex_unlock(&c->mtx);
		x_free(msg);
		return -ENOTCONN;
	}
	if (c->up && !c->tls && c->outq == NULL) {
		rc = frame_write(c->fd, &mm);
		if (rc == 1) {
			pthread_mutex_unlock(&c->mtx);
			x_free(msg);
			return 0;
		}
		if (rc < 0) {
			conn_fail_locked(c, "connection lost (write failed)");
			pthread_mutex_unlock(&c->mtx);
			x_free(msg);
			ws_conn_kick(c);
			return -ENOTCONN;
		}
	}
	m = xmalloc(sizeof(*m));
	*m = mm;
	kick = c->outq == NULL;
	if (c->outq_tail)
		c->outq_tail->next = m;
	else
		c->outq = m;
	c->outq_tail = m;
	pthread_mutex_unlock(&c->mtx);
	if (kick)
		ws_conn_kick(c);
	return 0;
}

void
ws_close(struct ws_conn *c, const char *why)
{
	pthread_mutex_lock(&c->mtx);
	if (!c->close_requested) {
		c->close_requested = 1;
		snprintf(c->close_why, sizeof(c->close_why), "%s", why);
	}
	pthread_mutex_unlock(&c->mtx);
	ws_conn_kick(c);
}

/* Service thread, TLS: hands m to lws in chunks while the socket takes
 * them. 1: all of m is out; 0: later (the socket is full, or this
 * round's budget is spent); -1: it failed. */
static int
conn_write_tls(struct ws_conn *c, struct lws *wsi, struct ws_msg *m,
    int *budget)
{
	size_t chunk;
	int start, end, flags, n;

	while (*budget > 0 && !lws_send_pipe_choked(wsi)) {
		chunk = m->len - m->off;
		if (chunk > WS_CHUNK)
			chunk = WS_CHUNK;
		start = m->off == 0;
		end = m->off + chunk == m->len;
		if (c->tx == NULL)
			c->tx = xmalloc(LWS_PRE + WS_CHUNK);
		memcpy(c->tx + LWS_PRE, m->data + m->off, chunk);
		flags = lws_write_ws_flags(LWS_WRITE_BINARY, start, end);
		n = lws_write(wsi, c->tx + LWS_PRE, chunk, flags);
		if (n < (int)chunk)
			return -1;
		m->off += chunk;
		(*budget)--;
		if (end)
			return 1;
	}
	return 0;
}

/*
 * Service thread: lws says the socket is writable. Writes the queue's
 * head while the socket takes it (only this thread writes a non-empty
 * queue, so no lock is held for the write), then, once the queue is
 * empty and a close was asked for, stops the senders and lets lws close.
 */
int
ws_conn_writable(struct ws_conn *c, struct lws *wsi)
{
	struct ws_msg *m;
	int rc, close, budget = WS_TLS_BUDGET;

	if (!c->opened)
		return 0;
	for (;;) {
		pthread_mutex_lock(&c->mtx);
		c->up = 1;	/* lws has nothing of its own left to write */
		m = c->done ? NULL : c->outq;
		if (m == NULL) {
			close = c->close_requested || c->done;
			if (close)
				c->done = 1;
			pthread_mutex_unlock(&c->mtx);
			if (!close)
				return 0;
			lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL,
			    (unsigned char *)"bye", 3);
			return -1;
		}
		pthread_mutex_unlock(&c->mtx);

		rc = c->tls ? conn_write_tls(c, wsi, m, &budget) :
		    frame_write(c->fd, m);
		if (rc < 0) {
			log_warnx("write to %s failed", c->peer);
			pthread_mutex_lock(&c->mtx);
			conn_fail_locked(c, "connection lost (write failed)");
			pthread_mutex_unlock(&c->mtx);
			return -1;
		}
		if (rc == 0)
			break;
		pthread_mutex_lock(&c->mtx);
		c->outq = m->next;
		if (c->outq == NULL)
			c->outq_tail = NULL;
		pthread_mutex_unlock(&c->mtx);
		ws_msg_free(m);
	}
	lws_callback_on_writable(wsi);
	return 0;
}
