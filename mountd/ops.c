/*
 * The FUSE low-level operations of mountd: the table handed to libfuse
 * and what every handler shares. Each handler turns a kernel request
 * into an agent request and returns at once; the reply to the kernel
 * (exactly one fuse_reply_* per request) is sent from the callback when
 * the agent answers, so many requests are in flight. The handlers are
 * in ops-meta.c, ops-read.c, ops-write.c and ops-lock.c (ops-internal.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "client.h"
#include "dirlist.h"
#include "inval.h"
#include "log.h"
#include "nodes.h"
#include "ops-internal.h"
#include "reply.h"
#include "xmalloc.h"

struct ops_config ops_cfg;

struct call *
ops_call_new(fuse_req_t req, uint64_t ino)
{
	struct call *c = xcalloc(1, sizeof(*c));

	c->req = req;
	c->ino = ino;
	c->seq = inval_seq();
	return c;
}

void
ops_call_free(struct call *c)
{
	x_free(c->path);
	x_free(c->path2);
	x_free(c);
}

void
ops_request(struct proto_buf *b, uint16_t op)
{
	proto_buf_init(b, 256);
	proto_begin(b, MSG_REQUEST, op, 0, 0);
}

/* The order key of a node: the agent serves requests about one file in
 * the order they were sent, so those answered before they are done
 * (write-behind) come before whatever follows them. */
uint32_t
ops_node_key(uint64_t ino)
{
	uint32_t k = (uint32_t)(ino ^ (ino >> 32));

	return k ? k : 1;
}

void
ops_request_keyed(struct proto_buf *b, uint16_t op, uint64_t ino)
{
	proto_buf_init(b, 256);
	proto_begin(b, MSG_REQUEST, op, 0, ops_node_key(ino));
}

/* Long only while the agent says it watches (CAP_WATCH of the current
 * connection) and nothing changed since the request. */
static int
watched_ok(uint64_t seq)
{
	return ops_cfg.watched_timeout > 0 && inval_seq() == seq &&
	    (client_caps(ops_cfg.client) & CAP_WATCH);
}

double
ops_timeout(const struct proto_attr *a, uint64_t seq, double dflt)
{
	if ((a->flags & ATTR_WATCHED) && ops_cfg.watched_timeout > dflt &&
	    watched_ok(seq))
		return ops_cfg.watched_timeout;
	return dflt;
}

double
ops_negative_timeout(uint64_t parent, uint64_t seq)
{
	if (ops_cfg.watched_timeout > ops_cfg.negative_timeout &&
	    ops_cfg.negative_timeout > 0 && nodes_dir_watched(parent) &&
	    watched_ok(seq))
		return ops_cfg.watched_timeout;
	return ops_cfg.negative_timeout;
}

void
ops_fill_entry(struct fuse_entry_param *e, uint64_t nodeid,
    const struct proto_attr *a)
{
	memset(e, 0, sizeof(*e));
	e->ino = nodeid;
	e->generation = 1;
	/* st_ino is the target's own inode number, stable across mounts
	 * (the kernel reports attr.ino); the node id travels apart. */
	proto_attr_to_stat(a, &e->attr);
	e->attr_timeout = ops_cfg.attr_timeout;
	e->entry_timeout = ops_cfg.entry_timeout;
}

struct call *
ops_node_call(fuse_req_t req, fuse_ino_t ino, struct proto_buf *b, uint16_t op)
{
	struct call *c = ops_call_new(req, ino);

	if ((c->path = nodes_path(ino)) == NULL) {
		fuse_reply_err(req, ESTALE);
		ops_call_free(c);
		return NULL;
	}
	/* Keyed only behind changes not yet done: a request without a key
	 * may be served at once, on the agent's service thread. */
	if (cache_behind(ino))
		ops_request_keyed(b, op, ino);
	else
		ops_request(b, op);
	return c;
}

struct call *
ops_fh_call(fuse_req_t req, fuse_ino_t ino, struct proto_buf *b, uint16_t op)
{
	struct call *c = ops_call_new(req, ino);

	ops_request_keyed(b, op, ino);
	return c;
}

char *
ops_child_path(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	char *path;

	if (strlen(name) > PROTO_NAME_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return NULL;
	}
	if ((path = nodes_child_path(parent, name)) == NULL ||
	    strlen(path) > PROTO_PATH_MAX) {
		/* Deeper than the protocol carries. */
		fuse_reply_err(req, path ? ENAMETOOLONG : ENOENT);
		x_free(path);
		return NULL;
	}
	return path;
}

struct call *
ops_child_call(fuse_req_t req, fuse_ino_t parent, const char *name,
    struct proto_buf *b, uint16_t op)
{
	struct call *c;
	char *path;

	if ((path = ops_child_path(req, parent, name)) == NULL)
		return NULL;
	c = ops_call_new(req, parent);
	c->op = op;
	c->path = path;
	ops_request(b, op);
	/* A name changes in parent: a listing held of it is stale. */
	if (op != OP_LOOKUP)
		dirlist_touch();
	return c;
}

int
ops_refuse_ro(fuse_req_t req)
{
	if (ops_cfg.rw)
		return 0;
	fuse_reply_err(req, EROFS);
	return 1;
}

