/*
 * Websocket transport (see ws.h): libwebsockets listens, connects, does
 * the HTTP upgrade, TLS and the closing handshake; the data frames of a
 * plaintext connection are framed with lib/wsframe.c and written here.
 *
 * DESIGN: who writes a socket, and when (the one rule).
 * - Every connection has one queue of outgoing frames (outq) under its
 *   lock (mtx). The frame at its head is written by the lws service
 *   thread only, when lws says the socket is writable
 *   (ws_conn_writable, lib/ws-send.c).
 * - Plaintext, once the handshake is done (up): a sending thread frames
 *   its message in place (the header apart, a client's payload masked in
 *   the buffer it handed over; no copy) and, if the queue is empty,
 *   writes it itself under mtx, never waiting for the socket
 *   (MSG_DONTWAIT). What the socket did not take goes on the queue,
 *   which the service thread finishes. So frames never interleave: a
 *   sender writes only into an idle socket, under the lock, and the
 *   service thread only the head of a non-empty queue, which no sender
 *   writes past.
 * - TLS: an SSL object must never be used by two threads, so every
 *   message is queued and the service thread writes it with lws_write()
 *   (lws frames and encrypts it).
 * - Reading: lws reads a server's input (ws_conn_receive, lib/ws-rx.c);
 *   a plaintext client's input is read by a reader thread of its own
 *   (rx_main, lib/ws-rx.c), because lws 4.1 parses what a client
 *   receives one byte at a time.
 * - Closing: ws_close() (or a failed write) marks the connection; the
 *   service thread writes what is queued, then sets done under mtx (no
 *   sender writes after that) and lets lws send the close frame and
 *   close the socket. conn_closed() sets done as well before lws closes
 *   the file descriptor, so nobody writes to a number that may already
 *   belong to another connection, and stops the reader thread.
 *
 * Why lws does not carry the plaintext data frames: through lws every
 * message is handed to the service thread (a wakeup and a poll round
 * each, the agent's workers and mountd's FUSE threads all waiting on
 * that one thread), and lws_write() takes it in chunks copied into a
 * buffer of its own. Measured on the 2-core VM while other jobs ran
 * (noisy; 2026-12-03, the same code but for the send path), a 1 GiB
 * file hot in the agent's page cache read with dd bs=1M through a fresh
 * mount (read_ahead_kb 1024), 6 runs each, interleaved:
 *                          best MB/s   CPU s/GiB agent   mountd
 *   lws WRITEABLE             648         0.82-0.95    0.65-0.71
 *   direct writes (here)      857         0.53-0.65    0.42-0.55
 * and in a second sitting, 3 runs each: 738 against 1112 MB/s, agent
 * CPU 0.76-0.88 against 0.45-0.54 s/GiB.
 * bench/fs's cold sequential read (mirror rows, which read the disk
 * too) could not tell them apart on that machine: best of 3 interleaved
 * runs 274 MB/s through lws, 227 direct, single runs anywhere from 118
 * to 330 MB/s.
 *
 * A client pins a TLS server's certificate by its SHA-256 in OpenSSL's
 * verify callback, and sends nothing (not even the HTTP upgrade) unless
 * the pin matched.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>
#include <openssl/x509.h>

#include "clock.h"
#include "log.h"
#include "proto.h"
#include "tlscert.h"
#include "ws.h"
#include "ws-int.h"
#include "wsframe.h"
#include "xmalloc.h"

__thread int ws_io_thread;

int
ws_on_io_thread(void)
{
	return ws_io_thread;
}

static void
ws_log_emit(int level, const char *line)
{
	char buf[512];
	size_t n;

	snprintf(buf, sizeof(buf), "%s", line);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (level & LLL_ERR)
		log_warnx("websocket: %s", buf);
	else
		log_debug("websocket: %s", buf);
}

void
ws_conn_ref(struct ws_conn *c)
{
	atomic_fetch_add(&c->refs, 1);
}

void
ws_conn_unref(struct ws_conn *c)
{
	struct ws_msg *m, *next;

	if (atomic_fetch_sub(&c->refs, 1) > 1)
		return;
	for (m = c->outq; m != NULL; m = next) {
		next = m->next;
		ws_msg_free(m);
	}
	x_free(c->rx);
	x_free(c->tx);
	pthread_mutex_destroy(&c->mtx);
	x_free(c);
}

/* c->tx is made on the first TLS write (see conn_write_tls): a
 * connection that never writes, as most failed hellos, never has one. */
