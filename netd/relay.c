/*
 * netd's data path.
 *
 * TCP: the kernel's own stack ends every connection that enters the TUN.
 * A client's SYN is held while the agent connects (STREAM_OPEN); once it
 * has (STREAM_OPENED 0), the SYN is rewritten to come from a fake peer
 * address and a NAT port and to go to our listener on the TUN address,
 * and written back. The TUN thread rewrites every later segment in place,
 * both ways, through the NAT table; the relay thread joins the accepted
 * socket (its peer address names the NAT entry) with the stream.
 *
 * Threads: the TUN thread only translates; what it cannot translate (a
 * new SYN, UDP, ICMP) it queues to the relay thread. Stream state is
 * under relay_mtx, which the relay thread holds for each round of its
 * loop. The client's reader thread handles a stream message itself when
 * it gets relay_mtx at once and nothing is queued (so the agent's data
 * goes straight into the socket without waking the relay thread), and
 * queues it otherwise; handled in order either way. The NAT table is
 * shared with the TUN thread under nat_mtx.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"
#include "log.h"
#include "pkt.h"
#include "proto.h"
#include "relay.h"
#include "xmalloc.h"

#define NAT_PORT_LO	10000
#define NAT_PORTS	51000		/* 10000..60999 per peer */
#define NAT_LINGER	60.0		/* TIME_WAIT: a port rests so long */
#define FWD_BUCKETS	65536
#define ID_BUCKETS	65536
#define TCP_WINDOW	(1024u * 1024)	/* what the agent may send ahead */
#define UDP_WINDOW	(256u * 1024)
#define UDP_QUEUE_MAX	16		/* datagrams held before OPENED */
#define ACCEPT_TIMEOUT	30.0
#define STATUS_CONN_MAX	200
#define TUN_BATCH	256		/* packets read per wakeup */
/* Agent data up to this size goes into the socket on the reader thread
 * when it can (latency); bulk data is the relay thread's, so that the
 * reader reads on meanwhile. */
#define INLINE_MAX	16384
#define DNS_TCP_MAX	32		/* DNS-over-TCP connections at once */
#define DNS_UDP_INFLIGHT_MAX 256	/* DNS-over-UDP queries at the agent */
/* Bounds on what waits in netd, whoever floods it. Beyond them a
 * datagram, echo or SYN is dropped (counted in the status), as a full
 * router queue drops it; the sender retries or does without. */
#define PKT_QUEUE_MAX	(4u << 20)	/* TUN thread -> relay thread */
#define PENDING_MAX	(1u << 20)	/* datagrams of flows not yet open */
#define DGRAM_UNACKED_MAX (4u << 20)	/* sent to the agent, not credited */
#define FLOWS_MAX	1024		/* UDP and ICMP flows at once */
/* The agent's messages queued for the relay thread: beyond this the
 * reader thread waits, and the agent's socket with it. */
#define MSG_QUEUE_MAX	(32u << 20)

enum nat_state { NAT_PENDING, NAT_OPEN, NAT_DEAD };

/* One TCP connection through the TUN. Fields are fixed at creation
 * except state, in_fwd, expire and the links (nat_mtx). */
struct nat {
	uint32_t	 caddr, daddr;	/* client, original destination */
	uint16_t	 cport, dport;
	uint32_t	 paddr;		/* fake peer */
	uint16_t	 pport;		/* NAT port */
	int		 slot;
	int		 state;
	int		 in_fwd;
	double		 expire;
	struct stream	*st;		/* relay thread only */
	struct nat	*fnext;		/* forward hash chain */
	struct nat	*lnext;		/* linger queue */
};

enum tag { TAG_EVENT = 1, TAG_LISTEN, TAG_DNS_UDP, TAG_DNS_TCP };
#define EV_STREAM	(1ull << 63)	/* epoll data: a stream id */

struct dgram {
	struct dgram	*next;
	size_t		 len;
	uint8_t		 data[];
};

/* A stream to the agent: a TCP connection or a UDP or ICMP flow.
 * relay_mtx. In epoll a stream is named by its id (EV_STREAM | id), never
 * by pointer: the reader thread may free it while an event waits. */
struct stream {
	uint32_t	 id;
	uint8_t		 proto;		/* NET_* */
	int		 fd;		/* accepted socket; -1 before */
	uint32_t	 events;	/* epoll interest of fd */
	struct nat	*nat;
	uint8_t		*syn;		/* held until STREAM_OPENED */
	size_t		 synlen;
	int		 opened;
	uint32_t	 send_avail;	/* we may send the agent so much */
	uint32_t	 rwin;		/* the agent may send us so much */
	uint32_t	 uncredited;	/* consumed, not yet credited */
	uint8_t		*obuf;		/* agent -> socket, not yet taken */
	size_t		 ooff, olen, ocap;
	int		 local_eof, remote_shut, wr_shut, remote_gone;
	int		 in_ids;
	uint64_t	 bytes_in, bytes_out;
	double		 last, deadline;
	/* the flow's addresses (all protocols, for the status) */
	uint32_t	 caddr, daddr;
	uint16_t	 cport, dport;	/* ICMP: echo id, 0 */
	struct dgram	*q, *qtail;
	int		 qn;
	uint32_t	 unacked;	/* UDP/ICMP: sent, not yet credited */
	struct stream	*idnext, *fnext, *prev, *next;
};

struct item {
	struct item	*next;
	int		 kind;		/* IT_* */
	struct proto_hdr h;
	size_t		 len;
	uint8_t		 data[];
};
enum { IT_MSG, IT_PKT, IT_DOWN };

static struct {
	struct relay_config cfg;
	struct client	*cl;
	int		 tunfd;
	uint32_t	 tun_addr;
	uint32_t	 peer_base;	/* host order: first fake peer */
	uint16_t	 listen_port;	/* network order */
	int		 lfd, dns_ufd, dns_tfd, epfd, evfd, stopfd;
	pthread_t	 tun_thread, relay_thread;
	int		 started;
	volatile int	 stop;

	/* NAT table: nat_mtx */
	pthread_mutex_t	 nat_mtx;
	struct nat	*fwd[FWD_BUCKETS];
	struct nat	**ports;	/* RELAY_PEERS * NAT_PORTS */
	int		 cursor;
	struct nat	*linger_head, *linger_tail;

	/* queue to the relay thread: q_mtx */
	pthread_mutex_t	 q_mtx;
	pthread_cond_t	 q_cv;		/* the queue shrank */
	struct item	*q_head, *q_tail;
	size_t		 q_pkt_bytes, q_msg_bytes;

	/* relay_mtx: the relay thread holds it for each loop round; the
	 * reader thread may take it for a stream message */
	pthread_mutex_t	 relay_mtx;
	struct stream	*ids[ID_BUCKETS];
	struct stream	*flows[ID_BUCKETS];
	struct stream	*all;
	uint32_t	 next_id;
	int		 n_unjoined;
	double		 next_tick;
	uint64_t	 tcp_open, tcp_total, udp_flows;
	int		 nflows;	/* UDP and ICMP streams */
	size_t		 pending_bytes;	/* queued before OPENED */
	size_t		 dgram_unacked;	/* sum of the flows' unacked */
	uint64_t	 bytes_in, bytes_out;
	uint8_t		*rbuf;		/* header + PROTO_STREAM_DATA_MAX */
	uint8_t		*pbuf;		/* PKT_BUF_MAX */

