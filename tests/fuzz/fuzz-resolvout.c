/*
 * libFuzzer harness for the shell's resolv.conf (netd/resolvout.c),
 * built from the pod's resolv.conf: whatever the pod wrote, the output
 * must be NUL-terminated text of printable lines, each a comment, the
 * stub's "nameserver", a "search" of domain characters within its bounds,
 * or an "options" line of known options; never another nameserver.
 *
 * FUZZ-SOURCES: netd/resolvout.c
 * FUZZ-FLAGS:
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../netd/resolvout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_line(const char *l)
{
	size_t i, n = strlen(l);

	for (i = 0; i < n; i++)
		if ((unsigned char)l[i] < ' ' || (unsigned char)l[i] > '~')
			abort();
	if (l[0] == '#')
		return;
	if (strcmp(l, "nameserver 198.18.0.1") == 0)
		return;
	if (strncmp(l, "search ", 7) == 0) {
		if (n - 7 > RESOLVOUT_SEARCH_LEN ||
		    strspn(l + 7, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_. ") != n - 7)
			abort();
		return;
	}
	if (strncmp(l, "options ", 8) == 0 &&
	    strspn(l + 8, "abcdefghijklmnopqrstuvwxyz0123456789-: ") == n - 8)
		return;
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const servers[] = { "198.18.0.1", NULL };
	char out[RESOLVOUT_MAX + 1], *line, *save = NULL;
	int n;

	if (size > 65536)
		return 0;
	memset(out, 'x', sizeof(out));
	n = resolvout_format((const char *)data, size, servers, out,
	    RESOLVOUT_MAX);
	if (n < 0 || n >= RESOLVOUT_MAX || out[n] != '\0' ||
	    strlen(out) != (size_t)n)
		abort();
	for (line = strtok_r(out, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save))
		check_line(line);
	return 0;
}
