/*
 * The layer's hooks: every libc entry point that takes a path, each
 * passing its path(s) through layer_path() (layer.c) and then calling
 * libc's own. Relative paths (and *at calls with one) pass unchanged;
 * so do file descriptors and everything else. A call that writes
 * (open for writing or creating, mkdir, unlink, rename, chmod, ...)
 * says so, for the EROFS of a read-only remote path. Calls that glibc
 * makes inside itself (scandir's opendir, execl's execve, nftw's stat)
 * go to its internal names, which no preload reaches: so each such entry
 * point is hooked itself, here for the plain ones (scandir, remove,
 * lchmod...), in hooks-inner.c where the answer carries paths (nftw,
 * glob) or the call takes argument lists (execl, posix_spawn).
 * fdopendir, fexecve and the *at calls with a descriptor take what a
 * hooked call opened already. dlopen is left alone: the loader's search
 * for libraries is the laptop's.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

#include "layer.h"

/* A hook that calls the libc function real, found by lookup ("name"),
 * with its one path argument, named path, passed through layer_path;
 * acc may read the other arguments. */
#define LAYER_HOOK_X(ret, fail, name, real, lookup, acc, params, args)	\
ret									\
name params								\
{									\
	static __typeof__(real) *real_;					\
	char buf_[PATH_MAX];						\
	const char *asked_ = path;					\
	int remote_ = 0;						\
	__typeof__(real_ args) r_;					\
									\
	if (real_ == NULL &&						\
	    (real_ = (__typeof__(real) *)lookup(#real)) == NULL) {	\
		errno = ENOSYS;						\
		return fail;						\
	}								\
	if ((path = layer_path(path, (acc), buf_, &remote_)) == NULL)	\
		return fail;						\
	if ((r_ = real_ args) == fail && remote_)			\
		layer_failed(asked_);					\
	return r_;							\
}
#define LAYER_HOOK(ret, fail, name, acc, params, args)			\
	LAYER_HOOK_X(ret, fail, name, name, layer_real, acc, params, args)

/* Two path arguments, from and to. */
#define LAYER_HOOK2(name, acc, params, args)				\
int									\
name params								\
{									\
	static __typeof__(name) *real_;					\
	char fbuf_[PATH_MAX], tbuf_[PATH_MAX];				\
	const char *asked_ = from;					\
	int fremote_ = 0, tremote_ = 0, r_;				\
									\
	if (real_ == NULL &&						\
	    (real_ = (__typeof__(name) *)layer_real(#name)) == NULL) {	\
		errno = ENOSYS;						\
		return -1;						\
	}								\
	if ((from = layer_path(from, (acc), fbuf_, &fremote_)) == NULL ||\
	    (to = layer_path(to, (acc), tbuf_, &tremote_)) == NULL)	\
		return -1;						\
	if ((r_ = real_ args) == -1 && (fremote_ || tremote_))		\
		layer_failed(asked_);					\
	return r_;							\
}

void *
layer_real(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

#define R	LAYER_READ
#define W	LAYER_WRITE

static enum layer_access
layer_open_access(int flags)
{
	return (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | __O_TMPFILE))
	    ? W : R;
}

/* fopen's mode: anything but "r" (with its modifiers) writes. */
static enum layer_access
layer_fopen_access(const char *mode)
{
	return mode != NULL && mode[0] == 'r' && strchr(mode, '+') == NULL ?
	    R : W;
}

/* The open family: a mode only with O_CREAT or O_TMPFILE. */
#define LAYER_MODE_ARG(flags, mode) do {					\
	va_list ap;							\
									\
	if ((flags) & (O_CREAT | __O_TMPFILE)) {			\
		va_start(ap, flags);					\
		mode = va_arg(ap, mode_t);				\
		va_end(ap);						\
	}								\
} while (0)
#define LAYER_HOOK_OPEN(name)						\
LAYER_HOOK_X(static int, -1, name##_mapped, name, layer_real,		\
    layer_open_access(flags), (const char *path, int flags, mode_t mode),\
    (path, flags, mode))						\
int									\
name(const char *path, int flags, ...)					\
{									\
	mode_t mode = 0;						\
									\
	LAYER_MODE_ARG(flags, mode);					\
	return name##_mapped(path, flags, mode);			\
}
#define LAYER_HOOK_OPENAT(name)						\
LAYER_HOOK_X(static int, -1, name##_mapped, name, layer_real,		\
    layer_open_access(flags),						\
    (int dirfd, const char *path, int flags, mode_t mode),		\
    (dirfd, path, flags, mode))						\
int									\
name(int dirfd, const char *path, int flags, ...)			\
{									\
	mode_t mode = 0;						\
									\
	LAYER_MODE_ARG(flags, mode);					\
	return name##_mapped(dirfd, path, flags, mode);			\
}

LAYER_HOOK_OPEN(open)
LAYER_HOOK_OPEN(open64)
LAYER_HOOK_OPENAT(openat)
LAYER_HOOK_OPENAT(openat64)

/* The fortified opens (_FORTIFY_SOURCE): no mode. */
int __open_2(const char *, int);
int __open64_2(const char *, int);
int __openat_2(int, const char *, int);
int __openat64_2(int, const char *, int);
LAYER_HOOK(int, -1, __open_2, layer_open_access(flags),
    (const char *path, int flags), (path, flags))
LAYER_HOOK(int, -1, __open64_2, layer_open_access(flags),
    (const char *path, int flags), (path, flags))
LAYER_HOOK(int, -1, __openat_2, layer_open_access(flags),
    (int dirfd, const char *path, int flags), (dirfd, path, flags))
LAYER_HOOK(int, -1, __openat64_2, layer_open_access(flags),
    (int dirfd, const char *path, int flags), (dirfd, path, flags))
LAYER_HOOK(int, -1, creat, W, (const char *path, mode_t mode), (path, mode))
LAYER_HOOK(int, -1, creat64, W, (const char *path, mode_t mode),
    (path, mode))

LAYER_HOOK(FILE *, NULL, fopen, layer_fopen_access(mode),
    (const char *path, const char *mode), (path, mode))
LAYER_HOOK(FILE *, NULL, fopen64, layer_fopen_access(mode),
    (const char *path, const char *mode), (path, mode))
/* freopen(NULL, ...) changes the mode of the same file: left alone. */
LAYER_HOOK(FILE *, NULL, freopen, layer_fopen_access(mode),
    (const char *path, const char *mode, FILE *f), (path, mode, f))
LAYER_HOOK(FILE *, NULL, freopen64, layer_fopen_access(mode),
    (const char *path, const char *mode, FILE *f), (path, mode, f))
LAYER_HOOK(DIR *, NULL, opendir, R, (const char *path), (path))
/* scandir opens the directory inside glibc; the names it returns are
 * names, no paths to map back. */
LAYER_HOOK(int, -1, scandir, R,
    (const char *path, struct dirent ***list,
    int (*filter)(const struct dirent *),
    int (*cmp)(const struct dirent **, const struct dirent **)),
    (path, list, filter, cmp))
LAYER_HOOK(int, -1, scandir64, R,
    (const char *path, struct dirent64 ***list,
    int (*filter)(const struct dirent64 *),
    int (*cmp)(const struct dirent64 **, const struct dirent64 **)),
    (path, list, filter, cmp))
LAYER_HOOK(int, -1, scandirat, R,
    (int dirfd, const char *path, struct dirent ***list,
    int (*filter)(const struct dirent *),
    int (*cmp)(const struct dirent **, const struct dirent **)),
    (dirfd, path, list, filter, cmp))
LAYER_HOOK(int, -1, scandirat64, R,
    (int dirfd, const char *path, struct dirent64 ***list,
    int (*filter)(const struct dirent64 *),
    int (*cmp)(const struct dirent64 **, const struct dirent64 **)),
    (dirfd, path, list, filter, cmp))
/* A handle names the file by its inode on its mount: the mount's. */
LAYER_HOOK(int, -1, name_to_handle_at, R,
    (int dirfd, const char *path, struct file_handle *h, int *mount_id,
    int flags), (dirfd, path, h, mount_id, flags))
LAYER_HOOK(long, -1, pathconf, R, (const char *path, int name), (path, name))
LAYER_HOOK(int, -1, inotify_add_watch, R,
    (int fd, const char *path, uint32_t mask), (fd, path, mask))

/* The stat family. */
LAYER_HOOK(int, -1, stat, R, (const char *path, struct stat *st), (path, st))
LAYER_HOOK(int, -1, lstat, R, (const char *path, struct stat *st), (path, st))
LAYER_HOOK(int, -1, stat64, R, (const char *path, struct stat64 *st),
    (path, st))
LAYER_HOOK(int, -1, lstat64, R, (const char *path, struct stat64 *st),
    (path, st))
LAYER_HOOK(int, -1, fstatat, R,
    (int dirfd, const char *path, struct stat *st, int flags),
    (dirfd, path, st, flags))
LAYER_HOOK(int, -1, fstatat64, R,
    (int dirfd, const char *path, struct stat64 *st, int flags),
    (dirfd, path, st, flags))
LAYER_HOOK(int, -1, statx, R,
    (int dirfd, const char *path, int flags, unsigned int mask,
    struct statx *st), (dirfd, path, flags, mask, st))
LAYER_HOOK(int, -1, statfs, R, (const char *path, struct statfs *st),
    (path, st))
LAYER_HOOK(int, -1, statfs64, R, (const char *path, struct statfs64 *st),
    (path, st))
LAYER_HOOK(int, -1, statvfs, R, (const char *path, struct statvfs *st),
    (path, st))
LAYER_HOOK(int, -1, statvfs64, R, (const char *path, struct statvfs64 *st),
    (path, st))

/* glibc before 2.33 had the stat family as these, and programs built
 * then still call them; newer glibc keeps them as old versions only,
 * which dlsym does not find: dlvsym with the versions they have. */
int __xstat(int, const char *, struct stat *);
int __lxstat(int, const char *, struct stat *);
int __xstat64(int, const char *, struct stat64 *);
int __lxstat64(int, const char *, struct stat64 *);
int __fxstatat(int, int, const char *, struct stat *, int);
int __fxstatat64(int, int, const char *, struct stat64 *, int);

static void *
layer_real_old(const char *name)
{
	static const char *const versions[] = {
		"GLIBC_2.2.5", "GLIBC_2.17", "GLIBC_2.0", "GLIBC_2.2",
	};
	void *f;
	size_t i;

	if ((f = dlsym(RTLD_NEXT, name)) != NULL)
		return f;
	for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		if ((f = dlvsym(RTLD_NEXT, name, versions[i])) != NULL)
			return f;
	return NULL;
}
#define LAYER_HOOK_OLD(ret, fail, name, acc, params, args)		\
	LAYER_HOOK_X(ret, fail, name, name, layer_real_old, acc, params, args)
LAYER_HOOK_OLD(int, -1, __xstat, R,
    (int ver, const char *path, struct stat *st), (ver, path, st))
LAYER_HOOK_OLD(int, -1, __lxstat, R,
    (int ver, const char *path, struct stat *st), (ver, path, st))
LAYER_HOOK_OLD(int, -1, __xstat64, R,
    (int ver, const char *path, struct stat64 *st), (ver, path, st))
LAYER_HOOK_OLD(int, -1, __lxstat64, R,
    (int ver, const char *path, struct stat64 *st), (ver, path, st))
LAYER_HOOK_OLD(int, -1, __fxstatat, R,
    (int ver, int dirfd, const char *path, struct stat *st, int flags),
    (ver, dirfd, path, st, flags))
LAYER_HOOK_OLD(int, -1, __fxstatat64, R,
    (int ver, int dirfd, const char *path, struct stat64 *st, int flags),
    (ver, dirfd, path, st, flags))
/* access(W_OK) asks about writing: a read-only path says EROFS. */
LAYER_HOOK(int, -1, access, (mode & W_OK) ? W : R,
    (const char *path, int mode), (path, mode))
LAYER_HOOK(int, -1, eaccess, (mode & W_OK) ? W : R,
    (const char *path, int mode), (path, mode))
LAYER_HOOK(int, -1, euidaccess, (mode & W_OK) ? W : R,
    (const char *path, int mode), (path, mode))
LAYER_HOOK(int, -1, faccessat, (mode & W_OK) ? W : R,
    (int dirfd, const char *path, int mode, int flags),
    (dirfd, path, mode, flags))

LAYER_HOOK(ssize_t, -1, readlink, R,
    (const char *path, char *buf, size_t sz), (path, buf, sz))
LAYER_HOOK(ssize_t, -1, readlinkat, R,
    (int dirfd, const char *path, char *buf, size_t sz),
    (dirfd, path, buf, sz))
LAYER_HOOK(int, -1, chdir, R, (const char *path), (path))

/* Directories and names. */
LAYER_HOOK(int, -1, mkdir, W, (const char *path, mode_t mode), (path, mode))
LAYER_HOOK(int, -1, mkdirat, W, (int dirfd, const char *path, mode_t mode),
    (dirfd, path, mode))
LAYER_HOOK(int, -1, rmdir, W, (const char *path), (path))
/* remove is unlink or rmdir inside glibc. */
LAYER_HOOK(int, -1, remove, W, (const char *path), (path))
LAYER_HOOK(int, -1, unlink, W, (const char *path), (path))
LAYER_HOOK(int, -1, unlinkat, W, (int dirfd, const char *path, int flags),
    (dirfd, path, flags))
LAYER_HOOK(int, -1, mknod, W, (const char *path, mode_t mode, dev_t dev),
    (path, mode, dev))
LAYER_HOOK(int, -1, mknodat, W,
    (int dirfd, const char *path, mode_t mode, dev_t dev),
    (dirfd, path, mode, dev))
LAYER_HOOK(int, -1, mkfifo, W, (const char *path, mode_t mode), (path, mode))
LAYER_HOOK(int, -1, mkfifoat, W, (int dirfd, const char *path, mode_t mode),
    (dirfd, path, mode))
/* A rename or link between a local and a remote path crosses mounts:
 * the kernel says EXDEV, as it should. */
LAYER_HOOK2(rename, W, (const char *from, const char *to), (from, to))
LAYER_HOOK2(renameat, W,
    (int fromfd, const char *from, int tofd, const char *to),
    (fromfd, from, tofd, to))
LAYER_HOOK2(renameat2, W,
    (int fromfd, const char *from, int tofd, const char *to,
    unsigned int flags), (fromfd, from, tofd, to, flags))
LAYER_HOOK2(link, W, (const char *from, const char *to), (from, to))
LAYER_HOOK2(linkat, W,
    (int fromfd, const char *from, int tofd, const char *to, int flags),
    (fromfd, from, tofd, to, flags))
/* A symlink's target is its content, not a path opened now. */
LAYER_HOOK(int, -1, symlink, W, (const char *target, const char *path),
    (target, path))
LAYER_HOOK(int, -1, symlinkat, W,
    (const char *target, int dirfd, const char *path),
    (target, dirfd, path))

/* Attributes. */
LAYER_HOOK(int, -1, truncate, W, (const char *path, off_t len), (path, len))
LAYER_HOOK(int, -1, truncate64, W, (const char *path, off64_t len),
    (path, len))
LAYER_HOOK(int, -1, chmod, W, (const char *path, mode_t mode), (path, mode))
/* lchmod is fchmodat inside glibc. */
LAYER_HOOK(int, -1, lchmod, W, (const char *path, mode_t mode), (path, mode))
LAYER_HOOK(int, -1, fchmodat, W,
    (int dirfd, const char *path, mode_t mode, int flags),
    (dirfd, path, mode, flags))
LAYER_HOOK(int, -1, chown, W, (const char *path, uid_t uid, gid_t gid),
    (path, uid, gid))
LAYER_HOOK(int, -1, lchown, W, (const char *path, uid_t uid, gid_t gid),
    (path, uid, gid))
LAYER_HOOK(int, -1, fchownat, W,
    (int dirfd, const char *path, uid_t uid, gid_t gid, int flags),
    (dirfd, path, uid, gid, flags))
LAYER_HOOK(int, -1, utime, W, (const char *path, const struct utimbuf *t),
    (path, t))
LAYER_HOOK(int, -1, utimes, W, (const char *path, const struct timeval t[2]),
    (path, t))
LAYER_HOOK(int, -1, lutimes, W,
    (const char *path, const struct timeval t[2]), (path, t))
LAYER_HOOK(int, -1, futimesat, W,
    (int dirfd, const char *path, const struct timeval t[2]),
    (dirfd, path, t))
/* utimensat(fd, NULL, ...) sets the times of fd itself. */
LAYER_HOOK(int, -1, utimensat, W,
    (int dirfd, const char *path, const struct timespec t[2], int flags),
    (dirfd, path, t, flags))
LAYER_HOOK(ssize_t, -1, getxattr, R,
    (const char *path, const char *name, void *v, size_t sz),
    (path, name, v, sz))
LAYER_HOOK(ssize_t, -1, lgetxattr, R,
    (const char *path, const char *name, void *v, size_t sz),
    (path, name, v, sz))
LAYER_HOOK(ssize_t, -1, listxattr, R, (const char *path, char *l, size_t sz),
    (path, l, sz))
LAYER_HOOK(ssize_t, -1, llistxattr, R, (const char *path, char *l, size_t sz),
    (path, l, sz))
LAYER_HOOK(int, -1, setxattr, W,
    (const char *path, const char *name, const void *v, size_t sz, int fl),
    (path, name, v, sz, fl))
LAYER_HOOK(int, -1, lsetxattr, W,
    (const char *path, const char *name, const void *v, size_t sz, int fl),
    (path, name, v, sz, fl))
LAYER_HOOK(int, -1, removexattr, W, (const char *path, const char *name),
    (path, name))
LAYER_HOOK(int, -1, lremovexattr, W, (const char *path, const char *name),
    (path, name))

/* Programs: the file run is mapped; its arguments are the program's. */
LAYER_HOOK(int, -1, execve, R,
    (const char *path, char *const argv[], char *const envp[]),
    (path, argv, envp))
LAYER_HOOK(int, -1, execv, R, (const char *path, char *const argv[]),
    (path, argv))
/* A name without '/' is searched in PATH: local, as a relative path. */
LAYER_HOOK(int, -1, execvp, R, (const char *path, char *const argv[]),
    (path, argv))
LAYER_HOOK(int, -1, execvpe, R,
    (const char *path, char *const argv[], char *const envp[]),
    (path, argv, envp))
LAYER_HOOK(int, -1, execveat, R,
    (int dirfd, const char *path, char *const argv[], char *const envp[],
    int flags), (dirfd, path, argv, envp, flags))

/* realpath: the answer for a remote path is the target's path, not
 * where its mount happens to be. */
static char *
layer_unroot(char *p)
{
	const char *root = layer_root();
	size_t n = strlen(root);

	if (p == NULL || n == 0 || strncmp(p, root, n) != 0 ||
	    (p[n] != '/' && p[n] != '\0'))
		return p;
	if (p[n] == '\0')
		strcpy(p, "/");
	else
		memmove(p, p + n, strlen(p + n) + 1);
	return p;
}

LAYER_HOOK_X(static char *, NULL, realpath_mapped, realpath, layer_real, R,
    (const char *path, char *out), (path, out))
char *
realpath(const char *path, char *out)
{
	return layer_unroot(realpath_mapped(path, out));
}

char *__realpath_chk(const char *, char *, size_t);
LAYER_HOOK_X(static char *, NULL, __realpath_chk_mapped, __realpath_chk,
    layer_real, R,
    (const char *path, char *out, size_t sz), (path, out, sz))
char *
__realpath_chk(const char *path, char *out, size_t sz)
{
	return layer_unroot(__realpath_chk_mapped(path, out, sz));
}

LAYER_HOOK_X(static char *, NULL, canonicalize_file_name_mapped,
    canonicalize_file_name, layer_real, R,
    (const char *path), (path))
char *
canonicalize_file_name(const char *path)
{
	return layer_unroot(canonicalize_file_name_mapped(path));
}

/* After chdir into a remote directory the working directory is under
 * the mount: the program is told the target's path, which the layer
 * maps back when the program uses it. */
char *
getcwd(char *buf, size_t sz)
{
	static __typeof__(getcwd) *real_;

	if (real_ == NULL &&
	    (real_ = (__typeof__(getcwd) *)layer_real("getcwd")) == NULL) {
		errno = ENOSYS;
		return NULL;
	}
	return layer_unroot(real_(buf, sz));
}
