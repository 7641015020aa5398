/*
 * The client's connection to the agent, for mountd and netd: a slot
 * table of requests in flight
 * (the id names the slot), a transport thread running the websocket loop
 * and a timer thread that fails late requests with EIO and asks for
 * reconnections.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "client.h"
#include "clock.h"
#include "log.h"
#include "tlscert.h"
#include "ws.h"
#include "xmalloc.h"

#define SLOT_BITS	16
#define SLOT_RESERVE	64	/* for calls made from callbacks */
#define TIMER_TICK_MS	100	/* the timer thread's round: timeouts, retry */
#define EXPIRE_BATCH	256	/* timed-out calls answered per round */
#define CLOSE_WAIT_S	0.5	/* client_stop: for the close handshake */

/* C_HELLO: our hello sent, the agent's proof awaited; C_PROOF: ours
 * sent, the welcome awaited. */
enum cstate { C_DOWN, C_CONNECTING, C_HELLO, C_PROOF, C_READY, C_STOPPED };

struct slot {
	uint32_t	 id;
	int		 busy;
	client_cb	 cb;
	void		*arg;
	double		 deadline;
	int		 next_free;
};

struct client {
	char		 host[256];
	int		 port;
	int		 tls;		/* wss://: pin set by client_pin */
	int		 pinned;
	uint8_t		 pin[TLSCERT_FP_LEN];
	uint8_t		 key[AUTH_KEY_LEN];	/* SHA-256(token) */
	double		 timeout;
	struct ws_ctx	*ws;
	pthread_t	 svc_thread, timer_thread;

	pthread_mutex_t	 mtx;		/* protects everything below */
	pthread_cond_t	 cv;		/* state changes, free slots */
	enum cstate	 state;
	struct ws_conn	*conn;
	uint64_t	 epoch;
	struct slot	*slots;
	int		 nslots, nblocking;	/* nblocking: cap for waiters */
	int		 free_head, nbusy;
	uint32_t	 seq;
	double		 next_retry, backoff;
	int		 auth_failed;
	int		 pin_refused;	/* the last connect met another cert */
	char		 why[600];
	int		 stopping;
	uint32_t	 caps;		/* the agent's, from its hello */
	struct auth_state auth;		/* the hello in progress */
	client_stream_cb on_stream;	/* set before start */
	client_link_cb	 on_link;
	void		*stream_arg;
};

struct client *
client_new(const char *url, const char *token, double timeout,
    int max_inflight)
{
	struct client *c = xcalloc(1, sizeof(*c));
	int i;

	if (ws_parse_url(url, c->host, sizeof(c->host), &c->port,
	    &c->tls) < 0) {
		x_free(c);
		return NULL;
	}
	auth_key_from_token(token, strlen(token), c->key);
	c->timeout = timeout;
	if (max_inflight > (1 << SLOT_BITS) - SLOT_RESERVE)
		max_inflight = (1 << SLOT_BITS) - SLOT_RESERVE;
	c->nblocking = max_inflight;
	c->nslots = max_inflight + SLOT_RESERVE;
	c->slots = xcalloc(c->nslots, sizeof(*c->slots));
	for (i = 0; i < c->nslots; i++)
		c->slots[i].next_free = i + 1 < c->nslots ? i + 1 : -1;
	c->free_head = 0;
	c->backoff = 0.2;
	pthread_mutex_init(&c->mtx, NULL);
	pthread_cond_init(&c->cv, NULL);
	return c;
}

int
client_pin(struct client *c, const char *fingerprint, const char **why)
{
	if (fingerprint == NULL) {
		*why = "a wss:// agent needs its certificate's fingerprint "
		    "(--fingerprint HEX, from the agent's ready line)";
		return c->tls ? -EINVAL : 0;
	}
	if (!c->tls) {
		*why = "--fingerprint is for wss:// agents only";
		return -EINVAL;
	}
	if (tlscert_fp_parse(fingerprint, c->pin) < 0) {
		*why = "--fingerprint wants the 64 hex digits of a SHA-256";
		return -EINVAL;
	}
	c->pinned = 1;
	return 0;
}

