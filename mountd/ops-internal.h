/*
 * What the files of mountd's FUSE operations share, private to them:
 * the request in flight (struct call), an open file's handle, the
 * configuration, the helpers that start an agent request, and every
 * handler, for the table in ops.c. The handlers are in
 *   ops-meta.c   lookup, attributes, links, listings, statfs, xattrs read
 *   ops-read.c   open, read, release
 *   ops-write.c  create, write, setattr, fsync, flush, names made and
 *                removed, rename, xattrs set, fallocate
 *   ops-lock.c   POSIX locks and flock, and their waits
 */
#ifndef MIRROR_MOUNTD_OPS_INTERNAL_H
#define MIRROR_MOUNTD_OPS_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "ops.h"
#include "proto.h"
#include "proto-fs.h"

extern struct ops_config ops_cfg;	/* set once, before the session */

/* Open flags the agent is told about; the rest are this kernel's. */
#define OPEN_FLAGS_SENT	(O_ACCMODE | O_APPEND | O_TRUNC | O_SYNC | O_DSYNC | \
			 O_EXCL)

struct retry;				/* ops-lock.c */
struct dirh;				/* ops-meta.c */

/* One request in flight: what the callback needs to answer the kernel. */
struct call {
	fuse_req_t	 req;
	uint64_t	 ino;
	char		*path;
	char		*path2;		/* rename's new name */
	uint64_t	 ino2;		/* rename's new parent */
	uint64_t	 off;		/* a write's offset */
	unsigned int	 flags;		/* rename flags, lock command */
	uint16_t	 op;
	struct retry	*retry;
	size_t		 size;
	struct dirh	*dir;
	uint64_t	 seq;		/* inval_seq() when it was made */
	struct call	*next_wait;	/* waiting for a listing (dirlist.h) */
	struct fuse_file_info fi;
};

/* An open file (fi->fh). */
struct fileh {
	uint64_t	 agent_fh;
	uint64_t	 epoch;
	_Atomic uint64_t written;	/* bytes through this handle */
};

struct call *ops_call_new(fuse_req_t req, uint64_t ino);
void	 ops_call_free(struct call *c);

/* A request's header in b: unordered, or keyed with the node (the
 * agent serves the requests about one node in the order sent). */
void	 ops_request(struct proto_buf *b, uint16_t op);
void	 ops_request_keyed(struct proto_buf *b, uint16_t op, uint64_t ino);
/* The order key of a node. */
uint32_t ops_node_key(uint64_t ino);

/*
 * Start a request (its header in b; the caller encodes the payload with
 * its lib/proto-fs.h encoder); each replies to the kernel itself and
 * returns NULL when it cannot. node_call: on the node's own path, in
 * c->path (ESTALE if none), keyed with the node only while changes made
 * behind are outstanding on it (cache_behind). fh_call: on an agent handle, keyed with the
 * node. child_call: on parent/name, in c->path (ENAMETOOLONG, ENOENT),
 * the request unkeyed. child_path: only the path parent/name, checked
 * as child_call does; caller frees.
 */
struct call *ops_node_call(fuse_req_t req, fuse_ino_t ino,
	    struct proto_buf *b, uint16_t op);
struct call *ops_fh_call(fuse_req_t req, fuse_ino_t ino, struct proto_buf *b,
	    uint16_t op);
struct call *ops_child_call(fuse_req_t req, fuse_ino_t parent,
	    const char *name, struct proto_buf *b, uint16_t op);
char	*ops_child_path(fuse_req_t req, fuse_ino_t parent, const char *name);

/* 1 (and EROFS replied) on a read-only mount. */
int	 ops_refuse_ro(fuse_req_t req);
/* The agent handle of an open file, or 0 after a reconnect (the agent
 * closed it). _or_eio: 0 after replying EIO. */
uint64_t ops_file_fh(const struct fuse_file_info *fi);
uint64_t ops_file_fh_or_eio(fuse_req_t req, const struct fuse_file_info *fi);
/* A handle the agent opened on ino, for c->fi; abandon: the kernel
 * did not take it (the agent's is closed, fh freed). */
struct fileh *ops_fileh_new(struct call *c, uint64_t ino, uint64_t afh);
void	 ops_fileh_abandon(uint64_t ino, struct fileh *fh);
/* err, or -EIO unless the reply is an open's: a handle, attributes. */
int	 ops_reply_opened(int err, struct proto_cur *p, uint64_t *afh,
	    struct proto_attr *a);

/* err, or -EIO if the reply has more than its end (or, attr, than its
 * attributes). */
int	 ops_reply_end(int err, struct proto_cur *p);
int	 ops_reply_attr(int err, struct proto_cur *p, struct proto_attr *a);
/* The caller's ids: what it makes is its own. */
void	 ops_owner(fuse_req_t req, uint32_t *uid, uint32_t *gid);
void	 ops_fill_entry(struct fuse_entry_param *e, uint64_t nodeid,
	    const struct proto_attr *a);
