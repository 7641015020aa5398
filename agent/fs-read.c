/*
 * The agent's file service, the reading requests: lookup and getattr,
 * readdir, open (which the read-only agent serves too), read, release,
 * readlink (its answer confined by agent_fs_confine_link), statfs and
 * the xattr reads. Paths are resolved through confine.c.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fs-int.h"

#define READDIR_REPLY_MAX	(1024 * 1024)

int
fs_serve_getattr(struct agent_fs *fs, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	struct proto_fs_strs s;
	struct proto_path_req r;
	struct proto_attr a;
	uint64_t dev = 0;
	int rc, watched, fd;

	if (proto_dec_path_req(c, &s, &r) < 0)
		return -EBADMSG;
	/* Watched before the stat: a change after it is reported. */
	watched = fs_watch_parent(fs->watch, r.path, &dev);
	if ((fd = agent_fs_open_in_root(fs, r.path, O_PATH | O_NOFOLLOW)) < 0)
		rc = fd;
	else
		rc = fs_stat_fd(fd, &a);
	reply_begin(out, h, rc);
	if (rc == 0) {
		/* Not a mount point (a volume, /proc, a file bound over
		 * /etc/resolv.conf): changes there reach no watch here. */
		if (watched && (strcmp(r.path, "/") == 0 ||
		    (a.dev == dev && !fs_mount_root(fd, ""))))
			a.flags |= ATTR_WATCHED;
		proto_enc_attr_rep(out, &a);
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

int
fs_serve_readdir(struct agent_fs *fs, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	struct proto_fs_strs s;
	struct proto_readdir_req r;
	struct proto_readdir_enc enc;
	uint64_t next;
	uint32_t max;
	struct dirent *de;
	struct proto_attr a;
	DIR *d = NULL;
	uint64_t dev = 0;
	int fd, rc = 0, eof = 1, watched;

	if (proto_dec_readdir_req(c, &s, &r) < 0)
		return -EBADMSG;
	watched = fs_watch_dir(fs->watch, r.path, &dev);
	max = r.max;
	if (max > READDIR_REPLY_MAX)
		max = READDIR_REPLY_MAX;
	if (max < 512)
		max = 512;
	fd = agent_fs_open_in_root(fs, r.path,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	if ((d = fdopendir(fd)) == NULL) {
		rc = -errno;
		close(fd);
		goto out;
	}
	if (r.cookie != 0)
		seekdir(d, (long)r.cookie);
	reply_begin(out, h, 0);
	proto_enc_readdir_rep_begin(out, &enc);
	next = r.cookie;
	for (;;) {
		long pos = telldir(d);

		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0)
				rc = -errno;
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		/* A name from getdents has no '/', so this cannot leave
		 * the directory we resolved in the root. */
		if (fs_stat_child(dirfd(d), de->d_name, &a) < 0)
			continue;	/* removed meanwhile */
		if (watched && a.dev == dev &&	/* not a mount point */
		    !fs_mount_root(dirfd(d), de->d_name))
			a.flags |= ATTR_WATCHED;
		if (proto_enc_readdir_rep_add(out, &enc, de->d_name, &a,
		    max) < 0) {
			eof = 0;
			next = (uint64_t)pos;
			break;
		}
	}
	if (rc < 0)
		goto out;
	proto_enc_readdir_rep_finish(out, &enc, (uint8_t)eof, next);
out:
	if (d)
		closedir(d);
	if (rc < 0)
		reply_begin(out, h, rc);
	return 0;
}

/* File systems whose files' sizes do not tell what a read returns. */
static int
synthetic_fs(unsigned long type)
{
	switch (type) {
	case 0x9fa0:		/* proc */
	case 0x62656572:	/* sysfs */
	case 0x64626720:	/* debugfs */
	case 0x74726163:	/* tracefs */
	case 0x73636673:	/* securityfs */
	case 0x27e0eb:		/* cgroup */
	case 0x63677270:	/* cgroup2 */
	case 0xcafe4a11:	/* bpf */
	case 0x6165676c:	/* pstore */
	case 0xde5e81e4:	/* efivarfs */
	case 0x42494e4d:	/* binfmt_misc */
	case 0x6e736673:	/* nsfs */
		return 1;
	default:
		return 0;
	}
}

int
fs_serve_open(struct agent_fs *fs, struct agent_files *files,
    const struct proto_hdr *h, struct proto_cur *c, struct proto_buf *out)
{
	struct proto_fs_strs s;
	struct proto_open_req r;
	uint32_t flags;
	struct stat st;
	struct statfs sfs;
	struct proto_open_rep rep;
	int64_t fh = 0;
	int fd, rc = 0;

	if (proto_dec_open_req(c, &s, &r) < 0)
		return -EBADMSG;
	flags = r.flags & OPEN_FLAGS_PASSED;
	if (!fs->writable && ((flags & O_ACCMODE) != O_RDONLY ||
	    (flags & (O_TRUNC | O_APPEND)))) {
		rc = -EROFS;
		goto out;
	}
	/* Never a fifo or a device: those are the local kernel's. */
	fd = confine_open_checked(fs, r.path, (int)flags | O_NOFOLLOW,
	    CONFINE_OPEN_REG | CONFINE_OPEN_DIR);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		goto out;
	}
	proto_attr_from_stat(&rep.attr, &st);
	rep.attr.flags = flistxattr(fd, NULL, 0) == 0 ? ATTR_NO_XATTR : 0;
	if (fstatfs(fd, &sfs) == 0 && synthetic_fs((unsigned long)sfs.f_type))
		rep.attr.flags |= ATTR_SYNTHETIC;
	if ((fh = fs_files_add(files, fd)) < 0) {
		rc = (int)fh;
		close(fd);
	}
out:
	reply_begin(out, h, rc);
	if (rc == 0) {
		rep.fh = (uint64_t)fh;
		proto_enc_open_rep(out, &rep);
	}
	return 0;
}

