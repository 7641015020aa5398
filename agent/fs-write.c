/*
 * The agent's file service, the writing requests (only a --rw agent
 * serves them): create, write, setattr, fsync, mknod, mkdir, symlink,
 * unlink, rmdir, rename, link, setxattr, removexattr, fallocate. Every
 * new name is made in its parent, opened with openat2 under the root
 * (confine_open_parent); the name itself is one component
 * (proto_name_ok), and the *at() calls below never follow a symlink in
 * it. A new node is given to the caller as it is made: under the
 * caller's fsuid, or, for an agent that cannot take it, made aside in a
 * 0700 directory of its own (make_aside) and renamed into place.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/fsuid.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "fs-int.h"

/*
 * A new object belongs to the caller, as it would on a local disk: the
 * caller's uid, and its gid unless the directory is set-group-ID (then
 * the kernel gave it the directory's group already). The agent made it
 * as itself; only root can give it away, and a non-root agent's objects
 * stay its own. fd is the object (an open handle, never a name: see
 * creds_as_caller() for the nodes made without one).
 */
static int
give_new_at(int dirfd, int fd, uint32_t uid, uint32_t gid)
{
	struct stat dst, st;

	if (geteuid() != 0)
		return 0;
	if (fstat(dirfd, &dst) < 0)
		return -errno;
	if (dst.st_mode & S_ISGID)
		gid = (uint32_t)-1;		/* inherited */
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uid_t)uid == st.st_uid && (gid == (uint32_t)-1 ||
	    (gid_t)gid == st.st_gid))
		return 0;
	if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

/*
 * For an agent that may chown but not take another fsuid (an id not
 * mapped in its user namespace, or an agent started without CAP_SETUID):
 * the node is made in a directory of the agent's own, mode 0700, that
 * nobody but root can enter, given to the caller there through a handle,
 * and only then renamed under its name (never replacing one). A pod
 * that swaps names in the parent meanwhile never has a file of its own
 * where the chown lands: checking a node made under its final name and
 * chowning it could not tell the agent's node from a hard link the pod
 * put there and thinned back to one name.
 */
#define ASIDE_NODE	"n"

