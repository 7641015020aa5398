/*
 * mountd's FUSE lock operations: POSIX locks (getlk, setlk) and flock.
 * They are held by the agent on the target's file, so processes in the
 * target see them. The agent never blocks: a waiting lock (F_SETLKW,
 * flock without LOCK_NB) is asked again here, from a short-lived
 * thread, 10 ms doubling up to 200 ms, until it is granted or the
 * caller is interrupted; ops_stop() ends the waits.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "client.h"
#include "nodes.h"
#include "ops-internal.h"
#include "reply.h"
#include "xmalloc.h"

struct retry {
	struct call	*c;
	uint8_t		*msg;		/* the request, to send again */
	size_t		 len;
	unsigned int	 delay_ms;
};

static void lock_done(void *arg, int err, struct proto_cur *p);

static void
lock_send(struct call *c)
{
	struct retry *r = c->retry;
	struct proto_buf b;

	proto_buf_copy(&b, r->msg, r->len);
	client_call(ops_cfg.client, &b, lock_done, c);
}

#define LOCK_RETRY_FIRST_MS	10	/* the first wait before asking again */
#define LOCK_RETRY_MAX_MS	200	/* the wait doubles up to this */
#define STOP_WAIT_MS		1000	/* ops_stop's wait for retry threads */
#define STOP_POLL_MS		10

/* Lock waits in progress (retry threads), and whether mountd is going
 * away: ops_stop() ends them before the session does. */
static atomic_int nwaiting;
static atomic_int stopping;

static void *
retry_thread(void *arg)
{
	struct call *c = arg;
	struct timespec ts;
	unsigned int ms = c->retry->delay_ms;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
	if (fuse_req_interrupted(c->req) ||
	    atomic_load_explicit(&stopping, memory_order_acquire)) {
		fuse_reply_err(c->req, EINTR);
		x_free(c->retry->msg);
		x_free(c->retry);
		ops_call_free(c);
	} else
		lock_send(c);
	atomic_fetch_sub_explicit(&nwaiting, 1, memory_order_acq_rel);
	return NULL;
}

void
ops_stop(void)
{
	int i;

	atomic_store_explicit(&stopping, 1, memory_order_release);
	/* A retry thread sleeps at most LOCK_RETRY_MAX_MS. */
	for (i = 0; i < STOP_WAIT_MS / STOP_POLL_MS &&
	    atomic_load_explicit(&nwaiting, memory_order_acquire); i++)
		usleep(STOP_POLL_MS * 1000);
}

static void
lock_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	struct retry *r = c->retry;
	struct flock fl;
	struct proto_lock_rep lr;
	pthread_t t;
	pthread_attr_t ta;

	if (err == -EAGAIN && r->delay_ms > 0) {
		/* Wait, and ask again; 10 ms doubling up to 200 ms. */
		if (r->delay_ms < LOCK_RETRY_MAX_MS)
			r->delay_ms = r->delay_ms * 2 > LOCK_RETRY_MAX_MS ?
			    LOCK_RETRY_MAX_MS : r->delay_ms * 2;
		pthread_attr_init(&ta);
		pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
		atomic_fetch_add_explicit(&nwaiting, 1, memory_order_acq_rel);
		if (pthread_create(&t, &ta, retry_thread, c) == 0) {
			pthread_attr_destroy(&ta);
			return;
		}
		atomic_fetch_sub_explicit(&nwaiting, 1, memory_order_acq_rel);
		pthread_attr_destroy(&ta);
		err = -ENOLCK;
	}
	if (c->op == OP_LOCK && c->flags == LOCK_CMD_GET && err == 0) {
		if (proto_dec_lock_rep(p, &lr) < 0 ||
		    reply_lock_ok(lr.type, lr.start, lr.len) < 0)
			err = -EIO;
		else {
			memset(&fl, 0, sizeof(fl));
			fl.l_type = (short)proto_lock_to_fcntl(lr.type);
			fl.l_whence = SEEK_SET;
			fl.l_start = (off_t)lr.start;
			fl.l_len = (off_t)lr.len;
			fl.l_pid = 0;	/* the holder's pid means nothing here */
			fuse_reply_lock(c->req, &fl);
		}
	} else
		err = ops_reply_end(err, p);
	if (err < 0 || !(c->op == OP_LOCK && c->flags == LOCK_CMD_GET))
		fuse_reply_err(c->req, -err);
	x_free(r->msg);
	x_free(r);
	ops_call_free(c);
}

/* Sends a lock request, again and again while wait and EAGAIN. */
static void
lock_start(fuse_req_t req, fuse_ino_t ino, struct proto_buf *b, uint16_t op,
    unsigned int cmd, int wait)
{
	struct call *c = ops_call_new(req, ino);
	struct retry *r = xcalloc(1, sizeof(*r));

	if (proto_finish(b) < 0) {
		proto_buf_free(b);
		x_free(r);
		ops_call_free(c);
		fuse_reply_err(req, EIO);
		return;
	}
	c->op = op;
	c->flags = cmd;
	c->retry = r;
	r->c = c;
	r->msg = b->data;
	r->len = b->len;
	r->delay_ms = wait ? LOCK_RETRY_FIRST_MS : 0;
	b->data = NULL;
	lock_send(c);
}

static void
do_lock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
    struct flock *lock, unsigned int cmd, int wait)
{
	uint64_t afh;
	struct proto_buf b;

	if ((afh = ops_file_fh_or_eio(req, fi)) == 0)
		return;
	if (lock->l_start < 0 || lock->l_len < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (cmd == LOCK_CMD_SET)
		nodes_set_locked(ino);
	cache_attr_stale(ino);	/* a lock orders this with other writers */
	ops_request_keyed(&b, OP_LOCK, ino);
	proto_enc_lock_req(&b, &(struct proto_lock_req){ .fh = afh,
	    .owner = fi->lock_owner, .cmd = (uint8_t)cmd,
	    .type = proto_lock_from_fcntl(lock->l_type),
	    .start = (uint64_t)lock->l_start, .len = (uint64_t)lock->l_len });
	lock_start(req, ino, &b, OP_LOCK, cmd,
	    wait && lock->l_type != F_UNLCK);
}

void
ops_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
    struct flock *lock)
{
	do_lock(req, ino, fi, lock, LOCK_CMD_GET, 0);
}

void
ops_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
    struct flock *lock, int sleep)
{
	do_lock(req, ino, fi, lock, LOCK_CMD_SET, sleep);
}

void
ops_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op)
{
	uint64_t afh;
	struct proto_buf b;

	if ((afh = ops_file_fh_or_eio(req, fi)) == 0)
		return;
	cache_attr_stale(ino);
	ops_request_keyed(&b, OP_FLOCK, ino);
	proto_enc_flock_req(&b, &(struct proto_flock_req){ .fh = afh,
	    .op = (uint32_t)(op & (LOCK_SH | LOCK_EX | LOCK_UN)) });
	lock_start(req, ino, &b, OP_FLOCK, 0,
	    !(op & LOCK_NB) && !(op & LOCK_UN));
}