static struct ws_conn *
conn_new(struct ws_ctx *ctx)
{
	struct ws_conn *c = xcalloc(1, sizeof(*c));

	c->ctx = ctx;
	atomic_init(&c->refs, 1);	/* held by the wsi */
	c->fd = -1;
	pthread_mutex_init(&c->mtx, NULL);
	return c;
}

/* Service thread: c leaves the list of connections waiting for a hello. */
static void
pre_remove(struct ws_conn *c)
{
	struct ws_ctx *ctx = c->ctx;

	if (!c->on_pre)
		return;
	if (c->pre_prev)
		c->pre_prev->pre_next = c->pre_next;
	else
		ctx->pre_head = c->pre_next;
	if (c->pre_next)
		c->pre_next->pre_prev = c->pre_prev;
	else
		ctx->pre_tail = c->pre_prev;
	c->pre_prev = c->pre_next = NULL;
	c->on_pre = 0;
	ctx->npre--;
}

/* Service thread: close an unauthenticated connection (lws does it on
 * its next round; on_close gets why). */
static void
pre_kill(struct ws_conn *c, const char *why)
{
	pre_remove(c);
	snprintf(c->close_why, sizeof(c->close_why), "%s", why);
	if (c->wsi != NULL)
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK,
		    LWS_TO_KILL_ASYNC);
}

/* Service thread: a new upgraded connection waits for its hello. Past
 * WS_PREAUTH_CONNS the oldest waiting one goes: whoever holds many
 * open cannot keep a real client (which is done in milliseconds) out. */
static void
pre_add(struct ws_conn *c)
{
	struct ws_ctx *ctx = c->ctx;

	c->born = mono_now();
	c->pre_prev = ctx->pre_tail;
	if (ctx->pre_tail)
		ctx->pre_tail->pre_next = c;
	else
		ctx->pre_head = c;
	ctx->pre_tail = c;
	c->on_pre = 1;
	ctx->npre++;
	if (ctx->npre > WS_PREAUTH_CONNS)
		pre_kill(ctx->pre_head, "too many connections waiting to "
		    "authenticate");
}

/* Service thread, every tick: close connections that did not
 * authenticate within WS_PREAUTH_SECS. */
static void
pre_sweep(struct ws_ctx *ctx)
{
	double now = mono_now();

	while (ctx->pre_head != NULL &&
	    now - ctx->pre_head->born >= WS_PREAUTH_SECS)
		pre_kill(ctx->pre_head, "no hello within the time allowed");
}

void
ws_conn_set_data(struct ws_conn *c, void *data)
{
	c->data = data;
}

void *
ws_conn_data(struct ws_conn *c)
{
	return c->data;
}

void
ws_conn_authenticated(struct ws_conn *c)
{
	if (c->authed)
		return;
	c->authed = 1;
	pre_remove(c);
}

const char *
ws_conn_peer(struct ws_conn *c)
{
	return c->peer;
}

/* Service thread: the connection is gone; tell the owner once. */
static void
conn_closed(struct ws_conn *c, const char *why)
{
	struct ws_ctx *ctx = c->ctx;

	/* Before lws closes the socket: nobody may write to its number
	 * once it can belong to another connection. */
	pthread_mutex_lock(&c->mtx);
	c->done = 1;
	pthread_mutex_unlock(&c->mtx);
	ws_rx_stop(c);
	c->wsi = NULL;
	if (ctx->server && !c->authed)
		ctx->nfailed++;
	pre_remove(c);
	if (!c->close_reported) {
		c->close_reported = 1;
		if (ctx->h->on_close)
			ctx->h->on_close(c, why, ctx->arg);
	}
	ws_conn_unref(c);	/* the wsi's reference */
}

