/*
 * Unit tests of the agent's confinement (agent/confine.c, the real
 * code): a scratch tree in /tmp with a root and, beside it, a directory
 * the root must never reach. Symlinks in the root point out of it
 * (absolute, "../..", the host path of the outside file, chains of
 * links, a symlinked directory under ".."); paths longer than one
 * openat2() call (RESOLVE_CHUNK) put such a link at and around the
 * boundary between two calls. Every path either opens something whose
 * /proc/self/fd path is inside the root, or fails with the errno the
 * agent answers. Magic links (/proc/self/root, /proc/self/fd/N) are
 * tried under a root that has /proc in it (the test's own
 * /proc/PID/root) and must fail with ELOOP. Also: the type-checked open
 * (fifo, socket, device, symlink, directory), the parent-and-name split
 * of the writing requests, and symlink targets rewritten by
 * agent_fs_confine_link, walked from the link's directory. Prints TAP.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../agent/confine.h"
#include "../../agent/fs.h"

#include "tap.h"

static char top[64];		/* the scratch tree */
static char outside[128];	/* top/outside: never reached */
static struct agent_fs fs;	/* root: top/root */
static struct agent_fs sys;	/* root: our own /proc/PID/root */

/* Whether fd's path lies inside root (as /proc/self/fd shows both). */
static int
fd_inside(int fd, const struct agent_fs *root)
{
	char link[64], path[PATH_MAX];
	size_t rl = strlen(root->rootpath);
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return 0;
	path[n] = '\0';
	if (strcmp(root->rootpath, "/") == 0)
		return path[0] == '/';
	return strncmp(path, root->rootpath, rl) == 0 &&
	    (path[rl] == '/' || path[rl] == '\0');
}

/* The file at rel under the root (host side), to compare with what an
 * fd names. */
static int
same_file(int fd, const char *rel)
{
	char host[PATH_MAX + PROTO_PATH_MAX + 2];
	struct stat a, b;

	snprintf(host, sizeof(host), "%s/%s", fs.rootpath, rel);
	return fstat(fd, &a) == 0 && lstat(host, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * Opens path under the root with flags; want is 0 (it must open, inside
 * the root, and be the root's file expect when expect is not NULL) or
 * the -errno it must fail with.
 */
static void
check_open(const char *what, const char *path, int flags, int want,
    const char *expect)
{
	int fd = agent_fs_open_in_root(&fs, path, flags);

	if (want != 0)
		ok(fd == want, "%s: fails with %d (got %d)", what, want, fd);
	else if (fd < 0)
		ok(0, "%s: opens (got %d)", what, fd);
	else
		ok(fd_inside(fd, &fs) && (expect == NULL ||
		    same_file(fd, expect)), "%s: opens %.40s inside the root",
		    what, expect ? expect : "something");
	if (fd >= 0)
		close(fd);
}

/* Walks out from the link's directory, ".." lexically: never above
 * the root, and relative. As tests/fuzz/fuzz-confine.c checks. */
static int
walk_inside(const char *linkpath, const char *out)
{
	char buf[PROTO_PATH_MAX + 2], *save = NULL, *t;
	int depth = 0;

	if (out[0] == '/' || out[0] == '\0')
		return 0;
	snprintf(buf, sizeof(buf), "%s", linkpath);
	if ((t = strrchr(buf, '/')) != NULL)
		*t = '\0';
	for (t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save))
		if (strcmp(t, "..") == 0)
			depth -= depth > 0;
		else if (strcmp(t, ".") != 0)
			depth++;
	snprintf(buf, sizeof(buf), "%s", out);
	save = NULL;
	for (t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save))
		if (strcmp(t, "..") == 0) {
			if (--depth < 0)
				return 0;
		} else if (strcmp(t, ".") != 0)
			depth++;
	return 1;
}

/* agent_fs_confine_link: want_rc, and on 0 the answer want (NULL: any
 * answer that stays inside). */
static void
check_link(const char *linkpath, const char *target, int want_rc,
    const char *want)
{
	char out[PROTO_PATH_MAX + 1];
	int rc = agent_fs_confine_link(&fs, linkpath, target, out,
	    sizeof(out));

	if (want_rc != 0 || rc != 0) {
		ok(rc == want_rc, "link %.40s -> %.40s: returns %d (got %d)",
		    linkpath, target, want_rc, rc);
		return;
	}
	ok(walk_inside(linkpath, out) && (want == NULL ||
	    strcmp(out, want) == 0), "link %.40s -> %.40s: gives %s (want %s)",
	    linkpath, target, out, want ? want : "one inside");
}

static void
mk(const char *rel, int dir)
{
	char p[PATH_MAX];
	int fd;

	snprintf(p, sizeof(p), "%s/root/%s", top, rel);
	if (dir)
		fd = mkdir(p, 0755);
	else if ((fd = open(p, O_CREAT | O_WRONLY, 0644)) >= 0)
		fd = close(fd);
	if (fd < 0) {
		perror(p);
		exit(1);
	}
}

static void
ln(const char *target, const char *rel)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/root/%s", top, rel);
	if (symlink(target, p) < 0) {
		perror(p);
		exit(1);
	}
}

