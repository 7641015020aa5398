/*
 * The agent's network side, incoming traffic: OP_INCOMING_SUB
 * and _UNSUB, the one listening socket that redirected connections
 * arrive at, and what is done with each. On the first subscription the
 * network thread (inside the target's netns) makes a listener on an
 * ephemeral port of 0.0.0.0 and the nftables table of nft.c; each
 * subscribed port gets two chains that redirect new connections to it
 * (from outside, and from the pod itself to its own addresses) to that
 * listener, except the agent's own, which carry INCOMING_MARK
 * (net_incoming_mark). An accepted connection's original port
 * (SO_ORIGINAL_DST) names the subscription; its client gets a
 * STREAM_ACCEPT with the peer's real address (net-stream.c) when the
 * port is stolen; a mirrored port's connection goes to
 * incoming-mirror.c (the pod's process answers, the client gets a
 * copy). The redirect is the same for both modes. When the
 * last subscription goes (UNSUB, or its client's connection), the table
 * and the listener go too. Network thread only, like everything of
 * net-int.h.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http-filter.h"
#include "log.h"
#include "net-int.h"
#include "proto-net.h"
#include "xmalloc.h"

/* The mark of the agent's own connections while it steals: never
 * redirected ("mirr"). */
#define INCOMING_MARK		0x6d697272u
/* Connections accepted per readiness event. */
#define INCOMING_ACCEPTS	64

struct net_sub {
	struct net_sub	*next;
	struct agent_net_client *cl;
	uint16_t	 port;
	uint8_t		 mode;		/* INCOMING_STEAL, _MIRROR or _FILTER */
	struct net_sub_counts n;
	struct http_filter *filter;	/* INCOMING_FILTER, or NULL */
};

static struct net_sub *
sub_find(struct agent_net *net, uint16_t port)
{
	struct net_sub *s;

	for (s = net->in_subs; s != NULL; s = s->next)
		if (s->port == port)
			return s;
	return NULL;
}

/* ---- the listener and the table ---- */

