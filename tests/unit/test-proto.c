/*
 * Unit tests of the wire protocol codec (lib/proto.c): round trips of
 * every message kind and operation in proto.h, header checks, every
 * truncation and every oversized length rejected, leftovers rejected,
 * the output buffer's hard cap, proto_bytes_trim and the path and name
 * checks. Prints TAP; exits 0 only if every test passed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "proto.h"
#include "xmalloc.h"

#include "tap.h"

/* Decoders return 0, a negative errno from lib/ or MISMATCH. */
#define MISMATCH	1
#define GET(x) do {			\
	int rc_ = (x);			\
	if (rc_ < 0)			\
		return rc_;		\
} while (0)
#define WANT(x) do {			\
	if (!(x))			\
		return MISMATCH;	\
} while (0)

/* ---------------------------------------------------------------- */
/* Values carried by each layout. */

struct v_hello_c {
	uint32_t	 caps;
	const uint8_t	*tok;
	uint32_t	 toklen;
};

struct v_hello_a {
	uint32_t	 caps;
	const char	*server;
};

struct v_path {
	const char	*path;
};

struct v_readdir_req {
	const char	*path;
	uint64_t	 cookie;
	uint32_t	 max;
};

struct v_open_req {
	const char	*path;
	uint32_t	 flags;
};

struct v_read_req {
	uint64_t	 fh, offset;
	uint32_t	 size;
};

struct v_fh {
	uint64_t	 fh;
};

struct v_getxattr_req {
	const char	*path, *name;
	uint32_t	 size;
};

struct v_listxattr_req {
	const char	*path;
	uint32_t	 size;
};

struct v_attr {
	const struct proto_attr *a;
};

#define DIRENT_TEST_MAX	8
struct v_readdir_rep {
	uint8_t		 eof;
	uint64_t	 next;
	uint32_t	 n;
	const char	*names[DIRENT_TEST_MAX];
	const struct proto_attr *attrs[DIRENT_TEST_MAX];
};

struct v_open_rep {
	uint64_t	 fh;
	const struct proto_attr *a;
};

struct v_data {
	const uint8_t	*p;
	uint32_t	 n;
};

struct v_str {
	const char	*s;
};

struct v_statfs {
	const struct proto_statfs *s;
};

struct v_xattr_rep {
	uint32_t	 needed;
	const uint8_t	*p;
	uint32_t	 n;
};

/* ---------------------------------------------------------------- */
/* Comparisons. */

static int
attr_eq(const struct proto_attr *x, const struct proto_attr *y)
{
	return x->dev == y->dev && x->ino == y->ino && x->mode == y->mode &&
	    x->nlink == y->nlink && x->uid == y->uid && x->gid == y->gid &&
	    x->rdev == y->rdev && x->size == y->size &&
	    x->blocks == y->blocks && x->blksize == y->blksize &&
	    x->atime_sec == y->atime_sec && x->atime_nsec == y->atime_nsec &&
	    x->mtime_sec == y->mtime_sec && x->mtime_nsec == y->mtime_nsec &&
	    x->ctime_sec == y->ctime_sec && x->ctime_nsec == y->ctime_nsec &&
	    x->flags == y->flags;
}

static int
statfs_eq(const struct proto_statfs *x, const struct proto_statfs *y)
{
	return x->bsize == y->bsize && x->frsize == y->frsize &&
	    x->blocks == y->blocks && x->bfree == y->bfree &&
	    x->bavail == y->bavail && x->files == y->files &&
	    x->ffree == y->ffree && x->favail == y->favail &&
	    x->namemax == y->namemax;
}

