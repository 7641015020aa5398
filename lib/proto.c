/*
 * Wire protocol codec: header checks, a capped output buffer and a
 * bounds-checked read cursor. Nothing here trusts a length it received.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "xmalloc.h"

static const char *op_names[OP_MAX_] = {
	[OP_LOOKUP] = "lookup",
	[OP_GETATTR] = "getattr",
	[OP_READDIR] = "readdir",
	[OP_OPEN] = "open",
	[OP_READ] = "read",
	[OP_RELEASE] = "release",
	[OP_READLINK] = "readlink",
	[OP_STATFS] = "statfs",
	[OP_GETXATTR] = "getxattr",
	[OP_LISTXATTR] = "listxattr",
	[OP_CREATE] = "create",
	[OP_WRITE] = "write",
	[OP_SETATTR] = "setattr",
	[OP_FSYNC] = "fsync",
	[OP_MKNOD] = "mknod",
	[OP_MKDIR] = "mkdir",
	[OP_UNLINK] = "unlink",
	[OP_RMDIR] = "rmdir",
	[OP_SYMLINK] = "symlink",
	[OP_RENAME] = "rename",
	[OP_LINK] = "link",
	[OP_SETXATTR] = "setxattr",
	[OP_REMOVEXATTR] = "removexattr",
	[OP_FALLOCATE] = "fallocate",
	[OP_FGETATTR] = "fgetattr",
	[OP_LOCK] = "lock",
	[OP_FLOCK] = "flock",
	[OP_FLUSH] = "flush",
	[OP_FGETXATTR] = "fgetxattr",
	[OP_FLISTXATTR] = "flistxattr",
	[OP_NET_INFO] = "net_info",
	[OP_DNS] = "dns",
	[OP_TARGET_INFO] = "target_info",
	[OP_INCOMING_SUB] = "incoming_sub",
	[OP_INCOMING_UNSUB] = "incoming_unsub",
};

static const char *stream_op_names[STREAM_MAX_] = {
	[STREAM_OPEN] = "stream_open",
	[STREAM_OPENED] = "stream_opened",
	[STREAM_DATA] = "stream_data",
	[STREAM_CREDIT] = "stream_credit",
	[STREAM_SHUT] = "stream_shut",
	[STREAM_CLOSE] = "stream_close",
	[STREAM_ACCEPT] = "stream_accept",
	[STREAM_FS_EVENT] = "stream_fs_event",
};

const char *
proto_stream_op_name(unsigned int op)
{
	if (op == 0 || op >= STREAM_MAX_)
		return "unknown";
	return stream_op_names[op];
}

const char *
proto_op_name(unsigned int op)
{
	if (op == 0)
		return "hello";
	if (op >= OP_MAX_ || op_names[op] == NULL)
		return "unknown";
	return op_names[op];
}

static uint16_t
le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) |
	    ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t
le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32);
}

static void
st16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static void
st32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = v >> 24;
}

static void
st64(uint8_t *p, uint64_t v)
{
	st32(p, (uint32_t)v);
	st32(p + 4, (uint32_t)(v >> 32));
}

int
proto_hdr_decode(const uint8_t *msg, size_t len, struct proto_hdr *h,
    struct proto_cur *payload)
{
	if (len < PROTO_HDR_LEN)
		return -EBADMSG;
	h->version = msg[0];
	h->kind = msg[1];
	h->op = le16(msg + 2);
	h->id = le32(msg + 4);
	h->status = le32(msg + 8);
	h->length = le32(msg + 12);
	if (h->version != PROTO_VERSION)
		return -EPROTONOSUPPORT;
	if (h->kind < MSG_HELLO || h->kind > MSG_STREAM)
		return -EBADMSG;
	if (h->length > PROTO_PAYLOAD_MAX)
		return -EMSGSIZE;
	if ((size_t)h->length != len - PROTO_HDR_LEN)
		return -EBADMSG;
	if (h->kind == MSG_HELLO ? h->op != 0 : h->kind == MSG_STREAM ?
	    (h->op == 0 || h->op >= STREAM_MAX_) :
	    (h->op == 0 || h->op >= OP_MAX_))
		return -EOPNOTSUPP;
	payload->p = msg + PROTO_HDR_LEN;
	payload->left = h->length;
	return 0;
}

void
proto_buf_init(struct proto_buf *b, size_t hint)
{
	if (hint < 256)
		hint = 256;
	if (hint > PROTO_MSG_MAX)
		hint = PROTO_MSG_MAX;
	b->data = xmalloc(hint);
	b->cap = hint;
	b->len = 0;
	b->err = 0;
}

void
proto_buf_copy(struct proto_buf *b, const uint8_t *msg, size_t len)
{
	proto_buf_init(b, len);
	if (len > b->cap) {
		b->err = -EMSGSIZE;
		return;
	}
	memcpy(b->data, msg, len);
	b->len = len;
}

void
proto_buf_free(struct proto_buf *b)
{
	x_free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Room for n more bytes, or NULL (and a sticky error) past the cap. */
