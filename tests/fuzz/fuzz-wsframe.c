/*
 * libFuzzer harness for the websocket frame header code the transport
 * runs on what a peer sends (lib/wsframe.c, used by lib/ws.c's client
 * reader): the input is a stream of frames, parsed one after the other
 * as rx_main does. Every header that parses is checked against the
 * buffer (never longer than what is there), built again with
 * wsframe_header and parsed back to the same fields; every payload that
 * is all there is unmasked whole and in two pieces (same bytes), and
 * masking it again gives the input back. Then the same bytes are
 * followed as a server's stream, as rx_main does (wsframe_rx_next): no
 * frame reaches past the input, no masked frame and no message over the
 * cap is accepted, and the message state follows the frames.
 *
 * FUZZ-SOURCES: lib/wsframe.c
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The transport's cap is PROTO_MSG_MAX; any cap will do here, and a
 * small one reaches the -EMSGSIZE path with small inputs. */
#define FUZZ_MAX	(64 * 1024)

static void
die(const char *what)
{
	fprintf(stderr, "fuzz-wsframe: %s\n", what);
	abort();
}

static void
check_payload(const uint8_t *p, size_t len, const struct wsframe_hdr *h)
{
	uint8_t *whole = malloc(len + 1), *split = malloc(len + 1);
	size_t cut = len ? (p[0] % (len + 1)) : 0;

	if (whole == NULL || split == NULL)
		die("out of memory");
	wsframe_mask(whole, p, len, h->mask, 0);
	wsframe_mask(split, p, cut, h->mask, 0);
	wsframe_mask(split + cut, p + cut, len - cut, h->mask, cut);
	if (memcmp(whole, split, len) != 0)
		die("unmasking in two pieces differs");
	wsframe_mask(split, whole, len, h->mask, 0);	/* in place is ok */
	wsframe_mask(split, split, len, h->mask, 0);
	wsframe_mask(split, split, len, h->mask, 0);
	if (memcmp(split, p, len) != 0)
		die("masking twice is not the identity");
	free(whole);
	free(split);
}

static void
check_stream(const uint8_t *data, size_t size)
{
	struct wsframe_rx rx = { 0 };
	struct wsframe_hdr h;
	const char *why;
	uint64_t total = 0;
	size_t off = 0;
	int rc, was_in;

	while (off < size) {
		why = NULL;
		was_in = rx.in_msg;
		rc = wsframe_rx_next(&rx, data + off, size - off, FUZZ_MAX, &h,
		    &why);
		if (rc == -EAGAIN)
			break;
		if (rc == -EPROTO || rc == -EMSGSIZE) {
			if (why == NULL)
				die("a refused stream without a why");
			break;
		}
		if (rc != WSFRAME_RX_DATA && rc != WSFRAME_RX_CLOSE &&
		    rc != WSFRAME_RX_CONTROL)
			die("unexpected return value from the stream");
		if (h.masked)
			die("a masked frame accepted from a server");
		if (h.hdr_len > size - off ||
		    h.payload_len > size - off - h.hdr_len)
			die("a frame reaching past the input");
		if (rc == WSFRAME_RX_DATA) {
			if (was_in != (h.opcode == WSFRAME_CONT))
				die("a continuation out of place accepted");
			total = was_in ? total + h.payload_len : h.payload_len;
			if (total > FUZZ_MAX || rx.msg_len != total)
				die("message length wrong or over the cap");
			if (rx.in_msg == h.fin)
				die("message state does not follow fin");
		} else if (h.opcode < WSFRAME_CLOSE || rx.in_msg != was_in)
			die("a control frame changed the message");
		off += h.hdr_len + (size_t)h.payload_len;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wsframe_hdr h, h2;
	uint8_t hdr[WSFRAME_HDR_MAX];
	size_t off = 0, hl;
	int rc;

	while (off < size) {
		rc = wsframe_parse(data + off, size - off, FUZZ_MAX, &h);
		if (rc == -EAGAIN || rc == -EPROTO || rc == -EMSGSIZE)
			break;
		if (rc != 0)
			die("unexpected return value");
		if (h.hdr_len > size - off || h.hdr_len < 2 ||
		    h.hdr_len > WSFRAME_HDR_MAX)
			die("header length outside the buffer");
		if (h.payload_len > FUZZ_MAX)
			die("payload length above the cap");
		if (h.opcode >= WSFRAME_CLOSE && (!h.fin ||
		    h.payload_len > WSFRAME_CONTROL_MAX))
			die("bad control frame accepted");
		hl = wsframe_header(hdr, h.fin, h.opcode, h.payload_len,
		    h.masked ? h.mask : NULL);
		if (hl > h.hdr_len)
			die("rebuilt header longer than a parsed one");
		if (wsframe_parse(hdr, hl, FUZZ_MAX, &h2) != 0 ||
		    h2.hdr_len != hl || h2.fin != h.fin ||
		    h2.opcode != h.opcode || h2.masked != h.masked ||
		    h2.payload_len != h.payload_len ||
		    memcmp(h2.mask, h.mask, 4) != 0)
			die("rebuilt header parses differently");
		/* A shorter buffer never parses as the whole header. */
		if (wsframe_parse(data + off, h.hdr_len - 1, FUZZ_MAX, &h2) !=
		    -EAGAIN)
			die("a cut header did not ask for more");
		off += h.hdr_len;
		if (h.payload_len > size - off)
			break;
		check_payload(data + off, (size_t)h.payload_len, &h);
		off += (size_t)h.payload_len;
	}
	check_stream(data, size);
	return 0;
}
