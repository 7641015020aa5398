/*
 * libmirror-layer.so: the thin LD_PRELOAD layer of `mirrorctl exec`. It
 * maps paths (and, with --steal, reports listen() to netd: net.c). Its
 * core, here: at load it reads the rules file named by
 * MIRROR_LAYER_RULES (written by mirrorctl, see rules.h) and decides,
 * for each absolute path a hooked call (hooks.c) passes, whether it is
 * the local file, the target's under its mount, or not found. The
 * older MIRROR_LAYER_MAP="/from=/to[:/from2=/to2...]" prefix maps still
 * work and come first. A path is matched after its "." and
 * ".." are resolved lexically, so "/from/../../etc/shadow" is never sent
 * to "/to/../../etc/shadow". A set-id program ignores both variables
 * (secure_getenv), and a process without them is not touched.
 *
 * Fails loud: a rules file that does not parse stops the program with
 * one line on stderr (running it on the laptop's files instead would be
 * silently wrong); when the mount is gone (not a mount, or its daemon
 * dead) each remote call fails with EIO and the first says so on stderr.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "layer.h"
#include "rules.h"

#define LAYER_MAPS_MAX	32

struct layer_map {
	char	*from;
	size_t	 fromlen;
	char	*to;
};

static struct layer_map maps[LAYER_MAPS_MAX];
static int nmaps;

static struct layer_rules rules;
static int have_rules;
/* The mount's device at load; 0 if root was not a mount then. */
static unsigned int root_major, root_minor;
static int root_ok;
static int warned_dead;
/* Until when (CLOCK_MONOTONIC_COARSE, ms) the mount was seen alive:
 * one statx per LAYER_ALIVE_MS, not one per call. */
#define LAYER_ALIVE_MS	50
static _Atomic long long alive_until;

/* stat without our own hooks (nor libc's, which may be someone's). */
static int
layer_statx(const char *path, struct statx *stx)
{
	return (int)syscall(SYS_statx, AT_FDCWD, path, 0, STATX_INO, stx);
}

/* One line to stderr, made of the strings up to the NULL. */
static void
layer_log(const char *s, ...)
{
	char line[PATH_MAX * 2 + 128];
	size_t len = 0, n;
	va_list ap;

	va_start(ap, s);
	for (; s != NULL; s = va_arg(ap, const char *)) {
		n = strlen(s);
		if (n > sizeof(line) - 1 - len)
			n = sizeof(line) - 1 - len;
		memcpy(line + len, s, n);
		len += n;
	}
	va_end(ap);
	line[len++] = '\n';
	(void)!write(2, line, len);
}

static void
layer_init_map(void)
{
	const char *env = secure_getenv("MIRROR_LAYER_MAP");
	char *copy, *item, *save = NULL, *eq, *from;

	if (env == NULL || (copy = strdup(env)) == NULL)
		return;
	for (item = strtok_r(copy, ":", &save); item && nmaps < LAYER_MAPS_MAX;
	    item = strtok_r(NULL, ":", &save)) {
		if ((eq = strchr(item, '=')) == NULL || item[0] != '/' ||
		    eq[1] != '/')
			continue;
		*eq = '\0';
		/* Compared with normalised paths, so normalised too: "/a/"
		 * and "/b/../a" map like "/a". */
		from = malloc(strlen(item) + 2);
		if (from == NULL || layer_normalise(item, from,
		    strlen(item) + 2) < 0) {
			free(from);
			continue;
		}
		maps[nmaps].to = eq + 1;
		maps[nmaps].from = from;
		maps[nmaps].fromlen = strlen(from);
		nmaps++;
	}
	/* copy stays allocated: the maps point into it for the process's
	 * whole life. */
}

/* The file into buf (at most LAYER_RULES_FILE_MAX + 1 bytes read, so a
 * longer one shows as too long). Length, or -errno. */
