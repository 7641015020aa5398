/*
 * mountd's FUSE operations that change the target: create, write
 * (through, or behind: answered when sent once a handle has streamed
 * WRITE_BEHIND_AFTER bytes), setattr (chmod, chown and utimens of a
 * file made here go behind too), fsync and flush (where the errors of
 * writes behind are heard), mknod, mkdir, symlink, link, unlink, rmdir,
 * rename, setxattr, removexattr and fallocate. A read-only mount
 * answers EROFS. A write not behind is answered once the agent has
 * done it: the change is in the target when the syscall returns (there
 * is no writeback cache to lose on a dropped link).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cache.h"
#include "client.h"
#include "dirlist.h"
#include "nodes.h"
#include "ops-internal.h"
#include "reply.h"
#include "xmalloc.h"

/* A handle writes through until it has written this much: a small
 * write (echo > file) hears ENOSPC from write() itself, as on a local
 * disk, and only streaming writers go behind. */
#define WRITE_BEHIND_AFTER	(1024 * 1024)

static void
create_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	struct fuse_entry_param e;
	struct proto_attr a;
	struct fileh *fh;
	uint64_t afh = 0;

	if ((err = ops_reply_opened(err, p, &afh, &a)) < 0) {
		fuse_reply_err(c->req, -err);
		ops_call_free(c);
		return;
	}
	ops_fill_entry(&e, nodes_ref(c->path, &a), &a);
	cache_same_data(e.ino, &a);
	cache_set_created(e.ino);
	cache_dir_note(c->ino, strrchr(c->path, '/') + 1, 1);
	cache_dir_changed(c->ino, 0, 1);
	fh = ops_fileh_new(c, e.ino, afh);
	c->fi.keep_cache = 0;
	if (fuse_reply_create(c->req, &e, &c->fi) != 0) {
		ops_fileh_abandon(e.ino, fh);
		nodes_forget(e.ino, 1);
	}
	ops_call_free(c);
}

void
ops_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    struct fuse_file_info *fi)
{
	struct proto_buf b;
	struct proto_create_req r;
	struct call *c;

	if (ops_refuse_ro(req))
		return;
	if ((c = ops_child_call(req, parent, name, &b, OP_CREATE)) == NULL)
		return;
	r.path = c->path;
	r.flags = (uint32_t)(fi->flags & OPEN_FLAGS_SENT);
	r.mode = (uint32_t)(mode & 07777);
	ops_owner(req, &r.uid, &r.gid);
	proto_enc_create_req(&b, &r);
	c->fi = *fi;
	client_call(ops_cfg.client, &b, create_done, c);
}

static void
write_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	uint32_t n = 0;

	if (err == 0 && (proto_dec_write_rep(p, &n) < 0 || n > c->size))
		err = -EIO;
	if (err < 0)
		fuse_reply_err(c->req, -err);
	else {
		cache_wrote(c->ino, c->off + n);
		fuse_reply_write(c->req, n);
	}
	ops_call_free(c);
}

/* A write already answered: its outcome is kept on the node for the
 * next write, fsync or close. */
static void
write_behind_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	uint32_t n = 0;

	if (err == 0 && (proto_dec_write_rep(p, &n) < 0 || n != c->size))
		err = -EIO;
	if (err == 0)
		cache_wrote(c->ino, c->off + n);
	cache_write_end(c->ino, c->size, err);
	ops_call_free(c);
}

