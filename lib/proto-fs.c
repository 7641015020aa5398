/*
 * The file-system messages' encoders and decoders (see proto-fs.h): the
 * one place each request's and reply's field order is written. Built on
 * proto.c's capped buffer and checked cursor; nothing here trusts a
 * length it received.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "proto-fs.h"

#define NSEC_MAX	1000000000u

/* A path field: absolute, no NUL, at most PROTO_PATH_MAX. */
static int
get_path(struct proto_cur *c, char *dst, size_t dstsz)
{
	if (proto_get_str(c, dst, dstsz) < 0 || !proto_path_ok(dst))
		return -EBADMSG;
	return 0;
}

/* What every decoder returns: the field reads' result, then no bytes
 * left over. */
static int
dec_end(struct proto_cur *c, int bad)
{
	if (bad || proto_end(c) < 0)
		return -EBADMSG;
	return 0;
}

void
proto_enc_path_req(struct proto_buf *b, const struct proto_path_req *r)
{
	proto_put_str(b, r->path);
}

int
proto_dec_path_req(struct proto_cur *c, struct proto_fs_strs *s,
    struct proto_path_req *r)
{
	r->path = s->path;
	return dec_end(c, get_path(c, s->path, sizeof(s->path)) < 0);
}

void
proto_enc_readdir_req(struct proto_buf *b, const struct proto_readdir_req *r)
{
	proto_put_str(b, r->path);
	proto_put_u64(b, r->cookie);
	proto_put_u32(b, r->max);
}

int
proto_dec_readdir_req(struct proto_cur *c, struct proto_fs_strs *s,
    struct proto_readdir_req *r)
{
	r->path = s->path;
	return dec_end(c, get_path(c, s->path, sizeof(s->path)) < 0 ||
	    proto_get_u64(c, &r->cookie) < 0 || proto_get_u32(c, &r->max) < 0);
}

void
proto_enc_open_req(struct proto_buf *b, const struct proto_open_req *r)
{
	proto_put_str(b, r->path);
	proto_put_u32(b, r->flags);
}

int
proto_dec_open_req(struct proto_cur *c, struct proto_fs_strs *s,
    struct proto_open_req *r)
{
	r->path = s->path;
	return dec_end(c, get_path(c, s->path, sizeof(s->path)) < 0 ||
	    proto_get_u32(c, &r->flags) < 0);
}

void
proto_enc_read_req(struct proto_buf *b, const struct proto_read_req *r)
{
	proto_put_u64(b, r->fh);
	proto_put_u64(b, r->off);
	proto_put_u32(b, r->size);
}

int
proto_dec_read_req(struct proto_cur *c, struct proto_read_req *r)
{
	return dec_end(c, proto_get_u64(c, &r->fh) < 0 ||
	    proto_get_u64(c, &r->off) < 0 || proto_get_u32(c, &r->size) < 0);
}

void
proto_enc_fh_req(struct proto_buf *b, const struct proto_fh_req *r)
{
	proto_put_u64(b, r->fh);
}

int
proto_dec_fh_req(struct proto_cur *c, struct proto_fh_req *r)
{
	return dec_end(c, proto_get_u64(c, &r->fh) < 0);
}

static int
xattr_by_fh(uint16_t op)
{
	return op == OP_FGETXATTR || op == OP_FLISTXATTR;
}

static int
xattr_named(uint16_t op)
{
	return op == OP_GETXATTR || op == OP_FGETXATTR;
}

void
proto_enc_xattr_req(struct proto_buf *b, uint16_t op,
    const struct proto_xattr_req *r)
{
	if (xattr_by_fh(op))
		proto_put_u64(b, r->fh);
	else
		proto_put_str(b, r->path);
	if (xattr_named(op))
		proto_put_str(b, r->name);
	proto_put_u32(b, r->size);
}

int
proto_dec_xattr_req(struct proto_cur *c, uint16_t op, struct proto_fs_strs *s,
    struct proto_xattr_req *r)
{
	int bad;

	memset(r, 0, sizeof(*r));
	s->path[0] = s->name[0] = '\0';
	r->path = s->path;
	r->name = s->name;
	if (xattr_by_fh(op))
		bad = proto_get_u64(c, &r->fh) < 0 || r->fh == 0;
	else
		bad = get_path(c, s->path, sizeof(s->path)) < 0;
	if (!bad && xattr_named(op))
		bad = proto_get_str(c, s->name, sizeof(s->name)) < 0;
	return dec_end(c, bad || proto_get_u32(c, &r->size) < 0);
}