static void
scratch(void)
{
	char p[PATH_MAX];
	struct sockaddr_un sa;
	int fd, s;

	snprintf(top, sizeof(top), "/tmp/test-confine.XXXXXX");
	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(outside, sizeof(outside), "%s/outside", top);
	snprintf(p, sizeof(p), "%s/root", top);
	if (mkdir(outside, 0755) < 0 || mkdir(p, 0755) < 0) {
		perror(top);
		exit(1);
	}
	snprintf(p, sizeof(p), "%s/secret", outside);
	if ((fd = open(p, O_CREAT | O_WRONLY, 0600)) < 0) {
		perror(p);
		exit(1);
	}
	close(fd);

	mk("a", 1);
	mk("a/b", 1);
	mk("a/b/c", 1);
	mk("etc", 1);
	mk("etc/passwd", 0);
	mk("file", 0);
	ln("/etc", "abs");			/* the root's /etc */
	ln("/etc/passwd", "a/b/abspw");
	ln("../../outside/secret", "up");	/* above the root */
	ln("../../../../../../../..", "a/b/c/upup");
	ln(outside, "hostabs");			/* the host's path */
	snprintf(p, sizeof(p), "%s/secret", outside);
	ln(p, "a/hostsecret");
	ln("chain2", "chain1");			/* chain1 -> ... -> above */
	ln("/a/chain3", "chain2");
	ln("../../../outside/secret", "a/chain3");
	ln("b/c", "a/cl");			/* a symlinked directory */
	ln("/a/b/c", "dirlink");
	ln("/proc/self/root", "a/procroot");	/* no /proc in the root */
	ln("loop", "loop");
	ln("file", "tofile");
	snprintf(p, sizeof(p), "%s/root/fifo", top);
	if (mkfifo(p, 0644) < 0) {
		perror("mkfifo");
		exit(1);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/root/sock", top);
	if ((s = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("unix socket");
		exit(1);
	}
	close(s);
	snprintf(p, sizeof(p), "%s/root", top);
	if (agent_fs_open_root(&fs, p, 0) < 0 ||
	    agent_fs_open_root(&sys, NULL, (int)getpid()) < 0) {
		perror("agent_fs_open_root");
		exit(1);
	}
}

/*
 * A tree deep enough that its path passes RESOLVE_CHUNK: components of
 * 100 bytes under root/deep. Each level holds "esc" (-> many "..", which
 * must stop at the root, or deeper) and "top" (-> "/file"); the deepest
 * holds "file". The deepest path (within the root) goes to path, and
 * *near to the deepest one at most RESOLVE_CHUNK - 100 bytes long.
 */
static void
deep_tree(char *path, size_t sz, size_t *near)
{
	char comp[101], host[PROTO_PATH_MAX + 16];
	size_t len;
	int fd;

	memset(comp, 'd', 100);
	comp[100] = '\0';
	mk("deep", 1);
	snprintf(path, sz, "/deep");
	len = strlen(path);
	*near = len;
	for (;;) {
		/* *at() from the root fd: the host path may pass PATH_MAX. */
		snprintf(host, sizeof(host), "%s/esc", path + 1);
		if (symlinkat("../../../../../../../../../../../../../../../../"
		    "../../../../../../../../../../../../../../../../../../..",
		    fs.rootfd, host) < 0) {
			perror("deep esc");
			exit(1);
		}
		snprintf(host, sizeof(host), "%s/top", path + 1);
		if (symlinkat("/file", fs.rootfd, host) < 0) {
			perror("deep top");
			exit(1);
		}
		if (len <= RESOLVE_CHUNK - 100)
			*near = len;
		if (len >= RESOLVE_CHUNK + 300)
			break;
		snprintf(path + len, sz - len, "/%s", comp);
		len = strlen(path);
		if (mkdirat(fs.rootfd, path + 1, 0755) < 0) {
			perror("deep mkdir");
			exit(1);
		}
	}
	snprintf(host, sizeof(host), "%s/file", path + 1);
	if ((fd = openat(fs.rootfd, host, O_CREAT | O_WRONLY, 0644)) < 0) {
		perror("deep file");
		exit(1);
	}
	close(fd);
}

/* The deep path cut to its first n bytes (at a component end). */
static size_t
cut_at(const char *path, size_t n)
{
	while (n > 0 && path[n] != '/' && path[n] != '\0')
		n--;
	return n;
}

/* path opened with flags: 1 if it opened something inside the root,
 * or failed with want (0: any errno; 1: it must open). */
static int
open_inside_or(const char *path, int flags, int want)
{
	int fd = agent_fs_open_in_root(&fs, path, flags), good;

	if (fd < 0)
		return want == 0 || fd == want;
	good = fd_inside(fd, &fs);
	close(fd);
	return good;
}

static void
test_long_paths(void)
{
	static char deep[PROTO_PATH_MAX + 1], p[PROTO_PATH_MAX + 1];
	char name[400];
	size_t near, n, pad, k;
	int fd, bad_secret = 0, bad_file = 0, bad_link = 0, tries = 0;

	deep_tree(deep, sizeof(deep), &near);
	diag("deep path: %zu bytes, chunk %d", strlen(deep), RESOLVE_CHUNK);

	snprintf(p, sizeof(p), "%s/file", deep);
	check_open("deep file past the chunk", p, O_RDONLY, 0, p + 1);
	snprintf(p, sizeof(p), "%s/esc/outside/secret", deep);
	check_open("deep esc/outside/secret", p, O_RDONLY, -ENOENT, NULL);
	snprintf(p, sizeof(p), "%s/esc", deep);
	check_open("deep esc itself (O_PATH | O_NOFOLLOW)", p,
	    O_PATH | O_NOFOLLOW, 0, p + 1);
	/* An absolute target past the first call is taken from where that
	 * call ended: confined more tightly, still inside. */
	snprintf(p, sizeof(p), "%s/top", deep);
	ok(open_inside_or(p, O_RDONLY, -ENOENT),
	    "deep top -> /file: inside the root or ENOENT");

	/*
	 * "esc" swept across the boundary between two calls, byte by byte:
	 * a run of slashes (one separator) before it moves it without
	 * changing what the path names. Wherever the cut falls, before,
	 * inside or after the link's name, its ".."s stop inside.
	 */
	for (pad = 1; near + pad + 8 <= RESOLVE_CHUNK + 110; pad++) {
		memcpy(p, deep, near);
		memset(p + near, '/', pad);
		n = near + pad;
		snprintf(p + n, sizeof(p) - n, "esc/outside/secret");
		bad_secret += !open_inside_or(p, O_RDONLY, -ENOENT);
		snprintf(p + n, sizeof(p) - n, "esc/file");
		bad_file += !open_inside_or(p, O_RDONLY, -ENOENT);
		snprintf(p + n, sizeof(p) - n, "esc");
		bad_link += !open_inside_or(p, O_PATH, 1);
		tries++;
	}
	ok(tries > 100 && bad_secret == 0, "esc/outside/secret across the "
	    "chunk boundary (%d places): ENOENT each time (%d not)", tries,
	    bad_secret);
	ok(bad_file == 0, "esc/file across the chunk boundary: inside the "
	    "root or ENOENT each time (%d not)", bad_file);
	ok(bad_link == 0, "esc followed across the chunk boundary: inside "
	    "the root each time (%d not)", bad_link);

	/* Paths of about the chunk's length, padded with slashes. */
	for (n = RESOLVE_CHUNK - 1; n <= RESOLVE_CHUNK + 2; n++) {
		k = cut_at(deep, n - 5);
		snprintf(p, sizeof(p), "%.*s", (int)k, deep);
		while (strlen(p) < n)
			strcat(p, "/");
		fd = agent_fs_open_in_root(&fs, p, O_PATH | O_DIRECTORY);
		ok(fd >= 0 && fd_inside(fd, &fs),
		    "path of %zu bytes (chunk %d): opens inside (got %d)",
		    strlen(p), RESOLVE_CHUNK, fd);
		if (fd >= 0)
			close(fd);
	}
	/* One name longer than a call takes: refused, not cut. */
	p[0] = '/';
	memset(p + 1, 'x', RESOLVE_CHUNK + 10);
	p[RESOLVE_CHUNK + 11] = '\0';
	check_open("one name past the chunk", p, O_RDONLY, -ENAMETOOLONG,
	    NULL);
	/* A name too long for the file system, within one call. */
	name[0] = '/';
	memset(name + 1, 'x', 300);
	name[301] = '\0';
	check_open("one name of 300 bytes", name, O_RDONLY, -ENAMETOOLONG,
	    NULL);
}

static void
test_escapes(void)
{
	char p[PATH_MAX];

	check_open("/", "/", O_PATH, 0, ".");
	check_open("/..", "/..", O_PATH, 0, ".");
	check_open("/../../..", "/../../..", O_PATH, 0, ".");
	check_open("/a/../../etc/passwd", "/a/../../etc/passwd", O_RDONLY, 0,
	    "etc/passwd");
	check_open("/abs/passwd (abs -> /etc)", "/abs/passwd", O_RDONLY, 0,
	    "etc/passwd");
	check_open("/a/b/abspw (-> /etc/passwd)", "/a/b/abspw", O_RDONLY, 0,
	    "etc/passwd");
	check_open("/up (-> ../../outside/secret)", "/up", O_RDONLY, -ENOENT,
	    NULL);
	check_open("/a/b/c/upup/etc/passwd (-> ../../../..)",
	    "/a/b/c/upup/etc/passwd", O_RDONLY, 0, "etc/passwd");
	check_open("/a/b/c/upup/outside/secret",
	    "/a/b/c/upup/outside/secret", O_RDONLY, -ENOENT, NULL);
	check_open("/hostabs/secret (the host's path)", "/hostabs/secret",
	    O_RDONLY, -ENOENT, NULL);
	check_open("/a/hostsecret", "/a/hostsecret", O_RDONLY, -ENOENT, NULL);
	snprintf(p, sizeof(p), "%s/secret", outside);
	check_open("the host path of the outside file", p, O_RDONLY, -ENOENT,
	    NULL);
	check_open("/chain1 (chain -> ../../../outside/secret)", "/chain1",
	    O_RDONLY, -ENOENT, NULL);
	check_open("/dirlink/../../.. (a symlinked directory)",
	    "/dirlink/../../..", O_PATH, 0, ".");
	check_open("/a/cl/../../../../etc/passwd", "/a/cl/../../../../etc/passwd",
	    O_RDONLY, 0, "etc/passwd");
	check_open("/a/procroot (no /proc in the root)", "/a/procroot/etc",
	    O_PATH, -ENOENT, NULL);
	check_open("/loop", "/loop", O_RDONLY, -ELOOP, NULL);
	check_open("/tofile under O_NOFOLLOW", "/tofile", O_RDONLY | O_NOFOLLOW,
	    -ELOOP, NULL);
	check_open("/tofile followed", "/tofile", O_RDONLY, 0, "file");
	check_open("/file/x", "/file/x", O_RDONLY, -ENOTDIR, NULL);
	check_open("empty path", "", O_PATH, 0, ".");
	check_open("relative path", "a/b", O_PATH, 0, "a/b");
}

/* Under a root with /proc in it: magic links are refused. */
static void
test_magic_links(void)
{
	char p[64];
	int dfd, fd;

	dfd = open(outside, O_PATH | O_DIRECTORY | O_CLOEXEC);
	fd = agent_fs_open_in_root(&sys, "/proc/self/root/etc", O_PATH);
	ok(fd == -ELOOP, "/proc/self/root/etc: ELOOP (got %d)", fd);
	if (fd >= 0)
		close(fd);
	fd = agent_fs_open_in_root(&sys, "/proc/self/cwd", O_PATH);
	ok(fd == -ELOOP, "/proc/self/cwd: ELOOP (got %d)", fd);
	if (fd >= 0)
		close(fd);
	snprintf(p, sizeof(p), "/proc/self/fd/%d/secret", dfd);
	fd = agent_fs_open_in_root(&sys, p, O_RDONLY);
	ok(fd == -ELOOP, "/proc/self/fd/N/secret (N outside): ELOOP (got %d)",
	    fd);
	if (fd >= 0)
		close(fd);
	snprintf(p, sizeof(p), "/proc/thread-self/fd/%d", dfd);
	fd = agent_fs_open_in_root(&sys, p, O_PATH);
	ok(fd == -ELOOP, "/proc/thread-self/fd/N: ELOOP (got %d)", fd);
	if (fd >= 0)
		close(fd);
	/* The magic link itself, not followed, is only a link. */
	fd = agent_fs_open_in_root(&sys, "/proc/self/root",
	    O_PATH | O_NOFOLLOW);
	ok(fd >= 0, "/proc/self/root under O_NOFOLLOW: the link (got %d)",
	    fd);
	if (fd >= 0)
		close(fd);
	close(dfd);
}

static void
test_checked_open(void)
{
	int fd;

	fd = confine_open_checked(&fs, "/file", O_RDONLY, CONFINE_OPEN_REG);
	ok(fd >= 0 && same_file(fd, "file"), "checked: a regular file opens");
	if (fd >= 0)
		close(fd);
	fd = confine_open_checked(&fs, "/a", O_RDONLY | O_DIRECTORY,
	    CONFINE_OPEN_REG | CONFINE_OPEN_DIR);
	ok(fd >= 0 && same_file(fd, "a"), "checked: a directory opens");
	if (fd >= 0)
		close(fd);
	fd = confine_open_checked(&fs, "/a", O_RDONLY, CONFINE_OPEN_REG);
	ok(fd == -EISDIR, "checked: a directory for a file: EISDIR (got %d)",
	    fd);
	fd = confine_open_checked(&fs, "/file", O_RDONLY, CONFINE_OPEN_DIR);
	ok(fd == -EINVAL, "checked: a file for a directory: EINVAL (got %d)",
	    fd);
	fd = confine_open_checked(&fs, "/fifo", O_RDONLY, CONFINE_OPEN_REG);
	ok(fd == -ENXIO, "checked: a fifo: ENXIO, not a hang (got %d)", fd);
	fd = confine_open_checked(&fs, "/sock", O_RDONLY, CONFINE_OPEN_REG);
	ok(fd == -ENXIO, "checked: a socket: ENXIO (got %d)", fd);
	fd = confine_open_checked(&fs, "/tofile", O_RDONLY | O_NOFOLLOW,
	    CONFINE_OPEN_REG);
	ok(fd == -ELOOP, "checked: a symlink under O_NOFOLLOW: ELOOP (got %d)",
	    fd);
	fd = confine_open_checked(&fs, "/up", O_RDONLY, CONFINE_OPEN_REG);
	ok(fd == -ENOENT, "checked: /up: ENOENT (got %d)", fd);
	fd = confine_open_checked(&sys, "/dev/null", O_RDONLY,
	    CONFINE_OPEN_REG);
	ok(fd == -EACCES, "checked: a device: EACCES (got %d)", fd);
	fd = agent_fs_open_regular_in_root(&fs, "/fifo", O_RDONLY);
	ok(fd == -ENXIO, "regular_in_root: a fifo: ENXIO (got %d)", fd);
	fd = agent_fs_open_regular_in_root(&fs, "/abs/passwd", O_RDONLY);
	ok(fd >= 0 && same_file(fd, "etc/passwd"),
	    "regular_in_root: /abs/passwd is the root's (got %d)", fd);
	if (fd >= 0)
		close(fd);
	fd = agent_fs_open_regular_in_root(&fs, "/hostabs/secret", O_RDONLY);
	ok(fd == -ENOENT, "regular_in_root: the host's path: ENOENT (got %d)",
	    fd);
	fd = confine_open_mode(&fs, "/up", O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW, 0600);
	ok(fd == -EEXIST, "create over /up (a link): EEXIST (got %d)", fd);
	fd = confine_open_mode(&fs, "/hostabs/new", O_WRONLY | O_CREAT, 0600);
	ok(fd == -ENOENT, "create under the host's path: ENOENT (got %d)", fd);
	fd = confine_open_mode(&fs, "/a/new", O_WRONLY | O_CREAT | O_EXCL,
	    0640);
	ok(fd >= 0 && same_file(fd, "a/new"), "create /a/new: inside");
	if (fd >= 0)
		close(fd);
}

static void
test_parent(void)
{
	char p[PATH_MAX];
	const char *name = NULL;
	int dfd = -1, rc;

	snprintf(p, sizeof(p), "/a/b/x");
	rc = confine_open_parent(&fs, p, &name, &dfd);
	ok(rc == 0 && same_file(dfd, "a/b") && strcmp(name, "x") == 0 &&
	    strcmp(p, "/a/b/x") == 0, "parent of /a/b/x: /a/b and x, path "
	    "kept (got %d)", rc);
	if (rc == 0)
		close(dfd);
	snprintf(p, sizeof(p), "/x");
	rc = confine_open_parent(&fs, p, &name, &dfd);
	ok(rc == 0 && same_file(dfd, "."), "parent of /x: the root (got %d)",
	    rc);
	if (rc == 0)
		close(dfd);
	snprintf(p, sizeof(p), "/abs/x");
	rc = confine_open_parent(&fs, p, &name, &dfd);
	ok(rc == 0 && same_file(dfd, "etc"),
	    "parent of /abs/x: the root's etc (got %d)", rc);
	if (rc == 0)
		close(dfd);
	snprintf(p, sizeof(p), "/hostabs/secret");
	rc = confine_open_parent(&fs, p, &name, &dfd);
	ok(rc == -ENOENT, "parent of /hostabs/secret: ENOENT (got %d)", rc);
	snprintf(p, sizeof(p), "/up/x");
	rc = confine_open_parent(&fs, p, &name, &dfd);
	ok(rc == -ENOENT || rc == -ENOTDIR,
	    "parent of /up/x: ENOENT (got %d)", rc);
	snprintf(p, sizeof(p), "/a/..");
	rc = confine_open_parent(&fs, p, &name, &dfd);
	ok(rc == -EINVAL, "parent of /a/..: EINVAL (got %d)", rc);
	snprintf(p, sizeof(p), "/");
	rc = confine_open_parent(&fs, p, &name, &dfd);
	ok(rc == -EINVAL, "parent of /: EINVAL (got %d)", rc);
	snprintf(p, sizeof(p), "x");
	rc = confine_open_parent(&fs, p, &name, &dfd);
	ok(rc == -EINVAL, "parent of a relative name: EINVAL (got %d)", rc);
}

static void
test_confine_link(void)
{
	static char big[PROTO_PATH_MAX + 2];
	char out[8];

	check_link("/a/b/l", "x/y", 0, "x/y");
	check_link("/a/b/l", "../x", 0, "../x");
	check_link("/a/b/l", "../../x", 0, "../../x");
	check_link("/a/b/l", "/etc/passwd", 0, "../../etc/passwd");
	check_link("/l", "/etc/passwd", 0, "etc/passwd");
	check_link("/a/b/l", "../../../../etc", 0, "../../etc");
	check_link("/a/l", "../../outside/secret", 0, "../outside/secret");
	check_link("/a/l", outside, 0, NULL);
	check_link("/l", "/", 0, ".");
	check_link("/a/b/l", "/a/b", 0, ".");
	/* ".." after a name, through a symlinked directory: resolved
	 * physically in the root. */
	check_link("/a/l", "cl/../../../../etc", 0, "../etc");
	check_link("/l", "dirlink/../../..", 0, ".");
	check_link("/a/b/c/l", "upup/../../x", 0, NULL);
	check_link("/a/l", "x/../../../../..", 0, NULL);
	check_link("/a/l", "nonexistent/../../../etc", 0, NULL);
	check_link("/l", "chain1/../..", 0, NULL);
	/* Too long: refused, never cut. */
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	check_link("/l", big, -ENAMETOOLONG, NULL);
	check_link(big, "x", -ENAMETOOLONG, NULL);
	ok(agent_fs_confine_link(&fs, "/a/b/c/l", "/etc/passwd", out,
	    sizeof(out)) == -ENAMETOOLONG,
	    "an answer longer than the buffer: ENAMETOOLONG");
}

static void
cleanup(void)
{
	char cmd[128];

	if (top[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		diag("could not remove %s", top);
}

int
main(void)
{
	scratch();
	diag("root %s, outside %s", fs.rootpath, outside);
	test_escapes();
	test_magic_links();
	test_checked_open();
	test_parent();
	test_confine_link();
	test_long_paths();
	close(fs.rootfd);
	close(sys.rootfd);
	cleanup();
	return done_testing();
}