uint64_t
client_epoch(struct client *c)
{
	uint64_t e;

	pthread_mutex_lock(&c->mtx);
	e = c->epoch;
	pthread_mutex_unlock(&c->mtx);
	return e;
}

/* Takes the slot of id out of the table if it is still waiting. */
static int
slot_take(struct client *c, uint32_t id, client_cb *cb, void **arg)
{
	int i = (int)(id & ((1u << SLOT_BITS) - 1));
	struct slot *s;

	if (i >= c->nslots)
		return 0;
	s = &c->slots[i];
	if (!s->busy || s->id != id)
		return 0;
	*cb = s->cb;
	*arg = s->arg;
	s->busy = 0;
	s->next_free = c->free_head;
	c->free_head = i;
	c->nbusy--;
	pthread_cond_broadcast(&c->cv);
	return 1;
}

/* Fails every request in flight (the connection is gone). Unlocked. */
static void
fail_all(struct client *c)
{
	client_cb cbs[EXPIRE_BATCH];
	void *args[EXPIRE_BATCH];
	int i, n;

	do {
		n = 0;
		pthread_mutex_lock(&c->mtx);
		for (i = 0; i < c->nslots && n < EXPIRE_BATCH; i++)
			if (c->slots[i].busy)
				slot_take(c, c->slots[i].id, &cbs[n], &args[n]),
				    n++;
		pthread_mutex_unlock(&c->mtx);
		for (i = 0; i < n; i++)
			cbs[i](args[i], -EIO, NULL);
	} while (n == 256);
}

/* Sends a message built in b (and frees it). */
static void
send_built(struct ws_conn *conn, struct proto_buf *b)
{
	if (proto_finish(b) == 0) {
		ws_send(conn, b->data, b->len);
		b->data = NULL;
	}
	proto_buf_free(b);
}

static void
on_open(struct ws_conn *conn, void *arg)
{
	struct client *c = arg;
	struct proto_buf b;

	proto_buf_init(&b, 128);
	pthread_mutex_lock(&c->mtx);
	c->state = C_HELLO;
	auth_client_hello(&c->auth, c->key, 0, &b);
	pthread_mutex_unlock(&c->mtx);
	send_built(conn, &b);
}

/* The hello failed for a reason retrying will not cure. Locked. */
static void
hello_failed(struct client *c)
{
	c->auth_failed = 1;
	auth_clear(&c->auth);
	pthread_cond_broadcast(&c->cv);
	if (c->epoch > 0)	/* at start, the caller says it */
		log_warnx("authentication failed: %s", c->why);
}

/* A hello step from the agent (see proto.h). The agent proves it knows
 * the token before we send anything that depends on it. */
static int
on_hello(struct client *c, struct ws_conn *conn, const struct proto_hdr *h,
    struct proto_cur *p, const char **why)
{
	struct proto_buf b;
	char server[PROTO_NAME_MAX + 1];
	uint32_t caps = 0;
	int rc;