void
ops_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
    off_t off, struct fuse_file_info *fi)
{
	uint64_t afh;
	uint64_t window = (uint64_t)ops_cfg.write_behind_kb * 1024;
	struct proto_buf b;
	struct call *c;
	int rc;

	/* A listing held may have this node's old attributes. */
	dirlist_touch();

	if ((afh = ops_file_fh_or_eio(req, fi)) == 0)
		return;
	if (size > PROTO_WRITE_MAX)
		size = PROTO_WRITE_MAX;	/* a short write; the kernel goes on */
	c = ops_call_new(req, ino);
	c->size = size;
	c->off = (uint64_t)off;
	proto_buf_init(&b, size + 64);
	proto_begin(&b, MSG_REQUEST, OP_WRITE, 0, ops_node_key(ino));
	proto_enc_write_req(&b, &(struct proto_write_req){ .fh = afh,
	    .off = (uint64_t)off, .data = (const uint8_t *)buf,
	    .len = (uint32_t)size });
	if (window == 0 || atomic_fetch_add_explicit(&((struct fileh *)
	    (uintptr_t)fi->fh)->written, size, memory_order_relaxed) <
	    WRITE_BEHIND_AFTER) {
		/* Write-through: answered when the agent has written. */
		if ((rc = cache_write_drain(ino, 1)) < 0) {
			proto_buf_free(&b);
			fuse_reply_err(req, -rc);
			ops_call_free(c);
			return;
		}
		client_call(ops_cfg.client, &b, write_done, c);
		return;
	}
	if ((rc = cache_write_begin(ino, (uint64_t)off + size, size,
	    window)) < 0) {
		/* An earlier write failed: this writer hears it now. */
		cache_write_drain(ino, 1);
		proto_buf_free(&b);
		fuse_reply_err(req, -rc);
		ops_call_free(c);
		return;
	}
	c->req = NULL;
	client_call(ops_cfg.client, &b, write_behind_done, c);
	fuse_reply_write(req, size);
}

/* An OP_SETATTR request: on path, or by the handle afh if path is NULL. */
static void
setattr_request(struct proto_buf *b, fuse_ino_t ino, const char *path,
    uint64_t afh, uint32_t set, const struct stat *st)
{
	struct proto_setattr_req r = {
		.path = path ? path : "/",
		.fh = afh,
		.set = set,
		.mode = (uint32_t)st->st_mode,
		.uid = (uint32_t)st->st_uid,
		.gid = (uint32_t)st->st_gid,
		.size = (uint64_t)st->st_size,
		.atime_sec = (int64_t)st->st_atim.tv_sec,
		.atime_nsec = (uint32_t)st->st_atim.tv_nsec,
		.mtime_sec = (int64_t)st->st_mtim.tv_sec,
		.mtime_nsec = (uint32_t)st->st_mtim.tv_nsec,
	};

	ops_request_keyed(b, OP_SETATTR, ino);
	proto_enc_setattr_req(b, &r);
}

static void
setattr_behind_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;
	struct proto_attr a;

	err = ops_reply_attr(err, p, &a);
	cache_setattr_end(c->ino, err, err == 0 ? &a : NULL);
	ops_call_free(c);
}

/*
 * chmod, chown and utimens of a file made through this mount and open
 * here: answered now with the attributes they leave, done by the agent
 * through the open handle, in order with everything else about the
 * file (tar and git do these on every file they write). An error waits
 * for the next fsync or close. 1 if it went so, 0: do it the slow way.
 */
static int
setattr_behind(fuse_req_t req, fuse_ino_t ino, const struct stat *attr,
    uint32_t set, uint64_t afh)
{
	uint64_t epoch = client_epoch(ops_cfg.client);
	struct cache_setattr sa;
	struct proto_attr a;
	struct timespec now;
	struct proto_buf b;
	struct stat st, sent;
	struct call *c;

	if (ops_cfg.write_behind_kb == 0 ||
	    (afh == 0 && !nodes_open_fh(ino, epoch, &afh)))
		return 0;
	clock_gettime(CLOCK_REALTIME, &now);
	memset(&sa, 0, sizeof(sa));
	sa.set_mode = (set & SETATTR_MODE) != 0;
	sa.set_uid = (set & SETATTR_UID) != 0;
	sa.set_gid = (set & SETATTR_GID) != 0;
	sa.set_atime = (set & (SETATTR_ATIME | SETATTR_ATIME_NOW)) != 0;
	sa.set_mtime = (set & (SETATTR_MTIME | SETATTR_MTIME_NOW)) != 0;
	sa.mode = (uint32_t)attr->st_mode;
	sa.uid = (uint32_t)attr->st_uid;
	sa.gid = (uint32_t)attr->st_gid;
	sa.now_sec = now.tv_sec;
	sa.now_nsec = (uint32_t)now.tv_nsec;
	/* "now" is this machine's clock, sent as a time, so the reply and
	 * the target agree. */
	if (set & SETATTR_ATIME_NOW) {
		set = (set & ~(uint32_t)SETATTR_ATIME_NOW) | SETATTR_ATIME;
		sa.atime_sec = now.tv_sec;
		sa.atime_nsec = (uint32_t)now.tv_nsec;
	} else {
		sa.atime_sec = attr->st_atim.tv_sec;
		sa.atime_nsec = (uint32_t)attr->st_atim.tv_nsec;
	}
	if (set & SETATTR_MTIME_NOW) {
		set = (set & ~(uint32_t)SETATTR_MTIME_NOW) | SETATTR_MTIME;
		sa.mtime_sec = now.tv_sec;
		sa.mtime_nsec = (uint32_t)now.tv_nsec;
	} else {
		sa.mtime_sec = attr->st_mtim.tv_sec;
		sa.mtime_nsec = (uint32_t)attr->st_mtim.tv_nsec;
	}
	if (cache_setattr_begin(ino, &sa, &a) < 0)
		return 0;
	/* What is sent: the times settled above, no size. */
	sent = *attr;
	sent.st_size = 0;
	sent.st_atim.tv_sec = sa.atime_sec;
	sent.st_atim.tv_nsec = sa.atime_nsec;
	sent.st_mtim.tv_sec = sa.mtime_sec;
	sent.st_mtim.tv_nsec = sa.mtime_nsec;
	c = ops_call_new(NULL, ino);
	setattr_request(&b, ino, NULL, afh, set, &sent);	/* by handle */
	client_call(ops_cfg.client, &b, setattr_behind_done, c);
	proto_attr_to_stat(&a, &st);
	fuse_reply_attr(req, &st, 0);	/* ctime is a guess: not to keep */
	return 1;
}