uint64_t
ops_file_fh(const struct fuse_file_info *fi)
{
	struct fileh *fh = (struct fileh *)(uintptr_t)fi->fh;

	if (fh == NULL || fh->epoch != client_epoch(ops_cfg.client))
		return 0;
	return fh->agent_fh;
}

uint64_t
ops_file_fh_or_eio(fuse_req_t req, const struct fuse_file_info *fi)
{
	uint64_t afh = ops_file_fh(fi);

	if (afh == 0)
		fuse_reply_err(req, EIO);
	return afh;
}

int
ops_reply_end(int err, struct proto_cur *p)
{
	if (err == 0 && proto_dec_empty_rep(p) < 0)
		return -EIO;
	return err;
}

int
ops_reply_attr(int err, struct proto_cur *p, struct proto_attr *a)
{
	if (err == 0 && reply_get_attr(p, a) < 0)
		return -EIO;
	return err;
}

void
ops_owner(fuse_req_t req, uint32_t *uid, uint32_t *gid)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	*uid = (uint32_t)ctx->uid;
	*gid = (uint32_t)ctx->gid;
}

/* Lines about bad answers from the agent: a hostile one would answer
 * badly all day, and the log is on a small file system (/run). Ten a
 * minute. */
#define BAD_REPLY_LINES_PER_MIN	10
static pthread_mutex_t bad_reply_mtx = PTHREAD_MUTEX_INITIALIZER;
static time_t bad_reply_minute;		/* bad_reply_mtx */
static unsigned int bad_reply_lines;	/* bad_reply_mtx */

int
ops_bad_reply_log_ok(void)
{
	time_t m = time(NULL) / 60;
	int ok;

	pthread_mutex_lock(&bad_reply_mtx);
	if (m != bad_reply_minute) {
		bad_reply_minute = m;
		bad_reply_lines = 0;
	}
	ok = bad_reply_lines++ < BAD_REPLY_LINES_PER_MIN;
	pthread_mutex_unlock(&bad_reply_mtx);
	return ok;
}

/* Replies with no payload: 0 or the agent's errno. */
void
ops_status_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;

	fuse_reply_err(c->req, -ops_reply_end(err, p));
	ops_call_free(c);
}

void
ops_release_done(void *arg, int err, struct proto_cur *p)
{
	(void)arg;
	(void)err;
	(void)p;
}

static void
ops_init(void *userdata, struct fuse_conn_info *conn)
{
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	/* Always readdirplus: names and attributes in one round trip. */
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	if (conn->capable & FUSE_CAP_POSIX_LOCKS)
		conn->want |= FUSE_CAP_POSIX_LOCKS;
	if (conn->capable & FUSE_CAP_FLOCK_LOCKS)
		conn->want |= FUSE_CAP_FLOCK_LOCKS;
	/* The agent's kernel drops set-user-ID bits on chown itself: no
	 * getattr before every chown. */
	if (conn->capable & FUSE_CAP_HANDLE_KILLPRIV)
		conn->want |= FUSE_CAP_HANDLE_KILLPRIV;
	/* The kernel keeps each inode's ACLs (and "none") with its
	 * attributes: ls -l asks for them on every file, and without this
	 * every ask is a request. The kernel drops them whenever it fetches
	 * attributes again, on an invalidation (a change event) and on a
	 * change made through the mount; it also checks them in
	 * default_permissions (already on). */
	if (conn->capable & FUSE_CAP_POSIX_ACL)
		conn->want |= FUSE_CAP_POSIX_ACL;
	/* Not safe here: the kernel would trust its own idea of a file's
	 * size and miss changes made in the target. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	conn->max_write = (unsigned)ops_cfg.max_read_kb * 1024;
	conn->max_readahead = (unsigned)ops_cfg.readahead_kb * 1024;
	log_debug("FUSE capabilities: kernel 0x%x, asked 0x%x", conn->capable,
	    conn->want);
	conn->max_background = 64;
	conn->congestion_threshold = 48;
	(void)userdata;
}

static const struct fuse_lowlevel_ops mirror_ops = {
	.init = ops_init,
	.lookup = ops_lookup,
	.forget = ops_forget,
	.forget_multi = ops_forget_multi,
	.getattr = ops_getattr,
	.readlink = ops_readlink,
	.opendir = ops_opendir,
	.readdir = ops_readdir,
	.readdirplus = ops_readdirplus,
	.releasedir = ops_releasedir,
	.open = ops_open,
	.read = ops_read,
	.release = ops_release,
	.statfs = ops_statfs,
	.getxattr = ops_getxattr,
	.listxattr = ops_listxattr,
	.create = ops_create,
	.write = ops_write,
	.setattr = ops_setattr,
	.fsync = ops_fsync,
	.fsyncdir = ops_fsyncdir,
	.mknod = ops_mknod,
	.mkdir = ops_mkdir,
	.symlink = ops_symlink,
	.unlink = ops_unlink,
	.rmdir = ops_rmdir,
	.rename = ops_rename,
	.link = ops_link,
	.setxattr = ops_setxattr,
	.removexattr = ops_removexattr,
	.fallocate = ops_fallocate,
	.getlk = ops_getlk,
	.setlk = ops_setlk,
	.flock = ops_flock,
	.flush = ops_flush,
};

const struct fuse_lowlevel_ops *
ops_table(const struct ops_config *c)
{
	ops_cfg = *c;
	nodes_init();
	return &mirror_ops;
}