	proto_buf_init(&b, 128);
	pthread_mutex_lock(&c->mtx);
	switch (c->state) {
	case C_HELLO:
		rc = auth_client_challenge(&c->auth, h, p, &b);
		if (rc == -EACCES) {
			snprintf(c->why, sizeof(c->why), "the agent at %s:%d "
			    "did not prove it knows the session token: not our "
			    "agent (or not our token)", c->host, c->port);
			hello_failed(c);
			*why = "the agent did not prove it knows the token";
			goto fail;
		}
		if (rc < 0)
			goto bad;
		c->state = C_PROOF;
		pthread_mutex_unlock(&c->mtx);
		send_built(conn, &b);
		return 0;
	case C_PROOF:
		rc = auth_client_welcome(&c->auth, h, p, &caps, server,
		    sizeof(server));
		if (rc == -EACCES) {
			snprintf(c->why, sizeof(c->why), "the agent at %s:%d "
			    "refused our proof of the token", c->host, c->port);
			hello_failed(c);
			*why = "authentication failed";
			goto fail;
		}
		if (rc < 0)
			goto bad;
		break;
	default:
		*why = "a second hello from the agent";
		rc = -EPROTO;
		goto fail;
	}
	auth_clear(&c->auth);
	c->state = C_READY;
	c->caps = caps;
	c->epoch++;
	c->backoff = 0.2;
	c->auth_failed = 0;
	c->why[0] = '\0';
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mtx);
	proto_buf_free(&b);
	/* The first time is the caller's "ready"; a reconnection is news. */
	if (c->epoch > 1)
		log_info("connected to the agent at %s:%d again", c->host,
		    c->port);
	else
		log_debug("connected to the agent at %s:%d (%s)", c->host,
		    c->port, server);
	if (c->on_link)
		c->on_link(c->stream_arg, 1);
	return 0;
bad:
	*why = "malformed hello from the agent";
	rc = -EBADMSG;
fail:
	pthread_mutex_unlock(&c->mtx);
	proto_buf_free(&b);
	return rc;
}

static int
on_message(struct ws_conn *conn, const uint8_t *msg, size_t len,
    const char **why, void *arg)
{
	struct client *c = arg;
	struct proto_hdr h;
	struct proto_cur cur;
	client_cb cb;
	void *cbarg;
	int found;

	if (len > 0 && msg[0] != PROTO_VERSION) {
		pthread_mutex_lock(&c->mtx);
		if (c->state != C_READY) {
			snprintf(c->why, sizeof(c->why), "the agent at %s:%d "
			    "speaks protocol version %u, this client %u: use "
			    "the same mirror version on both sides", c->host,
			    c->port, msg[0], PROTO_VERSION);
			hello_failed(c);
		}
		pthread_mutex_unlock(&c->mtx);
		*why = "unsupported protocol version from the agent";
		return -EPROTONOSUPPORT;
	}
	if (proto_hdr_decode(msg, len, &h, &cur) < 0) {
		*why = "malformed message from the agent";
		return -EBADMSG;
	}
	if (h.kind == MSG_HELLO)
		return on_hello(c, conn, &h, &cur, why);
	if (!client_ready(c)) {
		/* Nothing from an agent that has not proved itself. */
		*why = "a message from the agent before the hello was done";
		return -EPROTO;
	}
	if (h.kind == MSG_STREAM) {
		if (c->on_stream)
			c->on_stream(c->stream_arg, &h, &cur);
		return 0;
	}
	if (h.kind != MSG_REPLY) {
		*why = "unexpected message kind from the agent";
		return -EBADMSG;
	}
	pthread_mutex_lock(&c->mtx);
	found = slot_take(c, h.id, &cb, &cbarg);
	pthread_mutex_unlock(&c->mtx);
	if (!found) {
		log_debug("late or unknown reply id %u (%s)", h.id,
		    proto_op_name(h.op));
		return 0;
	}
	if (h.status != 0)
		cb(cbarg, h.status < 4096 ? -(int)h.status : -EIO, NULL);
	else
		cb(cbarg, 0, &cur);
	return 0;
}

