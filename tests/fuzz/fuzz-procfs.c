/*
 * libFuzzer harness for the cgroup-to-container match (lib/procfs.c,
 * procfs_cgroup_names): /proc/PID/cgroup of a container's process, whose
 * directory names a root process in the pod may partly choose (a
 * delegated cgroup namespace). Input: one byte giving the length of a
 * container ID, that many bytes (turned into hex digits), then the
 * cgroup text. A match must hand back a whole, NUL-terminated run of at
 * most PROCFS_CONTAINER_ID_MAX hex digits that starts with the ID; no
 * read past the text, no write past the buffer.
 *
 * FUZZ-SOURCES: lib/procfs.c
 * FUZZ-FLAGS:
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	char id[PROCFS_CONTAINER_ID_MAX + 1], full[PROCFS_CONTAINER_ID_MAX + 1];
	char *text;
	size_t idlen, i, n;

	if (size < 1)
		return 0;
	idlen = data[0] % (PROCFS_CONTAINER_ID_MAX + 1);
	if (idlen == 0 || size < 1 + idlen)
		return 0;
	for (i = 0; i < idlen; i++)
		id[i] = hex[data[1 + i] & 15];
	id[idlen] = '\0';
	n = size - 1 - idlen;
	if (n > PROCFS_CGROUP_MAX)
		n = PROCFS_CGROUP_MAX;
	text = malloc(n + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data + 1 + idlen, n);
	text[n] = '\0';
	memset(full, 'Z', sizeof(full));
	if (procfs_cgroup_names(text, id, full, sizeof(full))) {
		size_t len = strnlen(full, sizeof(full));

		if (len == sizeof(full) || len < idlen ||
		    strncmp(full, id, idlen) != 0)
			abort();
		for (i = 0; i < len; i++)
			if (!isxdigit((unsigned char)full[i]))
				abort();
	}
	free(text);
	return 0;
}
