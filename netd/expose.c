/*
 * The shell's listening ports at the laptop's 127.0.0.1 (see expose.h).
 *
 * One thread, the watcher, owns the table of ports and their listeners:
 * every EXPOSE_POLL_MS it dumps the TCP sockets in LISTEN state of the
 * shell's namespace (NETLINK_SOCK_DIAG, from a socket made there: a
 * netlink socket answers for the namespace it was born in) and opens or
 * closes a listener on 127.0.0.1:PORT in netd's own namespace to match.
 * A connection accepted there gets a socket made inside the shell's
 * namespace (the watcher setns()es in for the socket() call alone) and a
 * thread of its own that connects it and copies both ways. The table is
 * published for the status file under exp_mtx.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "expose.h"
#include "incoming.h"
#include "log.h"
#include "xmalloc.h"

#define DIAG_BUF	32768
#define COPY_BUF	65536

enum port_state { PORT_OFFERED, PORT_BUSY };

struct port {
	uint16_t		 port;		/* host order */
	enum port_state		 state;
	int			 lfd;		/* on 127.0.0.1, netd's ns */
	int			 err;		/* PORT_BUSY: bind's errno */
	struct sockaddr_storage	 to;		/* inside the shell's ns */
	socklen_t		 tolen;
	int			 seen;		/* in the last dump */
};

/* The watcher's; exp_mtx guards them against expose_status. */
static struct port exp_ports[EXPOSE_PORTS_MAX];
static int exp_nports;
static pthread_mutex_t exp_mtx = PTHREAD_MUTEX_INITIALIZER;

static int exp_nsfd = -1, exp_selffd = -1, exp_pidfd = -1, exp_diagfd = -1;
static int exp_stopfd = -1;
static uint32_t exp_tun_addr;
static struct in6_addr exp_tun6;	/* :: when the TUN has no IPv6 */
static pthread_t exp_thread;
static int exp_started;
static _Atomic int exp_conns;

/* ---- the namespace's listening sockets ---- */

/* Where a connection to the listener m goes from inside the shell's
 * namespace: its own address, or loopback when it listens on any. */
static void
listener_target(const struct inet_diag_msg *m, struct sockaddr_storage *ss,
    socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (m->idiag_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = m->id.idiag_sport;
		sin->sin_addr.s_addr = m->id.idiag_src[0] ?
		    m->id.idiag_src[0] : htonl(INADDR_LOOPBACK);
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = m->id.idiag_sport;
		memcpy(&sin6->sin6_addr, m->id.idiag_src, 16);
		if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
			sin6->sin6_addr = in6addr_loopback;
		sin6->sin6_scope_id = m->id.idiag_if;
		*len = sizeof(*sin6);
	}
}

/* One dump of family's listening TCP sockets; calls fn for each. 0 or
 * -errno. */
static int
diag_dump(int family, void (*fn)(const struct inet_diag_msg *))
{
	struct {
		struct nlmsghdr		nlh;
		struct inet_diag_req_v2	req;
	} q;
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	static char buf[DIAG_BUF] __attribute__((aligned(8)));
	struct nlmsghdr *h;
	ssize_t n;
	int len;

	memset(&q, 0, sizeof(q));
	q.nlh.nlmsg_len = sizeof(q);
	q.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	q.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	q.req.sdiag_family = (uint8_t)family;
	q.req.sdiag_protocol = IPPROTO_TCP;
	q.req.idiag_states = 1u << TCP_LISTEN;
	if (sendto(exp_diagfd, &q, sizeof(q), 0, (struct sockaddr *)&nl,
	    sizeof(nl)) < 0)
		return -errno;
	for (;;) {
		n = recv(exp_diagfd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		len = (int)n;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)len);
		    h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR)
				return -EIO;
			if (h->nlmsg_len < NLMSG_LENGTH(
			    sizeof(struct inet_diag_msg)))
				continue;
			fn(NLMSG_DATA(h));
		}
	}
}