void
ops_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
    struct fuse_file_info *fi)
{
	uint64_t afh = 0, epoch = client_epoch(ops_cfg.client);
	struct proto_buf b;
	struct call *c;
	uint32_t set = 0;

	/* A listing held may have this node's old attributes. */
	dirlist_touch();

	if (ops_refuse_ro(req))
		return;
	if (fi != NULL && (afh = ops_file_fh_or_eio(req, fi)) == 0)
		return;
	c = ops_call_new(req, ino);
	c->path = nodes_path(ino);
	/* No name left (open, then unlinked): by an open handle. */
	if (afh == 0 && c->path == NULL && !nodes_open_fh(ino, epoch, &afh)) {
		fuse_reply_err(req, ESTALE);
		ops_call_free(c);
		return;
	}
	if (to_set & FUSE_SET_ATTR_MODE)
		set |= SETATTR_MODE;
	if (to_set & FUSE_SET_ATTR_UID)
		set |= SETATTR_UID;
	if (to_set & FUSE_SET_ATTR_GID)
		set |= SETATTR_GID;
	if (to_set & FUSE_SET_ATTR_SIZE)
		set |= SETATTR_SIZE;
	if (to_set & FUSE_SET_ATTR_ATIME)
		set |= (to_set & FUSE_SET_ATTR_ATIME_NOW) ? SETATTR_ATIME_NOW :
		    SETATTR_ATIME;
	if (to_set & FUSE_SET_ATTR_MTIME)
		set |= (to_set & FUSE_SET_ATTR_MTIME_NOW) ? SETATTR_MTIME_NOW :
		    SETATTR_MTIME;
	if (!(set & SETATTR_SIZE) && setattr_behind(req, ino, attr, set, afh)) {
		ops_call_free(c);
		return;
	}
	setattr_request(&b, ino, c->path, afh, set, attr);
	client_call(ops_cfg.client, &b, ops_getattr_done, c);
}

static void
do_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
    struct fuse_file_info *fi, int dir)
{
	uint64_t afh = 0;
	struct proto_buf b;
	struct call *c;
	int rc;

	if (!dir && (afh = ops_file_fh_or_eio(req, fi)) == 0)
		return;
	/* Outstanding writes first; their error is fsync's. */
	if (!dir && (rc = cache_write_drain(ino, 1)) < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	c = ops_call_new(req, ino);
	if (dir && (c->path = nodes_path(ino)) == NULL) {
		fuse_reply_err(req, ESTALE);
		ops_call_free(c);
		return;
	}
	ops_request_keyed(&b, OP_FSYNC, ino);
	proto_enc_fsync_req(&b, &(struct proto_fsync_req){ .fh = afh,
	    .datasync = datasync ? 1 : 0, .path = c->path ? c->path : "/" });
	client_call(ops_cfg.client, &b, ops_status_done, c);
}

void
ops_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
    struct fuse_file_info *fi)
{
	do_fsync(req, ino, datasync, fi, 0);
}

void
ops_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
    struct fuse_file_info *fi)
{
	do_fsync(req, ino, datasync, fi, 1);
}

