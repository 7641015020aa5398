/*
 * mirror-forward's data path (forward-relay.h).
 *
 * A connection accepted on a -L listener becomes a stream: STREAM_OPEN
 * asks the agent to connect from the pod to the forward's address, and
 * the accepted socket waits, unread, until STREAM_OPENED. Then the
 * stream engine (lib/stream.c) relays it under its credit, half-close
 * and reset rules; a refused connect resets the accepted socket, so the
 * local client sees what a client in the pod would see.
 *
 * Threads: the thread in fwd_relay_run owns every stream, the listeners
 * and the stream table. The client's reader thread calls
 * fwd_relay_on_stream for each MSG_STREAM and only queues it (q_mtx);
 * the eventfd wakes the owner. In epoll a stream is named by its id,
 * never by pointer, so an event for a stream freed earlier in the same
 * round finds nothing.
 *
 * -R: the pod's ports are stolen for this client (OP_INCOMING_SUB,
 * fwd_relay_subscribe; again after the agent's connection comes back,
 * since the agent drops a client's ports when it goes). Each connection
 * to one arrives as STREAM_ACCEPT, with an id of the agent's space, and
 * becomes a stream of the same table whose socket is a non-blocking
 * connect() to LHOST:LPORT here: STREAM_OPENED 0 and attach when it
 * completes, STREAM_OPENED errno (the agent resets the pod's client)
 * when it fails. What the agent sends meanwhile waits in the engine.
 * Only the open differs; the engine and the table are the same.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "forward-relay.h"
#include "log.h"
#include "proto.h"
#include "proto-net.h"
#include "stream.h"
#include "xmalloc.h"

/* What the agent may send on a stream before our credit. */
#define FWD_WINDOW	(4096u * 1024)
#define FWD_BUCKETS	1024
/* Connections at once; beyond, a new one is reset. */
#define FWD_STREAMS_MAX	4096
/* The agent's messages waiting for the owner: beyond this the reader
 * thread waits (and the agent's socket with it). */
#define FWD_QUEUE_MAX	(32u << 20)
#define FWD_ACCEPTS_PER_EVENT	64

/* epoll data: kind << 32 | a listener's index or a stream's id. */
enum { K_QUEUE = 1, K_SIGNAL, K_LISTEN, K_STREAM, K_CONNECT };
#define EV(kind, v)	((uint64_t)(kind) << 32 | (uint32_t)(v))

/* A connection through a forward. Owner thread only. */
struct fwd_stream {
	struct stream	 s;		/* the engine's part: id, fd, credit */
	const char	*from, *to;	/* the forward's ends, for messages */
	int		 held;		/* -L: accepted, waiting for STREAM_OPENED;
					 * -R: connecting */
	int		 opened;	/* attached */
	int		 reverse;	/* -R: the agent opened it */
	struct fwd_stream *idnext, *prev, *next;
};

struct fwd_item {
	struct fwd_item	*next;
	int		 kind;		/* IT_* */
	struct proto_hdr h;
	size_t		 len;
	uint8_t		 data[];
};
enum { IT_MSG, IT_UP, IT_DOWN };

static struct {
	/* set before the threads start, then read-only */
	struct client	*cl;
	int		 epfd, evfd;
	const char	*url;
	/* the queue: q_mtx */
	pthread_mutex_t	 q_mtx;
	pthread_cond_t	 q_cv;
	struct fwd_item	*q_head, *q_tail;
	size_t		 q_bytes;
	int		 q_closed;	/* the owner left: nobody drains */
	/* the owner's */
	struct fwd_listen *ls;
	int		 nls;
	struct fwd_rfwd	*rs;
	int		 nrs;
	struct fwd_stream *ids[FWD_BUCKETS];
	struct fwd_stream *all;
	int		 nstreams;
	uint32_t	 next_id;
	int		 up, warned_full;
} F;

/* ---- the queue (any thread in, the owner out) ---------------------- */

