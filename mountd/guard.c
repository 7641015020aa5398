/*
 * The caller check in front of every FUSE operation of mountd. The uid is
 * the one the kernel puts in each request (the caller's fsuid). The
 * kernel's default_permissions checks file modes for the callers let
 * through; this decides who may be a caller at all.
 *
 * What the kernel answers from its own caches (names and attributes
 * within fs.entry_timeout and fs.attr_timeout of an allowed caller's
 * request) never reaches mountd; file contents and listings always do
 * (open, opendir and readlink are sent every time).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "guard.h"
#include "log.h"

/* Set before the session starts, read-only after. */
static uid_t allowed[GUARD_USERS_MAX + 2];
static size_t nallowed;
static const struct fuse_lowlevel_ops *inner;
static struct fuse_lowlevel_ops guarded;

/* Refused uids already logged (one line per uid, not per request). */
#define REFUSED_LOGGED_MAX	64
static pthread_mutex_t refused_mtx = PTHREAD_MUTEX_INITIALIZER;
static uid_t refused_logged[REFUSED_LOGGED_MAX];	/* refused_mtx */
static size_t nrefused_logged;				/* refused_mtx */

void
guard_init(uid_t owner)
{
	nallowed = 0;
	allowed[nallowed++] = 0;
	if (owner != 0)
		allowed[nallowed++] = owner;
}

int
guard_allow_user(const char *user)
{
	struct passwd *pw;
	uid_t uid;

	if (user == NULL || user[0] == '\0')
		return -EINVAL;
	if ((pw = getpwnam(user)) != NULL)
		uid = pw->pw_uid;
	else if (user[0] >= '0' && user[0] <= '9') {
		if (conf_parse_uid(user, &uid) < 0)
			return -EINVAL;
	} else
		return -ENOENT;
	if (guard_uid_allowed(uid))
		return 0;
	if (nallowed >= sizeof(allowed) / sizeof(allowed[0]))
		return -ENOSPC;
	allowed[nallowed++] = uid;
	return 0;
}

int
guard_uid_allowed(uid_t uid)
{
	size_t i;

	for (i = 0; i < nallowed; i++)
		if (allowed[i] == uid)
			return 1;
	return 0;
}

/* Answers EACCES (and returns 1) unless the caller is served. */
static int
refused(fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	size_t i;
	int logged = 0;

	if (guard_uid_allowed(ctx->uid))
		return 0;
	pthread_mutex_lock(&refused_mtx);
	for (i = 0; i < nrefused_logged; i++)
		if (refused_logged[i] == ctx->uid)
			logged = 1;
	if (!logged && nrefused_logged < REFUSED_LOGGED_MAX)
		refused_logged[nrefused_logged++] = ctx->uid;
	else
		logged = 1;
	pthread_mutex_unlock(&refused_mtx);
	if (!logged)
		log_warnx("refused uid %u (pid %d): the mount serves root, "
		    "its owner and fs.allow_users", (unsigned)ctx->uid,
		    (int)ctx->pid);
	fuse_reply_err(req, EACCES);
	return 1;
}

/* One wrapper per operation: check, then the real handler. */
#define GUARDED(op, params, args)					\
static void								\
guard_##op params							\
{									\
	if (!refused(req))						\
		inner->op args;						\
}

GUARDED(lookup, (fuse_req_t req, fuse_ino_t parent, const char *name),
    (req, parent, name))
GUARDED(getattr, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi),
    (req, ino, fi))
GUARDED(setattr, (fuse_req_t req, fuse_ino_t ino, struct stat *attr,
    int to_set, struct fuse_file_info *fi), (req, ino, attr, to_set, fi))
GUARDED(readlink, (fuse_req_t req, fuse_ino_t ino), (req, ino))
GUARDED(mknod, (fuse_req_t req, fuse_ino_t parent, const char *name,
    mode_t mode, dev_t rdev), (req, parent, name, mode, rdev))
GUARDED(mkdir, (fuse_req_t req, fuse_ino_t parent, const char *name,
    mode_t mode), (req, parent, name, mode))
GUARDED(unlink, (fuse_req_t req, fuse_ino_t parent, const char *name),
    (req, parent, name))
GUARDED(rmdir, (fuse_req_t req, fuse_ino_t parent, const char *name),
    (req, parent, name))
GUARDED(symlink, (fuse_req_t req, const char *link, fuse_ino_t parent,
    const char *name), (req, link, parent, name))
GUARDED(rename, (fuse_req_t req, fuse_ino_t parent, const char *name,
    fuse_ino_t newparent, const char *newname, unsigned int flags),
    (req, parent, name, newparent, newname, flags))
GUARDED(link, (fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
    const char *newname), (req, ino, newparent, newname))