void
proto_enc_create_req(struct proto_buf *b, const struct proto_create_req *r)
{
	proto_put_str(b, r->path);
	proto_put_u32(b, r->flags);
	proto_put_u32(b, r->mode);
	proto_put_u32(b, r->uid);
	proto_put_u32(b, r->gid);
}

int
proto_dec_create_req(struct proto_cur *c, struct proto_fs_strs *s,
    struct proto_create_req *r)
{
	r->path = s->path;
	return dec_end(c, get_path(c, s->path, sizeof(s->path)) < 0 ||
	    proto_get_u32(c, &r->flags) < 0 || proto_get_u32(c, &r->mode) < 0 ||
	    proto_get_u32(c, &r->uid) < 0 || proto_get_u32(c, &r->gid) < 0);
}

void
proto_enc_write_req(struct proto_buf *b, const struct proto_write_req *r)
{
	proto_put_u64(b, r->fh);
	proto_put_u64(b, r->off);
	proto_put_bytes(b, r->data, r->len);
}

int
proto_dec_write_req(struct proto_cur *c, struct proto_write_req *r)
{
	return dec_end(c, proto_get_u64(c, &r->fh) < 0 ||
	    proto_get_u64(c, &r->off) < 0 ||
	    proto_get_bytes(c, &r->data, &r->len, PROTO_WRITE_MAX) < 0);
}

void
proto_enc_setattr_req(struct proto_buf *b, const struct proto_setattr_req *r)
{
	proto_put_str(b, r->path);
	proto_put_u64(b, r->fh);
	proto_put_u32(b, r->set);
	proto_put_u32(b, r->mode);
	proto_put_u32(b, r->uid);
	proto_put_u32(b, r->gid);
	proto_put_u64(b, r->size);
	proto_put_u64(b, (uint64_t)r->atime_sec);
	proto_put_u32(b, r->atime_nsec);
	proto_put_u64(b, (uint64_t)r->mtime_sec);
	proto_put_u32(b, r->mtime_nsec);
}

int
proto_dec_setattr_req(struct proto_cur *c, struct proto_fs_strs *s,
    struct proto_setattr_req *r)
{
	uint64_t at = 0, mt = 0;
	int bad;

	r->path = s->path;
	bad = get_path(c, s->path, sizeof(s->path)) < 0 ||
	    proto_get_u64(c, &r->fh) < 0 || proto_get_u32(c, &r->set) < 0 ||
	    proto_get_u32(c, &r->mode) < 0 || proto_get_u32(c, &r->uid) < 0 ||
	    proto_get_u32(c, &r->gid) < 0 || proto_get_u64(c, &r->size) < 0 ||
	    proto_get_u64(c, &at) < 0 || proto_get_u32(c, &r->atime_nsec) < 0 ||
	    proto_get_u64(c, &mt) < 0 || proto_get_u32(c, &r->mtime_nsec) < 0;
	r->atime_sec = (int64_t)at;
	r->mtime_sec = (int64_t)mt;
	return dec_end(c, bad || r->atime_nsec >= NSEC_MAX ||
	    r->mtime_nsec >= NSEC_MAX);
}

void
proto_enc_fsync_req(struct proto_buf *b, const struct proto_fsync_req *r)
{
	proto_put_u64(b, r->fh);
	proto_put_u8(b, r->datasync);
	proto_put_str(b, r->path);
}

int
proto_dec_fsync_req(struct proto_cur *c, struct proto_fs_strs *s,
    struct proto_fsync_req *r)
{
	r->path = s->path;
	return dec_end(c, proto_get_u64(c, &r->fh) < 0 ||
	    proto_get_u8(c, &r->datasync) < 0 ||
	    get_path(c, s->path, sizeof(s->path)) < 0);
}

void
proto_enc_mknode_req(struct proto_buf *b, uint16_t op,
    const struct proto_mknode_req *r)
{
	proto_put_str(b, r->path);
	if (op == OP_MKNOD || op == OP_MKDIR)
		proto_put_u32(b, r->mode);
	if (op == OP_MKNOD)
		proto_put_u64(b, r->rdev);
	if (op == OP_SYMLINK)
		proto_put_str(b, r->target);
	proto_put_u32(b, r->uid);
	proto_put_u32(b, r->gid);
}

int
proto_dec_mknode_req(struct proto_cur *c, uint16_t op, struct proto_fs_strs *s,
    struct proto_mknode_req *r)
{
	int bad;