static uint8_t *
buf_room(struct proto_buf *b, size_t n)
{
	uint8_t *p;

	if (b->err)
		return NULL;
	if (n > PROTO_MSG_MAX - b->len) {
		b->err = -EMSGSIZE;
		return NULL;
	}
	if (b->len + n > b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 256;

		while (ncap < b->len + n)
			ncap *= 2;
		if (ncap > PROTO_MSG_MAX)
			ncap = PROTO_MSG_MAX;
		b->data = xrealloc(b->data, ncap);
		b->cap = ncap;
	}
	p = b->data + b->len;
	b->len += n;
	return p;
}

void
proto_begin(struct proto_buf *b, uint8_t kind, uint16_t op, uint32_t id,
    uint32_t status)
{
	uint8_t *p;

	b->len = 0;
	b->err = 0;
	p = buf_room(b, PROTO_HDR_LEN);
	proto_hdr_encode(p, kind, op, id, status, 0);
}

void
proto_hdr_encode(uint8_t *p, uint8_t kind, uint16_t op, uint32_t id,
    uint32_t status, uint32_t length)
{
	p[0] = PROTO_VERSION;
	p[1] = kind;
	st16(p + 2, op);
	st32(p + 4, id);
	st32(p + 8, status);
	st32(p + 12, length);
}

void
proto_set_id(struct proto_buf *b, uint32_t id)
{
	if (b->len >= PROTO_HDR_LEN)
		st32(b->data + 4, id);
}

int
proto_finish(struct proto_buf *b)
{
	if (b->err)
		return b->err;
	if (b->len < PROTO_HDR_LEN)
		return -EINVAL;
	if (b->len - PROTO_HDR_LEN > PROTO_PAYLOAD_MAX)
		return -EMSGSIZE;
	st32(b->data + 12, (uint32_t)(b->len - PROTO_HDR_LEN));
	return 0;
}

void
proto_put_u8(struct proto_buf *b, uint8_t v)
{
	uint8_t *p = buf_room(b, 1);

	if (p)
		*p = v;
}

void
proto_put_u16(struct proto_buf *b, uint16_t v)
{
	uint8_t *p = buf_room(b, 2);

	if (p)
		st16(p, v);
}

void
proto_put_u32(struct proto_buf *b, uint32_t v)
{
	uint8_t *p = buf_room(b, 4);

	if (p)
		st32(p, v);
}

void
proto_put_u64(struct proto_buf *b, uint64_t v)
{
	uint8_t *p = buf_room(b, 8);

	if (p)
		st64(p, v);
}

void
proto_put_strn(struct proto_buf *b, const char *s, size_t n)
{
	uint8_t *p;

	if (n > UINT16_MAX) {
		b->err = -ENAMETOOLONG;
		return;
	}
	proto_put_u16(b, (uint16_t)n);
	if ((p = buf_room(b, n)) != NULL)
		memcpy(p, s, n);
}

void
proto_put_str(struct proto_buf *b, const char *s)
{
	proto_put_strn(b, s, strlen(s));
}

void
proto_put_bytes(struct proto_buf *b, const void *src, size_t n)
{
	uint8_t *p = proto_put_bytes_reserve(b, n);

	if (p && n)
		memcpy(p, src, n);
}

void
proto_patch_u32(struct proto_buf *b, size_t at, uint32_t v)
{
	if (b->err == 0 && at + 4 <= b->len)
		st32(b->data + at, v);
}

void
proto_patch_u8(struct proto_buf *b, size_t at, uint8_t v)
{
	if (b->err == 0 && at < b->len)
		b->data[at] = v;
}

void
proto_patch_u64(struct proto_buf *b, size_t at, uint64_t v)
{
	if (b->err == 0 && at + 8 <= b->len)
		st64(b->data + at, v);
}

void
proto_put_raw(struct proto_buf *b, const void *src, size_t n)
{
	uint8_t *p = buf_room(b, n);

	if (p && n)
		memcpy(p, src, n);
}

uint8_t *
proto_put_bytes_reserve(struct proto_buf *b, size_t n)
{
	if (n > UINT32_MAX) {
		b->err = -EMSGSIZE;
		return NULL;
	}
	proto_put_u32(b, (uint32_t)n);
	return buf_room(b, n);
}

void
proto_bytes_trim(struct proto_buf *b, uint8_t *at, size_t used)
{
	size_t reserved;

	if (b->err || at == NULL || at < b->data + 4 || at > b->data + b->len)
		return;		/* not inside this buffer (any more) */
	reserved = le32(at - 4);
	if (used > reserved || at + reserved != b->data + b->len)
		return;		/* not the last field: leave it alone */
	st32(at - 4, (uint32_t)used);
	b->len -= reserved - used;
}

