/*
 * A small pool of worker threads for blocking file syscalls, so the
 * websocket service loop never waits on a disk.
 */
#ifndef MIRROR_AGENT_POOL_H
#define MIRROR_AGENT_POOL_H

struct pool;

struct pool	*pool_new(int nthreads);
/* Runs fn(arg) on some worker; never blocks the caller. */
void		 pool_submit(struct pool *, void (*fn)(void *), void *arg);
/* Finishes queued jobs, then joins the workers. */
void		 pool_free(struct pool *);

#endif
