/*
 * The agent's TLS identity for wss://: a fresh EC P-256 key and a
 * self-signed certificate, made in memory at start and never written to
 * disk. No CA vouches for it; a client trusts it because it pins the
 * certificate's SHA-256 (of its DER), which the agent prints on its
 * "ready" line and mirrorctl keeps in the session's state.
 */
#ifndef MIRROR_TLSCERT_H
#define MIRROR_TLSCERT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hex.h"

#define TLSCERT_FP_LEN		32	/* SHA-256 */
#define TLSCERT_FP_HEX_LEN	64

struct tlscert {
	char	*cert_pem;		/* owned; NUL-terminated */
	size_t	 cert_len;
	char	*key_pem;		/* owned; wiped by tlscert_free */
	size_t	 key_len;
	uint8_t	 fp[TLSCERT_FP_LEN];	/* SHA-256 of the certificate's DER */
};

/* Makes a key and a certificate for common name cn. 0 or -errno
 * (-EIO when libcrypto fails). */
int	tlscert_make(struct tlscert *, const char *cn);
void	tlscert_free(struct tlscert *);

/* The fingerprint of an OpenSSL X509 (void * so that callers need not
 * include OpenSSL). 0 or -EIO. */
int	tlscert_fp_x509(void *x509, uint8_t fp[TLSCERT_FP_LEN]);

/* 64 hex digits, either case, optionally in pairs separated by ':' (as
 * "openssl x509 -fingerprint -sha256" prints them), optionally after
 * "sha256=". 0 or -EINVAL. */
static inline int
tlscert_fp_parse(const char *s, uint8_t fp[TLSCERT_FP_LEN])
{
	if (strncmp(s, "sha256=", 7) == 0)
		s += 7;
	return hex_decode(s, fp, TLSCERT_FP_LEN, ':');
}

/* Lowercase hex, NUL-terminated. */
static inline void
tlscert_fp_hex(const uint8_t fp[TLSCERT_FP_LEN],
    char out[TLSCERT_FP_HEX_LEN + 1])
{
	hex_encode(fp, TLSCERT_FP_LEN, out);
}

#endif
