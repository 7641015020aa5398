/*
 * The bind placement of a shell's mount namespace (shell-ns.c runs it
 * in the child): the target's paths bound over the same local paths,
 * the files kept local (fs.local), /etc/hosts, /etc/hostname and the
 * shell's resolv.conf, and the tmpfs stubs and overlays they need.
 *
 * The target is hostile (DESIGN.md's trust model) and this runs as root:
 * every path inside the target is resolved with openat2(RESOLVE_IN_ROOT)
 * under the target's root, so no symlink leads out of it; a local path
 * is walked one component at a time, and the walk refuses to pass
 * through the target's files (a FUSE directory), so a symlink the target
 * placed is never followed on the laptop's side. A mount point that does
 * not exist locally is made on a tmpfs of the shell's own, laid over its
 * parent directory with the parent's entries bound back into it: nothing
 * is created on the laptop's disk. fs.local is honoured as the layer
 * reads it: a path it matches is not placed, and one below a placed path
 * keeps the laptop's object (opened with the user's rights before any
 * bind) or its absence (keep_local).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "conf.h"
#include "shell.h"
#include "shell-binds.h"
#include "shell-path.h"
#include "xmalloc.h"
#include "../layer/rules.h"

#define SYMLINKS_MAX	40	/* as the kernel's MAXSYMLINKS */

#ifndef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC 0x65735546
#endif

#define LOCAL_UNUSED	(-1 - 4096)	/* no errno */

/* One clear line, then exit: the parent passes the status on. */
void
shell_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mirrorctl: shell: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	_exit(126);
}

const char *
shell_fdpath(int fd, char *buf, size_t sz)
{
	snprintf(buf, sz, "/proc/self/fd/%d", fd);
	return buf;
}

/* Bind the object open at src over the one open at dst. 0 or -errno. */
int
shell_bind_fd(int src, int dst, unsigned long extra)
{
	char s[64], d[64];

	if (mount(shell_fdpath(src, s, sizeof(s)), shell_fdpath(dst, d, sizeof(d)), NULL,
	    MS_BIND | MS_REC | extra, NULL) < 0)
		return -errno;
	return 0;
}

static int
is_fuse(int fd)
{
	struct statfs sf;

	return fstatfs(fd, &sf) == 0 && sf.f_type == FUSE_SUPER_MAGIC;
}

static int
is_ours(const struct shell_ns *c, int fd)
{
	struct stat st;
	int i;

	if (fstat(fd, &st) < 0)
		return 0;
	for (i = 0; i < c->nours; i++)
		if (c->ours[i] == st.st_dev)
			return 1;
	return 0;
}

void
shell_add_ours(struct shell_ns *c, int fd)
{
	struct stat st;

	if (c->nours < SHELL_OURS_MAX && fstat(fd, &st) == 0)
		c->ours[c->nours++] = st.st_dev;
}

/* A path in the target, resolved inside its root: an O_PATH fd, or
 * -errno. */
