/*
 * Unit tests of the file-system messages' codec (lib/proto-fs.c): every
 * request layout round trips through its encoder and decoder; every
 * truncation and every leftover byte is refused; the fields a layout
 * forbids (a relative path, a NUL in a str, fh 0 by handle, an empty
 * xattr name or symlink target, nanoseconds of 10^9, a lock command or
 * type that does not exist, an oversized write or xattr value) are
 * refused; the replies likewise, and a read reply's size hint follows
 * the request. Prints TAP; exits 0 only if every test passed.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto-fs.h"

#include "tap.h"

static struct proto_fs_strs strs;

/* A request of op built from r: header and payload. */
static void
build(struct proto_buf *b, uint16_t op, const union proto_fs_req *r)
{
	proto_buf_init(b, 64);
	proto_begin(b, MSG_REQUEST, op, 1, 0);
	if (proto_enc_fs_req(b, op, r) < 0 || proto_finish(b) < 0)
		abort();
}

/* Decodes n payload bytes at p as a request of op. */
static int
dec(uint16_t op, const uint8_t *p, size_t n, union proto_fs_req *r)
{
	struct proto_cur c = { p, n };

	return proto_dec_fs_req(&c, op, &strs, r);
}

/* n bytes of p and one more (a leftover). Caller frees. */
static uint8_t *
copy_plus_one(const uint8_t *p, size_t n)
{
	uint8_t *q = malloc(n + 1);

	if (q == NULL)
		abort();
	memcpy(q, p, n);
	q[n] = 0;
	return q;
}

/* Round trip, every truncation refused, a leftover byte refused. */
static void
req_ok(const char *name, uint16_t op, const union proto_fs_req *r)
{
	struct proto_buf b, again;
	union proto_fs_req back;
	uint8_t *p;
	size_t n, i;
	int cut_ok = 1;

	build(&b, op, r);
	p = b.data + PROTO_HDR_LEN;
	n = b.len - PROTO_HDR_LEN;
	ok(dec(op, p, n, &back) == 0, "%s: decodes", name);
	proto_buf_init(&again, 64);
	proto_begin(&again, MSG_REQUEST, op, 1, 0);
	(void)proto_enc_fs_req(&again, op, &back);
	(void)proto_finish(&again);
	ok(again.len == b.len && memcmp(again.data, b.data, b.len) == 0,
	    "%s: encodes back to the same bytes", name);
	for (i = 0; i < n; i++)
		if (dec(op, p, i, &back) != -EBADMSG)
			cut_ok = 0;
	ok(cut_ok, "%s: each of its %zu truncations refused", name, n);
	p = copy_plus_one(p, n);
	ok(dec(op, p, n + 1, &back) == -EBADMSG, "%s: a leftover byte refused",
	    name);
	free(p);
	proto_buf_free(&again);
	proto_buf_free(&b);
}

/* Encodes r as op and expects the decoder to refuse it. */
static void
req_bad(const char *what, uint16_t op, const union proto_fs_req *r)
{
	struct proto_buf b;
	union proto_fs_req back;

	build(&b, op, r);
	ok(dec(op, b.data + PROTO_HDR_LEN, b.len - PROTO_HDR_LEN, &back) ==
	    -EBADMSG, "%s: refused", what);
	proto_buf_free(&b);
}

typedef int (*rep_dec)(struct proto_cur *, void *);

/* A reply payload: refuses each truncation and a leftover byte, and
 * decodes whole into out. */
static void
rep_ok(const char *name, const struct proto_buf *b, rep_dec fn, void *out)
{
	const uint8_t *p = b->data + PROTO_HDR_LEN;
	size_t n = b->len - PROTO_HDR_LEN, i;
	struct proto_cur c = { p, n };
	uint8_t *q;
	int cut_ok = 1;

	for (i = 0; i < n; i++) {
		c.p = p;
		c.left = i;
		if (fn(&c, out) != -EBADMSG)
			cut_ok = 0;
	}
	ok(cut_ok, "%s: each of its %zu truncations refused", name, n);
	q = copy_plus_one(p, n);
	c.p = q;
	c.left = n + 1;
	ok(fn(&c, out) == -EBADMSG, "%s: a leftover byte refused", name);
	free(q);
	/* Last, so out holds the whole message's fields. */
	c.p = p;
	c.left = n;
	ok(fn(&c, out) == 0, "%s: decodes", name);
}

