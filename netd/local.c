/*
 * net.local in a shell: connections and flows that leave from the
 * laptop's namespace, relayed by netd itself (see local.h).
 *
 * TCP. The relay thread makes the NAT entry of a SYN to a local
 * destination as for any other and hands the SYN here. The local thread
 * connects from netd's namespace; once connected it marks the entry open
 * (nat->lid names the connection) and writes the SYN back rewritten, so
 * the kernel in the shell's namespace completes the handshake with the
 * relay's listener; a refused port is a RST to the SYN. The relay thread
 * hands the accepted socket back here, and the two sockets are joined by
 * a copy loop with one buffer each way: a buffer is refilled only when
 * written out, so a slow side stops the other by its own TCP window.
 * EOF travels as shutdown(SHUT_WR); both shut, both close; an error
 * resets both.
 *
 * UDP. A flow per 4-tuple: a connected UDP socket in netd's namespace;
 * datagrams from the TUN are sent on it, what it receives goes back
 * into the TUN as datagrams from the destination. Idle flows expire.
 *
 * Bounds: LOCAL_TCP_MAX connections, LOCAL_FLOWS_MAX flows,
 * LOCAL_QUEUE_MAX bytes of datagrams waiting for the local thread; beyond
 * them a SYN is reset and a datagram dropped (counted as the relay's).
 * The stub's names are localdns.c's.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "local.h"
#include "localmatch.h"
#include "log.h"
#include "pkt.h"
#include "relay-internal.h"
#include "xmalloc.h"

#define LOCAL_TCP_MAX		1024
#define LOCAL_FLOWS_MAX		1024
#define LOCAL_BUF		65536	/* each way of a TCP connection */
#define LOCAL_QUEUE_MAX		(4u << 20)
#define LOCAL_BUCKETS		1024
#define LOCAL_PUMP_ROUNDS	8	/* buffers moved per event and way */
#define LOCAL_UDP_READS		64	/* datagrams read per event */

enum { LC_CONNECTING, LC_ACCEPTING, LC_RELAY };
enum { LJ_SYN, LJ_ACCEPTED, LJ_UDP };
#define EV_WAKE		(1ull << 63)

/* One way of a TCP connection: read from fd[i], written to fd[!i]. */
struct half {
	uint8_t		*buf;
	size_t		 off, len;	/* written; held */
	int		 eof, shut;
};

/* A local TCP connection or UDP flow; the local thread's. In epoll it is
 * named by its id and side, never by pointer (one event may free it
 * while another of the same round still names it). */
struct lconn {
	uint32_t	 id;
	uint8_t		 proto;		/* NET_TCP, NET_UDP */
	int		 state;		/* TCP: LC_* */
	int		 fd[2];		/* the shell's side (TCP), netd's */
	uint32_t	 ev[2];		/* registered interest */
	struct half	 h[2];
	struct nat	*nat;		/* TCP */
	uint8_t		*syn;		/* held until connected */
	size_t		 synlen;
	uint32_t	 caddr, daddr;
	uint16_t	 cport, dport;
	double		 deadline, last;
	struct lconn	*idnext, *tnext, *prev, *next;
};

/* From the relay thread to the local thread. */
struct ljob {
	struct ljob	*next;
	int		 kind;		/* LJ_* */
	struct nat	*nat;		/* LJ_SYN */
	uint32_t	 id;		/* LJ_ACCEPTED */
	int		 fd;
	size_t		 len;
	uint8_t		 data[];	/* LJ_SYN, LJ_UDP: the packet */
};

static struct {
	struct localmatch *m;
	double		 udp_idle;
	atomic_int	 started;
	atomic_int	 stop;
	pthread_t	 thread;
	int		 epfd, evfd;

	/* the local thread's queue: q_mtx */
	pthread_mutex_t	 q_mtx;
	struct ljob	*q_head, *q_tail;
	size_t		 q_bytes;
	int		 q_closed;

	/* the local thread's */
	struct lconn	*ids[LOCAL_BUCKETS], *tuples[LOCAL_BUCKETS], *all;
	uint32_t	 next_id;
	int		 ntcp, nflows;
	uint8_t		*pbuf;		/* PKT_BUF_MAX: packets to the TUN */
	uint8_t		*rbuf;		/* 65536: a datagram read */
} L;

/* ---- the table (local thread) -------------------------------------- */

static struct lconn *
conn_find(uint32_t id)
{
	struct lconn *c;

	for (c = L.ids[id & (LOCAL_BUCKETS - 1)]; c; c = c->idnext)
		if (c->id == id)
			return c;
	return NULL;
}