	memset(r, 0, sizeof(*r));
	s->path2[0] = '\0';
	r->path = s->path;
	r->target = s->path2;
	bad = get_path(c, s->path, sizeof(s->path)) < 0;
	if (!bad && (op == OP_MKNOD || op == OP_MKDIR))
		bad = proto_get_u32(c, &r->mode) < 0;
	if (!bad && op == OP_MKNOD)
		bad = proto_get_u64(c, &r->rdev) < 0;
	if (!bad && op == OP_SYMLINK)
		bad = proto_get_str(c, s->path2, sizeof(s->path2)) < 0 ||
		    s->path2[0] == '\0';
	return dec_end(c, bad || proto_get_u32(c, &r->uid) < 0 ||
	    proto_get_u32(c, &r->gid) < 0);
}

void
proto_enc_rename_req(struct proto_buf *b, uint16_t op,
    const struct proto_rename_req *r)
{
	proto_put_str(b, r->from);
	proto_put_str(b, r->to);
	if (op == OP_RENAME)
		proto_put_u32(b, r->flags);
}

int
proto_dec_rename_req(struct proto_cur *c, uint16_t op, struct proto_fs_strs *s,
    struct proto_rename_req *r)
{
	r->from = s->path;
	r->to = s->path2;
	r->flags = 0;
	return dec_end(c, get_path(c, s->path, sizeof(s->path)) < 0 ||
	    get_path(c, s->path2, sizeof(s->path2)) < 0 ||
	    (op == OP_RENAME && proto_get_u32(c, &r->flags) < 0));
}

void
proto_enc_setxattr_req(struct proto_buf *b, uint16_t op,
    const struct proto_setxattr_req *r)
{
	proto_put_str(b, r->path);
	proto_put_u64(b, r->fh);
	proto_put_str(b, r->name);
	if (op == OP_SETXATTR) {
		proto_put_bytes(b, r->value, r->len);
		proto_put_u32(b, r->flags);
	}
}

int
proto_dec_setxattr_req(struct proto_cur *c, uint16_t op,
    struct proto_fs_strs *s, struct proto_setxattr_req *r)
{
	int bad;

	memset(r, 0, sizeof(*r));
	r->path = s->path;
	r->name = s->name;
	bad = get_path(c, s->path, sizeof(s->path)) < 0 ||
	    proto_get_u64(c, &r->fh) < 0 ||
	    proto_get_str(c, s->name, sizeof(s->name)) < 0 ||
	    s->name[0] == '\0';
	if (!bad && op == OP_SETXATTR)
		bad = proto_get_bytes(c, &r->value, &r->len,
		    PROTO_XATTR_MAX) < 0 || proto_get_u32(c, &r->flags) < 0;
	return dec_end(c, bad);
}

void
proto_enc_fallocate_req(struct proto_buf *b,
    const struct proto_fallocate_req *r)
{
	proto_put_u64(b, r->fh);
	proto_put_u32(b, r->mode);
	proto_put_u64(b, r->off);
	proto_put_u64(b, r->len);
}

int
proto_dec_fallocate_req(struct proto_cur *c, struct proto_fallocate_req *r)
{
	return dec_end(c, proto_get_u64(c, &r->fh) < 0 ||
	    proto_get_u32(c, &r->mode) < 0 || proto_get_u64(c, &r->off) < 0 ||
	    proto_get_u64(c, &r->len) < 0);
}

void
proto_enc_lock_req(struct proto_buf *b, const struct proto_lock_req *r)
{
	proto_put_u64(b, r->fh);
	proto_put_u64(b, r->owner);
	proto_put_u8(b, r->cmd);
	proto_put_u8(b, r->type);
	proto_put_u64(b, r->start);
	proto_put_u64(b, r->len);
}

int
proto_dec_lock_req(struct proto_cur *c, struct proto_lock_req *r)
{
	return dec_end(c, proto_get_u64(c, &r->fh) < 0 ||
	    proto_get_u64(c, &r->owner) < 0 || proto_get_u8(c, &r->cmd) < 0 ||
	    proto_get_u8(c, &r->type) < 0 || proto_get_u64(c, &r->start) < 0 ||
	    proto_get_u64(c, &r->len) < 0 || r->cmd > LOCK_CMD_SET ||
	    r->type > LOCK_TYPE_WRITE);
}

void
proto_enc_flock_req(struct proto_buf *b, const struct proto_flock_req *r)
{
	proto_put_u64(b, r->fh);
	proto_put_u32(b, r->op);
}

