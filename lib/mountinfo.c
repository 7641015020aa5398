/* /proc/self/mountinfo lookups by mount point. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "mountinfo.h"

int
mountinfo_find(const char *path, struct mountinfo *mi)
{
	char line[PATH_MAX + 512], where[PATH_MAX + 1], *sep;
	unsigned int maj, min;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int found = 0;

	if (f == NULL)
		return -errno;
	/* id parent maj:min root mountpoint ... - fstype source options;
	 * the last match is the topmost mount. */
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%*d %*d %u:%u %*s %4096s", &maj, &min,
		    where) != 3 || strcmp(where, path) != 0)
			continue;
		found = 1;
		mi->major = maj;
		mi->minor = min;
		mi->fstype[0] = '\0';
		if ((sep = strstr(line, " - ")) != NULL)
			(void)sscanf(sep + 3, "%127s", mi->fstype);
	}
	fclose(f);
	return found ? 0 : -ENOENT;
}