/* Service thread: act on what other threads queued. */
static void
ctx_drain_pending(struct ws_ctx *ctx)
{
	struct ws_conn *list, *c;
	int woken;

	pthread_mutex_lock(&ctx->mtx);
	list = ctx->pending;
	ctx->pending = NULL;
	woken = ctx->woken;
	ctx->woken = 0;
	for (c = list; c != NULL; c = c->pending_next)
		c->pending = 0;
	pthread_mutex_unlock(&ctx->mtx);

	while ((c = list) != NULL) {
		list = c->pending_next;
		if (c->wsi != NULL)
			lws_callback_on_writable(c->wsi);
		ws_conn_unref(c);
	}
	if (woken && ctx->h->on_wake)
		ctx->h->on_wake(ctx->arg);
}

/* Small messages (a 1-byte request) go out at once, never held back
 * behind an unacknowledged one. */
static void
set_nodelay(int fd)
{
	int one = 1;

	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
}

/* Service thread, the handshake is done: from now on frames go out as
 * the top comment says. Unless lws still holds part of its handshake
 * reply, senders may write at once; else ws_conn_writable lets them once
 * lws wrote it. */
static void
conn_open(struct ws_conn *c, struct lws *wsi)
{
	c->wsi = wsi;
	c->opened = 1;
	c->fd = lws_get_socket_fd(wsi);
	set_nodelay(c->fd);
	pthread_mutex_lock(&c->mtx);
	c->up = !lws_partial_buffered(wsi);
	pthread_mutex_unlock(&c->mtx);
	lws_callback_on_writable(wsi);	/* what was queued before */
}

/*
 * Client, service thread, inside the TLS handshake: OpenSSL's verdict on
 * each certificate of the server's chain (x is its X509_STORE_CTX). No
 * CA signed the agent's certificate and its name is not checked: the
 * pinned hash of the leaf is the whole trust, so every other error is
 * overruled and a leaf that is not the pinned one fails the handshake.
 * Returns 0 to accept, 1 to refuse (lws's convention).
 */
static int
pin_verify(struct ws_conn *c, void *x)
{
	X509_STORE_CTX *xs = x;
	X509 *cert;
	uint8_t fp[TLSCERT_FP_LEN];
	char got[TLSCERT_FP_HEX_LEN + 1], want[TLSCERT_FP_HEX_LEN + 1];

	if (c == NULL || !c->tls)
		return 1;
	if (X509_STORE_CTX_get_error_depth(xs) > 0) {
		/* Issuers the server sent are neither trusted nor needed. */
		X509_STORE_CTX_set_error(xs, X509_V_OK);
		return 0;
	}
	cert = X509_STORE_CTX_get_current_cert(xs);
	memset(fp, 0, sizeof(fp));
	if (cert != NULL && tlscert_fp_x509(cert, fp) == 0 &&
	    memcmp(fp, c->pin, sizeof(fp)) == 0) {
		c->pin_ok = 1;
		X509_STORE_CTX_set_error(xs, X509_V_OK);
		return 0;
	}
	c->pin_ok = 0;
	c->pin_refused = 1;
	tlscert_fp_hex(fp, got);
	tlscert_fp_hex(c->pin, want);
	snprintf(c->close_why, sizeof(c->close_why), "certificate sha256=%.16s"
	    "... is not the pinned sha256=%.16s... (wrong "
	    "--fingerprint, or not our agent)", got, want);
	X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_REJECTED);
	return 1;
}

int
ws_conn_pin_refused(struct ws_conn *c)
{
	return c->pin_refused;
}

