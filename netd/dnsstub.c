/*
 * netd's DNS stub on the TUN address, port 53: each query is checked
 * (dns.c) and passed to the agent as OP_DNS, and the answer is sent back.
 * UDP is read on the relay thread and answered from the client's reader
 * thread; TCP gets a blocking thread per connection. Its counters are
 * atomics in R. A query for a net.local name is answered from this
 * machine's resolver instead (local.c, on its resolver thread).
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "dns.h"
#include "local.h"
#include "localmatch.h"
#include "log.h"
#include "proto.h"
#include "proto-net.h"
#include "relay-internal.h"
#include "xmalloc.h"

struct dns_udp_req {
	struct sockaddr_in from;
	size_t		 n;
	uint8_t		 query[];	/* n bytes, for a SERVFAIL */
};

/* SERVFAIL for query (n bytes, passed dns_query_check) into out, which
 * has room for n bytes; returns its length, or -1. */
static int
dns_servfail(const uint8_t *query, size_t n, uint8_t *out)
{
	int len;

	len = localmatch_dns_answer(query, n, DNS_RCODE_SERVFAIL, NULL, 0,
	    out, n);
	if (len > 0)
		atomic_fetch_add_explicit(&R.dns_servfail, 1,
		    memory_order_relaxed);
	return len;
}

/* The answer (ans, n), or SERVFAIL when ans is NULL. */
static void
dns_udp_send(struct dns_udp_req *q, const uint8_t *ans, size_t n)
{
	uint8_t *fail = NULL;
	int len;

	if (ans == NULL) {
		fail = xmalloc(q->n);
		if ((len = dns_servfail(q->query, q->n, fail)) < 0)
			goto out;
		ans = fail;
		n = (size_t)len;
	}
	if (sendto(R.dns_ufd, ans, n, MSG_DONTWAIT,
	    (struct sockaddr *)&q->from, sizeof(q->from)) < 0)
		log_debug("DNS answer: %s", strerror(errno));
out:
	x_free(fail);
	x_free(q);
}

static void
dns_udp_answer(void *arg, int err, struct proto_cur *payload)
{
	const uint8_t *ans = NULL;
	uint32_t n = 0;

	atomic_fetch_sub_explicit(&R.dns_udp_inflight, 1, memory_order_relaxed);
	if (err != 0 || proto_dec_dns_reply(payload, &ans, &n) < 0)
		ans = NULL;
	dns_udp_send(arg, ans, n);
}

/* net.local: the answer from this machine's resolver, or NULL (resolver
 * thread). */
static void
dns_udp_local_answer(void *arg, const uint8_t *ans, size_t n)
{
	dns_udp_send(arg, ans, n);
}

static void
dns_query(const uint8_t *msg, size_t n, client_cb cb, void *arg)
{
	struct proto_buf b;

	proto_buf_init(&b, PROTO_HDR_LEN + 4 + n);
	if (proto_enc_dns_req(&b, 0, msg, n) < 0) {
		proto_buf_free(&b);
		cb(arg, -EMSGSIZE, NULL);
		return;
	}
	client_call(R.cl, &b, cb, arg);
}

void
dnsstub_udp_readable(void)
{
	uint8_t buf[4096];
	char name[DNS_NAME_MAX + 1];
	struct sockaddr_in from;
	struct dns_udp_req *q;
	socklen_t sl;
	ssize_t n;
	int i, idx;

	for (i = 0; i < 64; i++) {
		sl = sizeof(from);
		n = recvfrom(R.dns_ufd, buf, sizeof(buf), MSG_DONTWAIT,
		    (struct sockaddr *)&from, &sl);
		if (n < 0)
			break;
		if (dns_query_check(buf, (size_t)n, name) < 0) {
			relay_dropped();	/* not a query: no answer */
			continue;
		}
		q = xmalloc(sizeof(*q) + (size_t)n);
		q->from = from;
		q->n = (size_t)n;
		memcpy(q->query, buf, (size_t)n);
		atomic_fetch_add_explicit(&R.dns_queries, 1,
		    memory_order_relaxed);
		if ((idx = local_dns_name(name)) >= 0) {
			local_dns_query(idx, buf, (size_t)n,
			    dns_udp_local_answer, q);
			continue;
		}
		/* A flood of queries waits on the agent's answers no
		 * longer than this many at once: the rest are dropped. */
		if (atomic_fetch_add_explicit(&R.dns_udp_inflight, 1,
		    memory_order_relaxed) + 1 > DNS_UDP_INFLIGHT_MAX) {
			atomic_fetch_sub_explicit(&R.dns_udp_inflight, 1,
			    memory_order_relaxed);
			x_free(q);
			relay_dropped();
			continue;
		}
		dns_query(buf, (size_t)n, dns_udp_answer, q);
	}
}

