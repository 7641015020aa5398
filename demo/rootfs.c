/*
 * The demo pod's root filesystem: busybox and its applets, the seed
 * sample app's files, the fake service-account secrets its init puts
 * in a volume of their own (demo_rootfs_secrets) and a few hundred
 * files of every shape mirror must serve (hard links, an empty
 * directory, names with spaces and UTF-8, a large file). Built in
 * rootfs.tmp and renamed into place only when whole.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "procfs.h"
#include "xmalloc.h"
#include "demo.h"

/* Bump when the rootfs's content changes: "demo up" rebuilds older ones. */
#define DEMO_ROOTFS_VERSION	"2"
#define DEMO_DOCS		240	/* usr/share/demo/docs/NNN.txt */
#define DEMO_LARGE_SIZE		(1024 * 1024)

/* --- The root filesystem. All paths are relative to its directory fd. */

/* mkdir -p; only a final directory made here gets mode (umask aside). */
static int
demo_fs_mkdirs(int root, const char *path, mode_t mode)
{
	char *copy, *slash;
	int error = 0, made = 0;

	copy = xstrdup(path);
	for (slash = strchr(copy, '/'); ; slash = strchr(slash + 1, '/')) {
		if (slash != NULL)
			*slash = '\0';
		made = 1;
		if (mkdirat(root, copy, 0755) == -1) {
			if (errno != EEXIST) {
				error = -errno;
				log_warn("mkdir %s", copy);
				goto out;
			}
			made = 0;
		}
		if (slash == NULL)
			break;
		*slash = '/';
	}
	if (made && fchmodat(root, path, mode, 0) == -1) {
		error = -errno;
		log_warn("chmod %s", path);
	}
out:
	x_free(copy);
	return error;
}

static int
demo_fs_parent(int root, const char *path)
{
	char *copy, *slash;
	int error = 0;

	copy = xstrdup(path);
	if ((slash = strrchr(copy, '/')) != NULL) {
		*slash = '\0';
		error = demo_fs_mkdirs(root, copy, 0755);
	}
	x_free(copy);
	return error;
}

static int
demo_fs_write(int root, const char *path, const void *buf, size_t len,
    mode_t mode)
{
	const char *p = buf;
	ssize_t n;
	int fd, error;

	if ((error = demo_fs_parent(root, path)) != 0)
		return error;
	fd = openat(root, path, O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC|O_NOFOLLOW,
	    0600);
	if (fd == -1) {
		error = -errno;
		log_warn("create %s", path);
		return error;
	}
	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			error = -errno;
			log_warn("write %s", path);
			goto out;
		}
		p += n;
		len -= n;
	}
	if (fchmod(fd, mode) == -1) {
		error = -errno;
		log_warn("chmod %s", path);
	}
out:
	close(fd);
	return error;
}

static int
demo_fs_text(int root, const char *path, const char *text, mode_t mode)
{
	return demo_fs_write(root, path, text, strlen(text), mode);
}

static int
demo_fs_symlink(int root, const char *target, const char *path)
{
	int error;

	if ((error = demo_fs_parent(root, path)) != 0)
		return error;
	if (symlinkat(target, root, path) == -1) {
		error = -errno;
		log_warn("symlink %s", path);
	}
	return error;
}

static int
demo_fs_link(int root, const char *existing, const char *path)
{
	int error;

	if ((error = demo_fs_parent(root, path)) != 0)
		return error;
	if (linkat(root, existing, root, path, 0) == -1) {
		error = -errno;
		log_warn("link %s", path);
	}
	return error;
}

