/*
 * netd's streams to the agent (relay thread, under R.relay_mtx): the
 * stream table, the messages the agent sends for a stream, and the TCP
 * relay with its credit windows both ways. A client's SYN is held while
 * the agent connects (stream_tcp_syn, tcp_opened); the kernel's accepted
 * socket joins the stream (stream_tcp_accept); then data flows between
 * that socket and the agent, each side sending no more than the other
 * credited. UDP and ICMP flows are streams too; their packets are flow.c's.
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

#include "log.h"
#include "pkt.h"
#include "proto.h"
#include "relay-internal.h"
#include "xmalloc.h"

void
stream_send_msg(uint16_t op, uint32_t id, uint32_t status, const void *data,
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

void
stream_send_credit(struct stream *st, uint32_t n)
{
	uint8_t v[4] = { n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff,
	    n >> 24 };

	stream_send_msg(STREAM_CREDIT, st->id, 0, v, 4);
}

struct stream *
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

struct stream *
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
	st->last = mono_now();
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

int
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
void
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
void
stream_close(struct stream *st, uint32_t err)
{
	if (!st->remote_gone && st->opened)
		stream_send_msg(STREAM_CLOSE, st->id, err, NULL, 0);
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
		stream_send_credit(st, st->uncredited);
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
				stream_send_msg(STREAM_SHUT, st->id, 0, NULL, 0);
			if (stream_maybe_finish(st))
				return;
			break;
		}
		stream_send_msg(STREAM_DATA, st->id, 0, p + PROTO_HDR_LEN,
		    (size_t)n);
		st->send_avail -= (uint32_t)n;
		st->bytes_out += (uint64_t)n;
		R.bytes_out += (uint64_t)n;
		st->last = mono_now();
		if ((size_t)n < want)
			break;
	}
	stream_set_events(st);
}

/* A SYN with no NAT entry: hold it and ask the agent to connect. */
void
stream_tcp_syn(uint8_t *buf, size_t len)
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
	old = nat_find(p.saddr, p.sport, p.daddr, p.dport);
	if (old && old->state != NAT_DEAD) {
		pthread_mutex_unlock(&R.nat_mtx);
		x_free(n);
		return;		/* a retransmission queued twice */
	}
	if (old)
		nat_unhash(old);	/* the tuple is reused: a new one */
	if ((slot = nat_slot_alloc()) < 0) {
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
		unsigned int h = nat_hash(n->caddr, n->cport, n->daddr,
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
			tunio_write(out, pkt_icmp_unreach(out, &p,
			    status == ENETUNREACH ? 0 : 1));
		else if (status != ETIMEDOUT)
			tunio_write(out, pkt_tcp_rst(out, &p));
		stream_free(st, 0);
		return;
	}
	st->opened = 1;
	st->send_avail = window;
	st->deadline = mono_now() + ACCEPT_TIMEOUT;
	R.n_unjoined++;
	pthread_mutex_lock(&R.nat_mtx);
	st->nat->state = NAT_OPEN;
	pkt_tcp_rewrite(&p, st->nat->paddr, st->nat->pport, R.tun_addr,
	    R.listen_port);
	pthread_mutex_unlock(&R.nat_mtx);
	tunio_write(st->syn, st->synlen);
	x_free(st->syn);
	st->syn = NULL;
}

void
stream_tcp_accept(void)
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
		slot = nat_slot_of(sin.sin_addr.s_addr, sin.sin_port);
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

void
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
		st->last = mono_now();
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

void
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
