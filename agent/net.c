/*
 * The agent's network side. One thread enters the target's network
 * namespace and runs an epoll loop; a socket stays in the namespace it
 * was born in, so every socket a client needs is made here: TCP
 * connections relayed as streams with credit flow control, connected UDP
 * sockets, ping sockets, and c-ares' sockets for DNS. The service thread
 * checks each message and hands over a copy through a locked queue and
 * an eventfd; this thread answers with ws_send().
 *
 * Stream state is under run_mtx, which this thread holds for each round
 * of its loop. A stream message other than STREAM_OPEN (whose socket must
 * be born in the target's namespace, on this thread) is handled on the
 * service thread itself when it gets run_mtx at once and nothing is
 * queued: the client's data goes straight into the socket, without a
 * wakeup of this thread. Otherwise it is queued; in order either way.
 * Streams are freed only at the end of this thread's round (reap), so an
 * event of the round never points at freed memory.
 */
#include "config.h"

#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "net.h"
#include "resolv.h"
#include "xmalloc.h"

#define NET_EVENTS		256	/* epoll events per wakeup */
#define NET_CONNECT_TIMEOUT_MS	20000	/* then ETIMEDOUT */
/* Credit the client back once this much was written to a socket. */
#define NET_CREDIT_BATCH	(256u * 1024)
/* Reads of one socket per wakeup, so one stream does not starve others. */
#define NET_READS_PER_WAKE	4
#define NET_DGRAMS_PER_WAKE	32
#define NET_DGRAM_MAX		65536
/* Small client data is copied together into buffers of this size. */
#define NET_COALESCE		16384
#define NET_IOV_MAX		64
/* Client data up to this size is written by the service thread itself
 * when it can (latency); bulk data goes through the queue, so that this
 * thread writes while the service thread parses the next message. */
#define NET_INLINE_MAX		16384
/* A connection whose messages pile up unprocessed beyond this is cut. */
#define NET_QUEUE_MAX		(256u * 1024 * 1024)
#define NET_RESOLV_MAX		65536
#define NET_ADDRS_MAX		1024
#define NET_DNS_TIMEOUT_MS	2000
/* DNS queries of one connection in flight at once; beyond, EAGAIN. */
#define NET_DNS_PENDING_MAX	1024
/* What a UDP or ICMP flow may have sent the client ahead of its credits
 * when its STREAM_OPEN named no window. */
#define NET_DGRAM_WINDOW	(256u * 1024)
#define NET_DNS_TRIES		2

/* What an epoll event points at. */
enum io_kind { IO_WAKE = 1, IO_STREAM, IO_ARES };

struct net_io {
	enum io_kind	 kind;
	int		 fd;
};

/* A message from the service thread, or queued data of a stream. */
struct net_msg {
	struct net_msg	*next;
	struct agent_net_client *cl;
	int		 detach;	/* the connection is gone */
	struct proto_hdr h;
	uint8_t		*data;		/* payload */
	size_t		 len;		/* payload bytes */
	size_t		 off;		/* bytes already written (tx queue) */
	size_t		 cap;		/* > 0: room to coalesce up to */
	uint8_t		 buf[];
};

enum stream_state { ST_CONNECTING = 1, ST_OPEN, ST_DEAD };

struct stream {
	struct net_io	 io;		/* first: epoll points here */
	struct agent_net_client *cl;
	uint32_t	 id;
	uint8_t		 proto;
	enum stream_state state;
	uint32_t	 ev_cur;	/* registered events; 0: not in epoll */
	/* agent -> client */
	uint32_t	 peer_window;
	uint64_t	 sent, credited;
	int		 rd_eof;	/* STREAM_SHUT sent */
	/* client -> agent */
	struct net_msg	*txq, *txq_tail;
	size_t		 txq_bytes;
	size_t		 uncredited;	/* written, not yet credited back */
	int		 peer_shut;	/* the client sent STREAM_SHUT */
	int		 wr_shut;	/* shutdown(SHUT_WR) done */
	/* connecting streams, oldest first */
	double		 deadline;
	struct stream	*cprev, *cnext;
	struct stream	*hnext;		/* hash chain; zombie list when dead */
};

struct agent_net_client {
	struct ws_conn	*conn;
	void		(*release)(void *);
	void		*arg;
	size_t		 queued;	/* atomic: bytes on the queue */
	/* network thread only */
	struct stream	**tab;
	unsigned int	 tab_shift;	/* buckets: 1 << (32 - shift) */
	unsigned int	 nstreams;
	unsigned int	 pending_dns;
	int		 detached;
	int		 broken;	/* closed for a protocol violation */
	int		 freeing;
	int		 listed;	/* on net->clients */
	struct agent_net_client *prev, *next;
};

struct ares_fd {
	struct net_io	 io;
	struct ares_fd	*next;
};

struct dns_query {
	struct agent_net *net;
	struct agent_net_client *cl;
	uint32_t	 id;
	uint8_t		 qid[2];
};

