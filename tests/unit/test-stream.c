/*
 * Unit tests of lib/stream.c, the stream engine the agent and netd share:
 * credit accounting both ways (the peer's window bounds what is read and
 * sent, credits never widen it, ours are sent back in batches, data
 * beyond our window or after the peer's shut is refused), and the order
 * of shut, close and reset. The peer is a fake endpoint that records
 * the messages the engine sends, decoded with lib/proto-net.c; the local
 * socket is one end of a socketpair, the test holds the other. Also the
 * STREAM_OPEN checks of lib/proto-net.c the engine's users rely on.
 * Prints TAP.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto.h"
#include "proto-net.h"
#include "stream.h"
#include "xmalloc.h"

#include "tap.h"

#define SENT_MAX	64

/* What the fake endpoint saw. */
static struct {
	struct proto_stream_msg m[SENT_MAX];
	uint8_t		 data[SENT_MAX][64];
	int		 n;
	uint32_t	 interest;
	int		 ended, err;
} ep;

static void
fake_send(struct stream *s, uint8_t *msg, size_t len)
{
	struct proto_hdr h;
	struct proto_cur c;
	struct proto_stream_msg *m = &ep.m[ep.n];

	(void)s;
	if (ep.n < SENT_MAX && proto_hdr_decode(msg, len, &h, &c) == 0 &&
	    proto_dec_stream(&h, &c, m) == 0) {
		if (m->op == STREAM_DATA) {
			memcpy(ep.data[ep.n], m->data, m->len < 64 ? m->len :
			    64);
			m->data = ep.data[ep.n];
		}
		ep.n++;
	} else
		diag("the engine sent a message that does not decode");
	x_free(msg);
}

static void
fake_interest(struct stream *s, uint32_t old, uint32_t want)
{
	(void)s;
	(void)old;
	ep.interest = want;
}

static void
fake_ended(struct stream *s, int err)
{
	(void)s;
	ep.ended++;
	ep.err = err;
}

static const struct stream_ops ops = {
	.send = fake_send,
	.interest = fake_interest,
	.ended = fake_ended,
};

static void
reset_ep(void)
{
	memset(&ep, 0, sizeof(ep));
}

static int
pair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
}

static void
test_tx_credit(void)
{
	struct stream s;

	reset_ep();
	stream_init(&s, &ops, NULL, 7, 1000);
	ok(stream_tx_room(&s) == 0, "no room before the peer's window");
	stream_set_peer_window(&s, 100);
	ok(stream_tx_room(&s) == 100, "room: the peer's window");
	stream_tx_sent(&s, 60);
	ok(stream_tx_room(&s) == 40, "sending uses it up");
	stream_peer_credit(&s, 1000);
	ok(s.credited == 60 && stream_tx_room(&s) == 100,
	    "a credit beyond what was sent never widens the window");
	stream_peer_credit(&s, 5);
	ok(stream_tx_room(&s) == 100, "a credit with nothing outstanding: no-op");
	ok(ep.n == 0 && ep.ended == 0, "accounting alone sends nothing");
	stream_release(&s);
}

static void
test_rx_window(void)
{
	struct stream s;
	uint8_t buf[600];

	reset_ep();
	memset(buf, 'x', sizeof(buf));
	stream_init(&s, &ops, NULL, 8, 1000);
	ok(stream_peer_data(&s, buf, 600) == 0 && s.queued == 600,
	    "data before the socket is queued");
	ok(stream_peer_data(&s, buf, 401) == -EPROTO,
	    "data beyond the window is refused");
	ok(stream_peer_data(&s, buf, 400) == 0 && s.queued == 1000,
	    "data up to the window is taken");
	stream_rx_consumed(&s, 200);
	ok(ep.n == 0, "below a quarter window: no credit yet");
	stream_rx_consumed(&s, 100);
	ok(ep.n == 1 && ep.m[0].op == STREAM_CREDIT && ep.m[0].credit == 300 &&
	    ep.m[0].id == 8, "a quarter window consumed: credit 300");
	stream_peer_shut(&s);
	ok(ep.ended == 0, "a shut before the socket ends nothing");
	ok(stream_peer_data(&s, buf, 1) == -EPROTO,
	    "data after the peer's shut is refused");
	stream_release(&s);
}

/* The socket attached late: queued data, then the peer's shut, in order;
 * then the local side's bytes go out within the peer's window. */
