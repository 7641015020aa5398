/*
 * The agent's file service. Each handler decodes its request,
 * resolves the path under the root fd with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS) and encodes the reply. No host path is ever
 * built by string concatenation.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/file.h>
#include <sys/fsuid.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"
#include "xmalloc.h"

#define READDIR_REPLY_MAX	(1024 * 1024)
#define RESOLVE_CHUNK		3072	/* path bytes per openat2() */
/* Open flags a client may ask for; the rest are the client kernel's. */
#define OPEN_FLAGS_PASSED	(O_ACCMODE | O_APPEND | O_TRUNC | O_SYNC | \
				 O_DSYNC)

static int
open_in_root_mode(struct agent_fs *fs, const char *path, int flags,
    mode_t mode, int resolve_more)
{
	struct open_how how;
	int fd;

	char part[RESOLVE_CHUNK + 1];
	const char *slash;
	int dfd = fs->rootfd, nfd;
	size_t k;

	memset(&how, 0, sizeof(how));
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | resolve_more;
	/*
	 * A path longer than one syscall takes is resolved a piece at a
	 * time, each piece inside the directory the last one reached: a
	 * deep piece is confined more tightly than the root, never less.
	 */
	while (strlen(path) > RESOLVE_CHUNK) {
		for (slash = path + RESOLVE_CHUNK; slash > path && *slash != '/';
		    slash--)
			;
		k = (size_t)(slash - path);
		if (k == 0) {
			nfd = -ENAMETOOLONG;
			goto fail;
		}
		memcpy(part, path, k);
		part[k] = '\0';
		how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
		do {
			nfd = (int)syscall(SYS_openat2, dfd, part, &how,
			    sizeof(how));
		} while (nfd < 0 && errno == EAGAIN);
		if (nfd < 0) {
			nfd = -errno;
			goto fail;
		}
		if (dfd != fs->rootfd)
			close(dfd);
		dfd = nfd;
		path = slash + 1;
	}
	how.flags = (uint64_t)(flags | O_CLOEXEC);
	how.mode = (flags & (O_CREAT | O_TMPFILE)) ? (uint64_t)(mode & 07777) : 0;
	do {
		fd = (int)syscall(SYS_openat2, dfd, *path ? path : ".", &how,
		    sizeof(how));
	} while (fd < 0 && errno == EAGAIN);
	fd = fd < 0 ? -errno : fd;
	if (dfd != fs->rootfd)
		close(dfd);
	return fd;
fail:
	if (dfd != fs->rootfd)
		close(dfd);
	return nfd;
}

static int
open_in_root(struct agent_fs *fs, const char *path, int flags, int resolve_more)
{
	return open_in_root_mode(fs, path, flags, 0, resolve_more);
}

int
agent_fs_open_in_root(struct agent_fs *fs, const char *path, int flags)
{
	return open_in_root(fs, path, flags, 0);
}

/* The kinds of node open_checked() may open. */
#define OPEN_REG	0x1
#define OPEN_DIR	0x2

/*
 * Opens path under the root without ever opening what the caller did
 * not mean: an O_PATH handle first (it opens nothing, so no fifo waits
 * and no device driver runs), its type checked with fstat, then that
 * same object reopened through /proc/self/fd, so the type checked is the
 * type opened even when the pod renames something else over the name
 * meanwhile. Only regular files and directories are ever opened. The
 * client's kernel keeps fifos, sockets and devices on a FUSE mount to
 * itself (and the mount is nodev), so a request to open one comes from a
 * race or a hostile client and is refused: ENXIO for a fifo or a socket
 * (what open(2) says of a socket), EACCES for a device node (what open(2)
 * says on a nodev mount), EISDIR for a directory a file was asked for,
 * ELOOP for a symlink under O_NOFOLLOW. flags are open(2)'s.
 */