int
proto_dec_flock_req(struct proto_cur *c, struct proto_flock_req *r)
{
	return dec_end(c, proto_get_u64(c, &r->fh) < 0 ||
	    proto_get_u32(c, &r->op) < 0);
}

void
proto_enc_flush_req(struct proto_buf *b, const struct proto_flush_req *r)
{
	proto_put_u64(b, r->fh);
	proto_put_u64(b, r->owner);
}

int
proto_dec_flush_req(struct proto_cur *c, struct proto_flush_req *r)
{
	return dec_end(c, proto_get_u64(c, &r->fh) < 0 ||
	    proto_get_u64(c, &r->owner) < 0);
}

int
proto_enc_fs_req(struct proto_buf *b, uint16_t op, const union proto_fs_req *r)
{
	switch (op) {
	case OP_LOOKUP: case OP_GETATTR: case OP_READLINK: case OP_STATFS:
	case OP_UNLINK: case OP_RMDIR:
		proto_enc_path_req(b, &r->path);
		break;
	case OP_READDIR:
		proto_enc_readdir_req(b, &r->readdir);
		break;
	case OP_OPEN:
		proto_enc_open_req(b, &r->open);
		break;
	case OP_READ:
		proto_enc_read_req(b, &r->read);
		break;
	case OP_RELEASE: case OP_FGETATTR:
		proto_enc_fh_req(b, &r->fh);
		break;
	case OP_GETXATTR: case OP_LISTXATTR: case OP_FGETXATTR:
	case OP_FLISTXATTR:
		proto_enc_xattr_req(b, op, &r->xattr);
		break;
	case OP_CREATE:
		proto_enc_create_req(b, &r->create);
		break;
	case OP_WRITE:
		proto_enc_write_req(b, &r->write);
		break;
	case OP_SETATTR:
		proto_enc_setattr_req(b, &r->setattr);
		break;
	case OP_FSYNC:
		proto_enc_fsync_req(b, &r->fsync);
		break;
	case OP_MKNOD: case OP_MKDIR: case OP_SYMLINK:
		proto_enc_mknode_req(b, op, &r->mknode);
		break;
	case OP_RENAME: case OP_LINK:
		proto_enc_rename_req(b, op, &r->rename);
		break;
	case OP_SETXATTR: case OP_REMOVEXATTR:
		proto_enc_setxattr_req(b, op, &r->setxattr);
		break;
	case OP_FALLOCATE:
		proto_enc_fallocate_req(b, &r->fallocate);
		break;
	case OP_LOCK:
		proto_enc_lock_req(b, &r->lock);
		break;
	case OP_FLOCK:
		proto_enc_flock_req(b, &r->flock);
		break;
	case OP_FLUSH:
		proto_enc_flush_req(b, &r->flush);
		break;
	default:
		return -EOPNOTSUPP;
	}
	return 0;
}

int
proto_dec_fs_req(struct proto_cur *c, uint16_t op, struct proto_fs_strs *s,
    union proto_fs_req *r)
{
	switch (op) {
	case OP_LOOKUP: case OP_GETATTR: case OP_READLINK: case OP_STATFS:
	case OP_UNLINK: case OP_RMDIR:
		return proto_dec_path_req(c, s, &r->path);
	case OP_READDIR:
		return proto_dec_readdir_req(c, s, &r->readdir);
	case OP_OPEN:
		return proto_dec_open_req(c, s, &r->open);
	case OP_READ:
		return proto_dec_read_req(c, &r->read);
	case OP_RELEASE: case OP_FGETATTR:
		return proto_dec_fh_req(c, &r->fh);
	case OP_GETXATTR: case OP_LISTXATTR: case OP_FGETXATTR:
	case OP_FLISTXATTR:
		return proto_dec_xattr_req(c, op, s, &r->xattr);
	case OP_CREATE:
		return proto_dec_create_req(c, s, &r->create);
	case OP_WRITE:
		return proto_dec_write_req(c, &r->write);
	case OP_SETATTR:
		return proto_dec_setattr_req(c, s, &r->setattr);
	case OP_FSYNC:
		return proto_dec_fsync_req(c, s, &r->fsync);
	case OP_MKNOD: case OP_MKDIR: case OP_SYMLINK:
		return proto_dec_mknode_req(c, op, s, &r->mknode);
	case OP_RENAME: case OP_LINK:
		return proto_dec_rename_req(c, op, s, &r->rename);
	case OP_SETXATTR: case OP_REMOVEXATTR:
		return proto_dec_setxattr_req(c, op, s, &r->setxattr);
	case OP_FALLOCATE:
		return proto_dec_fallocate_req(c, &r->fallocate);
	case OP_LOCK:
		return proto_dec_lock_req(c, &r->lock);
	case OP_FLOCK:
		return proto_dec_flock_req(c, &r->flock);
	case OP_FLUSH:
		return proto_dec_flush_req(c, &r->flush);
	default:
		return -EOPNOTSUPP;
	}
}