void
proto_put_attr(struct proto_buf *b, const struct proto_attr *a)
{
	proto_put_u64(b, a->dev);
	proto_put_u64(b, a->ino);
	proto_put_u32(b, a->mode);
	proto_put_u32(b, a->nlink);
	proto_put_u32(b, a->uid);
	proto_put_u32(b, a->gid);
	proto_put_u64(b, a->rdev);
	proto_put_u64(b, a->size);
	proto_put_u64(b, a->blocks);
	proto_put_u32(b, a->blksize);
	proto_put_u64(b, (uint64_t)a->atime_sec);
	proto_put_u32(b, a->atime_nsec);
	proto_put_u64(b, (uint64_t)a->mtime_sec);
	proto_put_u32(b, a->mtime_nsec);
	proto_put_u64(b, (uint64_t)a->ctime_sec);
	proto_put_u32(b, a->ctime_nsec);
	proto_put_u32(b, a->flags);
}

void
proto_put_statfs(struct proto_buf *b, const struct proto_statfs *s)
{
	proto_put_u64(b, s->bsize);
	proto_put_u64(b, s->frsize);
	proto_put_u64(b, s->blocks);
	proto_put_u64(b, s->bfree);
	proto_put_u64(b, s->bavail);
	proto_put_u64(b, s->files);
	proto_put_u64(b, s->ffree);
	proto_put_u64(b, s->favail);
	proto_put_u64(b, s->namemax);
}

static const uint8_t *
cur_take(struct proto_cur *c, size_t n)
{
	const uint8_t *p;

	if (c->left < n) {
		c->left = 0;
		return NULL;
	}
	p = c->p;
	c->p += n;
	c->left -= n;
	return p;
}

int
proto_get_u8(struct proto_cur *c, uint8_t *v)
{
	const uint8_t *p = cur_take(c, 1);

	if (p == NULL)
		return -EBADMSG;
	*v = *p;
	return 0;
}

int
proto_get_u16(struct proto_cur *c, uint16_t *v)
{
	const uint8_t *p = cur_take(c, 2);

	if (p == NULL)
		return -EBADMSG;
	*v = le16(p);
	return 0;
}

int
proto_get_u32(struct proto_cur *c, uint32_t *v)
{
	const uint8_t *p = cur_take(c, 4);

	if (p == NULL)
		return -EBADMSG;
	*v = le32(p);
	return 0;
}

int
proto_get_u64(struct proto_cur *c, uint64_t *v)
{
	const uint8_t *p = cur_take(c, 8);

	if (p == NULL)
		return -EBADMSG;
	*v = le64(p);
	return 0;
}

int
proto_get_str(struct proto_cur *c, char *dst, size_t dstsz)
{
	uint16_t n;
	const uint8_t *p;

	if (proto_get_u16(c, &n) < 0)
		return -EBADMSG;
	if ((size_t)n >= dstsz) {
		c->left = 0;
		return -EBADMSG;
	}
	if ((p = cur_take(c, n)) == NULL)
		return -EBADMSG;
	if (memchr(p, '\0', n) != NULL) {
		c->left = 0;
		return -EBADMSG;
	}
	memcpy(dst, p, n);
	dst[n] = '\0';
	return 0;
}

int
proto_get_bytes(struct proto_cur *c, const uint8_t **p, uint32_t *n,
    uint32_t max)
{
	uint32_t len;

	if (proto_get_u32(c, &len) < 0)
		return -EBADMSG;
	if (len > max) {
		c->left = 0;
		return -EBADMSG;
	}
	if ((*p = cur_take(c, len)) == NULL)
		return -EBADMSG;
	*n = len;
	return 0;
}

int
proto_get_attr(struct proto_cur *c, struct proto_attr *a)
{
	uint64_t t;

	if (proto_get_u64(c, &a->dev) < 0 ||
	    proto_get_u64(c, &a->ino) < 0 ||
	    proto_get_u32(c, &a->mode) < 0 ||
	    proto_get_u32(c, &a->nlink) < 0 ||
	    proto_get_u32(c, &a->uid) < 0 ||
	    proto_get_u32(c, &a->gid) < 0 ||
	    proto_get_u64(c, &a->rdev) < 0 ||
	    proto_get_u64(c, &a->size) < 0 ||
	    proto_get_u64(c, &a->blocks) < 0 ||
	    proto_get_u32(c, &a->blksize) < 0)
		return -EBADMSG;
	if (proto_get_u64(c, &t) < 0)
		return -EBADMSG;
	a->atime_sec = (int64_t)t;
	if (proto_get_u32(c, &a->atime_nsec) < 0 || proto_get_u64(c, &t) < 0)
		return -EBADMSG;
	a->mtime_sec = (int64_t)t;
	if (proto_get_u32(c, &a->mtime_nsec) < 0 || proto_get_u64(c, &t) < 0)
		return -EBADMSG;
	a->ctime_sec = (int64_t)t;
	if (proto_get_u32(c, &a->ctime_nsec) < 0 ||
	    proto_get_u32(c, &a->flags) < 0)
		return -EBADMSG;
	if (a->atime_nsec >= 1000000000u || a->mtime_nsec >= 1000000000u ||
	    a->ctime_nsec >= 1000000000u)
		return -EBADMSG;
	return 0;
}

