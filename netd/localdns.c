/*
 * net.local's names in the DNS stub (see local.h): a query for a name
 * net.local lists is answered from this machine's resolver (getaddrinfo,
 * so /etc/hosts too) on a thread of its own, and the addresses it gives
 * become local (localmatch_learn). The thread starts with local.c's, in
 * netd's own namespace, and is detached: getaddrinfo may take its
 * resolver's whole timeout, and netd does not wait for it when it stops.
 *
 * Bounds: LOCALDNS_WAIT_MAX queries waiting; beyond, a query is dropped
 * (counted as the relay's) and its caller answers SERVFAIL. A name the
 * laptop has no address for is answered NXDOMAIN and logged at most
 * once a minute per name.
 */
#include "config.h"

#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "clock.h"
#include "local.h"
#include "localmatch.h"
#include "log.h"
#include "relay-internal.h"
#include "xmalloc.h"

#define LOCALDNS_WAIT_MAX	64
#define LOCALDNS_ANSWER_MAX	1024	/* a question and 16 A records */
#define LOCALDNS_LOG_EVERY_S	60.0

struct dnsjob {
	struct dnsjob	*next;
	int		 idx;
	void		(*cb)(void *, const uint8_t *, size_t);
	void		*arg;
	size_t		 n;
	uint8_t		 msg[];
};

static struct {
	struct localmatch *m;
	atomic_int	 started;
	atomic_int	 stop;
	pthread_t	 thread;
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cv;
	struct dnsjob	*head, *tail;
	int		 n;
	/* the resolver thread's: when each name was last logged */
	double		 logged[LOCALMATCH_MAX];
} D;

/* A log line about name idx, unless one was written in the last
 * minute. */
static int
log_due(int idx)
{
	double now = mono_now();

	if (D.logged[idx] != 0 && now - D.logged[idx] < LOCALDNS_LOG_EVERY_S)
		return 0;
	D.logged[idx] = now;
	return 1;
}

static void
resolve(struct dnsjob *j)
{
	const char *name = D.m->names[j->idx].name;
	uint32_t addrs[LOCALMATCH_ANSWERS_MAX];
	uint8_t out[LOCALDNS_ANSWER_MAX];
	struct addrinfo hints, *res, *ai;
	int rc, rcode = 0, n = 0, i, len;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(name, NULL, &hints, &res);
	if (rc == 0) {
		for (ai = res; ai && n < LOCALMATCH_ANSWERS_MAX;
		    ai = ai->ai_next) {
			uint32_t a = ((struct sockaddr_in *)(void *)
			    ai->ai_addr)->sin_addr.s_addr;

			for (i = 0; i < n && addrs[i] != a; i++)
				;
			if (i < n)
				continue;
			addrs[n++] = a;
			localmatch_learn(D.m, j->idx, a, mono_now());
		}
		freeaddrinfo(res);
	} else if (rc == EAI_NONAME
#ifdef EAI_NODATA
	    || rc == EAI_NODATA
#endif
#ifdef EAI_ADDRFAMILY
	    || rc == EAI_ADDRFAMILY
#endif
	    ) {
		if (log_due(j->idx))
			log_warnx("net.local %s: this machine's resolver has "
			    "no address for it; answering NXDOMAIN", name);
		rcode = 3;
	} else {
		if (log_due(j->idx))
			log_warnx("net.local %s: this machine's resolver: %s; "
			    "answering SERVFAIL", name, gai_strerror(rc));
		rcode = 2;
	}
	len = localmatch_dns_answer(j->msg, j->n, rcode, addrs, n, out,
	    sizeof(out));
	if (!D.stop)
		j->cb(j->arg, len > 0 ? out : NULL, len > 0 ? (size_t)len : 0);
}

static void *
resolver_main(void *arg)
{
	struct dnsjob *j;

	(void)arg;
	pthread_mutex_lock(&D.mtx);
	while (!D.stop) {
		if ((j = D.head) == NULL) {
			pthread_cond_wait(&D.cv, &D.mtx);
			continue;
		}
		if ((D.head = j->next) == NULL)
			D.tail = NULL;
		D.n--;
		pthread_mutex_unlock(&D.mtx);
		resolve(j);
		x_free(j);
		pthread_mutex_lock(&D.mtx);
	}
	pthread_mutex_unlock(&D.mtx);
	return NULL;
}

int
local_dns_name(const char *qname)
{
	return D.started ? localmatch_name(D.m, qname) : -1;
}

void
local_dns_query(int idx, const uint8_t *msg, size_t n,
    void (*cb)(void *, const uint8_t *, size_t), void *arg)
{
	struct dnsjob *j;

	pthread_mutex_lock(&D.mtx);
	if (!D.started || D.stop || D.n >= LOCALDNS_WAIT_MAX) {
		pthread_mutex_unlock(&D.mtx);
		relay_dropped();
		cb(arg, NULL, 0);
		return;
	}
	j = xmalloc(sizeof(*j) + n);
	j->next = NULL;
	j->idx = idx;
	j->cb = cb;
	j->arg = arg;
	j->n = n;
	memcpy(j->msg, msg, n);
	if (D.tail)
		D.tail->next = j;
	else
		D.head = j;
	D.tail = j;
	D.n++;
	pthread_cond_signal(&D.cv);
	pthread_mutex_unlock(&D.mtx);
}

void
localdns_start(struct localmatch *m)
{
	D.m = m;
	pthread_mutex_init(&D.mtx, NULL);
	pthread_cond_init(&D.cv, NULL);
	D.started = 1;
	if (pthread_create(&D.thread, NULL, resolver_main, NULL) != 0)
		fatalx("cannot start the net.local resolver thread");
	pthread_detach(D.thread);
}

void
localdns_stop(void)
{
	if (!D.started)
		return;
	pthread_mutex_lock(&D.mtx);
	D.stop = 1;
	pthread_cond_broadcast(&D.cv);
	pthread_mutex_unlock(&D.mtx);
}