	/* any thread (atomic) */
	uint64_t	 dns_queries;
	int		 dns_tcp_conns;
	int		 dns_udp_inflight;
	uint64_t	 dropped;	/* datagrams, echoes and SYNs */
} R;

static int tag_event = TAG_EVENT, tag_listen = TAG_LISTEN;
static int tag_dns_udp = TAG_DNS_UDP, tag_dns_tcp = TAG_DNS_TCP;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
tun_write(const uint8_t *buf, size_t len)
{
	if (len > 0 && write(R.tunfd, buf, len) < 0 && errno != EAGAIN)
		log_debug("TUN write: %s", strerror(errno));
}

static const char *
ip_str(uint32_t a, char *buf)
{
	inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
	return buf;
}

/* ---- NAT table (nat_mtx) ---- */

static unsigned int
fwd_hash(uint32_t caddr, uint16_t cport, uint32_t daddr, uint16_t dport)
{
	uint64_t k = ((uint64_t)caddr << 32 | daddr) ^
	    ((uint64_t)cport << 16 | dport) * 0x9e3779b97f4a7c15ull;

	k ^= k >> 29;
	k *= 0xbf58476d1ce4e5b9ull;
	k ^= k >> 32;
	return (unsigned int)(k & (FWD_BUCKETS - 1));
}

static struct nat *
fwd_find(uint32_t caddr, uint16_t cport, uint32_t daddr, uint16_t dport)
{
	struct nat *n;

	for (n = R.fwd[fwd_hash(caddr, cport, daddr, dport)]; n; n = n->fnext)
		if (n->caddr == caddr && n->cport == cport &&
		    n->daddr == daddr && n->dport == dport)
			return n;
	return NULL;
}

static void
fwd_remove(struct nat *n)
{
	struct nat **pp;

	if (!n->in_fwd)
		return;
	for (pp = &R.fwd[fwd_hash(n->caddr, n->cport, n->daddr, n->dport)];
	    *pp; pp = &(*pp)->fnext)
		if (*pp == n) {
			*pp = n->fnext;
			break;
		}
	n->in_fwd = 0;
}

/* A free NAT slot: one no connection used in the last NAT_LINGER
 * seconds (a dead entry holds its slot that long). */
static int
slot_alloc(void)
{
	int i, total = RELAY_PEERS * NAT_PORTS;

	for (i = 0; i < total; i++) {
		int s = R.cursor;

		R.cursor = (R.cursor + 1) % total;
		if (R.ports[s] == NULL)
			return s;
	}
	return -1;
}

/* Peers take turns, so consecutive connections spread over them. */
static void
slot_addr(int slot, uint32_t *paddr, uint16_t *pport)
{
	*paddr = htonl(R.peer_base + (uint32_t)(slot % RELAY_PEERS));
	*pport = htons((uint16_t)(NAT_PORT_LO + slot / RELAY_PEERS));
}

static int
slot_of(uint32_t paddr, uint16_t pport)
{
	uint32_t peer = ntohl(paddr) - R.peer_base;
	int port = ntohs(pport) - NAT_PORT_LO;

	if (peer >= RELAY_PEERS || port < 0 || port >= NAT_PORTS)
		return -1;
	return port * RELAY_PEERS + (int)peer;
}

/* Frees an entry no kernel socket ever used (relay thread). */
static void
nat_drop(struct nat *n)
{
	pthread_mutex_lock(&R.nat_mtx);
	fwd_remove(n);
	R.ports[n->slot] = NULL;
	pthread_mutex_unlock(&R.nat_mtx);
	x_free(n);
}

/* The connection is over for us; the kernel's sockets may still be in
 * FIN_WAIT or TIME_WAIT: keep translating for NAT_LINGER, then free the
 * slot. */
static void
nat_retire(struct nat *n)
{
	pthread_mutex_lock(&R.nat_mtx);
	n->state = NAT_DEAD;
	n->st = NULL;
	n->expire = now_s() + NAT_LINGER;
	n->lnext = NULL;
	if (R.linger_tail)
		R.linger_tail->lnext = n;
	else
		R.linger_head = n;
	R.linger_tail = n;
	pthread_mutex_unlock(&R.nat_mtx);
}

static void
nat_expire(double t)
{
	struct nat *n;

	pthread_mutex_lock(&R.nat_mtx);
	while ((n = R.linger_head) != NULL && n->expire <= t) {
		R.linger_head = n->lnext;
		if (R.linger_head == NULL)
			R.linger_tail = NULL;
		fwd_remove(n);
		R.ports[n->slot] = NULL;
		x_free(n);
	}
	pthread_mutex_unlock(&R.nat_mtx);
}

/* ---- queue to the relay thread ---- */

static void
dropped(void)
{
	__atomic_add_fetch(&R.dropped, 1, __ATOMIC_RELAXED);
}

/* Queues it for the relay thread. A packet from the TUN is dropped when
 * PKT_QUEUE_MAX bytes of them wait (returns -1); the agent's messages
 * make the reader wait instead (they are not to be lost). */
static int
queue_push(struct item *it)
{
	uint64_t one = 1;
	int wake;

	it->next = NULL;
	pthread_mutex_lock(&R.q_mtx);
	if (it->kind == IT_PKT) {
		if (R.q_pkt_bytes + it->len > PKT_QUEUE_MAX) {
			pthread_mutex_unlock(&R.q_mtx);
			x_free(it);
			dropped();
			return -1;
		}
		R.q_pkt_bytes += it->len;
	} else if (it->kind == IT_MSG) {
		while (R.q_msg_bytes > MSG_QUEUE_MAX && !R.stop)
			pthread_cond_wait(&R.q_cv, &R.q_mtx);
		R.q_msg_bytes += it->len;
	}
	wake = R.q_head == NULL;
	if (R.q_tail)
		R.q_tail->next = it;
	else
		R.q_head = it;
	R.q_tail = it;
	pthread_mutex_unlock(&R.q_mtx);
	if (wake && write(R.evfd, &one, sizeof(one)) < 0)
		log_debug("eventfd: %s", strerror(errno));
	return 0;
}

static struct item *
item_new(int kind, const void *data, size_t len)
{
	struct item *it = xmalloc(sizeof(*it) + len);

	it->kind = kind;
	it->len = len;
	if (len)
		memcpy(it->data, data, len);
	return it;
}

static void stream_message(const struct proto_hdr *, const uint8_t *,
    size_t);

/* The client's reader thread. Handled here when the relay thread is idle
 * and nothing queued waits before it: one wakeup less per message. */
void
relay_on_stream(void *arg, const struct proto_hdr *h,
    struct proto_cur *payload)
{
	struct item *it;
	int empty;

	(void)arg;
	if (h->op >= STREAM_OPENED && h->op < STREAM_MAX_ &&
	    (h->op != STREAM_DATA || payload->left <= INLINE_MAX) &&
	    pthread_mutex_trylock(&R.relay_mtx) == 0) {
		pthread_mutex_lock(&R.q_mtx);
		empty = R.q_head == NULL;
		pthread_mutex_unlock(&R.q_mtx);
		if (empty && !R.stop) {
			stream_message(h, payload->p, payload->left);
			pthread_mutex_unlock(&R.relay_mtx);
			return;
		}
		pthread_mutex_unlock(&R.relay_mtx);
	}
	it = item_new(IT_MSG, payload->p, payload->left);
	it->h = *h;
	queue_push(it);
}

