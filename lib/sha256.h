/*
 * SHA-256 (FIPS 180-4), one-shot. The agent checks a presented token
 * against the hash it was given (--token-sha256), so a Kubernetes pod
 * spec carries the hash and never the token. Our own code: the static
 * agent links no crypto library for this.
 */
#ifndef MIRROR_SHA256_H
#define MIRROR_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN	32
#define SHA256_HEX_LEN	64

/* out gets the 32-byte digest of data. */
void	sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);
/* out gets the digest as lowercase hex, NUL-terminated. */
void	sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1]);

#endif