struct agent_net {
	struct agent_fs	*fs;
	int		 pid;
	int		 nsfd;		/* -1: stay in our own namespace */
	int		 ns_failed;	/* errno of opening /proc/PID/ns/net */
	int		 ep;
	struct net_io	 wake;
	pthread_t	 thread;
	int		 running;
	pthread_mutex_t	 mtx;		/* protects q, q_tail, stopped */
	struct net_msg	*q, *q_tail;
	int		 stopped;
	volatile int	 stop;
	/* Everything below; held by the network thread for each round, by
	 * the service thread for a stream message it handles itself. */
	pthread_mutex_t	 run_mtx;
	int		 ok;		/* inside the target's netns */
	int		 dns_ok;
	ares_channel	 chan;
	struct ares_fd	*afds, *afd_zombies;
	unsigned int	 dns_inflight;
	char		 dns_servers[4096];
	int		 dns_servers_stale;
	double		 dns_checked;
	struct stream	*conn_head, *conn_tail;
	struct stream	*zombies;
	struct agent_net_client *clients;
	struct agent_net_client *dead_clients;
	uint8_t		 dgram[NET_DGRAM_MAX];
	char		 resolv[NET_RESOLV_MAX];
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int
agent_net_serves(unsigned int op)
{
	return op == OP_NET_INFO || op == OP_DNS;
}

/* ---- sending ------------------------------------------------------- */

/* A message with a u32 payload (STREAM_OPENED's window, STREAM_CREDIT)
 * or none. */
static void
send_small(struct agent_net_client *cl, uint8_t kind, uint16_t op,
    uint32_t id, uint32_t status, int with_u32, uint32_t v)
{
	struct proto_buf b;

	proto_buf_init(&b, PROTO_HDR_LEN + 4);
	proto_begin(&b, kind, op, id, status);
	if (with_u32)
		proto_put_u32(&b, v);
	if (proto_finish(&b) == 0) {
		ws_send(cl->conn, b.data, b.len);
		b.data = NULL;
	}
	proto_buf_free(&b);
}

static void
reply_errno(struct agent_net_client *cl, const struct proto_hdr *h, int err)
{
	send_small(cl, MSG_REPLY, h->op, h->id, (uint32_t)err, 0, 0);
}

static void
send_buf(struct agent_net_client *cl, struct proto_buf *out)
{
	if (proto_finish(out) == 0) {
		ws_send(cl->conn, out->data, out->len);
		out->data = NULL;
	}
	proto_buf_free(out);
}

/* The client broke the protocol in a way only this thread can see. */
static void
client_violation(struct agent_net_client *cl, const char *what)
{
	if (cl->broken)
		return;
	cl->broken = 1;
	log_warnx("client %s: %s; closing the connection",
	    ws_conn_peer(cl->conn), what);
	ws_close(cl->conn, what);
}

/* ---- stream table -------------------------------------------------- */

static unsigned int
tab_slot(const struct agent_net_client *cl, uint32_t id)
{
	return (uint32_t)(id * 2654435761u) >> cl->tab_shift;
}

static struct stream *
stream_find(struct agent_net_client *cl, uint32_t id)
{
	struct stream *s;

	if (cl->tab == NULL)
		return NULL;
	for (s = cl->tab[tab_slot(cl, id)]; s != NULL; s = s->hnext)
		if (s->id == id)
			return s;
	return NULL;
}

static void
tab_insert(struct agent_net_client *cl, struct stream *s)
{
	unsigned int nb, i, slot;
	struct stream **old, *t, *next;

	if (cl->tab == NULL) {
		cl->tab_shift = 26;		/* 64 buckets */
		cl->tab = xcalloc((size_t)1 << (32 - cl->tab_shift),
		    sizeof(*cl->tab));
	}
	nb = 1u << (32 - cl->tab_shift);
	if (cl->nstreams >= nb && cl->tab_shift > 12) {
		old = cl->tab;
		cl->tab_shift--;
		cl->tab = xcalloc((size_t)nb * 2, sizeof(*cl->tab));
		for (i = 0; i < nb; i++)
			for (t = old[i]; t != NULL; t = next) {
				next = t->hnext;
				slot = tab_slot(cl, t->id);
				t->hnext = cl->tab[slot];
				cl->tab[slot] = t;
			}
		x_free(old);
	}
	slot = tab_slot(cl, s->id);
	s->hnext = cl->tab[slot];
	cl->tab[slot] = s;
	cl->nstreams++;
}

static void
tab_remove(struct agent_net_client *cl, struct stream *s)
{
	struct stream **pp;

	for (pp = &cl->tab[tab_slot(cl, s->id)]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if (*pp == s) {
			*pp = s->hnext;
			cl->nstreams--;
			return;
		}
}

/* ---- epoll interest ------------------------------------------------ */

static void
stream_interest(struct agent_net *net, struct stream *s)
{
	struct epoll_event ev;
	uint32_t want = 0;
	int op;

	if (s->state == ST_CONNECTING)
		want = EPOLLOUT;
	else if (s->state == ST_OPEN) {
		if (s->proto != NET_TCP) {
			/* Unread datagrams wait in the socket, whose
			 * bounded buffer drops the rest. */
			if (s->sent - s->credited < s->peer_window)
				want = EPOLLIN;
		} else {
			if (!s->rd_eof && s->sent - s->credited < s->peer_window)
				want |= EPOLLIN;
			if (s->txq != NULL)
				want |= EPOLLOUT;
		}
	}
	if (want == s->ev_cur)
		return;
	/* Out of epoll altogether when nothing is wanted: a socket that
	 * hung up would report EPOLLHUP again and again otherwise. */
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.ptr = &s->io;
	op = want == 0 ? EPOLL_CTL_DEL : s->ev_cur == 0 ? EPOLL_CTL_ADD :
	    EPOLL_CTL_MOD;
	if (epoll_ctl(net->ep, op, s->io.fd, &ev) < 0)
		log_warn("epoll_ctl (stream %u)", s->id);
	s->ev_cur = want;
}

/* ---- stream life --------------------------------------------------- */

static void client_maybe_done(struct agent_net *, struct agent_net_client *);

static void
conn_list_remove(struct agent_net *net, struct stream *s)
{
	if (s->cprev)
		s->cprev->cnext = s->cnext;
	else if (net->conn_head == s)
		net->conn_head = s->cnext;
	if (s->cnext)
		s->cnext->cprev = s->cprev;
	else if (net->conn_tail == s)
		net->conn_tail = s->cprev;
	s->cprev = s->cnext = NULL;
}

/*
 * The stream is gone: out of the table at once (later messages for its
 * id are dropped), its memory at the end of this loop round, since
 * events of this round may still point at it.
 */
static void
stream_free(struct agent_net *net, struct stream *s, int reset)
{
	struct net_msg *m, *next;
	struct linger lg = { 1, 0 };

	if (s->state == ST_DEAD)
		return;
	if (s->state == ST_CONNECTING)
		conn_list_remove(net, s);
	tab_remove(s->cl, s);
	if (reset)
		(void)setsockopt(s->io.fd, SOL_SOCKET, SO_LINGER, &lg,
		    sizeof(lg));
	close(s->io.fd);	/* leaves epoll too */
	s->io.fd = -1;
	s->state = ST_DEAD;
	for (m = s->txq; m != NULL; m = next) {
		next = m->next;
		x_free(m);
	}
	s->txq = s->txq_tail = NULL;
	s->hnext = net->zombies;
	net->zombies = s;
	client_maybe_done(net, s->cl);
}

/* A socket error or reset: STREAM_CLOSE to the client, then gone. */
static void
stream_reset(struct agent_net *net, struct stream *s, int err)
{
	if (err == EPIPE || err == 0)
		err = ECONNRESET;
	log_debug("stream %u: %s", s->id, strerror(err));
	send_small(s->cl, MSG_STREAM, STREAM_CLOSE, s->id, (uint32_t)err, 0, 0);
	stream_free(net, s, 0);
}

/* Both directions are shut: the stream is done. */
static int
stream_maybe_finish(struct agent_net *net, struct stream *s)
{
	if (!(s->rd_eof && s->wr_shut))
		return 0;
	send_small(s->cl, MSG_STREAM, STREAM_CLOSE, s->id, 0, 0, 0);
	stream_free(net, s, 0);
	return 1;
}

static void
stream_opened(struct stream *s, int err)
{
	send_small(s->cl, MSG_STREAM, STREAM_OPENED, s->id, (uint32_t)err, 1,
	    AGENT_NET_WINDOW);
}

/* ---- TCP relay ----------------------------------------------------- */

static void
credit_written(struct stream *s, size_t n)
{
	s->uncredited += n;
	if (s->uncredited >= NET_CREDIT_BATCH) {
		send_small(s->cl, MSG_STREAM, STREAM_CREDIT, s->id, 0, 1,
		    (uint32_t)s->uncredited);
		s->uncredited = 0;
	}
}

static void
tcp_shut_if_drained(struct agent_net *net, struct stream *s)
{
	if (s->txq != NULL || !s->peer_shut || s->wr_shut ||
	    s->state != ST_OPEN)
		return;
	(void)shutdown(s->io.fd, SHUT_WR);
	s->wr_shut = 1;
}

/* Socket -> client, as far as the client's window allows. */
static void
tcp_read(struct agent_net *net, struct stream *s)
{
	uint64_t avail;
	size_t want;
	ssize_t r;
	uint8_t *m;
	int i;

	for (i = 0; i < NET_READS_PER_WAKE; i++) {
		avail = s->peer_window - (s->sent - s->credited);
		if (s->sent - s->credited >= s->peer_window || s->rd_eof)
			break;
		want = avail < PROTO_STREAM_DATA_MAX ? (size_t)avail :
		    PROTO_STREAM_DATA_MAX;
		/* Read straight into the message; ws_send frames and frees
		 * it at once, so its size costs nothing for long. */
		m = xmalloc(PROTO_HDR_LEN + want);
		r = recv(s->io.fd, m + PROTO_HDR_LEN, want, MSG_DONTWAIT);
		if (r > 0) {
			proto_hdr_encode(m, MSG_STREAM, STREAM_DATA, s->id, 0,
			    (uint32_t)r);
			ws_send(s->cl->conn, m, PROTO_HDR_LEN + (size_t)r);
			s->sent += (uint64_t)r;
			if ((size_t)r < want)
				break;
			continue;
		}
		x_free(m);
		if (r == 0) {
			s->rd_eof = 1;
			send_small(s->cl, MSG_STREAM, STREAM_SHUT, s->id, 0, 0,
			    0);
			if (stream_maybe_finish(net, s))
				return;
			break;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			break;
		stream_reset(net, s, errno);
		return;
	}
	stream_interest(net, s);
}

/* Queued client data -> socket. */
static void
tcp_flush(struct agent_net *net, struct stream *s)
{
	struct iovec iov[NET_IOV_MAX];
	struct net_msg *m;
	ssize_t r;
	size_t n, k;
	int cnt;

	while (s->txq != NULL) {
		cnt = 0;
		for (m = s->txq; m != NULL && cnt < NET_IOV_MAX; m = m->next) {
			iov[cnt].iov_base = m->data + m->off;
			iov[cnt].iov_len = m->len - m->off;
			cnt++;
		}
		r = writev(s->io.fd, iov, cnt);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				break;
			stream_reset(net, s, errno);
			return;
		}
		n = (size_t)r;
		s->txq_bytes -= n;
		while (n > 0 && (m = s->txq) != NULL) {
			k = m->len - m->off;
			if (k > n) {
				m->off += n;
				n = 0;
				break;
			}
			n -= k;
			s->txq = m->next;
			if (s->txq == NULL)
				s->txq_tail = NULL;
			x_free(m);
		}
		credit_written(s, (size_t)r);
		if (s->txq != NULL && s->txq->off > 0)
			break;		/* the socket is full */
	}
	tcp_shut_if_drained(net, s);
	if (stream_maybe_finish(net, s))
		return;
	stream_interest(net, s);
}

/* Queues client data behind what the socket has not taken; small pieces
 * are copied together so that many tiny messages cost little memory. */
static void
tcp_enqueue(struct stream *s, struct net_msg *m)
{
	struct net_msg *t = s->txq_tail, *c;
	size_t len = m->len - m->off;

	s->txq_bytes += len;
	if (len < NET_COALESCE / 4) {
		if (t != NULL && t->cap > 0 && t->cap - t->len >= len) {
			memcpy(t->data + t->len, m->data + m->off, len);
			t->len += len;
			x_free(m);
			return;
		}
		c = xmalloc(sizeof(*c) + NET_COALESCE);
		memset(c, 0, sizeof(*c));
		c->data = c->buf;
		c->cap = NET_COALESCE;
		memcpy(c->data, m->data + m->off, len);
		c->len = len;
		x_free(m);
		m = c;
	} else {
		/* A big buffer is not filled up: its off/len are its own. */
		m->cap = 0;
	}
	m->next = NULL;
	if (t)
		t->next = m;
	else
		s->txq = m;
	s->txq_tail = m;
}

/* Client data for the socket: data/len, held by m, or (m NULL) borrowed
 * for the call and copied only if the socket does not take it all now. */
static void
tcp_data(struct agent_net *net, struct stream *s, struct net_msg *m,
    const uint8_t *data, size_t len)
{
	size_t off = 0;
	ssize_t r;

	if (len == 0)
		goto out;
	if (s->peer_shut) {
		client_violation(s->cl, "stream data after stream_shut");
		goto out;
	}
	if (s->txq_bytes + s->uncredited + len > AGENT_NET_WINDOW) {
		client_violation(s->cl, "stream data beyond the window");
		goto out;
	}
	if (s->state == ST_OPEN && s->txq == NULL) {
		r = send(s->io.fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			stream_reset(net, s, errno);
			goto out;
		}
		if (r > 0) {
			off = (size_t)r;
			credit_written(s, (size_t)r);
		}
		if (off == len)
			goto out;
	}
	if (m == NULL) {
		m = xmalloc(sizeof(*m) + len - off);
		memset(m, 0, sizeof(*m));
		m->data = m->buf;
		memcpy(m->buf, data + off, len - off);
		m->len = len - off;
		off = 0;
	}
	m->off = off;
	m->cap = 0;
	tcp_enqueue(s, m);
	stream_interest(net, s);
	return;
out:
	x_free(m);
}

static void
tcp_event(struct agent_net *net, struct stream *s, uint32_t events)
{
	socklen_t sl = sizeof(int);
	int err = 0;

	if (s->state == ST_CONNECTING) {
		if (getsockopt(s->io.fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
			err = errno;
		if (err == 0 && !(events & (EPOLLERR | EPOLLHUP))) {
			conn_list_remove(net, s);
			s->state = ST_OPEN;
			stream_opened(s, 0);
			tcp_flush(net, s);	/* data and a shut sent early */
			return;
		}
		stream_opened(s, err ? err : ECONNREFUSED);
		stream_free(net, s, 0);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		if (s->ev_cur & EPOLLIN) {
			tcp_read(net, s);
			if (s->state != ST_OPEN)
				return;
		} else if (events & (EPOLLHUP | EPOLLERR)) {
			/* Not reading (the window is used up): only an
			 * error matters now. */
			if (getsockopt(s->io.fd, SOL_SOCKET, SO_ERROR, &err,
			    &sl) == 0 && err != 0) {
				stream_reset(net, s, err);
				return;
			}
		}
	}
	if ((events & (EPOLLOUT | EPOLLERR)) && s->txq != NULL)
		tcp_flush(net, s);
	else if (s->state == ST_OPEN)
		stream_interest(net, s);
}

/* ---- UDP and ICMP -------------------------------------------------- */

/* Datagrams from the target to the client, within the client's window:
 * a flood the client cannot take stays in the socket's bounded buffer
 * (and is dropped there), never in the agent's send queue. */
static void
dgram_event(struct agent_net *net, struct stream *s)
{
	uint8_t *buf = net->dgram;
	ssize_t r;
	uint8_t *m;
	int i;

	for (i = 0; i < NET_DGRAMS_PER_WAKE &&
	    s->sent - s->credited < s->peer_window; i++) {
		r = recv(s->io.fd, buf, NET_DGRAM_MAX, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			/* An ICMP error of an earlier datagram: UDP has no
			 * connection to lose. */
			continue;
		}
		if (s->sent - s->credited + (uint64_t)r > s->peer_window)
			break;		/* dropped: no window for it */
		m = xmalloc(PROTO_HDR_LEN + (size_t)r);
		proto_hdr_encode(m, MSG_STREAM, STREAM_DATA, s->id, 0, (uint32_t)r);
		memcpy(m + PROTO_HDR_LEN, buf, (size_t)r);
		ws_send(s->cl->conn, m, PROTO_HDR_LEN + (size_t)r);
		s->sent += (uint64_t)r;
	}
	stream_interest(net, s);
}

/* A datagram from the client for the target. Dropped when the socket
 * would block, as a router's full queue would; credited back either
 * way, so the client's window bounds what waits here for this thread. */
static void
dgram_data(struct stream *s, const uint8_t *data, size_t len)
{
	(void)send(s->io.fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	credit_written(s, len);
}

/* ---- opening ------------------------------------------------------- */

static void
stream_open(struct agent_net *net, struct agent_net_client *cl,
    struct net_msg *msg)
{
	struct proto_cur c = { msg->data, msg->len };
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	const uint8_t *addr;
	uint32_t alen, window;
	uint16_t port;
	uint8_t proto, family;
	struct stream *s;
	int fd, type, ipproto, af, one = 1, err, inprogress;
	uint32_t id = msg->h.id;

	/* Checked on the service thread. */
	(void)proto_get_u8(&c, &proto);
	(void)proto_get_u8(&c, &family);
	(void)proto_get_bytes(&c, &addr, &alen, 16);
	(void)proto_get_u16(&c, &port);
	(void)proto_get_u32(&c, &window);

	if (stream_find(cl, id) != NULL) {
		client_violation(cl, "stream_open for a stream id in use");
		return;
	}
	err = 0;
	if (!net->ok)
		err = EPERM;
	else if (family != 4 && family != 6)
		err = EAFNOSUPPORT;
	else if (proto != NET_TCP && proto != NET_UDP && proto != NET_ICMP)
		err = EPROTONOSUPPORT;
	else if (cl->nstreams >= AGENT_NET_STREAMS_MAX)
		err = EMFILE;
	if (err) {
		send_small(cl, MSG_STREAM, STREAM_OPENED, id, (uint32_t)err, 1,
		    AGENT_NET_WINDOW);
		return;
	}
	memset(&ss, 0, sizeof(ss));
	if (family == 4) {
		af = AF_INET;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr, 4);
		sin->sin_port = htons(port);
		sl = sizeof(*sin);
	} else {
		af = AF_INET6;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, addr, 16);
		sin6->sin6_port = htons(port);
		sl = sizeof(*sin6);
	}
	type = proto == NET_TCP ? SOCK_STREAM : SOCK_DGRAM;
	ipproto = proto == NET_TCP ? IPPROTO_TCP : proto == NET_UDP ?
	    IPPROTO_UDP : af == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	fd = socket(af, type | SOCK_NONBLOCK | SOCK_CLOEXEC, ipproto);
	if (fd < 0) {
		err = errno;
		goto fail;
	}
	if (proto == NET_TCP)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	inprogress = 0;
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		if (errno != EINPROGRESS) {
			err = errno;
			close(fd);
			goto fail;
		}
		inprogress = 1;
	}
	s = xcalloc(1, sizeof(*s));
	s->io.kind = IO_STREAM;
	s->io.fd = fd;
	s->cl = cl;
	s->id = id;
	s->proto = proto;
	s->peer_window = window ? window : NET_DGRAM_WINDOW;
	tab_insert(cl, s);
	if (proto == NET_TCP && inprogress) {
		s->state = ST_CONNECTING;
		s->deadline = now_ms() + NET_CONNECT_TIMEOUT_MS;
		s->cprev = net->conn_tail;
		if (net->conn_tail)
			net->conn_tail->cnext = s;
		else
			net->conn_head = s;
		net->conn_tail = s;
	} else {
		s->state = ST_OPEN;
		stream_opened(s, 0);
	}
	stream_interest(net, s);
	return;
fail:
	/* A ping socket the kernel refuses: EACCES until the target's
	 * net.ipv4.ping_group_range admits the agent's group. */
	send_small(cl, MSG_STREAM, STREAM_OPENED, id, (uint32_t)err, 1,
	    AGENT_NET_WINDOW);
}

static void
connect_timeouts(struct agent_net *net, double now)
{
	struct stream *s;

	while ((s = net->conn_head) != NULL && s->deadline <= now) {
		stream_opened(s, ETIMEDOUT);
		stream_free(net, s, 0);
	}
}

/* ---- stream messages ----------------------------------------------- */

/* A stream message other than STREAM_OPEN; its payload data/len is held
 * by m, or (m NULL) borrowed for the call. Frees m. */
static void
stream_message_payload(struct agent_net *net, struct agent_net_client *cl,
    const struct proto_hdr *h, const uint8_t *data, size_t len,
    struct net_msg *m)
{
	struct stream *s;
	uint32_t n = 0;

	s = stream_find(cl, h->id);
	if (s == NULL) {		/* gone already: dropped */
		x_free(m);
		return;
	}
	switch (h->op) {
	case STREAM_DATA:
		if (s->proto == NET_TCP) {
			tcp_data(net, s, m, data, len);
			return;
		}
		dgram_data(s, data, len);
		break;
	case STREAM_CREDIT:
		n = (uint32_t)data[0] | (uint32_t)data[1] << 8 |
		    (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
		/* More credit than was sent is the client's mistake; it
		 * never widens the window. */
		if (n > s->sent - s->credited)
			n = (uint32_t)(s->sent - s->credited);
		s->credited += n;
		if (s->state == ST_OPEN)
			stream_interest(net, s);
		break;
	case STREAM_SHUT:
		if (s->proto == NET_TCP) {
			s->peer_shut = 1;
			tcp_shut_if_drained(net, s);
			stream_maybe_finish(net, s);
		}
		break;
	case STREAM_CLOSE:
		stream_free(net, s, h->status == ECONNRESET);
		break;
	default:
		break;
	}
	x_free(m);
}

static void
stream_message(struct agent_net *net, struct agent_net_client *cl,
    struct net_msg *m)
{
	if (m->h.op == STREAM_OPEN) {
		stream_open(net, cl, m);
		x_free(m);
		return;
	}
	stream_message_payload(net, cl, &m->h, m->data, m->len, m);
}

static void
stream_event(struct agent_net *net, struct stream *s, uint32_t events)
{
	if (s->state == ST_DEAD || s->cl->broken)
		return;
	if (s->proto == NET_TCP)
		tcp_event(net, s, events);
	else if (events & (EPOLLIN | EPOLLERR))
		dgram_event(net, s);
}

/* ---- the target's resolv.conf and network facts -------------------- */

/* The target's /etc/resolv.conf into buf (NUL-terminated); 0 bytes if
 * it has none. Returns the length. */
static size_t
read_resolv_conf(struct agent_net *net, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t r;
	int fd;

	fd = agent_fs_open_regular_in_root(net->fs, "/etc/resolv.conf",
	    O_RDONLY);
	if (fd >= 0) {
		while (len < size - 1) {
			r = read(fd, buf + len, size - 1 - len);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			len += (size_t)r;
		}
		close(fd);
	}
	buf[len] = '\0';
	return len;
}

static int
prefix_len(const uint8_t *mask, size_t n)
{
	int bits = 0;
	size_t i;

	for (i = 0; i < n; i++)
		bits += __builtin_popcount(mask[i]);
	return bits;
}

static int
is_ll6(const uint8_t *a)
{
	return (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || a[0] == 0xff;
}

/* Routes of the main table, not default ones, not on lo. */
static void
put_routes(struct proto_buf *out)
{
	char line[512], ifname[IF_NAMESIZE + 1], dst[33];
	unsigned int d, g, flags, refc, use, metric, mask, plen, i;
	uint8_t a6[16];
	size_t at = out->len;
	uint32_t n = 0;
	FILE *f;

	proto_put_u32(out, 0);		/* n, filled in below */
	/* /proc/net follows the reading thread's netns only by this way. */
	if ((f = fopen("/proc/thread-self/net/route", "re")) != NULL) {
		if (fgets(line, sizeof(line), f) == NULL)	/* header */
			line[0] = '\0';
		while (fgets(line, sizeof(line), f) != NULL && n < NET_ADDRS_MAX) {
			if (sscanf(line, "%16s %x %x %x %u %u %u %x", ifname,
			    &d, &g, &flags, &refc, &use, &metric, &mask) != 8)
				continue;
			if (mask == 0 || !(flags & RTF_UP) ||
			    (flags & RTF_REJECT) || strcmp(ifname, "lo") == 0)
				continue;
			proto_put_u8(out, 4);
			proto_put_bytes(out, &d, 4);	/* network order */
			proto_put_u8(out, (uint8_t)prefix_len((uint8_t *)&mask,
			    4));
			proto_put_str(out, ifname);
			n++;
		}
		fclose(f);
	}
	if ((f = fopen("/proc/thread-self/net/ipv6_route", "re")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL && n < NET_ADDRS_MAX) {
			if (sscanf(line, "%32s %x %*s %*x %*s %x %x %x %x %16s",
			    dst, &plen, &metric, &refc, &use, &flags,
			    ifname) != 7 || strlen(dst) != 32)
				continue;
			for (i = 0; i < 16; i++) {
				unsigned int b;

				if (sscanf(dst + 2 * i, "%2x", &b) != 1)
					break;
				a6[i] = (uint8_t)b;
			}
			if (i != 16 || plen == 0 || plen > 128 ||
			    !(flags & RTF_UP) || (flags & RTF_REJECT) ||
			    (flags & 0x80000000u) /* RTF_LOCAL */ ||
			    (flags & 0x01000000u) /* RTF_CACHE */ ||
			    is_ll6(a6) || strcmp(ifname, "lo") == 0)
				continue;
			proto_put_u8(out, 6);
			proto_put_bytes(out, a6, 16);
			proto_put_u8(out, (uint8_t)plen);
			proto_put_str(out, ifname);
			n++;
		}
		fclose(f);
	}
	proto_patch_u32(out, at, n);
}

static void
serve_net_info(struct agent_net *net, struct agent_net_client *cl,
    const struct proto_hdr *h)
{
	char *resolv = net->resolv;
	struct proto_buf out;
	struct ifaddrs *ifa0 = NULL, *ifa;
	const uint8_t *addr, *mask;
	size_t len, at;
	uint32_t n = 0;
	uint8_t fam;

	if (!net->ok) {
		reply_errno(cl, h, EPERM);
		return;
	}
	len = read_resolv_conf(net, resolv, sizeof(net->resolv));
	proto_buf_init(&out, 4096);
	proto_begin(&out, MSG_REPLY, h->op, h->id, 0);
	proto_put_bytes(&out, resolv, len);

	at = out.len;
	proto_put_u32(&out, 0);		/* n, filled in below */
	if (getifaddrs(&ifa0) < 0)
		log_warn("getifaddrs in the target's network namespace");
	for (ifa = ifa0; ifa != NULL && n < NET_ADDRS_MAX; ifa = ifa->ifa_next) {
		if (ifa->ifa_addr == NULL || ifa->ifa_netmask == NULL ||
		    (ifa->ifa_flags & IFF_LOOPBACK))
			continue;
		if (ifa->ifa_addr->sa_family == AF_INET) {
			fam = 4;
			addr = (const uint8_t *)&((struct sockaddr_in *)
			    ifa->ifa_addr)->sin_addr;
			mask = (const uint8_t *)&((struct sockaddr_in *)
			    ifa->ifa_netmask)->sin_addr;
		} else if (ifa->ifa_addr->sa_family == AF_INET6) {
			fam = 6;
			addr = (const uint8_t *)&((struct sockaddr_in6 *)
			    ifa->ifa_addr)->sin6_addr;
			mask = (const uint8_t *)&((struct sockaddr_in6 *)
			    ifa->ifa_netmask)->sin6_addr;
			if (is_ll6(addr))
				continue;
		} else
			continue;
		proto_put_u8(&out, fam);
		proto_put_bytes(&out, addr, fam == 4 ? 4 : 16);
		proto_put_u8(&out, (uint8_t)prefix_len(mask, fam == 4 ? 4 : 16));
		proto_put_str(&out, ifa->ifa_name);
		n++;
	}
	if (ifa0)
		freeifaddrs(ifa0);
	proto_patch_u32(&out, at, n);
	put_routes(&out);
	send_buf(cl, &out);
}

/* ---- DNS ----------------------------------------------------------- */

static struct ares_fd *
afd_find(struct agent_net *net, int fd)
{
	struct ares_fd *a;

	for (a = net->afds; a != NULL; a = a->next)
		if (a->io.fd == fd)
			return a;
	return NULL;
}

/* c-ares tells which of its sockets to watch. */
static void
ares_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct agent_net *net = data;
	struct ares_fd *a = afd_find(net, fd), **pp;
	struct epoll_event ev;
	int op;

	if (!readable && !writable) {
		if (a == NULL)
			return;
		(void)epoll_ctl(net->ep, EPOLL_CTL_DEL, fd, NULL);
		for (pp = &net->afds; *pp != a; pp = &(*pp)->next)
			;
		*pp = a->next;
		a->io.fd = -1;		/* freed after this round */
		a->next = net->afd_zombies;
		net->afd_zombies = a;
		return;
	}
	op = EPOLL_CTL_MOD;
	if (a == NULL) {
		a = xcalloc(1, sizeof(*a));
		a->io.kind = IO_ARES;
		a->io.fd = fd;
		a->next = net->afds;
		net->afds = a;
		op = EPOLL_CTL_ADD;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0);
	ev.data.ptr = &a->io;
	if (epoll_ctl(net->ep, op, fd, &ev) < 0)
		log_warn("epoll_ctl (c-ares socket)");
}

/* Re-reads the target's resolv.conf at most once a second; a changed
 * server list applies once no query is in flight (c-ares refuses to
 * change servers under pending queries). */
static void
dns_refresh(struct agent_net *net)
{
	char *resolv = net->resolv;
	char csv[sizeof(net->dns_servers)];
	double now = now_ms();
	int rc;

	if (now - net->dns_checked >= 1000 || net->dns_checked == 0) {
		net->dns_checked = now;
		read_resolv_conf(net, resolv, sizeof(net->resolv));
		agent_resolv_servers(resolv, csv, sizeof(csv));
		if (strcmp(csv, net->dns_servers) != 0) {
			snprintf(net->dns_servers, sizeof(net->dns_servers),
			    "%s", csv);
			net->dns_servers_stale = 1;
		}
	}
	if (net->dns_servers_stale && net->dns_inflight == 0) {
		rc = ares_set_servers_ports_csv(net->chan, net->dns_servers);
		if (rc != ARES_SUCCESS)
			log_warnx("DNS: cannot use the target's nameservers "
			    "%s: %s", net->dns_servers, ares_strerror(rc));
		else
			log_info("DNS: the target's nameservers: %s",
			    net->dns_servers);
		net->dns_servers_stale = 0;
	}
}

static int
dns_errno(int status)
{
	switch (status) {
	case ARES_ETIMEOUT:
		return ETIMEDOUT;
	case ARES_ECONNREFUSED:
		return ECONNREFUSED;
	case ARES_ENOMEM:
		return ENOMEM;
	case ARES_EBADQUERY:
	case ARES_EFORMERR:
		return EINVAL;
	case ARES_ECANCELLED:
	case ARES_EDESTRUCTION:
		return ECANCELED;
	default:
		return EIO;
	}
}

static void
dns_done(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_query *q = arg;
	struct agent_net *net = q->net;
	struct agent_net_client *cl = q->cl;
	struct proto_hdr h = { .op = OP_DNS, .id = q->id };
	struct proto_buf out;
	uint8_t *p;

	net->dns_inflight--;
	cl->pending_dns--;
	if (status == ARES_SUCCESS && abuf != NULL && alen >= 2) {
		proto_buf_init(&out, PROTO_HDR_LEN + 4 + (size_t)alen);
		proto_begin(&out, MSG_REPLY, OP_DNS, q->id, 0);
		p = proto_put_bytes_reserve(&out, (size_t)alen);
		if (p != NULL) {
			memcpy(p, abuf, (size_t)alen);
			/* c-ares sent the query under an ID of its own */
			memcpy(p, q->qid, 2);
		}
		send_buf(cl, &out);
	} else
		reply_errno(cl, &h, dns_errno(status));
	x_free(q);
	client_maybe_done(net, cl);
}

static void
serve_dns(struct agent_net *net, struct agent_net_client *cl,
    struct net_msg *m)
{
	struct proto_cur c = { m->data, m->len };
	struct dns_query *q;
	const uint8_t *query;
	uint32_t qlen;

	(void)proto_get_bytes(&c, &query, &qlen, 65535);
	if (!net->ok) {
		reply_errno(cl, &m->h, EPERM);
		return;
	}
	if (!net->dns_ok) {
		reply_errno(cl, &m->h, EIO);
		return;
	}
	if (qlen < 12) {
		reply_errno(cl, &m->h, EINVAL);
		return;
	}
	if (cl->pending_dns >= NET_DNS_PENDING_MAX) {
		reply_errno(cl, &m->h, EAGAIN);
		return;
	}
	dns_refresh(net);
	q = xmalloc(sizeof(*q));
	q->net = net;
	q->cl = cl;
	q->id = m->h.id;
	memcpy(q->qid, query, 2);
	net->dns_inflight++;
	cl->pending_dns++;
	ares_send(net->chan, query, (int)qlen, dns_done, q);
}

static void
dns_init(struct agent_net *net)
{
	struct ares_options o;
	char *lookups = xstrdup("b");
	int rc;

	memset(&o, 0, sizeof(o));
	/* Answers go back as the servers gave them, SERVFAIL included. */
	o.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_NOSEARCH;
	o.timeout = NET_DNS_TIMEOUT_MS;
	o.tries = NET_DNS_TRIES;
	o.ndots = 1;
	o.lookups = lookups;
	o.sock_state_cb = ares_sock_state;
	o.sock_state_cb_data = net;
	/* Nothing of the agent's own resolv.conf: the servers are set from
	 * the target's. */
	o.resolvconf_path = (char *)"/dev/null";
	rc = ares_init_options(&net->chan, &o, ARES_OPT_FLAGS |
	    ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_NDOTS |
	    ARES_OPT_LOOKUPS | ARES_OPT_SOCK_STATE_CB | ARES_OPT_RESOLVCONF |
	    ARES_OPT_NOROTATE);
	x_free(lookups);
	if (rc != ARES_SUCCESS) {
		log_warnx("DNS: c-ares: %s; DNS requests will fail with EIO",
		    ares_strerror(rc));
		return;
	}
	net->dns_ok = 1;
	dns_refresh(net);
}

/* ---- clients ------------------------------------------------------- */

static void
client_close_streams(struct agent_net *net, struct agent_net_client *cl)
{
	unsigned int i, nb;

	if (cl->tab == NULL)
		return;
	nb = 1u << (32 - cl->tab_shift);
	for (i = 0; i < nb; i++)
		while (cl->tab[i] != NULL)
			stream_free(net, cl->tab[i],
			    cl->tab[i]->proto == NET_TCP);
}

/* Once detached and without streams and DNS queries, a client is freed
 * at the end of the loop round. */
static void
client_maybe_done(struct agent_net *net, struct agent_net_client *cl)
{
	if (!cl->detached || cl->nstreams > 0 || cl->pending_dns > 0 ||
	    cl->freeing)
		return;
	cl->freeing = 1;
	if (cl->listed) {
		if (cl->prev)
			cl->prev->next = cl->next;
		else
			net->clients = cl->next;
		if (cl->next)
			cl->next->prev = cl->prev;
		cl->listed = 0;
	}
	cl->next = net->dead_clients;
	cl->prev = NULL;
	net->dead_clients = cl;
}

static void
client_free(struct agent_net_client *cl)
{
	x_free(cl->tab);
	if (cl->release)
		cl->release(cl->arg);
	ws_conn_unref(cl->conn);
	x_free(cl);
}

static void
handle_msg(struct agent_net *net, struct net_msg *m)
{
	struct agent_net_client *cl = m->cl;

	__atomic_sub_fetch(&cl->queued, m->len, __ATOMIC_RELAXED);
	if (!cl->listed && !cl->freeing) {
		cl->listed = 1;
		cl->prev = NULL;
		cl->next = net->clients;
		if (net->clients)
			net->clients->prev = cl;
		net->clients = cl;
	}
	if (m->detach) {
		cl->detached = 1;
		client_close_streams(net, cl);
		client_maybe_done(net, cl);
		x_free(m);
		return;
	}
	if (cl->broken || cl->detached) {
		x_free(m);
		return;
	}
	if (m->h.kind == MSG_STREAM) {
		if (!net->ok && m->h.op == STREAM_OPEN) {
			send_small(cl, MSG_STREAM, STREAM_OPENED, m->h.id, EPERM,
			    1, AGENT_NET_WINDOW);
			x_free(m);
			return;
		}
		stream_message(net, cl, m);
		return;
	}
	if (m->h.op == OP_NET_INFO)
		serve_net_info(net, cl, &m->h);
	else
		serve_dns(net, cl, m);
	x_free(m);
}

static void
drain_queue(struct agent_net *net)
{
	struct net_msg *list, *m;
	uint64_t v;

	if (read(net->wake.fd, &v, sizeof(v)) < 0)
		v = 0;	/* nothing to drain: another wake took it */
	pthread_mutex_lock(&net->mtx);
	list = net->q;
	net->q = net->q_tail = NULL;
	pthread_mutex_unlock(&net->mtx);
	while ((m = list) != NULL) {
		list = m->next;
		m->next = NULL;
		handle_msg(net, m);
	}
}

static void
reap(struct agent_net *net)
{
	struct stream *s;
	struct ares_fd *a;
	struct agent_net_client *cl;

	while ((s = net->zombies) != NULL) {
		net->zombies = s->hnext;
		x_free(s);
	}
	while ((a = net->afd_zombies) != NULL) {
		net->afd_zombies = a->next;
		x_free(a);
	}
	while ((cl = net->dead_clients) != NULL) {
		net->dead_clients = cl->next;
		client_free(cl);
	}
}

/* ---- the thread ---------------------------------------------------- */

static void
enter_netns(struct agent_net *net)
{
	if (net->ns_failed) {
		log_warnx("cannot open the network namespace of process %d: "
		    "%s; files are served, every network request is answered "
		    "EPERM", net->pid, strerror(net->ns_failed));
		return;
	}
	if (net->nsfd < 0) {
		net->ok = 1;
		log_info("network: in the agent's own network namespace");
		return;
	}
	if (setns(net->nsfd, CLONE_NEWNET) < 0) {
		log_warn("cannot enter the network namespace of process %d "
		    "(the agent needs CAP_SYS_ADMIN for that); files are "
		    "served, every network request is answered EPERM",
		    net->pid);
		return;
	}
	net->ok = 1;
	log_info("network: in the network namespace of process %d", net->pid);
}

static int
epoll_timeout(struct agent_net *net)
{
	struct timeval tv, *tvp, maxtv = { 3600, 0 };
	double ms = 3600e3;

	if (net->conn_head != NULL) {
		ms = net->conn_head->deadline - now_ms();
		if (ms < 0)
			ms = 0;
	}
	if (net->dns_ok && net->dns_inflight > 0) {
		tvp = ares_timeout(net->chan, &maxtv, &tv);
		if ((double)tvp->tv_sec * 1e3 + tvp->tv_usec / 1e3 < ms)
			ms = (double)tvp->tv_sec * 1e3 + tvp->tv_usec / 1e3;
	}
	return (int)ms + (ms > (int)ms);
}

static void *
net_main(void *arg)
{
	struct agent_net *net = arg;
	struct epoll_event evs[NET_EVENTS];
	struct net_io *io;
	struct agent_net_client *cl;
	int n, i, timeout;

	pthread_mutex_lock(&net->run_mtx);
	enter_netns(net);
	if (net->ok)
		dns_init(net);
	while (!net->stop) {
		timeout = epoll_timeout(net);
		pthread_mutex_unlock(&net->run_mtx);
		n = epoll_wait(net->ep, evs, NET_EVENTS, timeout);
		pthread_mutex_lock(&net->run_mtx);
		if (n < 0 && errno != EINTR) {
			log_warn("epoll_wait");
			break;
		}
		for (i = 0; i < n; i++) {
			io = evs[i].data.ptr;
			if (io->fd < 0)
				continue;	/* closed this round */
			switch (io->kind) {
			case IO_WAKE:
				drain_queue(net);
				break;
			case IO_STREAM:
				stream_event(net, (struct stream *)io,
				    evs[i].events);
				break;
			case IO_ARES:
				ares_process_fd(net->chan,
				    evs[i].events & (EPOLLIN | EPOLLERR |
				    EPOLLHUP) ? io->fd : ARES_SOCKET_BAD,
				    evs[i].events & EPOLLOUT ? io->fd :
				    ARES_SOCKET_BAD);
				break;
			}
		}
		if (net->conn_head != NULL)
			connect_timeouts(net, now_ms());
		if (net->dns_ok && net->dns_inflight > 0)
			ares_process_fd(net->chan, ARES_SOCKET_BAD,
			    ARES_SOCKET_BAD);
		if (net->dns_ok && net->dns_servers_stale &&
		    net->dns_inflight == 0)
			dns_refresh(net);
		reap(net);
	}
	/* Stopping: every socket goes; clients wait for their detach. */
	for (cl = net->clients; cl != NULL; cl = cl->next)
		client_close_streams(net, cl);
	if (net->dns_ok) {
		ares_destroy(net->chan);	/* answers what is pending */
		net->dns_ok = 0;
	}
	reap(net);
	pthread_mutex_unlock(&net->run_mtx);
	return NULL;
}

struct agent_net *
agent_net_new(struct agent_fs *fs, int pid)
{
	struct agent_net *net = xcalloc(1, sizeof(*net));
	struct epoll_event ev;
	struct stat a, b;
	struct rlimit rl;
	char path[64];
	int rc;

	net->fs = fs;
	net->pid = pid;
	net->nsfd = -1;
	pthread_mutex_init(&net->mtx, NULL);
	pthread_mutex_init(&net->run_mtx, NULL);
	if (pid > 0) {
		snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
		net->nsfd = open(path, O_RDONLY | O_CLOEXEC);
		if (net->nsfd < 0)
			net->ns_failed = errno;
		else if (stat("/proc/self/ns/net", &a) == 0 &&
		    fstat(net->nsfd, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev) {
			close(net->nsfd);	/* already there */
			net->nsfd = -1;
		}
	}
	/* Thousands of relayed connections need as many descriptors. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS)
		fatalx("c-ares: %s", ares_strerror(rc));
	net->ep = epoll_create1(EPOLL_CLOEXEC);
	if (net->ep < 0)
		fatal("epoll_create1");
	net->wake.kind = IO_WAKE;
	net->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (net->wake.fd < 0)
		fatal("eventfd");
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &net->wake;
	if (epoll_ctl(net->ep, EPOLL_CTL_ADD, net->wake.fd, &ev) < 0)
		fatal("epoll_ctl");
	if ((rc = pthread_create(&net->thread, NULL, net_main, net)) != 0)
		fatalx("cannot start the network thread: %s", strerror(rc));
	net->running = 1;
	return net;
}

static void
wake(struct agent_net *net)
{
	uint64_t one = 1;

	if (write(net->wake.fd, &one, sizeof(one)) < 0)
		return;	/* EAGAIN: the counter is already non-zero */
}

void
agent_net_stop(struct agent_net *net)
{
	struct net_msg *m, *next;

	if (net == NULL || !net->running)
		return;
	pthread_mutex_lock(&net->mtx);
	net->stop = 1;
	pthread_mutex_unlock(&net->mtx);
	wake(net);
	pthread_join(net->thread, NULL);
	net->running = 0;
	pthread_mutex_lock(&net->mtx);
	net->stopped = 1;
	m = net->q;
	net->q = net->q_tail = NULL;
	pthread_mutex_unlock(&net->mtx);
	for (; m != NULL; m = next) {
		next = m->next;
		if (m->detach) {
			/* the thread is gone: nothing of the client is left
			 * but the client itself */
			m->cl->detached = 1;
			client_free(m->cl);
		}
		x_free(m);
	}
}

void
agent_net_free(struct agent_net *net)
{
	if (net == NULL)
		return;
	agent_net_stop(net);
	close(net->wake.fd);
	close(net->ep);
	if (net->nsfd >= 0)
		close(net->nsfd);
	pthread_mutex_destroy(&net->mtx);
	pthread_mutex_destroy(&net->run_mtx);
	ares_library_cleanup();
	x_free(net);
}

struct agent_net_client *
agent_net_attach(struct agent_net *net, struct ws_conn *conn,
    void (*release)(void *), void *arg)
{
	struct agent_net_client *cl = xcalloc(1, sizeof(*cl));

	cl->conn = conn;
	ws_conn_ref(conn);
	cl->release = release;
	cl->arg = arg;
	return cl;
}

/* Appends to the queue; wakes the thread only if it was empty (it
 * drains everything it finds). 0, or -ESHUTDOWN once stopped. */
static int
enqueue(struct agent_net *net, struct net_msg *m)
{
	int was_empty;

	pthread_mutex_lock(&net->mtx);
	if (net->stopped || net->stop) {
		pthread_mutex_unlock(&net->mtx);
		return -ESHUTDOWN;
	}
	was_empty = net->q == NULL;
	if (net->q_tail)
		net->q_tail->next = m;
	else
		net->q = m;
	net->q_tail = m;
	pthread_mutex_unlock(&net->mtx);
	if (was_empty)
		wake(net);
	return 0;
}

void
agent_net_detach(struct agent_net *net, struct agent_net_client *cl)
{
	struct net_msg *m;

	if (cl == NULL)
		return;
	m = xcalloc(1, sizeof(*m));
	m->cl = cl;
	m->detach = 1;
	if (enqueue(net, m) < 0) {
		x_free(m);
		client_free(cl);	/* the thread is gone */
	}
}

/* The payload of a stream message or request is well formed. */
static int
check_payload(const struct proto_hdr *h, struct proto_cur c,
    const char **why)
{
	const uint8_t *p;
	uint32_t n, window;
	uint16_t port;
	uint8_t proto, family;

	if (h->kind == MSG_REQUEST) {
		if (h->op == OP_NET_INFO) {
			if (proto_end(&c) < 0)
				goto bad;
			return 0;
		}
		if (proto_get_bytes(&c, &p, &n, 65535) < 0 ||
		    proto_end(&c) < 0)
			goto bad;
		return 0;
	}
	switch (h->op) {
	case STREAM_OPEN:
		if (proto_get_u8(&c, &proto) < 0 ||
		    proto_get_u8(&c, &family) < 0 ||
		    proto_get_bytes(&c, &p, &n, 16) < 0 ||
		    proto_get_u16(&c, &port) < 0 ||
		    proto_get_u32(&c, &window) < 0 || proto_end(&c) < 0)
			goto bad;
		if ((family == 4 && n != 4) || (family == 6 && n != 16)) {
			*why = "stream_open: address length does not match "
			    "the family";
			return -EBADMSG;
		}
		if (proto == NET_TCP && window == 0) {
			*why = "stream_open: zero window";
			return -EBADMSG;
		}
		return 0;
	case STREAM_DATA:
		return 0;
	case STREAM_CREDIT:
		if (proto_get_u32(&c, &n) < 0 || proto_end(&c) < 0)
			goto bad;
		return 0;
	case STREAM_SHUT:
	case STREAM_CLOSE:
		if (proto_end(&c) < 0)
			goto bad;
		return 0;
	default:
		*why = "stream message a client may not send";
		return -EBADMSG;
	}
bad:
	*why = h->kind == MSG_REQUEST ? "malformed network request" :
	    "malformed stream message";
	return -EBADMSG;
}

/* Service thread: handles a stream message at once if the network
 * thread is idle and nothing is queued before it. 1 if it did. */
static int
submit_now(struct agent_net *net, struct agent_net_client *cl,
    const struct proto_hdr *h, const uint8_t *data, size_t len)
{
	int idle;

	if (pthread_mutex_trylock(&net->run_mtx) != 0)
		return 0;
	pthread_mutex_lock(&net->mtx);
	idle = net->q == NULL && !net->stop && !net->stopped &&
	    net->running;
	pthread_mutex_unlock(&net->mtx);
	if (idle && !cl->broken && !cl->detached)
		stream_message_payload(net, cl, h, data, len, NULL);
	pthread_mutex_unlock(&net->run_mtx);
	return idle;
}

int
agent_net_submit(struct agent_net *net, struct agent_net_client *cl,
    const struct proto_hdr *h, const uint8_t *msg, size_t len,
    const char **why)
{
	struct proto_cur c = { msg + PROTO_HDR_LEN, len - PROTO_HDR_LEN };
	struct net_msg *m;
	size_t plen = len - PROTO_HDR_LEN;
	int rc;

	if ((rc = check_payload(h, c, why)) < 0)
		return rc;
	if (h->kind == MSG_STREAM && h->op != STREAM_OPEN &&
	    (h->op != STREAM_DATA || plen <= NET_INLINE_MAX) &&
	    submit_now(net, cl, h, msg + PROTO_HDR_LEN, plen))
		return 0;
	if (__atomic_add_fetch(&cl->queued, plen, __ATOMIC_RELAXED) >
	    NET_QUEUE_MAX) {
		__atomic_sub_fetch(&cl->queued, plen, __ATOMIC_RELAXED);
		*why = "network messages faster than they can be served";
		return -ENOBUFS;
	}
	m = xmalloc(sizeof(*m) + plen);
	m->next = NULL;
	m->cl = cl;
	m->detach = 0;
	m->h = *h;
	m->data = m->buf;
	m->len = plen;
	m->off = 0;
	m->cap = 0;
	memcpy(m->buf, msg + PROTO_HDR_LEN, plen);
	if (enqueue(net, m) < 0) {
		__atomic_sub_fetch(&cl->queued, plen, __ATOMIC_RELAXED);
		x_free(m);
	}
	return 0;
}