static struct port *
port_find(uint16_t port)
{
	int i;

	for (i = 0; i < exp_nports; i++)
		if (exp_ports[i].port == port)
			return &exp_ports[i];
	return NULL;
}

/* A listener of the dump: noted (the first one of a port wins; an IPv4
 * one over an IPv6 one, as most clients try 127.0.0.1 first). */
static void
diag_seen(const struct inet_diag_msg *m)
{
	struct port *p;
	uint16_t port = ntohs(m->id.idiag_sport);

	if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6)
		return;
	/* netd's own: the relay's listener and the DNS stub */
	if (m->idiag_family == AF_INET && m->id.idiag_src[0] == exp_tun_addr)
		return;
	if (m->idiag_family == AF_INET6 &&
	    !IN6_IS_ADDR_UNSPECIFIED(&exp_tun6) &&
	    memcmp(m->id.idiag_src, &exp_tun6, 16) == 0)
		return;
	pthread_mutex_lock(&exp_mtx);
	if ((p = port_find(port)) != NULL) {
		if (!p->seen || (m->idiag_family == AF_INET &&
		    p->to.ss_family == AF_INET6))
			listener_target(m, &p->to, &p->tolen);
		p->seen = 1;
		goto out;
	}
	if (exp_nports == EXPOSE_PORTS_MAX)
		goto out;
	p = &exp_ports[exp_nports++];
	memset(p, 0, sizeof(*p));
	p->port = port;
	p->lfd = -1;
	p->state = PORT_BUSY;
	p->err = EAGAIN;
	p->seen = 1;
	listener_target(m, &p->to, &p->tolen);
out:
	pthread_mutex_unlock(&exp_mtx);
}

