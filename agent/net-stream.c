/*
 * The agent's network side, streams: the per-client table of stream ids,
 * a stream's life (opened, ended, freed at the end of the loop round),
 * STREAM_OPEN (the socket is made here, on the network thread, in the
 * target's network namespace), incoming connections (STREAM_ACCEPT,
 * answered by the client's STREAM_OPENED) and the other stream messages: a TCP
 * stream's go to the stream engine (lib/stream.c), a datagram flow's to
 * net-dgram.c.
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
#include "proto-net.h"
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

static struct net_stream *
stream_find(struct agent_net_client *cl, uint32_t id)
{
	struct net_stream *s;

	if (cl->tab == NULL)
		return NULL;
	for (s = cl->tab[tab_slot(cl, id)]; s != NULL; s = s->hnext)
		if (s->s.id == id)
			return s;
	return NULL;
}

static void
tab_insert(struct agent_net_client *cl, struct net_stream *s)
{
	unsigned int nb, i, slot;
	struct net_stream **old, *t, *next;

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
				slot = tab_slot(cl, t->s.id);
				t->hnext = cl->tab[slot];
				cl->tab[slot] = t;
			}
		x_free(old);
	}
	slot = tab_slot(cl, s->s.id);
	s->hnext = cl->tab[slot];
	cl->tab[slot] = s;
	cl->nstreams++;
}

static void
tab_remove(struct agent_net_client *cl, struct net_stream *s)
{
	struct net_stream **pp;

	for (pp = &cl->tab[tab_slot(cl, s->s.id)]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if (*pp == s) {
			*pp = s->hnext;
			cl->nstreams--;
			return;
		}
}

/* ---- epoll interest ------------------------------------------------ */

static void
epoll_set(struct agent_net *net, struct net_stream *ns, uint32_t want)
{
	struct epoll_event ev;
	int op;

	if (want == ns->ev_cur)
		return;
	/* Out of epoll altogether when nothing is wanted: a socket that
	 * hung up would report EPOLLHUP again and again otherwise. */
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.ptr = &ns->io;
	op = want == 0 ? EPOLL_CTL_DEL : ns->ev_cur == 0 ? EPOLL_CTL_ADD :
	    EPOLL_CTL_MOD;
	if (epoll_ctl(net->ep, op, ns->io.fd, &ev) < 0)
		log_warn("epoll_ctl (stream %u)", ns->s.id);
	ns->ev_cur = want;
}

void
net_stream_interest(struct agent_net *net, struct net_stream *ns)
{
	uint32_t want = 0;

	if (ns->state == ST_CONNECTING)
		want = EPOLLOUT;
	else if (ns->state == ST_OPEN && ns->proto != NET_TCP &&
	    stream_tx_room(&ns->s) > 0)
		/* Unread datagrams wait in the socket, whose bounded
		 * buffer drops the rest. */
		want = EPOLLIN;
	epoll_set(net, ns, want);
}

/* ---- the engine's callbacks (TCP) ---------------------------------- */

static void
eng_send(struct stream *s, uint8_t *msg, size_t len)
{
	struct net_stream *ns = s->ep;

	ws_send(ns->cl->conn, msg, len);
}

static void
eng_interest(struct stream *s, uint32_t old, uint32_t want)
{
	struct net_stream *ns = s->ep;

	(void)old;
	epoll_set(ns->cl->net, ns, want);
}

static void stream_gone(struct agent_net *, struct net_stream *);

static void
eng_ended(struct stream *s, int err)
{
	struct net_stream *ns = s->ep;

	if (err != 0)
		log_debug("stream %u: %s", s->id, strerror(err));
	ns->io.fd = -1;		/* the engine closed it */
	ns->ev_cur = 0;
	stream_gone(ns->cl->net, ns);
}

const struct stream_ops net_stream_ops = {
	.send = eng_send,
	.interest = eng_interest,
	.ended = eng_ended,
};

/* ---- stream life --------------------------------------------------- */

static void
conn_list_remove(struct agent_net *net, struct net_stream *s)
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
stream_gone(struct agent_net *net, struct net_stream *ns)
{
	if (ns->state == ST_DEAD)
		return;
	if (ns->state == ST_CONNECTING || ns->state == ST_ACCEPTING)
		conn_list_remove(net, ns);
	if (ns->state == ST_ACCEPTING)
		ns->cl->naccepting--;
	ns->state = ST_DEAD;
	tab_remove(ns->cl, ns);
	stream_release(&ns->s);
	ns->hnext = net->zombies;
	net->zombies = ns;
	net_client_maybe_done(net, ns->cl);
}

void
net_stream_free(struct agent_net *net, struct net_stream *ns, int reset)
{
	struct linger lg = { 1, 0 };

	if (ns->state == ST_DEAD)
		return;
	if (ns->s.fd >= 0) {		/* the engine's socket */
		stream_abort(&ns->s, reset ? ECONNRESET : 0);
		return;
	}
	if (reset)
		(void)setsockopt(ns->io.fd, SOL_SOCKET, SO_LINGER, &lg,
		    sizeof(lg));
	close(ns->io.fd);	/* leaves epoll too */
	ns->io.fd = -1;
	ns->ev_cur = 0;
	stream_gone(net, ns);
}

