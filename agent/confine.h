/*
 * Confinement of the agent's file service to the target's root: every
 * path a client names is resolved under the root fd with
 * openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), and every symlink
 * target it reads back is rewritten so that the client's kernel,
 * following it through the mount, stays inside the root. This is the
 * security boundary between a client and the host the agent runs on:
 * no host path is ever built by string concatenation, and nothing here
 * opens a node the caller did not mean (a fifo, a device).
 */
#ifndef MIRROR_AGENT_CONFINE_H
#define MIRROR_AGENT_CONFINE_H

#include <stddef.h>
#include <sys/types.h>

struct agent_fs;

/* Path bytes per openat2() call: a longer path is resolved a piece at a
 * time, each piece under the directory the last one reached. */
#define RESOLVE_CHUNK		3072

/*
 * Set on the service thread while it serves a metadata request itself
 * (agent/main.c): every resolution then stays on the mounts it starts
 * from (RESOLVE_NO_XDEV), so no syscall reaches a file system that may
 * block (NFS, FUSE, procfs), and takes only what the dentry cache holds
 * (RESOLVE_CACHED), so none waits for a disk read. confine_crossed says
 * one had to stop (a mount point, a name not cached); the request is
 * then given to a worker, from the start.
 */
extern _Thread_local int confine_same_mount, confine_crossed;

/* Opens the root: a directory, or /proc/PID/root. 0 or -errno. */
int	agent_fs_open_root(struct agent_fs *, const char *dir, int pid);
/* Opens path (absolute within the target) under the root, confined as
 * every request is. Returns an fd (caller closes) or -errno. */
int	agent_fs_open_in_root(struct agent_fs *, const char *path, int flags);
/* The same with the mode for O_CREAT or O_TMPFILE. */
int	confine_open_mode(struct agent_fs *, const char *path, int flags,
	    mode_t mode);

/* The kinds of node confine_open_checked() may open. */
#define CONFINE_OPEN_REG	0x1
#define CONFINE_OPEN_DIR	0x2

/*
 * Opens path under the root, only if it is one of types: a fifo or a
 * socket is ENXIO, a device EACCES, a directory not asked for EISDIR, a
 * symlink under O_NOFOLLOW ELOOP. The type checked is the type opened.
 * flags are open(2)'s. Returns an fd (caller closes) or -errno.
 */
int	confine_open_checked(struct agent_fs *, const char *path, int flags,
	    int types);
/* The same, for content the pod controls: only a regular file is
 * opened (a fifo is ENXIO, a device EACCES), never anything else. */
int	agent_fs_open_regular_in_root(struct agent_fs *, const char *path,
	    int flags);
/*
 * Opens path's parent directory (O_PATH) under the root into *dirfd;
 * *name points into path at the last component, which must be one
 * plain name (proto_name_ok), else -EINVAL. path is restored before
 * return. 0 or -errno.
 */
int	confine_open_parent(struct agent_fs *, char *path, const char **name,
	    int *dirfd);

/* The readlink target rewritten so that, followed from the link's
 * directory, it stays inside the root. 0 or -errno (-ENAMETOOLONG when
 * the answer does not fit in outsz). */
int	agent_fs_confine_link(struct agent_fs *, const char *linkpath,
	    const char *target, char *out, size_t outsz);

#endif
