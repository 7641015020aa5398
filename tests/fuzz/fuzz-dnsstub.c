/*
 * libFuzzer harness for the DNS stub's query check (netd/dns.c), which
 * every query from a local program passes before it goes to the agent.
 * A query it accepts must have a name that fits DNS_NAME_MAX and, where
 * no label holds a dot or a NUL, encodes back to the bytes of the question.
 *
 * FUZZ-SOURCES: netd/dns.c
 * FUZZ-FLAGS:
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../netd/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[DNS_NAME_MAX + 1];
	uint8_t enc[DNS_NAME_MAX + 2];
	size_t len, i, k = 0, start;
	int dots = 0;

	memset(name, 0x55, sizeof(name));
	if (dns_query_check(data, size, name) < 0)
		return 0;
	len = strnlen(name, sizeof(name));
	if (len > DNS_NAME_MAX)
		abort();
	/* Labels with a dot or a NUL inside (binary labels are legal)
	 * would not split back the same way. */
	for (i = DNS_HDR_LEN; data[i] != 0; i += (size_t)data[i] + 1)
		if (memchr(data + i + 1, '.', data[i]) != NULL ||
		    memchr(data + i + 1, '\0', data[i]) != NULL)
			dots = 1;
	if (dots || strcmp(name, ".") == 0)
		return 0;
	for (start = 0, i = 0; i <= len; i++)
		if (i == len || name[i] == '.') {
			enc[k++] = (uint8_t)(i - start);
			memcpy(enc + k, name + start, i - start);
			k += i - start;
			start = i + 1;
		}
	enc[k++] = 0;
	if (k > size - DNS_HDR_LEN || memcmp(enc, data + DNS_HDR_LEN, k) != 0)
		abort();
	return 0;
}