static int
ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct lws_context *lctx = lws_get_context(wsi);
	struct ws_ctx *ctx = lws_context_user(lctx);
	struct ws_conn *c = lws_get_opaque_user_data(wsi);
	char why[256];

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		c = conn_new(ctx);
		c->wsi = wsi;
		lws_get_peer_simple(wsi, c->peer, sizeof(c->peer));
		{
			size_t pl = strlen(c->peer);
			int fd = lws_get_socket_fd(wsi);
			struct sockaddr_storage ss = { 0 };
			socklen_t sl = sizeof(ss);

			if (fd >= 0 && getpeername(fd, (struct sockaddr *)&ss,
			    &sl) == 0 && ss.ss_family == AF_INET)
				snprintf(c->peer + pl, sizeof(c->peer) - pl,
				    ":%u", ntohs(((struct sockaddr_in *)&ss)->sin_port));
			else if (fd >= 0 && ss.ss_family == AF_INET6)
				snprintf(c->peer + pl, sizeof(c->peer) - pl,
				    ":%u", ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
		}
		lws_set_opaque_user_data(wsi, c);
		c->tls = lws_is_ssl(wsi);
		conn_open(c, wsi);
		pre_add(c);
		if (ctx->h->on_open)
			ctx->h->on_open(c, ctx->arg);
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (c == NULL)
			break;
		conn_open(c, wsi);
		ws_rx_start(c, wsi);
		if (ctx->h->on_open)
			ctx->h->on_open(c, ctx->arg);
		break;
	case LWS_CALLBACK_RECEIVE:
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (c == NULL)
			return -1;
		return ws_conn_receive(c, wsi, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (c == NULL)
			return -1;
		return ws_conn_writable(c, wsi);
	case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
		return pin_verify(c, user);
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		/* The last moment before our first byte goes out. */
		if (c != NULL && c->tls && !c->pin_ok) {
			if (c->close_why[0] == '\0')
				snprintf(c->close_why, sizeof(c->close_why),
				    "the agent's certificate was not checked "
				    "against the pinned fingerprint");
			c->pin_refused = 1;
			return -1;
		}
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (c == NULL)
			break;
		snprintf(why, sizeof(why), "%s", c->close_why[0] ?
		    c->close_why : in ? (const char *)in : "connection failed");
		lws_set_opaque_user_data(wsi, NULL);
		conn_closed(c, why);
		break;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (c != NULL && c->close_why[0] == '\0') {
			unsigned int code = len >= 2 ? (((uint8_t *)in)[0] << 8) |
			    ((uint8_t *)in)[1] : 0;

			snprintf(c->close_why, sizeof(c->close_why),
			    "peer closed the connection (code %u)", code);
		}
		/* lws answers with its close frame: no sender may write
		 * beside it. */
		if (c != NULL) {
			pthread_mutex_lock(&c->mtx);
			c->done = 1;
			pthread_mutex_unlock(&c->mtx);
		}
		break;
	case LWS_CALLBACK_CLOSED:
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (c == NULL)
			break;
		if (c->close_why[0] == '\0' && ctx->server && c->authed)
			log_warnx("connection from %s dropped: websocket "
			    "protocol error or connection lost", c->peer);
		lws_set_opaque_user_data(wsi, NULL);
		conn_closed(c, c->close_why[0] ? c->close_why :
		    "connection closed");
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		/* A client wsi that died before ESTABLISHED or ERROR. */
		if (c != NULL) {
			lws_set_opaque_user_data(wsi, NULL);
			conn_closed(c, "connection failed");
		}
		break;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		ctx_drain_pending(ctx);
		break;
	default:
		break;
	}
	return 0;
}