static void
queue_push(struct fwd_item *it)
{
	uint64_t one = 1;
	int wake;

	it->next = NULL;
	pthread_mutex_lock(&F.q_mtx);
	while (it->kind == IT_MSG && F.q_bytes > FWD_QUEUE_MAX && !F.q_closed)
		pthread_cond_wait(&F.q_cv, &F.q_mtx);
	if (F.q_closed) {
		pthread_mutex_unlock(&F.q_mtx);
		x_free(it);
		return;
	}
	F.q_bytes += it->len;
	wake = F.q_head == NULL;
	if (F.q_tail)
		F.q_tail->next = it;
	else
		F.q_head = it;
	F.q_tail = it;
	pthread_mutex_unlock(&F.q_mtx);
	if (wake && write(F.evfd, &one, sizeof(one)) < 0)
		log_debug("eventfd: %s", strerror(errno));
}

static struct fwd_item *
item_new(int kind, const struct proto_hdr *h, const uint8_t *p, size_t n)
{
	struct fwd_item *it = xmalloc(sizeof(*it) + n);

	it->kind = kind;
	if (h != NULL)
		it->h = *h;
	it->len = n;
	if (n)
		memcpy(it->data, p, n);
	return it;
}

void
fwd_relay_on_stream(void *arg, const struct proto_hdr *h,
    struct proto_cur *payload)
{
	(void)arg;
	queue_push(item_new(IT_MSG, h, payload->p, payload->left));
}

void
fwd_relay_on_link(void *arg, int up)
{
	(void)arg;
	queue_push(item_new(up ? IT_UP : IT_DOWN, NULL, NULL, 0));
}

void
fwd_relay_init(void)
{
	memset(&F, 0, sizeof(F));
	pthread_mutex_init(&F.q_mtx, NULL);
	pthread_cond_init(&F.q_cv, NULL);
	F.epfd = F.evfd = -1;
}

/* ---- the stream table and the engine's callbacks ------------------- */

static struct fwd_stream *
find(uint32_t id)
{
	struct fwd_stream *fs;

	for (fs = F.ids[id % FWD_BUCKETS]; fs; fs = fs->idnext)
		if (fs->s.id == id)
			return fs;
	return NULL;
}

/* Out of the table and freed; its socket is closed already. */
static void
forget(struct fwd_stream *fs)
{
	struct fwd_stream **pp;

	for (pp = &F.ids[fs->s.id % FWD_BUCKETS]; *pp; pp = &(*pp)->idnext)
		if (*pp == fs) {
			*pp = fs->idnext;
			break;
		}
	if (fs->prev)
		fs->prev->next = fs->next;
	else
		F.all = fs->next;
	if (fs->next)
		fs->next->prev = fs->prev;
	F.nstreams--;
	stream_release(&fs->s);
	x_free(fs);
}

static void
eng_send(struct stream *s, uint8_t *msg, size_t len)
{
	struct proto_buf b = { msg, len, len, 0 };

	(void)s;
	(void)client_send(F.cl, &b);	/* gone: IT_DOWN resets it */
}

static void
eng_interest(struct stream *s, uint32_t old, uint32_t want)
{
	struct epoll_event ev;
	int op;

	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.u64 = EV(K_STREAM, s->id);
	op = want == 0 ? EPOLL_CTL_DEL : old == 0 ? EPOLL_CTL_ADD :
	    EPOLL_CTL_MOD;
	if (epoll_ctl(F.epfd, op, s->fd, &ev) < 0)
		log_warn("epoll_ctl (stream %u)", s->id);
}

static void
eng_ended(struct stream *s, int err)
{
	if (err != 0)
		log_debug("stream %u: %s", s->id, strerror(err));
	forget((struct fwd_stream *)s->ep);
}

static const struct stream_ops fwd_stream_ops = {
	.send = eng_send,
	.interest = eng_interest,
	.ended = eng_ended,
};