static int
dec_attr(struct proto_cur *c, void *o)
{
	return proto_dec_attr_rep(c, o);
}

static int
dec_open(struct proto_cur *c, void *o)
{
	return proto_dec_open_rep(c, o);
}

static int
dec_read(struct proto_cur *c, void *o)
{
	return proto_dec_read_rep(c, 4096, o);
}

static int
dec_readlink(struct proto_cur *c, void *o)
{
	return proto_dec_readlink_rep(c, o, PROTO_PATH_MAX + 1);
}

static int
dec_statfs(struct proto_cur *c, void *o)
{
	return proto_dec_statfs_rep(c, o);
}

static int
dec_xattr(struct proto_cur *c, void *o)
{
	return proto_dec_xattr_rep(c, o);
}

static int
dec_write(struct proto_cur *c, void *o)
{
	return proto_dec_write_rep(c, o);
}

static int
dec_lock(struct proto_cur *c, void *o)
{
	return proto_dec_lock_rep(c, o);
}

static void
rep_begin(struct proto_buf *b, uint16_t op)
{
	proto_buf_init(b, 64);
	proto_begin(b, MSG_REPLY, op, 1, 0);
}

static void
test_replies(void)
{
	static char link[PROTO_PATH_MAX + 1];
	struct proto_attr a = { 2049, 131, 0100644, 1, 0, 0, 0, 1234, 8,
	    4096, -2, 5, 1700000001, 6, 1700000002, 999999999, 1 }, ga;
	struct proto_statfs s = { 4096, 4096, 1000, 500, 400, 100, 50, 50,
	    255 }, gs;
	struct proto_open_rep o = { 3, a }, go;
	struct proto_read_rep rr;
	struct proto_xattr_rep xr = { 3, (const uint8_t *)"abc", 3 }, gx;
	struct proto_lock_rep lr = { LOCK_TYPE_WRITE, 10, 0 }, gl;
	struct proto_readdir_enc e;
	struct proto_readdir_rep dr;
	struct proto_buf b;
	struct proto_cur c;
	char name[PROTO_NAME_MAX + 1];
	uint8_t *p;
	uint32_t w;

	rep_begin(&b, OP_GETATTR);
	proto_enc_attr_rep(&b, &a);
	rep_ok("attr reply", &b, dec_attr, &ga);
	ok(ga.ino == a.ino && ga.mode == a.mode && ga.size == a.size &&
	    ga.atime_sec == -2 && ga.ctime_nsec == 999999999 &&
	    ga.flags == a.flags, "attr reply: the same attributes");
	/* Nanoseconds of 10^9 are not a time. */
	b.data[PROTO_HDR_LEN + 8 + 8 + 16 + 24 + 4 + 8] = 0x00;
	b.data[PROTO_HDR_LEN + 8 + 8 + 16 + 24 + 4 + 9] = 0xca;
	b.data[PROTO_HDR_LEN + 8 + 8 + 16 + 24 + 4 + 10] = 0x9a;
	b.data[PROTO_HDR_LEN + 8 + 8 + 16 + 24 + 4 + 11] = 0x3b;
	c.p = b.data + PROTO_HDR_LEN;
	c.left = b.len - PROTO_HDR_LEN;
	ok(proto_dec_attr_rep(&c, &ga) == -EBADMSG,
	    "attr reply: atime nanoseconds of 10^9 refused");
	proto_buf_free(&b);

	rep_begin(&b, OP_OPEN);
	proto_enc_open_rep(&b, &o);
	rep_ok("open reply", &b, dec_open, &go);
	ok(go.fh == 3 && go.attr.ino == 131, "open reply: handle and attr");
	proto_buf_free(&b);

	rep_begin(&b, OP_READ);
	p = proto_enc_read_rep_reserve(&b, 4096);
	memcpy(p, "data", 4);
	proto_enc_read_rep_trim(&b, p, 4);
	ok(b.len == PROTO_HDR_LEN + 4 + 4, "read reply: trimmed in place");
	rep_ok("read reply", &b, dec_read, &rr);
	ok(rr.len == 4 && memcmp(rr.data, "data", 4) == 0,
	    "read reply: the data, borrowed from the message");
	c.p = b.data + PROTO_HDR_LEN;
	c.left = b.len - PROTO_HDR_LEN;
	ok(proto_dec_read_rep(&c, 3, &rr) == -EBADMSG,
	    "read reply: more than the size asked refused");
	proto_buf_free(&b);

	rep_begin(&b, OP_READLINK);
	proto_enc_readlink_rep(&b, "../x");
	rep_ok("readlink reply", &b, dec_readlink, link);
	ok(strcmp(link, "../x") == 0, "readlink reply: the target");
	proto_buf_free(&b);

	rep_begin(&b, OP_STATFS);
	proto_enc_statfs_rep(&b, &s);
	rep_ok("statfs reply", &b, dec_statfs, &gs);
	ok(memcmp(&gs, &s, sizeof(s)) == 0, "statfs reply: the same fields");
	proto_buf_free(&b);

	rep_begin(&b, OP_GETXATTR);
	proto_enc_xattr_rep(&b, &xr);
	rep_ok("xattr reply", &b, dec_xattr, &gx);
	ok(gx.needed == 3 && gx.len == 3, "xattr reply: needed and value");
	proto_buf_free(&b);

	rep_begin(&b, OP_GETXATTR);
	p = proto_enc_xattr_rep_reserve(&b, 100);
	memcpy(p, "abc", 3);
	proto_enc_xattr_rep_finish(&b, p, 3, 3);
	c.p = b.data + PROTO_HDR_LEN;
	c.left = b.len - PROTO_HDR_LEN;
	ok(proto_dec_xattr_rep(&c, &gx) == 0 && gx.needed == 3 &&
	    gx.len == 3 && memcmp(gx.value, "abc", 3) == 0,
	    "xattr reply framed in place: the same as built whole");
	proto_buf_free(&b);

	rep_begin(&b, OP_WRITE);
	proto_enc_write_rep(&b, 77);
	rep_ok("write reply", &b, dec_write, &w);
	ok(w == 77, "write reply: the count");
	proto_buf_free(&b);

	rep_begin(&b, OP_LOCK);
	proto_enc_lock_rep(&b, &lr);
	rep_ok("lock reply", &b, dec_lock, &gl);
	ok(gl.type == LOCK_TYPE_WRITE && gl.start == 10, "lock reply: fields");
	proto_buf_free(&b);

	/* readdir: entries as they come, the one that does not fit left
	 * out whole; a bad name refused. */
	rep_begin(&b, OP_READDIR);
	proto_enc_readdir_rep_begin(&b, &e);
	ok(proto_enc_readdir_rep_add(&b, &e, "a", &a, 13 + 103) == 0,
	    "readdir: an entry that fits is added");
	ok(proto_enc_readdir_rep_add(&b, &e, "b", &a, 13 + 103) == -ENOSPC,
	    "readdir: one past max is not");
	ok(b.len == PROTO_HDR_LEN + 13 + 103, "readdir: and leaves nothing");
	proto_enc_readdir_rep_finish(&b, &e, 1, 42);
	c.p = b.data + PROTO_HDR_LEN;
	c.left = b.len - PROTO_HDR_LEN;
	ok(proto_dec_readdir_rep(&c, &dr) == 0 && dr.eof == 1 &&
	    dr.next_cookie == 42 && dr.n == 1 &&
	    proto_dec_readdir_ent(&c, name, sizeof(name), &ga) == 0 &&
	    strcmp(name, "a") == 0 && proto_end(&c) == 0,
	    "readdir: head and entry decode");
	proto_buf_free(&b);
	{
		const char *bad[] = { "", ".", "..", "a/b" };
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			rep_begin(&b, OP_READDIR);
			proto_put_str(&b, bad[i]);
			proto_put_attr(&b, &a);
			c.p = b.data + PROTO_HDR_LEN;
			c.left = b.len - PROTO_HDR_LEN;
			ok(proto_dec_readdir_ent(&c, name, sizeof(name),
			    &ga) == -EBADMSG, "readdir: entry name \"%s\" "
			    "refused", bad[i]);
			proto_buf_free(&b);
		}
	}

	rep_begin(&b, OP_RELEASE);
	c.p = b.data + PROTO_HDR_LEN;
	c.left = 0;
	ok(proto_dec_empty_rep(&c) == 0, "empty reply: nothing is fine");
	c.left = 1;
	ok(proto_dec_empty_rep(&c) == -EBADMSG, "empty reply: a byte is not");
	proto_buf_free(&b);
}