static void
on_close(struct ws_conn *conn, const char *why, void *arg)
{
	struct client *c = arg;
	int was_ready, in_hello, owned = 0;

	pthread_mutex_lock(&c->mtx);
	if (c->conn == conn) {
		c->conn = NULL;
		owned = 1;
	} else if (c->state != C_CONNECTING) {
		pthread_mutex_unlock(&c->mtx);
		return;		/* an old connection */
	}
	/* else: the connect failed before on_wake stored it */
	was_ready = c->state == C_READY;
	in_hello = c->state == C_HELLO || c->state == C_PROOF;
	if (c->state != C_STOPPED)
		c->state = C_DOWN;
	c->pin_refused = ws_conn_pin_refused(conn);
	if (c->pin_refused)
		snprintf(c->why, sizeof(c->why), "the agent at %s:%d: %s",
		    c->host, c->port, why);
	else if (!c->auth_failed && in_hello)
		snprintf(c->why, sizeof(c->why), "the agent at %s:%d closed "
		    "the connection during the hello (%s): is it a "
		    "mirror-agent of the same version (protocol %u)?",
		    c->host, c->port, why, PROTO_VERSION);
	else if (!c->auth_failed)
		snprintf(c->why, sizeof(c->why), "cannot reach the agent at "
		    "%s:%d: %s", c->host, c->port, why);
	c->next_retry = mono_now() + c->backoff;
	/* At most a second between tries: an agent that is back is in
	 * use again within about a second. */
	c->backoff = c->backoff * 2 > 1.0 ? 1.0 : c->backoff * 2;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mtx);
	if (was_ready)
		log_warnx("lost the agent at %s:%d (%s); reconnecting (until "
		    "then file operations fail with EIO, new connections are "
		    "refused)", c->host, c->port, why);
	else if (c->pin_refused && c->epoch > 0)	/* at start: the caller */
		log_warnx("%s", c->why);
	if (owned)
		ws_conn_unref(conn);
	fail_all(c);
	if (was_ready && c->on_link)
		c->on_link(c->stream_arg, 0);
}

/* Transport thread: start a connection if one is due. */
static void
on_wake(void *arg)
{
	struct client *c = arg;
	struct ws_conn *conn = NULL;
	int rc;

	pthread_mutex_lock(&c->mtx);
	if (c->state != C_DOWN || c->stopping || mono_now() < c->next_retry) {
		pthread_mutex_unlock(&c->mtx);
		return;
	}
	c->state = C_CONNECTING;
	pthread_mutex_unlock(&c->mtx);
	rc = ws_client_connect(c->ws, c->host, c->port, "/",
	    c->tls ? c->pin : NULL, &conn);
	pthread_mutex_lock(&c->mtx);
	if (rc < 0 || conn == NULL) {
		if (c->state == C_CONNECTING)
			c->state = C_DOWN;
		c->next_retry = mono_now() + c->backoff;
		snprintf(c->why, sizeof(c->why), "cannot reach the agent at "
		    "%s:%d", c->host, c->port);
	} else if (c->state == C_CONNECTING || c->state == C_HELLO ||
	    c->state == C_PROOF)
		c->conn = conn;		/* our reference from connect */
	else
		ws_conn_unref(conn);	/* closed already */
	pthread_mutex_unlock(&c->mtx);
}

static const struct ws_handlers handlers = {
	.on_open = on_open,
	.on_message = on_message,
	.on_close = on_close,
	.on_wake = on_wake,
};

static void *
svc_main(void *arg)
{
	struct client *c = arg;

	ws_run(c->ws);
	return NULL;
}

/* ts = now + s on the realtime clock, for pthread_cond_timedwait. */
static void
deadline_in(struct timespec *ts, double s)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += (time_t)s;
	ts->tv_nsec += (long)((s - (double)(time_t)s) * 1e9);
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *
timer_main(void *arg)
{
	struct client *c = arg;
	client_cb cbs[EXPIRE_BATCH];
	void *args[EXPIRE_BATCH];
	struct timespec ts;
	double t;
	int i, n, wake;

	for (;;) {
		/* A round every TIMER_TICK_MS; client_stop ends the wait at
		 * once (it broadcasts cv). */
		pthread_mutex_lock(&c->mtx);
		deadline_in(&ts, TIMER_TICK_MS / 1e3);
		while (!c->stopping &&
		    pthread_cond_timedwait(&c->cv, &c->mtx, &ts) != ETIMEDOUT)
			;
		if (c->stopping) {
			pthread_mutex_unlock(&c->mtx);
			return NULL;
		}
		n = 0;
		t = mono_now();
		for (i = 0; i < c->nslots && n < EXPIRE_BATCH; i++)
			if (c->slots[i].busy && c->slots[i].deadline < t &&
			    slot_take(c, c->slots[i].id, &cbs[n], &args[n]))
				n++;
		wake = c->state == C_DOWN && t >= c->next_retry;
		pthread_mutex_unlock(&c->mtx);
		if (n > 0)
			log_warnx("%d request(s) to the agent timed out", n);
		for (i = 0; i < n; i++)
			cbs[i](args[i], -EIO, NULL);
		if (wake)
			ws_wake(c->ws);
	}
}