int
fs_serve_read(struct agent_files *files, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	struct proto_read_req r;
	uint8_t *p;
	size_t got = 0;
	ssize_t n;
	int fd, rc = 0;

	if (proto_dec_read_req(c, &r) < 0)
		return -EBADMSG;
	if (r.size > PROTO_READ_MAX)
		r.size = PROTO_READ_MAX;
	if (r.off > INT64_MAX)
		return reply_status(out, h, -EINVAL);
	if ((fd = fs_files_get(files, r.fh)) < 0)
		return reply_status(out, h, fd);
	reply_begin(out, h, 0);
	p = proto_enc_read_rep_reserve(out, r.size);
	while (p != NULL && got < r.size) {
		n = pread(fd, p + got, r.size - got, (off_t)(r.off + got));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	fs_files_put(files, r.fh);
	if (rc < 0)
		reply_begin(out, h, rc);
	else
		proto_enc_read_rep_trim(out, p, got);
	return 0;
}

int
fs_serve_release(struct agent_files *files, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	struct proto_fh_req r;

	if (proto_dec_fh_req(c, &r) < 0)
		return -EBADMSG;
	reply_begin(out, h, fs_files_release(files, r.fh));
	return 0;
}


int
fs_serve_readlink(struct agent_fs *fs, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	char target[PROTO_PATH_MAX + 1], confined[PROTO_PATH_MAX + 1];
	struct proto_fs_strs s;
	struct proto_path_req r;
	ssize_t n;
	int fd, rc = 0;

	if (proto_dec_path_req(c, &s, &r) < 0)
		return -EBADMSG;
	if ((fd = agent_fs_open_in_root(fs, r.path,
	    O_PATH | O_NOFOLLOW)) < 0) {
		rc = fd;
		goto out;
	}
	n = readlinkat(fd, "", target, sizeof(target) - 1);
	if (n < 0)
		rc = errno == ENOENT ? -EINVAL : -errno;
	close(fd);
	if (rc < 0)
		goto out;
	target[n] = '\0';
	rc = agent_fs_confine_link(fs, r.path, target, confined,
	    sizeof(confined));
out:
	reply_begin(out, h, rc);
	if (rc == 0)
		proto_enc_readlink_rep(out, confined);
	return 0;
}

int
fs_serve_statfs(struct agent_fs *fs, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	struct proto_fs_strs strs;
	struct proto_path_req r;
	struct statvfs sv;
	struct proto_statfs s;
	int fd, rc = 0;

	if (proto_dec_path_req(c, &strs, &r) < 0)
		return -EBADMSG;
	if ((fd = agent_fs_open_in_root(fs, r.path, O_PATH)) < 0)
		rc = fd;
	else {
		if (fstatvfs(fd, &sv) < 0)
			rc = -errno;
		close(fd);
	}
	reply_begin(out, h, rc);
	if (rc == 0) {
		proto_statfs_from_statvfs(&s, &sv);
		proto_enc_statfs_rep(out, &s);
	}
	return 0;
}

int
fs_serve_xattr(struct agent_fs *fs, struct agent_files *files,
    const struct proto_hdr *h, struct proto_cur *c, struct proto_buf *out)
{
	struct proto_fs_strs s;
	struct proto_xattr_req r;
	char procfd[64];
	uint32_t size;
	uint8_t *p = NULL;
	ssize_t n = 0;
	int fd, rc = 0;

	if (proto_dec_xattr_req(c, h->op, &s, &r) < 0)
		return -EBADMSG;
	size = r.size;
	if (size > PROTO_XATTR_MAX)
		size = PROTO_XATTR_MAX;
	if ((fd = fs_target_fd(fs, files, r.fh, r.path,
	    O_PATH | O_NOFOLLOW)) < 0) {
		reply_begin(out, h, fd);
		return 0;
	}
	/* xattr calls need a path; the fd's own /proc entry names exactly
	 * the object we resolved, never anything outside the root. */
	snprintf(procfd, sizeof(procfd), "/proc/self/fd/%d", fd);
	reply_begin(out, h, 0);
	p = proto_enc_xattr_rep_reserve(out, size);
	if (p == NULL)
		rc = -ENOMEM;
	else if (h->op == OP_GETXATTR || h->op == OP_FGETXATTR)
		n = getxattr(procfd, r.name, size ? p : NULL, size);
	else
		n = listxattr(procfd, size ? (char *)p : NULL, size);
	if (rc == 0 && n < 0)
		rc = -errno;
	fs_target_done(files, r.fh, fd);
	if (rc < 0) {
		reply_begin(out, h, rc);
		return 0;
	}
	proto_enc_xattr_rep_finish(out, p, (uint32_t)n,
	    size > 0 ? (size_t)n : 0);
	return 0;
}

int
fs_serve_fgetattr(struct agent_files *files, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	struct proto_fh_req r;
	struct proto_attr a;
	int fd, rc;

	if (proto_dec_fh_req(c, &r) < 0)
		return -EBADMSG;
	if ((fd = fs_files_get(files, r.fh)) < 0)
		return reply_status(out, h, fd);
	rc = fs_stat_fd(fd, &a);
	fs_files_put(files, r.fh);
	reply_begin(out, h, rc);
	if (rc == 0)
		proto_enc_attr_rep(out, &a);
	return 0;
}
