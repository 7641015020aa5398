/*
 * libFuzzer harness for the path rules of mirrorctl shell
 * (mirrorctl/shell-path.c): the target's volume paths are hostile input
 * to the root process that places them. Input: NUL-separated paths.
 * A path that is not refused must be clean (so the local walk never sees
 * "." or ".."), absolute, and not /proc, /sys, /dev or below; no read
 * past a string.
 *
 * FUZZ-SOURCES: mirrorctl/shell-path.c lib/pathname.c
 * FUZZ-FLAGS:
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../mirrorctl/shell-path.h"

#define PATHS_MAX	16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *paths[PATHS_MAX];
	char *buf = malloc(size + 1), *c, *end;
	int n = 0, i;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	end = buf + size;
	for (c = buf; c <= end && n < PATHS_MAX; c += strlen(c) + 1)
		paths[n++] = c;
	for (i = 0; i < n; i++) {
		const char *p = paths[i];

		if (shell_path_refused(p, "/home/u", "/run/m/s/ns-1",
		    "/run/m/s/root"))
			continue;
		if (!shell_path_clean(p) || strcmp(p, "/") == 0 ||
		    (strncmp(p, "/proc", 5) == 0 && (p[5] == '/' || !p[5])) ||
		    strstr(p, "/../") || strstr(p, "/./"))
			abort();
		(void)shell_path_covered(paths, n, i);
		if (i > 0 && shell_path_below(p, paths[i - 1]) &&
		    strncmp(p, paths[i - 1], strlen(paths[i - 1])) != 0)
			abort();
	}
	free(buf);
	return 0;
}
