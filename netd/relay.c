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
 * new SYN, UDP, ICMP) it queues to the relay thread. The relay thread
 * owns every stream (the ownership rule of lib/stream.c): the client's
 * reader thread queues the agent's stream messages to it, and the queue
 * is the only hand-off (the reader once ran them itself under a
 * trylock, which made ownership depend on timing). The NAT table is
 * shared with the TUN thread under nat_mtx.
 *
 * This file holds the relay's state (R), the queue to the relay thread,
 * the relay thread's loop and timers, and start and stop. The rest:
 * nat.c (the NAT table), tunio.c (the TUN thread), stream.c (streams and
 * the TCP relay), flow.c (UDP and ICMP flows), dnsstub.c (the DNS stub),
 * status.c (the status file); relay-internal.h is what they share.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
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

#include "incoming.h"
#include "fdlimit.h"
#include "log.h"
#include "pkt.h"
#include "proto.h"
#include "relay-internal.h"
#include "xmalloc.h"

struct relay_state R;

static int tag_event = TAG_EVENT, tag_listen = TAG_LISTEN;
static int tag_listen6 = TAG_LISTEN6;
static int tag_dns_udp = TAG_DNS_UDP, tag_dns_tcp = TAG_DNS_TCP;

void
relay_dropped(void)
{
	atomic_fetch_add_explicit(&R.dropped, 1, memory_order_relaxed);
}

/* Queues it for the relay thread. A packet from the TUN is dropped when
 * PKT_QUEUE_MAX bytes of them wait (returns -1); the agent's messages
 * make the reader wait instead (they are not to be lost). */
