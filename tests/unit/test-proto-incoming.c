/*
 * Unit tests of the incoming-traffic messages of lib/proto-net.c:
 * OP_INCOMING_SUB and _UNSUB round trips and their range checks, and
 * STREAM_ACCEPT with the two id spaces (an ACCEPT must carry an id of the
 * agent's, an OPEN one of the client's), every truncation and a
 * leftover byte rejected. Prints TAP.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "proto-net.h"
#include "tap.h"

/* Decodes the finished message in b as a receiver does. */
static int
decode(const struct proto_buf *b, size_t len, struct proto_hdr *h,
    struct proto_cur *c)
{
	return proto_hdr_decode(b->data, len, h, c);
}

static void
test_sub(void)
{
	struct proto_buf b;
	struct proto_hdr h;
	struct proto_cur c;
	uint16_t port = 0;
	uint8_t mode = 0;

	proto_buf_init(&b, 64);
	ok(proto_enc_incoming_sub(&b, 7, 8080, INCOMING_STEAL) == 0 &&
	    decode(&b, b.len, &h, &c) == 0 && h.op == OP_INCOMING_SUB &&
	    h.id == 7 && proto_dec_incoming_sub(&c, &port, &mode) == 0 &&
	    port == 8080 && mode == INCOMING_STEAL, "incoming_sub round trip");
	ok(decode(&b, b.len - 1, &h, &c) < 0, "a truncated sub is refused");
	h.length--;
	c.left--;
	ok(proto_dec_incoming_sub(&c, &port, &mode) < 0,
	    "a sub without its mode is refused");
	proto_buf_free(&b);

	proto_buf_init(&b, 64);
	ok(proto_enc_incoming_sub(&b, 1, 0, INCOMING_STEAL) == -EINVAL,
	    "port 0 is not encoded");
	proto_buf_free(&b);
	proto_buf_init(&b, 64);
	ok(proto_enc_incoming_sub(&b, 1, 80, INCOMING_MODE_MAX + 1) ==
	    -EINVAL, "an unknown mode is not encoded");
	proto_buf_free(&b);

	proto_buf_init(&b, 64);
	ok(proto_enc_incoming_sub(&b, 2, 80, INCOMING_STEAL | INCOMING_FLUSH)
	    == 0 && decode(&b, b.len, &h, &c) == 0 &&
	    proto_dec_incoming_sub(&c, &port, &mode) == 0 &&
	    mode == (INCOMING_STEAL | INCOMING_FLUSH),
	    "steal with INCOMING_FLUSH round trip");
	proto_buf_free(&b);
	proto_buf_init(&b, 64);
	ok(proto_enc_incoming_sub(&b, 1, 80, INCOMING_FLUSH) == -EINVAL,
	    "INCOMING_FLUSH without a mode is not encoded");
	proto_buf_free(&b);
	proto_buf_init(&b, 64);
	proto_begin(&b, MSG_REQUEST, OP_INCOMING_SUB, 1, 0);
	proto_put_u16(&b, 80);
	proto_put_u8(&b, INCOMING_STEAL | 0x40);
	proto_finish(&b);
	ok(decode(&b, b.len, &h, &c) == 0 &&
	    proto_dec_incoming_sub(&c, &port, &mode) == -EBADMSG,
	    "an unknown flag is refused");
	proto_buf_free(&b);

	/* Built by hand: what a broken client could send. */
	proto_buf_init(&b, 64);
	proto_begin(&b, MSG_REQUEST, OP_INCOMING_SUB, 1, 0);
	proto_put_u16(&b, 80);
	proto_put_u8(&b, 3);
	proto_finish(&b);
	ok(decode(&b, b.len, &h, &c) == 0 &&
	    proto_dec_incoming_sub(&c, &port, &mode) == -EBADMSG,
	    "mode 3 is refused");
	proto_buf_free(&b);
	proto_buf_init(&b, 64);
	proto_begin(&b, MSG_REQUEST, OP_INCOMING_SUB, 1, 0);
	proto_put_u16(&b, 80);
	proto_put_u8(&b, INCOMING_STEAL);
	proto_put_u8(&b, 0);
	proto_finish(&b);
	ok(decode(&b, b.len, &h, &c) == 0 &&
	    proto_dec_incoming_sub(&c, &port, &mode) == -EBADMSG,
	    "a leftover byte is refused");
	proto_buf_free(&b);

	proto_buf_init(&b, 64);
	ok(proto_enc_incoming_unsub(&b, 9, 443) == 0 &&
	    decode(&b, b.len, &h, &c) == 0 && h.op == OP_INCOMING_UNSUB &&
	    proto_dec_incoming_unsub(&c, &port) == 0 && port == 443,
	    "incoming_unsub round trip");
	proto_buf_free(&b);
	proto_buf_init(&b, 64);
	proto_begin(&b, MSG_REQUEST, OP_INCOMING_UNSUB, 1, 0);
	proto_put_u16(&b, 0);
	proto_finish(&b);
	ok(decode(&b, b.len, &h, &c) == 0 &&
	    proto_dec_incoming_unsub(&c, &port) == -EBADMSG,
	    "unsub of port 0 is refused");
	proto_buf_free(&b);
}