static void
test_size_hint(void)
{
	union proto_fs_req r;
	struct proto_buf b;
	struct proto_cur c;

	memset(&r, 0, sizeof(r));
	r.read = (struct proto_read_req){ .fh = 1, .off = 0, .size = 4096 };
	build(&b, OP_READ, &r);
	c.p = b.data + PROTO_HDR_LEN;
	c.left = b.len - PROTO_HDR_LEN;
	ok(proto_fs_reply_size_hint(OP_READ, &c) == PROTO_HDR_LEN + 4 + 4096,
	    "size hint: a 4 KiB read needs 4 KiB and its framing");
	ok(c.left == b.len - PROTO_HDR_LEN, "size hint: the cursor is kept");
	proto_buf_free(&b);
	r.read.size = UINT32_MAX;
	build(&b, OP_READ, &r);
	c.p = b.data + PROTO_HDR_LEN;
	c.left = b.len - PROTO_HDR_LEN;
	ok(proto_fs_reply_size_hint(OP_READ, &c) ==
	    PROTO_HDR_LEN + 4 + PROTO_READ_MAX,
	    "size hint: a huge read is clamped to PROTO_READ_MAX");
	proto_buf_free(&b);
	ok(proto_fs_reply_size_hint(OP_GETATTR, &c) == 512,
	    "size hint: anything else starts small");
}

