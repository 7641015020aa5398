/*
 * The agent's network side, incoming traffic in mirror mode: a
 * redirected connection (incoming.c accepted it, as for steal) is
 * relayed to the pod's own process at its original destination
 * (net_incoming_connect_pod: marked, so the redirect leaves it alone),
 * both ways, and the pod answers the client. A copy of what the client
 * sends goes to the subscription's client (netd) as an incoming stream
 * (STREAM_ACCEPT, as for steal): the copy is written into one end of a
 * socketpair whose other end is that stream's socket for the stream
 * engine, which carries it under the client's credits; what the laptop
 * answers comes back through the pair and is read and dropped.
 *
 * A slow laptop never slows the pod: the copy is written without
 * blocking, and when the pair's bounded buffer (MIRROR_COPY_BUF, beyond
 * the stream's window) cannot take a read of the client's whole, that
 * connection's copy is reset (STREAM_CLOSE ENOBUFS, which netd counts as
 * "dropped") while the relay goes on untouched. The client's half-close
 * and close reach the pod and the copy; the pod's reach the client.
 *
 * The pod's process sees the agent's connection, from the pod's own
 * address, not the client's (mirrord sniffs instead). Network thread
 * only, like everything of net-int.h.
 */
#include "config.h"

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

/* Bytes of each direction of the relay held at once. */
#define MIRROR_BUF		32768
/* The socketpair's send buffer of the copy: what may wait for the
 * stream engine beyond the client's window. */
#define MIRROR_COPY_BUF		(256 * 1024)

enum { END_C, END_P, END_T };

/* One fd of a mirrored connection in epoll. */
struct mirror_io {
	struct net_io	 io;		/* first: epoll points here */
	struct net_mirror *m;
	uint32_t	 ev;		/* registered interest */
};

/* A direction of the relay: bytes read from one side, not yet written
 * to the other. */
struct mirror_dir {
	uint8_t		 buf[MIRROR_BUF];
	size_t		 off, len;
	int		 eof;		/* its reader saw EOF */
	int		 shut;		/* the writer's side shut (SHUT_WR) */
};

struct net_mirror {
	struct mirror_io e[3];		/* client, pod, copy (tee) */
	struct net_mirror *prev, *next;
	struct agent_net_client *cl;	/* the copy's; NULL once gone */
	uint32_t	 copy_id;	/* its stream, while e[END_T] is open */
	uint16_t	 port;
	int		 connecting;	/* to the pod */
	int		 dead;		/* on the zombie list */
	struct proto_stream_accept a;	/* for the copy's STREAM_ACCEPT */
	struct mirror_dir cp;		/* client -> pod (and copy) */
	struct mirror_dir pc;		/* pod -> client */
};

static void mirror_step(struct agent_net *, struct net_mirror *);

static void
io_set(struct agent_net *net, struct mirror_io *x, uint32_t want)
{
	struct epoll_event ev;
	int op;

	if (x->io.fd < 0 || want == x->ev)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.ptr = &x->io;
	op = want == 0 ? EPOLL_CTL_DEL : x->ev == 0 ? EPOLL_CTL_ADD :
	    EPOLL_CTL_MOD;
	if (epoll_ctl(net->ep, op, x->io.fd, &ev) < 0)
		log_warn("incoming: epoll_ctl (mirror)");
	x->ev = want;
}

static void
io_close(struct mirror_io *x, int reset)
{
	struct linger lg = { 1, 0 };

	if (x->io.fd < 0)
		return;
	if (reset)
		(void)setsockopt(x->io.fd, SOL_SOCKET, SO_LINGER, &lg,
		    sizeof(lg));
	close(x->io.fd);	/* leaves epoll too */
	x->io.fd = -1;
	x->ev = 0;
}

/* ---- the copy ---- */

/* The copy ends without a word beyond its socket: the engine's end sees
 * EOF once it has read what is there. */
static void
copy_close(struct net_mirror *m)
{
	io_close(&m->e[END_T], 0);
}

/* The copy fell behind: its stream is reset, the relay goes on. */
static void
copy_drop(struct agent_net *net, struct net_mirror *m)
{
	struct net_sub_counts *c;

	if (m->cl != NULL)
		net_stream_reset_id(net, m->cl, m->copy_id, ENOBUFS);
	copy_close(m);
	if ((c = net_incoming_counts(net, m->port)) != NULL)
		c->dropped++;
	log_debug("incoming: port %u: the copy of a connection fell behind; "
	    "dropped", m->port);
}