int
client_start(struct client *c, double wait_s, const char **why)
{
	struct timespec ts;
	double deadline = mono_now() + wait_s;
	sigset_t all, old;
	int rc = 0;

	if (c->tls && !c->pinned) {
		*why = "a wss:// agent needs a pinned fingerprint";
		return -EINVAL;
	}
	c->ws = ws_client_new(&handlers, c, c->tls);
	if (c->ws == NULL) {
		*why = "cannot create the websocket context";
		return -ENOMEM;
	}
	c->state = C_DOWN;
	c->next_retry = 0;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (pthread_create(&c->svc_thread, NULL, svc_main, c) != 0 ||
	    pthread_create(&c->timer_thread, NULL, timer_main, c) != 0)
		fatalx("cannot start the client threads");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	ws_wake(c->ws);

	pthread_mutex_lock(&c->mtx);
	while (c->state != C_READY && !c->auth_failed && !c->pin_refused) {
		double left = deadline - mono_now();

		if (left <= 0) {
			rc = -ETIMEDOUT;
			break;
		}
		deadline_in(&ts, left);
		pthread_cond_timedwait(&c->cv, &c->mtx, &ts);
	}
	if (c->auth_failed)
		rc = -EACCES;
	else if (c->pin_refused)
		rc = -EKEYREJECTED;
	*why = c->why[0] ? c->why : "the agent did not answer";
	pthread_mutex_unlock(&c->mtx);
	return rc;
}

void
client_stop(struct client *c)
{
	struct timespec ts;
	struct ws_conn *conn;

	pthread_mutex_lock(&c->mtx);
	c->stopping = 1;
	c->state = C_STOPPED;
	/* A websocket close frame, so that the agent sees an ordinary
	 * goodbye (not a lost connection); on_close clears c->conn. */
	if ((conn = c->conn) != NULL) {
		ws_conn_ref(conn);
		pthread_mutex_unlock(&c->mtx);
		ws_close(conn, "client stopping");
		ws_conn_unref(conn);
		pthread_mutex_lock(&c->mtx);
		deadline_in(&ts, CLOSE_WAIT_S);
		while (c->conn == conn &&
		    pthread_cond_timedwait(&c->cv, &c->mtx, &ts) != ETIMEDOUT)
			;
	}
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mtx);
	if (c->ws) {
		pthread_join(c->timer_thread, NULL);
		ws_stop(c->ws);
		pthread_join(c->svc_thread, NULL);
		fail_all(c);
		ws_ctx_free(c->ws);
		c->ws = NULL;
	}
	explicit_bzero(c->key, sizeof(c->key));
	auth_clear(&c->auth);
}

void
client_free(struct client *c)
{
	if (c == NULL)
		return;
	x_free(c->slots);
	pthread_mutex_destroy(&c->mtx);
	pthread_cond_destroy(&c->cv);
	x_free(c);
}

