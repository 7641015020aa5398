/*
 * codec-dump: builds one message of every file-system request layout and
 * every reply layout with the encoders of lib/proto-fs.c (replies framed
 * in place as the agent frames them: reserve, fill, trim) and prints
 * "NAME HEX" lines. tests/t-codec.sh has tests/wsclient.py build the
 * same messages (codec_samples there holds the same values) and compare
 * them byte for byte, and decode the C bytes back; so the Python test
 * client cannot drift from the C codec. Each message is also decoded
 * here with the C decoder and encoded again: it must come out the same.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto-fs.h"

#define OWNER	0xdeadbeefcafeULL

static int failures;

static void
put_hex(const char *name, const struct proto_buf *b)
{
	size_t i;

	printf("%s ", name);
	for (i = 0; i < b->len; i++)
		printf("%02x", b->data[i]);
	printf("\n");
}

/* A request: encoded, printed, decoded and encoded again. */
static void
req(const char *name, uint16_t op, const union proto_fs_req *r)
{
	static struct proto_fs_strs strs;
	union proto_fs_req back;
	struct proto_buf b, again;
	struct proto_hdr h;
	struct proto_cur c;

	proto_buf_init(&b, 64);
	proto_begin(&b, MSG_REQUEST, op, 100u + op, 7);
	if (proto_enc_fs_req(&b, op, r) < 0 || proto_finish(&b) < 0) {
		fprintf(stderr, "codec-dump: %s does not encode\n", name);
		exit(1);
	}
	put_hex(name, &b);
	proto_buf_init(&again, 64);
	if (proto_hdr_decode(b.data, b.len, &h, &c) < 0 ||
	    proto_dec_fs_req(&c, op, &strs, &back) < 0) {
		fprintf(stderr, "codec-dump: %s does not decode\n", name);
		failures++;
	} else {
		proto_begin(&again, MSG_REQUEST, op, h.id, h.status);
		(void)proto_enc_fs_req(&again, op, &back);
		if (proto_finish(&again) < 0 || again.len != b.len ||
		    memcmp(again.data, b.data, b.len) != 0) {
			fprintf(stderr, "codec-dump: %s decodes to another "
			    "message\n", name);
			failures++;
		}
	}
	proto_buf_free(&again);
	proto_buf_free(&b);
}

static void
rep_begin(struct proto_buf *b, uint16_t op, int err)
{
	proto_buf_init(b, 64);
	proto_begin(b, MSG_REPLY, op, 200u + op, (uint32_t)err);
}

static void
rep_end(const char *name, struct proto_buf *b)
{
	if (proto_finish(b) < 0) {
		fprintf(stderr, "codec-dump: %s does not encode\n", name);
		exit(1);
	}
	put_hex(name, b);
	proto_buf_free(b);
}

/* The payload cursor of a reply just built (finished: its length set). */
static struct proto_cur
payload_of(struct proto_buf *b)
{
	struct proto_hdr h;
	struct proto_cur c = { NULL, 0 };

	if (proto_finish(b) < 0 || proto_hdr_decode(b->data, b->len, &h,
	    &c) < 0)
		failures++;
	return c;
}

static void
check(int ok, const char *name)
{
	if (!ok) {
		fprintf(stderr, "codec-dump: %s does not decode back\n", name);
		failures++;
	}
}