static struct ws_ctx *
ctx_new(const struct ws_handlers *h, void *arg, int server, const char *host,
    int port, int *bound, int tls, const struct ws_tls_id *id)
{
	struct lws_context_creation_info info;
	struct ws_ctx *ctx = xcalloc(1, sizeof(*ctx));
	int lvl = LLL_ERR;

	if (log_get_level() >= LOG_LVL_DEBUG)
		lvl |= LLL_WARN | LLL_NOTICE;
	lws_set_log_level(lvl, ws_log_emit);

	ctx->h = h;
	ctx->arg = arg;
	ctx->server = server;
	pthread_mutex_init(&ctx->mtx, NULL);
	ctx->protocols[0].name = WS_PROTOCOL;
	ctx->protocols[0].callback = ws_callback;
	ctx->protocols[0].per_session_data_size = 0;
	ctx->protocols[0].rx_buffer_size = WS_CHUNK;

	memset(&info, 0, sizeof(info));
	info.protocols = ctx->protocols;
	info.user = ctx;
	info.gid = -1;
	info.uid = -1;
	info.pt_serv_buf_size = WS_CHUNK;
	if (tls)
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	if (server) {
		info.port = port;
		info.iface = host;
		info.vhost_name = "mirror";
		/* A connection that never finishes its HTTP upgrade goes
		 * after as long as one that never says hello. */
		info.timeout_secs = WS_PREAUTH_SECS;
		/* Each connection in its upgrade holds a header buffer
		 * (lws's "ah") of this size; our clients' upgrade requests
		 * are a few hundred bytes. */
		info.max_http_header_data = 2048;
		info.options |= LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
		if (id != NULL) {
			info.server_ssl_cert_mem = id->cert_pem;
			info.server_ssl_cert_mem_len = (unsigned int)id->cert_len;
			info.server_ssl_private_key_mem = id->key_pem;
			info.server_ssl_private_key_mem_len =
			    (unsigned int)id->key_len;
		}
	} else
		info.port = CONTEXT_PORT_NO_LISTEN;
	ctx->lws = lws_create_context(&info);
	if (ctx->lws == NULL) {
		log_warnx("cannot create the websocket context");
		goto fail;
	}
	if (server) {
		ctx->vhost = lws_create_vhost(ctx->lws, &info);
		if (ctx->vhost == NULL) {
			log_warnx("cannot listen on %s:%d (address in use or "
			    "not local?)", host, port);
			goto fail;
		}
		if (bound)
			*bound = lws_get_vhost_listen_port(ctx->vhost);
	}
	return ctx;
fail:
	if (ctx->lws)
		lws_context_destroy(ctx->lws);
	pthread_mutex_destroy(&ctx->mtx);
	x_free(ctx);
	return NULL;
}

struct ws_ctx *
ws_server_new(const char *host, int port, const struct ws_handlers *h,
    void *arg, int *bound)
{
	return ctx_new(h, arg, 1, host, port, bound, 0, NULL);
}

struct ws_ctx *
ws_server_new_tls(const char *host, int port, const struct ws_tls_id *id,
    const struct ws_handlers *h, void *arg, int *bound)
{
	return ctx_new(h, arg, 1, host, port, bound, 1, id);
}

struct ws_ctx *
ws_client_new(const struct ws_handlers *h, void *arg, int tls)
{
	return ctx_new(h, arg, 0, NULL, 0, NULL, tls, NULL);
}

int
ws_client_connect(struct ws_ctx *ctx, const char *host, int port,
    const char *path, const uint8_t *pin, struct ws_conn **out)
{
	struct lws_client_connect_info ci;
	struct ws_conn *c = conn_new(ctx);

	snprintf(c->peer, sizeof(c->peer), "%s:%d", host, port);
	memset(&ci, 0, sizeof(ci));
	ci.context = ctx->lws;
	ci.address = host;
	ci.port = port;
	ci.path = path ? path : "/";
	ci.host = host;
	ci.origin = host;
	ci.protocol = WS_PROTOCOL;
	ci.opaque_user_data = c;
	ci.pwsi = &c->wsi;
	if (pin != NULL) {
		/* No CA and no name to check: pin_verify is the check. */
		c->tls = 1;
		memcpy(c->pin, pin, sizeof(c->pin));
		ci.ssl_connection = LCCSCF_USE_SSL |
		    LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
	}
	ws_conn_ref(c);		/* for *out */
	if (lws_client_connect_via_info(&ci) == NULL) {
		/* lws may already have reported the error through the
		 * callback; conn_closed dropped the wsi's reference then. */
		if (!c->close_reported) {
			c->close_reported = 1;
			c->done = 1;
			ws_conn_unref(c);
		}
		ws_conn_unref(c);
		*out = NULL;
		return -ECONNREFUSED;
	}
	*out = c;
	return 0;
}

