/*
 * Unit tests of the websocket frame header code (lib/wsframe.c) against
 * the examples of RFC 6455 section 5.7 ("Hello" unmasked and masked, a
 * 256-byte and a 64 KiB binary frame, a fragmented text message, a ping),
 * and the frames it must refuse: reserved bits and opcodes, fragmented
 * or long control frames, a 64-bit length with its top bit set, a payload
 * over the caller's cap, and every cut of a header (-EAGAIN); then a
 * client's view of a server's frame stream (wsframe_rx_next): messages
 * in fragments, control frames between them, and the streams it must
 * refuse. Prints TAP.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "wsframe.h"

#include "tap.h"

/* Parses buf whole and checks the fields; on rc != 0 only the rc. */
static void
check(const char *what, const uint8_t *buf, size_t len, uint64_t max,
    int want_rc, int fin, int op, int masked, uint64_t plen, size_t hl)
{
	struct wsframe_hdr h;
	int rc = wsframe_parse(buf, len, max, &h);

	if (rc != 0 || want_rc != 0) {
		ok(rc == want_rc, "%s: returns %d (got %d)", what, want_rc, rc);
		return;
	}
	ok(h.fin == fin && h.opcode == op && h.masked == masked &&
	    h.payload_len == plen && h.hdr_len == hl, "%s: fin %d op %d "
	    "masked %d len %llu header %zu", what, h.fin, h.opcode, h.masked,
	    (unsigned long long)h.payload_len, h.hdr_len);
}

/* The rc wsframe_rx_next gives for buf, from state *rx. */
static int
rx_step(struct wsframe_rx *rx, const uint8_t *buf, size_t len, uint64_t max)
{
	struct wsframe_hdr h;
	const char *why = NULL;
	int rc = wsframe_rx_next(rx, buf, len, max, &h, &why);

	if (rc < 0 && rc != -EAGAIN && why == NULL)
		return -EINVAL;		/* every refusal says why */
	return rc;
}

/* A server's stream, frame by frame (RFC 6455 5.4 and 5.5). */
static void
test_rx(void)
{
	static const uint8_t frag1[] = { 0x02, 0x03, 'H', 'e', 'l' };
	static const uint8_t frag2[] = { 0x80, 0x02, 'l', 'o' };
	static const uint8_t whole[] = { 0x82, 0x02, 'h', 'i' };
	static const uint8_t ping[] = { 0x89, 0x00 };
	static const uint8_t closef[] = { 0x88, 0x02, 0x03, 0xe8 };
	static const uint8_t masked[] = { 0x82, 0x80, 1, 2, 3, 4 };
	struct wsframe_rx rx = { 0 };

	ok(rx_step(&rx, frag1, sizeof(frag1) - 1, 1000) == -EAGAIN,
	    "rx: a frame not all here asks for more");
	ok(rx_step(&rx, frag1, sizeof(frag1), 1000) == WSFRAME_RX_DATA &&
	    rx.in_msg && rx.msg_len == 3, "rx: a first fragment opens a "
	    "message");
	ok(rx_step(&rx, ping, sizeof(ping), 1000) == WSFRAME_RX_CONTROL &&
	    rx.in_msg, "rx: a ping between fragments");
	ok(rx_step(&rx, whole, sizeof(whole), 1000) == -EPROTO,
	    "rx: a new message inside a message is refused");
	rx.in_msg = 1;
	rx.msg_len = 3;
	ok(rx_step(&rx, frag2, sizeof(frag2), 4) == -EMSGSIZE,
	    "rx: a message over the cap in fragments is refused");
	ok(rx_step(&rx, frag2, sizeof(frag2), 1000) == WSFRAME_RX_DATA &&
	    !rx.in_msg && rx.msg_len == 5, "rx: the last fragment ends it");
	ok(rx_step(&rx, frag2, sizeof(frag2), 1000) == -EPROTO,
	    "rx: a continuation of no message is refused");
	ok(rx_step(&rx, whole, sizeof(whole), 1000) == WSFRAME_RX_DATA &&
	    !rx.in_msg && rx.msg_len == 2, "rx: a message in one frame");
	ok(rx_step(&rx, masked, sizeof(masked), 1000) == -EPROTO,
	    "rx: a masked frame from a server is refused");
	ok(rx_step(&rx, closef, sizeof(closef), 1000) == WSFRAME_RX_CLOSE,
	    "rx: the close frame");
}

