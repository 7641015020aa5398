/*
 * The layer's hooks for libc calls that reach paths inside glibc, where
 * a preload cannot follow (glibc calls its own internal __opendir,
 * __lstat and __execve): each entry point is hooked itself. The root
 * path of a walk (nftw, ftw) or a glob is rewritten once and the real
 * function walks the mount; the paths it hands back (nftw's fpath,
 * glob's gl_pathv) are turned back into the ones the program asked for,
 * so a program that prints or compares them sees pod paths. One rule
 * for the whole tree: the walk's root (a glob's directory part, before
 * the first wildcard) decides for all below it, as one opendir would.
 * execl and friends gather their arguments and go through the hooked
 * execve; posix_spawn rewrites the program's path and the paths of its
 * file actions (opened in the child by glibc, unhooked).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layer.h"

/* A walk under way on this thread: its callback, and the prefix the
 * real function sees (mapped) in place of the one the program gave
 * (asked, without trailing slashes: "/" is ""). */
struct layer_walk {
	void		*fn;
	const char	*mapped;
	size_t		 mlen;
	char		 asked[PATH_MAX];
	size_t		 alen;
};

static __thread struct layer_walk *layer_walk_cur;

/* The real function name, found once; NULL with ENOSYS if not there. */
#define LAYER_REAL(name, real) do {					\
	if ((real) == NULL &&						\
	    ((real) = (__typeof__(real))layer_real(name)) == NULL) {	\
		errno = ENOSYS;						\
		return -1;						\
	}								\
} while (0)

/* The walk for path: 1 when the layer rewrote it (mapped is then buf),
 * 0 when it passes as it is, -1 with errno when the call must fail. */
static int
layer_walk_init(struct layer_walk *w, void *fn, const char *path, char *buf)
{
	int remote = 0;
	size_t n;

	w->fn = fn;
	if ((w->mapped = layer_path(path, LAYER_READ, buf, &remote)) == NULL)
		return -1;
	if (w->mapped == path)
		return 0;
	n = strlen(path);
	while (n > 0 && path[n - 1] == '/')
		n--;
	memcpy(w->asked, path, n);	/* path fit in PATH_MAX: it mapped */
	w->asked[n] = '\0';
	w->alen = n;
	w->mlen = strlen(w->mapped);
	while (w->mlen > 0 && w->mapped[w->mlen - 1] == '/')
		w->mlen--;
	return 1;
}

/* p, which starts with w's mapped prefix, as the program would see it:
 * in buf, or p itself if it does not start so or will not fit. */
static const char *
layer_walk_back(const struct layer_walk *w, const char *p, char *buf)
{
	size_t rest;

	if (strncmp(p, w->mapped, w->mlen) != 0 ||
	    (p[w->mlen] != '/' && p[w->mlen] != '\0'))
		return p;
	rest = strlen(p + w->mlen);
	if (w->alen + rest >= PATH_MAX)
		return p;
	memcpy(buf, w->asked, w->alen);
	memcpy(buf + w->alen, p + w->mlen, rest + 1);
	if (buf[0] == '\0')	/* the root "/" itself */
		strcpy(buf, "/");
	return buf;
}

/* The callbacks the real walks get: the program's, with the path (and
 * nftw's offset of its last name) as the program would see them. */
#define LAYER_WALK_CB(name, type, st)					\
static int								\
name(const char *p, const st *sb, int flag, struct FTW *f)		\
{									\
	const struct layer_walk *w = layer_walk_cur;			\
	char buf[PATH_MAX];						\
	const char *q = layer_walk_back(w, p, buf);			\
	struct FTW g = *f;						\
									\
	if (q != p)	/* the root itself: its last name */		\
		g.base = f->base >= (int)w->mlen ? f->base +		\
		    (int)w->alen - (int)w->mlen :			\
		    (int)(strrchr(q, '/') - q) + 1;			\
	return ((type)w->fn)(q, sb, flag, &g);				\
}
#define LAYER_FTW_CB(name, type, st)					\
static int								\
name(const char *p, const st *sb, int flag)				\
{									\
	const struct layer_walk *w = layer_walk_cur;			\
	char buf[PATH_MAX];						\
									\
	return ((type)w->fn)(layer_walk_back(w, p, buf), sb, flag);	\
}