/* Service thread: the tick timer fired; call on_tick, then rearm. */
static void
ctx_tick(lws_sorted_usec_list_t *sul)
{
	struct ws_ctx *ctx = lws_container_of(sul, struct ws_ctx, tick);

	if (ctx->server) {
		pre_sweep(ctx);
		/* What unauthenticated peers made us allocate goes back to
		 * the system, not just to malloc's free lists. */
		if (ctx->nfailed > 0 && ctx->npre == 0)
			malloc_trim(0);
		if (ctx->npre == 0)
			ctx->nfailed = 0;
	}
	if (ctx->h->on_tick)
		ctx->h->on_tick(ctx->arg);
	if (!ctx->stop)
		lws_sul_schedule(ctx->lws, 0, &ctx->tick, ctx_tick,
		    (lws_usec_t)WS_TICK_MS * 1000);
}

void
ws_run(struct ws_ctx *ctx)
{
	ws_io_thread = 1;
	if (ctx->h->on_tick || ctx->server)
		lws_sul_schedule(ctx->lws, 0, &ctx->tick, ctx_tick,
		    (lws_usec_t)WS_TICK_MS * 1000);
	while (!ctx->stop)
		if (lws_service(ctx->lws, 0) < 0)
			break;
	lws_sul_cancel(&ctx->tick);
}

void
ws_stop(struct ws_ctx *ctx)
{
	ctx->stop = 1;
	lws_cancel_service(ctx->lws);
}

void
ws_wake(struct ws_ctx *ctx)
{
	pthread_mutex_lock(&ctx->mtx);
	ctx->woken = 1;
	pthread_mutex_unlock(&ctx->mtx);
	lws_cancel_service(ctx->lws);
}

void
ws_ctx_free(struct ws_ctx *ctx)
{
	struct ws_conn *c;

	if (ctx == NULL)
		return;
	lws_context_destroy(ctx->lws);
	/* Kicks that came after the last service round hold references. */
	while ((c = ctx->pending) != NULL) {
		ctx->pending = c->pending_next;
		c->pending = 0;
		ws_conn_unref(c);
	}
	pthread_mutex_destroy(&ctx->mtx);
	x_free(ctx);
}

int
ws_parse_url(const char *url, char *host, size_t hostsz, int *port, int *tls)
{
	const char *p = url, *colon, *end;
	char *ep;
	long v;

	*tls = 0;
	if (strncmp(p, "ws://", 5) == 0)
		p += 5;
	else if (strncmp(p, "wss://", 6) == 0) {
		p += 6;
		*tls = 1;
	}
	end = p + strcspn(p, "/");
	if (*p == '[') {		/* [v6]:port */
		const char *rb = memchr(p, ']', end - p);

		if (rb == NULL || rb[1] != ':')
			return -EINVAL;
		if ((size_t)(rb - p - 1) >= hostsz)
			return -ENAMETOOLONG;
		memcpy(host, p + 1, rb - p - 1);
		host[rb - p - 1] = '\0';
		colon = rb + 1;
	} else {
		colon = memchr(p, ':', end - p);
		if (colon == NULL || colon == p)
			return -EINVAL;
		if ((size_t)(colon - p) >= hostsz)
			return -ENAMETOOLONG;
		memcpy(host, p, colon - p);
		host[colon - p] = '\0';
	}
	errno = 0;
	v = strtol(colon + 1, &ep, 10);
	if (errno || ep != end || v < 0 || v > 65535)
		return -EINVAL;
	*port = (int)v;
	return 0;
}
