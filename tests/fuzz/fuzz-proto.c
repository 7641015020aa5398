/*
 * libFuzzer harness for the wire protocol decoders (lib/proto.c, and the
 * file-system messages' typed decoders in lib/proto-fs.c): takes
 * arbitrary bytes through proto_hdr_decode and then decodes the payload
 * exactly as the agent (hello, requests) and the client (hello, replies,
 * readdir entry lists) do, ending with proto_end. Every message that
 * decodes is encoded again field by field and must come out byte for
 * byte the same, since each message has exactly one encoding.
 *
 * With MIRROR_FUZZ_EXPECT_VALID=1 in the environment every input must
 * decode; run-one uses that to check its seeds (made by wsclient.py's
 * independent encoder) against this decoder.
 *
 * FUZZ-SOURCES: lib/proto.c lib/proto-fs.c lib/xmalloc.c lib/log.c
 * FUZZ-SEEDS-CMD: python3 tests/wsclient.py seeds
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "proto-fs.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int expect_valid;
static struct proto_buf out;

#define TRY(x) do {			\
	if ((x) < 0)			\
		return -1;		\
} while (0)

static void
die(const char *what, const uint8_t *data, size_t size)
{
	fprintf(stderr, "fuzz-proto: %s (input of %zu bytes)\n", what, size);
	(void)data;
	abort();
}

/* A str field: decode into dst, put it again. */
static int
str(struct proto_cur *c, char *dst, size_t dstsz)
{
	TRY(proto_get_str(c, dst, dstsz));
	/* proto_get_str promises a NUL-terminated copy with no NUL inside. */
	if (strlen(dst) >= dstsz)
		abort();
	proto_put_str(&out, dst);
	return 0;
}

static int
u8(struct proto_cur *c, uint8_t *v)
{
	TRY(proto_get_u8(c, v));
	proto_put_u8(&out, *v);
	return 0;
}

static int
u16(struct proto_cur *c, uint16_t *v)
{
	TRY(proto_get_u16(c, v));
	proto_put_u16(&out, *v);
	return 0;
}

static int
u32(struct proto_cur *c, uint32_t *v)
{
	TRY(proto_get_u32(c, v));
	proto_put_u32(&out, *v);
	return 0;
}

static int
bytes(struct proto_cur *c, uint32_t max)
{
	const uint8_t *p;
	uint32_t n;

	TRY(proto_get_bytes(c, &p, &n, max));
	if (n > max)
		abort();
	proto_put_bytes(&out, p, n);
	return 0;
}

/* A bytes field of exactly n bytes (the hello's nonces and MACs). */
static int
fixed(struct proto_cur *c, uint32_t n)
{
	const uint8_t *p;
	uint32_t got;

	TRY(proto_get_bytes(c, &p, &got, n));
	if (got != n)
		return -1;
	proto_put_bytes(&out, p, got);
	return 0;
}

/* The hello's four steps (proto.h), told apart by the header's id. */
static int
hello(const struct proto_hdr *h, struct proto_cur *c)
{
	char server[PROTO_NAME_MAX + 1];
	uint32_t caps;

	switch (h->id) {
	case 1:		/* client: u32 caps, bytes cn (32), bytes sid (16) */
		TRY(u32(c, &caps));
		TRY(fixed(c, 32));
		TRY(fixed(c, 16));
		break;
	case 2:		/* agent: bytes an (32), bytes mac (32) */
		TRY(fixed(c, 32));
		TRY(fixed(c, 32));
		break;
	case 3:		/* client: bytes mac (32) */
		TRY(fixed(c, 32));
		break;
	case 4:		/* agent: status 0: u32 caps, str server; else empty */
		if (h->status != 0)
			break;
		TRY(u32(c, &caps));
		TRY(str(c, server, sizeof(server)));
		break;
	default:
		return -1;
	}
	if (h->id != 4 && h->status != 0)
		return -1;
	return proto_end(c);
}

/* A request as the agent decodes it: a file-system request through its
 * lib/proto-fs.c decoder, encoded again with its encoder. */
static int
request(uint16_t op, struct proto_cur *c)
{
	static struct proto_fs_strs strs;
	union proto_fs_req r;
	uint16_t v16;
	uint8_t v8;
	int rc;

	switch (op) {
	case OP_NET_INFO:
		break;
	case OP_DNS:
		TRY(bytes(c, 65535));
		break;
	case OP_TARGET_INFO:
		/* an empty request */
		break;
	case OP_INCOMING_SUB:
		/* The layout; the ranges are fuzz-proto-net's. */
		TRY(u16(c, &v16));
		TRY(u8(c, &v8));
		break;
	case OP_INCOMING_UNSUB:
		TRY(u16(c, &v16));
		break;
	default:
		rc = proto_dec_fs_req(c, op, &strs, &r);
		if (rc == -EOPNOTSUPP)
			/* proto_hdr_decode let through an op it should
			 * not have. */
			abort();
		TRY(rc);
		if (proto_enc_fs_req(&out, op, &r) < 0)
			abort();
		return 0;
	}
	return proto_end(c);
}