static void
flush_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;

	err = ops_reply_end(err, p);
	fuse_reply_err(c->req, c->flags != 0 ? (int)c->flags : -err);
	ops_call_free(c);
}

void
ops_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	uint64_t afh = ops_file_fh(fi);
	struct proto_buf b;
	struct call *c;
	int rc;

	/* close() returns the error of a write that failed after it was
	 * answered (write-behind). */
	rc = cache_write_drain(ino, 1);
	/* POSIX locks are dropped whatever happened, and only where any
	 * was ever asked for. */
	if (afh == 0 || !nodes_locked(ino)) {
		fuse_reply_err(req, -rc);
		return;
	}
	c = ops_fh_call(req, ino, &b, OP_FLUSH);
	c->flags = (unsigned int)-rc;	/* the write error goes first */
	proto_enc_flush_req(&b, &(struct proto_flush_req){ .fh = afh,
	    .owner = fi->lock_owner });
	client_call(ops_cfg.client, &b, flush_done, c);
}

/* names */

/* mknod, mkdir, symlink: the node c->path, made as the caller. */
static void
mknode_send(fuse_req_t req, struct proto_buf *b, struct call *c,
    uint32_t mode, uint64_t rdev, const char *target)
{
	struct proto_mknode_req r = { .path = c->path, .target = target,
	    .mode = mode, .rdev = rdev };

	ops_owner(req, &r.uid, &r.gid);
	proto_enc_mknode_req(b, c->op, &r);
	client_call(ops_cfg.client, b, ops_entry_done, c);
}

void
ops_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    dev_t rdev)
{
	struct proto_buf b;
	struct call *c;

	if (ops_refuse_ro(req))
		return;
	if ((c = ops_child_call(req, parent, name, &b, OP_MKNOD)) == NULL)
		return;
	mknode_send(req, &b, c, (uint32_t)mode, (uint64_t)rdev, NULL);
}

void
ops_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct proto_buf b;
	struct call *c;

	if (ops_refuse_ro(req))
		return;
	if ((c = ops_child_call(req, parent, name, &b, OP_MKDIR)) == NULL)
		return;
	mknode_send(req, &b, c, (uint32_t)(mode & 07777), 0, NULL);
}

void
ops_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
    const char *name)
{
	struct proto_buf b;
	struct call *c;

	if (ops_refuse_ro(req))
		return;
	if (strlen(link) > PROTO_PATH_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	if ((c = ops_child_call(req, parent, name, &b, OP_SYMLINK)) == NULL)
		return;
	mknode_send(req, &b, c, 0, 0, link);
}

static void
unlink_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;

	err = ops_reply_end(err, p);
	if (err == 0) {
		nodes_unlinked(c->path);
		cache_dir_note(c->ino, strrchr(c->path, '/') + 1, 0);
		cache_dir_changed(c->ino, c->op == OP_RMDIR ? -1 : 0, 1);
	}
	fuse_reply_err(c->req, -err);
	ops_call_free(c);
}

static void
do_remove(fuse_req_t req, fuse_ino_t parent, const char *name, uint16_t op)
{
	struct proto_buf b;
	struct call *c;

	if (ops_refuse_ro(req))
		return;
	if ((c = ops_child_call(req, parent, name, &b, op)) != NULL) {
		proto_enc_path_req(&b, &(struct proto_path_req){ c->path });
		client_call(ops_cfg.client, &b, unlink_done, c);
	}
}

void
ops_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	do_remove(req, parent, name, OP_UNLINK);
}

void
ops_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	do_remove(req, parent, name, OP_RMDIR);
}

static void
rename_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;

	err = ops_reply_end(err, p);
	if (err == 0) {
		nodes_renamed(c->path, c->path2,
		    (c->flags & RENAME_EXCHANGE) != 0);
		if (!(c->flags & RENAME_EXCHANGE))
			cache_dir_note(c->ino, strrchr(c->path, '/') + 1, 0);
		cache_dir_note(c->ino2, strrchr(c->path2, '/') + 1, 1);
		cache_dir_changed(c->ino, 0, 0);
		cache_dir_changed(c->ino2, 0, 0);
	}
	fuse_reply_err(c->req, -err);
	ops_call_free(c);
}

