/*
 * netd's streams to the agent (relay thread, under R.relay_mtx): the
 * stream table, the messages the agent sends for a stream, and the TCP
 * side of the relay. A client's SYN is held while the agent connects
 * (relay_tcp_syn, tcp_opened); the kernel's accepted socket joins the
 * stream (relay_tcp_accept) and from then on the stream engine
 * (lib/stream.c) relays between that socket and the agent under its
 * credit and shut rules. UDP and ICMP flows are streams too; their
 * packets are flow.c's.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "local.h"
#include "fdlimit.h"
#include "log.h"
#include "pkt.h"
#include "proto.h"
#include "proto-net.h"
#include "relay-internal.h"
#include "xmalloc.h"

/* ---- the engine's callbacks ---------------------------------------- */

static void
eng_send(struct stream *s, uint8_t *msg, size_t len)
{
	struct proto_buf b = { msg, len, len, 0 };

	(void)s;
	if (len > PROTO_HDR_LEN && msg[2] == STREAM_DATA)
		R.bytes_out += len - PROTO_HDR_LEN;
	(void)client_send(R.cl, &b);	/* gone: the link-down resets it */
}

static void
eng_interest(struct stream *s, uint32_t old, uint32_t want)
{
	struct epoll_event ev;
	int op;

	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.u64 = EV_STREAM | s->id;
	op = want == 0 ? EPOLL_CTL_DEL : old == 0 ? EPOLL_CTL_ADD :
	    EPOLL_CTL_MOD;
	if (epoll_ctl(R.epfd, op, s->fd, &ev) < 0)
		log_warn("epoll_ctl (stream %u)", s->id);
}

static void forget(struct relay_stream *);

static void
eng_ended(struct stream *s, int err)
{
	if (err != 0)
		log_debug("stream %u: %s", s->id, strerror(err));
	forget((struct relay_stream *)s);
}

static const struct stream_ops relay_stream_ops = {
	.send = eng_send,
	.interest = eng_interest,
	.ended = eng_ended,
};

/* ---- the table ----------------------------------------------------- */

static void
send_ctl(uint16_t op, uint32_t id, uint32_t err)
{
	struct proto_buf b;

	proto_buf_init(&b, PROTO_HDR_LEN);
	if ((op == STREAM_CLOSE ? proto_enc_stream_close(&b, id, err) :
	    proto_enc_stream_shut(&b, id)) == 0)
		(void)client_send(R.cl, &b);
	else
		proto_buf_free(&b);
}

int
relay_send_data(struct relay_stream *st, const void *data, size_t n)
{
	struct proto_buf b;
	int rc;

	proto_buf_init(&b, PROTO_HDR_LEN + n);
	if ((rc = proto_enc_stream_data(&b, st->s.id, data, n)) < 0) {
		proto_buf_free(&b);
		return rc;
	}
	return client_send(R.cl, &b);
}

struct relay_stream *
relay_stream_find(uint32_t id)
{
	struct relay_stream *st;

	for (st = R.ids[id & (ID_BUCKETS - 1)]; st; st = st->idnext)
		if (st->s.id == id)
			return st;
	return NULL;
}

static void
ids_remove(struct relay_stream *st)
{
	struct relay_stream **pp;

	if (!st->in_ids)
		return;
	for (pp = &R.ids[st->s.id & (ID_BUCKETS - 1)]; *pp;
	    pp = &(*pp)->idnext)
		if (*pp == st) {
			*pp = st->idnext;
			break;
		}
	st->in_ids = 0;
}