static void
replies(const struct proto_attr *a, const struct proto_attr *d)
{
	static const char data[] = "root:x:0:0\n";
	static const char target[] = "../usr/bin/busybox";
	struct proto_statfs s = { 4096, 4096, 1000, 500, 400, 100, 50, 50,
	    255 };
	struct proto_buf b;
	struct proto_cur c;
	struct proto_attr ga;
	struct proto_open_rep o;
	struct proto_read_rep rr;
	struct proto_xattr_rep xr;
	struct proto_lock_rep lr = { LOCK_TYPE_READ, 100, 50 };
	struct proto_readdir_enc enc;
	struct proto_readdir_rep dr;
	struct proto_statfs gs;
	char name[PROTO_NAME_MAX + 1], link[PROTO_PATH_MAX + 1];
	uint8_t *p;
	uint32_t w;

	rep_begin(&b, OP_GETATTR, 0);
	proto_enc_attr_rep(&b, a);
	c = payload_of(&b);
	check(proto_dec_attr_rep(&c, &ga) == 0 &&
	    memcmp(&ga, a, sizeof(ga)) == 0, "rep-attr");
	rep_end("rep-attr", &b);

	rep_begin(&b, OP_MKDIR, 0);
	proto_enc_attr_rep(&b, d);
	rep_end("rep-mkdir", &b);

	rep_begin(&b, OP_LOOKUP, ENOENT);
	c = payload_of(&b);
	check(proto_dec_empty_rep(&c) == 0, "rep-enoent");
	rep_end("rep-enoent", &b);

	rep_begin(&b, OP_OPEN, 0);
	proto_enc_open_rep(&b, &(struct proto_open_rep){ 3, *a });
	c = payload_of(&b);
	check(proto_dec_open_rep(&c, &o) == 0 && o.fh == 3, "rep-open");
	rep_end("rep-open", &b);

	rep_begin(&b, OP_CREATE, 0);
	proto_enc_open_rep(&b, &(struct proto_open_rep){ 5, *d });
	rep_end("rep-create", &b);

	/* In place, as the agent reads: more reserved than read. */
	rep_begin(&b, OP_READ, 0);
	p = proto_enc_read_rep_reserve(&b, 4096);
	memcpy(p, data, sizeof(data) - 1);
	proto_enc_read_rep_trim(&b, p, sizeof(data) - 1);
	c = payload_of(&b);
	check(proto_dec_read_rep(&c, 4096, &rr) == 0 &&
	    rr.len == sizeof(data) - 1, "rep-read");
	c = payload_of(&b);
	check(proto_dec_read_rep(&c, 4, &rr) < 0, "rep-read past its size");
	rep_end("rep-read", &b);

	rep_begin(&b, OP_READLINK, 0);
	proto_enc_readlink_rep(&b, target);
	c = payload_of(&b);
	check(proto_dec_readlink_rep(&c, link, sizeof(link)) == 0 &&
	    strcmp(link, target) == 0, "rep-readlink");
	rep_end("rep-readlink", &b);

	rep_begin(&b, OP_STATFS, 0);
	proto_enc_statfs_rep(&b, &s);
	c = payload_of(&b);
	check(proto_dec_statfs_rep(&c, &gs) == 0 && gs.namemax == 255,
	    "rep-statfs");
	rep_end("rep-statfs", &b);

	rep_begin(&b, OP_GETXATTR, 0);
	p = proto_enc_xattr_rep_reserve(&b, 64);
	memcpy(p, "abc", 3);
	proto_enc_xattr_rep_finish(&b, p, 3, 3);
	c = payload_of(&b);
	check(proto_dec_xattr_rep(&c, &xr) == 0 && xr.needed == 3 &&
	    xr.len == 3 && memcmp(xr.value, "abc", 3) == 0, "rep-getxattr");
	rep_end("rep-getxattr", &b);

	/* A size query: nothing reserved, only what it needs. */
	rep_begin(&b, OP_LISTXATTR, 0);
	p = proto_enc_xattr_rep_reserve(&b, 0);
	proto_enc_xattr_rep_finish(&b, p, 14, 0);
	rep_end("rep-listxattr-size", &b);

	rep_begin(&b, OP_WRITE, 0);
	proto_enc_write_rep(&b, 11);
	c = payload_of(&b);
	check(proto_dec_write_rep(&c, &w) == 0 && w == 11, "rep-write");
	rep_end("rep-write", &b);

	rep_begin(&b, OP_LOCK, 0);
	proto_enc_lock_rep(&b, &lr);
	rep_end("rep-lock", &b);

	/* Entries as they come; a third does not fit in max (226 bytes of
	 * payload hold the first two). */
	rep_begin(&b, OP_READDIR, 0);
	proto_enc_readdir_rep_begin(&b, &enc);
	check(proto_enc_readdir_rep_add(&b, &enc, "passwd", a, 230) == 0,
	    "readdir add");
	check(proto_enc_readdir_rep_add(&b, &enc, "ssl", d, 230) == 0,
	    "readdir add");
	check(proto_enc_readdir_rep_add(&b, &enc, "too-much", d, 230) ==
	    -ENOSPC, "readdir full");
	proto_enc_readdir_rep_finish(&b, &enc, 0, 3);
	c = payload_of(&b);
	check(proto_dec_readdir_rep(&c, &dr) == 0 && dr.n == 2 &&
	    dr.next_cookie == 3 && dr.eof == 0 &&
	    proto_dec_readdir_ent(&c, name, sizeof(name), &ga) == 0 &&
	    strcmp(name, "passwd") == 0 &&
	    proto_dec_readdir_ent(&c, name, sizeof(name), &ga) == 0 &&
	    strcmp(name, "ssl") == 0 && proto_end(&c) == 0, "rep-readdir");
	rep_end("rep-readdir", &b);

	rep_begin(&b, OP_RELEASE, 0);
	rep_end("rep-release", &b);
}