static void
send_opened(struct agent_net_client *cl, uint32_t id, int err)
{
	struct proto_buf b;

	proto_buf_init(&b, PROTO_HDR_LEN + 4);
	(void)proto_enc_stream_opened(&b, id, (uint32_t)err, AGENT_NET_WINDOW);
	net_send_buf(cl, &b);
}

void
net_stream_opened(struct net_stream *ns, int err)
{
	send_opened(ns->cl, ns->s.id, err);
}

/* ---- opening ------------------------------------------------------- */

static void
stream_open(struct agent_net *net, struct agent_net_client *cl, uint32_t id,
    const struct proto_stream_open *o)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	struct net_stream *ns;
	int fd, type, ipproto, af, one = 1, err, inprogress;

	if (stream_find(cl, id) != NULL) {
		net_client_violation(cl, "stream_open for a stream id in use");
		return;
	}
	err = 0;
	if (!net->ok)
		err = EPERM;
	else if (o->family != 4 && o->family != 6)
		err = EAFNOSUPPORT;
	else if (o->proto != NET_TCP && o->proto != NET_UDP &&
	    o->proto != NET_ICMP)
		err = EPROTONOSUPPORT;
	else if (cl->nstreams >= AGENT_NET_STREAMS_MAX)
		err = EMFILE;
	if (err) {
		send_opened(cl, id, err);
		return;
	}
	memset(&ss, 0, sizeof(ss));
	if (o->family == 4) {
		af = AF_INET;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, o->addr, 4);
		sin->sin_port = htons(o->port);
		sl = sizeof(*sin);
	} else {
		af = AF_INET6;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, o->addr, 16);
		sin6->sin6_port = htons(o->port);
		sl = sizeof(*sin6);
	}
	type = o->proto == NET_TCP ? SOCK_STREAM : SOCK_DGRAM;
	ipproto = o->proto == NET_TCP ? IPPROTO_TCP : o->proto == NET_UDP ?
	    IPPROTO_UDP : af == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	fd = socket(af, type | SOCK_NONBLOCK | SOCK_CLOEXEC, ipproto);
	if (fd < 0) {
		err = errno;
		goto fail;
	}
	if (o->proto == NET_TCP)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	net_incoming_mark(net, fd);
	inprogress = 0;
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		if (errno != EINPROGRESS) {
			err = errno;
			close(fd);
			goto fail;
		}
		inprogress = 1;
	}
	ns = xcalloc(1, sizeof(*ns));
	ns->io.kind = IO_STREAM;
	ns->io.fd = fd;
	ns->cl = cl;
	ns->proto = o->proto;
	stream_init(&ns->s, &net_stream_ops, ns, id, AGENT_NET_WINDOW);
	stream_set_peer_window(&ns->s, o->window ? o->window :
	    NET_DGRAM_WINDOW);
	tab_insert(cl, ns);
	if (o->proto == NET_TCP) {
		net_tcp_started(net, ns, inprogress);
		return;
	}
	ns->state = ST_OPEN;
	net_stream_opened(ns, 0);
	net_stream_interest(net, ns);
	return;
fail:
	/* A ping socket the kernel refuses: EACCES until the target's
	 * net.ipv4.ping_group_range admits the agent's group. */
	send_opened(cl, id, err);
}

/* A stream waiting for a connect or a client's answer, to time out. */
static void
conn_list_append(struct agent_net *net, struct net_stream *ns,
    enum stream_state state)
{
	ns->state = state;
	ns->deadline = mono_ms() + NET_CONNECT_TIMEOUT_MS;
	ns->cprev = net->conn_tail;
	if (net->conn_tail)
		net->conn_tail->cnext = ns;
	else
		net->conn_head = ns;
	net->conn_tail = ns;
}

/* A TCP connect under way, to time out. */
void
net_conn_list_add(struct agent_net *net, struct net_stream *ns)
{
	conn_list_append(net, ns, ST_CONNECTING);
	net_stream_interest(net, ns);
}

/* The connect is done: off the list of connecting streams. */
void
net_conn_done(struct agent_net *net, struct net_stream *ns)
{
	conn_list_remove(net, ns);
	ns->state = ST_OPEN;
}

void
net_connect_timeouts(struct agent_net *net, double now)
{
	struct net_stream *ns;

	struct proto_buf b;

	while ((ns = net->conn_head) != NULL && ns->deadline <= now) {
		if (ns->state == ST_ACCEPTING) {
			/* The client never answered its STREAM_ACCEPT. */
			proto_buf_init(&b, PROTO_HDR_LEN);
			(void)proto_enc_stream_close(&b, ns->s.id, ETIMEDOUT);
			net_send_buf(ns->cl, &b);
			net_stream_free(net, ns, 1);
			continue;
		}
		net_stream_opened(ns, ETIMEDOUT);
		net_stream_free(net, ns, 0);
	}
}

/* ---- incoming connections ------------------------------------------ */