static int
target_open(int rootfd, const char *path)
{
	struct open_how how;
	int fd;

	memset(&how, 0, sizeof(how));
	how.flags = O_PATH | O_CLOEXEC;
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	while (*path == '/')
		path++;
	if (*path == '\0')
		path = ".";
	fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

/* Mounts a fresh tmpfs on scratch/NAME; its root fd, or -errno. */
int
shell_new_tmpfs(struct shell_ns *c, const char *name, mode_t mode)
{
	char path[PATH_MAX + 64], fp[64];
	int fd;

	if (mkdirat(c->scratchfd, name, 0700) < 0 && errno != EEXIST)
		return -errno;
	if ((fd = openat(c->scratchfd, name, O_PATH | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -errno;
	snprintf(path, sizeof(path), "mode=%04o,size=4m,nr_inodes=16384",
	    (unsigned)(mode & 07777));
	if (mount("tmpfs", shell_fdpath(fd, fp, sizeof(fp)), "tmpfs",
	    MS_NOSUID | MS_NODEV, path) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	close(fd);
	/* The fd above is the directory under the mount: open anew. */
	if ((fd = openat(c->scratchfd, name, O_PATH | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -errno;
	shell_add_ours(c, fd);
	return fd;
}

/* A stub in dir to mount something on: a directory or an empty file.
 * Its O_PATH fd, or -errno. */
int
shell_make_stub(int dir, const char *name, int want_dir, mode_t mode)
{
	int fd;

	if (want_dir) {
		if (mkdirat(dir, name, mode & 07777) < 0 && errno != EEXIST)
			return -errno;
	} else {
		if ((fd = openat(dir, name, O_WRONLY | O_CREAT | O_NOFOLLOW |
		    O_CLOEXEC, 0644)) < 0)
			return -errno;
		close(fd);
	}
	fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC |
	    (want_dir ? O_DIRECTORY : 0));
	return fd < 0 ? -errno : fd;
}

/*
 * Copies the entries of src into dst (a tmpfs of ours): a stub bound
 * over by each file or directory of src (with the mounts below it),
 * symlinks as symlinks (never followed here). Names in skip are left
 * out. 0 or -errno.
 */
int
shell_mirror_entries(int src, int dst, const char *const *skip)
{
	char link[PATH_MAX];
	struct dirent *de;
	struct stat st;
	int dfd, rc = 0, i;
	DIR *d;

	if ((dfd = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return -errno;
	}
	while ((de = readdir(d)) != NULL) {
		int sfd, tfd, skipped = 0;
		ssize_t n;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 || strchr(de->d_name, '/'))
			continue;
		for (i = 0; skip && skip[i]; i++)
			if (strcmp(skip[i], de->d_name) == 0)
				skipped = 1;
		if (skipped)
			continue;
		if (fstatat(src, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;	/* gone meanwhile */
		if (S_ISLNK(st.st_mode)) {
			if ((n = readlinkat(src, de->d_name, link,
			    sizeof(link) - 1)) < 0)
				continue;
			link[n] = '\0';
			if (symlinkat(link, dst, de->d_name) < 0) {
				rc = -errno;
				break;
			}
			continue;
		}
		if ((sfd = openat(src, de->d_name, O_PATH | O_NOFOLLOW |
		    O_CLOEXEC)) < 0)
			continue;
		tfd = shell_make_stub(dst, de->d_name, S_ISDIR(st.st_mode),
		    st.st_mode);
		if (tfd < 0 || (rc = shell_bind_fd(sfd, tfd, 0)) < 0) {
			rc = tfd < 0 ? tfd : rc;
			close(sfd);
			if (tfd >= 0)
				close(tfd);
			break;
		}
		close(sfd);
		close(tfd);
	}
	closedir(d);
	return rc;
}

/*
 * Lays a tmpfs of ours over the local directory dir, holding what dir
 * held (skip left out), so that a mount point can be made in it. The
 * new directory's fd (O_PATH), or -errno.
 */
static int
overlay_dir(struct shell_ns *c, int dir, const char *skip)
{
	const char *skips[2] = { skip, NULL };
	char name[32], s[64], d[64];
	struct stat st;
	int ov, rc = 0;

	if (fstat(dir, &st) < 0)
		return -errno;
	snprintf(name, sizeof(name), "ov%d", c->nov++);
	if ((ov = shell_new_tmpfs(c, name, st.st_mode)) < 0)
		return ov;
	if (fchownat(ov, "", st.st_uid, st.st_gid, AT_EMPTY_PATH) < 0 ||
	    (rc = shell_mirror_entries(dir, ov, skips)) < 0) {
		rc = rc < 0 ? rc : -errno;
		goto fail;
	}
	if (mount(shell_fdpath(ov, s, sizeof(s)), shell_fdpath(dir, d, sizeof(d)), NULL,
	    MS_MOVE, NULL) < 0) {
		rc = -errno;
		goto fail;
	}
	return ov;	/* the same mount, now over dir */
fail:
	close(ov);
	return rc;
}

/*
 * Walks the local path p from /, one component at a time, and returns an
 * O_PATH fd of it, made (as a directory if want_dir, else a file) on a
 * tmpfs of ours if it is not there or has the other type. The laptop's
 * symlinks are followed; the walk never enters the target's files.
 * -errno: -EXDEV if it would.
 */
int
shell_local_walk(struct shell_ns *c, const char *p, int want_dir)
{
	char rest[2 * PATH_MAX], link[PATH_MAX], comp[NAME_MAX + 1];
	int cur, fd, links = 0, rc;
	struct stat st;

	if ((cur = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	snprintf(rest, sizeof(rest), "%s", p);
	for (;;) {
		char *r = rest, *slash;
		size_t len;
		int last;

		while (*r == '/')
			r++;
		if (*r == '\0') {	/* p is "/" */
			rc = -EINVAL;
			goto out;
		}
		slash = strchr(r, '/');
		len = slash ? (size_t)(slash - r) : strlen(r);
		if (len > NAME_MAX) {
			rc = -ENAMETOOLONG;
			goto out;
		}
		memcpy(comp, r, len);
		comp[len] = '\0';
		memmove(rest, r + len, strlen(r + len) + 1);
		last = rest[strspn(rest, "/")] == '\0';
		if (is_fuse(cur)) {
			rc = -EXDEV;	/* inside the target's files */
			goto out;
		}
		if (strcmp(comp, ".") == 0)
			continue;
		fd = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
			ssize_t n;
			char tmp[2 * PATH_MAX];

			n = readlinkat(fd, "", link, sizeof(link) - 1);
			close(fd);
			if (n < 0 || ++links > SYMLINKS_MAX) {
				rc = n < 0 ? -errno : -ELOOP;
				goto out;
			}
			link[n] = '\0';
			if ((size_t)snprintf(tmp, sizeof(tmp), "%s/%s", link,
			    rest) >= sizeof(tmp)) {
				rc = -ENAMETOOLONG;
				goto out;
			}
			snprintf(rest, sizeof(rest), "%s", tmp);
			if (link[0] == '/') {
				close(cur);
				if ((cur = open("/", O_PATH | O_DIRECTORY |
				    O_CLOEXEC)) < 0)
					return -errno;
			}
			continue;
		}
		if (fd >= 0 && fstat(fd, &st) < 0) {
			close(fd);
			fd = -1;
		}
		if (fd >= 0 && (last ? !S_ISDIR(st.st_mode) == !want_dir :
		    S_ISDIR(st.st_mode))) {
			close(cur);
			cur = fd;
			if (last)
				return cur;
			continue;
		}
		if (fd < 0 && errno != ENOENT) {
			rc = -errno;
			goto out;
		}
		/* Missing, or of the other type: made in a tmpfs of ours. */
		if (!is_ours(c, cur)) {
			int ov = overlay_dir(c, cur, fd >= 0 ? comp : NULL);

			if (fd >= 0)
				close(fd);
			if (ov < 0) {
				rc = ov;
				goto out;
			}
			close(cur);
			cur = ov;
		} else if (fd >= 0) {
			close(fd);
			rc = -EEXIST;	/* a stub of ours, of the other type */
			goto out;
		}
		fd = shell_make_stub(cur, comp, last ? want_dir : 1, 0755);
		if (fd < 0) {
			rc = fd;
			goto out;
		}
		close(cur);
		cur = fd;
		if (last)
			return cur;
	}
out:
	close(cur);
	return rc;
}

void
shell_note_placed(struct shell_ns *c, const char *what)
{
	size_t n = strlen(c->placed);

	if (n + strlen(what) + 2 < sizeof(c->placed))
		snprintf(c->placed + n, sizeof(c->placed) - n, "%s%s",
		    n ? " " : "", what);
}

/* Binds the object open at src over the local path p. 0 or -errno. */
static int
place_over(struct shell_ns *c, int src, const char *p)
{
	struct stat st;
	int dst, rc;

	if (fstat(src, &st) < 0)
		return -errno;
	if ((dst = shell_local_walk(c, p, S_ISDIR(st.st_mode))) < 0)
		return dst;
	rc = shell_bind_fd(src, dst, 0);
	close(dst);
	if (rc == 0)
		shell_note_placed(c, p);
	return rc;
}

/*
 * fs.local below a placed path (a volume at /etc/app, fs.local
 * "/etc/app/local.yaml"): the name keeps the laptop's object. The path
 * is looked up in the volume (root, the bind's own root) inside it, as
 * the agent would, so no symlink of the target leads elsewhere; where it
 * ends on an object of the laptop's kind (a ConfigMap's file through its
 * ..data symlink), the laptop's is bound over it and the rest of the
 * volume stays live. Else (the target has none, a dangling link, the
 * other kind, or the laptop has none, lfd -ENOENT) the directory it is
 * in becomes a tmpfs of ours holding the target's entries but that name
 * (overlay_dir), plus the laptop's object under it: that directory's
 * entries are then a copy, new ones the target makes later do not show.
 */
static void
keep_local(struct shell_ns *c, int root, const char *l, const char *rel,
    int lfd)
{
	char dir[PATH_MAX];
	const char *name = strrchr(rel, '/');
	struct stat lst, st;
	int parent = -1, obj = -1, ov = -1, stub = -1, rc = 0;

	snprintf(dir, sizeof(dir), "%.*s", name ? (int)(name - rel) : 1,
	    name ? rel : ".");
	name = name ? name + 1 : rel;
	if ((parent = target_open(root, dir)) < 0) {
		rc = parent == -ENOENT && lfd < 0 ? 0 : parent;
		goto out;
	}
	if (lfd >= 0) {
		if (fstat(lfd, &lst) < 0) {
			rc = -errno;
			goto out;
		}
		obj = target_open(root, rel);
		if (obj >= 0 && fstat(obj, &st) == 0 &&
		    !S_ISDIR(st.st_mode) == !S_ISDIR(lst.st_mode)) {
			rc = shell_bind_fd(lfd, obj, 0);
			goto out;
		}
	} else if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		goto out;	/* neither has it */
	if (fstat(parent, &st) < 0 || !S_ISDIR(st.st_mode)) {
		rc = -ENOTDIR;
		goto out;
	}
	if ((ov = overlay_dir(c, parent, name)) < 0) {
		rc = ov;
		goto out;
	}
	if (lfd >= 0 && ((stub = shell_make_stub(ov, name, S_ISDIR(lst.st_mode),
	    lst.st_mode)) < 0 || (rc = shell_bind_fd(lfd, stub, 0)) < 0))
		rc = stub < 0 ? stub : rc;
out:
	if (rc < 0)
		fprintf(stderr, "mirrorctl: shell: cannot keep %s local: %s\n",
		    l, strerror(-rc));
	if (stub >= 0)
		close(stub);
	if (ov >= 0)
		close(ov);
	if (obj >= 0)
		close(obj);
	if (parent >= 0)
		close(parent);
}

/* The fs.local paths below p, placed just now. */
static void
keep_locals(struct shell_ns *c, const char *p)
{
	const struct layer_pattern *pat = c->local->pats[LAYER_T_LOCAL];
	int i, root;

	for (i = 0; i < c->local->npats[LAYER_T_LOCAL]; i++) {
		if (c->localfd[i] == LOCAL_UNUSED ||
		    !shell_path_below(pat[i].prefix, p))
			continue;
		/* The top of what is at p now (the bind, or a tmpfs of ours
		 * an earlier one laid over it): a lookup of p ends there. */
		if ((root = shell_local_walk(c, p, 1)) < 0) {
			fprintf(stderr, "mirrorctl: shell: cannot keep %s "
			    "local: %s\n", pat[i].prefix, strerror(-root));
			continue;
		}
		keep_local(c, root, pat[i].prefix, pat[i].prefix +
		    strlen(p) + (strcmp(p, "/") != 0), c->localfd[i]);
		close(root);
	}
}

/* fs.local as the layer reads it: paths, "~/..." under the user's
 * home, regexes. */
void
shell_local_rules(struct shell_ns *c)
{
	const struct conf_patterns *l = c->sp->local;
	int i;

	c->local = xcalloc(1, sizeof(*c->local));
	for (i = 0; l != NULL && i < l->n; i++)
		if (layer_rules_add(c->local, LAYER_T_LOCAL, l->v[i],
		    c->sp->home) < 0)
			shell_die("fs.local[%d]: \"%s\" is not a path (\"/dir\", "
			    "\"~/dir\") nor a valid POSIX extended regex", i,
			    l->v[i]);
}

/*
 * Opens, before any bind, the laptop's object at each fs.local path
 * that lies below one of the n paths about to be placed. Looked up with
 * the user's rights: the bind must not show the user a file that a
 * directory of the laptop's hides from them.
 */
static void
open_locals(struct shell_ns *c, const char *const *placed, int n)
{
	const struct layer_pattern *pat = c->local->pats[LAYER_T_LOCAL];
	int i, j, want;

	if (setgroups((size_t)c->sp->ngroups, c->sp->groups) < 0)
		shell_die("setgroups: %s", strerror(errno));
	for (i = 0; i < c->local->npats[LAYER_T_LOCAL]; i++) {
		c->localfd[i] = LOCAL_UNUSED;
		if (pat[i].prefix == NULL)
			continue;	/* a regex: for placed paths only */
		for (want = j = 0; j < n; j++)
			if (shell_path_below(pat[i].prefix, placed[j]))
				want = 1;
		/* Below another fs.local path: that one brings it. */
		for (j = 0; j < c->local->npats[LAYER_T_LOCAL]; j++)
			if (pat[j].prefix != NULL &&
			    shell_path_below(pat[i].prefix, pat[j].prefix))
				want = 0;
		if (!want)
			continue;
		(void)setfsgid(c->sp->gid);
		(void)setfsuid(c->sp->uid);
		if ((c->localfd[i] = open(pat[i].prefix, O_PATH | O_CLOEXEC)) < 0)
			c->localfd[i] = -errno;
		(void)setfsuid(0);
		(void)setfsgid(0);
		if (c->localfd[i] < 0 && c->localfd[i] != -ENOENT) {
			fprintf(stderr, "mirrorctl: shell: %s: %s; the "
			    "target's is hidden there\n", pat[i].prefix,
			    strerror(-c->localfd[i]));
			c->localfd[i] = -ENOENT;
		}
	}
}

/* The target's path p over the same local path; a path the target does
 * not have is left alone. */
static void
place_remote(struct shell_ns *c, const char *p)
{
	int src, rc;

	if (shell_path_refused(p, c->sp->home, c->sp->scratch,
	    c->sp->fuse_root)) {
		fprintf(stderr, "mirrorctl: shell: %s stays local\n", p);
		return;
	}
	if ((src = target_open(c->rootfd, p)) < 0) {
		if (src != -ENOENT && src != -ENOTDIR)
			fprintf(stderr, "mirrorctl: shell: %s of the target: "
			    "%s\n", p, strerror(-src));
		return;
	}
	if ((rc = place_over(c, src, p)) < 0)
		fprintf(stderr, "mirrorctl: shell: cannot place %s: %s\n", p,
		    rc == -EXDEV ? "it is inside a path placed already" :
		    strerror(-rc));
	else
		keep_locals(c, p);
	close(src);
}

/* The target's paths that are not fs.local, each but those below
 * another (that bind shows them, and the walk must not enter the
 * target's files); then the fs.local paths below them. */
void
shell_place_remotes(struct shell_ns *c)
{
	const char *keep[SHELL_PATHS_MAX], *placed[SHELL_PATHS_MAX];
	int i, nkeep = 0, n = 0;

	for (i = 0; i < c->sp->npaths; i++)
		if (!layer_rules_in(c->local, LAYER_T_LOCAL, c->sp->paths[i]))
			keep[nkeep++] = c->sp->paths[i];
	for (i = 0; i < nkeep; i++)
		if (!shell_path_covered(keep, nkeep, i))
			placed[n++] = keep[i];
	open_locals(c, placed, n);
	for (i = 0; i < n; i++)
		place_remote(c, placed[i]);
	for (i = 0; i < c->local->npats[LAYER_T_LOCAL]; i++)
		if (c->localfd[i] >= 0)
			close(c->localfd[i]);
}

/* A file of the target over the same local file (/etc/hosts,
 * /etc/hostname): only a regular file. */
void
shell_place_file(struct shell_ns *c, const char *p)
{
	struct stat st;
	int src, rc;

	if (layer_rules_in(c->local, LAYER_T_LOCAL, p) ||
	    (src = target_open(c->rootfd, p)) < 0)
		return;
	if (fstat(src, &st) == 0 && S_ISREG(st.st_mode) &&
	    (rc = place_over(c, src, p)) < 0)
		fprintf(stderr, "mirrorctl: shell: cannot place %s: %s\n", p,
		    strerror(-rc));
	close(src);
}

/* resolv.conf: ours is a local file (the session's), trusted. */
void
shell_place_resolv(struct shell_ns *c, const char *resolv, int treefd)
{
	int src, dst, rc = 0;

	if (resolv[0] == '\0')
		return;
	if ((src = open(resolv, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		fprintf(stderr, "mirrorctl: shell: %s: %s\n", resolv,
		    strerror(errno));
		return;
	}
	if (treefd >= 0)	/* --chroot: the target's own, in its root */
		dst = target_open(treefd, "/etc/resolv.conf");
	else
		dst = shell_local_walk(c, "/etc/resolv.conf", 0);
	if (dst < 0 || (rc = shell_bind_fd(src, dst, 0)) < 0)
		fprintf(stderr, "mirrorctl: shell: cannot place "
		    "/etc/resolv.conf: %s\n", strerror(dst < 0 ? -dst : -rc));
	else
		shell_note_placed(c, "/etc/resolv.conf");
	if (dst >= 0)
		close(dst);
	close(src);
}
