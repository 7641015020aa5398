/*
 * Hex text of bytes: tokens, token hashes, session ids and certificate
 * fingerprints are all written as lowercase hex digit pairs and read in
 * either case. One encoder and one decoder for all of them.
 */
#ifndef MIRROR_HEX_H
#define MIRROR_HEX_H

#include <stddef.h>
#include <stdint.h>

/* A hex digit's value (either case), 0 to 15; -1 for anything else,
 * the NUL included. */
int	hex_value(char c);
/* n bytes as 2 * n lowercase hex digits and a NUL into out. */
void	hex_encode(const void *in, size_t n, char *out);
/* Exactly n bytes' worth of hex digits (2 * n, either case), then the
 * end of s; sep, if not '\0', may stand between two pairs. 0 or
 * -EINVAL (out is then partly written). */
int	hex_decode(const char *s, void *out, size_t n, char sep);

#endif
