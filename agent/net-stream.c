/*
 * The agent's network side, streams: the per-client table of stream ids,
 * a stream's epoll interest, its life (opened, reset, finished, freed at
 * the end of the loop round), STREAM_OPEN (the socket is made here, on
 * the network thread, in the target's network namespace) and the other
 * stream messages, handed to net-tcp.c or net-dgram.c by protocol.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "net-int.h"
#include "xmalloc.h"

#define NET_CONNECT_TIMEOUT_MS	20000	/* then ETIMEDOUT */
/* What a UDP or ICMP flow may have sent the client ahead of its credits
 * when its STREAM_OPEN named no window. */
#define NET_DGRAM_WINDOW	(256u * 1024)

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

void
net_stream_interest(struct agent_net *net, struct stream *s)
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

void
net_conn_list_remove(struct agent_net *net, struct stream *s)
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
void
net_stream_free(struct agent_net *net, struct stream *s, int reset)
{
	struct net_msg *m, *next;
	struct linger lg = { 1, 0 };

	if (s->state == ST_DEAD)
		return;
	if (s->state == ST_CONNECTING)
		net_conn_list_remove(net, s);
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
	net_client_maybe_done(net, s->cl);
}

/* A socket error or reset: STREAM_CLOSE to the client, then gone. */
void
net_stream_reset(struct agent_net *net, struct stream *s, int err)
{
	if (err == EPIPE || err == 0)
		err = ECONNRESET;
	log_debug("stream %u: %s", s->id, strerror(err));
	net_send_small(s->cl, MSG_STREAM, STREAM_CLOSE, s->id, (uint32_t)err,
	    0, 0);
	net_stream_free(net, s, 0);
}

/* Both directions are shut: the stream is done. */
int
net_stream_maybe_finish(struct agent_net *net, struct stream *s)
{
	if (!(s->rd_eof && s->wr_shut))
		return 0;
	net_send_small(s->cl, MSG_STREAM, STREAM_CLOSE, s->id, 0, 0, 0);
	net_stream_free(net, s, 0);
	return 1;
}

void
net_stream_opened(struct stream *s, int err)
{
	net_send_small(s->cl, MSG_STREAM, STREAM_OPENED, s->id, (uint32_t)err,
	    1, AGENT_NET_WINDOW);
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
		net_client_violation(cl, "stream_open for a stream id in use");
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
		net_send_small(cl, MSG_STREAM, STREAM_OPENED, id, (uint32_t)err,
		    1, AGENT_NET_WINDOW);
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
		s->deadline = mono_ms() + NET_CONNECT_TIMEOUT_MS;
		s->cprev = net->conn_tail;
		if (net->conn_tail)
			net->conn_tail->cnext = s;
		else
			net->conn_head = s;
		net->conn_tail = s;
	} else {
		s->state = ST_OPEN;
		net_stream_opened(s, 0);
	}
	net_stream_interest(net, s);
	return;
fail:
	/* A ping socket the kernel refuses: EACCES until the target's
	 * net.ipv4.ping_group_range admits the agent's group. */
	net_send_small(cl, MSG_STREAM, STREAM_OPENED, id, (uint32_t)err, 1,
	    AGENT_NET_WINDOW);
}

void
net_connect_timeouts(struct agent_net *net, double now)
{
	struct stream *s;

	while ((s = net->conn_head) != NULL && s->deadline <= now) {
		net_stream_opened(s, ETIMEDOUT);
		net_stream_free(net, s, 0);
	}
}

/* ---- stream messages ----------------------------------------------- */

/* A stream message other than STREAM_OPEN; its payload data/len is held
 * by m, or (m NULL) borrowed for the call. Frees m. */
void
net_stream_message_payload(struct agent_net *net, struct agent_net_client *cl,
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
			net_tcp_data(net, s, m, data, len);
			return;
		}
		net_dgram_data(s, data, len);
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
			net_stream_interest(net, s);
		break;
	case STREAM_SHUT:
		if (s->proto == NET_TCP) {
			s->peer_shut = 1;
			net_tcp_shut_if_drained(net, s);
			net_stream_maybe_finish(net, s);
		}
		break;
	case STREAM_CLOSE:
		net_stream_free(net, s, h->status == ECONNRESET);
		break;
	default:
		break;
	}
	x_free(m);
}

void
net_stream_message(struct agent_net *net, struct agent_net_client *cl,
    struct net_msg *m)
{
	if (m->h.op == STREAM_OPEN) {
		stream_open(net, cl, m);
		x_free(m);
		return;
	}
	net_stream_message_payload(net, cl, &m->h, m->data, m->len, m);
}

void
net_stream_event(struct agent_net *net, struct stream *s, uint32_t events)
{
	if (s->state == ST_DEAD || s->cl->broken)
		return;
	if (s->proto == NET_TCP)
		net_tcp_event(net, s, events);
	else if (events & (EPOLLIN | EPOLLERR))
		net_dgram_event(net, s);
}
