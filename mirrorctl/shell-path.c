/*
 * Which paths a shell places from the target (shell-ns.c), as pure
 * string rules, apart so that a unit test and a fuzzer call them: the
 * volume paths come from the target (hostile), so a path must have a
 * clean shape before the walk sees it ("/run/../etc" would otherwise pass
 * the checks below and then climb), must not be a local path that stays
 * the laptop's, and is left out when an earlier one already covers it.
 */
#include "config.h"

#include <limits.h>
#include <string.h>

#include "pathname.h"
#include "shell-path.h"

int
shell_path_clean(const char *p)
{
	return pathname_clean(p);
}

/* p is dir or below it (dir without a trailing slash, not "/"). */
static int
below_or_at(const char *p, const char *dir)
{
	size_t n = strlen(dir);

	return n > 0 && strncmp(p, dir, n) == 0 && (p[n] == '/' || !p[n]);
}

int
shell_path_refused(const char *p, const char *home, const char *scratch,
    const char *fuse_root)
{
	static const char *const top[] = { "/bin", "/sbin", "/lib",
	    "/lib32", "/lib64", "/libx32", "/usr", "/etc", "/var", "/boot",
	    "/root", "/tmp", "/run", "/home", "/opt", "/srv", "/mnt",
	    "/media", NULL };
	static const char *const under[] = { "/proc", "/sys", "/dev", NULL };
	int i;

	if (!shell_path_clean(p) || strcmp(p, "/") == 0)
		return 1;
	for (i = 0; top[i]; i++)
		if (strcmp(p, top[i]) == 0)
			return 1;
	for (i = 0; under[i]; i++)
		if (below_or_at(p, under[i]))
			return 1;
	/* The home, a parent of it, or a path below it; the same for the
	 * shell's own state (its scratch tmpfs) and the target's mount. */
	if (below_or_at(home, p) || (strcmp(home, "/") != 0 &&
	    below_or_at(p, home)))
		return 1;
	if (below_or_at(scratch, p) || below_or_at(p, fuse_root) ||
	    below_or_at(fuse_root, p))
		return 1;
	return 0;
}

int
shell_path_below(const char *p, const char *dir)
{
	return strcmp(p, dir) != 0 && (strcmp(dir, "/") == 0 ?
	    p[0] == '/' : below_or_at(p, dir));
}

int
shell_path_covered(const char *const *paths, int n, int i)
{
	int j;

	for (j = 0; j < n; j++) {
		if (j == i)
			continue;
		if (strcmp(paths[i], paths[j]) == 0) {
			if (j < i)	/* a duplicate: the first one counts */
				return 1;
			continue;
		}
		if (strcmp(paths[j], "/") != 0 && below_or_at(paths[i],
		    paths[j]))
			return 1;
	}
	return 0;
}
