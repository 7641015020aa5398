/*
 * Who may use a mount. A root mountd mounts with allow_other, so that the
 * user who asked for the mount (not root) can reach it; that would open it
 * to every local user. Every request of the kernel is checked here against
 * the users the mount serves: root, its owner, and fs.allow_users.
 * Everyone else gets EACCES.
 */
#ifndef MIRROR_MOUNTD_GUARD_H
#define MIRROR_MOUNTD_GUARD_H

#include <sys/types.h>

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#define GUARD_USERS_MAX	64

/* Serve root and owner only (call before the session starts). */
void	guard_init(uid_t owner);
/* Serve this user too: a user name, or a numeric uid. 0, -ENOENT (no
 * such user), -EINVAL (not a name) or -ENOSPC (too many). */
int	guard_allow_user(const char *user);
/* 1 if uid is served. */
int	guard_uid_allowed(uid_t uid);
/* The table to give fuse_session_new(): inner's operations, each behind
 * the check. Only operations that release what an allowed caller got
 * (forget, release, releasedir, flush) and init/destroy go unchecked.
 * Aborts if inner has an operation the guard does not know (a new
 * handler must be listed here before it can be served). */
const struct fuse_lowlevel_ops *guard_table(
	    const struct fuse_lowlevel_ops *inner);

#endif
