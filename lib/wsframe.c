/*
 * RFC 6455 frames (see wsframe.h): section 5.2's layout, checked byte
 * by byte before anything is believed, and section 5.4's fragmentation
 * rules for a stream of them.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "wsframe.h"

int
wsframe_parse(const uint8_t *buf, size_t avail, uint64_t max,
    struct wsframe_hdr *h)
{
	uint64_t len;
	size_t hl = 2, i;

	if (avail < 2)
		return -EAGAIN;
	if (buf[0] & 0x70)			/* RSV1-3: no extension */
		return -EPROTO;
	h->fin = (buf[0] & 0x80) != 0;
	h->opcode = buf[0] & 0x0f;
	switch (h->opcode) {
	case WSFRAME_CONT:
	case WSFRAME_TEXT:
	case WSFRAME_BINARY:
	case WSFRAME_CLOSE:
	case WSFRAME_PING:
	case WSFRAME_PONG:
		break;
	default:
		return -EPROTO;
	}
	h->masked = (buf[1] & 0x80) != 0;
	len = buf[1] & 0x7f;
	if (len == 126) {
		if (avail < 4)
			return -EAGAIN;
		len = (uint64_t)buf[2] << 8 | buf[3];
		hl = 4;
	} else if (len == 127) {
		if (avail < 10)
			return -EAGAIN;
		if (buf[2] & 0x80)		/* "the most significant bit
						 * MUST be 0" */
			return -EPROTO;
		for (len = 0, i = 2; i < 10; i++)
			len = len << 8 | buf[i];
		hl = 10;
	}
	if (h->opcode >= WSFRAME_CLOSE &&
	    (!h->fin || len > WSFRAME_CONTROL_MAX))
		return -EPROTO;
	if (len > max)
		return -EMSGSIZE;
	if (h->masked) {
		if (avail < hl + 4)
			return -EAGAIN;
		memcpy(h->mask, buf + hl, 4);
		hl += 4;
	} else
		memset(h->mask, 0, 4);
	h->payload_len = len;
	h->hdr_len = hl;
	return 0;
}

size_t
wsframe_header(uint8_t *out, int fin, uint8_t opcode, uint64_t len,
    const uint8_t *mask)
{
	uint8_t maskbit = mask != NULL ? 0x80 : 0;
	size_t hl, i;

	out[0] = (fin ? 0x80 : 0) | (opcode & 0x0f);
	if (len < 126) {
		out[1] = maskbit | (uint8_t)len;
		hl = 2;
	} else if (len <= 0xffff) {
		out[1] = maskbit | 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		hl = 4;
	} else {
		out[1] = maskbit | 127;
		for (i = 0; i < 8; i++)
			out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
		hl = 10;
	}
	if (mask != NULL) {
		memcpy(out + hl, mask, 4);
		hl += 4;
	}
	return hl;
}

void
wsframe_mask(uint8_t *dst, const uint8_t *src, size_t len,
    const uint8_t mask[4], size_t off)
{
	uint8_t k[8];
	uint64_t k64, v;
	size_t i = 0;

	/* Byte by byte up to a key boundary, then eight at a time. */
	for (; i < len && ((off + i) & 3) != 0; i++)
		dst[i] = src[i] ^ mask[(off + i) & 3];
	memcpy(k, mask, 4);
	memcpy(k + 4, mask, 4);
	memcpy(&k64, k, 8);
	for (; i + 8 <= len; i += 8) {
		memcpy(&v, src + i, 8);
		v ^= k64;
		memcpy(dst + i, &v, 8);
	}
	for (; i < len; i++)
		dst[i] = src[i] ^ mask[(off + i) & 3];
}

int
wsframe_rx_next(struct wsframe_rx *rx, const uint8_t *buf, size_t avail,
    uint64_t max, struct wsframe_hdr *h, const char **why)
{
	int rc;

	rc = wsframe_parse(buf, avail, max, h);
	if (rc == 0 && h->masked)
		rc = -EPROTO;	/* a server's frames are not masked */
	if (rc == -EMSGSIZE) {
		*why = "frame larger than the protocol allows";
		return rc;
	}
	if (rc < 0 && rc != -EAGAIN) {
		*why = "bad frame from the server";
		return rc;
	}
	if (rc < 0 || avail - h->hdr_len < h->payload_len)
		return -EAGAIN;
	switch (h->opcode) {
	case WSFRAME_CLOSE:
		return WSFRAME_RX_CLOSE;
	case WSFRAME_PING:
	case WSFRAME_PONG:
		return WSFRAME_RX_CONTROL;
	case WSFRAME_BINARY:
	case WSFRAME_TEXT:
		if (rx->in_msg) {
			*why = "new message inside a message";
			return -EPROTO;
		}
		rx->in_msg = 1;
		rx->msg_len = 0;
		break;
	default:		/* WSFRAME_CONT */
		if (!rx->in_msg) {
			*why = "unexpected frame from the server";
			return -EPROTO;
		}
		break;
	}
	if (h->payload_len > max - rx->msg_len) {
		*why = "message larger than the protocol allows";
		return -EMSGSIZE;
	}
	rx->msg_len += h->payload_len;
	if (h->fin)
		rx->in_msg = 0;
	return WSFRAME_RX_DATA;
}
