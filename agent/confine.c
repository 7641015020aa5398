/*
 * Confinement of the agent's file service to the target's root (see
 * confine.h): the openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
 * resolution every request goes through, the type-checked open that
 * never opens a fifo or a device, the parent-and-name split of the
 * writing requests, and the rewriting of symlink targets. Kept apart
 * from the request handlers because it is the security boundary: it has
 * a unit test (tests/unit/test-confine.c) and fuzz harnesses of its own.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "confine.h"
#include "fs.h"

_Thread_local int confine_same_mount, confine_crossed;

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
	/* Served on the service thread: only what the dentry cache holds
	 * (EAGAIN, not a disk read) on the mounts it starts from. */
	if (confine_same_mount)
		how.resolve |= RESOLVE_NO_XDEV | RESOLVE_CACHED;
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
		} while (nfd < 0 && errno == EAGAIN && !confine_same_mount);
		if (nfd < 0) {
			nfd = -errno;
			if ((nfd == -EXDEV || nfd == -EAGAIN) &&
			    confine_same_mount)
				confine_crossed = 1;
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
	} while (fd < 0 && errno == EAGAIN && !confine_same_mount);
	fd = fd < 0 ? -errno : fd;
	if ((fd == -EXDEV || fd == -EAGAIN) && confine_same_mount)
		confine_crossed = 1;
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

int
confine_open_mode(struct agent_fs *fs, const char *path, int flags,
    mode_t mode)
{
	return open_in_root_mode(fs, path, flags, mode, 0);
}

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
int
confine_open_checked(struct agent_fs *fs, const char *path, int flags,
    int types)
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
		rc = (types & CONFINE_OPEN_REG) ? 0 : -EINVAL;
	else if (S_ISDIR(st.st_mode))
		rc = (types & CONFINE_OPEN_DIR) ? 0 : -EISDIR;
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
	return confine_open_checked(fs, path, flags, CONFINE_OPEN_REG);
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

/* Opens path's parent directory under the root; *name points into path
 * at the last component. 0 or -errno. */
int
confine_open_parent(struct agent_fs *fs, char *path, const char **name,
    int *dirfd)
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