/* STREAM_FS_EVENT: round trip, the bounds, every truncation refused. */
static void
test_fs_events(void)
{
	char dir[PROTO_PATH_MAX + 1], name[PROTO_NAME_MAX + 1];
	struct proto_fs_events_enc e;
	struct proto_fs_events fe;
	struct proto_buf b;
	struct proto_cur c;
	uint32_t mask, i;
	size_t len, cut;
	int bad;

	proto_buf_init(&b, 64);
	proto_begin(&b, MSG_STREAM, STREAM_FS_EVENT, 0, 0);
	proto_enc_fs_events_begin(&b, &e);
	ok(proto_enc_fs_event_add(&b, &e, FSEV_CHANGED, "/etc", "passwd",
	    PROTO_PAYLOAD_MAX) == 0 && proto_enc_fs_event_add(&b, &e,
	    FSEV_GONE, "/", "", PROTO_PAYLOAD_MAX) == 0,
	    "fs events: two are added");
	len = b.len;
	ok(proto_enc_fs_event_add(&b, &e, FSEV_NAMES, "/a", "b",
	    len - PROTO_HDR_LEN) == -ENOSPC && b.len == len,
	    "fs events: one past max is not, and leaves nothing");
	proto_enc_fs_events_finish(&b, &e, 7, 1);
	c.p = b.data + PROTO_HDR_LEN;
	c.left = b.len - PROTO_HDR_LEN;
	ok(proto_dec_fs_events(&c, &fe) == 0 && fe.watches == 7 &&
	    fe.limited == 1 && fe.n == 2, "fs events: the head decodes");
	ok(proto_dec_fs_event(&c, &mask, dir, sizeof(dir), name,
	    sizeof(name)) == 0 && mask == FSEV_CHANGED &&
	    strcmp(dir, "/etc") == 0 && strcmp(name, "passwd") == 0,
	    "fs events: the first decodes");
	ok(proto_dec_fs_event(&c, &mask, dir, sizeof(dir), name,
	    sizeof(name)) == 0 && mask == FSEV_GONE &&
	    strcmp(dir, "/") == 0 && name[0] == '\0' && proto_end(&c) == 0,
	    "fs events: the second (the directory itself) and the end");
	/* Every truncation fails somewhere before the end. */
	bad = 0;
	for (cut = 0; cut < b.len - PROTO_HDR_LEN; cut++) {
		int rc;

		c.p = b.data + PROTO_HDR_LEN;
		c.left = cut;
		rc = proto_dec_fs_events(&c, &fe);
		for (i = 0; rc == 0 && i < fe.n; i++)
			rc = proto_dec_fs_event(&c, &mask, dir, sizeof(dir),
			    name, sizeof(name));
		if (rc == 0 && proto_end(&c) == 0)
			bad++;
	}
	ok(bad == 0, "fs events: every truncation is refused");
	proto_buf_free(&b);

	/* Hostile fields, built by hand. */
	{
		static const uint8_t many[] = { 0, 0, 0, 0, 0,
		    0x01, 0x04, 0, 0 };		/* n = 1025 */
		static const uint8_t lim2[] = { 0, 0, 0, 0, 2, 0, 0, 0, 0 };
		static const uint8_t mask0[] = { 0, 0, 0, 0, 1, 0, '/', 0, 0 };
		static const uint8_t mask16[] = { 16, 0, 0, 0, 1, 0, '/', 0, 0 };
		static const uint8_t rel[] = { 1, 0, 0, 0, 1, 0, 'a', 0, 0 };
		static const uint8_t dots[] = { 1, 0, 0, 0, 1, 0, '/', 2, 0,
		    '.', '.' };
		static const uint8_t slash[] = { 1, 0, 0, 0, 1, 0, '/', 3, 0,
		    'a', '/', 'b' };

		c.p = many;
		c.left = sizeof(many);
		ok(proto_dec_fs_events(&c, &fe) == -EBADMSG,
		    "fs events: more than PROTO_FS_EVENTS_MAX refused");
		c.p = lim2;
		c.left = sizeof(lim2);
		ok(proto_dec_fs_events(&c, &fe) == -EBADMSG,
		    "fs events: limited 2 refused");
#define EV_BAD(buf, what) do {						\
		c.p = buf;						\
		c.left = sizeof(buf);					\
		ok(proto_dec_fs_event(&c, &mask, dir, sizeof(dir), name,	\
		    sizeof(name)) == -EBADMSG, "fs events: " what " refused"); \
	} while (0)
		EV_BAD(mask0, "mask 0");
		EV_BAD(mask16, "an unknown mask bit");
		EV_BAD(rel, "a relative directory");
		EV_BAD(dots, "the name \"..\"");
		EV_BAD(slash, "a name with '/'");
#undef EV_BAD
	}
}