static unsigned int
tuple_hash(uint32_t caddr, uint16_t cport, uint32_t daddr, uint16_t dport)
{
	struct in6_addr c = pkt_addr4(caddr), d = pkt_addr4(daddr);

	return nat_hash(&c, cport, &d, dport) & (LOCAL_BUCKETS - 1);
}

static struct lconn *
flow_lookup(uint32_t caddr, uint16_t cport, uint32_t daddr, uint16_t dport)
{
	struct lconn *c;

	for (c = L.tuples[tuple_hash(caddr, cport, daddr, dport)]; c;
	    c = c->tnext)
		if (c->caddr == caddr && c->cport == cport &&
		    c->daddr == daddr && c->dport == dport)
			return c;
	return NULL;
}

static struct lconn *
conn_new(uint8_t proto, uint32_t caddr, uint16_t cport, uint32_t daddr,
    uint16_t dport)
{
	struct lconn *c = xcalloc(1, sizeof(*c));
	unsigned int h;

	do
		c->id = ++L.next_id;
	while (c->id == 0 || conn_find(c->id) != NULL);
	c->proto = proto;
	c->fd[0] = c->fd[1] = -1;
	c->caddr = caddr;
	c->cport = cport;
	c->daddr = daddr;
	c->dport = dport;
	c->last = mono_now();
	h = c->id & (LOCAL_BUCKETS - 1);
	c->idnext = L.ids[h];
	L.ids[h] = c;
	if (proto == NET_UDP) {
		h = tuple_hash(caddr, cport, daddr, dport);
		c->tnext = L.tuples[h];
		L.tuples[h] = c;
		L.nflows++;
	} else
		L.ntcp++;
	c->next = L.all;
	if (L.all)
		L.all->prev = c;
	L.all = c;
	return c;
}

static void
unlink_from(struct lconn **pp, struct lconn *c, int tuple)
{
	for (; *pp; pp = tuple ? &(*pp)->tnext : &(*pp)->idnext)
		if (*pp == c) {
			*pp = tuple ? c->tnext : c->idnext;
			return;
		}
}

static void
set_interest(struct lconn *c, int i, uint32_t want)
{
	struct epoll_event ev;
	int op;

	if (c->fd[i] < 0 || want == c->ev[i])
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.u64 = (uint64_t)i << 32 | c->id;
	op = want == 0 ? EPOLL_CTL_DEL : c->ev[i] == 0 ? EPOLL_CTL_ADD :
	    EPOLL_CTL_MOD;
	if (epoll_ctl(L.epfd, op, c->fd[i], &ev) < 0)
		log_warn("epoll_ctl (local %u)", c->id);
	c->ev[i] = want;
}

static void
close_reset(int fd)
{
	struct linger l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

/* Closes its sockets (reset: with an RST) and forgets it; its NAT entry
 * is dropped if the shell never saw the connection, else retired. */
static void
conn_free(struct lconn *c, int reset)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (c->fd[i] < 0)
			continue;
		set_interest(c, i, 0);
		if (reset)
			close_reset(c->fd[i]);
		else
			close(c->fd[i]);
		x_free(c->h[i].buf);
	}
	if (c->nat) {
		if (c->state == LC_CONNECTING)
			nat_drop(c->nat);
		else
			nat_retire(c->nat);
	}
	unlink_from(&L.ids[c->id & (LOCAL_BUCKETS - 1)], c, 0);
	if (c->proto == NET_UDP) {
		unlink_from(&L.tuples[tuple_hash(c->caddr, c->cport, c->daddr,
		    c->dport)], c, 1);
		L.nflows--;
	} else
		L.ntcp--;
	if (c->prev)
		c->prev->next = c->next;
	else
		L.all = c->next;
	if (c->next)
		c->next->prev = c->prev;
	x_free(c->syn);
	x_free(c);
}

/* ---- TCP (local thread) -------------------------------------------- */