void
ops_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
    fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct proto_buf b;
	struct call *c;
	uint32_t wire = 0;

	if (ops_refuse_ro(req))
		return;
	if (flags & ~(unsigned int)(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (strlen(newname) > PROTO_NAME_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	if ((c = ops_child_call(req, parent, name, &b, OP_RENAME)) == NULL)
		return;
	if ((c->path2 = ops_child_path(req, newparent, newname)) == NULL) {
		proto_buf_free(&b);
		ops_call_free(c);
		return;
	}
	c->flags = flags;
	c->ino2 = newparent;
	if (flags & RENAME_NOREPLACE)
		wire |= 1;
	if (flags & RENAME_EXCHANGE)
		wire |= 2;
	proto_enc_rename_req(&b, OP_RENAME, &(struct proto_rename_req){
	    .from = c->path, .to = c->path2, .flags = wire });
	client_call(ops_cfg.client, &b, rename_done, c);
}

void
ops_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
    const char *newname)
{
	struct proto_buf b;
	struct call *c;
	char *from;

	if (ops_refuse_ro(req))
		return;
	if ((from = nodes_path(ino)) == NULL) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if ((c = ops_child_call(req, newparent, newname, &b, OP_LINK)) ==
	    NULL) {
		x_free(from);
		return;
	}
	proto_enc_rename_req(&b, OP_LINK, &(struct proto_rename_req){
	    .from = from, .to = c->path });
	x_free(from);
	client_call(ops_cfg.client, &b, ops_entry_done, c);
}

/* xattrs, space */

static void
setxattr_done(void *arg, int err, struct proto_cur *p)
{
	struct call *c = arg;

	err = ops_reply_end(err, p);
	/* Whatever happened, ask the agent next time. */
	nodes_set_flags(c->ino, nodes_flags(c->ino) & ~ATTR_NO_XATTR);
	fuse_reply_err(c->req, -err);
	ops_call_free(c);
}

/* setxattr and removexattr: path and handle in one request. */
static void
setxattr_send(fuse_req_t req, fuse_ino_t ino, uint16_t op,
    struct proto_setxattr_req *r)
{
	struct proto_buf b;
	struct call *c = ops_call_new(req, ino);

	/* A listing held may say the node has no xattrs. */
	dirlist_touch();
	r->fh = 0;
	c->path = nodes_path(ino);
	if (!nodes_open_fh(ino, client_epoch(ops_cfg.client), &r->fh) &&
	    c->path == NULL) {
		fuse_reply_err(req, ESTALE);
		ops_call_free(c);
		return;
	}
	r->path = c->path ? c->path : "/";
	ops_request_keyed(&b, op, ino);
	proto_enc_setxattr_req(&b, op, r);
	client_call(ops_cfg.client, &b, setxattr_done, c);
}

void
ops_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
    const char *value, size_t size, int flags)
{
	if (ops_refuse_ro(req))
		return;
	if (strlen(name) > PROTO_NAME_MAX || name[0] == '\0') {
		fuse_reply_err(req, ERANGE);
		return;
	}
	if (size > PROTO_XATTR_MAX) {
		fuse_reply_err(req, E2BIG);
		return;
	}
	setxattr_send(req, ino, OP_SETXATTR, &(struct proto_setxattr_req){
	    .name = name, .value = (const uint8_t *)value,
	    .len = (uint32_t)size, .flags = (uint32_t)flags });
}

void
ops_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	if (ops_refuse_ro(req))
		return;
	if (strlen(name) > PROTO_NAME_MAX || name[0] == '\0') {
		fuse_reply_err(req, ENODATA);
		return;
	}
	if (nodes_flags(ino) & ATTR_NO_XATTR) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	setxattr_send(req, ino, OP_REMOVEXATTR,
	    &(struct proto_setxattr_req){ .name = name });
}

void
ops_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off,
    off_t len, struct fuse_file_info *fi)
{
	uint64_t afh;
	struct proto_buf b;
	struct call *c;

	/* A listing held may have this node's old attributes. */
	dirlist_touch();

	if ((afh = ops_file_fh_or_eio(req, fi)) == 0)
		return;
	cache_forget_attr(ino);
	c = ops_fh_call(req, ino, &b, OP_FALLOCATE);
	proto_enc_fallocate_req(&b, &(struct proto_fallocate_req){ .fh = afh,
	    .mode = (uint32_t)mode, .off = (uint64_t)off,
	    .len = (uint64_t)len });
	client_call(ops_cfg.client, &b, ops_status_done, c);
}