/* A listener on 127.0.0.1:port in netd's own namespace, or -errno. */
static int
laptop_listen(uint16_t port)
{
	struct sockaddr_in sin;
	int fd, one = 1, rc;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(fd, 128) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

/* Brings the table in line with a dump: new ports offered (or noted as
 * busy and tried again next time), gone ones closed. */
static void
ports_sync(void)
{
	static struct incoming_listener live[EXPOSE_PORTS_MAX];
	struct port *p;
	int i, j, fd;

	for (i = 0; i < exp_nports; i++) {
		p = &exp_ports[i];
		if (!p->seen || p->state != PORT_BUSY)
			continue;
		fd = laptop_listen(p->port);
		pthread_mutex_lock(&exp_mtx);
		if (fd >= 0) {
			p->lfd = fd;
			p->state = PORT_OFFERED;
			log_info("port %u of the shell at 127.0.0.1:%u",
			    p->port, p->port);
		} else if (p->err != -fd) {
			p->err = -fd;
			log_info("port %u of the shell not offered: %s",
			    p->port, strerror(-fd));
		}
		pthread_mutex_unlock(&exp_mtx);
	}
	pthread_mutex_lock(&exp_mtx);
	for (i = j = 0; i < exp_nports; i++) {
		p = &exp_ports[i];
		if (p->seen) {
			exp_ports[j++] = *p;
			continue;
		}
		if (p->lfd >= 0) {
			close(p->lfd);
			log_info("port %u of the shell closed", p->port);
		}
	}
	exp_nports = j;
	for (i = 0; i < exp_nports; i++) {	/* incoming.c's view */
		live[i].port = exp_ports[i].port;
		live[i].to = exp_ports[i].to;
		live[i].tolen = exp_ports[i].tolen;
	}
	pthread_mutex_unlock(&exp_mtx);
	incoming_sync(live, exp_nports);
}

static void
scan(void)
{
	int i, rc;

	for (i = 0; i < exp_nports; i++)
		exp_ports[i].seen = 0;
	if ((rc = diag_dump(AF_INET, diag_seen)) < 0 ||
	    (rc = diag_dump(AF_INET6, diag_seen)) < 0) {
		/* Keep what is offered; try again next round. */
		log_debug("sock_diag: %s", strerror(-rc));
		for (i = 0; i < exp_nports; i++)
			exp_ports[i].seen = 1;
		return;
	}
	ports_sync();
}

/* ---- relayed connections ---- */

struct conn {
	int	a, b;	/* the laptop's side, the shell's side */
	struct sockaddr_storage to;
	socklen_t tolen;
};

/* Copies what one side has to the other; 0 at EOF, -1 on error. */
static int
copy_once(int from, int to, char *buf)
{
	ssize_t n, w, off = 0;

	n = read(from, buf, COPY_BUF);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (n <= 0)
		return n == 0 ? 0 : -1;
	while (off < n) {
		w = write(to, buf + off, (size_t)(n - off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		off += w;
	}
	return 1;
}

static void *
conn_main(void *arg)
{
	struct conn *c = arg;
	struct pollfd pfd[2];
	char *buf = xmalloc(COPY_BUF);
	/* Bit k: side k (0 the laptop's, 1 the shell's) may still send.
	 * (A mask, not an int array indexed by k: GCC 12.2 with
	 * -fsanitize=address,undefined -O2 compiled "live[k] = 0" into a
	 * store to live[1] whatever k was, and the loop spun at 100 % CPU
	 * on the laptop side's EOF.) */
	unsigned int open = 3;
	int k, r;

	if (connect(c->b, (struct sockaddr *)&c->to, c->tolen) < 0)
		goto out;
	while (open != 0) {
		pfd[0].fd = (open & 1) ? c->a : -1;
		pfd[1].fd = (open & 2) ? c->b : -1;
		pfd[0].events = pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		/* EOF on one side is a half-close on the other. */
		for (k = 0; k < 2; k++) {
			int from = k ? c->b : c->a, to = k ? c->a : c->b;

			if (!pfd[k].revents)
				continue;
			if ((r = copy_once(from, to, buf)) < 0)
				goto out;
			if (r == 0) {
				shutdown(to, SHUT_WR);
				open &= ~(1u << k);
			}
		}
	}
out:
	close(c->a);
	close(c->b);
	x_free(buf);
	x_free(c);
	atomic_fetch_sub(&exp_conns, 1);
	return NULL;
}

/* A socket born in the shell's namespace. */
static int
shell_socket(int family)
{
	int fd, err;

	if (setns(exp_nsfd, CLONE_NEWNET) < 0)
		return -errno;
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	err = errno;
	if (setns(exp_selffd, CLONE_NEWNET) < 0)
		fatal("cannot return to netd's own network namespace");
	return fd < 0 ? -err : fd;
}

static void
accept_on(struct port *p)
{
	pthread_attr_t attr;
	pthread_t t;
	struct conn *c;
	int a, b;

	while ((a = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		if (atomic_fetch_add(&exp_conns, 1) >= EXPOSE_CONNS_MAX ||
		    (b = shell_socket(p->to.ss_family)) < 0) {
			atomic_fetch_sub(&exp_conns, 1);
			close(a);
			continue;
		}
		c = xmalloc(sizeof(*c));
		c->a = a;
		c->b = b;
		c->to = p->to;
		c->tolen = p->tolen;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, conn_main, c) != 0) {
			close(a);
			close(b);
			x_free(c);
			atomic_fetch_sub(&exp_conns, 1);
		}
		pthread_attr_destroy(&attr);
	}
}

/* ---- the watcher ---- */

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void *
expose_main(void *arg)
{
	struct pollfd pfd[2 + EXPOSE_PORTS_MAX];
	struct port *who[2 + EXPOSE_PORTS_MAX];
	double next = 0, t;
	int i, n, timeout;

	(void)arg;
	for (;;) {
		if ((t = now_ms()) >= next) {
			scan();
			next = t + EXPOSE_POLL_MS;
		}
		n = 0;
		pfd[n].fd = exp_stopfd;
		pfd[n].events = POLLIN;
		who[n++] = NULL;
		if (exp_pidfd >= 0) {
			pfd[n].fd = exp_pidfd;
			pfd[n].events = POLLIN;
			who[n++] = NULL;
		}
		for (i = 0; i < exp_nports; i++)
			if (exp_ports[i].lfd >= 0) {
				pfd[n].fd = exp_ports[i].lfd;
				pfd[n].events = POLLIN;
				who[n++] = &exp_ports[i];
			}
		timeout = (int)(next - now_ms()) + 1;
		if (poll(pfd, (nfds_t)n, timeout < 0 ? 0 : timeout) <= 0)
			continue;
		if (pfd[0].revents)
			break;
		if (exp_pidfd >= 0 && pfd[1].revents) {
			log_info("the shell's process exited: stopping");
			close(exp_pidfd);
			exp_pidfd = -1;
			kill(getpid(), SIGTERM);
			continue;
		}
		for (i = 0; i < n; i++)
			if (who[i] && pfd[i].revents)
				accept_on(who[i]);
	}
	return NULL;
}

int
expose_start(int nsfd, int selffd, int pidfd, uint32_t tun_addr,
    const struct in6_addr *tun6, const char **why)
{
	sigset_t all, old;
	int rc;

	exp_nsfd = nsfd;
	exp_selffd = selffd;
	exp_pidfd = pidfd;
	exp_tun_addr = tun_addr;
	if (tun6 != NULL)
		exp_tun6 = *tun6;
	else
		memset(&exp_tun6, 0, sizeof(exp_tun6));
	if ((exp_diagfd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
	    NETLINK_SOCK_DIAG)) < 0) {
		*why = "cannot open a sock_diag socket in the namespace";
		return -errno;
	}
	if ((exp_stopfd = eventfd(0, EFD_CLOEXEC)) < 0) {
		*why = "eventfd";
		return -errno;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	/* The thread starts in the caller's namespace (the shell's) and
	 * moves to netd's own before it makes any listener. */
	if (setns(exp_selffd, CLONE_NEWNET) < 0) {
		rc = -errno;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		*why = "cannot return to netd's own network namespace";
		return rc;
	}
	rc = pthread_create(&exp_thread, NULL, expose_main, NULL);
	if (setns(exp_nsfd, CLONE_NEWNET) < 0)
		fatal("cannot re-enter the shell's network namespace");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		*why = "cannot start the port watcher";
		return -rc;
	}
	exp_started = 1;
	return 0;
}

void
expose_stop(void)
{
	uint64_t one = 1;
	int i;

	if (!exp_started)
		return;
	if (write(exp_stopfd, &one, sizeof(one)) < 0)
		log_debug("eventfd: %s", strerror(errno));
	pthread_join(exp_thread, NULL);
	exp_started = 0;
	pthread_mutex_lock(&exp_mtx);
	for (i = 0; i < exp_nports; i++)
		if (exp_ports[i].lfd >= 0)
			close(exp_ports[i].lfd);
	exp_nports = 0;
	pthread_mutex_unlock(&exp_mtx);
	close(exp_stopfd);
	close(exp_diagfd);
	if (exp_pidfd >= 0)
		close(exp_pidfd);
}

void
expose_status(FILE *f)
{
	char a[INET6_ADDRSTRLEN];
	const struct port *p;
	int i;

	pthread_mutex_lock(&exp_mtx);
	for (i = 0; i < exp_nports; i++) {
		p = &exp_ports[i];
		if (p->to.ss_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)
			    &p->to)->sin_addr, a, sizeof(a));
		else
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)
			    &p->to)->sin6_addr, a, sizeof(a));
		if (p->state == PORT_OFFERED)
			fprintf(f, "exposed=tcp 127.0.0.1:%u -> the shell's "
			    "%s%s%s:%u\n", p->port,
			    p->to.ss_family == AF_INET6 ? "[" : "", a,
			    p->to.ss_family == AF_INET6 ? "]" : "", p->port);
		else
			fprintf(f, "not_exposed=tcp %u: 127.0.0.1:%u here: "
			    "%s\n", p->port, p->port, p->err == EADDRINUSE ?
			    "in use" : strerror(p->err));
	}
	pthread_mutex_unlock(&exp_mtx);
}
