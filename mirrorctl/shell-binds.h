/*
 * The bind placement of a shell's mount namespace (shell-binds.c), for
 * the namespace child (shell-ns.c): the state both share and the calls
 * it makes. 0 / -errno returns; shell_die prints one line and exits.
 */
#ifndef MIRRORCTL_SHELL_BINDS_H
#define MIRRORCTL_SHELL_BINDS_H

#include <stddef.h>
#include <sys/types.h>

#include "../layer/rules.h"

struct shell_spec;

#define SHELL_OURS_MAX	64	/* tmpfs mounts the shell laid down */

/* What the child built so far; its own, one thread. */
struct shell_ns {
	struct shell_spec *sp;
	int		 scratchfd;	/* the shell's tmpfs */
	int		 rootfd;	/* the target's root (a FUSE bind) */
	dev_t		 ours[SHELL_OURS_MAX]; /* st_dev of our tmpfs mounts */
	int		 nours;
	int		 nov;		/* overlays made, for their names */
	char		 placed[2048];	/* what was placed, for status */
	struct layer_rules *local;	/* fs.local, as the layer reads it */
	/* The laptop's object at each fs.local path below a placed one,
	 * opened before any bind: an fd, -ENOENT (the laptop has none: the
	 * target's is hidden), or unused (not below a placed path). */
	int		 localfd[LAYER_PATTERNS_MAX];
};

/* One clear line, then exit 126: the parent passes the status on. */
void	shell_die(const char *fmt, ...)
	    __attribute__((noreturn, format(printf, 1, 2)));
/* "/proc/self/fd/FD" in buf. */
const char *shell_fdpath(int fd, char *buf, size_t sz);
/* Binds the object open at src over the one open at dst (MS_REC). */
int	shell_bind_fd(int src, int dst, unsigned long extra);
/* Notes fd's filesystem as a tmpfs of ours (stubs may be made in it). */
void	shell_add_ours(struct shell_ns *c, int fd);
/* A fresh tmpfs on scratch/NAME: its root fd (O_PATH), or -errno. */
int	shell_new_tmpfs(struct shell_ns *c, const char *name, mode_t mode);
/* A directory or empty file NAME in dir to mount on: O_PATH fd. */
int	shell_make_stub(int dir, const char *name, int want_dir, mode_t mode);
/* The entries of src (but the names in skip) into dst, a tmpfs of
 * ours: stubs bound over by each, symlinks copied, never followed. */
int	shell_mirror_entries(int src, int dst, const char *const *skip);
/* The local path p walked from /, made on a tmpfs of ours if missing or
 * of the other kind: an O_PATH fd; -EXDEV if it leads into the
 * target's files. */
int	shell_local_walk(struct shell_ns *c, const char *p, int want_dir);
/* Adds what to the list of placed paths "mirrorctl status" shows. */
void	shell_note_placed(struct shell_ns *c, const char *what);
/* c->local from the spec's fs.local; dies on a pattern that does not
 * compile. */
void	shell_local_rules(struct shell_ns *c);
/* The spec's paths from the target over the local ones, fs.local kept. */
void	shell_place_remotes(struct shell_ns *c);
/* A regular file of the target over the same local path (/etc/hosts). */
void	shell_place_file(struct shell_ns *c, const char *p);
/* The shell's resolv.conf over /etc/resolv.conf, or (treefd >= 0, for
 * --chroot) over the one in the tree open at treefd. */
void	shell_place_resolv(struct shell_ns *c, const char *resolv,
	    int treefd);

#endif