void
relay_on_link(void *arg, int up)
{
	(void)arg;
	if (!up && R.started)
		queue_push(item_new(IT_DOWN, NULL, 0));
}

/* ---- the TUN thread ---- */

static void
tun_packet(uint8_t *buf, size_t len)
{
	uint8_t out[PKT_VNET_LEN + 40];
	struct pkt p;
	struct nat *n;
	int slot, ok = 0;

	if (pkt_parse(buf, len, &p) < 0)
		return;
	if (p.proto == IPPROTO_TCP) {
		slot = slot_of(p.daddr, p.dport);
		if (slot >= 0) {
			/* From our listener back to a client. */
			pthread_mutex_lock(&R.nat_mtx);
			if ((n = R.ports[slot]) != NULL) {
				pkt_tcp_rewrite(&p, n->daddr, n->dport,
				    n->caddr, n->cport);
				ok = 1;
			}
			pthread_mutex_unlock(&R.nat_mtx);
			if (ok)
				tun_write(buf, len);
			return;
		}
		pthread_mutex_lock(&R.nat_mtx);
		n = fwd_find(p.saddr, p.sport, p.daddr, p.dport);
		if (n && (n->state == NAT_OPEN || (n->state == NAT_DEAD &&
		    (p.tcp_flags & (PKT_TCP_SYN | PKT_TCP_ACK)) !=
		    PKT_TCP_SYN))) {
			pkt_tcp_rewrite(&p, n->paddr, n->pport, R.tun_addr,
			    R.listen_port);
			ok = 1;
		} else if (n && n->state == NAT_PENDING)
			ok = -1;	/* a retransmitted SYN: still waiting */
		pthread_mutex_unlock(&R.nat_mtx);
		if (ok > 0)
			tun_write(buf, len);
		else if (ok < 0)
			return;
		else if ((p.tcp_flags & (PKT_TCP_SYN | PKT_TCP_ACK |
		    PKT_TCP_RST)) == PKT_TCP_SYN)
			queue_push(item_new(IT_PKT, buf, len));
		else if (!(p.tcp_flags & PKT_TCP_RST)) {
			log_debug("reset: a TCP segment (flags 0x%x) of no "
			    "connection, port %u", p.tcp_flags,
			    ntohs(p.sport));
			tun_write(out, pkt_tcp_rst(out, &p));
		}
		return;
	}
	if (p.proto == IPPROTO_UDP || (p.proto == IPPROTO_ICMP &&
	    p.l4[0] == 8 && p.l4[1] == 0))
		queue_push(item_new(IT_PKT, buf, len));
}

static void *
tun_main(void *arg)
{
	struct pollfd pfd[2];
	uint8_t *buf = xmalloc(PKT_BUF_MAX);
	ssize_t n;
	int i;

	(void)arg;
	pfd[0].fd = R.tunfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = R.stopfd;
	pfd[1].events = POLLIN;
	while (!R.stop) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("poll on the TUN device");
			break;
		}
		if (pfd[1].revents)
			break;
		for (i = 0; i < TUN_BATCH; i++) {
			n = read(R.tunfd, buf, PKT_BUF_MAX);
			if (n < 0) {
				if (errno != EAGAIN && errno != EINTR)
					log_warn("TUN read");
				break;
			}
			tun_packet(buf, (size_t)n);
		}
	}
	x_free(buf);
	return NULL;
}

/* ---- streams (relay thread) ---- */

static void
send_msg(uint16_t op, uint32_t id, uint32_t status, const void *data,
    size_t n)
{
	struct proto_buf b;

	proto_buf_init(&b, PROTO_HDR_LEN + n);
	proto_begin(&b, MSG_STREAM, op, id, status);
	if (n) {
		memcpy(b.data + b.len, data, n);
		b.len += n;
	}
	client_send(R.cl, &b);
}

static void
send_credit(struct stream *st, uint32_t n)
{
	uint8_t v[4] = { n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff,
	    n >> 24 };

	send_msg(STREAM_CREDIT, st->id, 0, v, 4);
}

static unsigned int
flow_hash(uint8_t proto, uint32_t caddr, uint16_t cport, uint32_t daddr,
    uint16_t dport)
{
	return (fwd_hash(caddr, cport, daddr, dport) * 31u + proto) &
	    (ID_BUCKETS - 1);
}

static struct stream *
stream_find(uint32_t id)
{
	struct stream *st;

	for (st = R.ids[id & (ID_BUCKETS - 1)]; st; st = st->idnext)
		if (st->id == id)
			return st;
	return NULL;
}

static void
ids_remove(struct stream *st)
{
	struct stream **pp;

	if (!st->in_ids)
		return;
	for (pp = &R.ids[st->id & (ID_BUCKETS - 1)]; *pp;
	    pp = &(*pp)->idnext)
		if (*pp == st) {
			*pp = st->idnext;
			break;
		}
	st->in_ids = 0;
}

static struct stream *
flow_find(uint8_t proto, uint32_t caddr, uint16_t cport, uint32_t daddr,
    uint16_t dport)
{
	struct stream *st;

	for (st = R.flows[flow_hash(proto, caddr, cport, daddr, dport)]; st;
	    st = st->fnext)
		if (st->proto == proto && st->caddr == caddr &&
		    st->cport == cport && st->daddr == daddr &&
		    st->dport == dport)
			return st;
	return NULL;
}

static struct stream *
stream_new(uint8_t proto, uint32_t caddr, uint16_t cport, uint32_t daddr,
    uint16_t dport)
{
	struct stream *st = xcalloc(1, sizeof(*st));
	unsigned int h;

	st->id = ++R.next_id;
	if (st->id == 0)
		st->id = ++R.next_id;
	st->proto = proto;
	st->fd = -1;
	st->caddr = caddr;
	st->cport = cport;
	st->daddr = daddr;
	st->dport = dport;
	st->rwin = proto == NET_TCP ? TCP_WINDOW : UDP_WINDOW;
	st->last = now_s();
	h = st->id & (ID_BUCKETS - 1);
	st->idnext = R.ids[h];
	R.ids[h] = st;
	st->in_ids = 1;
	if (proto != NET_TCP) {
		h = flow_hash(proto, caddr, cport, daddr, dport);
		st->fnext = R.flows[h];
		R.flows[h] = st;
		R.udp_flows += proto == NET_UDP;
		R.nflows++;
	} else {
		R.tcp_open++;
		R.tcp_total++;
	}
	st->next = R.all;
	if (R.all)
		R.all->prev = st;
	R.all = st;
	return st;
}

static int
stream_send_open(struct stream *st)
{
	struct proto_buf b;
	uint16_t port = ntohs(st->dport);

	proto_buf_init(&b, 64);
	proto_begin(&b, MSG_STREAM, STREAM_OPEN, st->id, 0);
	proto_put_u8(&b, st->proto);
	proto_put_u8(&b, 4);
	proto_put_bytes(&b, &st->daddr, 4);
	proto_put_u16(&b, st->proto == NET_ICMP ? 0 : port);
	proto_put_u32(&b, st->rwin);
	return client_send(R.cl, &b);
}