/* How long the kernel may keep what a reply said of a name: long
 * (fs.watched_timeout) if the agent watches its directory (ATTR_WATCHED)
 * and no change event came since the request (seq, inval_seq() when it
 * was sent); else dflt. */
double	 ops_timeout(const struct proto_attr *a, uint64_t seq, double dflt);
/* The same for "no such name" in the directory node parent. */
double	 ops_negative_timeout(uint64_t parent, uint64_t seq);
/* Lines about bad answers from the agent: 1 if one may be logged now. */
int	 ops_bad_reply_log_ok(void);

/* Callbacks more than one file uses. */
void	 ops_status_done(void *arg, int err, struct proto_cur *p);
void	 ops_entry_done(void *arg, int err, struct proto_cur *p);
void	 ops_getattr_done(void *arg, int err, struct proto_cur *p);
void	 ops_release_done(void *arg, int err, struct proto_cur *p);

/* The handlers (struct fuse_lowlevel_ops). ops-meta.c: */
void	 ops_lookup(fuse_req_t, fuse_ino_t, const char *);
void	 ops_forget(fuse_req_t, fuse_ino_t, uint64_t);
void	 ops_forget_multi(fuse_req_t, size_t, struct fuse_forget_data *);
void	 ops_getattr(fuse_req_t, fuse_ino_t, struct fuse_file_info *);
void	 ops_readlink(fuse_req_t, fuse_ino_t);
void	 ops_opendir(fuse_req_t, fuse_ino_t, struct fuse_file_info *);
void	 ops_readdir(fuse_req_t, fuse_ino_t, size_t, off_t,
	    struct fuse_file_info *);
void	 ops_readdirplus(fuse_req_t, fuse_ino_t, size_t, off_t,
	    struct fuse_file_info *);
void	 ops_releasedir(fuse_req_t, fuse_ino_t, struct fuse_file_info *);
void	 ops_statfs(fuse_req_t, fuse_ino_t);
void	 ops_getxattr(fuse_req_t, fuse_ino_t, const char *, size_t);
void	 ops_listxattr(fuse_req_t, fuse_ino_t, size_t);
/* ops-read.c: */
void	 ops_open(fuse_req_t, fuse_ino_t, struct fuse_file_info *);
void	 ops_read(fuse_req_t, fuse_ino_t, size_t, off_t,
	    struct fuse_file_info *);
void	 ops_release(fuse_req_t, fuse_ino_t, struct fuse_file_info *);
/* ops-write.c: */
void	 ops_create(fuse_req_t, fuse_ino_t, const char *, mode_t,
	    struct fuse_file_info *);
void	 ops_write(fuse_req_t, fuse_ino_t, const char *, size_t, off_t,
	    struct fuse_file_info *);
void	 ops_setattr(fuse_req_t, fuse_ino_t, struct stat *, int,
	    struct fuse_file_info *);
void	 ops_fsync(fuse_req_t, fuse_ino_t, int, struct fuse_file_info *);
void	 ops_fsyncdir(fuse_req_t, fuse_ino_t, int, struct fuse_file_info *);
void	 ops_flush(fuse_req_t, fuse_ino_t, struct fuse_file_info *);
void	 ops_mknod(fuse_req_t, fuse_ino_t, const char *, mode_t, dev_t);
void	 ops_mkdir(fuse_req_t, fuse_ino_t, const char *, mode_t);
void	 ops_symlink(fuse_req_t, const char *, fuse_ino_t, const char *);
void	 ops_unlink(fuse_req_t, fuse_ino_t, const char *);
void	 ops_rmdir(fuse_req_t, fuse_ino_t, const char *);
void	 ops_rename(fuse_req_t, fuse_ino_t, const char *, fuse_ino_t,
	    const char *, unsigned int);
void	 ops_link(fuse_req_t, fuse_ino_t, fuse_ino_t, const char *);
void	 ops_setxattr(fuse_req_t, fuse_ino_t, const char *, const char *,
	    size_t, int);
void	 ops_removexattr(fuse_req_t, fuse_ino_t, const char *);
void	 ops_fallocate(fuse_req_t, fuse_ino_t, int, off_t, off_t,
	    struct fuse_file_info *);
/* ops-lock.c: */
void	 ops_getlk(fuse_req_t, fuse_ino_t, struct fuse_file_info *,
	    struct flock *);
void	 ops_setlk(fuse_req_t, fuse_ino_t, struct fuse_file_info *,
	    struct flock *, int);
void	 ops_flock(fuse_req_t, fuse_ino_t, struct fuse_file_info *, int);

#endif