uint32_t
net_stream_accepted(struct agent_net *net, struct agent_net_client *cl,
    int fd, const struct proto_stream_accept *a)
{
	struct net_stream *ns;
	struct proto_buf b;
	uint32_t id;
	int one = 1;

	do
		id = STREAM_ID_AGENT | (++cl->accept_seq & ~STREAM_ID_AGENT);
	while (id == STREAM_ID_AGENT || stream_find(cl, id) != NULL);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ns = xcalloc(1, sizeof(*ns));
	ns->io.kind = IO_STREAM;
	ns->io.fd = fd;
	ns->cl = cl;
	ns->proto = NET_TCP;
	stream_init(&ns->s, &net_stream_ops, ns, id, a->window);
	tab_insert(cl, ns);
	/* Not in epoll until the client answers: what the peer sends
	 * waits in the socket. */
	conn_list_append(net, ns, ST_ACCEPTING);
	cl->naccepting++;
	proto_buf_init(&b, PROTO_HDR_LEN + 32);
	(void)proto_enc_stream_accept(&b, id, a);
	net_send_buf(cl, &b);
	return id;
}

void
net_stream_reset_id(struct agent_net *net, struct agent_net_client *cl,
    uint32_t id, int err)
{
	struct net_stream *ns = stream_find(cl, id);
	struct proto_buf b;

	if (ns == NULL || ns->state == ST_DEAD)
		return;
	if (ns->s.fd >= 0) {
		stream_reset(&ns->s, err);
		return;
	}
	proto_buf_init(&b, PROTO_HDR_LEN);
	(void)proto_enc_stream_close(&b, id, (uint32_t)err);
	net_send_buf(cl, &b);
	ns->s.peer_gone = 1;
	net_stream_free(net, ns, 1);
}

/* The client's STREAM_OPENED for an accepted connection: its local
 * connect is done (status 0) and the engine takes the socket, or it
 * failed and the connection is reset. */
static void
accept_answered(struct agent_net *net, struct net_stream *ns,
    uint32_t status, uint32_t window)
{
	if (status != 0) {
		log_debug("stream %u: the client's connect failed: %s",
		    ns->s.id, strerror((int)status));
		ns->s.peer_gone = 1;
		net_stream_free(net, ns, 1);
		return;
	}
	conn_list_remove(net, ns);
	ns->cl->naccepting--;
	ns->state = ST_OPEN;
	stream_set_peer_window(&ns->s, window);
	stream_attach(&ns->s, ns->io.fd);
}

/* ---- stream messages ----------------------------------------------- */

void
net_stream_message(struct agent_net *net, struct agent_net_client *cl,
    struct net_msg *m)
{
	struct proto_cur c = { m->data, m->len };
	struct proto_stream_msg sm;
	struct net_stream *ns;

	if (proto_dec_stream(&m->h, &c, &sm) < 0) {
		/* checked on the service thread already */
		net_client_violation(cl, "malformed stream message");
		goto out;
	}
	if (sm.op == STREAM_OPEN) {
		stream_open(net, cl, sm.id, &sm.open);
		goto out;
	}
	if ((ns = stream_find(cl, sm.id)) == NULL)
		goto out;		/* gone already: dropped */
	switch (sm.op) {
	case STREAM_OPENED:
		/* check_payload let only an agent-space id through */
		if (ns->state != ST_ACCEPTING)
			net_client_violation(cl, "stream_opened for a stream "
			    "not waiting for it");
		else if (sm.status == 0 && sm.window == 0)
			net_client_violation(cl, "stream_opened with no "
			    "window");
		else
			accept_answered(net, ns, sm.status, sm.window);
		break;
	case STREAM_DATA:
		if (ns->proto != NET_TCP) {
			net_dgram_data(ns, sm.data, sm.len);
			break;
		}
		if (stream_peer_data(&ns->s, sm.data, sm.len) < 0)
			net_client_violation(cl, ns->s.peer_shut ?
			    "stream data after stream_shut" :
			    "stream data beyond the window");
		break;
	case STREAM_CREDIT:
		/* More credit than was sent is the client's mistake; it
		 * never widens the window. */
		stream_peer_credit(&ns->s, sm.credit);
		if (ns->proto != NET_TCP && ns->state == ST_OPEN)
			net_stream_interest(net, ns);
		break;
	case STREAM_SHUT:
		if (ns->proto == NET_TCP)
			stream_peer_shut(&ns->s);
		break;
	case STREAM_CLOSE:
		if (ns->state == ST_ACCEPTING)
			ns->s.peer_gone = 1;
		if (ns->proto == NET_TCP && ns->s.fd >= 0)
			stream_peer_close(&ns->s, sm.status);
		else
			net_stream_free(net, ns, sm.status == ECONNRESET);
		break;
	default:
		net_client_violation(cl, "stream message a client may not "
		    "send");
		break;
	}
out:
	x_free(m);
}

void
net_stream_event(struct agent_net *net, struct net_stream *ns,
    uint32_t events)
{
	if (ns->state == ST_DEAD || ns->cl->broken)
		return;
	if (ns->proto == NET_TCP)
		net_tcp_event(net, ns, events);
	else if (events & (EPOLLIN | EPOLLERR))
		net_dgram_event(net, ns);
}