void
proto_enc_attr_rep(struct proto_buf *b, const struct proto_attr *a)
{
	proto_put_attr(b, a);
}

int
proto_dec_attr_rep(struct proto_cur *c, struct proto_attr *a)
{
	return dec_end(c, proto_get_attr(c, a) < 0);
}

void
proto_enc_open_rep(struct proto_buf *b, const struct proto_open_rep *r)
{
	proto_put_u64(b, r->fh);
	proto_put_attr(b, &r->attr);
}

int
proto_dec_open_rep(struct proto_cur *c, struct proto_open_rep *r)
{
	return dec_end(c, proto_get_u64(c, &r->fh) < 0 ||
	    proto_get_attr(c, &r->attr) < 0);
}

uint8_t *
proto_enc_read_rep_reserve(struct proto_buf *b, size_t size)
{
	return proto_put_bytes_reserve(b, size);
}

void
proto_enc_read_rep_trim(struct proto_buf *b, uint8_t *at, size_t got)
{
	proto_bytes_trim(b, at, got);
}

int
proto_dec_read_rep(struct proto_cur *c, uint32_t max, struct proto_read_rep *r)
{
	return dec_end(c, proto_get_bytes(c, &r->data, &r->len, max) < 0);
}

size_t
proto_fs_reply_size_hint(uint16_t op, const struct proto_cur *req)
{
	struct proto_cur c = *req;
	struct proto_read_req r;

	if (op != OP_READ || proto_dec_read_req(&c, &r) < 0)
		return 512;
	if (r.size > PROTO_READ_MAX)
		r.size = PROTO_READ_MAX;
	return PROTO_HDR_LEN + 4 + (size_t)r.size;	/* header, bytes data */
}

void
proto_enc_readlink_rep(struct proto_buf *b, const char *target)
{
	proto_put_str(b, target);
}

int
proto_dec_readlink_rep(struct proto_cur *c, char *dst, size_t dstsz)
{
	return dec_end(c, proto_get_str(c, dst, dstsz) < 0);
}

void
proto_enc_statfs_rep(struct proto_buf *b, const struct proto_statfs *s)
{
	proto_put_statfs(b, s);
}

int
proto_dec_statfs_rep(struct proto_cur *c, struct proto_statfs *s)
{
	return dec_end(c, proto_get_statfs(c, s) < 0);
}

void
proto_enc_write_rep(struct proto_buf *b, uint32_t written)
{
	proto_put_u32(b, written);
}

int
proto_dec_write_rep(struct proto_cur *c, uint32_t *written)
{
	return dec_end(c, proto_get_u32(c, written) < 0);
}

uint8_t *
proto_enc_xattr_rep_reserve(struct proto_buf *b, size_t size)
{
	proto_put_u32(b, 0);		/* needed, set by finish */
	return proto_put_bytes_reserve(b, size);
}

void
proto_enc_xattr_rep_finish(struct proto_buf *b, uint8_t *at, uint32_t needed,
    size_t used)
{
	proto_patch_u32(b, PROTO_HDR_LEN, needed);
	proto_bytes_trim(b, at, used);
}

void
proto_enc_xattr_rep(struct proto_buf *b, const struct proto_xattr_rep *r)
{
	proto_put_u32(b, r->needed);
	proto_put_bytes(b, r->value, r->len);
}

int
proto_dec_xattr_rep(struct proto_cur *c, struct proto_xattr_rep *r)
{
	return dec_end(c, proto_get_u32(c, &r->needed) < 0 ||
	    proto_get_bytes(c, &r->value, &r->len, PROTO_XATTR_MAX) < 0);
}

void
proto_enc_lock_rep(struct proto_buf *b, const struct proto_lock_rep *r)
{
	proto_put_u8(b, r->type);
	proto_put_u64(b, r->start);
	proto_put_u64(b, r->len);
}

int
proto_dec_lock_rep(struct proto_cur *c, struct proto_lock_rep *r)
{
	return dec_end(c, proto_get_u8(c, &r->type) < 0 ||
	    proto_get_u64(c, &r->start) < 0 || proto_get_u64(c, &r->len) < 0);
}