static ssize_t
layer_read_file(const char *path, char *buf, size_t sz)
{
	ssize_t n, len = 0;
	int fd, err;

	if ((fd = (int)syscall(SYS_openat, AT_FDCWD, path,
	    O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -errno;
	while ((size_t)len < sz &&
	    (n = read(fd, buf + len, sz - (size_t)len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			close(fd);
			return err;
		}
		len += n;
	}
	close(fd);
	return len;
}

/* What is local at run time, as mirrord: the working directory, the
 * program's own directory, $HOME and the temp dir ("/" never: that
 * would be everything). */
static void
layer_init_runtime_local(void)
{
	char buf[PATH_MAX], *slash;
	const char *env;
	ssize_t n;

	if (getcwd(buf, sizeof(buf)) != NULL && strcmp(buf, "/") != 0)
		(void)layer_rules_add_prefix(&rules, LAYER_T_DEF_LOCAL, buf);
	n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		if ((slash = strrchr(buf, '/')) != NULL && slash != buf) {
			*slash = '\0';
			(void)layer_rules_add_prefix(&rules, LAYER_T_DEF_LOCAL,
			    buf);
		}
	}
	if ((env = getenv("HOME")) != NULL && env[0] == '/' && env[1] != '\0')
		(void)layer_rules_add_prefix(&rules, LAYER_T_DEF_LOCAL, env);
	if ((env = getenv("TMPDIR")) == NULL || env[0] != '/' ||
	    env[1] == '\0')
		env = "/tmp";
	(void)layer_rules_add_prefix(&rules, LAYER_T_DEF_LOCAL, env);
}

/* Whether root is a mount now and the same one as at load; a yes is
 * trusted for LAYER_ALIVE_MS unless fresh says to look now. */
static int
layer_root_alive(int fresh)
{
	struct statx stx;
	struct timespec ts;
	long long now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (!fresh && now < atomic_load_explicit(&alive_until,
	    memory_order_relaxed))
		return 1;
	if (!root_ok || layer_statx(rules.root, &stx) != 0 ||
	    stx.stx_dev_major != root_major || stx.stx_dev_minor != root_minor) {
		atomic_store_explicit(&alive_until, 0, memory_order_relaxed);
		return 0;
	}
	atomic_store_explicit(&alive_until, now + LAYER_ALIVE_MS,
	    memory_order_relaxed);
	return 1;
}

static void
layer_init_rules(void)
{
	const char *file = secure_getenv("MIRROR_LAYER_RULES");
	char *text, parent[PATH_MAX + 4], num[16];
	struct statx stx, pstx;
	ssize_t len;
	int line = 0;

	if (file == NULL)
		return;
	if ((text = malloc(LAYER_RULES_FILE_MAX + 1)) == NULL)
		_exit(127);
	len = layer_read_file(file, text, LAYER_RULES_FILE_MAX + 1);
	if (len < 0) {
		layer_log("mirror-layer: cannot read the rules ", file, ": ",
		    strerror((int)-len), NULL);
		_exit(127);
	}
	if (layer_rules_parse(&rules, text, (size_t)len, getenv("HOME"),
	    &line) < 0) {
		snprintf(num, sizeof(num), "%d", line);
		layer_log("mirror-layer: ", file, ":", num, ": bad rules file",
		    NULL);
		_exit(127);
	}
	free(text);
	layer_init_runtime_local();
	/* A mount point: its device differs from its parent's. */
	snprintf(parent, sizeof(parent), "%s/..", rules.root);
	if (layer_statx(rules.root, &stx) == 0 &&
	    layer_statx(parent, &pstx) == 0 &&
	    (stx.stx_dev_major != pstx.stx_dev_major ||
	    stx.stx_dev_minor != pstx.stx_dev_minor)) {
		root_major = stx.stx_dev_major;
		root_minor = stx.stx_dev_minor;
		root_ok = 1;
	}
	have_rules = 1;
}

__attribute__((constructor)) static void
layer_init(void)
{
	int saved = errno;

	layer_init_map();
	layer_init_rules();
	errno = saved;
}

/* MIRROR_LAYER_MAP: the mapped path in buf, or NULL when no map applies
 * (or the result would not fit: the kernel would refuse it anyway). */
static const char *
layer_map_path(const char *norm, char *buf, size_t sz)
{
	int i;

	for (i = 0; i < nmaps; i++) {
		size_t n = maps[i].fromlen;

		if (strncmp(norm, maps[i].from, n) == 0 &&
		    (norm[n] == '/' || norm[n] == '\0')) {
			if ((size_t)snprintf(buf, sz, "%s%s", maps[i].to,
			    norm + n) >= sz)
				return NULL;
			return buf;
		}
	}
	return NULL;
}

/* One line the first time, and EIO. */
static void
layer_dead(const char *path)
{
	if (!warned_dead) {
		warned_dead = 1;
		layer_log("mirror-layer: ", rules.root, ": the target's "
		    "mount is gone; ", path, " and every other remote "
		    "path fail with EIO", NULL);
	}
	errno = EIO;
}

void
layer_failed(const char *path)
{
	int saved = errno;

	if (!layer_root_alive(1))
		layer_dead(path);
	else
		errno = saved;
}

const char *
layer_path(const char *path, enum layer_access acc, char *buf, int *remote)
{
	char norm[PATH_MAX];
	enum layer_class cls;
	int saved = errno, rc;

	if (path == NULL || path[0] != '/' || (nmaps == 0 && !have_rules))
		return path;
	if (layer_normalise(path, norm, sizeof(norm)) < 0) {
		/* Too long to match: the kernel refuses it as it is. */
		return have_rules ? (errno = ENAMETOOLONG, NULL) : path;
	}
	if (layer_map_path(norm, buf, PATH_MAX) != NULL) {
		errno = saved;
		return buf;
	}
	if (!have_rules) {
		errno = saved;
		return path;
	}
	if ((rc = layer_rules_resolve(&rules, norm, buf, PATH_MAX, &cls)) < 0) {
		errno = -rc;
		return NULL;
	}
	switch (cls) {
	case LAYER_LOCAL:
		errno = saved;
		/* Unmapped: as the program wrote it (".." through a
		 * symlink means what the kernel says it means). */
		return strcmp(buf, norm) == 0 ? path : buf;
	case LAYER_NOT_FOUND:
		errno = ENOENT;
		return NULL;
	case LAYER_REMOTE_RO:
		if (acc == LAYER_WRITE) {
			errno = EROFS;
			return NULL;
		}
		break;
	case LAYER_REMOTE_RW:
		break;
	}
	/* Neither read nor write the empty directory an unmounted root
	 * leaves: checked first (a write afresh), and again after a
	 * remote call fails (layer_failed). */
	if (!layer_root_alive(acc == LAYER_WRITE)) {
		layer_dead(path);
		return NULL;
	}
	*remote = 1;
	errno = saved;
	return buf;
}

const char *
layer_root(void)
{
	return have_rules ? rules.root : "";
}
