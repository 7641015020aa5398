/*
 * Small readers of /proc that mirrorctl, the demo helper and the agent
 * share: a whole small file (any, not only /proc's), a process's state,
 * parent and start time (/proc/PID/stat), whether it is still alive,
 * and whether its cgroups name a container.
 */
#ifndef MIRROR_PROCFS_H
#define MIRROR_PROCFS_H

#include <stddef.h>
#include <sys/types.h>

#define PROCFS_CONTAINER_ID_MAX	64	/* hex digits of a full container ID */
#define PROCFS_CGROUP_MAX	16384	/* /proc/PID/cgroup, all hierarchies */

/* What /proc/PID/stat says of a process (fields 3, 4 and 22). */
struct procfs_stat {
	char			state;	/* 'R', 'S', ... 'Z' zombie, 'X' dead */
	int			ppid;
	unsigned long long	start;	/* clock ticks after boot */
};

/* Reads a whole small file (a /proc one, a pid file; up to size - 1
 * bytes) into buf, NUL-terminated. Returns its length or -errno. */
ssize_t	read_small_file(const char *path, char *buf, size_t size);
/* 0, -errno if /proc/PID/stat cannot be read (-ENOENT: gone), -EINVAL
 * if it cannot be parsed. */
int	procfs_stat(pid_t pid, struct procfs_stat *st);
/* True if pid exists and has not exited (a zombie nobody reaped yet
 * has). A process whose stat is there but unreadable counts as alive. */
int	procfs_alive(pid_t pid);
/* pid's start time (field 22), with the pid a stable identity of a
 * process; 0 if gone or exited. */
unsigned long long procfs_start_time(pid_t pid);
/*
 * Does a /proc/PID/cgroup text name the container whose ID is, or
 * starts with, id? A runtime names a container's cgroup directory
 * after its ID, after a prefix (cri-containerd-, crio-, docker-,
 * libpod-, or none) and before an optional ".scope"; "libpod-conmon-ID"
 * (podman's monitor) is not the container. full gets the whole ID
 * (fullsz at least PROCFS_CONTAINER_ID_MAX + 1).
 */
int	procfs_cgroup_names(const char *text, const char *id, char *full,
	    size_t fullsz);

#endif
