/* The DNS stub's query check; see dns.h. */
#include "config.h"

#include <errno.h>

#include "dns.h"

int
dns_query_check(const uint8_t *msg, size_t n, char *name)
{
	size_t off = DNS_HDR_LEN, total = 0, out = 0;
	uint8_t len;

	if (n < DNS_HDR_LEN || n > 65535)
		return -EINVAL;
	if ((msg[2] & 0x80) != 0 ||		/* QR: a response */
	    (msg[2] & 0x78) != 0 ||		/* opcode other than QUERY */
	    msg[4] != 0 || msg[5] != 1)		/* QDCOUNT must be 1 */
		return -EINVAL;
	for (;;) {
		if (off >= n)
			return -EINVAL;
		len = msg[off++];
		if (len == 0)
			break;
		if (len > 63)			/* a pointer or reserved */
			return -EINVAL;
		total += (size_t)len + 1;
		if (total > DNS_NAME_MAX - 1 || off + len > n)
			return -EINVAL;
		if (name != NULL) {
			if (out > 0)
				name[out++] = '.';
			for (size_t i = 0; i < len; i++)
				name[out++] = (char)msg[off + i];
		}
		off += len;
	}
	if (name != NULL) {
		if (out == 0)
			name[out++] = '.';	/* the root */
		name[out] = '\0';
	}
	if (n - off < 4)			/* QTYPE, QCLASS */
		return -EINVAL;
	return 0;
}