/* OP_NET_INFO's address and route lists: u8 family, bytes addr, u8
 * prefixlen, str ifname. */
static int
net_list(struct proto_cur *c)
{
	char name[PROTO_NAME_MAX + 1];
	uint32_t n, i;
	uint8_t v8;

	TRY(u32(c, &n));
	for (i = 0; i < n; i++) {
		TRY(u8(c, &v8));
		TRY(bytes(c, 16));
		TRY(u8(c, &v8));
		TRY(str(c, name, sizeof(name)));
	}
	return 0;
}

/* The agent's change events (STREAM_FS_EVENT), as mountd reads them,
 * encoded again as the agent builds them. */
static int
fs_events(struct proto_cur *c)
{
	char dir[PROTO_PATH_MAX + 1], name[PROTO_NAME_MAX + 1];
	struct proto_fs_events r;
	struct proto_fs_events_enc e;
	uint32_t i, mask;

	TRY(proto_dec_fs_events(c, &r));
	proto_enc_fs_events_begin(&out, &e);
	for (i = 0; i < r.n; i++) {
		TRY(proto_dec_fs_event(c, &mask, dir, sizeof(dir), name,
		    sizeof(name)));
		if (proto_enc_fs_event_add(&out, &e, mask, dir, name,
		    PROTO_PAYLOAD_MAX) < 0)
			abort();
	}
	proto_enc_fs_events_finish(&out, &e, r.watches, r.limited);
	return 0;
}

/* A stream message, either direction. */
static int
stream(uint16_t op, struct proto_cur *c)
{
	uint32_t v32;
	uint16_t v16;
	uint8_t v8;

	switch (op) {
	case STREAM_OPEN:
		TRY(u8(c, &v8));
		TRY(u8(c, &v8));
		TRY(bytes(c, 16));
		TRY(u16(c, &v16));
		TRY(u32(c, &v32));
		break;
	case STREAM_OPENED:
	case STREAM_CREDIT:
		TRY(u32(c, &v32));
		break;
	case STREAM_ACCEPT:
		TRY(u8(c, &v8));
		TRY(bytes(c, 16));
		TRY(u16(c, &v16));
		TRY(u16(c, &v16));
		TRY(u32(c, &v32));
		break;
	case STREAM_DATA:
		/* The payload is the data. */
		proto_put_raw(&out, c->p, c->left);
		c->p += c->left;
		c->left = 0;
		break;
	case STREAM_SHUT:
	case STREAM_CLOSE:
		break;
	case STREAM_FS_EVENT:
		TRY(fs_events(c));
		break;
	default:
		abort();
	}
	return proto_end(c);
}

/* A readdir reply: the head, each entry, encoded again as the agent
 * builds it. */
static int
readdir_reply(struct proto_cur *c)
{
	char name[PROTO_NAME_MAX + 1];
	struct proto_readdir_rep r;
	struct proto_readdir_enc e;
	struct proto_attr a;
	uint32_t i;

	TRY(proto_dec_readdir_rep(c, &r));
	proto_enc_readdir_rep_begin(&out, &e);
	for (i = 0; i < r.n; i++) {
		TRY(proto_dec_readdir_ent(c, name, sizeof(name), &a));
		if (proto_enc_readdir_rep_add(&out, &e, name, &a,
		    PROTO_PAYLOAD_MAX) < 0)
			abort();
	}
	TRY(proto_end(c));
	proto_enc_readdir_rep_finish(&out, &e, r.eof, r.next_cookie);
	return 0;
}

/* A successful reply as the client decodes it: through the lib/proto-fs.c
 * decoder of its op, then that layout's encoder. */
