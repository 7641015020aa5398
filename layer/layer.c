/*
 * libmirror-layer.so: the thin LD_PRELOAD layer. It maps paths, nothing
 * else: MIRROR_LAYER_MAP="/from=/to[:/from2=/to2...]" makes open, openat,
 * fopen, access and the stat family of a path under /from use /to (for
 * example /var/run/secrets onto the same directory in a mounted pod).
 * Port-binding redirection comes with incoming traffic, later.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LAYER_MAPS_MAX	32

struct layer_map {
	char	*from;
	size_t	 fromlen;
	char	*to;
};

static struct layer_map maps[LAYER_MAPS_MAX];
static int nmaps;

__attribute__((constructor)) static void
layer_init(void)
{
	const char *env = getenv("MIRROR_LAYER_MAP");
	char *copy, *item, *save = NULL, *eq;

	if (env == NULL || (copy = strdup(env)) == NULL)
		return;
	for (item = strtok_r(copy, ":", &save); item && nmaps < LAYER_MAPS_MAX;
	    item = strtok_r(NULL, ":", &save)) {
		if ((eq = strchr(item, '=')) == NULL || item[0] != '/' ||
		    eq[1] != '/')
			continue;
		*eq = '\0';
		maps[nmaps].to = eq + 1;
		while (eq - item > 1 && eq[-1] == '/')
			*--eq = '\0';	/* "/a/" maps like "/a" */
		maps[nmaps].from = item;
		maps[nmaps].fromlen = strlen(item);
		nmaps++;
	}
	/* copy stays allocated: the maps point into it for the process's
	 * whole life. */
}

/* The mapped path in buf, or path itself when no map applies. */
static const char *
layer_map_path(const char *path, char *buf, size_t sz)
{
	int i;

	if (path == NULL || path[0] != '/')
		return path;
	for (i = 0; i < nmaps; i++) {
		size_t n = maps[i].fromlen;

		if (strncmp(path, maps[i].from, n) == 0 &&
		    (path[n] == '/' || path[n] == '\0')) {
			if ((size_t)snprintf(buf, sz, "%s%s", maps[i].to,
			    path + n) >= sz)
				return path;
			return buf;
		}
	}
	return path;
}

#define REAL(name) \
	static __typeof__(name) *real_; \
	if (real_ == NULL) \
		real_ = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

int
open(const char *path, int flags, ...)
{
	char buf[PATH_MAX];
	mode_t mode = 0;
	va_list ap;

	REAL(open);
	if (flags & (O_CREAT | __O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return real_(layer_map_path(path, buf, sizeof(buf)), flags, mode);
}

int
open64(const char *path, int flags, ...)
{
	char buf[PATH_MAX];
	mode_t mode = 0;
	va_list ap;

	REAL(open64);
	if (flags & (O_CREAT | __O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return real_(layer_map_path(path, buf, sizeof(buf)), flags, mode);
}

int
openat(int dirfd, const char *path, int flags, ...)
{
	char buf[PATH_MAX];
	mode_t mode = 0;
	va_list ap;

	REAL(openat);
	if (flags & (O_CREAT | __O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return real_(dirfd, layer_map_path(path, buf, sizeof(buf)), flags,
	    mode);
}

int
openat64(int dirfd, const char *path, int flags, ...)
{
	char buf[PATH_MAX];
	mode_t mode = 0;
	va_list ap;

	REAL(openat64);
	if (flags & (O_CREAT | __O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return real_(dirfd, layer_map_path(path, buf, sizeof(buf)), flags,
	    mode);
}

FILE *
fopen(const char *path, const char *mode)
{
	char buf[PATH_MAX];

	REAL(fopen);
	return real_(layer_map_path(path, buf, sizeof(buf)), mode);
}

FILE *
fopen64(const char *path, const char *mode)
{
	char buf[PATH_MAX];

	REAL(fopen64);
	return real_(layer_map_path(path, buf, sizeof(buf)), mode);
}

int
access(const char *path, int mode)
{
	char buf[PATH_MAX];

	REAL(access);
	return real_(layer_map_path(path, buf, sizeof(buf)), mode);
}

int
stat(const char *path, struct stat *st)
{
	char buf[PATH_MAX];

	REAL(stat);
	return real_(layer_map_path(path, buf, sizeof(buf)), st);
}

int
lstat(const char *path, struct stat *st)
{
	char buf[PATH_MAX];

	REAL(lstat);
	return real_(layer_map_path(path, buf, sizeof(buf)), st);
}

int
stat64(const char *path, struct stat64 *st)
{
	char buf[PATH_MAX];

	REAL(stat64);
	return real_(layer_map_path(path, buf, sizeof(buf)), st);
}

int
lstat64(const char *path, struct stat64 *st)
{
	char buf[PATH_MAX];

	REAL(lstat64);
	return real_(layer_map_path(path, buf, sizeof(buf)), st);
}

int
fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	char buf[PATH_MAX];

	REAL(fstatat);
	return real_(dirfd, layer_map_path(path, buf, sizeof(buf)), st, flags);
}

int
fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
	char buf[PATH_MAX];

	REAL(fstatat64);
	return real_(dirfd, layer_map_path(path, buf, sizeof(buf)), st, flags);
}

int
faccessat(int dirfd, const char *path, int mode, int flags)
{
	char buf[PATH_MAX];

	REAL(faccessat);
	return real_(dirfd, layer_map_path(path, buf, sizeof(buf)), mode,
	    flags);
}