/* The pod is connected: the copy's stream starts, if its client can
 * take one. */
static void
copy_start(struct agent_net *net, struct net_mirror *m)
{
	struct agent_net_client *cl = m->cl;
	struct net_sub_counts *c;
	int sv[2], sz = MIRROR_COPY_BUF;

	if (cl == NULL || cl->broken || cl->detached ||
	    cl->naccepting >= INCOMING_PENDING_MAX ||
	    cl->nstreams >= AGENT_NET_STREAMS_MAX ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, sv) < 0) {
		if ((c = net_incoming_counts(net, m->port)) != NULL)
			c->dropped++;
		m->cl = NULL;
		return;
	}
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	m->e[END_T].io.fd = sv[0];
	m->copy_id = net_stream_accepted(net, cl, sv[1], &m->a);
}

/* Writes what the client sent to the copy, all or nothing. */
static void
copy_write(struct agent_net *net, struct net_mirror *m, const uint8_t *p,
    size_t n)
{
	ssize_t w;

	if (m->e[END_T].io.fd < 0)
		return;
	w = send(m->e[END_T].io.fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (w == (ssize_t)n)
		return;
	if (w >= 0 || errno == EAGAIN || errno == ENOBUFS)
		copy_drop(net, m);
	else
		copy_close(m);	/* its stream is over already */
}

/* What the laptop answers: read and dropped. */
static void
copy_drain(struct net_mirror *m)
{
	uint8_t buf[16384];
	ssize_t n;
	int i;

	for (i = 0; i < 16 && m->e[END_T].io.fd >= 0; i++) {
		n = recv(m->e[END_T].io.fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		copy_close(m);	/* the laptop is done, or its stream */
	}
}

/* ---- the relay ---- */

/* Moves what d holds to fd; then the shut, once d's reader is at EOF.
 * 0, or -errno of a write (the writer's side is gone). */
static int
dir_flush(struct mirror_dir *d, int fd)
{
	ssize_t w;

	while (d->len > 0) {
		w = send(fd, d->buf + d->off, d->len, MSG_DONTWAIT |
		    MSG_NOSIGNAL);
		if (w < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		d->off += (size_t)w;
		d->len -= (size_t)w;
	}
	d->off = 0;
	if (d->eof && !d->shut) {
		(void)shutdown(fd, SHUT_WR);
		d->shut = 1;
	}
	return 0;
}

/* Reads into d from fd when d is empty. 0 or -errno (a reset). */
static int
dir_fill(struct mirror_dir *d, int fd)
{
	ssize_t n;

	if (d->eof || d->len > 0)
		return 0;
	n = recv(fd, d->buf, sizeof(d->buf), MSG_DONTWAIT);
	if (n > 0)
		d->len = (size_t)n;
	else if (n == 0)
		d->eof = 1;
	else if (errno != EAGAIN && errno != EINTR)
		return -errno;
	return 0;
}

static void
mirror_free(struct agent_net *net, struct net_mirror *m, int reset)
{
	if (m->dead)
		return;
	io_close(&m->e[END_C], reset);
	io_close(&m->e[END_P], reset);
	/* The copy ends as the client's connection did: shut, not reset
	 * (a reset of the copy means it was dropped). */
	copy_close(m);
	if (m->prev)
		m->prev->next = m->next;
	else
		net->in_mirrors = m->next;
	if (m->next)
		m->next->prev = m->prev;
	m->dead = 1;
	m->next = net->in_mirror_zombies;
	net->in_mirror_zombies = m;
}

/* One round of the relay after events: read, tee, write, shut, and the
 * interest that follows. */
static void
mirror_step(struct agent_net *net, struct net_mirror *m)
{
	int c = m->e[END_C].io.fd, p = m->e[END_P].io.fd, rc;
	size_t had;

	if (m->connecting) {
		io_set(net, &m->e[END_P], EPOLLOUT);
		io_set(net, &m->e[END_C], 0);
		return;
	}
	/* client -> pod, teed */
	had = m->cp.len;
	if ((rc = dir_fill(&m->cp, c)) < 0)
		goto reset;
	if (m->cp.len > had)
		copy_write(net, m, m->cp.buf, m->cp.len);
	if (m->cp.eof && m->e[END_T].io.fd >= 0)
		(void)shutdown(m->e[END_T].io.fd, SHUT_WR);
	if ((rc = dir_flush(&m->cp, p)) < 0)
		goto reset;
	/* pod -> client */
	if ((rc = dir_fill(&m->pc, p)) < 0)
		goto reset;
	if ((rc = dir_flush(&m->pc, c)) < 0)
		goto reset;
	if (m->cp.shut && m->pc.shut) {
		/* both directions done */
		io_close(&m->e[END_C], 0);
		io_close(&m->e[END_P], 0);
		if (m->e[END_T].io.fd < 0)
			mirror_free(net, m, 0);
		return;
	}
	io_set(net, &m->e[END_C], (!m->cp.eof && m->cp.len == 0 ? EPOLLIN :
	    0) | (m->pc.len > 0 ? EPOLLOUT : 0));
	io_set(net, &m->e[END_P], (!m->pc.eof && m->pc.len == 0 ? EPOLLIN :
	    0) | (m->cp.len > 0 ? EPOLLOUT : 0));
	return;
reset:
	log_debug("incoming: port %u: a mirrored connection: %s", m->port,
	    strerror(-rc));
	mirror_free(net, m, 1);
}

void
net_mirror_event(struct agent_net *net, struct net_io *io, uint32_t events)
{
	struct mirror_io *x = (struct mirror_io *)io;
	struct net_mirror *m = x->m;
	socklen_t sl = sizeof(int);
	int err = 0;

	if (m->dead)
		return;
	if (x == &m->e[END_T]) {
		copy_drain(m);
		if (m->e[END_T].io.fd < 0 && m->e[END_C].io.fd < 0 &&
		    m->e[END_P].io.fd < 0)
			mirror_free(net, m, 0);
		return;
	}
	if (x == &m->e[END_P] && m->connecting) {
		if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
			err = errno;
		if (err == 0 && (events & (EPOLLERR | EPOLLHUP)))
			err = ECONNREFUSED;
		if (err != 0) {
			log_debug("incoming: port %u: the pod's process: %s",
			    m->port, strerror(err));
			mirror_free(net, m, 1);	/* the client sees a reset */
			return;
		}
		m->connecting = 0;
		copy_start(net, m);
		if (m->e[END_T].io.fd >= 0)
			io_set(net, &m->e[END_T], EPOLLIN);
	}
	mirror_step(net, m);
}

void
net_mirror_accepted(struct agent_net *net, struct agent_net_client *cl,
    int fd, const struct sockaddr_in *orig,
    const struct proto_stream_accept *a)
{
	struct net_mirror *m;
	int pfd, one = 1, i;

	if ((pfd = net_incoming_connect_pod(net, orig)) < 0) {
		log_debug("incoming: port %u: cannot connect to the pod's "
		    "process: %s", a->dport, strerror(-pfd));
		close(fd);
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)setsockopt(pfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	m = xcalloc(1, sizeof(*m));
	for (i = 0; i < 3; i++) {
		m->e[i].io.kind = IO_MIRROR;
		m->e[i].io.fd = -1;
		m->e[i].m = m;
	}
	m->e[END_C].io.fd = fd;
	m->e[END_P].io.fd = pfd;
	m->cl = cl;
	m->port = a->dport;
	m->a = *a;
	m->connecting = 1;
	m->next = net->in_mirrors;
	if (m->next)
		m->next->prev = m;
	net->in_mirrors = m;
	mirror_step(net, m);
}

void
net_mirror_client_gone(struct agent_net *net, struct agent_net_client *cl)
{
	struct net_mirror *m;

	/* Its streams go with it (and the copy's end with them). */
	for (m = net->in_mirrors; m != NULL; m = m->next)
		if (m->cl == cl)
			m->cl = NULL;
}

void
net_mirror_stop(struct agent_net *net)
{
	while (net->in_mirrors != NULL)
		mirror_free(net, net->in_mirrors, 1);
	net_mirror_reap(net);
}

void
net_mirror_reap(struct agent_net *net)
{
	struct net_mirror *m;

	while ((m = net->in_mirror_zombies) != NULL) {
		net->in_mirror_zombies = m->next;
		x_free(m);
	}
}