/* A socket closed with an RST: the client sees a reset, as it would if
 * the pod's end refused or reset it. */
static void
close_rst(int fd)
{
	struct linger lg = { 1, 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* Ends a stream at once, both ways (the agent told unless gone). */
static void
stream_kill(struct fwd_stream *fs, int tell)
{
	struct proto_buf b;

	if (fs->held < 0) {
		if (tell)
			stream_reset(&fs->s, ECONNRESET);
		else
			stream_abort(&fs->s, ECONNRESET);
		return;
	}
	if (tell && !fs->s.peer_gone) {
		proto_buf_init(&b, PROTO_HDR_LEN + 4);
		if (proto_enc_stream_close(&b, fs->s.id, ECONNRESET) == 0)
			(void)client_send(F.cl, &b);
		else
			proto_buf_free(&b);
	}
	close_rst(fs->held);
	forget(fs);
}

/* ---- the listeners ------------------------------------------------- */

/* A new stream in the table, its socket fd held until it is attached. */
static struct fwd_stream *
add_stream(uint32_t id, int fd, const char *from, const char *to)
{
	struct fwd_stream *fs = xcalloc(1, sizeof(*fs));

	stream_init(&fs->s, &fwd_stream_ops, fs, id, FWD_WINDOW);
	fs->from = from;
	fs->to = to;
	fs->held = fd;
	fs->idnext = F.ids[id % FWD_BUCKETS];
	F.ids[id % FWD_BUCKETS] = fs;
	fs->next = F.all;
	if (F.all)
		F.all->prev = fs;
	F.all = fs;
	F.nstreams++;
	return fs;
}

static void
open_stream(struct fwd_listen *l, int fd)
{
	struct proto_stream_open o;
	struct fwd_stream *fs;
	struct proto_buf b;
	uint32_t id;
	int rc;

	id = ++F.next_id;
	if (id == 0 || (id & STREAM_ID_AGENT))
		id = F.next_id = 1;
	fs = add_stream(id, fd, l->local, l->remote);

	memset(&o, 0, sizeof(o));
	o.proto = NET_TCP;
	o.family = (uint8_t)l->family;
	memcpy(o.addr, l->addr, 16);
	o.port = l->spec.rport;
	o.window = FWD_WINDOW;
	proto_buf_init(&b, 64);
	if ((rc = proto_enc_stream_open(&b, id, &o)) == 0)
		rc = client_send(F.cl, &b);
	else
		proto_buf_free(&b);
	if (rc < 0) {
		fs->s.peer_gone = 1;
		stream_kill(fs, 0);
	}
}

static void
accept_some(struct fwd_listen *l)
{
	int i, fd;

	for (i = 0; i < FWD_ACCEPTS_PER_EVENT; i++) {
		fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("accept on %s", l->local);
			return;
		}
		if (!F.up) {
			close_rst(fd);	/* no agent: as a refused port */
			continue;
		}
		if (F.nstreams >= FWD_STREAMS_MAX) {
			if (!F.warned_full++)
				log_warnx("%d connections at once: resetting "
				    "new ones", FWD_STREAMS_MAX);
			close_rst(fd);
			continue;
		}
		open_stream(l, fd);
	}
}

/* ---- -R: connections the agent steals from the pod ----------------- */

static void
send_opened(uint32_t id, int err)
{
	struct proto_buf b;

	proto_buf_init(&b, PROTO_HDR_LEN + 8);
	if (proto_enc_stream_opened(&b, id, (uint32_t)err, FWD_WINDOW) == 0)
		(void)client_send(F.cl, &b);
	else
		proto_buf_free(&b);
}

/* The local connect of a -R stream is done (err 0) or failed. */
static void
connected(struct fwd_stream *fs, int err)
{
	int fd = fs->held, one = 1;

	(void)epoll_ctl(F.epfd, EPOLL_CTL_DEL, fd, NULL);
	if (err != 0) {
		log_warnx("the pod's %s -> %s: %s", fs->from, fs->to,
		    strerror(err));
		send_opened(fs->s.id, err);
		fs->s.peer_gone = 1;
		stream_kill(fs, 0);
		return;
	}
	fs->opened = 1;
	fs->held = -1;
	send_opened(fs->s.id, 0);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	stream_attach(&fs->s, fd);	/* what the agent sent goes out now */
}

static void
connect_event(struct fwd_stream *fs)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fs->held, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	connected(fs, err);
}

