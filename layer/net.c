/*
 * The layer's network hooks (issue 13), for `mirrorctl exec --steal`:
 * when MIRROR_NETD_SOCK names netd's socket (netd/layer-ctl.h), a TCP
 * listen() tells netd its port and waits (bounded) until the pod's port
 * is subscribed, so that a request that arrives right after listen()
 * returns is delivered; and a bind() that finds its port taken in the
 * shell's namespace binds another, when the session takes that port,
 * with getsockname() on the socket (and on the connections it accepts)
 * still reporting the asked port (as mirrord does) and the pod's port
 * sent to the other. Without the variable (or a set-id program)
 * nothing here changes a call; when netd does not answer, listen() returns as it would anyway and the
 * watcher of the shell's listeners (expose.c) finds the port later.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "layer.h"
#include "../netd/layer-ctl.h"

/* How long a listen() waits for netd at most: netd's own wait for the
 * agent, and a little more. */
#define LAYER_NET_WAIT_MS	((int)(LAYER_CTL_WAIT_S * 1000) + 500)
/* Sockets bound to another port than the asked one, at once. */
#define LAYER_NET_FALLBACKS	64

/* A socket the layer bound to local for the asked port; the inode tells
 * a reused descriptor from it. */
struct layer_fallback {
	int		fd;
	ino_t		ino;
	uint16_t	asked, local;
};

static struct sockaddr_un netd_addr;
static socklen_t netd_len;		/* 0: no netd, hooks pass through */
static pthread_mutex_t fb_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct layer_fallback fbs[LAYER_NET_FALLBACKS];	/* fb_mtx */
static _Atomic int fb_n;		/* entries in use */

__attribute__((constructor)) static void
layer_net_init(void)
{
	const char *env = secure_getenv(LAYER_CTL_ENV);
	size_t n;

	if (env == NULL || env[0] == '\0' ||
	    (n = strlen(env)) >= sizeof(netd_addr.sun_path))
		return;
	netd_addr.sun_family = AF_UNIX;
	memcpy(netd_addr.sun_path, env, n);
	if (env[0] == '@')		/* the abstract namespace */
		netd_addr.sun_path[0] = '\0';
	else
		n++;
	netd_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
}

static long long
layer_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* req to netd, its one-line answer into buf (sz bytes, NUL-terminated).
 * 0, or -1 when netd did not answer in LAYER_NET_WAIT_MS. */
static int
layer_netd_ask(const char *req, char *buf, size_t sz)
{
	struct pollfd pfd;
	long long end = layer_ms() + LAYER_NET_WAIT_MS, left;
	size_t len = 0;
	ssize_t n;
	int fd, rc = -1;

	buf[0] = '\0';
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&netd_addr, netd_len) < 0 ||
	    write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		goto out;
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (len < sz - 1) {
		if ((left = end - layer_ms()) <= 0)
			goto out;
		if (poll(&pfd, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		n = read(fd, buf + len, sz - 1 - len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			goto out;
		len += (size_t)n;
		buf[len] = '\0';
		if (memchr(buf, '\n', len) != NULL) {
			rc = 0;
			break;
		}
	}
out:
	close(fd);
	return rc;
}

/* 1 for a TCP socket of IPv4 or IPv6. */
static int
layer_tcp(int fd)
{
	int v[2];
	socklen_t sl = sizeof(v[0]);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v[0], &sl) < 0 ||
	    (v[0] != AF_INET && v[0] != AF_INET6))
		return 0;
	sl = sizeof(v[1]);
	return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v[1], &sl) == 0 &&
	    v[1] == IPPROTO_TCP;
}

/* The port field of an IPv4 or IPv6 address of len bytes, or NULL. */
static in_port_t *
layer_port_of(const struct sockaddr *sa, socklen_t len)
{
	if (sa == NULL)
		return NULL;
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
		return &((struct sockaddr_in *)sa)->sin_port;
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
		return &((struct sockaddr_in6 *)sa)->sin6_port;
	return NULL;
}