static int
make_aside(int dirfd, const char *name, const struct proto_hdr *h,
    mode_t mode, dev_t rdev, const char *target, uint32_t uid, uint32_t gid)
{
	static _Atomic unsigned aside_seq;
	char tmp[64];
	struct stat st;
	int tfd = -1, nfd = -1, rc, tries;

	for (tries = 0; ; tries++) {
		snprintf(tmp, sizeof(tmp), ".mirror-new.%d.%u", (int)getpid(),
		    aside_seq++);
		if (mkdirat(dirfd, tmp, 0700) == 0)
			break;
		if (errno != EEXIST || tries == 8)
			return -errno;
	}
	/* Checked: a directory of the agent's that only it can enter, even
	 * if the pod put another under the name since. Nobody else can
	 * change what is inside it. */
	tfd = openat(dirfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (tfd < 0) {
		rc = -errno;
		goto out;
	}
	if (fstat(tfd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 0077)) {
		rc = -EAGAIN;
		goto out;
	}
	if (h->op == OP_MKNOD)
		rc = mknodat(tfd, ASIDE_NODE, mode, rdev);
	else if (h->op == OP_MKDIR)
		rc = mkdirat(tfd, ASIDE_NODE, mode & 07777);
	else
		rc = symlinkat(target, tfd, ASIDE_NODE);
	if (rc < 0) {
		rc = -errno;
		goto out;
	}
	nfd = openat(tfd, ASIDE_NODE, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (nfd < 0)
		rc = -errno;
	else
		rc = give_new_at(dirfd, nfd, uid, gid);
	if (rc == 0 && renameat2(tfd, ASIDE_NODE, dirfd, name,
	    RENAME_NOREPLACE) < 0)
		rc = -errno;
	if (rc < 0)
		(void)unlinkat(tfd, ASIDE_NODE, h->op == OP_MKDIR ?
		    AT_REMOVEDIR : 0);
out:
	if (nfd >= 0)
		close(nfd);
	if (tfd >= 0)
		close(tfd);
	/* By name: at worst an empty directory the pod put there goes. */
	(void)unlinkat(dirfd, tmp, AT_REMOVEDIR);
	return rc;
}

static int
give_new(struct agent_fs *fs, char *path, int fd, uint32_t uid, uint32_t gid)
{
	const char *name;
	int dirfd, rc;

	if (geteuid() != 0 || (uid == 0 && gid == 0))
		return 0;
	if ((rc = confine_open_parent(fs, path, &name, &dirfd)) < 0)
		return rc;
	rc = give_new_at(dirfd, fd, uid, gid);
	close(dirfd);
	return rc;
}

int
fs_serve_create(struct agent_fs *fs, struct agent_files *files,
    const struct proto_hdr *h, struct proto_cur *c, struct proto_buf *out)
{
	char path[PROTO_PATH_MAX + 1];
	uint32_t flags, mode, uid, gid;
	struct proto_attr a;
	int64_t fh = 0;
	int fd, rc, made = 1, tries;

	if (get_path(c, path, sizeof(path)) < 0 ||
	    proto_get_u32(c, &flags) < 0 || proto_get_u32(c, &mode) < 0 ||
	    proto_get_u32(c, &uid) < 0 || proto_get_u32(c, &gid) < 0 ||
	    proto_end(c) < 0)
		return -EBADMSG;
	flags &= OPEN_FLAGS_PASSED | O_EXCL;
	/*
	 * Exclusive first, to know whether this call made the file (and
	 * so may give it to the caller); O_EXCL never opens what is there.
	 * What is there is opened only if it is a regular file: the pod
	 * may have put a fifo under the name since the client looked.
	 * A name that comes and goes meanwhile is tried again, a few times.
	 */
	for (tries = 0; tries < 4; tries++) {
		made = 1;
		fd = confine_open_mode(fs, path, (int)flags | O_CREAT |
		    O_EXCL | O_NOFOLLOW, (mode_t)mode);
		if (fd != -EEXIST || (flags & O_EXCL))
			break;
		made = 0;
		fd = confine_open_checked(fs, path,
		    (int)flags | O_NOFOLLOW, CONFINE_OPEN_REG);
		if (fd != -ENOENT)
			break;
	}
	if ((rc = fd) >= 0) {
		/* An existing file too gets its handle and attributes. */
		rc = made ? give_new(fs, path, fd, uid, gid) : 0;
		if (rc == 0 && (rc = fs_stat_fd(fd, &a)) == 0 &&
		    (fh = fs_files_add(files, fd)) < 0)
			rc = (int)fh;
		if (rc < 0)
			close(fd);
	}
	reply_begin(out, h, rc < 0 ? rc : 0);
	if (rc >= 0) {
		proto_put_u64(out, (uint64_t)fh);
		proto_put_attr(out, &a);
	}
	return 0;
}

int
fs_serve_write(struct agent_files *files, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	uint64_t fh, off;
	const uint8_t *data;
	uint32_t n;
	size_t done = 0;
	ssize_t w;
	int fd, rc = 0;

	if (proto_get_u64(c, &fh) < 0 || proto_get_u64(c, &off) < 0 ||
	    proto_get_bytes(c, &data, &n, PROTO_WRITE_MAX) < 0 ||
	    proto_end(c) < 0)
		return -EBADMSG;
	if (off > INT64_MAX || n > INT64_MAX - off)
		return reply_status(out, h, -EFBIG);
	if ((fd = fs_files_get(files, fh)) < 0)
		return reply_status(out, h, fd);
	while (done < n) {
		w = pwrite(fd, data + done, n - done, (off_t)(off + done));
		if (w < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		done += (size_t)w;
	}
	fs_files_put(files, fh);
	/* All or the errno: the client may have answered the write already
	 * (write-behind), so a part done is still a failure to report. */
	reply_begin(out, h, rc);
	if (rc == 0)
		proto_put_u32(out, (uint32_t)done);
	return 0;
}

static int
apply_setattr(int fd, int is_path, uint32_t set, uint32_t mode, uint32_t uid,
    uint32_t gid, uint64_t size, const struct timespec ts[2])
{
	char procfd[64];
	struct stat st;

	snprintf(procfd, sizeof(procfd), "/proc/self/fd/%d", fd);
	if (set & SETATTR_MODE) {
		if ((is_path ? chmod(procfd, (mode_t)(mode & 07777)) :
		    fchmod(fd, (mode_t)(mode & 07777))) < 0)
			return -errno;
	}
	if (set & (SETATTR_UID | SETATTR_GID)) {
		if (fchownat(fd, "", (set & SETATTR_UID) ? uid : (uid_t)-1,
		    (set & SETATTR_GID) ? gid : (gid_t)-1,
		    AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
	}
	if (set & SETATTR_SIZE) {
		if (size > INT64_MAX)
			return -EFBIG;
		if (is_path) {
			if (fstat(fd, &st) < 0)
				return -errno;
			if (S_ISDIR(st.st_mode))
				return -EISDIR;
			if (!S_ISREG(st.st_mode))
				return -EINVAL;
		}
		if ((is_path ? truncate(procfd, (off_t)size) :
		    ftruncate(fd, (off_t)size)) < 0)
			return -errno;
	}
	if (set & (SETATTR_ATIME | SETATTR_MTIME | SETATTR_ATIME_NOW |
	    SETATTR_MTIME_NOW)) {
		if ((is_path ? utimensat(fd, "", ts, AT_EMPTY_PATH) :
		    futimens(fd, ts)) < 0)
			return -errno;
	}
	return 0;
}

int
fs_serve_setattr(struct agent_fs *fs, struct agent_files *files,
    const struct proto_hdr *h, struct proto_cur *c, struct proto_buf *out)
{
	char path[PROTO_PATH_MAX + 1];
	uint64_t fh, size, t;
	uint32_t set, mode, uid, gid, ansec, mnsec;
	struct timespec ts[2];
	struct proto_attr a;
	int fd, rc;

	if (get_path(c, path, sizeof(path)) < 0 ||
	    proto_get_u64(c, &fh) < 0 || proto_get_u32(c, &set) < 0 ||
	    proto_get_u32(c, &mode) < 0 || proto_get_u32(c, &uid) < 0 ||
	    proto_get_u32(c, &gid) < 0 || proto_get_u64(c, &size) < 0)
		return -EBADMSG;
	if (proto_get_u64(c, &t) < 0 || proto_get_u32(c, &ansec) < 0)
		return -EBADMSG;
	ts[0].tv_sec = (time_t)(int64_t)t;
	if (proto_get_u64(c, &t) < 0 || proto_get_u32(c, &mnsec) < 0 ||
	    proto_end(c) < 0 || ansec >= 1000000000u || mnsec >= 1000000000u)
		return -EBADMSG;
	ts[1].tv_sec = (time_t)(int64_t)t;
	ts[0].tv_nsec = (set & SETATTR_ATIME_NOW) ? UTIME_NOW :
	    (set & SETATTR_ATIME) ? (long)ansec : UTIME_OMIT;
	ts[1].tv_nsec = (set & SETATTR_MTIME_NOW) ? UTIME_NOW :
	    (set & SETATTR_MTIME) ? (long)mnsec : UTIME_OMIT;

	if ((fd = fs_target_fd(fs, files, fh, path, O_PATH | O_NOFOLLOW)) < 0)
		return reply_status(out, h, fd);
	rc = apply_setattr(fd, fh == 0, set, mode, uid, gid, size, ts);
	if (rc == 0)
		rc = fs_stat_fd(fd, &a);
	fs_target_done(files, fh, fd);
	reply_begin(out, h, rc);
	if (rc == 0)
		proto_put_attr(out, &a);
	return 0;
}

int
fs_serve_fsync(struct agent_fs *fs, struct agent_files *files,
    const struct proto_hdr *h, struct proto_cur *c, struct proto_buf *out)
{
	char path[PROTO_PATH_MAX + 1];
	uint64_t fh;
	uint8_t datasync;
	int fd, rc = 0;

	if (proto_get_u64(c, &fh) < 0 || proto_get_u8(c, &datasync) < 0 ||
	    get_path(c, path, sizeof(path)) < 0 || proto_end(c) < 0)
		return -EBADMSG;
	if ((fd = fs_target_fd(fs, files, fh, path,
	    O_RDONLY | O_DIRECTORY)) < 0)
		return reply_status(out, h, fd);
	if ((datasync ? fdatasync(fd) : fsync(fd)) < 0)
		rc = -errno;
	fs_target_done(files, fh, fd);
	reply_begin(out, h, rc);
	return 0;
}

/*
 * Makes this thread create files as uid:gid (fsuid and fsgid are per
 * thread), so a new node belongs to the caller from the start and is
 * never chowned by name afterwards, where a pod could have put another
 * file (a hard link, a symlink) under the name meanwhile. Creating is
 * then checked as the caller, as the client's kernel checked it with
 * default_permissions. 0, or -EINVAL if the id cannot be taken (no
 * CAP_SETUID, or an id not mapped in the agent's namespace): then
 * make_aside() does it. Undone with creds_restore().
 */
static int
creds_as_caller(uint32_t uid, uint32_t gid)
{
	(void)setfsgid((gid_t)gid);
	(void)setfsuid((uid_t)uid);
	if ((uid_t)setfsuid((uid_t)-1) != (uid_t)uid ||
	    (gid_t)setfsgid((gid_t)-1) != (gid_t)gid)
		return -EINVAL;
	return 0;
}

static void
creds_restore(void)
{
	(void)setfsuid(geteuid());
	(void)setfsgid(getegid());
}

/* mknod, mkdir, symlink, unlink, rmdir: one name in one directory. */
int
fs_serve_name_op(struct agent_fs *fs, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	char path[PROTO_PATH_MAX + 1], target[PROTO_PATH_MAX + 1];
	uint32_t mode = 0, uid = 0, gid = 0;
	uint64_t rdev = 0;
	const char *name;
	struct proto_attr a;
	int dirfd, rc, want_attr = 0, as_caller, aside = 0;

	if (get_path(c, path, sizeof(path)) < 0)
		return -EBADMSG;
	if (h->op == OP_MKNOD && (proto_get_u32(c, &mode) < 0 ||
	    proto_get_u64(c, &rdev) < 0))
		return -EBADMSG;
	if (h->op == OP_MKDIR && proto_get_u32(c, &mode) < 0)
		return -EBADMSG;
	if (h->op == OP_SYMLINK && (proto_get_str(c, target,
	    sizeof(target)) < 0 || target[0] == '\0'))
		return -EBADMSG;
	if ((h->op == OP_MKNOD || h->op == OP_MKDIR || h->op == OP_SYMLINK) &&
	    (proto_get_u32(c, &uid) < 0 || proto_get_u32(c, &gid) < 0))
		return -EBADMSG;
	if (proto_end(c) < 0)
		return -EBADMSG;
	if ((rc = confine_open_parent(fs, path, &name, &dirfd)) < 0)
		return reply_status(out, h, rc);
	as_caller = (h->op == OP_MKNOD || h->op == OP_MKDIR ||
	    h->op == OP_SYMLINK) && geteuid() == 0 && (uid != 0 || gid != 0);
	if (as_caller && creds_as_caller(uid, gid) < 0) {
		creds_restore();
		as_caller = 0;
		aside = 1;
	}
	if (aside) {
		rc = make_aside(dirfd, name, h, (mode_t)mode, (dev_t)rdev,
		    target, uid, gid);
		want_attr = 1;
		goto made;
	}
	switch (h->op) {
	case OP_MKNOD:
		rc = mknodat(dirfd, name, (mode_t)mode, (dev_t)rdev);
		want_attr = 1;
		break;
	case OP_MKDIR:
		rc = mkdirat(dirfd, name, (mode_t)(mode & 07777));
		want_attr = 1;
		break;
	case OP_SYMLINK:
		/* Stored as given: the target's own semantics. READLINK
		 * confines it when the client follows it. */
		rc = symlinkat(target, dirfd, name);
		want_attr = 1;
		break;
	case OP_UNLINK:
		rc = unlinkat(dirfd, name, 0);
		break;
	default:
		rc = unlinkat(dirfd, name, AT_REMOVEDIR);
		break;
	}
	rc = rc < 0 ? -errno : 0;
	if (as_caller)
		creds_restore();
made:
	if (rc == 0 && want_attr)
		rc = fs_stat_child(dirfd, name, &a);
	close(dirfd);
	reply_begin(out, h, rc);
	if (rc == 0 && want_attr)
		proto_put_attr(out, &a);
	return 0;
}

/* rename and link: two names. */
int
fs_serve_two_names(struct agent_fs *fs, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	char from[PROTO_PATH_MAX + 1], to[PROTO_PATH_MAX + 1];
	const char *fname, *tname;
	uint32_t flags = 0;
	unsigned int rflags = 0;
	struct proto_attr a;
	int fdir = -1, tdir = -1, rc;

	if (get_path(c, from, sizeof(from)) < 0 ||
	    get_path(c, to, sizeof(to)) < 0 ||
	    (h->op == OP_RENAME && proto_get_u32(c, &flags) < 0) ||
	    proto_end(c) < 0)
		return -EBADMSG;
	if (flags & ~3u)
		return reply_status(out, h, -EINVAL);
	if (flags & 1)
		rflags |= RENAME_NOREPLACE;
	if (flags & 2)
		rflags |= RENAME_EXCHANGE;
	if ((rc = confine_open_parent(fs, from, &fname, &fdir)) < 0 ||
	    (rc = confine_open_parent(fs, to, &tname, &tdir)) < 0)
		goto out;
	if (h->op == OP_RENAME)
		rc = renameat2(fdir, fname, tdir, tname, rflags) < 0 ?
		    -errno : 0;
	else {
		rc = linkat(fdir, fname, tdir, tname, 0) < 0 ? -errno : 0;
		if (rc == 0)
			rc = fs_stat_child(tdir, tname, &a);
	}
out:
	if (fdir >= 0)
		close(fdir);
	if (tdir >= 0)
		close(tdir);
	reply_begin(out, h, rc);
	if (rc == 0 && h->op == OP_LINK)
		proto_put_attr(out, &a);
	return 0;
}

int
fs_serve_setxattr(struct agent_fs *fs, struct agent_files *files,
    const struct proto_hdr *h, struct proto_cur *c, struct proto_buf *out)
{
	char path[PROTO_PATH_MAX + 1], name[PROTO_NAME_MAX + 1], procfd[64];
	const uint8_t *value = NULL;
	uint32_t n = 0, flags = 0;
	uint64_t fh;
	int fd, rc;

	if (get_path(c, path, sizeof(path)) < 0 || proto_get_u64(c, &fh) < 0 ||
	    proto_get_str(c, name, sizeof(name)) < 0 || name[0] == '\0')
		return -EBADMSG;
	if (h->op == OP_SETXATTR && (proto_get_bytes(c, &value, &n,
	    PROTO_XATTR_MAX) < 0 || proto_get_u32(c, &flags) < 0))
		return -EBADMSG;
	if (proto_end(c) < 0)
		return -EBADMSG;
	if ((fd = fs_target_fd(fs, files, fh, path, O_PATH | O_NOFOLLOW)) < 0)
		return reply_status(out, h, fd);
	snprintf(procfd, sizeof(procfd), "/proc/self/fd/%d", fd);
	if (h->op == OP_SETXATTR)
		rc = setxattr(procfd, name, value, n,
		    (int)(flags & (XATTR_CREATE | XATTR_REPLACE)));
	else
		rc = removexattr(procfd, name);
	rc = rc < 0 ? -errno : 0;
	fs_target_done(files, fh, fd);
	reply_begin(out, h, rc);
	return 0;
}

int
fs_serve_fallocate(struct agent_files *files, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	uint64_t fh, off, len;
	uint32_t mode;
	int fd, rc;

	if (proto_get_u64(c, &fh) < 0 || proto_get_u32(c, &mode) < 0 ||
	    proto_get_u64(c, &off) < 0 || proto_get_u64(c, &len) < 0 ||
	    proto_end(c) < 0)
		return -EBADMSG;
	if (off > INT64_MAX || len > INT64_MAX)
		return reply_status(out, h, -EFBIG);
	if ((fd = fs_files_get(files, fh)) < 0)
		return reply_status(out, h, fd);
	rc = fallocate(fd, (int)mode, (off_t)off, (off_t)len) < 0 ? -errno : 0;
	fs_files_put(files, fh);
	reply_begin(out, h, rc);
	return 0;
}