static void
test_accept(void)
{
	struct proto_stream_accept a, bad;
	struct proto_stream_open o;
	struct proto_stream_msg m;
	struct proto_buf b;
	struct proto_hdr h;
	struct proto_cur c;
	size_t n;
	int all = 1;

	memset(&a, 0, sizeof(a));
	a.family = 4;
	memcpy(a.addr, "\x0a\x52\x00\x02", 4);
	a.sport = 40000;
	a.dport = 80;
	a.window = 1u << 20;
	proto_buf_init(&b, 64);
	ok(proto_enc_stream_accept(&b, STREAM_ID_AGENT | 5, &a) == 0 &&
	    decode(&b, b.len, &h, &c) == 0 &&
	    proto_dec_stream(&h, &c, &m) == 0 && m.op == STREAM_ACCEPT &&
	    m.id == (STREAM_ID_AGENT | 5) && m.accept.family == 4 &&
	    memcmp(m.accept.addr, a.addr, 4) == 0 &&
	    m.accept.sport == 40000 && m.accept.dport == 80 &&
	    m.accept.window == 1u << 20, "stream_accept round trip");
	for (n = PROTO_HDR_LEN; n < b.len; n++) {
		/* every shorter payload, its header saying so */
		struct proto_buf t;

		proto_buf_copy(&t, b.data, n);
		t.data[12] = (uint8_t)(n - PROTO_HDR_LEN);
		t.data[13] = t.data[14] = t.data[15] = 0;
		if (decode(&t, n, &h, &c) == 0 &&
		    proto_dec_stream(&h, &c, &m) == 0)
			all = 0;
		proto_buf_free(&t);
	}
	ok(all, "every truncated stream_accept is refused");
	/* The id of the client's space in an ACCEPT: patched in place. */
	b.data[7] &= 0x7f;
	ok(decode(&b, b.len, &h, &c) == 0 &&
	    proto_dec_stream(&h, &c, &m) == -EBADMSG,
	    "a stream_accept with a client's id is refused");
	proto_buf_free(&b);

	proto_buf_init(&b, 64);
	ok(proto_enc_stream_accept(&b, 5, &a) == -EINVAL,
	    "a stream_accept with a client's id is not encoded");
	proto_buf_free(&b);
	bad = a;
	bad.family = 5;
	proto_buf_init(&b, 64);
	ok(proto_enc_stream_accept(&b, STREAM_ID_AGENT | 1, &bad) == -EINVAL,
	    "family 5 is not encoded");
	proto_buf_free(&b);
	bad = a;
	bad.window = 0;
	proto_buf_init(&b, 64);
	ok(proto_enc_stream_accept(&b, STREAM_ID_AGENT | 1, &bad) == -EINVAL,
	    "window 0 is not encoded");
	proto_buf_free(&b);

	memset(&o, 0, sizeof(o));
	o.proto = NET_TCP;
	o.family = 4;
	o.port = 80;
	o.window = 4096;
	proto_buf_init(&b, 64);
	ok(proto_enc_stream_open(&b, 3, &o) == 0, "stream_open encodes");
	b.data[7] |= 0x80;
	ok(decode(&b, b.len, &h, &c) == 0 &&
	    proto_dec_stream(&h, &c, &m) == -EBADMSG,
	    "a stream_open with an id of the agent's space is refused");
	proto_buf_free(&b);
}

int
main(void)
{
	test_sub();
	test_accept();
	return done_testing();
}