static int
reply(uint16_t op, struct proto_cur *c)
{
	char target[PROTO_PATH_MAX + 1];
	struct proto_attr a;
	struct proto_open_rep o;
	struct proto_read_rep rd;
	struct proto_xattr_rep x;
	struct proto_lock_rep l;
	struct proto_statfs s;
	struct stat st;
	uint8_t *p;
	uint32_t w, n, i;

	switch (op) {
	case OP_LOOKUP:
	case OP_GETATTR:
	case OP_SETATTR:
	case OP_MKNOD:
	case OP_MKDIR:
	case OP_SYMLINK:
	case OP_LINK:
	case OP_FGETATTR:
		TRY(proto_dec_attr_rep(c, &a));
		/* The client turns every attr into a struct stat. */
		proto_attr_to_stat(&a, &st);
		proto_enc_attr_rep(&out, &a);
		return 0;
	case OP_READDIR:
		return readdir_reply(c);
	case OP_OPEN:
	case OP_CREATE:
		TRY(proto_dec_open_rep(c, &o));
		proto_enc_open_rep(&out, &o);
		return 0;
	case OP_READ:
		TRY(proto_dec_read_rep(c, PROTO_READ_MAX, &rd));
		p = proto_enc_read_rep_reserve(&out, rd.len);
		if (p == NULL)
			abort();
		if (rd.len > 0)
			memcpy(p, rd.data, rd.len);
		return 0;
	case OP_READLINK:
		TRY(proto_dec_readlink_rep(c, target, sizeof(target)));
		if (strlen(target) >= sizeof(target))
			abort();
		proto_enc_readlink_rep(&out, target);
		return 0;
	case OP_STATFS:
		TRY(proto_dec_statfs_rep(c, &s));
		proto_enc_statfs_rep(&out, &s);
		return 0;
	case OP_GETXATTR:
	case OP_LISTXATTR:
	case OP_FGETXATTR:
	case OP_FLISTXATTR:
		TRY(proto_dec_xattr_rep(c, &x));
		proto_enc_xattr_rep(&out, &x);
		return 0;
	case OP_WRITE:
		TRY(proto_dec_write_rep(c, &w));
		proto_enc_write_rep(&out, w);
		return 0;
	case OP_LOCK:
		/* getlk: the conflicting lock; setlk: empty */
		if (c->left == 0)
			return 0;
		TRY(proto_dec_lock_rep(c, &l));
		proto_enc_lock_rep(&out, &l);
		return 0;
	case OP_NET_INFO:
		TRY(bytes(c, 65536));
		TRY(net_list(c));
		TRY(net_list(c));
		break;
	case OP_DNS:
		TRY(bytes(c, 65535));
		break;
	case OP_TARGET_INFO:
		/* The shapes are fuzz-target-info's (proto_get_target_info
		 * drops entries, so its output is not the input); here the
		 * layout. */
		TRY(str(c, target, sizeof(target)));
		TRY(bytes(c, 256 * 1024));
		TRY(u32(c, &n));
		for (i = 0; i < n; i++)
			TRY(str(c, target, sizeof(target)));
		break;
	case OP_INCOMING_SUB:
	case OP_INCOMING_UNSUB:
	case OP_RELEASE:
	case OP_FSYNC:
	case OP_UNLINK:
	case OP_RMDIR:
	case OP_RENAME:
	case OP_SETXATTR:
	case OP_REMOVEXATTR:
	case OP_FALLOCATE:
	case OP_FLOCK:
	case OP_FLUSH:
		return proto_dec_empty_rep(c);
	default:
		abort();
	}
	return proto_end(c);
}

/* Re-encoded message must equal the input. */
static void
check_same(const uint8_t *data, size_t size)
{
	int rc = proto_finish(&out);

	if (rc != 0)
		die("re-encoding a decoded message failed", data, size);
	if (out.len != size || memcmp(out.data, data, size) != 0)
		die("re-encoded message differs from the input", data, size);
}

static void
begin(const struct proto_hdr *h)
{
	proto_begin(&out, h->kind, h->op, h->id, h->status);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *e = getenv("MIRROR_FUZZ_EXPECT_VALID");

	(void)argc;
	(void)argv;
	expect_valid = e != NULL && *e == '1';
	proto_buf_init(&out, 0);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_hdr h;
	struct proto_cur payload, c;
	int decoded = 0;

	if (proto_hdr_decode(data, size, &h, &payload) != 0) {
		if (expect_valid)
			die("header rejected", data, size);
		return 0;
	}
	if (payload.left != h.length || payload.p != data + PROTO_HDR_LEN ||
	    h.version != PROTO_VERSION)
		die("header decode inconsistent", data, size);

	switch (h.kind) {
	case MSG_HELLO:
		if (h.op != 0)
			die("hello with an op accepted", data, size);
		c = payload;
		begin(&h);
		if (hello(&h, &c) == 0) {
			check_same(data, size);
			decoded = 1;
		}
		break;
	case MSG_REQUEST:
		if (h.op == 0 || h.op >= OP_MAX_)
			die("request with a bad op accepted", data, size);
		c = payload;
		begin(&h);
		if (request(h.op, &c) == 0) {
			check_same(data, size);
			decoded = 1;
		}
		break;
	case MSG_REPLY:
		if (h.op == 0 || h.op >= OP_MAX_)
			die("reply with a bad op accepted", data, size);
		c = payload;
		begin(&h);
		/* An error reply carries no payload. */
		if (h.status != 0 ? proto_end(&c) == 0 : reply(h.op, &c) == 0) {
			check_same(data, size);
			decoded = 1;
		}
		break;
	case MSG_STREAM:
		if (h.op == 0 || h.op >= STREAM_MAX_)
			die("stream message with a bad op accepted", data,
			    size);
		c = payload;
		begin(&h);
		if (stream(h.op, &c) == 0) {
			check_same(data, size);
			decoded = 1;
		}
		break;
	default:
		die("unknown kind accepted", data, size);
	}
	if (expect_valid && !decoded)
		die("payload rejected", data, size);
	return 0;
}