/* The connect from netd's namespace is done (err 0) or failed. */
static void
tcp_connected(struct lconn *c, int err)
{
	uint8_t out[PKT_VNET_LEN + 128];
	char a[INET6_ADDRSTRLEN];
	struct pkt p;

	if (pkt_parse(c->syn, c->synlen, &p) < 0) {
		conn_free(c, 1);
		return;
	}
	if (err != 0) {
		log_debug("net.local: connect to %s:%u: %s",
		    ip_str(&p.daddr, a), ntohs(c->dport), strerror(err));
		if (err == EHOSTUNREACH || err == ENETUNREACH)
			tunio_write(out, pkt_icmp_unreach(out, &p,
			    err == ENETUNREACH ? PKT_UNREACH_NET :
			    PKT_UNREACH_HOST));
		else if (err != ETIMEDOUT)
			tunio_write(out, pkt_tcp_rst(out, &p));
		conn_free(c, 1);
		return;
	}
	set_interest(c, 1, 0);
	c->state = LC_ACCEPTING;
	c->deadline = mono_now() + ACCEPT_TIMEOUT;
	pthread_mutex_lock(&R.nat_mtx);
	c->nat->lid = c->id;
	c->nat->state = NAT_OPEN;
	pkt_tcp_rewrite(&p, &c->nat->paddr, c->nat->pport, &R.tun4,
	    R.listen_port);
	pthread_mutex_unlock(&R.nat_mtx);
	tunio_write(c->syn, c->synlen);
	x_free(c->syn);
	c->syn = NULL;
}

static void
tcp_syn(struct nat *n, uint8_t *syn, size_t len)
{
	uint8_t out[PKT_VNET_LEN + 128];
	struct sockaddr_in sin;
	struct lconn *c;
	struct pkt p;
	int fd, one = 1;

	if (pkt_parse(syn, len, &p) < 0) {
		nat_drop(n);
		return;
	}
	if (L.ntcp >= LOCAL_TCP_MAX) {
		log_warnx("net.local: %d connections already; resetting one "
		    "more", LOCAL_TCP_MAX);
		tunio_write(out, pkt_tcp_rst(out, &p));
		nat_drop(n);
		return;
	}
	c = conn_new(NET_TCP, pkt_v4(&p.saddr), p.sport, pkt_v4(&p.daddr),
	    p.dport);
	c->nat = n;
	c->state = LC_CONNECTING;
	c->syn = xmalloc(len);
	memcpy(c->syn, syn, len);
	c->synlen = len;
	c->deadline = mono_now() + ACCEPT_TIMEOUT;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0) {
		tcp_connected(c, errno);
		return;
	}
	c->fd[1] = fd;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = pkt_v4(&p.daddr);
	sin.sin_port = p.dport;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
		tcp_connected(c, 0);
	else if (errno == EINPROGRESS)
		set_interest(c, 1, EPOLLOUT);
	else
		tcp_connected(c, errno);
}

static void tcp_event(struct lconn *, uint32_t);

static void
tcp_accepted(uint32_t id, int fd)
{
	struct lconn *c = conn_find(id);
	int i, one = 1;

	if (c == NULL || c->proto != NET_TCP || c->state != LC_ACCEPTING) {
		log_debug("net.local: an accepted connection of no local "
		    "connection (%u)", id);
		close_reset(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd[0] = fd;
	c->state = LC_RELAY;
	for (i = 0; i < 2; i++)
		c->h[i].buf = xmalloc(LOCAL_BUF);
	tcp_event(c, 0);	/* what the server sent already; interests */
}

/* Moves what fd[i] has to fd[!i] while neither blocks; 0 or -errno. */
static int
pump(struct lconn *c, int i)
{
	struct half *h = &c->h[i];
	ssize_t r;
	int k;

	for (k = 0; k < LOCAL_PUMP_ROUNDS; k++) {
		if (h->off < h->len) {
			r = send(c->fd[!i], h->buf + h->off, h->len - h->off,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
			if (r < 0)
				return errno == EAGAIN || errno == EINTR ? 0 :
				    -errno;
			h->off += (size_t)r;
			if (h->off < h->len)
				return 0;
			h->off = h->len = 0;
		}
		if (h->eof)
			break;
		r = recv(c->fd[i], h->buf, LOCAL_BUF, MSG_DONTWAIT);
		if (r < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		if (r == 0) {
			h->eof = 1;
			break;
		}
		h->len = (size_t)r;
	}
	if (h->eof && h->len == 0 && !h->shut) {
		shutdown(c->fd[!i], SHUT_WR);
		h->shut = 1;
	}
	return 0;
}

static void
tcp_event(struct lconn *c, uint32_t events)
{
	socklen_t sl = sizeof(int);
	int err = 0, rc, i;

	if (c->state == LC_CONNECTING) {
		if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
			err = errno;
		tcp_connected(c, err);
		return;
	}
	if (c->state != LC_RELAY)
		return;
	(void)events;
	if ((rc = pump(c, 0)) < 0 || (rc = pump(c, 1)) < 0) {
		log_debug("net.local: connection %u: %s", c->id,
		    strerror(-rc));
		conn_free(c, 1);
		return;
	}
	if (c->h[0].shut && c->h[1].shut) {
		conn_free(c, 0);
		return;
	}
	for (i = 0; i < 2; i++)
		set_interest(c, i,
		    (!c->h[i].eof && c->h[i].len == 0 ? EPOLLIN : 0) |
		    (c->h[!i].off < c->h[!i].len ? EPOLLOUT : 0));
}

/* ---- UDP (local thread) -------------------------------------------- */

static void
udp_packet(uint8_t *buf, size_t len)
{
	uint8_t out[PKT_VNET_LEN + 80];
	struct sockaddr_in sin;
	struct lconn *c;
	struct pkt p;
	int fd;

	if (pkt_parse(buf, len, &p) < 0 || p.proto != IPPROTO_UDP || p.v6)
		return;
	c = flow_lookup(pkt_v4(&p.saddr), p.sport, pkt_v4(&p.daddr), p.dport);
	if (c == NULL) {
		if (L.nflows >= LOCAL_FLOWS_MAX) {
			relay_dropped();
			return;
		}
		if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0)) < 0) {
			relay_dropped();
			return;
		}
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = pkt_v4(&p.daddr);
		sin.sin_port = p.dport;
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
			if (errno == ENETUNREACH || errno == EHOSTUNREACH)
				tunio_write(out, pkt_icmp_unreach(out, &p,
				    errno == ENETUNREACH ? PKT_UNREACH_NET :
				    PKT_UNREACH_HOST));
			close(fd);
			return;
		}
		c = conn_new(NET_UDP, pkt_v4(&p.saddr), p.sport,
		    pkt_v4(&p.daddr), p.dport);
		c->fd[1] = fd;
		set_interest(c, 1, EPOLLIN);
	}
	c->last = mono_now();
	if (send(c->fd[1], p.l4 + 8, p.l4len - 8, MSG_DONTWAIT) < 0) {
		if (errno == ECONNREFUSED)	/* an earlier datagram's */
			tunio_write(out, pkt_icmp_unreach(out, &p,
			    PKT_UNREACH_PORT));
		else
			relay_dropped();
	}
}

