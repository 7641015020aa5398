/*
 * libFuzzer harness for the network messages' decoders (lib/proto-net.c):
 * OP_NET_INFO, OP_DNS and OP_INCOMING_SUB/UNSUB requests and replies and
 * every MSG_STREAM op (STREAM_ACCEPT too, with its id space checked),
 * taken as a whole message through proto_hdr_decode. What decodes is
 * encoded again with the typed encoders and must come out byte for byte
 * the same (each message has one encoding), and every decoded field is
 * in its range. A decoded stream message is then handed to the stream
 * engine (lib/stream.c, without a socket), whose credit accounting must
 * hold: never more queued than the window, never more credited than
 * sent.
 *
 * With MIRROR_FUZZ_EXPECT_VALID=1 every input must decode: run-one uses
 * that to check the messages tests/netclient.py sends (its own encoder,
 * written from proto.h) against this codec.
 *
 * FUZZ-SOURCES: lib/proto-net.c lib/proto.c lib/stream.c lib/xmalloc.c lib/log.c
 * FUZZ-FLAGS:
 * FUZZ-SEEDS-CMD: python3 tests/netclient.py seeds
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpfilter.h"
#include "proto.h"
#include "proto-net.h"
#include "stream.h"
#include "xmalloc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int expect_valid;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *e = getenv("MIRROR_FUZZ_EXPECT_VALID");

	(void)argc;
	(void)argv;
	expect_valid = e != NULL && *e == '1';
	return 0;
}

/* A message that does not decode: fine, unless it had to. */
static void
invalid(const char *what)
{
	if (expect_valid) {
		fprintf(stderr, "fuzz-proto-net: %s does not decode\n", what);
		abort();
	}
}

static void
same(const struct proto_buf *b, int rc, const uint8_t *data, size_t size)
{
	if (rc != 0 || b->len != size || memcmp(b->data, data, size) != 0) {
		fprintf(stderr, "fuzz-proto-net: re-encoding differs\n");
		abort();
	}
}

/* OP_NET_INFO reply: collects the entries to encode them again. */
struct collect {
	struct proto_net_prefix p[2][64];
	int		 n[2];
	int		 more;		/* beyond what is kept: no re-encoding */
};

static int
collect(void *arg, int list, const struct proto_net_prefix *p)
{
	struct collect *c = arg;

	if (p->family != 4 && p->family != 6)
		abort();
	if (p->prefixlen > (p->family == 4 ? 32 : 128))
		abort();
	if (strlen(p->ifname) > PROTO_NET_IFNAME_MAX)
		abort();
	if (c->n[list] == 64) {
		c->more = 1;
		return 0;
	}
	c->p[list][c->n[list]++] = *p;
	return 0;
}

static void
net_info_reply(const struct proto_hdr *h, struct proto_cur *cur,
    const uint8_t *data, size_t size)
{
	static struct collect c;
	struct proto_net_info_enc e;
	struct proto_buf b;
	const uint8_t *resolv;
	uint32_t rlen;
	int i, l;

	memset(&c, 0, sizeof(c));
	if (proto_dec_net_info(cur, &resolv, &rlen, collect, &c) < 0) {
		invalid("an OP_NET_INFO reply");
		return;
	}
	if (c.more || h->status != 0)
		return;
	proto_buf_init(&b, size);
	proto_enc_net_info_begin(&e, &b, h->id, resolv, rlen);
	for (l = 0; l < 2; l++) {
		if (l == 1)
			proto_enc_net_info_routes(&e);
		for (i = 0; i < c.n[l]; i++)
			if (proto_enc_net_info_prefix(&e, &c.p[l][i]) < 0)
				abort();
	}
	same(&b, proto_enc_net_info_end(&e), data, size);
	proto_buf_free(&b);
}

static void
fake_send(struct stream *s, uint8_t *msg, size_t len)
{
	(void)s;
	(void)len;
	x_free(msg);
}

static void
fake_interest(struct stream *s, uint32_t old, uint32_t want)
{
	(void)s;
	(void)old;
	(void)want;
}

static void
fake_ended(struct stream *s, int err)
{
	(void)s;
	(void)err;
}

static const struct stream_ops ops = {
	.send = fake_send,
	.interest = fake_interest,
	.ended = fake_ended,
};

/* The engine, without a socket, takes the message. */
static void
engine(const struct proto_stream_msg *m)
{
	struct stream s;

	stream_init(&s, &ops, NULL, m->id, 4096);
	stream_set_peer_window(&s, 1000);
	stream_tx_sent(&s, 700);
	switch (m->op) {
	case STREAM_DATA:
		(void)stream_peer_data(&s, m->data, m->len);
		(void)stream_peer_data(&s, m->data, m->len);
		break;
	case STREAM_CREDIT:
		stream_peer_credit(&s, m->credit);
		break;
	case STREAM_SHUT:
		stream_peer_shut(&s);
		break;
	case STREAM_CLOSE:
		stream_peer_close(&s, m->status);
		break;
	default:
		break;
	}
	if (s.queued + s.uncredited > s.window || s.credited > s.sent ||
	    stream_tx_room(&s) > s.peer_window)
		abort();
	stream_release(&s);
}

