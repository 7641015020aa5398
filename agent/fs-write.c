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
	struct proto_fs_strs s;
	struct proto_create_req r;
	struct proto_open_rep rep;
	char *path = s.path;
	uint32_t flags;
	int64_t fh = 0;
	int fd, rc, made = 1, tries;

	if (proto_dec_create_req(c, &s, &r) < 0)
		return -EBADMSG;
	flags = r.flags & (OPEN_FLAGS_PASSED | O_EXCL);
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
		    O_EXCL | O_NOFOLLOW, (mode_t)r.mode);
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
		rc = made ? give_new(fs, path, fd, r.uid, r.gid) : 0;
		if (rc == 0 && (rc = fs_stat_fd(fd, &rep.attr)) == 0 &&
		    (fh = fs_files_add(files, fd)) < 0)
			rc = (int)fh;
		if (rc < 0)
			close(fd);
	}
	reply_begin(out, h, rc < 0 ? rc : 0);
	if (rc >= 0) {
		rep.fh = (uint64_t)fh;
		proto_enc_open_rep(out, &rep);
	}
	return 0;
}

int
fs_serve_write(struct agent_files *files, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	struct proto_write_req r;
	size_t done = 0;
	ssize_t w;
	int fd, rc = 0;

	if (proto_dec_write_req(c, &r) < 0)
		return -EBADMSG;
	if (r.off > INT64_MAX || r.len > INT64_MAX - r.off)
		return reply_status(out, h, -EFBIG);
	if ((fd = fs_files_get(files, r.fh)) < 0)
		return reply_status(out, h, fd);
	while (done < r.len) {
		w = pwrite(fd, r.data + done, r.len - done,
		    (off_t)(r.off + done));
		if (w < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		done += (size_t)w;
	}
	fs_files_put(files, r.fh);
	/* All or the errno: the client may have answered the write already
	 * (write-behind), so a part done is still a failure to report. */
	reply_begin(out, h, rc);
	if (rc == 0)
		proto_enc_write_rep(out, (uint32_t)done);
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
	struct proto_fs_strs s;
	struct proto_setattr_req r;
	struct timespec ts[2];
	struct proto_attr a;
	int fd, rc;

	if (proto_dec_setattr_req(c, &s, &r) < 0)
		return -EBADMSG;
	ts[0].tv_sec = (time_t)r.atime_sec;
	ts[1].tv_sec = (time_t)r.mtime_sec;
	ts[0].tv_nsec = (r.set & SETATTR_ATIME_NOW) ? UTIME_NOW :
	    (r.set & SETATTR_ATIME) ? (long)r.atime_nsec : UTIME_OMIT;
	ts[1].tv_nsec = (r.set & SETATTR_MTIME_NOW) ? UTIME_NOW :
	    (r.set & SETATTR_MTIME) ? (long)r.mtime_nsec : UTIME_OMIT;

	if ((fd = fs_target_fd(fs, files, r.fh, r.path,
	    O_PATH | O_NOFOLLOW)) < 0)
		return reply_status(out, h, fd);
	rc = apply_setattr(fd, r.fh == 0, r.set, r.mode, r.uid, r.gid, r.size,
	    ts);
	if (rc == 0)
		rc = fs_stat_fd(fd, &a);
	fs_target_done(files, r.fh, fd);
	reply_begin(out, h, rc);
	if (rc == 0)
		proto_enc_attr_rep(out, &a);
	return 0;
}

int
fs_serve_fsync(struct agent_fs *fs, struct agent_files *files,
    const struct proto_hdr *h, struct proto_cur *c, struct proto_buf *out)
{
	struct proto_fs_strs s;
	struct proto_fsync_req r;
	int fd, rc = 0;

	if (proto_dec_fsync_req(c, &s, &r) < 0)
		return -EBADMSG;
	if ((fd = fs_target_fd(fs, files, r.fh, r.path,
	    O_RDONLY | O_DIRECTORY)) < 0)
		return reply_status(out, h, fd);
	if ((r.datasync ? fdatasync(fd) : fsync(fd)) < 0)
		rc = -errno;
	fs_target_done(files, r.fh, fd);
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
	struct proto_fs_strs s;
	struct proto_mknode_req r;
	uint32_t mode, uid, gid;
	uint64_t rdev;
	const char *name, *target;
	struct proto_attr a;
	int dirfd, rc, want_attr = 0, as_caller, aside = 0;

	if (h->op == OP_UNLINK || h->op == OP_RMDIR) {
		struct proto_path_req pr;

		if (proto_dec_path_req(c, &s, &pr) < 0)
			return -EBADMSG;
		memset(&r, 0, sizeof(r));
		r.path = pr.path;
		r.target = "";
	} else if (proto_dec_mknode_req(c, h->op, &s, &r) < 0)
		return -EBADMSG;
	mode = r.mode;
	rdev = r.rdev;
	uid = r.uid;
	gid = r.gid;
	target = r.target;
	if ((rc = confine_open_parent(fs, s.path, &name, &dirfd)) < 0)
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
		proto_enc_attr_rep(out, &a);
	return 0;
}

/* rename and link: two names. */
int
fs_serve_two_names(struct agent_fs *fs, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	struct proto_fs_strs s;
	struct proto_rename_req r;
	const char *fname, *tname;
	uint32_t flags;
	unsigned int rflags = 0;
	struct proto_attr a;
	int fdir = -1, tdir = -1, rc;

	if (proto_dec_rename_req(c, h->op, &s, &r) < 0)
		return -EBADMSG;
	flags = r.flags;
	if (flags & ~3u)
		return reply_status(out, h, -EINVAL);
	if (flags & 1)
		rflags |= RENAME_NOREPLACE;
	if (flags & 2)
		rflags |= RENAME_EXCHANGE;
	if ((rc = confine_open_parent(fs, s.path, &fname, &fdir)) < 0 ||
	    (rc = confine_open_parent(fs, s.path2, &tname, &tdir)) < 0)
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
		proto_enc_attr_rep(out, &a);
	return 0;
}

int
fs_serve_setxattr(struct agent_fs *fs, struct agent_files *files,
    const struct proto_hdr *h, struct proto_cur *c, struct proto_buf *out)
{
	struct proto_fs_strs s;
	struct proto_setxattr_req r;
	char procfd[64];
	int fd, rc;

	if (proto_dec_setxattr_req(c, h->op, &s, &r) < 0)
		return -EBADMSG;
	if ((fd = fs_target_fd(fs, files, r.fh, r.path,
	    O_PATH | O_NOFOLLOW)) < 0)
		return reply_status(out, h, fd);
	snprintf(procfd, sizeof(procfd), "/proc/self/fd/%d", fd);
	if (h->op == OP_SETXATTR)
		rc = setxattr(procfd, r.name, r.value, r.len,
		    (int)(r.flags & (XATTR_CREATE | XATTR_REPLACE)));
	else
		rc = removexattr(procfd, r.name);
	rc = rc < 0 ? -errno : 0;
	fs_target_done(files, r.fh, fd);
	reply_begin(out, h, rc);
	return 0;
}

int
fs_serve_fallocate(struct agent_files *files, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	struct proto_fallocate_req r;
	int fd, rc;

	if (proto_dec_fallocate_req(c, &r) < 0)
		return -EBADMSG;
	if (r.off > INT64_MAX || r.len > INT64_MAX)
		return reply_status(out, h, -EFBIG);
	if ((fd = fs_files_get(files, r.fh)) < 0)
		return reply_status(out, h, fd);
	rc = fallocate(fd, (int)r.mode, (off_t)r.off, (off_t)r.len) < 0 ?
	    -errno : 0;
	fs_files_put(files, r.fh);
	reply_begin(out, h, rc);
	return 0;
}

