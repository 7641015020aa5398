/*
 * Unit tests of mirrorctl/shell-path.c: the shape a path from the target
 * must have before a shell walks it, the local paths that stay the
 * laptop's, and paths covered by another. Prints TAP.
 */
#include "config.h"

#include <string.h>

#include "shell-path.h"

#include "tap.h"

#define HOME	"/home/alice"
#define SCRATCH	"/run/mirror/sessions/1-0/ns-1"
#define FUSE	"/run/mirror/sessions/1-0/root"

static int
refused(const char *p)
{
	return shell_path_refused(p, HOME, SCRATCH, FUSE);
}

static void
test_clean(void)
{
	static const char *const good[] = { "/", "/a", "/var/run/secrets",
	    "/etc/config", "/a/.b", "/a/..b", "/a b/c", NULL };
	static const char *const bad[] = { "", "a", "a/b", "//", "/a/",
	    "/a//b", "/.", "/..", "/a/.", "/a/..", "/run/../etc",
	    "/./etc", NULL };
	char longname[300], longpath[5000];
	int i;

	for (i = 0; good[i]; i++)
		ok(shell_path_clean(good[i]), "clean: \"%s\"", good[i]);
	for (i = 0; bad[i]; i++)
		ok(!shell_path_clean(bad[i]), "not clean: \"%s\"", bad[i]);
	longname[0] = '/';
	memset(longname + 1, 'x', 256);
	longname[257] = '\0';
	ok(!shell_path_clean(longname), "a component over NAME_MAX");
	for (i = 0; i < 2400; i++)
		memcpy(longpath + 2 * i, "/x", 2);
	longpath[4800] = '\0';
	ok(!shell_path_clean(longpath), "a path over PATH_MAX");
}

static void
test_refused(void)
{
	static const char *const stay[] = { "/", "/usr", "/etc", "/run",
	    "/var", "/home", "/proc", "/proc/1", "/sys/fs", "/dev/null",
	    HOME, HOME "/x", "/run/mirror", "/run/mirror/sessions/1-0",
	    FUSE, FUSE "/etc", "/run/../etc/shadow", "/etc/", NULL };
	static const char *const placed[] = { "/var/run/secrets",
	    "/run/secrets", "/etc/config", "/data", "/usr/share/app",
	    "/home/bob", "/procfs", "/devices", "/run/mirrorx", NULL };
	int i;

	for (i = 0; stay[i]; i++)
		ok(refused(stay[i]), "stays local: %s", stay[i]);
	for (i = 0; placed[i]; i++)
		ok(!refused(placed[i]), "placed: %s", placed[i]);
	ok(!shell_path_refused("/data", "/", SCRATCH, FUSE),
	    "home / does not refuse everything");
}

static void
test_covered(void)
{
	const char *p[] = { "/var/run/secrets", "/var/run/secrets/k8s",
	    "/data", "/data", "/var/run/secretsx", "/", "/x" };
	int n = (int)(sizeof(p) / sizeof(p[0]));

	ok(!shell_path_covered(p, n, 0), "a parent is not covered");
	ok(shell_path_covered(p, n, 1), "a path below another is covered");
	ok(!shell_path_covered(p, n, 2), "the first of two is placed");
	ok(shell_path_covered(p, n, 3), "the second of two is not");
	ok(!shell_path_covered(p, n, 4), "a longer name is not below");
	ok(!shell_path_covered(p, n, 6), "\"/\" covers nothing");
}

/* fs.local paths strictly below a placed one are kept (shell-ns.c). */
static void
test_below(void)
{
	ok(shell_path_below("/etc/app/local.yaml", "/etc/app"), "a file below");
	ok(shell_path_below("/a/b/c", "/a"), "two levels below");
	ok(!shell_path_below("/etc/app", "/etc/app"), "the path itself");
	ok(!shell_path_below("/etc/apple", "/etc/app"), "a longer name");
	ok(!shell_path_below("/etc", "/etc/app"), "a parent");
	ok(shell_path_below("/x", "/"), "below /");
	ok(!shell_path_below("/", "/"), "/ is not below itself");
}

int
main(void)
{
	test_clean();
	test_refused();
	test_covered();
	test_below();
	return done_testing();
}