typedef int (*layer_nftw_fn)(const char *, const struct stat *, int,
    struct FTW *);
typedef int (*layer_nftw64_fn)(const char *, const struct stat64 *, int,
    struct FTW *);
typedef int (*layer_ftw_fn)(const char *, const struct stat *, int);
typedef int (*layer_ftw64_fn)(const char *, const struct stat64 *, int);
LAYER_WALK_CB(layer_nftw_cb, layer_nftw_fn, struct stat)
LAYER_WALK_CB(layer_nftw64_cb, layer_nftw64_fn, struct stat64)
LAYER_FTW_CB(layer_ftw_cb, layer_ftw_fn, struct stat)
LAYER_FTW_CB(layer_ftw64_cb, layer_ftw64_fn, struct stat64)

/* One walk hook: the real walk over the mapped root, through cb while
 * the root was rewritten (the thread's walk saved and restored, so a
 * callback may walk again). */
#define LAYER_WALK_HOOK(name, fntype, cb, params, fnarg, args)		\
int									\
name params								\
{									\
	static __typeof__(name) *real;					\
	struct layer_walk w, *outer;					\
	char buf[PATH_MAX];						\
	fntype fn = fnarg;						\
	int rc;								\
									\
	LAYER_REAL(#name, real);					\
	if ((rc = layer_walk_init(&w, (void *)fn, path, buf)) < 0)	\
		return -1;						\
	if (rc == 0)							\
		return real args;					\
	path = w.mapped;						\
	outer = layer_walk_cur;						\
	layer_walk_cur = &w;						\
	fn = cb;							\
	rc = real args;							\
	layer_walk_cur = outer;						\
	return rc;							\
}

LAYER_WALK_HOOK(nftw, layer_nftw_fn, layer_nftw_cb,
    (const char *path, layer_nftw_fn fn_, int nfd, int flags), fn_,
    (path, fn, nfd, flags))
LAYER_WALK_HOOK(nftw64, layer_nftw64_fn, layer_nftw64_cb,
    (const char *path, layer_nftw64_fn fn_, int nfd, int flags), fn_,
    (path, fn, nfd, flags))
LAYER_WALK_HOOK(ftw, layer_ftw_fn, layer_ftw_cb,
    (const char *path, layer_ftw_fn fn_, int nfd), fn_, (path, fn, nfd))
LAYER_WALK_HOOK(ftw64, layer_ftw64_fn, layer_ftw64_cb,
    (const char *path, layer_ftw64_fn fn_, int nfd), fn_, (path, fn, nfd))

/*
 * glob: the pattern's directory part (up to the '/' before its first
 * wildcard, or all of it without one) goes through the layer, and the
 * new names in gl_pathv (glob allocates each; globfree frees each) get
 * the program's directory back. A pattern that is not absolute, or
 * whose result would not fit, passes as it is.
 */
#define LAYER_GLOB_HOOK(name, type)					\
int									\
name(const char *pat, int flags, int (*errf)(const char *, int),	\
    type *g)								\
{									\
	static __typeof__(name) *real;					\
	char dir[PATH_MAX], mapped[PATH_MAX], pbuf[PATH_MAX], back[PATH_MAX];\
	struct layer_walk w;						\
	size_t old, i, n, k;						\
	int rc;								\
									\
	LAYER_REAL(#name, real);					\
	old = (flags & GLOB_APPEND) ? g->gl_pathc : 0;			\
	if (pat == NULL || pat[0] != '/')				\
		return real(pat, flags, errf, g);			\
	k = strcspn(pat, (flags & GLOB_NOESCAPE) ? "*?[" : "*?[\\\\");	\
	n = k;			/* no wildcard: the whole pattern */	\
	while (pat[k] != '\0' && n > 0 && pat[n] != '/')		\
		n--;							\
	if (n >= sizeof(dir))						\
		return real(pat, flags, errf, g);			\
	memcpy(dir, pat, n);						\
	dir[n] = '\0';							\
	if ((rc = layer_walk_init(&w, NULL, n ? dir : "/", mapped)) < 0)\
		return errno == ENOENT ? GLOB_NOMATCH : GLOB_ABORTED;	\
	if (rc == 0)							\
		return real(pat, flags, errf, g);			\
	if ((size_t)snprintf(pbuf, sizeof(pbuf), "%.*s%s", (int)w.mlen,	\
	    w.mapped, pat + n) >= sizeof(pbuf))				\
		return real(pat, flags, errf, g);			\
	rc = real(pbuf, flags, errf, g);				\
	for (i = old; i < g->gl_pathc; i++) {				\
		char **pp = &g->gl_pathv[g->gl_offs + i], *c;		\
		const char *q = layer_walk_back(&w, *pp, back);		\
									\
		if (q != *pp && (c = strdup(q)) != NULL) {		\
			free(*pp);					\
			*pp = c;					\
		}							\
	}								\
	return rc;							\
}
LAYER_GLOB_HOOK(glob, glob_t)
LAYER_GLOB_HOOK(glob64, glob64_t)

/* posix_spawn and its file actions return an error number, not -1. */
static int
layer_spawn_path(const char **path, char *buf, int acc)
{
	int remote = 0, saved = errno, e;
	const char *p = layer_path(*path, acc, buf, &remote);

	if (p == NULL) {
		e = errno;
		errno = saved;
		return e;
	}
	*path = p;
	return 0;
}

/* posix_spawnp: a name without '/' is searched in PATH, local, as
 * execvp's. */
#define LAYER_SPAWN_HOOK(name)						\
int									\
name(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,\
    const posix_spawnattr_t *attr, char *const argv[], char *const envp[])\
{									\
	static __typeof__(name) *real;					\
	char buf[PATH_MAX];						\
	int e;								\
									\
	if (real == NULL &&						\
	    (real = (__typeof__(real))layer_real(#name)) == NULL)	\
		return ENOSYS;						\
	if ((e = layer_spawn_path(&path, buf, LAYER_READ)) != 0)	\
		return e;						\
	return real(pid, path, fa, attr, argv, envp);			\
}
LAYER_SPAWN_HOOK(posix_spawn)
LAYER_SPAWN_HOOK(posix_spawnp)

/* glibc copies the path now and opens it in the child, unhooked. */
int
posix_spawn_file_actions_addopen(posix_spawn_file_actions_t *fa, int fd,
    const char *path, int flags, mode_t mode)
{
	static __typeof__(posix_spawn_file_actions_addopen) *real;
	char buf[PATH_MAX];
	int e;

	if (real == NULL && (real = (__typeof__(real))layer_real(
	    "posix_spawn_file_actions_addopen")) == NULL)
		return ENOSYS;
	if ((e = layer_spawn_path(&path, buf, (flags & (O_WRONLY | O_RDWR |
	    O_CREAT | O_TRUNC)) ? LAYER_WRITE : LAYER_READ)) != 0)
		return e;
	return real(fa, fd, path, flags, mode);
}

/* execl's arguments into an array on the stack (as glibc's own: exec
 * must not allocate), up to the NULL; envp after it for execle. */
#define LAYER_EXECL_ARGS(arg, argv, envp, with_env) do {		\
	va_list ap;							\
	size_t n = 1, i;						\
									\
	va_start(ap, arg);						\
	while (va_arg(ap, char *) != NULL)				\
		n++;							\
	va_end(ap);							\
	argv = __builtin_alloca((n + 1) * sizeof(char *));		\
	argv[0] = (char *)(arg);					\
	va_start(ap, arg);						\
	for (i = 1; i <= n; i++)					\
		argv[i] = va_arg(ap, char *);				\
	if (with_env)							\
		envp = va_arg(ap, char **);				\
	va_end(ap);							\
} while (0)

int
execl(const char *path, const char *arg, ...)
{
	char **argv, **envp = environ;

	LAYER_EXECL_ARGS(arg, argv, envp, 0);
	return execve(path, argv, envp);
}

int
execle(const char *path, const char *arg, ...)
{
	char **argv, **envp = NULL;

	LAYER_EXECL_ARGS(arg, argv, envp, 1);
	return execve(path, argv, envp);
}

int
execlp(const char *file, const char *arg, ...)
{
	char **argv, **envp = environ;

	LAYER_EXECL_ARGS(arg, argv, envp, 0);
	return execvpe(file, argv, envp);
}