static int
listener_start(struct agent_net *net)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	struct epoll_event ev;
	int fd, rc;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(fd, 4096) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) < 0)
		goto fail;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &net->in_io;
	net->in_io.kind = IO_LISTEN;
	net->in_io.fd = fd;
	if (epoll_ctl(net->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		goto fail;
	net->in_lport = ntohs(sin.sin_port);
	return 0;
fail:
	rc = -errno;
	close(fd);
	net->in_io.fd = -1;
	return rc;
}

/* No subscription left: the table and the listener go. */
static void
teardown(struct agent_net *net)
{
	if (net->in_subs != NULL)
		return;
	if (net->in_nft.fd >= 0) {
		nft_table_destroy(&net->in_nft);
		log_info("incoming: no port stolen any more; table inet %s "
		    "deleted", net->in_nft.table);
	}
	if (net->in_io.fd >= 0) {
		close(net->in_io.fd);	/* leaves epoll too */
		net->in_io.fd = -1;
	}
}

/* ---- requests ---- */

/* incoming.flush_connections: the redirect is in place, the connections
 * made before it are cut. A failure is logged; the steal stands. */
static void
flush_port(uint16_t port)
{
	int rc = net_incoming_flush(port, INCOMING_MARK);

	if (rc >= 0)
		log_info("incoming: port %u: %d established connection%s cut "
		    "(flush_connections)", port, rc, rc == 1 ? "" : "s");
	else
		log_warnx("incoming: port %u: flush_connections: %s%s", port,
		    strerror(-rc), rc == -EOPNOTSUPP ? " (the kernel has no "
		    "CONFIG_INET_DIAG_DESTROY; existing connections stay "
		    "with the pod)" : rc == -EPERM ? " (the agent needs "
		    "CAP_NET_ADMIN in the target's network namespace)" : "");
}

static int
sub_add(struct agent_net *net, struct agent_net_client *cl, uint16_t port,
    uint8_t mode, struct http_filter *filter)
{
	struct net_sub *s;
	int rc, flush = mode & INCOMING_FLUSH;

	mode &= (uint8_t)~INCOMING_FLUSH;
	if (!net->ok)
		return EPERM;
	if (mode != INCOMING_STEAL && mode != INCOMING_MIRROR &&
	    mode != INCOMING_FILTER)
		return EOPNOTSUPP;
	if ((s = sub_find(net, port)) != NULL) {
		if (s->cl != cl)
			return EADDRINUSE;
		http_filter_unref(s->filter);	/* the new one holds */
		s->filter = filter != NULL ? http_filter_ref(filter) : NULL;
		s->mode = mode;
		return 0;
	}
	if (cl->nsubs >= INCOMING_SUBS_MAX)
		return EMFILE;
	if (net->in_io.fd < 0 && (rc = listener_start(net)) < 0)
		return -rc;
	if (port == net->in_lport) {
		rc = -EADDRINUSE;	/* the agent's own listener */
		goto fail;
	}
	if ((rc = nft_table_create(&net->in_nft)) < 0) {
		/* Once per reason: a client retries now and then. */
		if (rc != net->in_err)
			log_warnx("incoming: cannot create table inet %s: "
			    "%s%s", net->in_nft.table, strerror(-rc),
			    rc == -EPERM ? " (the agent needs CAP_NET_ADMIN "
			    "in the target's network namespace)" : "");
		net->in_err = rc;
		goto fail;
	}
	net->in_err = 0;
	if ((rc = nft_port_add(&net->in_nft, port, net->in_lport,
	    INCOMING_MARK)) < 0) {
		log_warnx("incoming: cannot redirect port %u: %s", port,
		    strerror(-rc));
		goto fail;
	}
	s = xcalloc(1, sizeof(*s));
	s->cl = cl;
	s->port = port;
	s->filter = filter != NULL ? http_filter_ref(filter) : NULL;
	s->mode = mode;
	s->next = net->in_subs;
	net->in_subs = s;
	cl->nsubs++;
	log_info("incoming: %s port %u for %s (to :%u)", mode ==
	    INCOMING_MIRROR ? "mirroring" : mode == INCOMING_FILTER ?
	    "stealing HTTP requests a filter matches on" : "stealing", port,
	    ws_conn_peer(cl->conn), net->in_lport);
	if (flush && mode != INCOMING_MIRROR)
		flush_port(port);
	return 0;
fail:
	teardown(net);
	return -rc;
}

static void
sub_remove(struct agent_net *net, struct net_sub *s)
{
	struct net_sub **pp;
	int rc;

	for (pp = &net->in_subs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	if ((rc = nft_port_del(&net->in_nft, s->port)) < 0)
		log_warnx("incoming: cannot remove the redirect of port %u: "
		    "%s", s->port, strerror(-rc));
	log_info("incoming: port %u no longer %s (%llu connections, %llu "
	    "copies dropped)", s->port, s->mode == INCOMING_MIRROR ?
	    "mirrored" : "stolen", (unsigned long long)s->n.conns,
	    (unsigned long long)s->n.dropped);
	s->cl->nsubs--;
	http_filter_unref(s->filter);
	x_free(s);
	teardown(net);
}

void
net_incoming_request(struct agent_net *net, struct agent_net_client *cl,
    struct net_msg *m)
{
	struct proto_cur c = { m->data, m->len };
	struct http_filter *filter = NULL;
	const uint8_t *fw;
	struct net_sub *s;
	uint32_t fwlen;
	uint16_t port;
	uint8_t mode;
	int err;

	if (m->h.op == OP_INCOMING_SUB) {
		if (proto_dec_incoming_sub_filter(&c, &port, &mode, &fw,
		    &fwlen) < 0) {
			net_client_violation(cl, "malformed incoming_sub");
			return;
		}
		if (mode == INCOMING_FILTER &&
		    http_filter_compile(fw, fwlen, &filter) < 0)
			err = EINVAL;
		else
			err = sub_add(net, cl, port, mode, filter);
		http_filter_unref(filter);
	} else {
		if (proto_dec_incoming_unsub(&c, &port) < 0) {
			net_client_violation(cl, "malformed incoming_unsub");
			return;
		}
		s = sub_find(net, port);
		err = s == NULL || s->cl != cl ? ENOENT : 0;
		if (err == 0)
			sub_remove(net, s);
	}
	net_reply_errno(cl, &m->h, err);
}

void
net_incoming_client_gone(struct agent_net *net, struct agent_net_client *cl)
{
	struct net_sub *s, *next;

	for (s = net->in_subs; s != NULL; s = next) {
		next = s->next;
		if (s->cl == cl)
			sub_remove(net, s);
	}
	net_mirror_client_gone(net, cl);
}

void
net_incoming_stop(struct agent_net *net)
{
	while (net->in_subs != NULL)
		sub_remove(net, net->in_subs);
	teardown(net);
	net_mirror_stop(net);
}

void
net_incoming_mark(struct agent_net *net, int fd)
{
	uint32_t mark = INCOMING_MARK;

	if (net->in_subs != NULL)
		(void)setsockopt(fd, SOL_SOCKET, SO_MARK, &mark,
		    sizeof(mark));
}

struct net_sub_counts *
net_incoming_counts(struct agent_net *net, uint16_t port)
{
	struct net_sub *s = sub_find(net, port);

	return s != NULL ? &s->n : NULL;
}

/* ---- accepted connections ---- */

int
net_incoming_connect_pod(struct agent_net *net, const struct sockaddr_in *orig)
{
	uint32_t mark = INCOMING_MARK;
	int fd, rc;

	(void)net;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Marked before the connect: the redirect must not take it back
	 * to the agent's own listener. */
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
		goto fail;
	if (connect(fd, (const struct sockaddr *)orig, sizeof(*orig)) < 0 &&
	    errno != EINPROGRESS)
		goto fail;
	return fd;
fail:
	rc = -errno;
	close(fd);
	return rc;
}

static void
reset_close(int fd)
{
	struct linger lg = { 1, 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* A filtered port's connection: its thread (http-filter.c) gets fd and
 * one end of a socket pair; the other end, *sp, is the laptop's stream. */
static int
filtered_start(struct net_sub *s, int fd, const struct sockaddr_in *orig,
    int *sp)
{
	int pair[2], rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, pair) < 0)
		return -errno;
	if ((rc = http_filter_conn_start(fd, pair[1], orig, s->filter,
	    INCOMING_MARK)) < 0) {
		log_debug("incoming: port %u: no filter thread: %s", s->port,
		    strerror(-rc));
		close(pair[0]);
		close(pair[1]);
		return rc;
	}
	*sp = pair[0];
	return 0;
}

void
net_incoming_accept(struct agent_net *net)
{
	struct proto_stream_accept a;
	struct sockaddr_in peer, orig;
	socklen_t pl, ol;
	struct net_sub *s;
	int fd, sp = -1, i;

	for (i = 0; i < INCOMING_ACCEPTS && net->in_io.fd >= 0; i++) {
		pl = sizeof(peer);
		fd = accept4(net->in_io.fd, (struct sockaddr *)&peer, &pl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				log_warn("incoming: accept");
			return;
		}
		ol = sizeof(orig);
		/* A connection made to the listener itself has no
		 * original destination: nobody's. */
		if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &orig, &ol) < 0 ||
		    (s = sub_find(net, ntohs(orig.sin_port))) == NULL) {
			reset_close(fd);
			continue;
		}
		memset(&a, 0, sizeof(a));
		a.family = 4;
		memcpy(a.addr, &peer.sin_addr, 4);
		a.sport = ntohs(peer.sin_port);
		a.dport = s->port;
		a.window = AGENT_NET_WINDOW;
		if (s->mode == INCOMING_MIRROR) {
			/* The pod answers whatever becomes of the copy. */
			s->n.conns++;
			net_mirror_accepted(net, s->cl, fd, &orig, &a);
			continue;
		}
		if (s->cl->broken || s->cl->detached) {
			reset_close(fd);
			continue;
		}
		if (s->cl->naccepting >= INCOMING_PENDING_MAX ||
		    s->cl->nstreams >= AGENT_NET_STREAMS_MAX) {
			log_debug("incoming: port %u: %u connections wait for "
			    "the client; resetting one", s->port,
			    s->cl->naccepting);
			reset_close(fd);
			continue;
		}
		if (s->filter != NULL && filtered_start(s, fd, &orig, &sp) < 0) {
			reset_close(fd);
			continue;
		}
		s->n.conns++;
		(void)net_stream_accepted(net, s->cl, s->filter != NULL ? sp : fd,
		    &a);
	}
}
