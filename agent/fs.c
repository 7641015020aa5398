/*
 * The agent's read-only file service. Each handler decodes its request,
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
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"
#include "xmalloc.h"

#define READDIR_REPLY_MAX	(1024 * 1024)

static int
open_in_root(struct agent_fs *fs, const char *path, int flags, int resolve_more)
{
	struct open_how how;
	int fd;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(flags | O_CLOEXEC);
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | resolve_more;
	do {
		fd = (int)syscall(SYS_openat2, fs->rootfd, path, &how,
		    sizeof(how));
	} while (fd < 0 && errno == EAGAIN);
	return fd < 0 ? -errno : fd;
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
stat_path(struct agent_fs *fs, const char *path, struct proto_attr *a)
{
	struct stat st;
	int fd, rc = 0;

	if ((fd = open_in_root(fs, path, O_PATH | O_NOFOLLOW, 0)) < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else {
		proto_attr_from_stat(a, &st);
		a->flags = xattr_flags_fd(fd);
	}
	close(fd);
	return rc;
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
	struct stat st;
	struct proto_attr a;
	char entpath[64 + NAME_MAX + 1];
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
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;	/* removed meanwhile */
		proto_attr_from_stat(&a, &st);
		snprintf(entpath, sizeof(entpath), "/proc/self/fd/%d/%s",
		    dirfd(d), de->d_name);
		a.flags = xattr_flags(entpath);
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

static int
serve_open(struct agent_fs *fs, struct agent_files *files,
    const struct proto_hdr *h, struct proto_cur *c, struct proto_buf *out)
{
	char path[PROTO_PATH_MAX + 1];
	uint32_t flags;
	struct stat st;
	struct proto_attr a;
	int64_t fh = 0;
	int fd, rc = 0;

	if (proto_get_str(c, path, sizeof(path)) < 0 ||
	    proto_get_u32(c, &flags) < 0 || proto_end(c) < 0 ||
	    !proto_path_ok(path))
		return -EBADMSG;
	if ((flags & O_ACCMODE) != O_RDONLY ||
	    (flags & (O_TRUNC | O_CREAT | O_APPEND))) {
		rc = -EROFS;
		goto out;
	}
	/* O_NONBLOCK: a fifo in the pod must not hang a worker. */
	fd = open_in_root(fs, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		rc = -EINVAL;	/* devices and fifos are the local kernel's */
	if (rc < 0) {
		close(fd);
		goto out;
	}
	(void)fcntl(fd, F_SETFL, 0);
	proto_attr_from_stat(&a, &st);
	a.flags = flistxattr(fd, NULL, 0) == 0 ? ATTR_NO_XATTR : 0;
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
 * whatever it points to, and is returned as it is. Any other target
 * (absolute, or climbing out, or with ".." after a name, which a
 * symlinked directory could turn into an escape) is resolved inside the
 * root, physically when it exists and lexically otherwise, and returned
 * as "../../real/path" from the link's directory.
 */
int
agent_fs_confine_link(struct agent_fs *fs, const char *linkpath,
    const char *target, char *out, size_t outsz)
{
	char dirbuf[PROTO_PATH_MAX + 1], cand[2 * PROTO_PATH_MAX + 2];
	char tbuf[PROTO_PATH_MAX + 1], host[PATH_MAX + 1], procfd[64];
	char *dir[COMP_MAX], *tc[COMP_MAX], *res[COMP_MAX], *slash;
	const char *inroot = NULL;
	int ndir, nt, nres, i, k, leading = 0, seen_name = 0, safe = 1, fd;
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

	if (target[0] == '/')
		safe = 0;
	else {
		snprintf(tbuf, sizeof(tbuf), "%s", target);
		if ((nt = split_path(tbuf, tc, COMP_MAX)) < 0)
			return nt;
		for (i = 0; i < nt; i++) {
			if (strcmp(tc[i], "..") == 0) {
				if (seen_name)
					safe = 0;
				leading++;
			} else
				seen_name = 1;
		}
		if (leading > ndir)
			safe = 0;
	}
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
	fd = open_in_root(fs, cand, O_PATH, 0);
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
	if (inroot != NULL) {
		snprintf(tbuf, sizeof(tbuf), "%s", inroot);
		nres = normalize_in_root(tbuf, res, COMP_MAX);
	} else {
		char lex[2 * PROTO_PATH_MAX + 2];

		snprintf(lex, sizeof(lex), "%s", cand);
		nres = normalize_in_root(lex, res, COMP_MAX);
		if (nres >= 0) {
			/* res points into lex: copy out before it goes. */
			len = 0;
			for (i = 0; i < nres; i++)
				len += (size_t)snprintf(tbuf + len,
				    sizeof(tbuf) - len, "%s%s", i ? "/" : "",
				    res[i]);
			nres = normalize_in_root(tbuf, res, COMP_MAX);
		}
	}
	if (nres < 0)
		return nres;

	for (k = 0; k < ndir && k < nres && strcmp(dir[k], res[k]) == 0; k++)
		;
	len = 0;
	out[0] = '\0';
	for (i = k; i < ndir; i++) {
		if (len + 3 >= outsz)
			return -ENAMETOOLONG;
		len += (size_t)snprintf(out + len, outsz - len, "%s..",
		    len ? "/" : "");
	}
	for (i = k; i < nres; i++) {
		size_t need = strlen(res[i]) + 1;

		if (len + need >= outsz)
			return -ENAMETOOLONG;
		len += (size_t)snprintf(out + len, outsz - len, "%s%s",
		    len ? "/" : "", res[i]);
	}
	if (len == 0)
		snprintf(out, outsz, ".");
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
serve_xattr(struct agent_fs *fs, const struct proto_hdr *h,
    struct proto_cur *c, struct proto_buf *out)
{
	char path[PROTO_PATH_MAX + 1], name[PROTO_NAME_MAX + 1];
	char procfd[64];
	uint32_t size;
	uint8_t *p = NULL;
	ssize_t n = 0;
	int fd, rc = 0;

	name[0] = '\0';
	if (proto_get_str(c, path, sizeof(path)) < 0 ||
	    (h->op == OP_GETXATTR &&
	    proto_get_str(c, name, sizeof(name)) < 0) ||
	    proto_get_u32(c, &size) < 0 || proto_end(c) < 0 ||
	    !proto_path_ok(path))
		return -EBADMSG;
	if (size > PROTO_XATTR_MAX)
		size = PROTO_XATTR_MAX;
	if ((fd = open_in_root(fs, path, O_PATH | O_NOFOLLOW, 0)) < 0) {
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
	else if (h->op == OP_GETXATTR)
		n = getxattr(procfd, name, p, size);
	else
		n = listxattr(procfd, (char *)p, size);
	if (rc == 0 && n < 0)
		rc = -errno;
	close(fd);
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

int
agent_fs_serve(struct agent_fs *fs, struct agent_files *files,
    const struct proto_hdr *h, struct proto_cur *c, struct proto_buf *out)
{
	switch (h->op) {
	case OP_LOOKUP:
	case OP_GETATTR:
		return serve_getattr(fs, h, c, out);
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
		return serve_xattr(fs, h, c, out);
	default:
		return -EBADMSG;
	}
}
