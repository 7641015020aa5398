/* Worker pool: a locked FIFO of jobs and N threads that drain it. */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "log.h"
#include "pool.h"
#include "xmalloc.h"

struct job {
	struct job	*next;
	void		(*fn)(void *);
	void		*arg;
};

struct pool {
	pthread_mutex_t	 mtx;		/* protects the fields below */
	pthread_cond_t	 cv;
	struct job	*head, *tail;
	int		 stopping;
	int		 nthreads;
	pthread_t	*threads;
};

static void *
pool_worker(void *arg)
{
	struct pool *p = arg;
	struct job *j;

	for (;;) {
		pthread_mutex_lock(&p->mtx);
		while (p->head == NULL && !p->stopping)
			pthread_cond_wait(&p->cv, &p->mtx);
		j = p->head;
		if (j == NULL) {
			pthread_mutex_unlock(&p->mtx);
			return NULL;
		}
		p->head = j->next;
		if (p->head == NULL)
			p->tail = NULL;
		pthread_mutex_unlock(&p->mtx);
		j->fn(j->arg);
		x_free(j);
	}
}

struct pool *
pool_new(int nthreads)
{
	struct pool *p = xcalloc(1, sizeof(*p));
	sigset_t all, old;
	int i;

	pthread_mutex_init(&p->mtx, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->nthreads = nthreads;
	p->threads = xcalloc(nthreads, sizeof(*p->threads));
	/* Workers take no signals; the main thread handles them. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&p->threads[i], NULL, pool_worker, p) != 0)
			fatalx("cannot start worker thread %d", i);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return p;
}

void
pool_submit(struct pool *p, void (*fn)(void *), void *arg)
{
	struct job *j = xmalloc(sizeof(*j));

	j->next = NULL;
	j->fn = fn;
	j->arg = arg;
	pthread_mutex_lock(&p->mtx);
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mtx);
}

void
pool_free(struct pool *p)
{
	int i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mtx);
	p->stopping = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mtx);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_mutex_destroy(&p->mtx);
	pthread_cond_destroy(&p->cv);
	x_free(p->threads);
	x_free(p);
}
