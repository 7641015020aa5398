/*
 * The agent's network side. One thread enters the target's network
 * namespace and runs an epoll loop; a socket stays in the namespace it
 * was born in, so every socket a client needs is made here: TCP
 * connections relayed as streams with credit flow control, connected UDP
 * sockets, ping sockets, and c-ares' sockets for DNS. The service thread
 * checks each message and hands over a copy through a locked queue and
 * an eventfd; this thread answers with ws_send().
 *
 * This thread owns every stream, client table and c-ares channel (the
 * ownership rule of lib/stream.c): the service thread only checks a
 * message and queues it, and the queue is the only hand-off. It never
 * runs this thread's work itself (it once did, under a trylock, which
 * made ownership depend on timing). Streams are freed only at the end of
 * this thread's round (reap), so an event of the round never points at
 * freed memory.
 *
 * This file holds the thread, its queue and the clients; the streams
 * are in net-stream.c (table, life, opening), net-tcp.c and
 * net-dgram.c, DNS in net-dns.c, OP_NET_INFO in net-info.c, and what
 * they share in net-int.h.
 */
#include "config.h"

#include <ares.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "net-int.h"
#include "proto-net.h"
#include "xmalloc.h"

#define NET_EVENTS		256	/* epoll events per wakeup */
/* A connection whose messages pile up unprocessed beyond this is cut. */
#define NET_QUEUE_MAX		(256u * 1024 * 1024)

int
agent_net_serves(unsigned int op)
{
	return op == OP_NET_INFO || op == OP_DNS || op == OP_INCOMING_SUB ||
	    op == OP_INCOMING_UNSUB;
}

/* ---- sending ------------------------------------------------------- */

void
net_reply_errno(struct agent_net_client *cl, const struct proto_hdr *h, int err)
{
	struct proto_buf b;

	proto_buf_init(&b, PROTO_HDR_LEN);
	(void)proto_enc_net_errno(&b, MSG_REPLY, h->op, h->id, (uint32_t)err);
	net_send_buf(cl, &b);
}

/* Sends out, finished by its encoder; out is freed either way. */
void
net_send_buf(struct agent_net_client *cl, struct proto_buf *out)
{
	if (proto_finish(out) == 0) {
		ws_send(cl->conn, out->data, out->len);
		out->data = NULL;
	}
	proto_buf_free(out);
}

/* The client broke the protocol in a way only this thread can see. */
void
net_client_violation(struct agent_net_client *cl, const char *what)
{
	if (cl->broken)
		return;
	cl->broken = 1;
	log_warnx("client %s: %s; closing the connection",
	    ws_conn_peer(cl->conn), what);
	ws_close(cl->conn, what);
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
			net_stream_free(net, cl->tab[i],
			    cl->tab[i]->proto == NET_TCP);
}

/* Once detached and without streams and DNS queries, a client is freed
 * at the end of the loop round. */
void
net_client_maybe_done(struct agent_net *net, struct agent_net_client *cl)
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

	atomic_fetch_sub_explicit(&cl->queued, m->len, memory_order_relaxed);
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
		net_incoming_client_gone(net, cl);
		client_close_streams(net, cl);
		net_client_maybe_done(net, cl);
		x_free(m);
		return;
	}
	if (cl->broken || cl->detached) {
		x_free(m);
		return;
	}
	if (m->h.kind == MSG_STREAM) {
		net_stream_message(net, cl, m);
		return;
	}
	if (m->h.op == OP_NET_INFO)
		net_serve_info(net, cl, &m->h);
	else if (m->h.op == OP_INCOMING_SUB || m->h.op == OP_INCOMING_UNSUB)
		net_incoming_request(net, cl, m);
	else
		net_serve_dns(net, cl, m);
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
	struct net_stream *s;
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
		ms = net->conn_head->deadline - mono_ms();
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

	enter_netns(net);
	if (net->ok)
		net_dns_init(net);
	while (!net->stop) {
		timeout = epoll_timeout(net);
		n = epoll_wait(net->ep, evs, NET_EVENTS, timeout);
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
				net_stream_event(net, (struct net_stream *)io,
				    evs[i].events);
				break;
			case IO_LISTEN:
				net_incoming_accept(net);
				break;
			case IO_MIRROR:
				net_mirror_event(net, io, evs[i].events);
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
			net_connect_timeouts(net, mono_ms());
		if (net->dns_ok && net->dns_inflight > 0)
			ares_process_fd(net->chan, ARES_SOCKET_BAD,
			    ARES_SOCKET_BAD);
		if (net->dns_ok && net->dns_servers_stale &&
		    net->dns_inflight == 0)
			net_dns_refresh(net);
		net_mirror_reap(net);
		reap(net);
	}
	/* Stopping: every socket goes; clients wait for their detach. */
	net_incoming_stop(net);
	for (cl = net->clients; cl != NULL; cl = cl->next)
		client_close_streams(net, cl);
	if (net->dns_ok) {
		ares_destroy(net->chan);	/* answers what is pending */
		net->dns_ok = 0;
	}
	reap(net);
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
	net->in_io.fd = -1;
	nft_init(&net->in_nft);
	pthread_mutex_init(&net->mtx, NULL);
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
	ares_library_cleanup();
	x_free(net);
}

struct agent_net_client *
agent_net_attach(struct agent_net *net, struct ws_conn *conn,
    void (*release)(void *), void *arg)
{
	struct agent_net_client *cl = xcalloc(1, sizeof(*cl));

	cl->net = net;
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
	struct proto_stream_msg sm;
	const uint8_t *p;
	uint32_t n;

	uint16_t port;
	uint8_t mode;

	if (h->kind == MSG_REQUEST) {
		if ((h->op == OP_NET_INFO ? proto_dec_net_info_req(&c) :
		    h->op == OP_INCOMING_SUB ?
		    proto_dec_incoming_sub(&c, &port, &mode) :
		    h->op == OP_INCOMING_UNSUB ?
		    proto_dec_incoming_unsub(&c, &port) :
		    proto_dec_dns_req(&c, &p, &n)) < 0) {
			*why = "malformed network request";
			return -EBADMSG;
		}
		return 0;
	}
	if (proto_dec_stream(h, &c, &sm) < 0) {
		*why = "malformed stream message";
		return -EBADMSG;
	}
	/* A client answers STREAM_ACCEPT with STREAM_OPENED, for an id of
	 * the agent's space; it opens streams (STREAM_OPEN) only in its
	 * own (the decoder checks that). */
	if (sm.op == STREAM_ACCEPT ||
	    (sm.op == STREAM_OPENED && !(sm.id & STREAM_ID_AGENT))) {
		*why = "stream message a client may not send";
		return -EBADMSG;
	}
	return 0;
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
	if (atomic_fetch_add_explicit(&cl->queued, plen,
	    memory_order_relaxed) + plen > NET_QUEUE_MAX) {
		atomic_fetch_sub_explicit(&cl->queued, plen,
		    memory_order_relaxed);
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
	memcpy(m->buf, msg + PROTO_HDR_LEN, plen);
	if (enqueue(net, m) < 0) {
		atomic_fetch_sub_explicit(&cl->queued, plen,
		    memory_order_relaxed);
		x_free(m);
	}
	return 0;
}