static void
test_relay_and_finish(void)
{
	struct stream s;
	char got[64];
	ssize_t r;
	int sv[2], i;

	reset_ep();
	if (pair(sv) < 0) {
		ok(0, "socketpair: %s", strerror(errno));
		return;
	}
	stream_init(&s, &ops, NULL, 9, 64);
	(void)stream_peer_data(&s, (const uint8_t *)"request", 7);
	stream_peer_shut(&s);
	stream_attach(&s, sv[0]);
	r = read(sv[1], got, sizeof(got));
	ok(r == 7 && memcmp(got, "request", 7) == 0,
	    "attach writes what the peer sent before");
	r = read(sv[1], got, sizeof(got));
	ok(r == 0, "then the peer's shut: EOF on the socket");
	ok(s.wr_shut && ep.ended == 0, "half-closed, not ended");
	ok(ep.n == 0, "no credit for 7 bytes of a 64-byte window");
	ok(ep.interest == 0, "no window from the peer yet: nothing to wait for");

	stream_set_peer_window(&s, 3);
	stream_peer_credit(&s, 0);
	ok(ep.interest == EPOLLIN, "a window: reading");
	ok(write(sv[1], "hello", 5) == 5, "the local side sends 5 bytes");
	stream_event(&s, EPOLLIN);
	ok(ep.n == 1 && ep.m[0].op == STREAM_DATA && ep.m[0].len == 3 &&
	    memcmp(ep.m[0].data, "hel", 3) == 0,
	    "only the peer's window of 3 bytes is read");
	ok(ep.interest == 0, "window used up: not reading");
	stream_peer_credit(&s, 3);
	ok(ep.n == 2 && ep.m[1].op == STREAM_DATA && ep.m[1].len == 2 &&
	    memcmp(ep.m[1].data, "lo", 2) == 0,
	    "the credit lets the rest through");
	shutdown(sv[1], SHUT_WR);
	stream_event(&s, EPOLLIN);
	ok(ep.n == 4 && ep.m[2].op == STREAM_SHUT && ep.m[3].op == STREAM_CLOSE &&
	    ep.m[3].status == 0, "EOF: SHUT, then CLOSE 0 (both sides done)");
	ok(ep.ended == 1 && ep.err == 0 && s.fd == -1, "ended(0), socket closed");
	for (i = 0; i < 4; i++)
		if (ep.m[i].id != 9)
			break;
	ok(i == 4, "every message names the stream");
	close(sv[1]);
}

static void
test_resets(void)
{
	struct stream s;
	char got[16];
	int sv[2];

	reset_ep();
	if (pair(sv) < 0) {
		ok(0, "socketpair: %s", strerror(errno));
		return;
	}
	stream_init(&s, &ops, NULL, 10, 64);
	stream_set_peer_window(&s, 64);
	stream_attach(&s, sv[0]);
	stream_peer_close(&s, ECONNRESET);
	ok(ep.ended == 1 && ep.err == ECONNRESET && ep.n == 0,
	    "the peer's reset: ended, nothing sent back");
	stream_peer_close(&s, ECONNRESET);
	ok(ep.ended == 1, "ended once");
	close(sv[1]);

	reset_ep();
	if (pair(sv) < 0)
		return;
	stream_init(&s, &ops, NULL, 11, 64);
	stream_set_peer_window(&s, 64);
	stream_attach(&s, sv[0]);
	stream_reset(&s, EPIPE);
	ok(ep.n == 1 && ep.m[0].op == STREAM_CLOSE &&
	    ep.m[0].status == ECONNRESET && ep.ended == 1,
	    "a local reset: CLOSE ECONNRESET (EPIPE mapped), then ended");
	close(sv[1]);

	/* The peer's CLOSE 0: what it sent is written first. */
	reset_ep();
	if (pair(sv) < 0)
		return;
	stream_init(&s, &ops, NULL, 12, 64);
	stream_set_peer_window(&s, 64);
	(void)stream_peer_data(&s, (const uint8_t *)"tail", 4);
	stream_peer_close(&s, 0);
	ok(ep.ended == 0, "CLOSE 0 before the socket: waits for it");
	stream_attach(&s, sv[0]);
	ok(read(sv[1], got, sizeof(got)) == 4 && memcmp(got, "tail", 4) == 0,
	    "the peer's last data is written");
	ok(read(sv[1], got, sizeof(got)) == 0, "then EOF");
	ok(ep.ended == 1 && ep.err == 0 && ep.n == 0,
	    "ended(0) without a CLOSE back to a gone peer");
	close(sv[1]);
}

/* Encodes o, then decodes it again: the decoder's verdict. */
static int
open_roundtrip(const struct proto_stream_open *o, size_t alen,
    struct proto_stream_msg *m)
{
	struct proto_buf b;
	struct proto_hdr h;
	struct proto_cur c;
	int rc;

	/* By hand, so that the encoder's own checks do not hide the
	 * decoder's. */
	proto_buf_init(&b, 64);
	proto_begin(&b, MSG_STREAM, STREAM_OPEN, 5, 0);
	proto_put_u8(&b, o->proto);
	proto_put_u8(&b, o->family);
	proto_put_bytes(&b, o->addr, alen);
	proto_put_u16(&b, o->port);
	proto_put_u32(&b, o->window);
	rc = proto_finish(&b);
	if (rc == 0)
		rc = proto_hdr_decode(b.data, b.len, &h, &c);
	if (rc == 0)
		rc = proto_dec_stream(&h, &c, m);
	proto_buf_free(&b);
	return rc;
}

static void
test_open_codec(void)
{
	struct proto_stream_open o = { NET_TCP, 4, { 10, 77, 0, 2 }, 0, 80,
	    4096 };
	struct proto_stream_msg m;

	ok(open_roundtrip(&o, 4, &m) == 0 && m.open.addrlen == 4 &&
	    m.open.port == 80 && m.open.window == 4096 &&
	    memcmp(m.open.addr, o.addr, 4) == 0, "STREAM_OPEN round trip");
	ok(open_roundtrip(&o, 16, &m) == -EBADMSG,
	    "family 4 with 16 address bytes: malformed");
	o.window = 0;
	ok(open_roundtrip(&o, 4, &m) == -EBADMSG, "TCP with window 0: malformed");
	o.proto = NET_UDP;
	ok(open_roundtrip(&o, 4, &m) == 0, "UDP with window 0: the default");
	o.proto = 99;
	o.family = 5;
	ok(open_roundtrip(&o, 7, &m) == 0 && m.open.addrlen == 7,
	    "another protocol and family decode (answered, not cut)");
}

int
main(void)
{
	test_open_codec();
	test_tx_credit();
	test_rx_window();
	test_relay_and_finish();
	test_resets();
	return done_testing();
}
