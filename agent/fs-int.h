/*
 * Declarations shared by the agent's file service files (fs.c, the
 * dispatch and file table; fs-read.c; fs-write.c; fs-lock.c), not part
 * of its API in fs.h. Every handler decodes its request from c with its
 * lib/proto-fs.h decoder, answers into out (reply_begin, then the
 * reply's encoder) and returns 0, or
 * -EBADMSG when the payload does not decode (the caller drops the
 * connection).
 */
#ifndef MIRROR_AGENT_FS_INT_H
#define MIRROR_AGENT_FS_INT_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>

#include "fs.h"
#include "proto.h"
#include "proto-fs.h"

/* Open flags a client may ask for; the rest are the client kernel's. */
#define OPEN_FLAGS_PASSED	(O_ACCMODE | O_APPEND | O_TRUNC | O_SYNC | \
				 O_DSYNC)

static inline void
reply_begin(struct proto_buf *out, const struct proto_hdr *h, int rc)
{
	proto_begin(out, MSG_REPLY, h->op, h->id, rc < 0 ? (uint32_t)-rc : 0);
}

/* A reply with status rc and no fields; returns 0, a handler's "served"
 * (return reply_status(out, h, -EINVAL) for a refused request). */
static inline int
reply_status(struct proto_buf *out, const struct proto_hdr *h, int rc)
{
	reply_begin(out, h, rc);
	return 0;
}

/* The open file table (fs.c). files_add stores fd and returns its
 * handle (slot + 1) or -EMFILE; files_get takes a reference on a handle
 * (-EBADF if it is not open) and files_put drops it, the last one
 * closing the fd; files_release drops the "open" reference once. */
int64_t	fs_files_add(struct agent_files *, int fd);
int	fs_files_get(struct agent_files *, uint64_t fh);
void	fs_files_put(struct agent_files *, uint64_t fh);
int	fs_files_release(struct agent_files *, uint64_t fh);

/* Attributes of an fd, of a name in a directory (not followed), of a
 * path under the root (not followed). 0 or -errno. */
int	fs_stat_fd(int fd, struct proto_attr *);
int	fs_stat_child(int dirfd, const char *name, struct proto_attr *);
int	fs_stat_path(struct agent_fs *, const char *path, struct proto_attr *);
/* 1 if name in dirfd ("": dirfd itself) is the root of a mount (a
 * volume, a file bound over another): changes to it reach no watch of
 * the directory it is in. */
int	fs_mount_root(int dirfd, const char *name);

/* The file a request names: by an open handle (fh != 0), or by path
 * under the root. Give it back with fs_target_done(). */
int	fs_target_fd(struct agent_fs *, struct agent_files *, uint64_t fh,
	    const char *path, int flags);
void	fs_target_done(struct agent_files *, uint64_t fh, int fd);

/* fs-read.c */
int	fs_serve_getattr(struct agent_fs *, const struct proto_hdr *,
	    struct proto_cur *, struct proto_buf *);
int	fs_serve_readdir(struct agent_fs *, const struct proto_hdr *,
	    struct proto_cur *, struct proto_buf *);
int	fs_serve_open(struct agent_fs *, struct agent_files *,
	    const struct proto_hdr *, struct proto_cur *, struct proto_buf *);
int	fs_serve_read(struct agent_files *, const struct proto_hdr *,
	    struct proto_cur *, struct proto_buf *);
int	fs_serve_release(struct agent_files *, const struct proto_hdr *,
	    struct proto_cur *, struct proto_buf *);
int	fs_serve_readlink(struct agent_fs *, const struct proto_hdr *,
	    struct proto_cur *, struct proto_buf *);
int	fs_serve_statfs(struct agent_fs *, const struct proto_hdr *,
	    struct proto_cur *, struct proto_buf *);
int	fs_serve_xattr(struct agent_fs *, struct agent_files *,
	    const struct proto_hdr *, struct proto_cur *, struct proto_buf *);
int	fs_serve_fgetattr(struct agent_files *, const struct proto_hdr *,
	    struct proto_cur *, struct proto_buf *);

/* fs-write.c */
int	fs_serve_create(struct agent_fs *, struct agent_files *,
	    const struct proto_hdr *, struct proto_cur *, struct proto_buf *);
int	fs_serve_write(struct agent_files *, const struct proto_hdr *,
	    struct proto_cur *, struct proto_buf *);
int	fs_serve_setattr(struct agent_fs *, struct agent_files *,
	    const struct proto_hdr *, struct proto_cur *, struct proto_buf *);
int	fs_serve_fsync(struct agent_fs *, struct agent_files *,
	    const struct proto_hdr *, struct proto_cur *, struct proto_buf *);
/* mknod, mkdir, symlink, unlink, rmdir */
int	fs_serve_name_op(struct agent_fs *, const struct proto_hdr *,
	    struct proto_cur *, struct proto_buf *);
/* rename, link */
int	fs_serve_two_names(struct agent_fs *, const struct proto_hdr *,
	    struct proto_cur *, struct proto_buf *);
/* setxattr, removexattr */
int	fs_serve_setxattr(struct agent_fs *, struct agent_files *,
	    const struct proto_hdr *, struct proto_cur *, struct proto_buf *);
int	fs_serve_fallocate(struct agent_files *, const struct proto_hdr *,
	    struct proto_cur *, struct proto_buf *);

/* fs-lock.c */
int	fs_serve_lock(struct agent_files *, const struct proto_hdr *,
	    struct proto_cur *, struct proto_buf *);
int	fs_serve_flock(struct agent_files *, const struct proto_hdr *,
	    struct proto_cur *, struct proto_buf *);
int	fs_serve_flush(struct agent_files *, const struct proto_hdr *,
	    struct proto_cur *, struct proto_buf *);

#endif