static int
layer_real_getsockname(int fd, struct sockaddr *sa, socklen_t *len)
{
	static __typeof__(getsockname) *real_;

	if (real_ == NULL && (real_ = (__typeof__(getsockname) *)
	    layer_real("getsockname")) == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return real_(fd, sa, len);
}

/* The socket's own port (host order), 0 if none or not IPv4/6. */
static uint16_t
layer_local_port(int fd, struct sockaddr_storage *ss)
{
	socklen_t sl = sizeof(*ss);
	in_port_t *p;

	if (layer_real_getsockname(fd, (struct sockaddr *)ss, &sl) < 0 ||
	    (p = layer_port_of((struct sockaddr *)ss, sl)) == NULL)
		return 0;
	return ntohs(*p);
}

/* The port fd asked for when the layer bound it to local instead, or 0. */
static uint16_t
layer_fallback_asked(int fd, uint16_t local)
{
	struct stat st;
	uint16_t asked = 0;
	int i;

	if (atomic_load_explicit(&fb_n, memory_order_relaxed) == 0 ||
	    fstat(fd, &st) < 0)
		return 0;
	pthread_mutex_lock(&fb_mtx);
	for (i = 0; i < LAYER_NET_FALLBACKS; i++)
		if (fbs[i].asked != 0 && fbs[i].fd == fd &&
		    fbs[i].ino == st.st_ino && fbs[i].local == local) {
			asked = fbs[i].asked;
			break;
		}
	pthread_mutex_unlock(&fb_mtx);
	return asked;
}

/* 1 when the entry's descriptor is no longer its socket (closed, or
 * reused): its slot may be taken. fb_mtx held. */
static int
layer_fallback_stale(const struct layer_fallback *f)
{
	struct stat st;

	return fstat(f->fd, &st) < 0 || st.st_ino != f->ino;
}

/* Remembers fd's pair, in place of any older one of the descriptor (a
 * closed socket's) or of a stale entry; when all are alive, the pair is
 * not kept (the socket then shows its real port). */
static void
layer_fallback_add(int fd, ino_t ino, uint16_t asked, uint16_t local)
{
	int i, slot = -1;

	pthread_mutex_lock(&fb_mtx);
	for (i = 0; i < LAYER_NET_FALLBACKS; i++) {
		if (fbs[i].asked != 0 && fbs[i].fd == fd) {
			slot = i;
			break;
		}
		if (fbs[i].asked == 0 && slot < 0)
			slot = i;
	}
	for (i = 0; slot < 0 && i < LAYER_NET_FALLBACKS; i++)
		if (layer_fallback_stale(&fbs[i]))
			slot = i;
	if (slot >= 0) {
		if (fbs[slot].asked == 0)
			atomic_fetch_add(&fb_n, 1);
		fbs[slot].fd = fd;
		fbs[slot].ino = ino;
		fbs[slot].asked = asked;
		fbs[slot].local = local;
	}
	pthread_mutex_unlock(&fb_mtx);
}

/* A connection accepted on lfd: when lfd stands for an asked port, so
 * does the connection (its own port is lfd's). */
static void
layer_accepted(int lfd, int fd)
{
	struct sockaddr_storage ss;
	struct stat st;
	uint16_t local, asked;
	int saved = errno;

	if ((local = layer_local_port(lfd, &ss)) != 0 &&
	    (asked = layer_fallback_asked(lfd, local)) != 0 &&
	    fstat(fd, &st) == 0)
		layer_fallback_add(fd, st.st_ino, asked, local);
	errno = saved;
}

int
bind(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
	static __typeof__(bind) *real_;
	const struct sockaddr *sa = addr.__sockaddr__;
	struct sockaddr_storage ss;
	struct stat st;
	char req[32], ans[16];
	in_port_t *p;
	uint16_t asked, local;
	int r;

	if (real_ == NULL &&
	    (real_ = (__typeof__(bind) *)layer_real("bind")) == NULL) {
		errno = ENOSYS;
		return -1;
	}
	if ((r = real_(fd, addr, len)) == 0 || errno != EADDRINUSE ||
	    netd_len == 0 || len > sizeof(ss) ||
	    (p = layer_port_of(sa, len)) == NULL || *p == 0 || !layer_tcp(fd))
		return r;
	/* Taken in the shell: another port, if the session takes this
	 * one (else the program would listen where nothing comes). */
	asked = ntohs(*p);
	snprintf(req, sizeof(req), "B %u\n", asked);
	if (layer_netd_ask(req, ans, sizeof(ans)) < 0 ||
	    strcmp(ans, "yes\n") != 0)
		goto taken;
	memcpy(&ss, sa, len);
	*layer_port_of((struct sockaddr *)&ss, len) = 0;
	if (real_(fd, (struct sockaddr *)&ss, len) < 0 ||
	    (local = layer_local_port(fd, &ss)) == 0 || fstat(fd, &st) < 0)
		goto taken;
	layer_fallback_add(fd, st.st_ino, asked, local);
	return 0;
taken:
	errno = EADDRINUSE;
	return -1;
}

/* Tells netd that fd listens, and waits for its answer. */
static void
layer_report_listen(int fd)
{
	struct sockaddr_storage ss;
	char addr[INET6_ADDRSTRLEN], req[LAYER_CTL_LINE_MAX], ans[16];
	const void *a;
	uint16_t local, asked;

	if (!layer_tcp(fd) || (local = layer_local_port(fd, &ss)) == 0)
		return;
	a = ss.ss_family == AF_INET ?
	    (const void *)&((struct sockaddr_in *)&ss)->sin_addr :
	    (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
	if (inet_ntop(ss.ss_family, a, addr, sizeof(addr)) == NULL)
		return;
	if ((asked = layer_fallback_asked(fd, local)) == 0)
		asked = local;
	snprintf(req, sizeof(req), "L %u %u %s\n", local, asked, addr);
	(void)layer_netd_ask(req, ans, sizeof(ans));
}

int
listen(int fd, int backlog)
{
	static __typeof__(listen) *real_;
	int r, saved;

	if (real_ == NULL &&
	    (real_ = (__typeof__(listen) *)layer_real("listen")) == NULL) {
		errno = ENOSYS;
		return -1;
	}
	if ((r = real_(fd, backlog)) != 0 || netd_len == 0)
		return r;
	saved = errno;
	layer_report_listen(fd);
	errno = saved;
	return 0;
}

int
accept4(int fd, __SOCKADDR_ARG addr, socklen_t *len, int flags)
{
	static __typeof__(accept4) *real_;
	int r;

	if (real_ == NULL &&
	    (real_ = (__typeof__(accept4) *)layer_real("accept4")) == NULL) {
		errno = ENOSYS;
		return -1;
	}
	r = real_(fd, addr, len, flags);
	if (r >= 0 && atomic_load_explicit(&fb_n, memory_order_relaxed) > 0)
		layer_accepted(fd, r);
	return r;
}

/* The kernel's accept is accept4 without flags. */
int
accept(int fd, __SOCKADDR_ARG addr, socklen_t *len)
{
	return accept4(fd, addr, len, 0);
}

int
getsockname(int fd, __SOCKADDR_ARG addr, socklen_t *len)
{
	struct sockaddr *sa = addr.__sockaddr__;
	socklen_t asked_len = len != NULL ? *len : 0;
	in_port_t *p;
	uint16_t asked;
	int r, saved;

	if ((r = layer_real_getsockname(fd, sa, len)) != 0 ||
	    atomic_load_explicit(&fb_n, memory_order_relaxed) == 0)
		return r;
	/* The port only where the caller's buffer had room for it. */
	saved = errno;
	if ((p = layer_port_of(sa, asked_len < *len ? asked_len : *len)) !=
	    NULL && (asked = layer_fallback_asked(fd, ntohs(*p))) != 0)
		*p = htons(asked);
	errno = saved;
	return 0;
}