int
main(void)
{
	static const uint8_t wdata[] = "hello\0world";
	static const uint8_t xval[] = { 0, 1, 0xff };
	static uint8_t big[PROTO_WRITE_MAX + 1];
	union proto_fs_req r;

#define R(field, ...) (memset(&r, 0, sizeof(r)),			\
	r.field = (__typeof__(r.field)){ __VA_ARGS__ }, &r)
	req_ok("lookup", OP_LOOKUP, R(path, .path = "/etc/passwd"));
	req_ok("readdir", OP_READDIR, R(readdir, .path = "/etc",
	    .cookie = 7, .max = 100));
	req_ok("open", OP_OPEN, R(open, .path = "/etc/hosts", .flags = 2));
	req_ok("read", OP_READ, R(read, .fh = 1, .off = 4096, .size = 65536));
	req_ok("release", OP_RELEASE, R(fh, .fh = 1));
	req_ok("getxattr", OP_GETXATTR, R(xattr, .path = "/f",
	    .name = "user.x", .size = 64));
	req_ok("listxattr", OP_LISTXATTR, R(xattr, .path = "/f", .size = 0));
	req_ok("fgetxattr", OP_FGETXATTR, R(xattr, .fh = 2, .name = "user.x",
	    .size = 64));
	req_ok("flistxattr", OP_FLISTXATTR, R(xattr, .fh = 2, .size = 9));
	req_ok("create", OP_CREATE, R(create, .path = "/n", .flags = 1,
	    .mode = 0644, .uid = 1, .gid = 2));
	req_ok("write", OP_WRITE, R(write, .fh = 1, .off = 3, .data = wdata,
	    .len = sizeof(wdata) - 1));
	req_ok("setattr", OP_SETATTR, R(setattr, .path = "/n", .fh = 0,
	    .set = SETATTR_MODE | SETATTR_MTIME, .mode = 0600,
	    .atime_sec = -5, .mtime_sec = 1700000000,
	    .mtime_nsec = 999999999));
	req_ok("fsync", OP_FSYNC, R(fsync, .fh = 0, .datasync = 1,
	    .path = "/d"));
	req_ok("mknod", OP_MKNOD, R(mknode, .path = "/p", .mode = 010644,
	    .rdev = 5, .uid = 1, .gid = 1));
	req_ok("mkdir", OP_MKDIR, R(mknode, .path = "/d", .mode = 0755));
	req_ok("symlink", OP_SYMLINK, R(mknode, .path = "/l",
	    .target = "x"));
	req_ok("unlink", OP_UNLINK, R(path, .path = "/n"));
	req_ok("rename", OP_RENAME, R(rename, .from = "/a", .to = "/b",
	    .flags = 2));
	req_ok("link", OP_LINK, R(rename, .from = "/a", .to = "/c"));
	req_ok("setxattr", OP_SETXATTR, R(setxattr, .path = "/f", .fh = 3,
	    .name = "user.x", .value = xval, .len = sizeof(xval),
	    .flags = 1));
	req_ok("removexattr", OP_REMOVEXATTR, R(setxattr, .path = "/f",
	    .name = "user.x"));
	req_ok("fallocate", OP_FALLOCATE, R(fallocate, .fh = 1, .mode = 1,
	    .off = 2, .len = 3));
	req_ok("fgetattr", OP_FGETATTR, R(fh, .fh = 1));
	req_ok("lock", OP_LOCK, R(lock, .fh = 1, .owner = 9,
	    .cmd = LOCK_CMD_SET, .type = LOCK_TYPE_READ, .start = 1,
	    .len = 2));
	req_ok("flock", OP_FLOCK, R(flock, .fh = 1, .op = 2));
	req_ok("flush", OP_FLUSH, R(flush, .fh = 1, .owner = 9));

	req_bad("a relative path", OP_GETATTR, R(path, .path = "etc"));
	req_bad("an empty path", OP_UNLINK, R(path, .path = ""));
	req_bad("a relative rename target", OP_RENAME, R(rename,
	    .from = "/a", .to = "b"));
	req_bad("fgetxattr by handle 0", OP_FGETXATTR, R(xattr, .fh = 0,
	    .name = "user.x"));
	req_bad("an xattr name of NAME_MAX + 1", OP_GETXATTR, R(xattr,
	    .path = "/f", .name = (const char *)memset(
	    (char [PROTO_NAME_MAX + 2]){ 0 }, 'n', PROTO_NAME_MAX + 1)));
	req_bad("setxattr with an empty name", OP_SETXATTR, R(setxattr,
	    .path = "/f", .name = ""));
	req_bad("removexattr with an empty name", OP_REMOVEXATTR,
	    R(setxattr, .path = "/f", .name = ""));
	req_bad("a symlink to nothing", OP_SYMLINK, R(mknode, .path = "/l",
	    .target = ""));
	req_bad("setattr atime nanoseconds 10^9", OP_SETATTR, R(setattr,
	    .path = "/n", .atime_nsec = 1000000000));
	req_bad("setattr mtime nanoseconds 2^32 - 1", OP_SETATTR, R(setattr,
	    .path = "/n", .mtime_nsec = UINT32_MAX));
	req_bad("lock command 2", OP_LOCK, R(lock, .fh = 1, .cmd = 2));
	req_bad("lock type 3", OP_LOCK, R(lock, .fh = 1, .type = 3));
	req_bad("a write of PROTO_WRITE_MAX + 1 bytes", OP_WRITE, R(write,
	    .fh = 1, .data = big, .len = sizeof(big)));
	req_bad("an xattr value of PROTO_XATTR_MAX + 1 bytes", OP_SETXATTR,
	    R(setxattr, .path = "/f", .name = "user.x", .value = big,
	    .len = PROTO_XATTR_MAX + 1));
#undef R
	{
		/* A NUL inside a path: built by hand, no encoder makes it. */
		static const uint8_t nul[] = { 4, 0, '/', 'a', 0, 'b' };

		ok(dec(OP_GETATTR, nul, sizeof(nul), &r) == -EBADMSG,
		    "a NUL inside a path: refused");
		ok(dec(OP_NET_INFO, nul, 0, &r) == -EOPNOTSUPP,
		    "not a file-system op: -EOPNOTSUPP");
	}
	test_replies();
	test_size_hint();
	test_fs_events();
	return done_testing();
}
