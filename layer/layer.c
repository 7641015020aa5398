/*
 * libmirror-layer.so: the thin LD_PRELOAD layer. It maps paths, nothing
 * else: MIRROR_LAYER_MAP="/from=/to[:/from2=/to2...]" makes open, openat,
 * fopen, access and the stat family of a path under /from use /to (for
 * example /var/run/secrets onto the same directory in a mounted pod).
 * A path is matched after its "." and ".." are resolved lexically, so
 * "/from/../../etc/shadow" is never sent to "/to/../../etc/shadow"; a
 * set-id program ignores the map (secure_getenv). Port-binding
 * redirection comes with incoming traffic, later.
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

/*
 * Writes absolute path to out (size sz) with empty and "." components
 * dropped and each ".." removing the component before it (none above
 * "/"). Lexical only: what the map's prefix means is decided on names,
 * the way the user wrote them. 0, or -1 if out is too small.
 */
static int
layer_normalise(const char *path, char *out, size_t sz)
{
	const char *p = path, *end;
	size_t len = 0, n;

	while (*p) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		end = strchrnul(p, '/');
		n = (size_t)(end - p);
		if (n == 1 && p[0] == '.')
			;
		else if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (len > 0 && out[--len] != '/')
				;
		} else {
			if (len + 1 + n >= sz)
				return -1;
			out[len] = '/';
			memcpy(out + len + 1, p, n);
			len += 1 + n;
		}
		p = end;
	}
	if (len == 0)
		out[len++] = '/';
	out[len] = '\0';
	return 0;
}

__attribute__((constructor)) static void
layer_init(void)
{
	/* Whoever runs a set-id program must not point it at other files. */
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

/* The mapped path in buf, or path itself when no map applies. */
static const char *
layer_map_path(const char *path, char *buf, size_t sz)
{
	char norm[PATH_MAX];
	int i;

	if (path == NULL || path[0] != '/' || nmaps == 0)
		return path;
	/* Unchanged if it cannot be normalised: the kernel would refuse a
	 * path this long anyway. */
	if (layer_normalise(path, norm, sizeof(norm)) < 0)
		return path;
	for (i = 0; i < nmaps; i++) {
		size_t n = maps[i].fromlen;

		if (strncmp(norm, maps[i].from, n) == 0 &&
		    (norm[n] == '/' || norm[n] == '\0')) {
			if ((size_t)snprintf(buf, sz, "%s%s", maps[i].to,
			    norm + n) >= sz)
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