int
main(void)
{
	static const uint8_t hello[] = { 0x81, 0x05, 'H', 'e', 'l', 'l', 'o' };
	static const uint8_t mhello[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
	    0x7f, 0x9f, 0x4d, 0x51, 0x58 };
	static const uint8_t frag1[] = { 0x01, 0x03, 'H', 'e', 'l' };
	static const uint8_t frag2[] = { 0x80, 0x02, 'l', 'o' };
	static const uint8_t ping[] = { 0x89, 0x05, 'H', 'e', 'l', 'l', 'o' };
	static const uint8_t b256[] = { 0x82, 0x7e, 0x01, 0x00 };
	static const uint8_t b64k[] = { 0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0 };
	static const uint8_t top[] = { 0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1 };
	static const uint8_t rsv[] = { 0xc2, 0x00 };
	static const uint8_t op3[] = { 0x83, 0x00 };
	static const uint8_t opb[] = { 0x8b, 0x00 };
	static const uint8_t fragping[] = { 0x09, 0x00 };
	static const uint8_t longclose[] = { 0x88, 0x7e, 0x00, 0x7e };
	uint8_t out[WSFRAME_HDR_MAX], pay[5];
	struct wsframe_hdr h;
	size_t n, cut;
	int cuts_ok = 1;

	check("\"Hello\", unmasked", hello, sizeof(hello), 1000, 0, 1, 1, 0,
	    5, 2);
	check("\"Hello\", masked", mhello, sizeof(mhello), 1000, 0, 1, 1, 1,
	    5, 6);
	(void)wsframe_parse(mhello, sizeof(mhello), 1000, &h);
	wsframe_mask(pay, mhello + 6, 5, h.mask, 0);
	ok(memcmp(pay, "Hello", 5) == 0, "masked \"Hello\" unmasks");
	memcpy(pay, mhello + 6, 5);
	wsframe_mask(pay, pay, 2, h.mask, 0);
	wsframe_mask(pay + 2, pay + 2, 3, h.mask, 2);
	ok(memcmp(pay, "Hello", 5) == 0, "unmasked in two pieces, in place");
	check("first fragment", frag1, sizeof(frag1), 1000, 0, 0, 1, 0, 3, 2);
	check("last fragment", frag2, sizeof(frag2), 1000, 0, 1, 0, 0, 2, 2);
	check("ping", ping, sizeof(ping), 1000, 0, 1, 9, 0, 5, 2);
	check("256 bytes", b256, sizeof(b256), 1000, 0, 1, 2, 0, 256, 4);
	check("64 KiB", b64k, sizeof(b64k), 1 << 20, 0, 1, 2, 0, 65536, 10);
	check("64 KiB over a 1000-byte cap", b64k, sizeof(b64k), 1000,
	    -EMSGSIZE, 0, 0, 0, 0, 0);
	check("64-bit length, top bit set", top, sizeof(top), UINT64_MAX,
	    -EPROTO, 0, 0, 0, 0, 0);
	check("reserved bits", rsv, sizeof(rsv), 1000, -EPROTO, 0, 0, 0, 0, 0);
	check("reserved opcode 3", op3, sizeof(op3), 1000, -EPROTO, 0, 0, 0,
	    0, 0);
	check("reserved opcode 0xb", opb, sizeof(opb), 1000, -EPROTO, 0, 0,
	    0, 0, 0);
	check("fragmented ping", fragping, sizeof(fragping), 1000, -EPROTO, 0,
	    0, 0, 0, 0);
	check("close of 126 bytes", longclose, sizeof(longclose), 1000,
	    -EPROTO, 0, 0, 0, 0, 0);
	for (cut = 0; cut < 6; cut++)
		if (wsframe_parse(mhello, cut, 1000, &h) != -EAGAIN)
			cuts_ok = 0;
	for (cut = 0; cut < sizeof(b64k); cut++)
		if (wsframe_parse(b64k, cut, 1 << 20, &h) != -EAGAIN)
			cuts_ok = 0;
	ok(cuts_ok, "every cut of a header asks for more (-EAGAIN)");

	n = wsframe_header(out, 1, WSFRAME_TEXT, 5, mhello + 2);
	ok(n == 6 && memcmp(out, mhello, 6) == 0, "builds the masked "
	    "\"Hello\" header");
	n = wsframe_header(out, 1, WSFRAME_BINARY, 256, NULL);
	ok(n == 4 && memcmp(out, b256, 4) == 0, "builds the 256-byte header");
	n = wsframe_header(out, 1, WSFRAME_BINARY, 65536, NULL);
	ok(n == 10 && memcmp(out, b64k, 10) == 0, "builds the 64 KiB header");
	n = wsframe_header(out, 0, WSFRAME_TEXT, 125, NULL);
	ok(n == 2 && out[0] == 0x01 && out[1] == 125, "125 bytes fit in the "
	    "first byte of the length");
	n = wsframe_header(out, 1, WSFRAME_BINARY, 65535, NULL);
	ok(n == 4 && out[1] == 126 && out[2] == 0xff && out[3] == 0xff,
	    "65535 bytes take the 16-bit length");
	test_rx();
	return done_testing();
}