void
client_call(struct client *c, struct proto_buf *b, client_cb cb, void *arg)
{
	struct ws_conn *conn;
	struct slot *s;
	uint32_t id;
	int i, limit, on_svc;

	if (proto_finish(b) < 0) {
		proto_buf_free(b);
		cb(arg, -ENAMETOOLONG, NULL);
		return;
	}
	on_svc = ws_on_io_thread();
	pthread_mutex_lock(&c->mtx);
	/* Callers from the transport thread must not wait for it. */
	limit = on_svc ? c->nslots : c->nblocking;
	while (c->state == C_READY && c->nbusy >= limit && !on_svc)
		pthread_cond_wait(&c->cv, &c->mtx);
	if (c->state != C_READY || c->free_head < 0 || c->conn == NULL) {
		pthread_mutex_unlock(&c->mtx);
		proto_buf_free(b);
		cb(arg, -EIO, NULL);
		return;
	}
	i = c->free_head;
	s = &c->slots[i];
	c->free_head = s->next_free;
	c->nbusy++;
	c->seq++;
	id = (c->seq << SLOT_BITS) | (uint32_t)i;
	s->id = id;
	s->busy = 1;
	s->cb = cb;
	s->arg = arg;
	s->deadline = mono_now() + c->timeout;
	conn = c->conn;
	ws_conn_ref(conn);
	pthread_mutex_unlock(&c->mtx);

	proto_set_id(b, id);
	if (ws_send(conn, b->data, b->len) < 0) {
		client_cb fcb;
		void *farg;
		int found;

		pthread_mutex_lock(&c->mtx);
		found = slot_take(c, id, &fcb, &farg);
		pthread_mutex_unlock(&c->mtx);
		if (found)
			fcb(farg, -EIO, NULL);
	}
	b->data = NULL;
	ws_conn_unref(conn);
}

uint32_t
client_caps(struct client *c)
{
	uint32_t caps;

	pthread_mutex_lock(&c->mtx);
	caps = c->caps;
	pthread_mutex_unlock(&c->mtx);
	return caps;
}

void
client_set_stream_handler(struct client *c, client_stream_cb on_stream,
    client_link_cb on_link, void *arg)
{
	c->on_stream = on_stream;
	c->on_link = on_link;
	c->stream_arg = arg;
}

int
client_ready(struct client *c)
{
	int r;

	pthread_mutex_lock(&c->mtx);
	r = c->state == C_READY;
	pthread_mutex_unlock(&c->mtx);
	return r;
}

int
client_send(struct client *c, struct proto_buf *b)
{
	struct ws_conn *conn;
	int rc;

	if ((rc = proto_finish(b)) < 0) {
		proto_buf_free(b);
		return rc;
	}
	pthread_mutex_lock(&c->mtx);
	if (c->state != C_READY || c->conn == NULL) {
		pthread_mutex_unlock(&c->mtx);
		proto_buf_free(b);
		return -ENOTCONN;
	}
	conn = c->conn;
	ws_conn_ref(conn);
	pthread_mutex_unlock(&c->mtx);
	rc = ws_send(conn, b->data, b->len);
	b->data = NULL;
	ws_conn_unref(conn);
	return rc;
}

/* client_call_wait's rendezvous with the transport thread. */
struct call_wait {
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cv;
	int		 done, err;
	client_parse_cb	 parse;
	void		*arg;
};

static void
call_wait_cb(void *arg, int err, struct proto_cur *payload)
{
	struct call_wait *w = arg;

	if (err == 0 && w->parse != NULL)
		err = w->parse(w->arg, payload);
	pthread_mutex_lock(&w->mtx);
	w->err = err;
	w->done = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mtx);
}

int
client_call_wait(struct client *c, struct proto_buf *b, client_parse_cb parse,
    void *arg)
{
	struct call_wait w;

	if (ws_on_io_thread())
		fatalx("client_call_wait on the transport thread");
	memset(&w, 0, sizeof(w));
	pthread_mutex_init(&w.mtx, NULL);
	pthread_cond_init(&w.cv, NULL);
	w.parse = parse;
	w.arg = arg;
	client_call(c, b, call_wait_cb, &w);
	pthread_mutex_lock(&w.mtx);
	while (!w.done)
		pthread_cond_wait(&w.cv, &w.mtx);
	pthread_mutex_unlock(&w.mtx);
	pthread_mutex_destroy(&w.mtx);
	pthread_cond_destroy(&w.cv);
	return w.err;
}