static struct fwd_rfwd *
rfwd_of(uint16_t port)
{
	int i;

	for (i = 0; i < F.nrs; i++)
		if (F.rs[i].spec.rport == port)
			return &F.rs[i];
	return NULL;
}

/* STREAM_ACCEPT: a connection to a pod port we subscribed. */
static void
stolen(const struct proto_hdr *h, const uint8_t *data, size_t n, int known)
{
	struct proto_cur c = { data, n };
	struct proto_stream_msg m;
	struct epoll_event ev;
	struct fwd_stream *fs;
	struct fwd_rfwd *r;
	int fd;

	if (proto_dec_stream(h, &c, &m) < 0 || known) {
		log_warnx("a malformed STREAM_ACCEPT from the agent, or one "
		    "reusing an id; refusing it");
		if (h->id & STREAM_ID_AGENT)
			send_opened(h->id, EPROTO);
		return;
	}
	if ((r = rfwd_of(m.accept.dport)) == NULL) {
		send_opened(m.id, ECONNREFUSED);
		return;
	}
	if (F.nstreams >= FWD_STREAMS_MAX) {
		if (!F.warned_full++)
			log_warnx("%d connections at once: refusing new ones",
			    FWD_STREAMS_MAX);
		send_opened(m.id, EMFILE);
		return;
	}
	fd = socket(r->spec.to.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn("socket");
		send_opened(m.id, errno);
		return;
	}
	fs = add_stream(m.id, fd, r->pod, r->local);
	fs->reverse = 1;
	stream_set_peer_window(&fs->s, m.accept.window);
	if (connect(fd, (struct sockaddr *)&r->spec.to, r->spec.tolen) == 0) {
		connected(fs, 0);
		return;
	}
	if (errno != EINPROGRESS) {
		connected(fs, errno);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLOUT;
	ev.data.u64 = EV(K_CONNECT, m.id);
	if (epoll_ctl(F.epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		connected(fs, errno);
}

static void
sub_answered(void *arg, int err, struct proto_cur *payload)
{
	struct fwd_rfwd *r = arg;

	if (err == 0 && proto_dec_incoming_reply(payload) < 0)
		err = -EBADMSG;
	if (err < 0)
		log_warnx("the agent at %s no longer gives us the pod's port "
		    "%s: %s", F.url, r->pod, strerror(-err));
}

/* The agent is back: its new connection has none of our ports. */
static void
resubscribe(void)
{
	struct proto_buf b;
	int i;

	for (i = 0; i < F.nrs; i++) {
		proto_buf_init(&b, PROTO_HDR_LEN + 4);
		if (proto_enc_incoming_sub(&b, 0, F.rs[i].spec.rport,
		    INCOMING_STEAL) < 0) {
			proto_buf_free(&b);
			continue;
		}
		client_call(F.cl, &b, sub_answered, &F.rs[i]);
	}
}

static int
sub_parse(void *arg, struct proto_cur *c)
{
	(void)arg;
	return proto_dec_incoming_reply(c);
}

int
fwd_relay_subscribe(struct client *cl, struct fwd_rfwd *rs, int nr, int sub,
    const char *url)
{
	struct proto_buf b;
	int i, rc, ret = 0;

	for (i = 0; i < nr; i++) {
		proto_buf_init(&b, PROTO_HDR_LEN + 4);
		rc = sub ? proto_enc_incoming_sub(&b, 0, rs[i].spec.rport,
		    INCOMING_STEAL) :
		    proto_enc_incoming_unsub(&b, 0, rs[i].spec.rport);
		if (rc == 0)
			rc = client_call_wait(cl, &b, sub_parse, NULL);
		else
			proto_buf_free(&b);
		if (rc == 0 || (!sub && rc == -ENOENT))
			continue;
		if (!sub) {
			ret = rc;	/* the agent drops it when we go */
			continue;
		}
		fprintf(stderr, "mirror-forward: the agent at %s cannot give "
		    "us the pod's port %s: %s%s\n", url, rs[i].pod,
		    strerror(-rc), rc == -EADDRINUSE ? " (another session "
		    "steals it)" : rc == -EPERM ? " (no CAP_NET_ADMIN in the "
		    "pod's network namespace)" : "");
		return rc;
	}
	return ret;
}

/* ---- the agent's messages ------------------------------------------ */

static void
opened(struct fwd_stream *fs, uint32_t status, uint32_t window)
{
	int fd = fs->held, one = 1;

	if (status != 0) {
		log_warnx("%s -> %s: the pod's connect failed: %s",
		    fs->from, fs->to, strerror((int)status));
		fs->s.peer_gone = 1;
		stream_kill(fs, 0);
		return;
	}
	fs->opened = 1;
	fs->held = -1;
	stream_set_peer_window(&fs->s, window);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	stream_attach(&fs->s, fd);
}

static void
message(const struct proto_hdr *h, const uint8_t *data, size_t n)
{
	struct fwd_stream *fs = find(h->id);
	struct proto_cur c = { data, n };
	struct proto_stream_msg m;

	if (h->op == STREAM_ACCEPT) {
		stolen(h, data, n, fs != NULL);
		return;
	}
	if (fs == NULL)
		return;		/* data for an unknown id is dropped */
	/* A -R stream takes the agent's data while it connects here; it
	 * never gets a STREAM_OPENED. */
	if (proto_dec_stream(h, &c, &m) < 0 ||
	    (m.op == STREAM_OPENED && fs->reverse) ||
	    (m.op != STREAM_OPENED && m.op != STREAM_CLOSE && !fs->opened &&
	    !fs->reverse)) {
		log_warnx("%s -> %s: a malformed or unexpected %s from the "
		    "agent; resetting the connection", fs->from,
		    fs->to, proto_stream_op_name(h->op));
		stream_kill(fs, 1);
		return;
	}
	switch (m.op) {
	case STREAM_OPENED:
		if (!fs->opened)
			opened(fs, m.status, m.window);
		break;
	case STREAM_DATA:
		if (fs->s.peer_gone)
			break;
		if (stream_peer_data(&fs->s, m.data, m.len) < 0) {
			log_warnx("%s -> %s: the agent sent %s; resetting the "
			    "connection", fs->from, fs->to,
			    fs->s.peer_shut ? "data after its shut" :
			    "beyond its window");
			stream_kill(fs, 1);
		}
		break;
	case STREAM_CREDIT:
		stream_peer_credit(&fs->s, m.credit);
		break;
	case STREAM_SHUT:
		stream_peer_shut(&fs->s);
		break;
	case STREAM_CLOSE:
		fs->s.peer_gone = 1;
		if (!fs->opened)
			stream_kill(fs, 0);
		else
			stream_peer_close(&fs->s, m.status);
		break;
	default:
		break;
	}
}

static void
link_changed(int up)
{
	int n = 0;

	if (up) {
		if (!F.up) {
			log_warnx("the agent at %s is back", F.url);
			resubscribe();
		}
		F.up = 1;
		return;
	}
	F.up = 0;
	while (F.all != NULL) {
		F.all->s.peer_gone = 1;
		stream_kill(F.all, 0);
		n++;
	}
	log_warnx("lost the agent at %s: reset %d connection(s); new ones "
	    "are refused until it is back", F.url, n);
}

static void
drain(void)
{
	struct fwd_item *it, *next;
	uint64_t v;

	if (read(F.evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug("eventfd: %s", strerror(errno));
	pthread_mutex_lock(&F.q_mtx);
	it = F.q_head;
	F.q_head = F.q_tail = NULL;
	F.q_bytes = 0;
	pthread_cond_broadcast(&F.q_cv);
	pthread_mutex_unlock(&F.q_mtx);
	for (; it != NULL; it = next) {
		next = it->next;
		if (it->kind == IT_MSG)
			message(&it->h, it->data, it->len);
		else
			link_changed(it->kind == IT_UP);
		x_free(it);
	}
}

/* ---- the loop ------------------------------------------------------ */

static int
ep_add(int fd, uint64_t data)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = data;
	return epoll_ctl(F.epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* Listeners closed, every connection reset both ways, the queue shut. */
static void
shutdown_all(void)
{
	struct fwd_item *it;
	int i;

	for (i = 0; i < F.nls; i++)
		if (F.ls[i].fd >= 0) {
			close(F.ls[i].fd);
			F.ls[i].fd = -1;
		}
	while (F.all != NULL)
		stream_kill(F.all, 1);
	pthread_mutex_lock(&F.q_mtx);
	F.q_closed = 1;
	while ((it = F.q_head) != NULL) {
		F.q_head = it->next;
		x_free(it);
	}
	F.q_tail = NULL;
	pthread_cond_broadcast(&F.q_cv);
	pthread_mutex_unlock(&F.q_mtx);
}

int
fwd_relay_run(struct client *cl, struct fwd_listen *ls, int n,
    struct fwd_rfwd *rs, int nr, const char *url)
{
	struct epoll_event evs[64];
	struct fwd_stream *fs;
	sigset_t sigs;
	int sigfd = -1, i, k, rc = 0, stop = 0;
	uint64_t k_;

	F.cl = cl;
	F.ls = ls;
	F.nls = n;
	F.rs = rs;
	F.nrs = nr;
	F.url = url;
	F.up = client_ready(cl);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	if ((F.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (F.evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
	    (sigfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		rc = -errno;
		log_warn("epoll");
		goto out;
	}
	if ((rc = ep_add(F.evfd, EV(K_QUEUE, 0))) < 0 ||
	    (rc = ep_add(sigfd, EV(K_SIGNAL, 0))) < 0)
		goto out;
	for (i = 0; i < n; i++)
		if ((rc = ep_add(ls[i].fd, EV(K_LISTEN, i))) < 0)
			goto out;
	/* What the reader queued before the eventfd existed. */
	drain();
	while (!stop) {
		k = epoll_wait(F.epfd, evs, 64, -1);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			log_warn("epoll_wait");
			break;
		}
		/* The queue, signals and new connections first: a stream's
		 * event may be for one they free. */
		for (i = 0; i < k; i++) {
			uint32_t v = (uint32_t)evs[i].data.u64;

			switch (evs[i].data.u64 >> 32) {
			case K_QUEUE:
				drain();
				break;
			case K_SIGNAL:
				stop = 1;
				break;
			case K_LISTEN:
				accept_some(&ls[v]);
				break;
			}
		}
		for (i = 0; i < k && !stop; i++) {
			k_ = evs[i].data.u64 >> 32;
			fs = find((uint32_t)evs[i].data.u64);
			if (fs == NULL)
				continue;
			if (k_ == K_STREAM && fs->s.fd >= 0)
				stream_event(&fs->s, evs[i].events);
			else if (k_ == K_CONNECT && fs->reverse &&
			    !fs->opened && fs->held >= 0)
				connect_event(fs);
		}
	}
out:
	shutdown_all();
	if (sigfd >= 0)
		close(sigfd);
	if (F.evfd >= 0)
		close(F.evfd);
	if (F.epfd >= 0)
		close(F.epfd);
	return rc;
}
