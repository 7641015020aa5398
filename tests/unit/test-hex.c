/*
 * Unit tests of lib/hex.c, the one hex encoder and decoder (tokens,
 * token hashes, session ids) and of the certificate fingerprint's text
 * form built on it (tlscert_fp_parse / tlscert_fp_hex): either case in,
 * lowercase out, ':' between pairs only where allowed, nothing short,
 * long or non-hex taken. Prints TAP.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "hex.h"
#include "tlscert.h"

#include "tap.h"

static void
test_value(void)
{
	ok(hex_value('0') == 0 && hex_value('9') == 9, "digits");
	ok(hex_value('a') == 10 && hex_value('F') == 15, "letters, both cases");
	ok(hex_value('g') == -1 && hex_value('\0') == -1 &&
	    hex_value(':') == -1, "non-hex is -1");
}

static void
test_encode(void)
{
	static const uint8_t in[] = { 0x00, 0x01, 0xab, 0xff, 0x7e };
	char out[2 * sizeof(in) + 1];

	memset(out, 'x', sizeof(out));
	hex_encode(in, sizeof(in), out);
	ok(strcmp(out, "0001abff7e") == 0, "encode: %s", out);
	hex_encode(in, 0, out);
	ok(out[0] == '\0', "encode of nothing is empty");
}

static void
test_decode(void)
{
	uint8_t b[3];

	ok(hex_decode("00aBfF", b, 3, '\0') == 0 && b[0] == 0 &&
	    b[1] == 0xab && b[2] == 0xff, "decode, either case");
	ok(hex_decode("00abf", b, 3, '\0') == -EINVAL, "odd length refused");
	ok(hex_decode("00ab", b, 3, '\0') == -EINVAL, "short refused");
	ok(hex_decode("00abff0", b, 3, '\0') == -EINVAL, "long refused");
	ok(hex_decode("00abfg", b, 3, '\0') == -EINVAL, "non-hex refused");
	ok(hex_decode("00:ab:ff", b, 3, '\0') == -EINVAL,
	    "no separator unless asked");
	ok(hex_decode("00:ab:ff", b, 3, ':') == 0 && b[1] == 0xab,
	    "separator between pairs");
	ok(hex_decode("00abff", b, 3, ':') == 0, "separator is optional");
	ok(hex_decode(":00abff", b, 3, ':') == -EINVAL,
	    "no separator before the first pair");
	ok(hex_decode("00abff:", b, 3, ':') == -EINVAL,
	    "no separator after the last pair");
}

static void
test_fingerprint(void)
{
	uint8_t fp[TLSCERT_FP_LEN], fp2[TLSCERT_FP_LEN];
	char hex[TLSCERT_FP_HEX_LEN + 1], colons[3 * TLSCERT_FP_LEN];
	size_t i;

	for (i = 0; i < sizeof(fp); i++)
		fp[i] = (uint8_t)(i * 37 + 5);
	tlscert_fp_hex(fp, hex);
	ok(strlen(hex) == TLSCERT_FP_HEX_LEN, "fingerprint hex length");
	ok(tlscert_fp_parse(hex, fp2) == 0 && memcmp(fp, fp2, sizeof(fp)) == 0,
	    "fingerprint round trip");
	for (i = 0; i < TLSCERT_FP_LEN; i++) {
		colons[3 * i] = hex[2 * i] >= 'a' ? (char)(hex[2 * i] - 32) :
		    hex[2 * i];
		colons[3 * i + 1] = hex[2 * i + 1];
		colons[3 * i + 2] = i + 1 < TLSCERT_FP_LEN ? ':' : '\0';
	}
	memset(fp2, 0, sizeof(fp2));
	ok(tlscert_fp_parse(colons, fp2) == 0 &&
	    memcmp(fp, fp2, sizeof(fp)) == 0,
	    "openssl's upper-case colon form");
	ok(tlscert_fp_parse("sha256=" "0001", fp2) == -EINVAL,
	    "short fingerprint refused");
	{
		char pre[7 + TLSCERT_FP_HEX_LEN + 1] = "sha256=";

		strcat(pre, hex);
		ok(tlscert_fp_parse(pre, fp2) == 0 &&
		    memcmp(fp, fp2, sizeof(fp)) == 0, "sha256= prefix");
	}
}

int
main(void)
{
	test_value();
	test_encode();
	test_decode();
	test_fingerprint();
	return done_testing();
}