/* Forgets a stream: its socket closed (reset: with a RST), its NAT
 * entry retired or dropped. Sends nothing to the agent. */
static void
stream_free(struct stream *st, int reset)
{
	struct dgram *d;

	if (st->fd >= 0) {
		if (reset) {
			struct linger l = { 1, 0 };

			log_debug("reset: stream %u", st->id);
			setsockopt(st->fd, SOL_SOCKET, SO_LINGER, &l,
			    sizeof(l));
		}
		epoll_ctl(R.epfd, EPOLL_CTL_DEL, st->fd, NULL);
		close(st->fd);
	} else if (st->proto == NET_TCP && st->opened)
		R.n_unjoined--;
	if (st->nat) {
		if (st->opened)
			nat_retire(st->nat);
		else
			nat_drop(st->nat);
	}
	ids_remove(st);
	if (st->proto != NET_TCP) {
		struct stream **pp;

		for (pp = &R.flows[flow_hash(st->proto, st->caddr, st->cport,
		    st->daddr, st->dport)]; *pp; pp = &(*pp)->fnext)
			if (*pp == st) {
				*pp = st->fnext;
				break;
			}
		R.udp_flows -= st->proto == NET_UDP;
		R.nflows--;
		R.dgram_unacked -= st->unacked;
	} else
		R.tcp_open--;
	if (st->prev)
		st->prev->next = st->next;
	else
		R.all = st->next;
	if (st->next)
		st->next->prev = st->prev;
	while ((d = st->q) != NULL) {
		st->q = d->next;
		R.pending_bytes -= d->len;
		x_free(d);
	}
	x_free(st->syn);
	x_free(st->obuf);
	x_free(st);
}

/* Ends a stream on both sides: tells the agent (unless it is gone),
 * closes the local end. */
static void
stream_close(struct stream *st, uint32_t err)
{
	if (!st->remote_gone && st->opened)
		send_msg(STREAM_CLOSE, st->id, err, NULL, 0);
	stream_free(st, err != 0);
}

static void
stream_set_events(struct stream *st)
{
	struct epoll_event ev;
	uint32_t want = 0;

	if (st->fd < 0)
		return;
	if (!st->local_eof && st->send_avail > 0)
		want |= EPOLLIN;
	if (st->olen > st->ooff)
		want |= EPOLLOUT;
	if (want == st->events)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.u64 = EV_STREAM | st->id;
	if (epoll_ctl(R.epfd, EPOLL_CTL_MOD, st->fd, &ev) < 0)
		log_warn("epoll_ctl");
	st->events = want;
}

/* Both directions are done: the stream is over. Returns 1 if freed. */
static int
stream_maybe_finish(struct stream *st)
{
	if (st->fd < 0 || st->olen > st->ooff)
		return 0;
	if ((st->remote_shut || st->remote_gone) && !st->wr_shut) {
		shutdown(st->fd, SHUT_WR);
		st->wr_shut = 1;
	}
	if (st->remote_gone || (st->local_eof && st->remote_shut)) {
		stream_close(st, 0);
		return 1;
	}
	return 0;
}

/* The local socket took n more bytes: credit the agent, in batches of a
 * quarter window (the agent never waits on a smaller remainder). */
static void
stream_consumed(struct stream *st, size_t n)
{
	if (n == 0)
		return;
	st->uncredited += (uint32_t)n;
	if (!st->remote_gone && st->uncredited >= st->rwin / 4) {
		send_credit(st, st->uncredited);
		st->uncredited = 0;
	}
}

/* Writes what the socket takes of obuf; credits the agent for it.
 * Returns -1 if the stream was closed. */
static int
stream_flush(struct stream *st)
{
	ssize_t n;
	size_t done = 0;

	while (st->olen > st->ooff) {
		n = send(st->fd, st->obuf + st->ooff, st->olen - st->ooff,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			stream_close(st, errno == EPIPE ? ECONNRESET :
			    (uint32_t)errno);
			return -1;
		}
		st->ooff += (size_t)n;
		done += (size_t)n;
	}
	if (st->ooff == st->olen)
		st->ooff = st->olen = 0;
	stream_consumed(st, done);
	if (stream_maybe_finish(st))
		return -1;
	stream_set_events(st);
	return 0;
}

static void
obuf_append(struct stream *st, const uint8_t *p, size_t n)
{
	if (st->ooff > 0 && st->olen + n > st->ocap) {
		memmove(st->obuf, st->obuf + st->ooff, st->olen - st->ooff);
		st->olen -= st->ooff;
		st->ooff = 0;
	}
	if (st->olen + n > st->ocap) {
		size_t cap = st->ocap ? st->ocap : 64 * 1024;

		while (cap < st->olen + n)
			cap *= 2;
		st->obuf = xrealloc(st->obuf, cap);
		st->ocap = cap;
	}
	memcpy(st->obuf + st->olen, p, n);
	st->olen += n;
}

/* The socket is readable: send what the agent's window allows. */
static void
stream_readable(struct stream *st)
{
	uint8_t *p = R.rbuf;
	size_t want;
	ssize_t n;
	int rounds = 4;

	while (rounds-- > 0 && !st->local_eof && st->send_avail > 0) {
		want = st->send_avail;
		if (want > PROTO_STREAM_DATA_MAX)
			want = PROTO_STREAM_DATA_MAX;
		n = recv(st->fd, p + PROTO_HDR_LEN, want, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			stream_close(st, ECONNRESET);
			return;
		}
		if (n == 0) {
			st->local_eof = 1;
			if (!st->remote_gone)
				send_msg(STREAM_SHUT, st->id, 0, NULL, 0);
			if (stream_maybe_finish(st))
				return;
			break;
		}
		send_msg(STREAM_DATA, st->id, 0, p + PROTO_HDR_LEN,
		    (size_t)n);
		st->send_avail -= (uint32_t)n;
		st->bytes_out += (uint64_t)n;
		R.bytes_out += (uint64_t)n;
		st->last = now_s();
		if ((size_t)n < want)
			break;
	}
	stream_set_events(st);
}

/* A SYN with no NAT entry: hold it and ask the agent to connect. */
static void
tcp_syn(uint8_t *buf, size_t len)
{
	struct pkt p;
	struct nat *n, *old;
	struct stream *st;
	int slot;

	if (pkt_parse(buf, len, &p) < 0)
		return;
	if (!client_ready(R.cl))
		return;		/* the client retries its SYN */
	n = xcalloc(1, sizeof(*n));
	pthread_mutex_lock(&R.nat_mtx);
	old = fwd_find(p.saddr, p.sport, p.daddr, p.dport);
	if (old && old->state != NAT_DEAD) {
		pthread_mutex_unlock(&R.nat_mtx);
		x_free(n);
		return;		/* a retransmission queued twice */
	}
	if (old)
		fwd_remove(old);	/* the tuple is reused: a new one */
	if ((slot = slot_alloc()) < 0) {
		pthread_mutex_unlock(&R.nat_mtx);
		x_free(n);
		log_warnx("out of NAT ports; dropping a SYN");
		return;
	}
	n->caddr = p.saddr;
	n->cport = p.sport;
	n->daddr = p.daddr;
	n->dport = p.dport;
	n->slot = slot;
	slot_addr(slot, &n->paddr, &n->pport);
	n->state = NAT_PENDING;
	n->in_fwd = 1;
	{
		unsigned int h = fwd_hash(n->caddr, n->cport, n->daddr,
		    n->dport);

		n->fnext = R.fwd[h];
		R.fwd[h] = n;
	}
	R.ports[slot] = n;
	pthread_mutex_unlock(&R.nat_mtx);

	st = stream_new(NET_TCP, p.saddr, p.sport, p.daddr, p.dport);
	st->nat = n;
	n->st = st;
	st->syn = xmalloc(len);
	memcpy(st->syn, buf, len);
	st->synlen = len;
	if (stream_send_open(st) < 0)
		stream_free(st, 0);
}

