/*
 * Hex text of bytes (hex.h), in the core library so that the CLI reads a
 * pinned fingerprint without linking libcrypto.
 */
#include "config.h"

#include <errno.h>

#include "hex.h"

static const char hexdigits[] = "0123456789abcdef";

int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void
hex_encode(const void *in, size_t n, char *out)
{
	const uint8_t *p = in;
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hexdigits[p[i] >> 4];
		out[2 * i + 1] = hexdigits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int
hex_decode(const char *s, void *out, size_t n, char sep)
{
	uint8_t *p = out;
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (sep != '\0' && i > 0 && *s == sep)
			s++;
		/* hi first: s[1] is not read past a NUL in s[0]. */
		if ((hi = hex_value(s[0])) < 0 || (lo = hex_value(s[1])) < 0)
			return -EINVAL;
		p[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	return *s == '\0' ? 0 : -EINVAL;
}