static int
mem_eq(const uint8_t *a, uint32_t an, const uint8_t *b, uint32_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* ---------------------------------------------------------------- */
/* Encoders and decoders, one pair per payload layout in proto.h. */

static void
enc_hello_c(struct proto_buf *b, const void *arg)
{
	const struct v_hello_c *v = arg;

	proto_put_u32(b, v->caps);
	proto_put_bytes(b, v->tok, v->toklen);
}

static int
dec_hello_c(struct proto_cur *c, const void *arg)
{
	const struct v_hello_c *v = arg;
	const uint8_t *tok;
	uint32_t caps, n;

	GET(proto_get_u32(c, &caps));
	GET(proto_get_bytes(c, &tok, &n, PROTO_TOKEN_MAX));
	GET(proto_end(c));
	WANT(caps == v->caps && mem_eq(tok, n, v->tok, v->toklen));
	return 0;
}

static void
enc_hello_a(struct proto_buf *b, const void *arg)
{
	const struct v_hello_a *v = arg;

	proto_put_u32(b, v->caps);
	proto_put_str(b, v->server);
}

static int
dec_hello_a(struct proto_cur *c, const void *arg)
{
	const struct v_hello_a *v = arg;
	char server[256];
	uint32_t caps;

	GET(proto_get_u32(c, &caps));
	GET(proto_get_str(c, server, sizeof(server)));
	GET(proto_end(c));
	WANT(caps == v->caps && strcmp(server, v->server) == 0);
	return 0;
}

static void
enc_path(struct proto_buf *b, const void *arg)
{
	const struct v_path *v = arg;

	proto_put_str(b, v->path);
}

static int
dec_path(struct proto_cur *c, const void *arg)
{
	const struct v_path *v = arg;
	char path[PROTO_PATH_MAX + 1];

	GET(proto_get_str(c, path, sizeof(path)));
	GET(proto_end(c));
	WANT(strcmp(path, v->path) == 0);
	return 0;
}

static void
enc_readdir_req(struct proto_buf *b, const void *arg)
{
	const struct v_readdir_req *v = arg;

	proto_put_str(b, v->path);
	proto_put_u64(b, v->cookie);
	proto_put_u32(b, v->max);
}

static int
dec_readdir_req(struct proto_cur *c, const void *arg)
{
	const struct v_readdir_req *v = arg;
	char path[PROTO_PATH_MAX + 1];
	uint64_t cookie;
	uint32_t max;

	GET(proto_get_str(c, path, sizeof(path)));
	GET(proto_get_u64(c, &cookie));
	GET(proto_get_u32(c, &max));
	GET(proto_end(c));
	WANT(strcmp(path, v->path) == 0 && cookie == v->cookie &&
	    max == v->max);
	return 0;
}

static void
enc_open_req(struct proto_buf *b, const void *arg)
{
	const struct v_open_req *v = arg;

	proto_put_str(b, v->path);
	proto_put_u32(b, v->flags);
}

static int
dec_open_req(struct proto_cur *c, const void *arg)
{
	const struct v_open_req *v = arg;
	char path[PROTO_PATH_MAX + 1];
	uint32_t flags;

	GET(proto_get_str(c, path, sizeof(path)));
	GET(proto_get_u32(c, &flags));
	GET(proto_end(c));
	WANT(strcmp(path, v->path) == 0 && flags == v->flags);
	return 0;
}

static void
enc_read_req(struct proto_buf *b, const void *arg)
{
	const struct v_read_req *v = arg;

	proto_put_u64(b, v->fh);
	proto_put_u64(b, v->offset);
	proto_put_u32(b, v->size);
}

static int
dec_read_req(struct proto_cur *c, const void *arg)
{
	const struct v_read_req *v = arg;
	uint64_t fh, offset;
	uint32_t size;

	GET(proto_get_u64(c, &fh));
	GET(proto_get_u64(c, &offset));
	GET(proto_get_u32(c, &size));
	GET(proto_end(c));
	WANT(fh == v->fh && offset == v->offset && size == v->size);
	return 0;
}

static void
enc_fh(struct proto_buf *b, const void *arg)
{
	const struct v_fh *v = arg;

	proto_put_u64(b, v->fh);
}

static int
dec_fh(struct proto_cur *c, const void *arg)
{
	const struct v_fh *v = arg;
	uint64_t fh;

	GET(proto_get_u64(c, &fh));
	GET(proto_end(c));
	WANT(fh == v->fh);
	return 0;
}

static void
enc_getxattr_req(struct proto_buf *b, const void *arg)
{
	const struct v_getxattr_req *v = arg;

	proto_put_str(b, v->path);
	proto_put_str(b, v->name);
	proto_put_u32(b, v->size);
}

static int
dec_getxattr_req(struct proto_cur *c, const void *arg)
{
	const struct v_getxattr_req *v = arg;
	char path[PROTO_PATH_MAX + 1], name[PROTO_NAME_MAX + 1];
	uint32_t size;

	GET(proto_get_str(c, path, sizeof(path)));
	GET(proto_get_str(c, name, sizeof(name)));
	GET(proto_get_u32(c, &size));
	GET(proto_end(c));
	WANT(strcmp(path, v->path) == 0 && strcmp(name, v->name) == 0 &&
	    size == v->size);
	return 0;
}

static void
enc_listxattr_req(struct proto_buf *b, const void *arg)
{
	const struct v_listxattr_req *v = arg;

	proto_put_str(b, v->path);
	proto_put_u32(b, v->size);
}

static int
dec_listxattr_req(struct proto_cur *c, const void *arg)
{
	const struct v_listxattr_req *v = arg;
	char path[PROTO_PATH_MAX + 1];
	uint32_t size;

	GET(proto_get_str(c, path, sizeof(path)));
	GET(proto_get_u32(c, &size));
	GET(proto_end(c));
	WANT(strcmp(path, v->path) == 0 && size == v->size);
	return 0;
}

static void
enc_attr(struct proto_buf *b, const void *arg)
{
	const struct v_attr *v = arg;

	proto_put_attr(b, v->a);
}

static int
dec_attr(struct proto_cur *c, const void *arg)
{
	const struct v_attr *v = arg;
	struct proto_attr a;

	GET(proto_get_attr(c, &a));
	GET(proto_end(c));
	WANT(attr_eq(&a, v->a));
	return 0;
}

static void
enc_readdir_rep(struct proto_buf *b, const void *arg)
{
	const struct v_readdir_rep *v = arg;
	uint32_t i;

	proto_put_u8(b, v->eof);
	proto_put_u64(b, v->next);
	proto_put_u32(b, v->n);
	for (i = 0; i < v->n; i++) {
		proto_put_str(b, v->names[i]);
		proto_put_attr(b, v->attrs[i]);
	}
}

static int
dec_readdir_rep(struct proto_cur *c, const void *arg)
{
	const struct v_readdir_rep *v = arg;
	char name[PROTO_NAME_MAX + 1];
	struct proto_attr a;
	uint64_t next;
	uint32_t i, n;
	uint8_t eof;

	GET(proto_get_u8(c, &eof));
	GET(proto_get_u64(c, &next));
	GET(proto_get_u32(c, &n));
	WANT(eof == v->eof && next == v->next && n == v->n);
	for (i = 0; i < n; i++) {
		GET(proto_get_str(c, name, sizeof(name)));
		GET(proto_get_attr(c, &a));
		WANT(strcmp(name, v->names[i]) == 0 &&
		    attr_eq(&a, v->attrs[i]));
	}
	GET(proto_end(c));
	return 0;
}

static void
enc_open_rep(struct proto_buf *b, const void *arg)
{
	const struct v_open_rep *v = arg;

	proto_put_u64(b, v->fh);
	proto_put_attr(b, v->a);
}

static int
dec_open_rep(struct proto_cur *c, const void *arg)
{
	const struct v_open_rep *v = arg;
	struct proto_attr a;
	uint64_t fh;

	GET(proto_get_u64(c, &fh));
	GET(proto_get_attr(c, &a));
	GET(proto_end(c));
	WANT(fh == v->fh && attr_eq(&a, v->a));
	return 0;
}

static void
enc_data(struct proto_buf *b, const void *arg)
{
	const struct v_data *v = arg;

	proto_put_bytes(b, v->p, v->n);
}

static int
dec_data(struct proto_cur *c, const void *arg)
{
	const struct v_data *v = arg;
	const uint8_t *p;
	uint32_t n;

	GET(proto_get_bytes(c, &p, &n, PROTO_READ_MAX));
	GET(proto_end(c));
	WANT(mem_eq(p, n, v->p, v->n));
	return 0;
}

static void
enc_empty(struct proto_buf *b, const void *arg)
{
	(void)b;
	(void)arg;
}

static int
dec_empty(struct proto_cur *c, const void *arg)
{
	(void)arg;
	GET(proto_end(c));
	return 0;
}

static void
enc_str(struct proto_buf *b, const void *arg)
{
	const struct v_str *v = arg;

	proto_put_str(b, v->s);
}

static int
dec_str(struct proto_cur *c, const void *arg)
{
	const struct v_str *v = arg;
	char s[PROTO_PATH_MAX + 1];

	GET(proto_get_str(c, s, sizeof(s)));
	GET(proto_end(c));
	WANT(strcmp(s, v->s) == 0);
	return 0;
}

static void
enc_statfs(struct proto_buf *b, const void *arg)
{
	const struct v_statfs *v = arg;

	proto_put_statfs(b, v->s);
}

static int
dec_statfs(struct proto_cur *c, const void *arg)
{
	const struct v_statfs *v = arg;
	struct proto_statfs s;

	GET(proto_get_statfs(c, &s));
	GET(proto_end(c));
	WANT(statfs_eq(&s, v->s));
	return 0;
}

static void
enc_xattr_rep(struct proto_buf *b, const void *arg)
{
	const struct v_xattr_rep *v = arg;

	proto_put_u32(b, v->needed);
	proto_put_bytes(b, v->p, v->n);
}

static int
dec_xattr_rep(struct proto_cur *c, const void *arg)
{
	const struct v_xattr_rep *v = arg;
	const uint8_t *p;
	uint32_t needed, n;

	GET(proto_get_u32(c, &needed));
	GET(proto_get_bytes(c, &p, &n, PROTO_XATTR_MAX));
	GET(proto_end(c));
	WANT(needed == v->needed && mem_eq(p, n, v->p, v->n));
	return 0;
}

/* ---------------------------------------------------------------- */
/* Test values. */

static char long_path[PROTO_PATH_MAX + 1];	/* exactly PROTO_PATH_MAX */
static char long_name[PROTO_NAME_MAX + 1];	/* exactly PROTO_NAME_MAX */
static uint8_t long_token[PROTO_TOKEN_MAX];
static uint8_t *big_data;			/* PROTO_READ_MAX bytes */
static uint8_t *big_xattr;			/* PROTO_XATTR_MAX bytes */

static const struct proto_attr attr_plain = {
	.dev = 2049, .ino = 1234567, .mode = S_IFREG | 0644, .nlink = 1,
	.uid = 1000, .gid = 1000, .rdev = 0, .size = 4096, .blocks = 8,
	.blksize = 4096, .atime_sec = 1700000000, .atime_nsec = 1,
	.mtime_sec = 1700000001, .mtime_nsec = 500000000,
	.ctime_sec = 1700000002, .ctime_nsec = 999999999, .flags = ATTR_NO_XATTR,
};

static const struct proto_attr attr_max = {
	.dev = UINT64_MAX, .ino = UINT64_MAX, .mode = UINT32_MAX,
	.nlink = UINT32_MAX, .uid = UINT32_MAX, .gid = UINT32_MAX,
	.rdev = UINT64_MAX, .size = UINT64_MAX, .blocks = UINT64_MAX,
	.blksize = UINT32_MAX, .atime_sec = INT64_MAX,
	.atime_nsec = 999999999, .mtime_sec = INT64_MIN,
	.mtime_nsec = 999999999, .ctime_sec = -1, .ctime_nsec = 999999999,
};

static const struct proto_attr attr_zero;

static const struct proto_attr attr_neg = {
	.mode = S_IFLNK | 0777, .atime_sec = -1700000000, .mtime_sec = -1,
	.ctime_sec = INT64_MIN + 1, .ctime_nsec = 0,
};

static const struct v_hello_c hc_plain = { 0x1, (const uint8_t *)"s3cret", 6 };
static const struct v_hello_c hc_empty = { 0, NULL, 0 };
static const struct v_hello_c hc_max = { UINT32_MAX, long_token,
    sizeof(long_token) };
static const struct v_hello_a ha_plain = { 0x3, "mirror-agent 0.1.0" };
static const struct v_hello_a ha_empty = { 0, "" };
static const struct v_path p_root = { "/" };
static const struct v_path p_passwd = { "/etc/passwd" };
static const struct v_path p_long = { long_path };
static const struct v_readdir_req rd_req = { "/usr/lib", 0, 1000 };
static const struct v_readdir_req rd_req_max = { "/", UINT64_MAX, UINT32_MAX };
static const struct v_open_req open_req = { "/etc/hosts", O_RDONLY };
static const struct v_open_req open_req_max = { "/x", UINT32_MAX };
static const struct v_read_req read_req = { 7, 131072, 1048576 };
static const struct v_read_req read_req_max = { UINT64_MAX, UINT64_MAX,
    UINT32_MAX };
static const struct v_fh rel_req = { 42 };
static const struct v_fh rel_req_max = { UINT64_MAX };
static const struct v_getxattr_req gx_req = { "/etc/passwd",
    "security.selinux", 256 };
static const struct v_getxattr_req gx_req_max = { long_path, long_name,
    UINT32_MAX };
static const struct v_listxattr_req lx_req = { "/bin/ping", 0 };
static const struct v_listxattr_req lx_req_max = { long_path, UINT32_MAX };
static const struct v_attr at_plain = { &attr_plain };
static const struct v_attr at_max = { &attr_max };
static const struct v_attr at_zero = { &attr_zero };
static const struct v_attr at_neg = { &attr_neg };
static const struct v_readdir_rep rd_rep_empty = { 1, 0, 0, { NULL },
    { NULL } };
static const struct v_readdir_rep rd_rep = { 0, 3, 3,
    { "a", ".hidden", "with space" },
    { &attr_plain, &attr_max, &attr_neg } };
static const struct v_readdir_rep rd_rep_long = { 1, UINT64_MAX, 5,
    { long_name, "\xc3\xbc\xc3\xb1\xc3\xaf", "...", "x", "lost+found" },
    { &attr_zero, &attr_plain, &attr_max, &attr_neg, &attr_plain } };
static const struct v_open_rep open_rep = { 9, &attr_plain };
static const struct v_open_rep open_rep_max = { UINT64_MAX, &attr_max };
static const struct v_data data_small = { (const uint8_t *)"root:x:0:0\n",
    11 };
static const struct v_data data_empty = { NULL, 0 };
static struct v_data data_big;			/* filled in main() */
static const struct v_str rl_rel = { "../lib/x86_64-linux-gnu/libc.so.6" };
static const struct v_str rl_long = { long_path };
static const struct v_str rl_empty = { "" };
static const struct proto_statfs sfs_plain = { 4096, 4096, 1000000, 500000,
    400000, 65536, 60000, 60000, 255 };
static const struct proto_statfs sfs_max = { UINT64_MAX, UINT64_MAX,
    UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX,
    UINT64_MAX };
static const struct v_statfs sf_plain = { &sfs_plain };
static const struct v_statfs sf_max = { &sfs_max };
static const struct v_xattr_rep xa_rep = { 14, (const uint8_t *)"user.a\0user.b",
    14 };
static const struct v_xattr_rep xa_rep_probe = { 65536, NULL, 0 };
static struct v_xattr_rep xa_rep_max;		/* filled in main() */

struct mcase {
	const char	*name;
	uint8_t		 kind;
	uint16_t	 op;
	uint32_t	 id;
	uint32_t	 status;
	void		(*enc)(struct proto_buf *, const void *);
	int		(*dec)(struct proto_cur *, const void *);
	const void	*arg;
};

#define C(name, kind, op, id, st, l, arg) \
	{ name, kind, op, id, st, enc_##l, dec_##l, arg }

static const struct mcase cases[] = {
	C("hello c->a", MSG_HELLO, 0, 0, 0, hello_c, &hc_plain),
	C("hello c->a empty token", MSG_HELLO, 0, 0, 0, hello_c, &hc_empty),
	C("hello c->a token at limit", MSG_HELLO, 0, UINT32_MAX, 0, hello_c,
	    &hc_max),
	C("hello a->c", MSG_HELLO, 0, 0, 0, hello_a, &ha_plain),
	C("hello a->c empty server", MSG_HELLO, 0, 0, 0, hello_a, &ha_empty),
	C("hello a->c EACCES", MSG_HELLO, 0, 0, EACCES, empty, NULL),
	C("lookup req /", MSG_REQUEST, OP_LOOKUP, 1, 0, path, &p_root),
	C("lookup req path at limit", MSG_REQUEST, OP_LOOKUP, 2, 0, path,
	    &p_long),
	C("getattr req", MSG_REQUEST, OP_GETATTR, 3, 0, path, &p_passwd),
	C("readdir req", MSG_REQUEST, OP_READDIR, 4, 0, readdir_req, &rd_req),
	C("readdir req extremes", MSG_REQUEST, OP_READDIR, UINT32_MAX, 0,
	    readdir_req, &rd_req_max),
	C("open req", MSG_REQUEST, OP_OPEN, 5, 0, open_req, &open_req),
	C("open req extremes", MSG_REQUEST, OP_OPEN, 5, 0, open_req,
	    &open_req_max),
	C("read req", MSG_REQUEST, OP_READ, 6, 0, read_req, &read_req),
	C("read req extremes", MSG_REQUEST, OP_READ, 6, 0, read_req,
	    &read_req_max),
	C("release req", MSG_REQUEST, OP_RELEASE, 7, 0, fh, &rel_req),
	C("release req extremes", MSG_REQUEST, OP_RELEASE, 7, 0, fh,
	    &rel_req_max),
	C("readlink req", MSG_REQUEST, OP_READLINK, 8, 0, path, &p_passwd),
	C("statfs req", MSG_REQUEST, OP_STATFS, 9, 0, path, &p_root),
	C("getxattr req", MSG_REQUEST, OP_GETXATTR, 10, 0, getxattr_req,
	    &gx_req),
	C("getxattr req at limits", MSG_REQUEST, OP_GETXATTR, 10, 0,
	    getxattr_req, &gx_req_max),
	C("listxattr req", MSG_REQUEST, OP_LISTXATTR, 11, 0, listxattr_req,
	    &lx_req),
	C("listxattr req at limits", MSG_REQUEST, OP_LISTXATTR, 11, 0,
	    listxattr_req, &lx_req_max),
	C("lookup reply", MSG_REPLY, OP_LOOKUP, 1, 0, attr, &at_plain),
	C("lookup reply extreme attr", MSG_REPLY, OP_LOOKUP, 1, 0, attr,
	    &at_max),
	C("getattr reply", MSG_REPLY, OP_GETATTR, 3, 0, attr, &at_plain),
	C("getattr reply zero attr", MSG_REPLY, OP_GETATTR, 3, 0, attr,
	    &at_zero),
	C("getattr reply negative times", MSG_REPLY, OP_GETATTR, 3, 0, attr,
	    &at_neg),
	C("getattr reply ENOENT", MSG_REPLY, OP_GETATTR, 3, ENOENT, empty,
	    NULL),
	C("readdir reply empty", MSG_REPLY, OP_READDIR, 4, 0, readdir_rep,
	    &rd_rep_empty),
	C("readdir reply", MSG_REPLY, OP_READDIR, 4, 0, readdir_rep, &rd_rep),
	C("readdir reply at limits", MSG_REPLY, OP_READDIR, 4, 0, readdir_rep,
	    &rd_rep_long),
	C("open reply", MSG_REPLY, OP_OPEN, 5, 0, open_rep, &open_rep),
	C("open reply extremes", MSG_REPLY, OP_OPEN, 5, 0, open_rep,
	    &open_rep_max),
	C("open reply EACCES", MSG_REPLY, OP_OPEN, 5, EACCES, empty, NULL),
	C("read reply", MSG_REPLY, OP_READ, 6, 0, data, &data_small),
	C("read reply empty (EOF)", MSG_REPLY, OP_READ, 6, 0, data,
	    &data_empty),
	C("read reply PROTO_READ_MAX", MSG_REPLY, OP_READ, 6, 0, data,
	    &data_big),
	C("release reply", MSG_REPLY, OP_RELEASE, 7, 0, empty, NULL),
	C("readlink reply", MSG_REPLY, OP_READLINK, 8, 0, str, &rl_rel),
	C("readlink reply at limit", MSG_REPLY, OP_READLINK, 8, 0, str,
	    &rl_long),
	C("readlink reply empty", MSG_REPLY, OP_READLINK, 8, 0, str,
	    &rl_empty),
	C("statfs reply", MSG_REPLY, OP_STATFS, 9, 0, statfs, &sf_plain),
	C("statfs reply extremes", MSG_REPLY, OP_STATFS, 9, 0, statfs,
	    &sf_max),
	C("getxattr reply", MSG_REPLY, OP_GETXATTR, 10, 0, xattr_rep, &xa_rep),
	C("getxattr reply size probe", MSG_REPLY, OP_GETXATTR, 10, 0,
	    xattr_rep, &xa_rep_probe),
	C("getxattr reply ENODATA", MSG_REPLY, OP_GETXATTR, 10, ENODATA,
	    empty, NULL),
	C("listxattr reply", MSG_REPLY, OP_LISTXATTR, 11, 0, xattr_rep,
	    &xa_rep),
	C("listxattr reply PROTO_XATTR_MAX", MSG_REPLY, OP_LISTXATTR, 11, 0,
	    xattr_rep, &xa_rep_max),
	C("listxattr reply ERANGE", MSG_REPLY, OP_LISTXATTR, 11, ERANGE,
	    empty, NULL),
};

/* ---------------------------------------------------------------- */
/* Helpers. */

static void
st32le(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = v >> 24;
}

static uint32_t
ld32le(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) |
	    ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void
mkhdr(uint8_t *p, uint8_t version, uint8_t kind, uint16_t op, uint32_t id,
    uint32_t status, uint32_t length)
{
	p[0] = version;
	p[1] = kind;
	p[2] = op & 0xff;
	p[3] = op >> 8;
	st32le(p + 4, id);
	st32le(p + 8, status);
	st32le(p + 12, length);
}

static int
hdr_rc(const uint8_t *msg, size_t len)
{
	struct proto_hdr h;
	struct proto_cur c;

	return proto_hdr_decode(msg, len, &h, &c);
}

/* ---------------------------------------------------------------- */
/* Round trips, truncations and leftovers of every case. */

static void
check_case(const struct mcase *m)
{
	struct proto_buf b;
	struct proto_hdr h;
	struct proto_cur c;
	uint8_t *copy;
	size_t len, l, bad_hdr = 0, bad_dec = 0, first_bad = 0;
	int rc;

	proto_buf_init(&b, 0);
	proto_begin(&b, m->kind, m->op, m->id, m->status);
	m->enc(&b, m->arg);
	rc = proto_finish(&b);
	ok(rc == 0 && b.err == 0, "%s: encodes (%zu bytes)", m->name, b.len);
	len = b.len;

	memset(&h, 0, sizeof(h));
	rc = proto_hdr_decode(b.data, len, &h, &c);
	ok(rc == 0 && h.version == PROTO_VERSION && h.kind == m->kind &&
	    h.op == m->op && h.id == m->id && h.status == m->status &&
	    h.length == len - PROTO_HDR_LEN && c.left == h.length &&
	    c.p == b.data + PROTO_HDR_LEN,
	    "%s: header round trip (rc %d)", m->name, rc);
	rc = m->dec(&c, m->arg);
	ok(rc == 0, "%s: payload round trip (rc %d)", m->name, rc);

	/*
	 * Every prefix: the header alone must refuse it (length mismatch),
	 * and with the header's length patched to match, the payload
	 * decoder must fail (not merely differ).
	 */
	copy = xmalloc(len + 8);
	memcpy(copy, b.data, len);
	for (l = 0; l < len; l++) {
		if (hdr_rc(b.data, l) == 0) {
			if (bad_hdr++ == 0)
				first_bad = l;
		}
		if (l < PROTO_HDR_LEN)
			continue;
		st32le(copy + 12, (uint32_t)(l - PROTO_HDR_LEN));
		if (proto_hdr_decode(copy, l, &h, &c) != 0 ||
		    m->dec(&c, m->arg) >= 0) {
			if (bad_dec++ == 0)
				first_bad = l;
		}
	}
	ok(bad_hdr == 0, "%s: header rejects all %zu truncations "
	    "(first accepted at %zu)", m->name, len, first_bad);
	ok(bad_dec == 0, "%s: payload decode rejects all %zu truncations "
	    "(first accepted at %zu)", m->name, len - PROTO_HDR_LEN,
	    first_bad);

	/* Leftovers: one and eight trailing bytes. */
	memset(copy + len, 0, 8);
	st32le(copy + 12, (uint32_t)(len + 1 - PROTO_HDR_LEN));
	rc = proto_hdr_decode(copy, len + 1, &h, &c);
	ok(rc == 0 && m->dec(&c, m->arg) == -EBADMSG,
	    "%s: one trailing byte rejected by proto_end", m->name);
	st32le(copy + 12, (uint32_t)(len + 8 - PROTO_HDR_LEN));
	rc = proto_hdr_decode(copy, len + 8, &h, &c);
	ok(rc == 0 && m->dec(&c, m->arg) == -EBADMSG,
	    "%s: eight trailing bytes rejected", m->name);

	/* The length field off by one either way, bytes unchanged. */
	st32le(copy + 12, (uint32_t)(len - PROTO_HDR_LEN + 1));
	ok(proto_hdr_decode(copy, len, &h, &c) == -EBADMSG,
	    "%s: length field one too large rejected", m->name);
	if (len > PROTO_HDR_LEN) {
		st32le(copy + 12, (uint32_t)(len - PROTO_HDR_LEN - 1));
		ok(proto_hdr_decode(copy, len, &h, &c) == -EBADMSG,
		    "%s: length field one too small rejected", m->name);
	}

	x_free(copy);
	proto_buf_free(&b);
}

/* ---------------------------------------------------------------- */
/* Header checks. */

static void
test_header(void)
{
	uint8_t m[PROTO_HDR_LEN + 64];
	uint8_t *big;
	struct proto_hdr h;
	struct proto_cur c;
	unsigned int v, k, op;
	int bad;

	ok(hdr_rc(NULL, 0) == -EBADMSG, "empty message rejected");
	mkhdr(m, PROTO_VERSION, MSG_REQUEST, OP_GETATTR, 1, 0, 0);
	ok(hdr_rc(m, PROTO_HDR_LEN - 1) == -EBADMSG,
	    "15-byte header rejected");
	ok(hdr_rc(m, PROTO_HDR_LEN) == 0, "16-byte request, empty payload");

	for (bad = 0, v = 0; v < 256; v++) {
		if (v == PROTO_VERSION)
			continue;
		mkhdr(m, (uint8_t)v, MSG_REQUEST, OP_GETATTR, 1, 0, 0);
		if (hdr_rc(m, PROTO_HDR_LEN) != -EPROTONOSUPPORT)
			bad++;
	}
	ok(bad == 0, "every other version -> -EPROTONOSUPPORT");
	/* The version is checked before anything else. */
	mkhdr(m, PROTO_VERSION + 1, 0, 0xffff, 1, 0, UINT32_MAX);
	ok(hdr_rc(m, PROTO_HDR_LEN) == -EPROTONOSUPPORT,
	    "bad version reported before bad kind/op/length");

	for (bad = 0, k = 0; k < 256; k++) {
		if (k >= MSG_HELLO && k <= MSG_STREAM)
			continue;
		mkhdr(m, PROTO_VERSION, (uint8_t)k, OP_GETATTR, 1, 0, 0);
		if (hdr_rc(m, PROTO_HDR_LEN) != -EBADMSG)
			bad++;
	}
	ok(bad == 0, "every unknown kind -> -EBADMSG");
	for (bad = 0, k = 0; k < 65536; k++) {
		int rc;

		mkhdr(m, PROTO_VERSION, MSG_STREAM, (uint16_t)k, 1, 0, 0);
		rc = hdr_rc(m, PROTO_HDR_LEN);
		if ((k >= STREAM_OPEN && k < STREAM_MAX_) ? rc != 0 :
		    rc != -EOPNOTSUPP)
			bad++;
	}
	ok(bad == 0, "stream ops: the known ones pass, every other one "
	    "-> -EOPNOTSUPP");
	ok(strcmp(proto_stream_op_name(STREAM_DATA), "stream_data") == 0 &&
	    strcmp(proto_stream_op_name(STREAM_MAX_), "unknown") == 0,
	    "stream op names");

	mkhdr(m, PROTO_VERSION, MSG_REQUEST, 0, 1, 0, 0);
	ok(hdr_rc(m, PROTO_HDR_LEN) < 0, "op 0 in a request rejected");
	mkhdr(m, PROTO_VERSION, MSG_REPLY, 0, 1, 0, 0);
	ok(hdr_rc(m, PROTO_HDR_LEN) < 0, "op 0 in a reply rejected");
	mkhdr(m, PROTO_VERSION, MSG_HELLO, OP_GETATTR, 0, 0, 0);
	ok(hdr_rc(m, PROTO_HDR_LEN) < 0, "op != 0 in a hello rejected");
	mkhdr(m, PROTO_VERSION, MSG_HELLO, 0, 0, 0, 0);
	ok(hdr_rc(m, PROTO_HDR_LEN) == 0, "op 0 in a hello accepted");
	for (bad = 0, op = OP_MAX_; op <= 0xffff; op++) {
		mkhdr(m, PROTO_VERSION, MSG_REQUEST, (uint16_t)op, 1, 0, 0);
		if (hdr_rc(m, PROTO_HDR_LEN) >= 0)
			bad++;
		mkhdr(m, PROTO_VERSION, MSG_REPLY, (uint16_t)op, 1, 0, 0);
		if (hdr_rc(m, PROTO_HDR_LEN) >= 0)
			bad++;
	}
	ok(bad == 0, "every op >= OP_MAX_ rejected in requests and replies");
	for (bad = 0, op = 1; op < OP_MAX_; op++) {
		mkhdr(m, PROTO_VERSION, MSG_REQUEST, (uint16_t)op, 1, 0, 0);
		if (hdr_rc(m, PROTO_HDR_LEN) != 0)
			bad++;
	}
	ok(bad == 0, "every op 1..OP_MAX_-1 accepted in a request");

	/* Length field against the bytes present. */
	mkhdr(m, PROTO_VERSION, MSG_REQUEST, OP_GETATTR, 1, 0, 10);
	ok(hdr_rc(m, PROTO_HDR_LEN + 9) == -EBADMSG,
	    "length field larger than payload -> -EBADMSG");
	ok(hdr_rc(m, PROTO_HDR_LEN + 11) == -EBADMSG,
	    "length field smaller than payload -> -EBADMSG");
	ok(hdr_rc(m, PROTO_HDR_LEN + 10) == 0, "length field exact -> ok");
	mkhdr(m, PROTO_VERSION, MSG_REQUEST, OP_GETATTR, 1, 0, UINT32_MAX);
	ok(hdr_rc(m, PROTO_HDR_LEN) == -EMSGSIZE,
	    "length 0xffffffff -> -EMSGSIZE");
	mkhdr(m, PROTO_VERSION, MSG_REQUEST, OP_GETATTR, 1, 0,
	    PROTO_PAYLOAD_MAX + 1);
	ok(hdr_rc(m, PROTO_HDR_LEN) == -EMSGSIZE,
	    "length PROTO_PAYLOAD_MAX + 1 (bytes absent) -> -EMSGSIZE");

	/* Oversized with every byte present, and exactly at the limit. */
	big = xcalloc(1, PROTO_HDR_LEN + PROTO_PAYLOAD_MAX + 1);
	mkhdr(big, PROTO_VERSION, MSG_REPLY, OP_READ, 1, 0,
	    PROTO_PAYLOAD_MAX + 1);
	ok(hdr_rc(big, PROTO_HDR_LEN + PROTO_PAYLOAD_MAX + 1) == -EMSGSIZE,
	    "payload PROTO_PAYLOAD_MAX + 1 (bytes present) -> -EMSGSIZE");
	mkhdr(big, PROTO_VERSION, MSG_REPLY, OP_READ, 1, 0, PROTO_PAYLOAD_MAX);
	ok(proto_hdr_decode(big, PROTO_MSG_MAX, &h, &c) == 0 &&
	    c.left == PROTO_PAYLOAD_MAX,
	    "payload of exactly PROTO_PAYLOAD_MAX accepted");
	x_free(big);

	/* Fields pass through untouched. */
	mkhdr(m, PROTO_VERSION, MSG_REPLY, OP_LISTXATTR, 0xdeadbeef,
	    0x7fffffff, 3);
	memcpy(m + PROTO_HDR_LEN, "abc", 3);
	ok(proto_hdr_decode(m, PROTO_HDR_LEN + 3, &h, &c) == 0 &&
	    h.op == OP_LISTXATTR && h.id == 0xdeadbeef &&
	    h.status == 0x7fffffff && h.length == 3 && c.left == 3 &&
	    memcmp(c.p, "abc", 3) == 0, "header fields decoded exactly");
	/* In a request the status field is the order key. */
	mkhdr(m, PROTO_VERSION, MSG_REQUEST, OP_WRITE, 7, 0x12345678, 3);
	ok(proto_hdr_decode(m, PROTO_HDR_LEN + 3, &h, &c) == 0 &&
	    h.kind == MSG_REQUEST && h.status == 0x12345678,
	    "request order key decoded");
	mkhdr(m, PROTO_VERSION, MSG_REQUEST, OP_FLISTXATTR, 7, 0, 3);
	ok(proto_hdr_decode(m, PROTO_HDR_LEN + 3, &h, &c) == 0 &&
	    strcmp(proto_op_name(h.op), "flistxattr") == 0,
	    "the last writing-era op is known");
}

/* ---------------------------------------------------------------- */
/* Oversized lengths and bad strings. */

static void
test_lengths(void)
{
	uint8_t buf[PROTO_HDR_LEN + 2 * PROTO_PATH_MAX + 64], *big;
	char dst[16], path[PROTO_PATH_MAX + 1];
	struct proto_cur c;
	const uint8_t *p;
	uint32_t n;
	uint16_t u16;
	uint8_t u8;

	/* str: length 5 needs 6 bytes of dst. */
	memcpy(buf, "\x05\x00hello", 7);
	c = (struct proto_cur){ buf, 7 };
	ok(proto_get_str(&c, dst, 6) == 0 && strcmp(dst, "hello") == 0 &&
	    c.left == 0, "str fits dst of len + 1");
	c = (struct proto_cur){ buf, 7 };
	ok(proto_get_str(&c, dst, 5) == -EBADMSG && c.left == 0,
	    "str longer than dst rejected, cursor spent");
	c = (struct proto_cur){ buf, 7 };
	ok(proto_get_str(&c, dst, 0) == -EBADMSG, "str into dst of size 0");
	c = (struct proto_cur){ buf, 6 };
	ok(proto_get_str(&c, dst, sizeof(dst)) == -EBADMSG && c.left == 0,
	    "str length larger than remaining rejected");
	memcpy(buf, "\xff\xff", 2);
	c = (struct proto_cur){ buf, 2 };
	ok(proto_get_str(&c, path, sizeof(path)) == -EBADMSG,
	    "str length 65535 with nothing behind it rejected");
	c = (struct proto_cur){ buf, 1 };
	ok(proto_get_str(&c, dst, sizeof(dst)) == -EBADMSG,
	    "str with half a length field rejected");
	memcpy(buf, "\x00\x00", 2);
	c = (struct proto_cur){ buf, 2 };
	ok(proto_get_str(&c, dst, 1) == 0 && dst[0] == '\0' && c.left == 0,
	    "empty str fits dst of 1");

	/* NUL inside a str, anywhere. */
	memcpy(buf, "\x03\x00\0ab", 5);
	c = (struct proto_cur){ buf, 5 };
	ok(proto_get_str(&c, dst, sizeof(dst)) == -EBADMSG && c.left == 0,
	    "str with leading NUL rejected");
	memcpy(buf, "\x03\x00a\0b", 5);
	c = (struct proto_cur){ buf, 5 };
	ok(proto_get_str(&c, dst, sizeof(dst)) == -EBADMSG,
	    "str with inner NUL rejected");
	memcpy(buf, "\x03\x00" "ab\0", 5);
	c = (struct proto_cur){ buf, 5 };
	ok(proto_get_str(&c, dst, sizeof(dst)) == -EBADMSG,
	    "str with trailing NUL rejected");

	/* A path of PROTO_PATH_MAX + 1 bytes does not fit a path buffer. */
	buf[0] = (PROTO_PATH_MAX + 1) & 0xff;
	buf[1] = (PROTO_PATH_MAX + 1) >> 8;
	buf[2] = '/';
	memset(buf + 3, 'a', PROTO_PATH_MAX);
	c = (struct proto_cur){ buf, 2 + PROTO_PATH_MAX + 1 };
	ok(proto_get_str(&c, path, sizeof(path)) == -EBADMSG,
	    "path of PROTO_PATH_MAX + 1 rejected");
	buf[0] = PROTO_PATH_MAX & 0xff;
	buf[1] = PROTO_PATH_MAX >> 8;
	c = (struct proto_cur){ buf, 2 + PROTO_PATH_MAX };
	ok(proto_get_str(&c, path, sizeof(path)) == 0 &&
	    strlen(path) == PROTO_PATH_MAX && proto_path_ok(path),
	    "path of PROTO_PATH_MAX accepted");

	/* bytes: against max and against what is left. */
	memcpy(buf, "\x04\x00\x00\x00wxyz", 8);
	c = (struct proto_cur){ buf, 8 };
	ok(proto_get_bytes(&c, &p, &n, 4) == 0 && n == 4 && p == buf + 4 &&
	    c.left == 0, "bytes len == max accepted, points into message");
	c = (struct proto_cur){ buf, 8 };
	ok(proto_get_bytes(&c, &p, &n, 3) == -EBADMSG && c.left == 0,
	    "bytes len > max rejected, cursor spent");
	c = (struct proto_cur){ buf, 7 };
	ok(proto_get_bytes(&c, &p, &n, 100) == -EBADMSG && c.left == 0,
	    "bytes len > remaining rejected");
	memcpy(buf, "\xff\xff\xff\xff", 4);
	c = (struct proto_cur){ buf, 8 };
	ok(proto_get_bytes(&c, &p, &n, UINT32_MAX) == -EBADMSG,
	    "bytes len 0xffffffff with max 0xffffffff rejected");
	c = (struct proto_cur){ buf, 3 };
	ok(proto_get_bytes(&c, &p, &n, 100) == -EBADMSG,
	    "bytes with a 3-byte length field rejected");
	memcpy(buf, "\0\0\0\0", 4);
	c = (struct proto_cur){ buf, 4 };
	ok(proto_get_bytes(&c, &p, &n, 0) == 0 && n == 0,
	    "empty bytes with max 0 accepted");

	/* A token one byte over PROTO_TOKEN_MAX in a hello. */
	mkhdr(buf, PROTO_VERSION, MSG_HELLO, 0, 0, 0, 8 + PROTO_TOKEN_MAX + 1);
	memset(buf + PROTO_HDR_LEN, 0, 4);
	st32le(buf + PROTO_HDR_LEN + 4, PROTO_TOKEN_MAX + 1);
	memset(buf + PROTO_HDR_LEN + 8, 'k', PROTO_TOKEN_MAX + 1);
	ok(dec_hello_c(&(struct proto_cur){ buf + PROTO_HDR_LEN,
	    8 + PROTO_TOKEN_MAX + 1 }, &hc_max) == -EBADMSG,
	    "hello token of PROTO_TOKEN_MAX + 1 rejected");

	/* A readdir entry name of PROTO_NAME_MAX + 1. */
	{
		static const struct v_readdir_rep one = { 1, 0, 1, { "x" },
		    { &attr_plain } };
		struct proto_buf b;
		char name[PROTO_NAME_MAX + 2];
		struct proto_hdr h;

		memset(name, 'n', sizeof(name) - 1);
		name[sizeof(name) - 1] = '\0';
		proto_buf_init(&b, 0);
		proto_begin(&b, MSG_REPLY, OP_READDIR, 1, 0);
		proto_put_u8(&b, 1);
		proto_put_u64(&b, 0);
		proto_put_u32(&b, 1);
		proto_put_str(&b, name);
		proto_put_attr(&b, &attr_plain);
		ok(proto_finish(&b) == 0 &&
		    proto_hdr_decode(b.data, b.len, &h, &c) == 0 &&
		    dec_readdir_rep(&c, &one) == -EBADMSG,
		    "readdir entry name of PROTO_NAME_MAX + 1 rejected");

		/* n larger than the entries present. */
		proto_begin(&b, MSG_REPLY, OP_READDIR, 1, 0);
		proto_put_u8(&b, 1);
		proto_put_u64(&b, 0);
		proto_put_u32(&b, UINT32_MAX);
		proto_put_str(&b, "a");
		proto_put_attr(&b, &attr_plain);
		ok(proto_finish(&b) == 0 &&
		    proto_hdr_decode(b.data, b.len, &h, &c) == 0 &&
		    proto_get_u8(&c, &u8) == 0 && proto_get_u64(&c,
		    &(uint64_t){ 0 }) == 0 && proto_get_u32(&c, &n) == 0 &&
		    n == UINT32_MAX &&
		    proto_get_str(&c, dst, sizeof(dst)) == 0 &&
		    proto_get_attr(&c, &(struct proto_attr){ 0 }) == 0 &&
		    proto_get_str(&c, dst, sizeof(dst)) == -EBADMSG,
		    "readdir count larger than entries present rejected");
		proto_buf_free(&b);
	}

	/* A read reply one byte over PROTO_READ_MAX. */
	big = xmalloc(4 + PROTO_READ_MAX + 1);
	st32le(big, PROTO_READ_MAX + 1);
	memset(big + 4, 'r', PROTO_READ_MAX + 1);
	c = (struct proto_cur){ big, 4 + PROTO_READ_MAX + 1 };
	ok(proto_get_bytes(&c, &p, &n, PROTO_READ_MAX) == -EBADMSG,
	    "read data of PROTO_READ_MAX + 1 rejected");
	/* An xattr value one byte over PROTO_XATTR_MAX. */
	st32le(big, 0);
	st32le(big + 4, PROTO_XATTR_MAX + 1);
	c = (struct proto_cur){ big, 8 + PROTO_XATTR_MAX + 1 };
	ok(dec_xattr_rep(&c, &xa_rep) == -EBADMSG,
	    "xattr value of PROTO_XATTR_MAX + 1 rejected");
	x_free(big);

	/* Cursor on short input: fails, and is spent. */
	c = (struct proto_cur){ buf, 1 };
	ok(proto_get_u16(&c, &u16) == -EBADMSG && c.left == 0,
	    "u16 from 1 byte rejected");
	c = (struct proto_cur){ buf, 3 };
	ok(proto_get_u32(&c, &n) == -EBADMSG && c.left == 0,
	    "u32 from 3 bytes rejected");
	c = (struct proto_cur){ buf, 7 };
	ok(proto_get_u64(&c, &(uint64_t){ 0 }) == -EBADMSG && c.left == 0,
	    "u64 from 7 bytes rejected");
	c = (struct proto_cur){ buf, 0 };
	ok(proto_get_u8(&c, &u8) == -EBADMSG, "u8 from 0 bytes rejected");
	c = (struct proto_cur){ buf, 95 };
	ok(proto_get_attr(&c, &(struct proto_attr){ 0 }) == -EBADMSG,
	    "attr from 95 bytes rejected");
	c = (struct proto_cur){ buf, 71 };
	ok(proto_get_statfs(&c, &(struct proto_statfs){ 0 }) == -EBADMSG,
	    "statfs from 71 bytes rejected");

	/* proto_end. */
	c = (struct proto_cur){ buf, 0 };
	ok(proto_end(&c) == 0, "proto_end on an empty cursor");
	c = (struct proto_cur){ buf, 1 };
	ok(proto_end(&c) == -EBADMSG, "proto_end with one byte left");
}

/* Integer fields decode little-endian at their exact widths. */
static void
test_integers(void)
{
	static const uint8_t in[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
	    0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f };
	struct proto_cur c = { in, sizeof(in) };
	struct proto_buf b;
	uint64_t u64;
	uint32_t u32;
	uint16_t u16;
	uint8_t u8;

	ok(proto_get_u8(&c, &u8) == 0 && u8 == 0x01 &&
	    proto_get_u16(&c, &u16) == 0 && u16 == 0x0302 &&
	    proto_get_u32(&c, &u32) == 0 && u32 == 0x07060504 &&
	    proto_get_u64(&c, &u64) == 0 && u64 == 0x0f0e0d0c0b0a0908ull &&
	    proto_end(&c) == 0, "u8/u16/u32/u64 little-endian decode");

	proto_buf_init(&b, 0);
	proto_begin(&b, MSG_REQUEST, OP_READ, 0x04030201, 0);
	proto_put_u8(&b, 0x01);
	proto_put_u16(&b, 0x0302);
	proto_put_u32(&b, 0x07060504);
	proto_put_u64(&b, 0x0f0e0d0c0b0a0908ull);
	ok(proto_finish(&b) == 0 && b.len == PROTO_HDR_LEN + sizeof(in) &&
	    memcmp(b.data + PROTO_HDR_LEN, in, sizeof(in)) == 0 &&
	    b.data[0] == PROTO_VERSION &&
	    memcmp(b.data + 1, "\x02\x05\x00\x01\x02\x03\x04"
	    "\0\0\0\0\x0f\0\0\0", PROTO_HDR_LEN - 1) == 0,
	    "header and integers encode little-endian");
	proto_buf_free(&b);
}

/* ---------------------------------------------------------------- */
/* Attributes. */

static void
test_attr(void)
{
	struct proto_attr a, back;
	struct proto_buf b;
	struct proto_cur c;
	struct stat st, st2;
	int i;

	/* An nsec field of 1e9 or more is not a time. */
	for (i = 0; i < 3; i++) {
		a = attr_plain;
		if (i == 0)
			a.atime_nsec = 1000000000u;
		else if (i == 1)
			a.mtime_nsec = 1000000000u;
		else
			a.ctime_nsec = UINT32_MAX;
		proto_buf_init(&b, 0);
		proto_put_attr(&b, &a);
		c = (struct proto_cur){ b.data, b.len };
		ok(b.len == 100 && proto_get_attr(&c, &back) == -EBADMSG,
		    "attr with %s nsec out of range rejected",
		    i == 0 ? "atime" : i == 1 ? "mtime" : "ctime");
		proto_buf_free(&b);
	}

	/* Field order on the wire, as proto.h lists it. */
	proto_buf_init(&b, 0);
	proto_put_attr(&b, &attr_plain);
	ok(b.len == 100 && ld32le(b.data) == 2049 &&
	    ld32le(b.data + 8) == 1234567 &&
	    ld32le(b.data + 16) == (S_IFREG | 0644) &&
	    ld32le(b.data + 24) == 1000 && ld32le(b.data + 40) == 4096 &&
	    ld32le(b.data + 56) == 4096 &&
	    ld32le(b.data + 60) == 1700000000 &&
	    ld32le(b.data + 68) == 1 && ld32le(b.data + 72) == 1700000001 &&
	    ld32le(b.data + 80) == 500000000 &&
	    ld32le(b.data + 84) == 1700000002 &&
	    ld32le(b.data + 92) == 999999999 &&
	    ld32le(b.data + 96) == ATTR_NO_XATTR,
	    "attr is 100 bytes in proto.h's field order");
	proto_buf_free(&b);

	/* stat <-> attr. */
	if (lstat("/", &st) == 0) {
		proto_attr_from_stat(&a, &st);
		proto_attr_to_stat(&a, &st2);
		ok(st2.st_dev == st.st_dev && st2.st_ino == st.st_ino &&
		    st2.st_mode == st.st_mode &&
		    st2.st_nlink == st.st_nlink && st2.st_uid == st.st_uid &&
		    st2.st_gid == st.st_gid && st2.st_size == st.st_size &&
		    st2.st_blocks == st.st_blocks &&
		    st2.st_blksize == st.st_blksize &&
		    st2.st_mtim.tv_sec == st.st_mtim.tv_sec &&
		    st2.st_mtim.tv_nsec == st.st_mtim.tv_nsec &&
		    st2.st_ctim.tv_sec == st.st_ctim.tv_sec &&
		    st2.st_ctim.tv_nsec == st.st_ctim.tv_nsec &&
		    st2.st_atim.tv_nsec == st.st_atim.tv_nsec,
		    "lstat(/) -> attr -> stat keeps every field");
	} else
		ok(0, "lstat(/)");
}

/* ---------------------------------------------------------------- */
/* The output buffer's hard cap. */

static void
test_buf_cap(void)
{
	struct proto_buf b;
	struct proto_hdr h;
	struct proto_cur c;
	uint8_t *p;
	char *huge;
	size_t i, maxlen;

	proto_buf_init(&b, 0);
	proto_begin(&b, MSG_REPLY, OP_READ, 1, 0);
	p = proto_put_bytes_reserve(&b, PROTO_PAYLOAD_MAX - 4);
	ok(p != NULL && b.err == 0 && b.len == PROTO_MSG_MAX &&
	    b.cap <= PROTO_MSG_MAX, "a payload of exactly the cap fits");
	if (p)
		memset(p, 'x', PROTO_PAYLOAD_MAX - 4);
	ok(proto_finish(&b) == 0 &&
	    proto_hdr_decode(b.data, b.len, &h, &c) == 0,
	    "and finishes and decodes");
	proto_put_u8(&b, 0);
	ok(b.err == -EMSGSIZE && b.len == PROTO_MSG_MAX,
	    "one byte more sets err, len unchanged");
	ok(proto_finish(&b) == -EMSGSIZE, "proto_finish fails after overflow");
	proto_put_u8(&b, 0);
	proto_put_u64(&b, 0);
	ok(b.err == -EMSGSIZE && proto_finish(&b) == -EMSGSIZE,
	    "err is sticky");

	proto_begin(&b, MSG_REPLY, OP_READ, 2, 0);
	ok(b.err == 0 && b.len == PROTO_HDR_LEN,
	    "proto_begin resets the buffer for the next message");
	ok(proto_put_bytes_reserve(&b, PROTO_PAYLOAD_MAX) == NULL &&
	    b.err == -EMSGSIZE && proto_finish(&b) == -EMSGSIZE,
	    "reserving a payload over the cap fails");

	proto_begin(&b, MSG_REPLY, OP_READ, 3, 0);
	ok(proto_put_bytes_reserve(&b, (size_t)UINT32_MAX + 1) == NULL &&
	    b.err < 0 && proto_finish(&b) < 0,
	    "reserving more than a u32 length fails");

	/* Small puts up to and past the cap, never beyond it. */
	proto_begin(&b, MSG_REQUEST, OP_READ, 4, 0);
	maxlen = 0;
	for (i = 0; i < PROTO_MSG_MAX / 8 + 2; i++) {
		proto_put_u64(&b, i);
		if (b.len > maxlen)
			maxlen = b.len;
	}
	ok(b.err == -EMSGSIZE && maxlen <= PROTO_MSG_MAX &&
	    proto_finish(&b) == -EMSGSIZE,
	    "u64 puts stop at the cap (max len %zu)", maxlen);

	/* A str longer than a u16 can say. */
	huge = xmalloc(UINT16_MAX + 2);
	memset(huge, 's', UINT16_MAX + 1);
	huge[UINT16_MAX + 1] = '\0';
	proto_begin(&b, MSG_REPLY, OP_READLINK, 5, 0);
	proto_put_str(&b, huge);
	ok(b.err < 0 && proto_finish(&b) < 0, "str of 65536 bytes fails");
	huge[UINT16_MAX] = '\0';
	proto_begin(&b, MSG_REPLY, OP_READLINK, 6, 0);
	proto_put_str(&b, huge);
	ok(b.err == 0 && proto_finish(&b) == 0 &&
	    proto_hdr_decode(b.data, b.len, &h, &c) == 0 &&
	    dec_str(&c, &rl_rel) == -EBADMSG,
	    "str of 65535 encodes; a PROTO_PATH_MAX reader rejects it");
	proto_begin(&b, MSG_REPLY, OP_READLINK, 7, 0);
	proto_put_strn(&b, huge, 3);
	ok(proto_finish(&b) == 0 && b.len == PROTO_HDR_LEN + 5 &&
	    memcmp(b.data + PROTO_HDR_LEN, "\x03\x00sss", 5) == 0,
	    "proto_put_strn puts only n bytes");
	x_free(huge);
	proto_buf_free(&b);
	ok(b.data == NULL && b.len == 0, "proto_buf_free clears the buffer");

	proto_buf_init(&b, (size_t)PROTO_MSG_MAX * 4);
	ok(b.cap <= PROTO_MSG_MAX, "proto_buf_init clamps a huge hint");
	proto_buf_free(&b);
}

/* ---------------------------------------------------------------- */
/* proto_bytes_trim. */

static void
test_trim(void)
{
	struct proto_buf b;
	struct proto_hdr h;
	struct proto_cur c;
	const uint8_t *p;
	uint8_t *at;
	uint32_t n, u32;
	size_t before;

	proto_buf_init(&b, 0);
	proto_begin(&b, MSG_REPLY, OP_READ, 1, 0);
	at = proto_put_bytes_reserve(&b, 1000);
	memcpy(at, "0123456789", 10);
	proto_bytes_trim(&b, at, 10);
	ok(b.len == PROTO_HDR_LEN + 4 + 10 && proto_finish(&b) == 0 &&
	    proto_hdr_decode(b.data, b.len, &h, &c) == 0 &&
	    proto_get_bytes(&c, &p, &n, PROTO_READ_MAX) == 0 && n == 10 &&
	    memcmp(p, "0123456789", 10) == 0 && proto_end(&c) == 0,
	    "trim 1000 -> 10 shortens field and message");

	proto_begin(&b, MSG_REPLY, OP_GETXATTR, 2, 0);
	proto_put_u32(&b, 77);
	at = proto_put_bytes_reserve(&b, 64);
	proto_bytes_trim(&b, at, 0);
	ok(proto_finish(&b) == 0 && b.len == PROTO_HDR_LEN + 8 &&
	    proto_hdr_decode(b.data, b.len, &h, &c) == 0 &&
	    proto_get_u32(&c, &u32) == 0 && u32 == 77 &&
	    proto_get_bytes(&c, &p, &n, 64) == 0 && n == 0 &&
	    proto_end(&c) == 0, "trim to 0 after another field");

	proto_begin(&b, MSG_REPLY, OP_READ, 3, 0);
	at = proto_put_bytes_reserve(&b, 16);
	memset(at, 'z', 16);
	before = b.len;
	proto_bytes_trim(&b, at, 17);
	ok(b.len == before && ld32le(at - 4) == 16,
	    "trim to more than reserved is ignored");
	proto_bytes_trim(&b, at, 16);
	ok(b.len == before && ld32le(at - 4) == 16,
	    "trim to exactly reserved changes nothing");

	proto_begin(&b, MSG_REPLY, OP_READ, 4, 0);
	at = proto_put_bytes_reserve(&b, 16);
	memset(at, 'z', 16);
	proto_put_u32(&b, 0xabcdef01);
	before = b.len;
	proto_bytes_trim(&b, at, 4);
	ok(b.len == before && ld32le(at - 4) == 16 &&
	    ld32le(b.data + b.len - 4) == 0xabcdef01,
	    "trim of a field that is not last is ignored");

	proto_begin(&b, MSG_REPLY, OP_READ, 5, 0);
	before = b.len;
	proto_bytes_trim(&b, NULL, 0);
	ok(b.len == before && b.err == 0, "trim of NULL is a no-op");

	proto_begin(&b, MSG_REPLY, OP_READ, 6, 0);
	at = proto_put_bytes_reserve(&b, PROTO_PAYLOAD_MAX);
	ok(at == NULL, "failed reserve returns NULL");
	before = b.len;
	proto_bytes_trim(&b, at, 0);
	ok(b.len == before && proto_finish(&b) == -EMSGSIZE,
	    "trim after a failed reserve keeps the error");
	proto_buf_free(&b);
}

/* ---------------------------------------------------------------- */
/* Path and name checks, op names. */

static void
test_names(void)
{
	char s[PROTO_PATH_MAX + 2];
	unsigned int op;
	int bad;

	ok(proto_path_ok("/"), "path / ok");
	ok(proto_path_ok("/etc/passwd"), "path /etc/passwd ok");
	ok(proto_path_ok("//x/./../y"), "path with // . .. ok (resolved in root)");
	ok(!proto_path_ok(""), "empty path rejected");
	ok(!proto_path_ok("etc/passwd"), "relative path rejected");
	ok(!proto_path_ok("./x"), "./x rejected");
	ok(!proto_path_ok(".."), ".. rejected");
	s[0] = '/';
	memset(s + 1, 'p', PROTO_PATH_MAX - 1);
	s[PROTO_PATH_MAX] = '\0';
	ok(proto_path_ok(s), "path of PROTO_PATH_MAX ok");
	s[PROTO_PATH_MAX] = 'p';
	s[PROTO_PATH_MAX + 1] = '\0';
	ok(!proto_path_ok(s), "path of PROTO_PATH_MAX + 1 rejected");

	ok(proto_name_ok("a"), "name a ok");
	ok(proto_name_ok(".hidden"), "name .hidden ok");
	ok(proto_name_ok("..."), "name ... ok");
	ok(proto_name_ok("..a"), "name ..a ok");
	ok(!proto_name_ok(""), "empty name rejected");
	ok(!proto_name_ok("."), "name . rejected");
	ok(!proto_name_ok(".."), "name .. rejected");
	ok(!proto_name_ok("/"), "name / rejected");
	ok(!proto_name_ok("a/b"), "name a/b rejected");
	ok(!proto_name_ok("a/"), "name a/ rejected");
	ok(!proto_name_ok("/a"), "name /a rejected");
	memset(s, 'n', PROTO_NAME_MAX);
	s[PROTO_NAME_MAX] = '\0';
	ok(proto_name_ok(s), "name of PROTO_NAME_MAX ok");
	s[PROTO_NAME_MAX] = 'n';
	s[PROTO_NAME_MAX + 1] = '\0';
	ok(!proto_name_ok(s), "name of PROTO_NAME_MAX + 1 rejected");

	ok(strcmp(proto_op_name(0), "hello") == 0, "op name 0 is hello");
	ok(strcmp(proto_op_name(OP_LOOKUP), "lookup") == 0 &&
	    strcmp(proto_op_name(OP_READ), "read") == 0 &&
	    strcmp(proto_op_name(OP_LISTXATTR), "listxattr") == 0,
	    "op names");
	for (bad = 0, op = 1; op < OP_MAX_; op++)
		if (strcmp(proto_op_name(op), "unknown") == 0)
			bad++;
	ok(bad == 0, "every op has a name");
	ok(strcmp(proto_op_name(OP_MAX_), "unknown") == 0 &&
	    strcmp(proto_op_name(0xffff), "unknown") == 0 &&
	    strcmp(proto_op_name(UINT32_MAX), "unknown") == 0,
	    "out-of-range ops are unknown");
}

/* Messages built by hand: a header in place, a count patched later,
 * raw data after it (STREAM_DATA). */
static void
test_stream_build(void)
{
	static const uint8_t data[5] = { 'h', 'e', 'l', 'l', 'o' };
	uint8_t hand[PROTO_HDR_LEN + sizeof(data)];
	struct proto_buf b;
	struct proto_hdr h;
	struct proto_cur c;
	uint32_t v;

	proto_hdr_encode(hand, MSG_STREAM, STREAM_DATA, 7, 0, sizeof(data));
	memcpy(hand + PROTO_HDR_LEN, data, sizeof(data));
	proto_buf_init(&b, 0);
	proto_begin(&b, MSG_STREAM, STREAM_DATA, 7, 0);
	proto_put_raw(&b, data, sizeof(data));
	ok(proto_finish(&b) == 0 && b.len == sizeof(hand) &&
	    memcmp(b.data, hand, sizeof(hand)) == 0,
	    "proto_hdr_encode + raw data == proto_begin + proto_put_raw");
	ok(proto_hdr_decode(hand, sizeof(hand), &h, &c) == 0 &&
	    h.kind == MSG_STREAM && h.op == STREAM_DATA && h.id == 7 &&
	    c.left == sizeof(data), "a hand-built stream message decodes");

	proto_begin(&b, MSG_REPLY, OP_NET_INFO, 1, 0);
	proto_put_u32(&b, 0);
	proto_put_u32(&b, 99);
	proto_patch_u32(&b, PROTO_HDR_LEN, 3);
	proto_patch_u32(&b, b.len - 2, 5);	/* past the end: ignored */
	ok(proto_finish(&b) == 0 &&
	    proto_hdr_decode(b.data, b.len, &h, &c) == 0 &&
	    proto_get_u32(&c, &v) == 0 && v == 3 &&
	    proto_get_u32(&c, &v) == 0 && v == 99 && proto_end(&c) == 0,
	    "proto_patch_u32 overwrites the count in place, and only there");
	proto_buf_free(&b);
}

int
main(void)
{
	size_t i;

	memset(long_path, 'p', PROTO_PATH_MAX);
	long_path[0] = '/';
	long_path[PROTO_PATH_MAX] = '\0';
	memset(long_name, 'n', PROTO_NAME_MAX);
	long_name[PROTO_NAME_MAX] = '\0';
	for (i = 0; i < sizeof(long_token); i++)
		long_token[i] = (uint8_t)i;
	big_data = xmalloc(PROTO_READ_MAX);
	for (i = 0; i < PROTO_READ_MAX; i++)
		big_data[i] = (uint8_t)(i * 31 + 7);
	data_big = (struct v_data){ big_data, PROTO_READ_MAX };
	big_xattr = xmalloc(PROTO_XATTR_MAX);
	memset(big_xattr, 'v', PROTO_XATTR_MAX);
	xa_rep_max = (struct v_xattr_rep){ PROTO_XATTR_MAX, big_xattr,
	    PROTO_XATTR_MAX };

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i]);
	test_header();
	test_stream_build();
	test_lengths();
	test_integers();
	test_attr();
	test_buf_cap();
	test_trim();
	test_names();

	x_free(big_data);
	x_free(big_xattr);
	return done_testing();
}