static void
tcp_opened(struct stream *st, uint32_t status, uint32_t window)
{
	uint8_t out[PKT_VNET_LEN + 128];
	struct pkt p;

	if (pkt_parse(st->syn, st->synlen, &p) < 0) {
		stream_close(st, ECONNRESET);
		return;
	}
	if (status != 0) {
		char a[INET_ADDRSTRLEN];

		log_debug("connect to %s:%u: %s", ip_str(st->daddr, a),
		    ntohs(st->dport), strerror((int)status));
		st->remote_gone = 1;
		if (status == EHOSTUNREACH || status == ENETUNREACH)
			tun_write(out, pkt_icmp_unreach(out, &p,
			    status == ENETUNREACH ? 0 : 1));
		else if (status != ETIMEDOUT)
			tun_write(out, pkt_tcp_rst(out, &p));
		stream_free(st, 0);
		return;
	}
	st->opened = 1;
	st->send_avail = window;
	st->deadline = now_s() + ACCEPT_TIMEOUT;
	R.n_unjoined++;
	pthread_mutex_lock(&R.nat_mtx);
	st->nat->state = NAT_OPEN;
	pkt_tcp_rewrite(&p, st->nat->paddr, st->nat->pport, R.tun_addr,
	    R.listen_port);
	pthread_mutex_unlock(&R.nat_mtx);
	tun_write(st->syn, st->synlen);
	x_free(st->syn);
	st->syn = NULL;
}

