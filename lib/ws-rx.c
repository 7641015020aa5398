/*
 * The websocket transport's receive paths: a server's input comes from
 * lws, fragment by fragment (ws_conn_receive); a plaintext client reads
 * the agent's frames with a thread of its own (rx_main), for the reason
 * given above it.
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

/* Service thread: append a received fragment; deliver whole messages. */
int
ws_conn_receive(struct ws_conn *c, struct lws *wsi, const uint8_t *in,
    size_t len)
{
	struct ws_ctx *ctx = c->ctx;
	const char *why = NULL;
	int final, rc;

	if (lws_frame_is_binary(wsi) == 0 && c->rx_len == 0 &&
	    lws_is_first_fragment(wsi)) {
		why = "text frame where a binary message was expected";
		goto bad;
	}
	final = lws_is_final_fragment(wsi) &&
	    lws_remaining_packet_payload(wsi) == 0;
	/* Before the hello is done, a message is small (a hello step). */
	if (ctx->server && !c->authed &&
	    (len > WS_PREAUTH_MSG_MAX - c->rx_len ||
	    lws_remaining_packet_payload(wsi) >
	    WS_PREAUTH_MSG_MAX - c->rx_len - len)) {
		why = "message too large before authentication";
		goto bad;
	}
	if (c->rx_len == 0 && final) {
		rc = ctx->h->on_message(c, in, len, &why, ctx->arg);
		if (rc < 0)
			goto bad;
		return 0;
	}
	if (len > PROTO_MSG_MAX - c->rx_len) {
		why = "message larger than the protocol allows";
		goto bad;
	}
	if (c->rx_len + len > c->rx_cap) {
		size_t ncap = c->rx_cap ? c->rx_cap : 64 * 1024;

		while (ncap < c->rx_len + len)
			ncap *= 2;
		if (ncap > PROTO_MSG_MAX)
			ncap = PROTO_MSG_MAX;
		c->rx = xrealloc(c->rx, ncap);
		c->rx_cap = ncap;
	}
	memcpy(c->rx + c->rx_len, in, len);
	c->rx_len += len;
	if (!final)
		return 0;
	rc = ctx->h->on_message(c, c->rx, c->rx_len, &why, ctx->arg);
	c->rx_len = 0;
	if (c->rx_cap > 1024 * 1024) {	/* don't keep a big buffer around */
		x_free(c->rx);
		c->rx = NULL;
		c->rx_cap = 0;
	}
	if (rc < 0)
		goto bad;
	return 0;
bad:
	/* Anyone can make an unauthenticated connection fail: its owner
	 * logs that, rate-limited, from the why it gets in on_close. */
	if (c->ctx->server && !c->authed)
		log_debug("closing connection from %s: %s", c->peer,
		    why ? why : "bad message");
	else
		log_warnx("closing connection %s %s: %s",
		    c->ctx->server ? "from" : "to", c->peer,
		    why ? why : "bad message");
	snprintf(c->close_why, sizeof(c->close_why), "%s",
	    why ? why : "bad message");
	lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
	    (unsigned char *)"bad message", 11);
	return -1;
}

/*
 * The client's receive path. libwebsockets (4.1) parses what a client
 * receives one byte at a time, which caps a mount near 130 MB/s; so once
 * the handshake is done, lws stops reading this socket (rx flow control
 * off) and this thread reads whole frames with recv() and hands whole
 * messages on. Frames from a server are never masked. lws keeps doing
 * the handshake and the closing.
 */
#define RX_BUF	(PROTO_MSG_MAX + 64 * 1024)

static void *
rx_main(void *arg)
{
	struct ws_conn *c = arg;
	struct ws_ctx *ctx = c->ctx;
	uint8_t *buf = xmalloc(RX_BUF), *msg = NULL;
	size_t start = 0, end = 0, mlen = 0, mcap = 0;
	const char *why = NULL;
	char whybuf[96];
	struct wsframe_rx rx = { 0 };

	ws_io_thread = 1;
	for (;;) {
		struct wsframe_hdr fh;
		uint8_t *p = buf + start;
		size_t plen;
		ssize_t n;
		int rc;

		/* One frame, if it is all here. */
		rc = wsframe_rx_next(&rx, p, end - start, PROTO_MSG_MAX, &fh,
		    &why);
		if (rc < 0 && rc != -EAGAIN)
			break;
		if (rc > 0) {
			plen = (size_t)fh.payload_len;
			start += fh.hdr_len + plen;
			p += fh.hdr_len;
			if (rc == WSFRAME_RX_CLOSE) {
				snprintf(whybuf, sizeof(whybuf), "the server "
				    "closed the connection (code %u)", plen >= 2 ?
				    ((unsigned)p[0] << 8 | p[1]) : 0);
				why = whybuf;
				break;
			}
			if (rc == WSFRAME_RX_CONTROL)
				continue;	/* pings: lws servers send none */
			if (fh.fin && mlen == 0) {
				/* The common case: deliver in place. */
				if (ctx->h->on_message(c, p, plen, &why,
				    ctx->arg) < 0)
					break;
				continue;
			}
			if (mlen + plen > mcap) {
				mcap = mlen + plen > 2 * mcap ? mlen + plen :
				    2 * mcap;
				msg = xrealloc(msg, mcap);
			}
			memcpy(msg + mlen, p, plen);
			mlen += plen;
			if (fh.fin) {
				if (ctx->h->on_message(c, msg, mlen, &why,
				    ctx->arg) < 0)
					break;
				mlen = 0;
			}
			continue;
		}
		if (start > 0 && (end == RX_BUF || start == end ||
		    start > RX_BUF / 2)) {
			memmove(buf, buf + start, end - start);
			end -= start;
			start = 0;
		}
		n = recv(c->fd, buf + end, RX_BUF - end, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* lws keeps the socket non-blocking for its writes */
			struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

			(void)poll(&pfd, 1, -1);
			continue;
		}
		if (n <= 0) {
			why = n == 0 ? "the server closed the connection" :
			    "connection lost";
			break;
		}
		end += (size_t)n;
	}
	pthread_mutex_lock(&c->mtx);
	if (c->close_why[0] == '\0' && why != NULL)
		snprintf(c->close_why, sizeof(c->close_why), "%s", why);
	pthread_mutex_unlock(&c->mtx);
	x_free(buf);
	x_free(msg);
	ws_close(c, why ? why : "connection closed");
	return NULL;
}

/* Service thread, plaintext client: hand the socket's receive side to
 * rx_main. */
void
ws_rx_start(struct ws_conn *c, struct lws *wsi)
{
	sigset_t all, old;

	if (c->fd < 0 || c->tls)	/* lws reads the SSL */
		return;
	lws_rx_flow_control(wsi, 0);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ws_conn_ref(c);
	if (pthread_create(&c->rx_thread, NULL, rx_main, c) == 0)
		c->rx_running = 1;
	else {
		ws_conn_unref(c);
		lws_rx_flow_control(wsi, 1);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Service thread, before lws closes the socket: stop the reader. */
void
ws_rx_stop(struct ws_conn *c)
{
	if (!c->rx_running)
		return;
	shutdown(c->fd, SHUT_RDWR);
	pthread_join(c->rx_thread, NULL);
	c->rx_running = 0;
	ws_conn_unref(c);
}
