/*
 * The agent's file service: the request dispatch (agent_fs_serve, which
 * refuses the writing requests on a read-only agent), the table of a
 * connection's open files, and the attribute helpers the handlers
 * share. The handlers live by concern in fs-read.c, fs-write.c and
 * fs-lock.c; every path is resolved under the root by confine.c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fs-int.h"
#include "xmalloc.h"


void
agent_files_init(struct agent_files *f)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->mtx, NULL);
}

void
agent_files_close_all(struct agent_files *f)
{
	unsigned int i;

	pthread_mutex_lock(&f->mtx);
	for (i = 0; i < f->nslots; i++)
		if (f->slots[i].refs > 0 && f->slots[i].fd >= 0)
			close(f->slots[i].fd);
	while (f->locks != NULL) {
		struct agent_lock *l = f->locks;

		f->locks = l->next;
		close(l->fd);
		x_free(l);
	}
	x_free(f->slots);
	f->slots = NULL;
	f->nslots = f->nopen = 0;
	pthread_mutex_unlock(&f->mtx);
	pthread_mutex_destroy(&f->mtx);
}

/* Stores fd; returns the handle (slot + 1) or -EMFILE. */
int64_t
fs_files_add(struct agent_files *f, int fd)
{
	unsigned int i;

	pthread_mutex_lock(&f->mtx);
	for (i = 0; i < f->nslots; i++)
		if (f->slots[i].refs == 0)
			break;
	if (i == f->nslots) {
		unsigned int n = f->nslots ? f->nslots * 2 : 16;

		if (f->nslots >= AGENT_FILES_MAX) {
			pthread_mutex_unlock(&f->mtx);
			return -EMFILE;
		}
		f->slots = xrealloc(f->slots, n * sizeof(*f->slots));
		memset(f->slots + f->nslots, 0,
		    (n - f->nslots) * sizeof(*f->slots));
		f->nslots = n;
	}
	f->slots[i].fd = fd;
	f->slots[i].refs = 1;
	f->nopen++;
	pthread_mutex_unlock(&f->mtx);
	return (int64_t)i + 1;
}

/* Takes a reference on a handle; -EBADF if it is not open. */
int
fs_files_get(struct agent_files *f, uint64_t fh)
{
	int fd = -EBADF;

	pthread_mutex_lock(&f->mtx);
	if (fh >= 1 && fh <= f->nslots && f->slots[fh - 1].refs > 0) {
		f->slots[fh - 1].refs++;
		fd = f->slots[fh - 1].fd;
	}
	pthread_mutex_unlock(&f->mtx);
	return fd;
}

/* Drops a reference; the last one closes the fd. */
void
fs_files_put(struct agent_files *f, uint64_t fh)
{
	int fd = -1;

	pthread_mutex_lock(&f->mtx);
	if (--f->slots[fh - 1].refs == 0) {
		fd = f->slots[fh - 1].fd;
		f->slots[fh - 1].fd = -1;
		f->nopen--;
	}
	pthread_mutex_unlock(&f->mtx);
	if (fd >= 0)
		close(fd);
}

/* Release: drops the "open" reference once. */
int
fs_files_release(struct agent_files *f, uint64_t fh)
{
	int fd = fs_files_get(f, fh);

	if (fd < 0)
		return fd;
	pthread_mutex_lock(&f->mtx);
	f->slots[fh - 1].refs--;	/* the open reference */
	pthread_mutex_unlock(&f->mtx);
	fs_files_put(f, fh);	/* ours; closes when no reader holds it */
	return 0;
}

/* ATTR_NO_XATTR when the entry at procpath (a name inside a directory
 * reached through /proc/self/fd) has no xattrs at all. */
static uint32_t
xattr_flags(const char *procpath)
{
	return llistxattr(procpath, NULL, 0) == 0 ? ATTR_NO_XATTR : 0;
}

/* Same for an fd: listxattr (not l-) so the /proc magic link leads to
 * the object the fd names, which is never followed further. */
static uint32_t
xattr_flags_fd(int fd)
{
	char procfd[64];

	snprintf(procfd, sizeof(procfd), "/proc/self/fd/%d", fd);
	return listxattr(procfd, NULL, 0) == 0 ? ATTR_NO_XATTR : 0;
}

int
fs_stat_fd(int fd, struct proto_attr *a)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	proto_attr_from_stat(a, &st);
	a->flags = xattr_flags_fd(fd);
	return 0;
}