int
main(void)
{
	static const uint8_t wdata[] = "hello\0world";
	static const uint8_t xval[] = { 0, 1, 0xff };
	struct proto_attr a = { 2049, 131, 0100644, 1, 0, 0, 0, 1234, 8,
	    4096, -2, 5, 1700000001, 6, 1700000002, 999999999, 1 };
	struct proto_attr d = a;
	union proto_fs_req r;

	d.mode = 040755;
	d.nlink = 2;
	d.ino = 2;
	d.flags = 0;

#define REQ(name, op, field, ...) do {					\
	memset(&r, 0, sizeof(r));					\
	r.field = (__typeof__(r.field)){ __VA_ARGS__ };		\
	req("req-" name, op, &r);					\
} while (0)
	REQ("lookup", OP_LOOKUP, path, .path = "/etc/passwd");
	REQ("getattr", OP_GETATTR, path, .path = "/");
	REQ("readdir", OP_READDIR, readdir, .path = "/etc",
	    .cookie = 0x1122334455667788ULL, .max = 1u << 20);
	REQ("open", OP_OPEN, open, .path = "/etc/hosts", .flags = 02001);
	REQ("read", OP_READ, read, .fh = 3, .off = 1ULL << 40,
	    .size = 131072);
	REQ("release", OP_RELEASE, fh, .fh = 3);
	REQ("readlink", OP_READLINK, path, .path = "/bin/sh");
	REQ("statfs", OP_STATFS, path, .path = "/");
	REQ("getxattr", OP_GETXATTR, xattr, .path = "/f",
	    .name = "user.mime", .size = 64);
	REQ("listxattr", OP_LISTXATTR, xattr, .path = "/f", .size = 0);
	REQ("create", OP_CREATE, create, .path = "/tmp/new", .flags = 01101,
	    .mode = 0644, .uid = 1000, .gid = 100);
	REQ("write", OP_WRITE, write, .fh = 4, .off = 4096, .data = wdata,
	    .len = sizeof(wdata) - 1);
	REQ("setattr", OP_SETATTR, setattr, .path = "/tmp/new", .fh = 4,
	    .set = 0x3f, .mode = 0100600, .uid = 1000, .gid = 100,
	    .size = 12345, .atime_sec = -1, .atime_nsec = 999999999,
	    .mtime_sec = 1700000000, .mtime_nsec = 5);
	REQ("fsync", OP_FSYNC, fsync, .fh = 0, .datasync = 1, .path = "/tmp");
	REQ("mknod", OP_MKNOD, mknode, .path = "/tmp/fifo", .mode = 010644,
	    .rdev = 0x801, .uid = 1, .gid = 2);
	REQ("mkdir", OP_MKDIR, mknode, .path = "/tmp/d", .mode = 0755,
	    .uid = 1000, .gid = 1000);
	REQ("unlink", OP_UNLINK, path, .path = "/tmp/new");
	REQ("rmdir", OP_RMDIR, path, .path = "/tmp/d");
	REQ("symlink", OP_SYMLINK, mknode, .path = "/tmp/l",
	    .target = "../etc/passwd", .uid = 0, .gid = 0);
	REQ("rename", OP_RENAME, rename, .from = "/a", .to = "/b", .flags = 1);
	REQ("link", OP_LINK, rename, .from = "/a", .to = "/c");
	REQ("setxattr", OP_SETXATTR, setxattr, .path = "/f", .fh = 0,
	    .name = "user.x", .value = xval, .len = sizeof(xval),
	    .flags = 1);
	REQ("removexattr", OP_REMOVEXATTR, setxattr, .path = "/f", .fh = 9,
	    .name = "user.x");
	REQ("fallocate", OP_FALLOCATE, fallocate, .fh = 4, .mode = 1,
	    .off = 0, .len = 1u << 20);
	REQ("fgetattr", OP_FGETATTR, fh, .fh = 4);
	REQ("lock", OP_LOCK, lock, .fh = 4, .owner = OWNER, .cmd = 1,
	    .type = 2, .start = 10, .len = 0);
	REQ("flock", OP_FLOCK, flock, .fh = 4, .op = 2);
	REQ("flush", OP_FLUSH, flush, .fh = 4, .owner = OWNER);
	REQ("fgetxattr", OP_FGETXATTR, xattr, .fh = 4, .name = "user.x",
	    .size = 16);
	REQ("flistxattr", OP_FLISTXATTR, xattr, .fh = 4, .size = 256);
#undef REQ
	replies(&a, &d);
	fflush(stdout);
	return failures ? 1 : 0;
}