int
proto_dec_empty_rep(struct proto_cur *c)
{
	return dec_end(c, 0);
}

void
proto_enc_readdir_rep_begin(struct proto_buf *b, struct proto_readdir_enc *e)
{
	e->head = b->len;
	e->n = 0;
	proto_put_u8(b, 1);		/* eof, set by finish */
	proto_put_u64(b, 0);		/* next cookie, set by finish */
	proto_put_u32(b, 0);		/* n, set by finish */
}

/* An entry put since before fits the payload's max bytes; if not, it
 * is taken back (-ENOSPC). */
static int
entry_fits(struct proto_buf *b, size_t before, size_t max)
{
	if (b->err || b->len - PROTO_HDR_LEN > max) {
		b->len = before;
		b->err = 0;
		return -ENOSPC;
	}
	return 0;
}

int
proto_enc_readdir_rep_add(struct proto_buf *b, struct proto_readdir_enc *e,
    const char *name, const struct proto_attr *a, size_t max)
{
	size_t before = b->len;

	proto_put_str(b, name);
	proto_put_attr(b, a);
	if (entry_fits(b, before, max) < 0)
		return -ENOSPC;
	e->n++;
	return 0;
}

void
proto_enc_readdir_rep_finish(struct proto_buf *b,
    const struct proto_readdir_enc *e, uint8_t eof, uint64_t next_cookie)
{
	proto_patch_u8(b, e->head, eof);
	proto_patch_u64(b, e->head + 1, next_cookie);
	proto_patch_u32(b, e->head + 9, e->n);
}

int
proto_dec_readdir_rep(struct proto_cur *c, struct proto_readdir_rep *r)
{
	if (proto_get_u8(c, &r->eof) < 0 ||
	    proto_get_u64(c, &r->next_cookie) < 0 || proto_get_u32(c, &r->n) < 0)
		return -EBADMSG;
	return 0;
}

int
proto_dec_readdir_ent(struct proto_cur *c, char *name, size_t namesz,
    struct proto_attr *a)
{
	if (proto_get_str(c, name, namesz) < 0 || !proto_name_ok(name) ||
	    proto_get_attr(c, a) < 0)
		return -EBADMSG;
	return 0;
}

void
proto_enc_fs_events_begin(struct proto_buf *b, struct proto_fs_events_enc *e)
{
	e->head = b->len;
	e->n = 0;
	proto_put_u32(b, 0);		/* watches, set by finish */
	proto_put_u8(b, 0);		/* limited, set by finish */
	proto_put_u32(b, 0);		/* n, set by finish */
}

int
proto_enc_fs_event_add(struct proto_buf *b, struct proto_fs_events_enc *e,
    uint32_t mask, const char *dir, const char *name, size_t max)
{
	size_t before = b->len;

	if (e->n >= PROTO_FS_EVENTS_MAX)
		return -ENOSPC;
	proto_put_u32(b, mask);
	proto_put_str(b, dir);
	proto_put_str(b, name);
	if (entry_fits(b, before, max) < 0)
		return -ENOSPC;
	e->n++;
	return 0;
}

void
proto_enc_fs_events_finish(struct proto_buf *b,
    const struct proto_fs_events_enc *e, uint32_t watches, uint8_t limited)
{
	proto_patch_u32(b, e->head, watches);
	proto_patch_u8(b, e->head + 4, limited);
	proto_patch_u32(b, e->head + 5, e->n);
}

int
proto_dec_fs_events(struct proto_cur *c, struct proto_fs_events *r)
{
	if (proto_get_u32(c, &r->watches) < 0 ||
	    proto_get_u8(c, &r->limited) < 0 || r->limited > 1 ||
	    proto_get_u32(c, &r->n) < 0 || r->n > PROTO_FS_EVENTS_MAX)
		return -EBADMSG;
	return 0;
}

int
proto_dec_fs_event(struct proto_cur *c, uint32_t *mask, char *dir,
    size_t dirsz, char *name, size_t namesz)
{
	if (proto_get_u32(c, mask) < 0 || *mask == 0 ||
	    (*mask & ~(uint32_t)FSEV_ALL_) != 0 ||
	    proto_get_str(c, dir, dirsz) < 0 || !proto_path_ok(dir) ||
	    proto_get_str(c, name, namesz) < 0 ||
	    (name[0] != '\0' && !proto_name_ok(name)))
		return -EBADMSG;
	return 0;
}