int
proto_get_statfs(struct proto_cur *c, struct proto_statfs *s)
{
	if (proto_get_u64(c, &s->bsize) < 0 ||
	    proto_get_u64(c, &s->frsize) < 0 ||
	    proto_get_u64(c, &s->blocks) < 0 ||
	    proto_get_u64(c, &s->bfree) < 0 ||
	    proto_get_u64(c, &s->bavail) < 0 ||
	    proto_get_u64(c, &s->files) < 0 ||
	    proto_get_u64(c, &s->ffree) < 0 ||
	    proto_get_u64(c, &s->favail) < 0 ||
	    proto_get_u64(c, &s->namemax) < 0)
		return -EBADMSG;
	return 0;
}

int
proto_end(struct proto_cur *c)
{
	return c->left == 0 ? 0 : -EBADMSG;
}

void
proto_attr_from_stat(struct proto_attr *a, const struct stat *st)
{
	memset(a, 0, sizeof(*a));
	a->dev = st->st_dev;
	a->ino = st->st_ino;
	a->mode = st->st_mode;
	a->nlink = (uint32_t)st->st_nlink;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->rdev = st->st_rdev;
	a->size = (uint64_t)st->st_size;
	a->blocks = (uint64_t)st->st_blocks;
	a->blksize = (uint32_t)st->st_blksize;
	a->atime_sec = st->st_atim.tv_sec;
	a->atime_nsec = (uint32_t)st->st_atim.tv_nsec;
	a->mtime_sec = st->st_mtim.tv_sec;
	a->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	a->ctime_sec = st->st_ctim.tv_sec;
	a->ctime_nsec = (uint32_t)st->st_ctim.tv_nsec;
}

void
proto_attr_to_stat(const struct proto_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = a->dev;
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_rdev = a->rdev;
	st->st_size = (off_t)a->size;
	st->st_blocks = (blkcnt_t)a->blocks;
	st->st_blksize = (blksize_t)a->blksize;
	st->st_atim.tv_sec = a->atime_sec;
	st->st_atim.tv_nsec = a->atime_nsec;
	st->st_mtim.tv_sec = a->mtime_sec;
	st->st_mtim.tv_nsec = a->mtime_nsec;
	st->st_ctim.tv_sec = a->ctime_sec;
	st->st_ctim.tv_nsec = a->ctime_nsec;
}

void
proto_statfs_from_statvfs(struct proto_statfs *s, const struct statvfs *sv)
{
	s->bsize = sv->f_bsize;
	s->frsize = sv->f_frsize;
	s->blocks = sv->f_blocks;
	s->bfree = sv->f_bfree;
	s->bavail = sv->f_bavail;
	s->files = sv->f_files;
	s->ffree = sv->f_ffree;
	s->favail = sv->f_favail;
	s->namemax = sv->f_namemax;
}

void
proto_statfs_to_statvfs(const struct proto_statfs *s, struct statvfs *sv)
{
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = s->bsize;
	sv->f_frsize = s->frsize;
	sv->f_blocks = s->blocks;
	sv->f_bfree = s->bfree;
	sv->f_bavail = s->bavail;
	sv->f_files = s->files;
	sv->f_ffree = s->ffree;
	sv->f_favail = s->favail;
	sv->f_namemax = s->namemax;
}

int
proto_path_ok(const char *path)
{
	size_t n = strnlen(path, PROTO_PATH_MAX + 1);

	return n > 0 && n <= PROTO_PATH_MAX && path[0] == '/';
}

int
proto_name_ok(const char *name)
{
	size_t n = strnlen(name, PROTO_NAME_MAX + 1);

	if (n == 0 || n > PROTO_NAME_MAX || strchr(name, '/') != NULL)
		return 0;
	return strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

int
proto_lock_to_fcntl(unsigned int lock_type)
{
	return lock_type == LOCK_TYPE_READ ? F_RDLCK :
	    lock_type == LOCK_TYPE_WRITE ? F_WRLCK : F_UNLCK;
}

uint8_t
proto_lock_from_fcntl(int l_type)
{
	return l_type == F_RDLCK ? LOCK_TYPE_READ :
	    l_type == F_WRLCK ? LOCK_TYPE_WRITE : LOCK_TYPE_UNLOCK;
}