static int
open_checked(struct agent_fs *fs, const char *path, int flags, int types)
{
	char procfd[64];
	struct stat st;
	int pfd, fd, rc = 0;

	pfd = open_in_root(fs, path, O_PATH | (flags & (O_NOFOLLOW |
	    O_DIRECTORY)), 0);
	if (pfd < 0)
		return pfd;
	if (fstat(pfd, &st) < 0)
		rc = -errno;
	else if (S_ISREG(st.st_mode))
		rc = (types & OPEN_REG) ? 0 : -EINVAL;
	else if (S_ISDIR(st.st_mode))
		rc = (types & OPEN_DIR) ? 0 : -EISDIR;
	else if (S_ISLNK(st.st_mode))
		rc = -ELOOP;
	else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		rc = -EACCES;
	else
		rc = -ENXIO;
	if (rc < 0)
		goto out;
	snprintf(procfd, sizeof(procfd), "/proc/self/fd/%d", pfd);
	/* O_NONBLOCK: a file under a lease answers now, not when the
	 * lease holder lets go; cleared below. */
	fd = open(procfd, (flags & ~(O_NOFOLLOW | O_CREAT | O_EXCL |
	    O_TMPFILE)) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	if (!(flags & O_NONBLOCK))
		(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	rc = fd;
out:
	close(pfd);
	return rc;
}

int
agent_fs_open_regular_in_root(struct agent_fs *fs, const char *path,
    int flags)
{
	return open_checked(fs, path, flags, OPEN_REG);
}

int
agent_fs_open_root(struct agent_fs *fs, const char *dir, int pid)
{
	char proc[64], link[64];
	ssize_t n;
	int fd;

	if (dir == NULL) {
		snprintf(proc, sizeof(proc), "/proc/%d/root", pid);
		dir = proc;
	}
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, fs->rootpath, sizeof(fs->rootpath) - 1);
	if (n <= 0) {
		close(fd);
		return -EIO;
	}
	fs->rootpath[n] = '\0';
	fs->rootfd = fd;
	return 0;
}

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
static int64_t
files_add(struct agent_files *f, int fd)
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
static int
files_get(struct agent_files *f, uint64_t fh)
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
static void
files_put(struct agent_files *f, uint64_t fh)
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
static int
files_release(struct agent_files *f, uint64_t fh)
{
	int fd = files_get(f, fh);

	if (fd < 0)
		return fd;
	pthread_mutex_lock(&f->mtx);
	f->slots[fh - 1].refs--;	/* the open reference */
	pthread_mutex_unlock(&f->mtx);
	files_put(f, fh);		/* ours; closes when no reader holds it */
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

static int
stat_fd(int fd, struct proto_attr *a)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	proto_attr_from_stat(a, &st);
	a->flags = xattr_flags_fd(fd);
	return 0;
}

static int
stat_child(int dirfd, const char *name, struct proto_attr *a)
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

static int
stat_path(struct agent_fs *fs, const char *path, struct proto_attr *a)
{
	int fd, rc = 0;

	if ((fd = open_in_root(fs, path, O_PATH | O_NOFOLLOW, 0)) < 0)
		return fd;
	rc = stat_fd(fd, a);
	close(fd);
	return rc;
}

static int
get_path(struct proto_cur *c, char *path, size_t sz)
{
	if (proto_get_str(c, path, sz) < 0 || !proto_path_ok(path))
		return -EBADMSG;
	return 0;
}

/* The file a request names: by an open handle (fh != 0), or by path
 * under the root. Give it back with target_done(). */
static int
target_fd(struct agent_fs *fs, struct agent_files *files, uint64_t fh,
    const char *path, int flags)
{
	return fh != 0 ? files_get(files, fh) :
	    open_in_root(fs, path, flags, 0);
}

static void
target_done(struct agent_files *files, uint64_t fh, int fd)
{
	if (fh != 0)
		files_put(files, fh);
	else
		close(fd);
}

static void
reply_begin(struct proto_buf *out, const struct proto_hdr *h, int rc)
{
	proto_begin(out, MSG_REPLY, h->op, h->id, rc < 0 ? (uint32_t)-rc : 0);
}

static int
serve_getattr(struct agent_fs *fs, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	char path[PROTO_PATH_MAX + 1];
	struct proto_attr a;
	int rc;

	if (proto_get_str(c, path, sizeof(path)) < 0 || proto_end(c) < 0)
		return -EBADMSG;
	if (!proto_path_ok(path))
		return -EBADMSG;
	rc = stat_path(fs, path, &a);
	reply_begin(out, h, rc);
	if (rc == 0)
		proto_put_attr(out, &a);
	return 0;
}

static int
serve_readdir(struct agent_fs *fs, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	char path[PROTO_PATH_MAX + 1];
	uint64_t cookie, next;
	uint32_t max, count = 0;
	size_t next_at = 0;
	struct dirent *de;
	struct proto_attr a;
	DIR *d = NULL;
	int fd, rc = 0, eof = 1;

	if (proto_get_str(c, path, sizeof(path)) < 0 ||
	    proto_get_u64(c, &cookie) < 0 || proto_get_u32(c, &max) < 0 ||
	    proto_end(c) < 0 || !proto_path_ok(path))
		return -EBADMSG;
	if (max > READDIR_REPLY_MAX)
		max = READDIR_REPLY_MAX;
	if (max < 512)
		max = 512;
	fd = open_in_root(fs, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	if ((d = fdopendir(fd)) == NULL) {
		rc = -errno;
		close(fd);
		goto out;
	}
	if (cookie != 0)
		seekdir(d, (long)cookie);
	reply_begin(out, h, 0);
	proto_put_u8(out, 1);		/* eof, patched below */
	next_at = out->len;
	proto_put_u64(out, 0);		/* next cookie, patched below */
	proto_put_u32(out, 0);
	next = cookie;
	for (;;) {
		long pos = telldir(d);
		size_t before = out->len;

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
		if (stat_child(dirfd(d), de->d_name, &a) < 0)
			continue;	/* removed meanwhile */
		proto_put_str(out, de->d_name);
		proto_put_attr(out, &a);
		if (out->len - PROTO_HDR_LEN > max || out->err) {
			out->len = before;
			out->err = 0;
			eof = 0;
			next = (uint64_t)pos;
			break;
		}
		count++;
	}
	if (rc < 0)
		goto out;
	out->data[next_at - 1] = (uint8_t)eof;
	{
		struct proto_buf tmp = { out->data + next_at, 0, 12, 0 };

		/* Patch the fixed-size fields in place. */
		tmp.len = 0;
		proto_put_u64(&tmp, next);
		proto_put_u32(&tmp, count);
	}
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

static int
serve_open(struct agent_fs *fs, struct agent_files *files,
    const struct proto_hdr *h, struct proto_cur *c, struct proto_buf *out)
{
	char path[PROTO_PATH_MAX + 1];
	uint32_t flags;
	struct stat st;
	struct statfs sfs;
	struct proto_attr a;
	int64_t fh = 0;
	int fd, rc = 0;

	if (proto_get_str(c, path, sizeof(path)) < 0 ||
	    proto_get_u32(c, &flags) < 0 || proto_end(c) < 0 ||
	    !proto_path_ok(path))
		return -EBADMSG;
	flags &= OPEN_FLAGS_PASSED;
	if (!fs->writable && ((flags & O_ACCMODE) != O_RDONLY ||
	    (flags & (O_TRUNC | O_APPEND)))) {
		rc = -EROFS;
		goto out;
	}
	/* Never a fifo or a device: those are the local kernel's. */
	fd = open_checked(fs, path, (int)flags | O_NOFOLLOW,
	    OPEN_REG | OPEN_DIR);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		goto out;
	}
	proto_attr_from_stat(&a, &st);
	a.flags = flistxattr(fd, NULL, 0) == 0 ? ATTR_NO_XATTR : 0;
	if (fstatfs(fd, &sfs) == 0 && synthetic_fs((unsigned long)sfs.f_type))
		a.flags |= ATTR_SYNTHETIC;
	if ((fh = files_add(files, fd)) < 0) {
		rc = (int)fh;
		close(fd);
	}
out:
	reply_begin(out, h, rc);
	if (rc == 0) {
		proto_put_u64(out, (uint64_t)fh);
		proto_put_attr(out, &a);
	}
	return 0;
}

static int
serve_read(struct agent_files *files, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	uint64_t fh, off;
	uint32_t size;
	uint8_t *p;
	size_t got = 0;
	ssize_t n;
	int fd, rc = 0;

	if (proto_get_u64(c, &fh) < 0 || proto_get_u64(c, &off) < 0 ||
	    proto_get_u32(c, &size) < 0 || proto_end(c) < 0)
		return -EBADMSG;
	if (size > PROTO_READ_MAX)
		size = PROTO_READ_MAX;
	if (off > INT64_MAX)
		return reply_begin(out, h, -EINVAL), 0;
	if ((fd = files_get(files, fh)) < 0)
		return reply_begin(out, h, fd), 0;
	reply_begin(out, h, 0);
	p = proto_put_bytes_reserve(out, size);
	while (p != NULL && got < size) {
		n = pread(fd, p + got, size - got, (off_t)(off + got));
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
	files_put(files, fh);
	if (rc < 0)
		reply_begin(out, h, rc);
	else
		proto_bytes_trim(out, p, got);
	return 0;
}

static int
serve_release(struct agent_files *files, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	uint64_t fh;

	if (proto_get_u64(c, &fh) < 0 || proto_end(c) < 0)
		return -EBADMSG;
	reply_begin(out, h, files_release(files, fh));
	return 0;
}

/* Splits a path into its non-empty components other than ".". */
static int
split_path(char *s, char **comp, int max)
{
	char *save = NULL, *t;
	int n = 0;

	for (t = strtok_r(s, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (strcmp(t, ".") == 0)
			continue;
		if (n == max)
			return -ENAMETOOLONG;
		comp[n++] = t;
	}
	return n;
}

#define COMP_MAX	(PROTO_PATH_MAX / 2 + 1)

/* Appends "/comp" (just "comp" to an empty buf) at *len, or fails with
 * -ENAMETOOLONG and leaves buf as it was: the length never passes sz. */
static int
path_append(char *buf, size_t sz, size_t *len, const char *comp)
{
	size_t n = strlen(comp), sep = *len > 0;

	if (*len >= sz || n + sep >= sz - *len)
		return -ENAMETOOLONG;
	if (sep)
		buf[(*len)++] = '/';
	memcpy(buf + *len, comp, n + 1);
	*len += n;
	return 0;
}

/* Lexical resolution inside the root: ".." stops at "/". */
static int
normalize_in_root(char *s, char **comp, int max)
{
	char *raw[COMP_MAX];
	int n, i, k = 0;

	if ((n = split_path(s, raw, COMP_MAX)) < 0)
		return n;
	for (i = 0; i < n; i++) {
		if (strcmp(raw[i], "..") == 0) {
			if (k > 0)
				k--;
		} else if (k < max)
			comp[k++] = raw[i];
		else
			return -ENAMETOOLONG;
	}
	return k;
}

/*
 * A symlink's target is followed by the local kernel, relative to the
 * mount. A relative target whose ".." components all come first and
 * climb no higher than the link's directory stays inside the mount
 * whatever it points to, and is returned as it is. An absolute target,
 * or one climbing higher, made only of names (after any leading "..")
 * keeps its names: written from the link's directory as "../../etc/x",
 * the ".."s cut at the root as the pod's own are, so readlink shows the
 * pod's structure and the kernel follows each name inside the mount.
 * A target with ".." after a name (which a symlinked directory could
 * turn into an escape) is resolved inside the root, physically when it
 * exists and lexically otherwise, and returned the same way.
 */
int
agent_fs_confine_link(struct agent_fs *fs, const char *linkpath,
    const char *target, char *out, size_t outsz)
{
	char dirbuf[PROTO_PATH_MAX + 1], cand[2 * PROTO_PATH_MAX + 2];
	char tbuf[PROTO_PATH_MAX + 1], host[PROTO_PATH_MAX + PATH_MAX], procfd[64];
	char *dir[COMP_MAX], *tc[COMP_MAX], *res[COMP_MAX], *slash;
	const char *inroot = NULL;
	int ndir, nt, nres, i, k, leading = 0, seen_name = 0, safe = 1, fd;
	int lexical = 1;
	size_t len = 0, rl;
	ssize_t hn;

	if (strlen(linkpath) > PROTO_PATH_MAX || strlen(target) > PROTO_PATH_MAX)
		return -ENAMETOOLONG;
	snprintf(dirbuf, sizeof(dirbuf), "%s", linkpath);
	if ((slash = strrchr(dirbuf, '/')) != NULL)
		*slash = '\0';
	snprintf(cand, sizeof(cand), "%s", dirbuf);
	if ((ndir = normalize_in_root(dirbuf, dir, COMP_MAX)) < 0)
		return ndir;

	snprintf(tbuf, sizeof(tbuf), "%s", target);
	if ((nt = split_path(tbuf, tc, COMP_MAX)) < 0)
		return nt;
	for (i = 0; i < nt; i++) {
		if (strcmp(tc[i], "..") == 0) {
			if (seen_name)
				lexical = 0;
			leading++;
		} else
			seen_name = 1;
	}
	if (target[0] == '/' || !lexical || leading > ndir)
		safe = 0;
	if (safe) {
		if (strlen(target) >= outsz)
			return -ENAMETOOLONG;
		memcpy(out, target, strlen(target) + 1);
		return 0;
	}

	/* The candidate path, as the pod would resolve it. */
	if (target[0] == '/')
		snprintf(cand, sizeof(cand), "%s", target);
	else {
		size_t dl = strlen(cand);

		snprintf(cand + dl, sizeof(cand) - dl, "/%s", target);
	}
	/* Leading ".."s and names only: the same names from the root
	 * (or from as high as the pod's own ".." reach), each one
	 * followed by the client's kernel through the mount. */
	fd = lexical ? -1 : open_in_root(fs, cand, O_PATH, 0);
	if (fd >= 0) {
		snprintf(procfd, sizeof(procfd), "/proc/self/fd/%d", fd);
		hn = readlink(procfd, host, sizeof(host) - 1);
		close(fd);
		if (hn > 0) {
			host[hn] = '\0';
			rl = strlen(fs->rootpath);
			if (strcmp(fs->rootpath, "/") == 0)
				inroot = host;
			else if (strncmp(host, fs->rootpath, rl) == 0 &&
			    (host[rl] == '/' || host[rl] == '\0'))
				inroot = host[rl] ? host + rl : "/";
			if (inroot && strstr(inroot, " (deleted)") != NULL)
				inroot = NULL;
		}
	}
	if (inroot != NULL && strlen(inroot) >= sizeof(tbuf))
		inroot = NULL;		/* too deep to say: lexically, below */
	if (inroot != NULL) {
		memcpy(tbuf, inroot, strlen(inroot) + 1);
		nres = normalize_in_root(tbuf, res, COMP_MAX);
	} else {
		char lex[2 * PROTO_PATH_MAX + 2];

		snprintf(lex, sizeof(lex), "%s", cand);
		nres = normalize_in_root(lex, res, COMP_MAX);
		if (nres >= 0) {
			/* res points into lex: copy out before it goes. */
			/* Too deep to say from the link's directory:
			 * refused, never cut (a cut path names another
			 * file). */
			len = 0;
			tbuf[0] = '\0';
			for (i = 0; i < nres; i++)
				if (path_append(tbuf, sizeof(tbuf), &len,
				    res[i]) < 0)
					return -ENAMETOOLONG;
			nres = normalize_in_root(tbuf, res, COMP_MAX);
		}
	}
	if (nres < 0)
		return nres;

	for (k = 0; k < ndir && k < nres && strcmp(dir[k], res[k]) == 0; k++)
		;
	if (outsz < 2)
		return -ENAMETOOLONG;
	len = 0;
	out[0] = '\0';
	for (i = k; i < ndir; i++)
		if (path_append(out, outsz, &len, "..") < 0)
			return -ENAMETOOLONG;
	for (i = k; i < nres; i++)
		if (path_append(out, outsz, &len, res[i]) < 0)
			return -ENAMETOOLONG;
	if (len == 0)
		memcpy(out, ".", 2);
	return 0;
}

static int
serve_readlink(struct agent_fs *fs, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	char path[PROTO_PATH_MAX + 1], target[PROTO_PATH_MAX + 1];
	char confined[PROTO_PATH_MAX + 1];
	ssize_t n;
	int fd, rc = 0;

	if (proto_get_str(c, path, sizeof(path)) < 0 || proto_end(c) < 0 ||
	    !proto_path_ok(path))
		return -EBADMSG;
	if ((fd = open_in_root(fs, path, O_PATH | O_NOFOLLOW, 0)) < 0) {
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
	rc = agent_fs_confine_link(fs, path, target, confined,
	    sizeof(confined));
out:
	reply_begin(out, h, rc);
	if (rc == 0)
		proto_put_str(out, confined);
	return 0;
}

static int
serve_statfs(struct agent_fs *fs, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	char path[PROTO_PATH_MAX + 1];
	struct statvfs sv;
	struct proto_statfs s;
	int fd, rc = 0;

	if (proto_get_str(c, path, sizeof(path)) < 0 || proto_end(c) < 0 ||
	    !proto_path_ok(path))
		return -EBADMSG;
	if ((fd = open_in_root(fs, path, O_PATH, 0)) < 0)
		rc = fd;
	else {
		if (fstatvfs(fd, &sv) < 0)
			rc = -errno;
		close(fd);
	}
	reply_begin(out, h, rc);
	if (rc == 0) {
		s.bsize = sv.f_bsize;
		s.frsize = sv.f_frsize;
		s.blocks = sv.f_blocks;
		s.bfree = sv.f_bfree;
		s.bavail = sv.f_bavail;
		s.files = sv.f_files;
		s.ffree = sv.f_ffree;
		s.favail = sv.f_favail;
		s.namemax = sv.f_namemax;
		proto_put_statfs(out, &s);
	}
	return 0;
}

static int
serve_xattr(struct agent_fs *fs, struct agent_files *files,
    const struct proto_hdr *h, struct proto_cur *c, struct proto_buf *out)
{
	char path[PROTO_PATH_MAX + 1], name[PROTO_NAME_MAX + 1];
	char procfd[64];
	uint32_t size;
	uint64_t fh = 0;
	uint8_t *p = NULL;
	ssize_t n = 0;
	int fd, rc = 0, by_fh = h->op == OP_FGETXATTR || h->op == OP_FLISTXATTR;

	name[0] = '\0';
	if (by_fh ? proto_get_u64(c, &fh) < 0 || fh == 0 :
	    get_path(c, path, sizeof(path)) < 0)
		return -EBADMSG;
	if (((h->op == OP_GETXATTR || h->op == OP_FGETXATTR) &&
	    proto_get_str(c, name, sizeof(name)) < 0) ||
	    proto_get_u32(c, &size) < 0 || proto_end(c) < 0)
		return -EBADMSG;
	if (size > PROTO_XATTR_MAX)
		size = PROTO_XATTR_MAX;
	if ((fd = target_fd(fs, files, fh, path, O_PATH | O_NOFOLLOW)) < 0) {
		reply_begin(out, h, fd);
		return 0;
	}
	/* xattr calls need a path; the fd's own /proc entry names exactly
	 * the object we resolved, never anything outside the root. */
	snprintf(procfd, sizeof(procfd), "/proc/self/fd/%d", fd);
	reply_begin(out, h, 0);
	proto_put_u32(out, 0);
	if (size > 0)
		p = proto_put_bytes_reserve(out, size);
	else
		proto_put_u32(out, 0);
	if (size > 0 && p == NULL)
		rc = -ENOMEM;
	else if (h->op == OP_GETXATTR || h->op == OP_FGETXATTR)
		n = getxattr(procfd, name, p, size);
	else
		n = listxattr(procfd, (char *)p, size);
	if (rc == 0 && n < 0)
		rc = -errno;
	target_done(files, fh, fd);
	if (rc < 0) {
		reply_begin(out, h, rc);
		return 0;
	}
	{
		struct proto_buf tmp = { out->data + PROTO_HDR_LEN, 0, 4, 0 };

		proto_put_u32(&tmp, (uint32_t)n);
	}
	if (size > 0)
		proto_bytes_trim(out, p, (size_t)n);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Writing. Every new name is made in its parent, opened with openat2
 * under the root; the name itself is one component (proto_name_ok), and
 * the *at() calls below never follow a symlink in it. */

/* Opens path's parent directory under the root; *name points into path
 * at the last component. 0 or -errno. */
static int
open_parent(struct agent_fs *fs, char *path, const char **name, int *dirfd)
{
	char *slash = strrchr(path, '/');
	int fd;

	if (slash == NULL || !proto_name_ok(slash + 1))
		return -EINVAL;
	*name = slash + 1;
	if (slash == path)
		fd = open_in_root(fs, "/", O_PATH | O_DIRECTORY, 0);
	else {
		*slash = '\0';
		fd = open_in_root(fs, path, O_PATH | O_DIRECTORY, 0);
		*slash = '/';
	}
	if (fd < 0)
		return fd;
	*dirfd = fd;
	return 0;
}



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
	if ((rc = open_parent(fs, path, &name, &dirfd)) < 0)
		return rc;
	rc = give_new_at(dirfd, fd, uid, gid);
	close(dirfd);
	return rc;
}

static int
serve_create(struct agent_fs *fs, struct agent_files *files,
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
		fd = open_in_root_mode(fs, path, (int)flags | O_CREAT |
		    O_EXCL | O_NOFOLLOW, (mode_t)mode, 0);
		if (fd != -EEXIST || (flags & O_EXCL))
			break;
		made = 0;
		fd = open_checked(fs, path, (int)flags | O_NOFOLLOW, OPEN_REG);
		if (fd != -ENOENT)
			break;
	}
	if ((rc = fd) >= 0) {
		/* An existing file too gets its handle and attributes. */
		rc = made ? give_new(fs, path, fd, uid, gid) : 0;
		if (rc == 0 && (rc = stat_fd(fd, &a)) == 0 &&
		    (fh = files_add(files, fd)) < 0)
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

static int
serve_write(struct agent_files *files, const struct proto_hdr *h,
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
		return reply_begin(out, h, -EFBIG), 0;
	if ((fd = files_get(files, fh)) < 0)
		return reply_begin(out, h, fd), 0;
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
	files_put(files, fh);
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

static int
serve_setattr(struct agent_fs *fs, struct agent_files *files,
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

	if ((fd = target_fd(fs, files, fh, path, O_PATH | O_NOFOLLOW)) < 0)
		return reply_begin(out, h, fd), 0;
	rc = apply_setattr(fd, fh == 0, set, mode, uid, gid, size, ts);
	if (rc == 0)
		rc = stat_fd(fd, &a);
	target_done(files, fh, fd);
	reply_begin(out, h, rc);
	if (rc == 0)
		proto_put_attr(out, &a);
	return 0;
}

static int
serve_fsync(struct agent_fs *fs, struct agent_files *files,
    const struct proto_hdr *h, struct proto_cur *c, struct proto_buf *out)
{
	char path[PROTO_PATH_MAX + 1];
	uint64_t fh;
	uint8_t datasync;
	int fd, rc = 0;

	if (proto_get_u64(c, &fh) < 0 || proto_get_u8(c, &datasync) < 0 ||
	    get_path(c, path, sizeof(path)) < 0 || proto_end(c) < 0)
		return -EBADMSG;
	if ((fd = target_fd(fs, files, fh, path, O_RDONLY | O_DIRECTORY)) < 0)
		return reply_begin(out, h, fd), 0;
	if ((datasync ? fdatasync(fd) : fsync(fd)) < 0)
		rc = -errno;
	target_done(files, fh, fd);
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
static int
serve_name_op(struct agent_fs *fs, const struct proto_hdr *h,
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
	if ((rc = open_parent(fs, path, &name, &dirfd)) < 0)
		return reply_begin(out, h, rc), 0;
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
		rc = stat_child(dirfd, name, &a);
	close(dirfd);
	reply_begin(out, h, rc);
	if (rc == 0 && want_attr)
		proto_put_attr(out, &a);
	return 0;
}

/* rename and link: two names. */
static int
serve_two_names(struct agent_fs *fs, const struct proto_hdr *h,
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
		return reply_begin(out, h, -EINVAL), 0;
	if (flags & 1)
		rflags |= RENAME_NOREPLACE;
	if (flags & 2)
		rflags |= RENAME_EXCHANGE;
	if ((rc = open_parent(fs, from, &fname, &fdir)) < 0 ||
	    (rc = open_parent(fs, to, &tname, &tdir)) < 0)
		goto out;
	if (h->op == OP_RENAME)
		rc = renameat2(fdir, fname, tdir, tname, rflags) < 0 ?
		    -errno : 0;
	else {
		rc = linkat(fdir, fname, tdir, tname, 0) < 0 ? -errno : 0;
		if (rc == 0)
			rc = stat_child(tdir, tname, &a);
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

static int
serve_setxattr(struct agent_fs *fs, struct agent_files *files,
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
	if ((fd = target_fd(fs, files, fh, path, O_PATH | O_NOFOLLOW)) < 0)
		return reply_begin(out, h, fd), 0;
	snprintf(procfd, sizeof(procfd), "/proc/self/fd/%d", fd);
	if (h->op == OP_SETXATTR)
		rc = setxattr(procfd, name, value, n,
		    (int)(flags & (XATTR_CREATE | XATTR_REPLACE)));
	else
		rc = removexattr(procfd, name);
	rc = rc < 0 ? -errno : 0;
	target_done(files, fh, fd);
	reply_begin(out, h, rc);
	return 0;
}

static int
serve_fallocate(struct agent_files *files, const struct proto_hdr *h,
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
		return reply_begin(out, h, -EFBIG), 0;
	if ((fd = files_get(files, fh)) < 0)
		return reply_begin(out, h, fd), 0;
	rc = fallocate(fd, (int)mode, (off_t)off, (off_t)len) < 0 ? -errno : 0;
	files_put(files, fh);
	reply_begin(out, h, rc);
	return 0;
}

static int
serve_fgetattr(struct agent_files *files, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	struct proto_attr a;
	uint64_t fh;
	int fd, rc;

	if (proto_get_u64(c, &fh) < 0 || proto_end(c) < 0)
		return -EBADMSG;
	if ((fd = files_get(files, fh)) < 0)
		return reply_begin(out, h, fd), 0;
	rc = stat_fd(fd, &a);
	files_put(files, fh);
	reply_begin(out, h, rc);
	if (rc == 0)
		proto_put_attr(out, &a);
	return 0;
}

/* The lock owner's own open file description of fd's file, made on
 * first use when create is set. Called with files->mtx held. */
static int
lock_fd(struct agent_files *files, int fd, uint64_t owner, int create)
{
	struct agent_lock *l;
	struct stat st;
	char procfd[64];
	int lfd, acc;

	if (fstat(fd, &st) < 0)
		return -errno;
	for (l = files->locks; l; l = l->next)
		if (l->dev == st.st_dev && l->ino == st.st_ino &&
		    l->owner == owner)
			return l->fd;
	if (!create)
		return -ENOENT;
	/* Read and write locks both need it open for both. */
	snprintf(procfd, sizeof(procfd), "/proc/self/fd/%d", fd);
	acc = fcntl(fd, F_GETFL) & O_ACCMODE;
	lfd = open(procfd, O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (lfd < 0)
		lfd = open(procfd, acc | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (lfd < 0)
		return -errno;
	l = xcalloc(1, sizeof(*l));
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	l->owner = owner;
	l->fd = lfd;
	l->next = files->locks;
	files->locks = l;
	return lfd;
}

static int
serve_lock(struct agent_files *files, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	uint64_t fh, owner, start, len;
	uint8_t cmd, type;
	struct flock fl;
	int fd, lfd, acc, rc = 0;

	if (proto_get_u64(c, &fh) < 0 || proto_get_u64(c, &owner) < 0 ||
	    proto_get_u8(c, &cmd) < 0 || proto_get_u8(c, &type) < 0 ||
	    proto_get_u64(c, &start) < 0 || proto_get_u64(c, &len) < 0 ||
	    proto_end(c) < 0 || cmd > LOCK_CMD_SET || type > LOCK_TYPE_WRITE)
		return -EBADMSG;
	if (start > INT64_MAX || len > INT64_MAX)
		return reply_begin(out, h, -EINVAL), 0;
	if ((fd = files_get(files, fh)) < 0)
		return reply_begin(out, h, fd), 0;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = (short)proto_lock_to_fcntl(type);
	fl.l_whence = SEEK_SET;
	fl.l_start = (off_t)start;
	fl.l_len = (off_t)len;
	/* As POSIX: the handle the lock is asked through must allow it. */
	acc = fcntl(fd, F_GETFL) & O_ACCMODE;
	if (cmd == LOCK_CMD_SET &&
	    ((type == LOCK_TYPE_READ && acc == O_WRONLY) ||
	    (type == LOCK_TYPE_WRITE && acc == O_RDONLY)))
		rc = -EBADF;
	pthread_mutex_lock(&files->mtx);
	if (rc == 0) {
		lfd = lock_fd(files, fd, owner, cmd == LOCK_CMD_SET &&
		    type != LOCK_TYPE_UNLOCK);
		if (lfd == -ENOENT)
			/* Nothing held by this owner: unlock is done, and
			 * getlk may ask through the plain handle. */
			lfd = cmd == LOCK_CMD_GET ? fd : -1;
		if (lfd < -1)
			rc = lfd;
		else if (lfd >= 0 && fcntl(lfd, cmd == LOCK_CMD_GET ?
		    F_OFD_GETLK : F_OFD_SETLK, &fl) < 0)
			rc = errno == EACCES ? -EAGAIN : -errno;
	}
	pthread_mutex_unlock(&files->mtx);
	files_put(files, fh);
	reply_begin(out, h, rc);
	if (rc == 0 && cmd == LOCK_CMD_GET) {
		proto_put_u8(out, proto_lock_from_fcntl(fl.l_type));
		proto_put_u64(out, (uint64_t)fl.l_start);
		proto_put_u64(out, (uint64_t)fl.l_len);
	}
	return 0;
}

static int
serve_flock(struct agent_files *files, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	uint64_t fh;
	uint32_t op;
	int fd, rc;

	if (proto_get_u64(c, &fh) < 0 || proto_get_u32(c, &op) < 0 ||
	    proto_end(c) < 0)
		return -EBADMSG;
	op &= LOCK_SH | LOCK_EX | LOCK_UN;
	if (op != LOCK_SH && op != LOCK_EX && op != LOCK_UN)
		return reply_begin(out, h, -EINVAL), 0;
	if ((fd = files_get(files, fh)) < 0)
		return reply_begin(out, h, fd), 0;
	rc = flock(fd, (int)op | LOCK_NB) < 0 ? -errno : 0;
	files_put(files, fh);
	reply_begin(out, h, rc);
	return 0;
}

static int
serve_flush(struct agent_files *files, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	struct agent_lock **pp, *l;
	struct stat st;
	uint64_t fh, owner;
	int fd, rc = 0;

	if (proto_get_u64(c, &fh) < 0 || proto_get_u64(c, &owner) < 0 ||
	    proto_end(c) < 0)
		return -EBADMSG;
	if ((fd = files_get(files, fh)) < 0)
		return reply_begin(out, h, fd), 0;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	pthread_mutex_lock(&files->mtx);
	for (pp = &files->locks; rc == 0 && *pp; pp = &(*pp)->next) {
		l = *pp;
		if (l->dev == st.st_dev && l->ino == st.st_ino &&
		    l->owner == owner) {
			*pp = l->next;
			close(l->fd);	/* drops the owner's locks */
			x_free(l);
			break;
		}
	}
	pthread_mutex_unlock(&files->mtx);
	files_put(files, fh);
	reply_begin(out, h, rc);
	return 0;
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
		return serve_getattr(fs, h, c, out);
	case OP_CREATE:
		return serve_create(fs, files, h, c, out);
	case OP_WRITE:
		return serve_write(files, h, c, out);
	case OP_SETATTR:
		return serve_setattr(fs, files, h, c, out);
	case OP_FSYNC:
		return serve_fsync(fs, files, h, c, out);
	case OP_MKNOD:
	case OP_MKDIR:
	case OP_SYMLINK:
	case OP_UNLINK:
	case OP_RMDIR:
		return serve_name_op(fs, h, c, out);
	case OP_RENAME:
	case OP_LINK:
		return serve_two_names(fs, h, c, out);
	case OP_SETXATTR:
	case OP_REMOVEXATTR:
		return serve_setxattr(fs, files, h, c, out);
	case OP_FALLOCATE:
		return serve_fallocate(files, h, c, out);
	case OP_FGETATTR:
		return serve_fgetattr(files, h, c, out);
	case OP_LOCK:
		return serve_lock(files, h, c, out);
	case OP_FLOCK:
		return serve_flock(files, h, c, out);
	case OP_FLUSH:
		return serve_flush(files, h, c, out);
	case OP_READDIR:
		return serve_readdir(fs, h, c, out);
	case OP_OPEN:
		return serve_open(fs, files, h, c, out);
	case OP_READ:
		return serve_read(files, h, c, out);
	case OP_RELEASE:
		return serve_release(files, h, c, out);
	case OP_READLINK:
		return serve_readlink(fs, h, c, out);
	case OP_STATFS:
		return serve_statfs(fs, h, c, out);
	case OP_GETXATTR:
	case OP_LISTXATTR:
	case OP_FGETXATTR:
	case OP_FLISTXATTR:
		return serve_xattr(fs, files, h, c, out);
	default:
		return -EBADMSG;
	}
}
