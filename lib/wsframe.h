/*
 * RFC 6455 frames, pure: parse a header from a buffer (every length
 * checked), build one, mask or unmask a payload, and follow a server's
 * frame stream message by message (what a client may accept). No I/O
 * and no threads, so the fuzzer (tests/fuzz/fuzz-wsframe.c) reaches
 * exactly the code ws.c runs on what a peer sends.
 */
#ifndef MIRROR_WSFRAME_H
#define MIRROR_WSFRAME_H

#include <stddef.h>
#include <stdint.h>

#define WSFRAME_HDR_MAX		14	/* 2 + 8 (length) + 4 (mask key) */
#define WSFRAME_CONTROL_MAX	125	/* a control frame's payload */

enum {
	WSFRAME_CONT = 0x0,
	WSFRAME_TEXT = 0x1,
	WSFRAME_BINARY = 0x2,
	WSFRAME_CLOSE = 0x8,
	WSFRAME_PING = 0x9,
	WSFRAME_PONG = 0xa,
};

struct wsframe_hdr {
	uint8_t		 opcode;	/* one of WSFRAME_* */
	int		 fin;
	int		 masked;
	uint8_t		 mask[4];	/* when masked */
	uint64_t	 payload_len;	/* <= the caller's max */
	size_t		 hdr_len;	/* bytes before the payload */
};

/* Parses the header at buf (avail bytes). 0 with *h filled; -EAGAIN
 * when more bytes are needed to tell; -EPROTO for reserved bits or
 * opcodes, a fragmented or long control frame, or a 64-bit length with
 * its top bit set; -EMSGSIZE for a payload longer than max. */
int	wsframe_parse(const uint8_t *buf, size_t avail, uint64_t max,
	    struct wsframe_hdr *h);
/* Writes the header of a frame (mask NULL: unmasked) at out, which holds
 * WSFRAME_HDR_MAX; returns its length. */
size_t	wsframe_header(uint8_t *out, int fin, uint8_t opcode, uint64_t len,
	    const uint8_t *mask);
/* dst = src XOR the mask, for len bytes starting at payload offset off
 * (dst may be src). */
void	wsframe_mask(uint8_t *dst, const uint8_t *src, size_t len,
	    const uint8_t mask[4], size_t off);

/* A client's receiver of a server's frame stream: whether a message is
 * open (its first frame seen, not its last), and its bytes so far. Zero
 * it to start. */
struct wsframe_rx {
	int		 in_msg;
	uint64_t	 msg_len;
};

enum {
	WSFRAME_RX_DATA = 1,	/* a piece of the open message */
	WSFRAME_RX_CLOSE,	/* the server's close frame */
	WSFRAME_RX_CONTROL,	/* a ping or a pong: nothing to do */
};

/* The next frame of a server's stream at buf (avail bytes), once all of
 * it is there: WSFRAME_RX_* with *h filled (the payload is at buf +
 * h->hdr_len; for data, h->fin says the message ends with it); -EAGAIN
 * until the whole frame is there; -EPROTO for a bad frame (masked, a
 * message inside a message, a continuation of none) or -EMSGSIZE for a
 * message longer than max, with *why saying which. */
int	wsframe_rx_next(struct wsframe_rx *rx, const uint8_t *buf,
	    size_t avail, uint64_t max, struct wsframe_hdr *h,
	    const char **why);

#endif