/* DNS over TCP is rare (truncated answers, zone tools): one thread per
 * connection, blocking. */
struct dns_tcp_wait {
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cv;
	int		 done, err;
	uint8_t		*ans;
	uint32_t	 n;
};

/* The answer (err 0) or the error, to the waiting connection thread. */
static void
dns_tcp_done(struct dns_tcp_wait *w, int err, const uint8_t *ans, size_t n)
{
	pthread_mutex_lock(&w->mtx);
	w->err = err;
	if (err == 0) {
		w->ans = xmalloc(n ? n : 1);
		memcpy(w->ans, ans, n);
		w->n = (uint32_t)n;
	}
	w->done = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mtx);
}

static void
dns_tcp_answer(void *arg, int err, struct proto_cur *payload)
{
	const uint8_t *ans = NULL;
	uint32_t n = 0;

	if (err == 0 && proto_dec_dns_reply(payload, &ans, &n) < 0)
		err = -EBADMSG;
	dns_tcp_done(arg, err, ans, n);
}

/* net.local: the answer from this machine's resolver, or NULL. */
static void
dns_tcp_local_answer(void *arg, const uint8_t *ans, size_t n)
{
	dns_tcp_done(arg, ans ? 0 : -EAGAIN, ans, n);
}

static int
read_full(int fd, uint8_t *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void *
dns_tcp_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct timeval tv = { 30, 0 };
	uint8_t *msg = xmalloc(65536), len[2];
	char name[DNS_NAME_MAX + 1];
	size_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (read_full(fd, len, 2) == 0) {
		struct dns_tcp_wait w;
		int ok, idx, rc;

		n = (size_t)len[0] << 8 | len[1];
		if (read_full(fd, msg, n) < 0 ||
		    dns_query_check(msg, n, name) < 0)
			break;
		memset(&w, 0, sizeof(w));
		pthread_mutex_init(&w.mtx, NULL);
		pthread_cond_init(&w.cv, NULL);
		atomic_fetch_add_explicit(&R.dns_queries, 1,
		    memory_order_relaxed);
		if ((idx = local_dns_name(name)) >= 0)
			local_dns_query(idx, msg, n, dns_tcp_local_answer, &w);
		else
			dns_query(msg, n, dns_tcp_answer, &w);
		pthread_mutex_lock(&w.mtx);
		while (!w.done)
			pthread_cond_wait(&w.cv, &w.mtx);
		pthread_mutex_unlock(&w.mtx);
		pthread_mutex_destroy(&w.mtx);
		pthread_cond_destroy(&w.cv);
		if (w.err != 0) {
			w.ans = xmalloc(n);
			rc = dns_servfail(msg, n, w.ans);
			w.n = rc < 0 ? 0 : (uint32_t)rc;
		}
		ok = w.n > 0;
		if (ok) {
			len[0] = (uint8_t)(w.n >> 8);
			len[1] = (uint8_t)w.n;
			ok = send(fd, len, 2, MSG_NOSIGNAL | MSG_MORE) == 2 &&
			    send(fd, w.ans, w.n, MSG_NOSIGNAL) == (ssize_t)w.n;
		}
		x_free(w.ans);
		if (!ok)
			break;
	}
	x_free(msg);
	close(fd);
	atomic_fetch_sub_explicit(&R.dns_tcp_conns, 1, memory_order_relaxed);
	return NULL;
}

void
dnsstub_tcp_accept(void)
{
	pthread_attr_t attr;
	pthread_t t;
	int fd;

	while ((fd = accept4(R.dns_tfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		if (atomic_fetch_add_explicit(&R.dns_tcp_conns, 1,
		    memory_order_relaxed) + 1 > DNS_TCP_MAX) {
			atomic_fetch_sub_explicit(&R.dns_tcp_conns, 1,
			    memory_order_relaxed);
			close(fd);
			continue;
		}
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, dns_tcp_main,
		    (void *)(intptr_t)fd) != 0) {
			atomic_fetch_sub_explicit(&R.dns_tcp_conns, 1,
			    memory_order_relaxed);
			close(fd);
		}
		pthread_attr_destroy(&attr);
	}
}
