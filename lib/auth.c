/*
 * The hello's challenge and response (see auth.h and proto.h). The MACs
 * are OpenSSL's HMAC-SHA-256 and compared with CRYPTO_memcmp, in
 * constant time; nonces come from getrandom.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth.h"
#include "log.h"
#include "sha256.h"

#define AUTH_LABEL	"mirror-auth-2 "

void
auth_key_from_token(const char *token, size_t len, uint8_t key[AUTH_KEY_LEN])
{
	sha256(token, len, key);
}

void
auth_mac(const uint8_t key[AUTH_KEY_LEN], const char *role,
    const uint8_t cn[AUTH_NONCE_LEN], const uint8_t an[AUTH_NONCE_LEN],
    const uint8_t sid[AUTH_SID_LEN], uint8_t out[AUTH_MAC_LEN])
{
	uint8_t msg[64 + 2 * AUTH_NONCE_LEN + AUTH_SID_LEN];
	size_t n = 0, rl = strlen(AUTH_LABEL) + strlen(role);
	unsigned int outlen = AUTH_MAC_LEN;

	/* The roles are fixed words; everything after them has a fixed
	 * length, so no two inputs run together. */
	if (rl > 64)
		fatalx("auth: role name too long");
	memcpy(msg, AUTH_LABEL, strlen(AUTH_LABEL));
	n = strlen(AUTH_LABEL);
	memcpy(msg + n, role, strlen(role));
	n += strlen(role);
	memcpy(msg + n, cn, AUTH_NONCE_LEN);
	n += AUTH_NONCE_LEN;
	memcpy(msg + n, an, AUTH_NONCE_LEN);
	n += AUTH_NONCE_LEN;
	memcpy(msg + n, sid, AUTH_SID_LEN);
	n += AUTH_SID_LEN;
	if (HMAC(EVP_sha256(), key, AUTH_KEY_LEN, msg, n, out, &outlen) ==
	    NULL || outlen != AUTH_MAC_LEN)
		fatalx("auth: HMAC-SHA-256 failed");
}

/* Fills p with n random bytes; a nonce is never predictable, so no
 * fallback: without the kernel's random numbers there is no hello. */
static void
auth_random(uint8_t *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		r = getrandom(p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			fatal("auth: getrandom");
		p += r;
		n -= (size_t)r;
	}
}

/* A bytes field of exactly len bytes, copied out. */
static int
get_fixed(struct proto_cur *c, uint8_t *dst, size_t len)
{
	const uint8_t *p;
	uint32_t n;

	if (proto_get_bytes(c, &p, &n, (uint32_t)len) < 0 || n != len)
		return -EBADMSG;
	memcpy(dst, p, len);
	return 0;
}

/* The header of a hello step: kind MSG_HELLO (op 0 is checked by
 * proto_hdr_decode), the step in id, and the status rules. */
static int
check_hdr(const struct proto_hdr *h, int step)
{
	if (h->kind != MSG_HELLO || h->op != 0 || h->id != (uint32_t)step)
		return -EBADMSG;
	if (step != AUTH_WELCOME && h->status != 0)
		return -EBADMSG;
	return 0;
}

static int
mac_check(const struct auth_state *s, const char *role, const uint8_t *mac)
{
	uint8_t want[AUTH_MAC_LEN];
	int ok;

	auth_mac(s->key, role, s->cn, s->an, s->sid, want);
	ok = CRYPTO_memcmp(want, mac, AUTH_MAC_LEN) == 0;
	explicit_bzero(want, sizeof(want));
	return ok ? 0 : -EACCES;
}

void
auth_client_hello(struct auth_state *s, const uint8_t key[AUTH_KEY_LEN],
    uint32_t caps, struct proto_buf *out)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->key, key, AUTH_KEY_LEN);
	auth_random(s->cn, sizeof(s->cn));
	auth_random(s->sid, sizeof(s->sid));
	proto_begin(out, MSG_HELLO, 0, AUTH_HELLO, 0);
	proto_put_u32(out, caps);
	proto_put_bytes(out, s->cn, sizeof(s->cn));
	proto_put_bytes(out, s->sid, sizeof(s->sid));
	s->step = AUTH_HELLO;
}