GUARDED(open, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi),
    (req, ino, fi))
GUARDED(read, (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi), (req, ino, size, off, fi))
GUARDED(write, (fuse_req_t req, fuse_ino_t ino, const char *buf,
    size_t size, off_t off, struct fuse_file_info *fi),
    (req, ino, buf, size, off, fi))
GUARDED(fsync, (fuse_req_t req, fuse_ino_t ino, int datasync,
    struct fuse_file_info *fi), (req, ino, datasync, fi))
GUARDED(opendir, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi),
    (req, ino, fi))
GUARDED(readdir, (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi), (req, ino, size, off, fi))
GUARDED(readdirplus, (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi), (req, ino, size, off, fi))
GUARDED(fsyncdir, (fuse_req_t req, fuse_ino_t ino, int datasync,
    struct fuse_file_info *fi), (req, ino, datasync, fi))
GUARDED(statfs, (fuse_req_t req, fuse_ino_t ino), (req, ino))
GUARDED(setxattr, (fuse_req_t req, fuse_ino_t ino, const char *name,
    const char *value, size_t size, int flags),
    (req, ino, name, value, size, flags))
GUARDED(getxattr, (fuse_req_t req, fuse_ino_t ino, const char *name,
    size_t size), (req, ino, name, size))
GUARDED(listxattr, (fuse_req_t req, fuse_ino_t ino, size_t size),
    (req, ino, size))
GUARDED(removexattr, (fuse_req_t req, fuse_ino_t ino, const char *name),
    (req, ino, name))
GUARDED(access, (fuse_req_t req, fuse_ino_t ino, int mask), (req, ino, mask))
GUARDED(create, (fuse_req_t req, fuse_ino_t parent, const char *name,
    mode_t mode, struct fuse_file_info *fi), (req, parent, name, mode, fi))
GUARDED(getlk, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
    struct flock *lock), (req, ino, fi, lock))
GUARDED(setlk, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
    struct flock *lock, int sleep), (req, ino, fi, lock, sleep))
GUARDED(flock, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
    int op), (req, ino, fi, op))
GUARDED(fallocate, (fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
    off_t length, struct fuse_file_info *fi),
    (req, ino, mode, offset, length, fi))
GUARDED(lseek, (fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
    struct fuse_file_info *fi), (req, ino, off, whence, fi))

#define GUARD(op) do {							\
	if (inner->op != NULL)						\
		guarded.op = guard_##op;				\
} while (0)

/* The table seen as its slots, to find an operation left unguarded. */
typedef void (*op_slot)(void);
#define OP_SLOTS	(sizeof(struct fuse_lowlevel_ops) / sizeof(op_slot))
_Static_assert(sizeof(struct fuse_lowlevel_ops) % sizeof(op_slot) == 0,
    "struct fuse_lowlevel_ops holds only function pointers");

const struct fuse_lowlevel_ops *
guard_table(const struct fuse_lowlevel_ops *in)
{
	struct fuse_lowlevel_ops exempt;
	op_slot a[OP_SLOTS], g[OP_SLOTS], e[OP_SLOTS];
	size_t i;

	inner = in;
	guarded = *in;
	GUARD(lookup); GUARD(getattr); GUARD(setattr); GUARD(readlink);
	GUARD(mknod); GUARD(mkdir); GUARD(unlink); GUARD(rmdir);
	GUARD(symlink); GUARD(rename); GUARD(link); GUARD(open);
	GUARD(read); GUARD(write); GUARD(fsync); GUARD(opendir);
	GUARD(readdir); GUARD(readdirplus); GUARD(fsyncdir); GUARD(statfs);
	GUARD(setxattr); GUARD(getxattr); GUARD(listxattr);
	GUARD(removexattr); GUARD(access); GUARD(create); GUARD(getlk);
	GUARD(setlk); GUARD(flock); GUARD(fallocate); GUARD(lseek);

	/* What may pass unchecked: set-up, and giving back what an allowed
	 * caller was given (a refused forget would leak the node). */
	memset(&exempt, 0, sizeof(exempt));
	exempt.init = in->init;
	exempt.destroy = in->destroy;
	exempt.forget = in->forget;
	exempt.forget_multi = in->forget_multi;
	exempt.release = in->release;
	exempt.releasedir = in->releasedir;
	exempt.flush = in->flush;
	memcpy(a, in, sizeof(a));
	memcpy(g, &guarded, sizeof(g));
	memcpy(e, &exempt, sizeof(e));
	for (i = 0; i < OP_SLOTS; i++)
		if (a[i] != NULL && g[i] == a[i] && e[i] != a[i])
			fatalx("FUSE operation %zu has no caller check "
			    "(list it in mountd/guard.c)", i);
	return &guarded;
}