static int
demo_fs_copy(int root, const char *src, const char *path, mode_t mode)
{
	char *buf = NULL;
	size_t cap = 1024 * 1024, len = 0;
	ssize_t n;
	int fd, error = 0;

	if ((fd = open(src, O_RDONLY|O_CLOEXEC)) == -1)
		return -errno;
	buf = xmalloc(cap);
	for (;;) {
		n = read(fd, buf + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			error = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += n;
		if (len == cap) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
	}
	error = demo_fs_write(root, path, buf, len, mode);
out:
	x_free(buf);
	close(fd);
	return error;
}

static const struct demo_dir {
	const char	*path;
	mode_t		 mode;
} demo_dirs[] = {
	{ "bin", 0755 },
	{ "sbin", 0755 },
	{ "dev", 0755 },
	{ "proc", 0555 },
	{ "tmp", 01777 },
	{ "root", 0700 },
	{ "var/log", 0755 },
	{ "var/run/secrets/kubernetes.io/serviceaccount", 0755 },
	{ "usr/share/demo/empty", 0755 },
	{ "usr/share/demo/private", 0700 },
};

static const struct demo_file {
	const char	*path;
	mode_t		 mode;
	const char	*text;
} demo_files[] = {
	{ "etc/passwd", 0644,
	  "root:x:0:0:root:/root:/bin/sh\n"
	  "app:x:1000:1000:py-serv app:/app:/bin/sh\n"
	  "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n" },
	{ "etc/group", 0644,
	  "root:x:0:\n"
	  "app:x:1000:\n"
	  "nogroup:x:65534:\n" },
	{ "etc/hostname", 0644, DEMO_HOSTNAME "\n" },
	{ "etc/hosts", 0644,
	  "127.0.0.1\tlocalhost\n"
	  DEMO_POD_ADDR "\t" DEMO_HOSTNAME "\n" },
	{ "etc/resolv.conf", 0644,
	  "# The mirror demo pod has no DNS server; this mimics a pod's.\n"
	  "nameserver " DEMO_POD_ADDR "\n"
	  "search default.svc.cluster.local svc.cluster.local cluster.local\n"
	  "options ndots:5\n" },
	{ "etc/os-release", 0644,
	  "PRETTY_NAME=\"mirror demo pod (busybox)\"\n"
	  "NAME=\"mirror demo pod\"\n"
	  "ID=mirror-demo\n" },
	{ "etc/shadow", 0600,
	  "root:*:19000:0:99999:7:::\n" },
	{ "app/config.yaml", 0644,
	  "# py-serv: the sample app of the mirror demo pod.\n"
	  "server:\n"
	  "  listen: 0.0.0.0:80\n"
	  "  root: /www\n"
	  "database:\n"
	  "  host: postgres.default.svc.cluster.local\n"
	  "  port: 5432\n"
	  "  name: demo\n"
	  "  user: demo\n"
	  "cache:\n"
	  "  url: redis://redis.default.svc.cluster.local:6379/0\n"
	  "features:\n"
	  "  greeting: \"hello from py-serv\"\n"
	  "  mirror_demo: true\n" },
	{ "app/main.py", 0755,
	  "#!/usr/bin/env python3\n"
	  "# The sample app as it would run in a real pod. In the demo pod,\n"
	  "# busybox httpd serves /www instead.\n"
	  "import http.server, os\n"
	  "\n"
	  "print(os.environ.get(\"MIRRORD_FAKE_VAR_FIRST\"))\n"
	  "print(os.environ.get(\"MIRRORD_FAKE_VAR_SECOND\"))\n"
	  "http.server.test(HandlerClass=http.server.SimpleHTTPRequestHandler,"
	  " port=80)\n" },
	{ "www/index.html", 0644,
	  "<!DOCTYPE html>\n"
	  "<html><head><title>mirror demo pod</title></head>\n"
	  "<body><h1>mirror demo pod</h1>\n"
	  "<p>This is py-serv, the mirror demo pod: busybox httpd in its own\n"
	  "Linux namespaces. If you can read this, mirror reached it.</p>\n"
	  "</body></html>\n" },
	{ "www/healthz", 0644, "ok\n" },
	{ "usr/share/demo/README", 0644,
	  "A few hundred files of different sizes, modes and names, so that\n"
	  "tools have something to list, read, copy and compare.\n" },
	{ "usr/share/demo/private/secret.txt", 0600, "not a real secret\n" },
	{ "usr/share/demo/names/with space.txt", 0644,
	  "a name with a space\n" },
	{ "usr/share/demo/names/caf\xc3\xa9.txt", 0644, "caf\xc3\xa9\n" },
	{ "usr/share/demo/names/\xc3\xbc" "ber.txt", 0644, "\xc3\xbc" "ber\n" },
	{ "usr/share/demo/names/\xe6\x97\xa5\xe6\x9c\xac.txt", 0644,
	  "\xe6\x97\xa5\xe6\x9c\xac\n" },
	{ "usr/share/demo/names/\xe6\x97\xa5\xe6\x9c\xac/\xc3\xa9t\xc3\xa9.txt",
	  0644, "nested UTF-8 names\n" },
	{ "usr/share/demo/names/-leading-dash", 0644, "starts with a dash\n" },
	{ "usr/share/demo/names/.hidden", 0644, "a dot file\n" },
	{ "usr/share/demo/tree/a/b/c/d/e/f/g/h/deep.txt", 0644,
	  "nine directories down\n" },
	{ "usr/share/demo/scripts/hello.sh", 0755,
	  "#!/bin/sh\necho \"hello from $(hostname)\"\n" },
};

/* In the service-account volume, not in the image (demo_rootfs_secrets). */
static const struct demo_file demo_sa_files[] = {
	{ "token", 0644,
	  /* {"alg":"none","typ":"JWT"}.{"iss":"mirror-demo","sub":
	   * "system:serviceaccount:default:fake-demo"}. No newline, as in
	   * Kubernetes. */
	  "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."
	  "eyJpc3MiOiJtaXJyb3ItZGVtbyIsInN1YiI6InN5c3RlbTpzZXJ2aWNlYWNjb3VudDpk"
	  "ZWZhdWx0OmZha2UtZGVtbyJ9."
	  "FAKE-TOKEN-OF-THE-MIRROR-DEMO-POD-NOT-VALID-ANYWHERE" },
	{ "namespace", 0644,
	  "default" },
	{ "ca.crt", 0644,
	  "Fake CA of the mirror demo pod. Not a certificate; trusts nothing.\n"
	  "-----BEGIN CERTIFICATE-----\n"
	  "RkFLRSBDQSBPRiBUSEUgTUlSUk9SIERFTU8gUE9ELiBOT1QgQSBSRUFMIENFUlRJ\n"
	  "RklDQVRFLg==\n"
	  "-----END CERTIFICATE-----\n" },
};

int
demo_rootfs_secrets(const char *dir)
{
	size_t i;
	int fd, error = 0;

	if ((fd = open(dir, O_PATH|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC)) == -1)
		return -errno;
	for (i = 0; i < sizeof(demo_sa_files) / sizeof(demo_sa_files[0]) &&
	    error == 0; i++)
		error = demo_fs_text(fd, demo_sa_files[i].path,
		    demo_sa_files[i].text, demo_sa_files[i].mode);
	close(fd);
	return error;
}

/* Relative only: an absolute link would point out of a mounted copy. */
static const struct demo_symlink {
	const char	*target;
	const char	*path;
} demo_symlinks[] = {
	{ "../www", "app/static" },
	{ "docs/239.txt", "usr/share/demo/latest.txt" },
	{ "../docs", "usr/share/demo/tree/docs" },
	{ "../bin/busybox", "sbin/ip" },
	{ "nowhere", "usr/share/demo/names/dangling" },
};

static const struct demo_hardlink {
	const char	*existing;
	const char	*path;
} demo_hardlinks[] = {
	{ "usr/share/demo/docs/007.txt", "usr/share/demo/hardlinks/seven.txt" },
	{ "usr/share/demo/docs/007.txt", "usr/share/demo/hardlinks/sept.txt" },
	{ "app/config.yaml", "etc/py-serv/config.yaml" },
};

static const char *demo_applets[] = {
	"sh", "ash", "ls", "cat", "env", "httpd", "sleep", "ps", "mount",
	"umount", "echo", "grep", "find", "vi", "wc", "head", "tail",
	"hostname", "wget", "nc", "kill", "mkdir", "rm", "rmdir", "cp", "mv",
	"ln", "touch", "sed", "awk", "sort", "uniq", "id", "whoami", "uname",
	"stat", "df", "du", "tar", "gzip", "nslookup", "ping", "test", "[",
	"true", "false", "chmod", "chown", "date", "printf", "pwd",
	"readlink", "realpath", "basename", "dirname", "tee", "tr", "xargs",
	"less", "free", "top", "sync", "seq", "md5sum", "sha256sum", "cut",
	"diff", "netstat", "nproc", "uptime", "which", "ip",
};

static const mode_t demo_doc_modes[] = { 0644, 0600, 0640, 0444, 0755 };

/* Sizes from empty to a little over 64 KiB, the same on every build. */
static size_t
demo_doc_size(unsigned int i)
{
	if (i % 16 == 0)
		return 0;
	if (i % 16 == 1)
		return 65536 + i;
	return (i * 397) % 8000 + 1;
}

static int
demo_rootfs_docs(int root)
{
	char path[64], line[128], *buf;
	size_t size, len, n;
	unsigned int i, l;
	int error = 0;

	for (i = 0; i < DEMO_DOCS; i++) {
		size = demo_doc_size(i);
		buf = xmalloc(size + 1);
		for (len = 0, l = 0; len < size; l++) {
			n = snprintf(line, sizeof(line), "demo document %03u, "
			    "line %u: the quick brown fox jumps over the lazy "
			    "dog\n", i, l);
			if (n > size - len)
				n = size - len;
			memcpy(buf + len, line, n);
			len += n;
		}
		snprintf(path, sizeof(path), "usr/share/demo/docs/%03u.txt", i);
		error = demo_fs_write(root, path, buf, size,
		    demo_doc_modes[i % (sizeof(demo_doc_modes) /
		    sizeof(demo_doc_modes[0]))]);
		x_free(buf);
		if (error != 0)
			return error;
	}
	return 0;
}

static int
demo_rootfs_tree(int root)
{
	char path[96], text[64];
	unsigned int a, b, c;
	int error;

	for (a = 0; a < 4; a++) {
		for (b = 0; b < 4; b++) {
			for (c = 0; c < 3; c++) {
				snprintf(path, sizeof(path), "usr/share/demo/"
				    "tree/dir-%u/sub-%u/file-%u.txt", a, b, c);
				snprintf(text, sizeof(text),
				    "tree file %u/%u/%u\n", a, b, c);
				error = demo_fs_text(root, path, text,
				    c == 2 ? 0600 : 0644);
				if (error != 0)
					return error;
			}
		}
	}
	return 0;
}

/* One MiB of deterministic noise, for reads larger than a page. */
static int
demo_rootfs_large(int root)
{
	uint32_t x = 2463534242U;
	unsigned char *buf;
	size_t i;
	int error;

	buf = xmalloc(DEMO_LARGE_SIZE);
	for (i = 0; i < DEMO_LARGE_SIZE; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = x & 0xff;
	}
	error = demo_fs_write(root, "usr/share/demo/large.bin", buf,
	    DEMO_LARGE_SIZE, 0644);
	x_free(buf);
	return error;
}

static int
demo_rootfs_fill(int root)
{
	char path[64];
	size_t i;
	int error;

	for (i = 0; i < sizeof(demo_dirs) / sizeof(demo_dirs[0]); i++) {
		error = demo_fs_mkdirs(root, demo_dirs[i].path,
		    demo_dirs[i].mode);
		if (error != 0)
			return error;
	}
	if ((error = demo_fs_copy(root, DEMO_BUSYBOX, "bin/busybox",
	    0755)) != 0) {
		demo_error("cannot copy %s: %s", DEMO_BUSYBOX, strerror(-error));
		return error;
	}
	for (i = 0; i < sizeof(demo_applets) / sizeof(demo_applets[0]); i++) {
		snprintf(path, sizeof(path), "bin/%s", demo_applets[i]);
		if ((error = demo_fs_symlink(root, "busybox", path)) != 0)
			return error;
	}
	for (i = 0; i < sizeof(demo_files) / sizeof(demo_files[0]); i++) {
		error = demo_fs_text(root, demo_files[i].path,
		    demo_files[i].text, demo_files[i].mode);
		if (error != 0)
			return error;
	}
	if ((error = demo_rootfs_docs(root)) != 0)
		return error;
	if ((error = demo_rootfs_tree(root)) != 0)
		return error;
	if ((error = demo_rootfs_large(root)) != 0)
		return error;
	for (i = 0; i < sizeof(demo_symlinks) / sizeof(demo_symlinks[0]); i++) {
		error = demo_fs_symlink(root, demo_symlinks[i].target,
		    demo_symlinks[i].path);
		if (error != 0)
			return error;
	}
	for (i = 0; i < sizeof(demo_hardlinks) / sizeof(demo_hardlinks[0]);
	    i++) {
		error = demo_fs_link(root, demo_hardlinks[i].existing,
		    demo_hardlinks[i].path);
		if (error != 0)
			return error;
	}
	return 0;
}

static int
demo_rm_entry(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
	int r, error;

	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		r = rmdir(path);
	else
		r = unlink(path);
	if (r == -1 && errno != ENOENT) {
		error = -errno;
		log_warn("remove %s", path);
		return error;
	}
	return 0;
}

int
demo_rm_tree(const char *path)
{
	struct stat st;
	int r;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -errno;
	r = nftw(path, demo_rm_entry, 16, FTW_DEPTH|FTW_PHYS|FTW_MOUNT);
	if (r == -1)
		return -errno;
	return r;
}

/* 0 if the rootfs is there and of this version of mirror. */
int
demo_rootfs_current(struct demo_paths *p)
{
	struct stat st;
	char buf[32];
	ssize_t n;

	if (stat(p->rootfs, &st) == -1)
		return -errno;
	if ((n = read_small_file(p->version, buf, sizeof(buf))) < 0)
		return n;
	if (strcmp(buf, DEMO_ROOTFS_VERSION "\n") != 0)
		return -ESTALE;
	return 0;
}

int
demo_rootfs_build(struct demo_paths *p, int quiet)
{
	FILE *f;
	int root = -1, error;

	if (access(DEMO_BUSYBOX, X_OK) == -1) {
		demo_error("busybox-static is not installed: "
		    "apt-get install busybox-static");
		return -ENOENT;
	}
	if (!quiet) {
		printf("building demo rootfs in %s\n", p->rootfs);
		fflush(stdout);
	}
	unlink(p->version);
	if ((error = demo_rm_tree(p->rootfs_tmp)) != 0 ||
	    (error = demo_rm_tree(p->rootfs)) != 0)
		goto out;
	if (mkdir(p->rootfs_tmp, 0755) == -1 || chmod(p->rootfs_tmp, 0755)) {
		error = -errno;
		demo_error("cannot create %s: %s", p->rootfs_tmp,
		    strerror(errno));
		goto out;
	}
	root = open(p->rootfs_tmp, O_RDONLY|O_DIRECTORY|O_CLOEXEC);
	if (root == -1) {
		error = -errno;
		goto out;
	}
	if ((error = demo_rootfs_fill(root)) != 0)
		goto out;
	if (rename(p->rootfs_tmp, p->rootfs) == -1) {
		error = -errno;
		goto out;
	}
	if ((f = fopen(p->version, "we")) == NULL) {
		error = -errno;
		goto out;
	}
	fprintf(f, "%s\n", DEMO_ROOTFS_VERSION);
	if (fclose(f) == EOF)
		error = -errno;
out:
	if (root != -1)
		close(root);
	if (error != 0) {
		demo_error("cannot build the demo rootfs in %s: %s", p->rootfs,
		    strerror(-error));
		demo_rm_tree(p->rootfs_tmp);
	}
	return error;
}