/* A stream with its id in the tables (TCP counted as open). */
static struct relay_stream *
stream_make(uint32_t id, uint8_t proto, const struct in6_addr *caddr,
    uint16_t cport, const struct in6_addr *daddr, uint16_t dport)
{
	struct relay_stream *st = xcalloc(1, sizeof(*st));
	unsigned int h;

	stream_init(&st->s, &relay_stream_ops, st, id,
	    proto == NET_TCP ? TCP_WINDOW : UDP_WINDOW);
	st->proto = proto;
	st->caddr = *caddr;
	st->cport = cport;
	st->daddr = *daddr;
	st->dport = dport;
	st->last = mono_now();
	h = id & (ID_BUCKETS - 1);
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

struct relay_stream *
relay_stream_new(uint8_t proto, const struct in6_addr *caddr, uint16_t cport,
    const struct in6_addr *daddr, uint16_t dport)
{
	uint32_t id;

	/* Our ids stay out of the agent's space (STREAM_ID_AGENT). */
	id = ++R.next_id & ~STREAM_ID_AGENT;
	if (id == 0)
		id = R.next_id = 1;
	return stream_make(id, proto, caddr, cport, daddr, dport);
}

struct relay_stream *
relay_stream_accepted(uint32_t id, uint32_t window)
{
	struct in6_addr any = pkt_addr4(0), lo = pkt_addr4(htonl(
	    INADDR_LOOPBACK));
	struct relay_stream *st = stream_make(id, NET_TCP, &any, 0, &lo, 0);

	st->opened = 1;
	st->joined = 1;
	stream_set_peer_window(&st->s, window);
	return st;
}

int
relay_stream_open(struct relay_stream *st)
{
	struct proto_stream_open o;
	struct proto_buf b;
	int rc;

	memset(&o, 0, sizeof(o));
	o.proto = st->proto;
	if (pkt_is4(&st->daddr)) {
		o.family = 4;
		memcpy(o.addr, st->daddr.s6_addr + 12, 4);
	} else {
		o.family = 6;
		memcpy(o.addr, &st->daddr, 16);
	}
	o.port = st->proto == NET_ICMP ? 0 : ntohs(st->dport);
	o.window = st->s.window;
	proto_buf_init(&b, 64);
	if ((rc = proto_enc_stream_open(&b, st->s.id, &o)) < 0) {
		proto_buf_free(&b);
		return rc;
	}
	return client_send(R.cl, &b);
}

/* Everything of a stream but its socket (the engine closed it, or it
 * never had one): its NAT entry retired or dropped, out of the tables. */
static void
forget(struct relay_stream *st)
{
	struct dgram *d;

	if (st->in_port)
		incoming_forget(st);
	if (st->proto == NET_TCP && st->opened && !st->joined)
		R.n_unjoined--;
	if (st->nat) {
		if (st->opened)
			nat_retire(st->nat);
		else
			nat_drop(st->nat);
	}
	ids_remove(st);
	if (st->proto != NET_TCP) {
		struct relay_stream **pp;

		for (pp = &R.flows[flow_hash(st->proto, &st->caddr, st->cport,
		    &st->daddr, st->dport)]; *pp; pp = &(*pp)->fnext)
			if (*pp == st) {
				*pp = st->fnext;
				break;
			}
		R.udp_flows -= st->proto == NET_UDP;
		R.nflows--;
		flow_forget(st);
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
	stream_release(&st->s);
	x_free(st->syn);
	x_free(st);
}

void
relay_stream_free(struct relay_stream *st, int reset)
{
	if (st->s.fd >= 0) {
		if (reset)
			log_debug("reset: stream %u", st->s.id);
		stream_abort(&st->s, reset ? ECONNRESET : 0);
		return;
	}
	forget(st);
}

void
relay_stream_close(struct relay_stream *st, uint32_t err)
{
	if (st->s.fd >= 0) {
		stream_reset(&st->s, err ? (int)err : ECONNRESET);
		return;
	}
	if (!st->s.peer_gone && st->opened)
		send_ctl(STREAM_CLOSE, st->s.id, err);
	forget(st);
}

/* A SYN with no NAT entry: hold it and ask the agent to connect. */
void
relay_tcp_syn(uint8_t *buf, size_t len)
{
	struct pkt p;
	struct nat *n, *old;
	struct relay_stream *st;
	int slot, local;

	if (pkt_parse(buf, len, &p) < 0)
		return;
	/* net.local: netd connects from the laptop's side (local.c). */
	local = local_wants(IPPROTO_TCP, &p.daddr, p.dport);
	if (!local && !client_ready(R.cl)) {
		uint8_t out[PKT_VNET_LEN + 60];

		/* No agent now (reconnecting): refused at once, not a
		 * blackhole the client waits out. */
		tunio_write(out, pkt_tcp_rst(out, &p));
		atomic_fetch_add_explicit(&R.down_resets, 1,
		    memory_order_relaxed);
		return;
	}
	n = xcalloc(1, sizeof(*n));
	pthread_mutex_lock(&R.nat_mtx);
	old = nat_find(&p.saddr, p.sport, &p.daddr, p.dport);
	if (old && old->state != NAT_DEAD) {
		pthread_mutex_unlock(&R.nat_mtx);
		x_free(n);
		return;		/* a retransmission queued twice */
	}
	if (old)
		nat_unhash(old);	/* the tuple is reused: a new one */
	if ((slot = nat_slot_alloc(p.v6)) < 0) {
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
	nat_slot_addr(slot, &n->paddr, &n->pport);
	n->state = NAT_PENDING;
	n->in_fwd = 1;
	{
		unsigned int h = nat_hash(&n->caddr, n->cport, &n->daddr,
		    n->dport);

		n->fnext = R.fwd[h];
		R.fwd[h] = n;
	}
	R.ports[slot] = n;
	pthread_mutex_unlock(&R.nat_mtx);
	if (local) {
		local_tcp_syn(n, buf, len);
		return;
	}

	st = relay_stream_new(NET_TCP, &p.saddr, p.sport, &p.daddr, p.dport);
	st->nat = n;
	n->st = st;
	st->syn = xmalloc(len);
	memcpy(st->syn, buf, len);
	st->synlen = len;
	if (relay_stream_open(st) < 0)
		relay_stream_free(st, 0);
}

static void
tcp_opened(struct relay_stream *st, uint32_t status, uint32_t window)
{
	uint8_t out[PKT_VNET_LEN + 128];
	struct in6_addr laddr;
	uint16_t lport;
	struct pkt p;

	if (pkt_parse(st->syn, st->synlen, &p) < 0) {
		relay_stream_close(st, ECONNRESET);
		return;
	}
	if (status != 0) {
		char a[INET6_ADDRSTRLEN];

		log_debug("connect to %s:%u: %s", ip_str(&st->daddr, a),
		    ntohs(st->dport), strerror((int)status));
		st->s.peer_gone = 1;
		if (status == EHOSTUNREACH || status == ENETUNREACH)
			tunio_write(out, pkt_icmp_unreach(out, &p,
			    status == ENETUNREACH ? PKT_UNREACH_NET :
			    PKT_UNREACH_HOST));
		else if (status != ETIMEDOUT)
			tunio_write(out, pkt_tcp_rst(out, &p));
		relay_stream_free(st, 0);
		return;
	}
	st->opened = 1;
	stream_set_peer_window(&st->s, window);
	st->deadline = mono_now() + ACCEPT_TIMEOUT;
	R.n_unjoined++;
	relay_listener(p.v6, &laddr, &lport);
	pthread_mutex_lock(&R.nat_mtx);
	st->nat->state = NAT_OPEN;
	pkt_tcp_rewrite(&p, &st->nat->paddr, st->nat->pport, &laddr, lport);
	pthread_mutex_unlock(&R.nat_mtx);
	tunio_write(st->syn, st->synlen);
	x_free(st->syn);
	st->syn = NULL;
}

void
relay_tcp_accept(int lfd)
{
	struct sockaddr_storage ss;
	struct in6_addr peer;
	struct relay_stream *st;
	struct nat *n;
	socklen_t sl;
	uint32_t lid;
	int fd, slot, one = 1;

	for (;;) {
		sl = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if ((errno == EMFILE || errno == ENFILE) &&
			    fdlimit_reset_one(lfd, &R.spare_fd) == 0) {
				/* The first time, and every 1,000th. */
				if (atomic_fetch_add_explicit(&R.fd_resets, 1,
				    memory_order_relaxed) % 1000 == 0)
					log_warnx("out of file descriptors "
					    "(%ld): resetting new connections",
					    R.nofile);
				continue;
			}
			if (errno != EAGAIN)
				log_warn("accept");
			return;
		}
		st = NULL;
		lid = 0;
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			peer = s6->sin6_addr;
			slot = nat_slot_of(&peer, s6->sin6_port);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			peer = pkt_addr4(s4->sin_addr.s_addr);
			slot = nat_slot_of(&peer, s4->sin_port);
		}
		pthread_mutex_lock(&R.nat_mtx);
		n = slot >= 0 ? R.ports[slot] : NULL;
		if (n && n->state == NAT_OPEN) {
			st = n->st;
			lid = n->lid;
		}
		pthread_mutex_unlock(&R.nat_mtx);
		if (lid != 0) {
			local_tcp_accepted(lid, fd);	/* net.local */
			continue;
		}
		if (st == NULL || st->joined) {
			struct linger l = { 1, 0 };

			log_debug("reset: an accepted connection of no stream "
			    "(slot %d, nat %s)", slot, n == NULL ? "none" :
			    n->state == NAT_DEAD ? "dead" : "pending");
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		st->joined = 1;
		R.n_unjoined--;
		/* What the agent sent before the accept goes out now. */
		stream_attach(&st->s, fd);
	}
}

static void
stream_opened(struct relay_stream *st, uint32_t status, uint32_t window)
{
	if (st->opened)
		return;
	if (st->proto == NET_TCP)
		tcp_opened(st, status, window);
	else
		flow_opened(st, status, window);
}

void
relay_stream_message(const struct proto_hdr *h, const uint8_t *data,
    size_t n)
{
	struct relay_stream *st = relay_stream_find(h->id);
	struct proto_cur c = { data, n };
	struct proto_stream_msg m;

	if (st == NULL)
		return;		/* data for an unknown id is dropped */
	if (proto_dec_stream(h, &c, &m) < 0) {
		if (h->op == STREAM_OPENED) {
			stream_opened(st, EPROTO, 0);
			return;
		}
		log_warnx("stream %u: a malformed %s from the agent; "
		    "resetting it", st->s.id, proto_stream_op_name(h->op));
		relay_stream_close(st, ECONNRESET);
		return;
	}
	switch (m.op) {
	case STREAM_OPENED:
		stream_opened(st, m.status, m.window);
		break;
	case STREAM_DATA:
		if (!st->opened)
			break;
		if (st->proto != NET_TCP) {
			flow_data(st, m.data, m.len);
			break;
		}
		if (st->s.peer_gone)
			break;
		R.bytes_in += m.len;
		if (stream_peer_data(&st->s, m.data, m.len) < 0) {
			log_warnx("stream %u: the agent sent %s; resetting it",
			    st->s.id, st->s.peer_shut ? "data after its shut" :
			    "beyond its window");
			relay_stream_close(st, ECONNRESET);
		}
		break;
	case STREAM_CREDIT:
		if (st->proto != NET_TCP)
			flow_credit(st, m.credit);
		else
			stream_peer_credit(&st->s, m.credit);
		break;
	case STREAM_SHUT:
		if (st->proto == NET_TCP)
			stream_peer_shut(&st->s);
		break;
	case STREAM_CLOSE:
		if (m.status != 0)
			log_debug("stream %u: the agent closed it: %s",
			    st->s.id, strerror((int)m.status));
		st->s.peer_gone = 1;
		if (st->in_port != 0 && m.status == ENOBUFS)
			incoming_dropped(st);
		if (st->proto != NET_TCP || !st->opened || m.status != 0) {
			relay_stream_free(st, m.status != 0);
			break;
		}
		stream_peer_close(&st->s, 0);
		break;
	default:
		break;
	}
}