static void
tcp_accept(void)
{
	struct sockaddr_in sin;
	struct epoll_event ev;
	struct stream *st;
	struct nat *n;
	socklen_t sl;
	int fd, slot, one = 1;

	for (;;) {
		sl = sizeof(sin);
		fd = accept4(R.lfd, (struct sockaddr *)&sin, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("accept");
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		st = NULL;
		slot = slot_of(sin.sin_addr.s_addr, sin.sin_port);
		pthread_mutex_lock(&R.nat_mtx);
		n = slot >= 0 ? R.ports[slot] : NULL;
		if (n && n->state == NAT_OPEN)
			st = n->st;
		pthread_mutex_unlock(&R.nat_mtx);
		if (st == NULL || st->fd >= 0) {
			struct linger l = { 1, 0 };

			log_debug("reset: an accepted connection of no stream "
			    "(slot %d, nat %s)", slot, n == NULL ? "none" :
			    n->state == NAT_DEAD ? "dead" : "pending");
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		st->fd = fd;
		R.n_unjoined--;
		st->events = 0;
		memset(&ev, 0, sizeof(ev));
		ev.data.u64 = EV_STREAM | st->id;
		if (epoll_ctl(R.epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			log_warn("epoll_ctl");
			stream_close(st, ECONNRESET);
			continue;
		}
		/* What the agent sent before the accept. */
		if (stream_flush(st) < 0)
			continue;
		stream_set_events(st);
	}
}

/* A datagram or echo to the agent, if the flow's window and netd's
 * bound on what the agent has not yet credited allow; dropped
 * otherwise, as a full queue drops it. */
static void
flow_send(struct stream *st, const uint8_t *data, size_t n)
{
	if (n > st->send_avail || R.dgram_unacked + n > DGRAM_UNACKED_MAX) {
		dropped();
		return;
	}
	send_msg(STREAM_DATA, st->id, 0, data, n);
	st->send_avail -= (uint32_t)n;
	st->unacked += (uint32_t)n;
	R.dgram_unacked += n;
	st->bytes_out += n;
	R.bytes_out += n;
}

/* UDP or ICMP echo from a client: find or open its flow. */
static void
flow_packet(uint8_t *buf, size_t len)
{
	struct stream *st;
	struct dgram *d;
	struct pkt p;
	uint8_t proto;
	const uint8_t *data;
	size_t n;

	if (pkt_parse(buf, len, &p) < 0)
		return;
	if (p.proto == IPPROTO_UDP) {
		proto = NET_UDP;
		data = p.l4 + 8;
		n = p.l4len - 8;
	} else {
		proto = NET_ICMP;
		data = p.l4;
		n = p.l4len;
	}
	st = flow_find(proto, p.saddr, p.sport, p.daddr, p.dport);
	if (st == NULL) {
		if (!client_ready(R.cl))
			return;
		if (R.nflows >= FLOWS_MAX) {
			dropped();
			return;
		}
		st = stream_new(proto, p.saddr, p.sport, p.daddr, p.dport);
		if (stream_send_open(st) < 0) {
			stream_free(st, 0);
			return;
		}
	}
	st->last = now_s();
	if (!st->opened) {
		if (st->qn >= UDP_QUEUE_MAX ||
		    R.pending_bytes + n > PENDING_MAX) {
			dropped();
			return;
		}
		R.pending_bytes += n;
		d = xmalloc(sizeof(*d) + n);
		d->next = NULL;
		d->len = n;
		memcpy(d->data, data, n);
		if (st->qtail)
			st->qtail->next = d;
		else
			st->q = d;
		st->qtail = d;
		st->qn++;
		return;
	}
	flow_send(st, data, n);
}

static void
flow_opened(struct stream *st, uint32_t status, uint32_t window)
{
	struct dgram *d;

	if (status != 0) {
		uint8_t *out = R.pbuf;

		/* A refused UDP port answers the first datagram the way
		 * the pod's kernel would; a refused ICMP socket (EPERM,
		 * EACCES) is silence. */
		if (st->proto == NET_UDP && status == ECONNREFUSED &&
		    st->q != NULL) {
			uint8_t icmp[PKT_VNET_LEN + 80];
			size_t plen = pkt_udp(out, st->caddr, st->cport,
			    st->daddr, st->dport, st->q->data, st->q->len);
			struct pkt p;

			if (plen && pkt_parse(out, plen, &p) == 0)
				tun_write(icmp, pkt_icmp_unreach(icmp, &p, 3));
		}
		st->remote_gone = 1;
		stream_free(st, 0);
		return;
	}
	st->opened = 1;
	st->send_avail = window;
	while ((d = st->q) != NULL) {
		st->q = d->next;
		R.pending_bytes -= d->len;
		flow_send(st, d->data, d->len);
		x_free(d);
	}
	st->qtail = NULL;
	st->qn = 0;
}

/* A datagram or echo reply from the agent, into the TUN. */
static void
flow_data(struct stream *st, const uint8_t *data, size_t n)
{
	size_t len;

	if (st->proto == NET_UDP)
		len = pkt_udp(R.pbuf, st->daddr, st->dport, st->caddr,
		    st->cport, data, n);
	else
		len = pkt_icmp(R.pbuf, st->daddr, st->caddr, st->cport, data,
		    n);
	tun_write(R.pbuf, len);
	st->bytes_in += n;
	R.bytes_in += n;
	st->last = now_s();
	st->uncredited += (uint32_t)n;
	if (st->uncredited >= st->rwin / 4) {
		send_credit(st, st->uncredited);
		st->uncredited = 0;
	}
}

static void
stream_message(const struct proto_hdr *h, const uint8_t *data, size_t n)
{
	struct stream *st = stream_find(h->id);
	struct proto_cur c = { data, n };
	uint32_t v, status;
	ssize_t w;

	if (st == NULL)
		return;		/* data for an unknown id is dropped */
	switch (h->op) {
	case STREAM_OPENED:
		if (st->opened)
			break;
		v = 0;
		status = h->status;
		if (status == 0 && proto_get_u32(&c, &v) < 0)
			status = EPROTO;
		if (st->proto == NET_TCP)
			tcp_opened(st, status, v);
		else
			flow_opened(st, status, v);
		break;
	case STREAM_DATA:
		if (!st->opened)
			break;
		if (st->proto != NET_TCP) {
			flow_data(st, data, n);
			break;
		}
		if (st->remote_shut || st->remote_gone)
			break;
		st->bytes_in += n;
		R.bytes_in += n;
		st->last = now_s();
		if (st->olen - st->ooff + n > st->rwin) {
			log_warnx("stream %u: the agent sent beyond its "
			    "window; resetting it", st->id);
			stream_close(st, ECONNRESET);
			break;
		}
		/* Straight into the socket when nothing waits before it. */
		if (st->fd >= 0 && st->olen == st->ooff) {
			w = send(st->fd, data, n, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR) {
				stream_close(st, ECONNRESET);
				break;
			}
			if (w > 0) {
				stream_consumed(st, (size_t)w);
				data += w;
				n -= (size_t)w;
			}
		}
		if (n > 0)
			obuf_append(st, data, n);
		if (st->fd >= 0)
			stream_flush(st);
		break;
	case STREAM_CREDIT:
		if (proto_get_u32(&c, &v) < 0)
			break;
		st->send_avail += v;
		if (st->proto != NET_TCP) {
			v = v < st->unacked ? v : st->unacked;
			st->unacked -= v;
			R.dgram_unacked -= v;
		}
		if (st->proto == NET_TCP && st->fd >= 0) {
			stream_set_events(st);
			/* Edge case: data waits in the socket while the
			 * window was closed; level-triggered epoll sees it. */
		}
		break;
	case STREAM_SHUT:
		st->remote_shut = 1;
		if (st->proto == NET_TCP)
			stream_maybe_finish(st);
		break;
	case STREAM_CLOSE:
		if (h->status != 0)
			log_debug("stream %u: the agent closed it: %s", st->id,
			    strerror((int)h->status));
		st->remote_gone = 1;
		if (st->proto != NET_TCP || !st->opened || h->status != 0) {
			stream_free(st, h->status != 0);
			break;
		}
		stream_maybe_finish(st);
		break;
	}
}

/* The agent connection is gone, and every stream with it. */
static void
link_down(void)
{
	struct stream *st;
	int n = 0;

	while ((st = R.all) != NULL) {
		st->remote_gone = 1;
		stream_free(st, 1);
		n++;
	}
	if (n)
		log_warnx("lost the agent: reset %d connection(s) and flows",
		    n);
}

static void
drain_queue(void)
{
	struct item *it, *next;
	uint64_t v;

	if (read(R.evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug("eventfd: %s", strerror(errno));
	pthread_mutex_lock(&R.q_mtx);
	it = R.q_head;
	R.q_head = R.q_tail = NULL;
	R.q_pkt_bytes = R.q_msg_bytes = 0;
	pthread_cond_broadcast(&R.q_cv);
	pthread_mutex_unlock(&R.q_mtx);
	for (; it; it = next) {
		next = it->next;
		switch (it->kind) {
		case IT_MSG:
			if (it->h.op >= STREAM_OPENED &&
			    it->h.op < STREAM_MAX_)
				stream_message(&it->h, it->data, it->len);
			break;
		case IT_PKT: {
			struct pkt p;

			if (pkt_parse(it->data, it->len, &p) == 0) {
				if (p.proto == IPPROTO_TCP)
					tcp_syn(it->data, it->len);
				else
					flow_packet(it->data, it->len);
			}
			break;
		}
		case IT_DOWN:
			link_down();
			break;
		}
		x_free(it);
	}
}

/* ---- DNS stub ---- */

struct dns_udp_req {
	struct sockaddr_in from;
};

static void
dns_udp_answer(void *arg, int err, struct proto_cur *payload)
{
	struct dns_udp_req *q = arg;
	const uint8_t *ans;
	uint32_t n;

	__atomic_sub_fetch(&R.dns_udp_inflight, 1, __ATOMIC_RELAXED);
	if (err == 0 && proto_get_bytes(payload, &ans, &n, 65535) == 0 &&
	    sendto(R.dns_ufd, ans, n, MSG_DONTWAIT,
	    (struct sockaddr *)&q->from, sizeof(q->from)) < 0)
		log_debug("DNS answer: %s", strerror(errno));
	x_free(q);
}

static void
dns_query(const uint8_t *msg, size_t n, client_cb cb, void *arg)
{
	struct proto_buf b;

	__atomic_add_fetch(&R.dns_queries, 1, __ATOMIC_RELAXED);
	proto_buf_init(&b, PROTO_HDR_LEN + 4 + n);
	proto_begin(&b, MSG_REQUEST, OP_DNS, 0, 0);
	proto_put_bytes(&b, msg, n);
	client_call(R.cl, &b, cb, arg);
}

static void
dns_udp_readable(void)
{
	uint8_t buf[4096];
	struct dns_udp_req *q;
	socklen_t sl;
	ssize_t n;
	int i;

	for (i = 0; i < 64; i++) {
		q = xmalloc(sizeof(*q));
		sl = sizeof(q->from);
		n = recvfrom(R.dns_ufd, buf, sizeof(buf), MSG_DONTWAIT,
		    (struct sockaddr *)&q->from, &sl);
		if (n < 0) {
			x_free(q);
			break;
		}
		if (dns_query_check(buf, (size_t)n, NULL) < 0) {
			x_free(q);	/* not a query: no answer */
			dropped();
			continue;
		}
		/* A flood of queries waits on the agent's answers no
		 * longer than this many at once: the rest are dropped. */
		if (__atomic_add_fetch(&R.dns_udp_inflight, 1,
		    __ATOMIC_RELAXED) > DNS_UDP_INFLIGHT_MAX) {
			__atomic_sub_fetch(&R.dns_udp_inflight, 1,
			    __ATOMIC_RELAXED);
			x_free(q);
			dropped();
			continue;
		}
		dns_query(buf, (size_t)n, dns_udp_answer, q);
	}
}

/* DNS over TCP is rare (truncated answers, zone tools): one thread per
 * connection, blocking. */
struct dns_tcp_wait {
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cv;
	int		 done, err;
	uint8_t		*ans;
	uint32_t	 n;
};

static void
dns_tcp_answer(void *arg, int err, struct proto_cur *payload)
{
	struct dns_tcp_wait *w = arg;
	const uint8_t *ans = NULL;
	uint32_t n = 0;

	if (err == 0 && proto_get_bytes(payload, &ans, &n, 65535) < 0)
		err = -EBADMSG;
	pthread_mutex_lock(&w->mtx);
	w->err = err;
	if (err == 0) {
		w->ans = xmalloc(n ? n : 1);
		memcpy(w->ans, ans, n);
		w->n = n;
	}
	w->done = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mtx);
}

static int
read_full(int fd, uint8_t *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void *
dns_tcp_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct timeval tv = { 30, 0 };
	uint8_t *msg = xmalloc(65536), len[2];
	size_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (read_full(fd, len, 2) == 0) {
		struct dns_tcp_wait w;
		int ok;

		n = (size_t)len[0] << 8 | len[1];
		if (read_full(fd, msg, n) < 0 ||
		    dns_query_check(msg, n, NULL) < 0)
			break;
		memset(&w, 0, sizeof(w));
		pthread_mutex_init(&w.mtx, NULL);
		pthread_cond_init(&w.cv, NULL);
		dns_query(msg, n, dns_tcp_answer, &w);
		pthread_mutex_lock(&w.mtx);
		while (!w.done)
			pthread_cond_wait(&w.cv, &w.mtx);
		pthread_mutex_unlock(&w.mtx);
		pthread_mutex_destroy(&w.mtx);
		pthread_cond_destroy(&w.cv);
		ok = w.err == 0;
		if (ok) {
			len[0] = (uint8_t)(w.n >> 8);
			len[1] = (uint8_t)w.n;
			ok = send(fd, len, 2, MSG_NOSIGNAL | MSG_MORE) == 2 &&
			    send(fd, w.ans, w.n, MSG_NOSIGNAL) == (ssize_t)w.n;
		}
		x_free(w.ans);
		if (!ok)
			break;
	}
	x_free(msg);
	close(fd);
	__atomic_sub_fetch(&R.dns_tcp_conns, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void
dns_tcp_accept(void)
{
	pthread_attr_t attr;
	pthread_t t;
	int fd;

	while ((fd = accept4(R.dns_tfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		if (__atomic_add_fetch(&R.dns_tcp_conns, 1,
		    __ATOMIC_RELAXED) > DNS_TCP_MAX) {
			__atomic_sub_fetch(&R.dns_tcp_conns, 1,
			    __ATOMIC_RELAXED);
			close(fd);
			continue;
		}
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, dns_tcp_main,
		    (void *)(intptr_t)fd) != 0) {
			__atomic_sub_fetch(&R.dns_tcp_conns, 1,
			    __ATOMIC_RELAXED);
			close(fd);
		}
		pthread_attr_destroy(&attr);
	}
}

/* ---- status and timers ---- */

static void
write_status(void)
{
	const struct relay_config *cfg = &R.cfg;
	char tmp[4096], a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	char c[CIDR_STR_MAX];
	struct stream *st;
	FILE *f;
	int i, lines = 0;

	if (cfg->status_file == NULL)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", cfg->status_file);
	if ((f = fopen(tmp, "w")) == NULL)
		return;
	fprintf(f, "device=%s\n", cfg->dev);
	fprintf(f, "address=%s\n", ip_str(R.tun_addr, a));
	if (cfg->dns)
		fprintf(f, "dns=%s:53\n", a);
	else
		fprintf(f, "dns=off\n");
	for (i = 0; i < cfg->nroutes; i++)
		fprintf(f, "route=%s\n", cidr_format(&cfg->routes[i], c));
	for (i = 0; i < cfg->nskipped; i++)
		fprintf(f, "skipped=%s\n", cfg->skipped[i]);
	if (cfg->nmore > 0)
		fprintf(f, "skipped=... and %d more (see the log)\n",
		    cfg->nmore);
	if (cfg->fw_table)
		fprintf(f, "firewall=table inet %s: forwarding through %s "
		    "dropped\n", cfg->fw_table, cfg->dev);
	fprintf(f, "agent=%s\n", cfg->agent_url);
	fprintf(f, "state=%s\n", client_ready(R.cl) ? "up" : "reconnecting");
	fprintf(f, "tcp_open=%llu\ntcp_total=%llu\nudp_flows=%llu\n",
	    (unsigned long long)R.tcp_open, (unsigned long long)R.tcp_total,
	    (unsigned long long)R.udp_flows);
	fprintf(f, "dns_queries=%llu\n", (unsigned long long)
	    __atomic_load_n(&R.dns_queries, __ATOMIC_RELAXED));
	fprintf(f, "dropped=%llu\n", (unsigned long long)
	    __atomic_load_n(&R.dropped, __ATOMIC_RELAXED));
	fprintf(f, "bytes_in=%llu\nbytes_out=%llu\n",
	    (unsigned long long)R.bytes_in, (unsigned long long)R.bytes_out);
	for (st = R.all; st && lines < STATUS_CONN_MAX; st = st->next) {
		if (st->proto == NET_TCP && (!st->opened || st->fd < 0))
			continue;
		ip_str(st->caddr, a);
		ip_str(st->daddr, b);
		if (st->proto == NET_ICMP)
			fprintf(f, "conn=icmp %s -> %s %llu %llu\n", a, b,
			    (unsigned long long)st->bytes_in,
			    (unsigned long long)st->bytes_out);
		else
			fprintf(f, "conn=%s %s:%u -> %s:%u %llu %llu\n",
			    st->proto == NET_TCP ? "tcp" : "udp", a,
			    ntohs(st->cport), b, ntohs(st->dport),
			    (unsigned long long)st->bytes_in,
			    (unsigned long long)st->bytes_out);
		lines++;
	}
	if (fclose(f) != 0 || rename(tmp, cfg->status_file) < 0)
		unlink(tmp);
}

static void
tick(double t)
{
	struct stream *st, *next;

	nat_expire(t);
	/* Flows idle too long, and SYNs the kernel never completed: a
	 * scan once a second, never per packet. */
	for (st = R.all; st; st = next) {
		next = st->next;
		if (st->proto != NET_TCP) {
			if (t - st->last > R.cfg.udp_idle)
				stream_close(st, 0);
		} else if (st->opened && st->fd < 0 && t > st->deadline &&
		    R.n_unjoined > 0)
			stream_close(st, ECONNRESET);
	}
	write_status();
}

static void
stream_event(struct stream *st, uint32_t events)
{
	int err = 0;
	socklen_t sl = sizeof(err);

	if (events & EPOLLERR) {
		getsockopt(st->fd, SOL_SOCKET, SO_ERROR, &err, &sl);
		if (err != 0) {
			stream_close(st, ECONNRESET);
			return;
		}
	}
	if ((events & EPOLLOUT) && stream_flush(st) < 0)
		return;
	if ((events & EPOLLHUP) && st->local_eof) {
		stream_close(st, ECONNRESET);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP))
		stream_readable(st);
}

static void *
relay_main(void *arg)
{
	struct epoll_event evs[128];
	double t;
	int i, n, timeout;

	(void)arg;
	R.next_tick = now_s() + 1;
	pthread_mutex_lock(&R.relay_mtx);
	write_status();
	pthread_mutex_unlock(&R.relay_mtx);
	while (!R.stop) {
		t = now_s();
		timeout = t >= R.next_tick ? 0 :
		    (int)((R.next_tick - t) * 1000) + 1;
		n = epoll_wait(R.epfd, evs, 128, timeout);
		if (n < 0 && errno != EINTR) {
			log_warn("epoll_wait");
			break;
		}
		pthread_mutex_lock(&R.relay_mtx);
		/* Queued messages and new connections first: a stream's
		 * event may be for one they free. */
		for (i = 0; i < n; i++) {
			int *tag = evs[i].data.ptr;

			if (evs[i].data.u64 & EV_STREAM)
				continue;
			switch (*tag) {
			case TAG_EVENT:
				drain_queue();
				break;
			case TAG_LISTEN:
				tcp_accept();
				break;
			case TAG_DNS_UDP:
				dns_udp_readable();
				break;
			case TAG_DNS_TCP:
				dns_tcp_accept();
				break;
			}
		}
		for (i = 0; i < n; i++) {
			struct stream *st;

			if (!(evs[i].data.u64 & EV_STREAM))
				continue;
			st = stream_find((uint32_t)evs[i].data.u64);
			if (st == NULL || st->fd < 0)
				continue;
			stream_event(st, evs[i].events);
		}
		if ((t = now_s()) >= R.next_tick) {
			tick(t);
			R.next_tick = t + 1;
		}
		pthread_mutex_unlock(&R.relay_mtx);
	}
	return NULL;
}

/* ---- start and stop ---- */

static int
bind_socket(int type, uint16_t port, const char **why)
{
	struct sockaddr_in sin;
	int fd, one = 1;

	if ((fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0) {
		*why = "socket";
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* The DNS stub answers this host's programs only. Their packets
	 * to the TUN address travel over lo but the kernel files them
	 * under the device that holds the address (the route's rt_iif),
	 * so a socket bound to the TUN device gets them; a neighbour's
	 * arrive on another device and never reach it (and netd's
	 * nftables table drops them before that). */
	if (port == 53 && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE,
	    R.cfg.dev, (socklen_t)strlen(R.cfg.dev) + 1) < 0) {
		int rc = -errno;

		*why = "SO_BINDTODEVICE";
		close(fd);
		return rc;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = R.tun_addr;
	sin.sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 4096) < 0)) {
		int rc = -errno;

		*why = "bind on the TUN address";
		close(fd);
		return rc;
	}
	return fd;
}

static int
ep_add(int fd, int *tag)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = tag;
	return epoll_ctl(R.epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int
relay_start(const struct relay_config *cfg, const char **why)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	sigset_t all, old;
	int rc;

	R.cfg = *cfg;
	R.cl = cfg->client;
	R.tunfd = cfg->tunfd;
	R.tun_addr = cfg->tun_addr;
	R.peer_base = ntohl(cfg->tun_addr) + 1;
	R.lfd = R.dns_ufd = R.dns_tfd = -1;
	pthread_mutex_init(&R.nat_mtx, NULL);
	pthread_mutex_init(&R.q_mtx, NULL);
	pthread_cond_init(&R.q_cv, NULL);
	pthread_mutex_init(&R.relay_mtx, NULL);
	R.ports = xcalloc((size_t)RELAY_PEERS * NAT_PORTS, sizeof(*R.ports));
	R.rbuf = xmalloc(PROTO_HDR_LEN + PROTO_STREAM_DATA_MAX);
	R.pbuf = xmalloc(PKT_BUF_MAX);
	fcntl(R.tunfd, F_SETFL, fcntl(R.tunfd, F_GETFL) | O_NONBLOCK);

	if ((R.lfd = bind_socket(SOCK_STREAM, 0, why)) < 0)
		return R.lfd;
	if (getsockname(R.lfd, (struct sockaddr *)&sin, &sl) < 0) {
		*why = "getsockname";
		return -errno;
	}
	R.listen_port = sin.sin_port;
	if (cfg->dns) {
		if ((R.dns_ufd = bind_socket(SOCK_DGRAM, 53, why)) < 0) {
			*why = "the DNS stub cannot bind UDP port 53 on the "
			    "TUN address";
			return R.dns_ufd;
		}
		if ((R.dns_tfd = bind_socket(SOCK_STREAM, 53, why)) < 0) {
			*why = "the DNS stub cannot bind TCP port 53 on the "
			    "TUN address";
			return R.dns_tfd;
		}
	}
	if ((R.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (R.evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
	    (R.stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		*why = "epoll";
		return -errno;
	}
	if ((rc = ep_add(R.evfd, &tag_event)) < 0 ||
	    (rc = ep_add(R.lfd, &tag_listen)) < 0 ||
	    (R.dns_ufd >= 0 && (rc = ep_add(R.dns_ufd, &tag_dns_udp)) < 0) ||
	    (R.dns_tfd >= 0 && (rc = ep_add(R.dns_tfd, &tag_dns_tcp)) < 0)) {
		*why = "epoll_ctl";
		return rc;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	R.started = 1;
	if (pthread_create(&R.tun_thread, NULL, tun_main, NULL) != 0 ||
	    pthread_create(&R.relay_thread, NULL, relay_main, NULL) != 0)
		fatalx("cannot start the relay threads");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}

void
relay_stop(void)
{
	uint64_t one = 1;
	struct item *it;

	if (!R.started)
		return;
	R.stop = 1;
	pthread_mutex_lock(&R.q_mtx);
	pthread_cond_broadcast(&R.q_cv);
	pthread_mutex_unlock(&R.q_mtx);
	if (write(R.stopfd, &one, sizeof(one)) < 0 ||
	    write(R.evfd, &one, sizeof(one)) < 0)
		log_debug("eventfd: %s", strerror(errno));
	pthread_join(R.tun_thread, NULL);
	pthread_join(R.relay_thread, NULL);
	R.started = 0;
	/* Reset what is still open, so clients hear of it at once. The
	 * reader thread may still run; R.stop keeps it to the queue. */
	pthread_mutex_lock(&R.relay_mtx);
	while (R.all)
		stream_close(R.all, ECONNRESET);
	pthread_mutex_unlock(&R.relay_mtx);
	nat_expire(1e300);
	pthread_mutex_lock(&R.q_mtx);
	while ((it = R.q_head) != NULL) {
		R.q_head = it->next;
		x_free(it);
	}
	R.q_tail = NULL;
	pthread_mutex_unlock(&R.q_mtx);
	if (R.cfg.status_file)
		unlink(R.cfg.status_file);
	close(R.lfd);
	if (R.dns_ufd >= 0)
		close(R.dns_ufd);
	if (R.dns_tfd >= 0)
		close(R.dns_tfd);
	close(R.epfd);
	close(R.evfd);
	close(R.stopfd);
	x_free(R.ports);
	x_free(R.rbuf);
	x_free(R.pbuf);
}