int
fs_stat_child(int dirfd, const char *name, struct proto_attr *a)
{
	char entpath[64 + NAME_MAX + 1];
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	proto_attr_from_stat(a, &st);
	snprintf(entpath, sizeof(entpath), "/proc/self/fd/%d/%s", dirfd, name);
	a->flags = xattr_flags(entpath);
	return 0;
}

#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT	0x00002000
#endif

int
fs_mount_root(int dirfd, const char *name)
{
	struct statx stx;
	int flags = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT;

	if (name[0] == '\0')
		flags |= AT_EMPTY_PATH;
	if (statx(dirfd, name, flags, 0, &stx) < 0)
		return 1;		/* not known: as if it were */
	if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
		return 0;		/* a kernel before 5.8 */
	return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
}

int
fs_stat_path(struct agent_fs *fs, const char *path, struct proto_attr *a)
{
	int fd, rc = 0;

	if ((fd = agent_fs_open_in_root(fs, path, O_PATH | O_NOFOLLOW)) < 0)
		return fd;
	rc = fs_stat_fd(fd, a);
	close(fd);
	return rc;
}

/* The file a request names: by an open handle (fh != 0), or by path
 * under the root. Give it back with fs_target_done(). */
int
fs_target_fd(struct agent_fs *fs, struct agent_files *files, uint64_t fh,
    const char *path, int flags)
{
	return fh != 0 ? fs_files_get(files, fh) :
	    agent_fs_open_in_root(fs, path, flags);
}

void
fs_target_done(struct agent_files *files, uint64_t fh, int fd)
{
	if (fh != 0)
		fs_files_put(files, fh);
	else
		close(fd);
}


static int
is_write_op(unsigned int op)
{
	switch (op) {
	case OP_CREATE: case OP_WRITE: case OP_SETATTR: case OP_MKNOD:
	case OP_MKDIR: case OP_UNLINK: case OP_RMDIR: case OP_SYMLINK:
	case OP_RENAME: case OP_LINK: case OP_SETXATTR: case OP_REMOVEXATTR:
	case OP_FALLOCATE:
		return 1;
	default:
		return 0;
	}
}

int
agent_fs_serve(struct agent_fs *fs, struct agent_files *files,
    const struct proto_hdr *h, struct proto_cur *c, struct proto_buf *out)
{
	if (is_write_op(h->op) && !fs->writable) {
		/* Read-only agent: the request is answered, not served. */
		reply_begin(out, h, -EROFS);
		return 0;
	}
	switch (h->op) {
	case OP_LOOKUP:
	case OP_GETATTR:
		return fs_serve_getattr(fs, h, c, out);
	case OP_CREATE:
		return fs_serve_create(fs, files, h, c, out);
	case OP_WRITE:
		return fs_serve_write(files, h, c, out);
	case OP_SETATTR:
		return fs_serve_setattr(fs, files, h, c, out);
	case OP_FSYNC:
		return fs_serve_fsync(fs, files, h, c, out);
	case OP_MKNOD:
	case OP_MKDIR:
	case OP_SYMLINK:
	case OP_UNLINK:
	case OP_RMDIR:
		return fs_serve_name_op(fs, h, c, out);
	case OP_RENAME:
	case OP_LINK:
		return fs_serve_two_names(fs, h, c, out);
	case OP_SETXATTR:
	case OP_REMOVEXATTR:
		return fs_serve_setxattr(fs, files, h, c, out);
	case OP_FALLOCATE:
		return fs_serve_fallocate(files, h, c, out);
	case OP_FGETATTR:
		return fs_serve_fgetattr(files, h, c, out);
	case OP_LOCK:
		return fs_serve_lock(files, h, c, out);
	case OP_FLOCK:
		return fs_serve_flock(files, h, c, out);
	case OP_FLUSH:
		return fs_serve_flush(files, h, c, out);
	case OP_READDIR:
		return fs_serve_readdir(fs, h, c, out);
	case OP_OPEN:
		return fs_serve_open(fs, files, h, c, out);
	case OP_READ:
		return fs_serve_read(files, h, c, out);
	case OP_RELEASE:
		return fs_serve_release(files, h, c, out);
	case OP_READLINK:
		return fs_serve_readlink(fs, h, c, out);
	case OP_STATFS:
		return fs_serve_statfs(fs, h, c, out);
	case OP_GETXATTR:
	case OP_LISTXATTR:
	case OP_FGETXATTR:
	case OP_FLISTXATTR:
		return fs_serve_xattr(fs, files, h, c, out);
	default:
		return -EBADMSG;
	}
}