static void
udp_event(struct lconn *c)
{
	struct in6_addr from = pkt_addr4(c->daddr), to = pkt_addr4(c->caddr);
	ssize_t r;
	int i;

	for (i = 0; i < LOCAL_UDP_READS; i++) {
		r = recv(c->fd[1], L.rbuf, 65536, MSG_DONTWAIT);
		if (r < 0)
			return;		/* EAGAIN, or an ICMP error taken */
		tunio_write(L.pbuf, pkt_udp(L.pbuf, &from, c->dport, &to,
		    c->cport, L.rbuf, (size_t)r));
		c->last = mono_now();
	}
}

/* ---- the local thread ---------------------------------------------- */

static void
job_drop(struct ljob *j)
{
	if (j->kind == LJ_SYN)
		nat_drop(j->nat);
	else if (j->kind == LJ_ACCEPTED)
		close_reset(j->fd);
	else
		relay_dropped();
	x_free(j);
}

static void
push(struct ljob *j)
{
	uint64_t one = 1;
	int wake;

	j->next = NULL;
	pthread_mutex_lock(&L.q_mtx);
	if (L.q_closed || (j->kind == LJ_UDP &&
	    L.q_bytes + j->len > LOCAL_QUEUE_MAX)) {
		pthread_mutex_unlock(&L.q_mtx);
		job_drop(j);
		return;
	}
	L.q_bytes += j->len;
	wake = L.q_head == NULL;
	if (L.q_tail)
		L.q_tail->next = j;
	else
		L.q_head = j;
	L.q_tail = j;
	pthread_mutex_unlock(&L.q_mtx);
	if (wake && write(L.evfd, &one, sizeof(one)) < 0)
		log_debug("eventfd: %s", strerror(errno));
}

static struct ljob *
job_new(int kind, const uint8_t *data, size_t len)
{
	struct ljob *j = xcalloc(1, sizeof(*j) + len);

	j->kind = kind;
	j->len = len;
	j->fd = -1;
	if (len)
		memcpy(j->data, data, len);
	return j;
}

