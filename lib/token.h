/*
 * Session tokens: read from a file (never from argv), generated from
 * getrandom(), compared in constant time. Never logged.
 */
#ifndef MIRROR_TOKEN_H
#define MIRROR_TOKEN_H

#include <stddef.h>

#define TOKEN_HEX_LEN	64	/* a generated token: 32 random bytes, hex */

/* Reads a token from path: the file's first line, trailing whitespace
 * removed; 1..PROTO_TOKEN_MAX bytes. Returns 0 or -errno: -EINVAL for an
 * empty or too long token, -ELOOP if path is a symbolic link, -EPERM if
 * group or other may read or write it, -ENOTSUP if it is not a regular
 * file. buf must hold PROTO_TOKEN_MAX + 1. */
int	token_read_file(const char *path, char *buf, size_t bufsz);
/* Why token_read_file failed, for "cannot read the token file F: %s"
 * (a static string). */
const char *token_strerror(int rc);
/* Fills buf (at least TOKEN_HEX_LEN + 1) with a new random hex token. */
int	token_generate(char *buf, size_t bufsz);
/* Writes a token to a new file created 0600; fails if it exists. */
int	token_write_file(const char *path, const char *token);
/* Constant-time equality of two byte strings (lengths may differ). */
int	token_equal(const void *a, size_t alen, const void *b, size_t blen);

#endif
