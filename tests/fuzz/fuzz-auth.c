/*
 * libFuzzer harness for the hello (lib/auth.c): arbitrary bytes, cut
 * into messages (u16 length, little-endian, then the bytes), go through
 * proto_hdr_decode and the real step functions of both sides, in the
 * order each side calls them: the agent's (hello, then proof) and the
 * client's (challenge, then welcome, after its own hello). Neither may
 * crash, read out of bounds or accept a proof it did not check: a made
 * -up challenge or proof passes only with the right MAC, which random
 * bytes never have. Then a real exchange between the two sides, with a
 * key taken from the input, must succeed, and one with a different key
 * must fail at the client (the agent proves itself first).
 *
 * FUZZ-SOURCES: lib/auth.c lib/proto.c lib/sha256.c lib/hex.c lib/log.c
 * FUZZ-SOURCES: lib/xmalloc.c
 * FUZZ-FLAGS: -lcrypto
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[AUTH_KEY_LEN] = "fuzz-key-0123456789abcdefghijkl";

/* The next message of the input, or 0 at the end. */
static int
next_msg(const uint8_t **p, size_t *left, const uint8_t **msg, size_t *len)
{
	size_t n;

	if (*left < 2)
		return 0;
	n = (size_t)(*p)[0] | (size_t)(*p)[1] << 8;
	*p += 2;
	*left -= 2;
	if (n > *left)
		n = *left;
	*msg = *p;
	*len = n;
	*p += n;
	*left -= n;
	return 1;
}

/* A built message, decoded as its receiver does. */
static int
decode(struct proto_buf *b, struct proto_hdr *h, struct proto_cur *c)
{
	if (proto_finish(b) != 0)
		abort();
	return proto_hdr_decode(b->data, b->len, h, c);
}

/* A whole exchange between the real sides; 0 if the client was let in. */
static int
exchange(const uint8_t ckey[AUTH_KEY_LEN], const uint8_t akey[AUTH_KEY_LEN])
{
	struct auth_state cs, as;
	struct proto_buf b[4];
	struct proto_hdr h;
	struct proto_cur c;
	char server[PROTO_NAME_MAX + 1];
	uint32_t caps;
	int i, rc = -1;

	for (i = 0; i < 4; i++)
		proto_buf_init(&b[i], 256);
	auth_client_hello(&cs, ckey, 0, &b[0]);
	if (decode(&b[0], &h, &c) != 0 ||
	    auth_agent_hello(&as, akey, &h, &c, &b[1]) != 0 ||
	    decode(&b[1], &h, &c) != 0)
		abort();
	if (auth_client_challenge(&cs, &h, &c, &b[2]) != 0)
		goto out;	/* the agent did not prove itself */
	if (decode(&b[2], &h, &c) != 0 || auth_agent_proof(&as, &h, &c) != 0)
		abort();	/* the agent proved the key, the client too */
	auth_agent_welcome(&b[3], 0, CAP_NET, "fuzz");
	if (decode(&b[3], &h, &c) != 0 ||
	    auth_client_welcome(&cs, &h, &c, &caps, server,
	    sizeof(server)) != 0 || caps != CAP_NET ||
	    strcmp(server, "fuzz") != 0)
		abort();
	rc = 0;
out:
	for (i = 0; i < 4; i++)
		proto_buf_free(&b[i]);
	auth_clear(&cs);
	auth_clear(&as);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_state as, cs;
	struct proto_buf out;
	struct proto_hdr h;
	struct proto_cur c;
	const uint8_t *p = data, *msg;
	size_t left = size, len;
	char server[PROTO_NAME_MAX + 1];
	uint8_t k2[AUTH_KEY_LEN];
	uint32_t caps;
	int rc;

	/* The agent, fed the input's messages as a client's. */
	memset(&as, 0, sizeof(as));
	while (next_msg(&p, &left, &msg, &len)) {
		if (proto_hdr_decode(msg, len, &h, &c) != 0)
			continue;
		proto_buf_init(&out, 256);
		if (as.step == 0)
			(void)auth_agent_hello(&as, key, &h, &c, &out);
		else if (auth_agent_proof(&as, &h, &c) == 0)
			abort();	/* a random proof passed */
		proto_buf_free(&out);
	}
	auth_clear(&as);

	/* The client, fed the same messages as an agent's. */
	p = data;
	left = size;
	proto_buf_init(&out, 256);
	auth_client_hello(&cs, key, 0, &out);
	proto_buf_free(&out);
	while (next_msg(&p, &left, &msg, &len)) {
		if (proto_hdr_decode(msg, len, &h, &c) != 0)
			continue;
		proto_buf_init(&out, 256);
		if (cs.step == AUTH_HELLO) {
			rc = auth_client_challenge(&cs, &h, &c, &out);
			if (rc == 0)
				abort();	/* a random MAC passed */
		} else
			(void)auth_client_welcome(&cs, &h, &c, &caps, server,
			    sizeof(server));
		proto_buf_free(&out);
	}
	auth_clear(&cs);

	/* A real exchange: the same key lets in, another does not. */
	memset(k2, 0, sizeof(k2));
	memcpy(k2, data, size < sizeof(k2) ? size : sizeof(k2));
	if (exchange(k2, k2) != 0)
		abort();
	k2[0] ^= 1;
	if (exchange(k2, key) == 0 && memcmp(k2, key, sizeof(k2)) != 0)
		abort();
	return 0;
}