static void
drain(void)
{
	struct ljob *j, *next;
	uint64_t v;

	if (read(L.evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug("eventfd: %s", strerror(errno));
	pthread_mutex_lock(&L.q_mtx);
	j = L.q_head;
	L.q_head = L.q_tail = NULL;
	L.q_bytes = 0;
	pthread_mutex_unlock(&L.q_mtx);
	for (; j; j = next) {
		next = j->next;
		switch (j->kind) {
		case LJ_SYN:
			tcp_syn(j->nat, j->data, j->len);
			break;
		case LJ_ACCEPTED:
			tcp_accepted(j->id, j->fd);
			break;
		case LJ_UDP:
			udp_packet(j->data, j->len);
			break;
		}
		x_free(j);
	}
}

static void
tick(double t)
{
	struct lconn *c, *next;

	for (c = L.all; c; c = next) {
		next = c->next;
		if (c->proto == NET_UDP) {
			if (t - c->last > L.udp_idle)
				conn_free(c, 0);
		} else if (c->state == LC_CONNECTING && t > c->deadline)
			tcp_connected(c, ETIMEDOUT);
		else if (c->state == LC_ACCEPTING && t > c->deadline)
			conn_free(c, 1);
	}
}

static void *
local_main(void *arg)
{
	struct epoll_event evs[64];
	double t, next_tick = mono_now() + 1;
	int i, n, timeout;

	(void)arg;
	while (!L.stop) {
		t = mono_now();
		timeout = t >= next_tick ? 0 :
		    (int)((next_tick - t) * 1000) + 1;
		n = epoll_wait(L.epfd, evs, 64, timeout);
		if (n < 0 && errno != EINTR) {
			log_warn("net.local: epoll_wait");
			break;
		}
		for (i = 0; i < n; i++)
			if (evs[i].data.u64 == EV_WAKE)
				drain();
		for (i = 0; i < n; i++) {
			struct lconn *c;
			uint64_t d = evs[i].data.u64;

			if (d == EV_WAKE || (c = conn_find((uint32_t)d)) ==
			    NULL || c->fd[d >> 32] < 0)
				continue;
			if (c->proto == NET_UDP)
				udp_event(c);
			else
				tcp_event(c, evs[i].events);
		}
		if ((t = mono_now()) >= next_tick) {
			tick(t);
			next_tick = t + 1;
		}
	}
	return NULL;
}

/* ---- the other threads' side --------------------------------------- */

int
local_wants(uint8_t ipproto, const struct in6_addr *daddr, uint16_t dport)
{
	(void)ipproto;
	/* net.local names IPv4 destinations only */
	return L.started && pkt_is4(daddr) && localmatch_addr(L.m,
	    pkt_v4(daddr), dport, mono_now());
}

void
local_tcp_syn(struct nat *n, const uint8_t *syn, size_t len)
{
	struct ljob *j = job_new(LJ_SYN, syn, len);

	j->nat = n;
	push(j);
}

void
local_tcp_accepted(uint32_t lid, int fd)
{
	struct ljob *j = job_new(LJ_ACCEPTED, NULL, 0);

	j->id = lid;
	j->fd = fd;
	push(j);
}

void
local_udp_packet(const uint8_t *buf, size_t len)
{
	push(job_new(LJ_UDP, buf, len));
}

/* ---- start and stop ------------------------------------------------ */

int
local_start(struct localmatch *m, double udp_idle)
{
	struct epoll_event ev;
	sigset_t all, old;
	int rc;

	L.m = m;
	L.udp_idle = udp_idle;
	pthread_mutex_init(&L.q_mtx, NULL);
	if ((L.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return -errno;
	if ((L.evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		rc = -errno;
		close(L.epfd);
		return rc;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = EV_WAKE;
	if (epoll_ctl(L.epfd, EPOLL_CTL_ADD, L.evfd, &ev) < 0) {
		rc = -errno;
		close(L.evfd);
		close(L.epfd);
		return rc;
	}
	L.pbuf = xmalloc(PKT_BUF_MAX);
	L.rbuf = xmalloc(65536);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	L.started = 1;
	if (pthread_create(&L.thread, NULL, local_main, NULL) != 0)
		fatalx("cannot start the net.local thread");
	localdns_start(m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}

void
local_stop(void)
{
	struct ljob *j;
	uint64_t one = 1;

	if (!L.started)
		return;
	L.stop = 1;
	localdns_stop();
	if (write(L.evfd, &one, sizeof(one)) < 0)
		log_debug("eventfd: %s", strerror(errno));
	pthread_join(L.thread, NULL);
	/* From now on the relay thread's hand-offs are undone at once. */
	pthread_mutex_lock(&L.q_mtx);
	L.q_closed = 1;
	j = L.q_head;
	L.q_head = L.q_tail = NULL;
	pthread_mutex_unlock(&L.q_mtx);
	while (j) {
		struct ljob *next = j->next;

		job_drop(j);
		j = next;
	}
	while (L.all)
		conn_free(L.all, 1);
	close(L.evfd);
	close(L.epfd);
	x_free(L.pbuf);
	x_free(L.rbuf);
	L.started = 0;
}