static void
stream_msg(const struct proto_hdr *h, struct proto_cur *cur,
    const uint8_t *data, size_t size)
{
	struct proto_stream_msg m;
	struct proto_buf b;
	int rc;

	if (proto_dec_stream(h, cur, &m) < 0) {
		invalid("a stream message");
		return;
	}
	if (m.op != h->op || m.id != h->id)
		abort();
	engine(&m);
	proto_buf_init(&b, size);
	switch (m.op) {
	case STREAM_OPEN:
		if ((m.id & STREAM_ID_AGENT) || m.open.addrlen > 16 ||
		    (m.open.family == 4 && m.open.addrlen != 4) ||
		    (m.open.family == 6 && m.open.addrlen != 16))
			abort();
		if (h->status != 0)
			goto out;
		rc = proto_enc_stream_open(&b, m.id, &m.open);
		break;
	case STREAM_OPENED:
		/* A refusal may leave out the window; an encoder always
		 * puts it. */
		if (size != PROTO_HDR_LEN + 4)
			goto out;
		if (h->status != 0)
			m.window = (uint32_t)data[PROTO_HDR_LEN] |
			    (uint32_t)data[PROTO_HDR_LEN + 1] << 8 |
			    (uint32_t)data[PROTO_HDR_LEN + 2] << 16 |
			    (uint32_t)data[PROTO_HDR_LEN + 3] << 24;
		rc = proto_enc_stream_opened(&b, m.id, m.status, m.window);
		break;
	case STREAM_DATA:
		if (m.len > PROTO_STREAM_DATA_MAX)
			abort();
		if (h->status != 0)
			goto out;
		rc = proto_enc_stream_data(&b, m.id, m.data, m.len);
		break;
	case STREAM_CREDIT:
		if (h->status != 0)
			goto out;
		rc = proto_enc_stream_credit(&b, m.id, m.credit);
		break;
	case STREAM_SHUT:
		if (h->status != 0)
			goto out;
		rc = proto_enc_stream_shut(&b, m.id);
		break;
	case STREAM_CLOSE:
		rc = proto_enc_stream_close(&b, m.id, m.status);
		break;
	case STREAM_ACCEPT:
		if (!(m.id & STREAM_ID_AGENT) || m.accept.window == 0 ||
		    m.accept.dport == 0 ||
		    (m.accept.family != 4 && m.accept.family != 6))
			abort();
		if (h->status != 0)
			goto out;
		rc = proto_enc_stream_accept(&b, m.id, &m.accept);
		break;
	default:
		abort();
	}
	same(&b, rc, data, size);
out:
	proto_buf_free(&b);
}

/* OP_INCOMING_SUB and _UNSUB, requests and replies. */
static void
incoming(const struct proto_hdr *h, struct proto_cur *cur,
    const uint8_t *data, size_t size)
{
	struct proto_buf b;
	const uint8_t *filter = NULL;
	uint32_t flen = 0;
	uint16_t port;
	uint8_t mode;
	int rc;

	if (h->kind == MSG_REPLY) {
		if (proto_dec_incoming_reply(cur) < 0)
			invalid("an OP_INCOMING reply");
		else {
			proto_buf_init(&b, size);
			same(&b, proto_enc_net_errno(&b, MSG_REPLY, h->op,
			    h->id, h->status), data, size);
			proto_buf_free(&b);
		}
		return;
	}
	rc = h->op == OP_INCOMING_SUB ?
	    proto_dec_incoming_sub_filter(cur, &port, &mode, &filter,
	    &flen) :
	    proto_dec_incoming_unsub(cur, &port);
	if (rc < 0) {
		invalid("an OP_INCOMING request");
		return;
	}
	if (port == 0 || (h->op == OP_INCOMING_SUB &&
	    ((mode & ~INCOMING_FLUSH) == 0 ||
	    (mode & ~INCOMING_FLUSH) > INCOMING_MODE_MAX ||
	    ((mode & ~INCOMING_FLUSH) == INCOMING_FILTER) != (flen > 0) ||
	    flen > HTTP_FILTER_WIRE_MAX)))
		abort();
	if (h->status != 0)
		return;
	proto_buf_init(&b, size);
	same(&b, h->op == OP_INCOMING_SUB ?
	    proto_enc_incoming_sub_filter(&b, h->id, port, mode, filter,
	    flen) :
	    proto_enc_incoming_unsub(&b, h->id, port), data, size);
	proto_buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_hdr h;
	struct proto_cur cur;
	struct proto_buf b;
	const uint8_t *p;
	uint32_t n;

	if (proto_hdr_decode(data, size, &h, &cur) < 0) {
		invalid("a header");
		return 0;
	}
	if (h.kind == MSG_STREAM) {
		stream_msg(&h, &cur, data, size);
		return 0;
	}
	if (h.op == OP_INCOMING_SUB || h.op == OP_INCOMING_UNSUB) {
		incoming(&h, &cur, data, size);
		return 0;
	}
	if (h.op != OP_NET_INFO && h.op != OP_DNS) {
		invalid("a message of another op");
		return 0;
	}
	if (h.kind == MSG_REPLY && h.op == OP_NET_INFO) {
		net_info_reply(&h, &cur, data, size);
		return 0;
	}
	proto_buf_init(&b, size);
	if (h.kind == MSG_REQUEST && h.op == OP_NET_INFO) {
		if (proto_dec_net_info_req(&cur) < 0)
			invalid("an OP_NET_INFO request");
		else if (h.status == 0)
			same(&b, proto_enc_net_info_req(&b, h.id), data, size);
	} else if (h.kind == MSG_REQUEST) {
		if (proto_dec_dns_req(&cur, &p, &n) < 0)
			invalid("an OP_DNS request");
		else if (h.status == 0) {
			if (n > PROTO_DNS_MAX)
				abort();
			same(&b, proto_enc_dns_req(&b, h.id, p, n), data, size);
		}
	} else if (h.kind == MSG_REPLY) {
		if (proto_dec_dns_reply(&cur, &p, &n) < 0)
			invalid("an OP_DNS reply");
		else if (h.status == 0)
			same(&b, proto_enc_dns_reply(&b, h.id, p, n, NULL),
			    data, size);
	}
	proto_buf_free(&b);
	return 0;
}