int
auth_client_challenge(struct auth_state *s, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	uint8_t mac[AUTH_MAC_LEN];
	int rc;

	if (s->step != AUTH_HELLO || check_hdr(h, AUTH_CHALLENGE) < 0 ||
	    get_fixed(c, s->an, sizeof(s->an)) < 0 ||
	    get_fixed(c, mac, sizeof(mac)) < 0 || proto_end(c) < 0)
		return -EBADMSG;
	/* The agent proves itself before we say anything that depends on
	 * the key. */
	if ((rc = mac_check(s, "agent", mac)) < 0)
		return rc;
	auth_mac(s->key, "client", s->cn, s->an, s->sid, mac);
	proto_begin(out, MSG_HELLO, 0, AUTH_PROOF, 0);
	proto_put_bytes(out, mac, sizeof(mac));
	s->step = AUTH_PROOF;
	return 0;
}

int
auth_client_welcome(struct auth_state *s, const struct proto_hdr *h,
    struct proto_cur *c, uint32_t *caps, char *server, size_t serversz)
{
	if (s->step != AUTH_PROOF || check_hdr(h, AUTH_WELCOME) < 0)
		return -EBADMSG;
	if (h->status != 0)
		return proto_end(c) < 0 ? -EBADMSG : -EACCES;
	if (proto_get_u32(c, caps) < 0 ||
	    proto_get_str(c, server, serversz) < 0 || proto_end(c) < 0)
		return -EBADMSG;
	s->caps = *caps;
	s->step = AUTH_WELCOME;
	return 0;
}

int
auth_agent_hello(struct auth_state *s, const uint8_t key[AUTH_KEY_LEN],
    const struct proto_hdr *h, struct proto_cur *c, struct proto_buf *out)
{
	uint8_t mac[AUTH_MAC_LEN];

	memset(s, 0, sizeof(*s));
	if (check_hdr(h, AUTH_HELLO) < 0 || proto_get_u32(c, &s->caps) < 0 ||
	    get_fixed(c, s->cn, sizeof(s->cn)) < 0 ||
	    get_fixed(c, s->sid, sizeof(s->sid)) < 0 || proto_end(c) < 0) {
		auth_clear(s);
		return -EBADMSG;
	}
	memcpy(s->key, key, AUTH_KEY_LEN);
	/* Our own fresh nonce goes into every MAC we make, so what we
	 * answer to a chosen cn is of no use to whoever chose it. */
	auth_random(s->an, sizeof(s->an));
	auth_mac(s->key, "agent", s->cn, s->an, s->sid, mac);
	proto_begin(out, MSG_HELLO, 0, AUTH_CHALLENGE, 0);
	proto_put_bytes(out, s->an, sizeof(s->an));
	proto_put_bytes(out, mac, sizeof(mac));
	s->step = AUTH_CHALLENGE;
	return 0;
}

int
auth_agent_proof(struct auth_state *s, const struct proto_hdr *h,
    struct proto_cur *c)
{
	uint8_t mac[AUTH_MAC_LEN];
	int rc;

	if (s->step != AUTH_CHALLENGE || check_hdr(h, AUTH_PROOF) < 0 ||
	    get_fixed(c, mac, sizeof(mac)) < 0 || proto_end(c) < 0)
		return -EBADMSG;
	if ((rc = mac_check(s, "client", mac)) < 0)
		return rc;
	s->step = AUTH_PROOF;
	return 0;
}

void
auth_agent_welcome(struct proto_buf *out, int status, uint32_t caps,
    const char *server)
{
	proto_begin(out, MSG_HELLO, 0, AUTH_WELCOME, (uint32_t)status);
	if (status != 0)
		return;
	proto_put_u32(out, caps);
	proto_put_str(out, server);
}

void
auth_clear(struct auth_state *s)
{
	explicit_bzero(s, sizeof(*s));
}