int
relay_queue_push(struct item *it)
{
	uint64_t one = 1;
	int wake;

	it->next = NULL;
	pthread_mutex_lock(&R.q_mtx);
	if (it->kind == IT_PKT) {
		if (R.q_pkt_bytes + it->len > PKT_QUEUE_MAX) {
			pthread_mutex_unlock(&R.q_mtx);
			x_free(it);
			relay_dropped();
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

struct item *
relay_item_new(int kind, const void *data, size_t len)
{
	struct item *it = xmalloc(sizeof(*it) + len);

	it->kind = kind;
	it->len = len;
	if (len)
		memcpy(it->data, data, len);
	return it;
}


/* The client's reader thread: to the relay thread's queue. */
void
relay_on_stream(void *arg, const struct proto_hdr *h,
    struct proto_cur *payload)
{
	struct item *it;

	(void)arg;
	it = relay_item_new(IT_MSG, payload->p, payload->left);
	it->h = *h;
	relay_queue_push(it);
}

void
relay_on_link(void *arg, int up)
{
	(void)arg;
	atomic_store_explicit(&R.down_since, up ? 0 : (long long)time(NULL),
	    memory_order_relaxed);
	incoming_on_link(up);
	if (!up && R.started)
		relay_queue_push(relay_item_new(IT_DOWN, NULL, 0));
}

/* The agent connection is gone, and every stream with it. */
static void
link_down(void)
{
	struct relay_stream *st;
	int n = 0;

	while ((st = R.all) != NULL) {
		st->s.peer_gone = 1;
		relay_stream_free(st, 1);
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
			if (it->h.op == STREAM_ACCEPT)
				incoming_stream_accept(&it->h, it->data,
				    it->len);
			else if (it->h.op >= STREAM_OPENED &&
			    it->h.op < STREAM_MAX_)
				relay_stream_message(&it->h, it->data,
				    it->len);
			break;
		case IT_PKT: {
			struct pkt p;

			if (pkt_parse(it->data, it->len, &p) == 0) {
				if (p.proto == IPPROTO_TCP)
					relay_tcp_syn(it->data, it->len);
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

static void
tick(double t)
{
	struct relay_stream *st, *next;

	nat_expire(t);
	incoming_tick(t);
	/* Flows idle too long, and SYNs the kernel never completed: a
	 * scan once a second, never per packet. */
	for (st = R.all; st; st = next) {
		next = st->next;
		if (st->proto != NET_TCP) {
			if (t - st->last > R.cfg.udp_idle)
				relay_stream_close(st, 0);
		} else if (st->opened && !st->joined && t > st->deadline &&
		    R.n_unjoined > 0)
			relay_stream_close(st, ECONNRESET);
	}
	status_write();
}

static void *
relay_main(void *arg)
{
	struct epoll_event evs[128];
	double t;
	int i, n, timeout;

	(void)arg;
	R.next_tick = mono_now() + 1;
	pthread_mutex_lock(&R.relay_mtx);
	status_write();
	pthread_mutex_unlock(&R.relay_mtx);
	while (!R.stop) {
		t = mono_now();
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
				relay_tcp_accept(R.lfd);
				break;
			case TAG_LISTEN6:
				relay_tcp_accept(R.lfd6);
				break;
			case TAG_DNS_UDP:
				dnsstub_udp_readable();
				break;
			case TAG_DNS_TCP:
				dnsstub_tcp_accept();
				break;
			}
		}
		for (i = 0; i < n; i++) {
			struct relay_stream *st;

			if (!(evs[i].data.u64 & EV_STREAM))
				continue;
			st = relay_stream_find((uint32_t)evs[i].data.u64);
			if (st != NULL && st->in_port && st->in_fd >= 0)
				incoming_connect_event(st, evs[i].events);
			if (st == NULL || st->s.fd < 0)
				continue;
			stream_event(&st->s, evs[i].events);
		}
		if ((t = mono_now()) >= R.next_tick) {
			tick(t);
			R.next_tick = t + 1;
		}
		pthread_mutex_unlock(&R.relay_mtx);
	}
	return NULL;
}

/* ---- start and stop ---- */

/* A socket on the TUN address of the family (AF_INET6: R.tun6). */
static int
bind_socket(int family, int type, uint16_t port, const char **why)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	int fd, one = 1;

	if ((fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC,
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
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = R.tun6;
		sin6->sin6_port = htons(port);
		sl = sizeof(*sin6);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = R.tun_addr;
		sin->sin_port = htons(port);
		sl = sizeof(*sin);
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 ||
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

/* The port a listener got. */
static uint16_t
bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return 0;
	return ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port;
}

int
relay_start(const struct relay_config *cfg, const char **why)
{
	sigset_t all, old;
	int rc;

	R.cfg = *cfg;
	R.cl = cfg->client;
	R.tunfd = cfg->tunfd;
	R.tun_addr = cfg->tun_addr;
	R.peer_base = ntohl(cfg->tun_addr) + 1;
	R.tun4 = pkt_addr4(cfg->tun_addr);
	if ((R.has6 = cfg->has6) != 0) {
		uint32_t tail;

		R.tun6 = R.peer6_base = cfg->tun6;
		memcpy(&tail, R.peer6_base.s6_addr + 12, 4);
		tail = htonl(ntohl(tail) + 1);
		memcpy(R.peer6_base.s6_addr + 12, &tail, 4);
	}
	R.lfd = R.lfd6 = R.dns_ufd = R.dns_tfd = -1;
	/* A relayed TCP connection holds a descriptor; the spare lets the
	 * listener reset one it cannot take (fdlimit.c). */
	if ((R.nofile = fdlimit_raise()) > 0 && R.nofile < 4096)
		log_warnx("only %ld file descriptors (ulimit -n): about as "
		    "many relayed connections at most", R.nofile);
	R.spare_fd = fdlimit_spare();
	pthread_mutex_init(&R.nat_mtx, NULL);
	pthread_mutex_init(&R.q_mtx, NULL);
	pthread_cond_init(&R.q_cv, NULL);
	pthread_mutex_init(&R.relay_mtx, NULL);
	R.ports = xcalloc((size_t)2 * NAT_SLOTS, sizeof(*R.ports));
	R.pbuf = xmalloc(PKT_BUF_MAX);
	fcntl(R.tunfd, F_SETFL, fcntl(R.tunfd, F_GETFL) | O_NONBLOCK);

	if ((R.lfd = bind_socket(AF_INET, SOCK_STREAM, 0, why)) < 0)
		return R.lfd;
	if ((R.listen_port = bound_port(R.lfd)) == 0) {
		*why = "getsockname";
		return -errno;
	}
	if (R.has6) {
		if ((R.lfd6 = bind_socket(AF_INET6, SOCK_STREAM, 0, why)) < 0)
			return R.lfd6;
		if ((R.listen_port6 = bound_port(R.lfd6)) == 0) {
			*why = "getsockname";
			return -errno;
		}
	}
	if (cfg->dns) {
		if ((R.dns_ufd = bind_socket(AF_INET, SOCK_DGRAM, 53,
		    why)) < 0) {
			*why = "the DNS stub cannot bind UDP port 53 on the "
			    "TUN address";
			return R.dns_ufd;
		}
		if ((R.dns_tfd = bind_socket(AF_INET, SOCK_STREAM, 53,
		    why)) < 0) {
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
	    (R.lfd6 >= 0 && (rc = ep_add(R.lfd6, &tag_listen6)) < 0) ||
	    (R.dns_ufd >= 0 && (rc = ep_add(R.dns_ufd, &tag_dns_udp)) < 0) ||
	    (R.dns_tfd >= 0 && (rc = ep_add(R.dns_tfd, &tag_dns_tcp)) < 0)) {
		*why = "epoll_ctl";
		return rc;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	R.started = 1;
	if (pthread_create(&R.tun_thread, NULL, tunio_main, NULL) != 0 ||
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
		relay_stream_close(R.all, ECONNRESET);
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
	if (R.lfd6 >= 0)
		close(R.lfd6);
	if (R.spare_fd >= 0)
		close(R.spare_fd);
	if (R.dns_ufd >= 0)
		close(R.dns_ufd);
	if (R.dns_tfd >= 0)
		close(R.dns_tfd);
	close(R.epfd);
	close(R.evfd);
	close(R.stopfd);
	x_free(R.ports);
	x_free(R.pbuf);
}
