/*
 * A mount session's state, one directory per mount under
 * ctl_state_dir()/sessions/: what was mounted where, by which
 * processes, and the token file of an agent mirrorctl started.
 *
 * A PID in a state file may have been reused by the time it is read: each
 * is saved with its process's start time (field 22 of /proc/PID/stat),
 * and session_load keeps it only while that process still runs, started
 * then, as the program mirrorctl ran there; otherwise it reads as 0 (gone).
 */
#ifndef MIRRORCTL_SESSION_H
#define MIRRORCTL_SESSION_H

#include <limits.h>
#include <sys/types.h>
#include <time.h>

struct session {
	char	dir[PATH_MAX];		/* the session's state directory */
	char	target[512];
	char	mountpoint[PATH_MAX];
	char	url[512];
	char	fingerprint[72];	/* wss://: the agent's cert SHA-256 */
	char	token_file[PATH_MAX];	/* what mountd and netd present */
	pid_t	mountd_pid;
	pid_t	agent_pid;		/* 0 unless mirrorctl started it */
	pid_t	pf_pid;			/* the kubectl port-forward keeper */
	int	rw;			/* a writable mount */
	int	net;			/* a connect session (no mount) */
	pid_t	netd_pid;
	char	dev[32];		/* netd's TUN device */
	time_t	started;
	/* Start times of the processes above (procfs_start_time), filled
	 * in by session_save; 0 while not known. */
	unsigned long long mountd_start, agent_start, pf_start, netd_start;
	int	by_shell;		/* a shell's own mount: unmounted when
					 * its last shell exits */
};

/*
 * A shell on a mount session ("mirrorctl shell"), one file shell-PID in
 * the session's directory. keeper is the process that cleans up after
 * the shell (cmd-shell.c); the record counts while it runs.
 */
#define SESSION_PLACED_MAX	2048
struct session_shell {
	pid_t	keeper;			/* PID in the file's name */
	unsigned long long keeper_start;
	pid_t	ctl;			/* the mirrorctl that waits */
	pid_t	child;			/* the shell (its namespaces) */
	unsigned long long child_start;
	pid_t	netd_pid;		/* the shell's netd, 0 if none */
	unsigned long long netd_start;
	unsigned long long netns;	/* inode of its network namespace */
	uid_t	uid;			/* the shell's user */
	int	chroot;
	char	placed[SESSION_PLACED_MAX]; /* "PATH PATH ...": bound over */
};

/* Makes a new, empty session directory (0700). 0 or -errno. */
int	session_create(struct session *);
/* Writes the state file; records the start time of each PID whose
 * start is not known yet (a process just started). 0 or -errno. */
int	session_save(struct session *);
/* Reads a state file. A PID whose process is gone, or is now another
 * process (a different start time, another program), reads as 0. */
int	session_load(const char *dir, struct session *);
/* The session whose mountpoint is path; 0 or -ENOENT. */
int	session_find(const char *mountpoint, struct session *);
/* All sessions; caller frees *out. */
int	session_list(struct session **out, size_t *n);
/* Writes (replaces) sh's record in s; fills in the start times. 0 or
 * -errno. */
int	session_shell_save(const struct session *s, struct session_shell *sh);
/* The records of s whose keeper still runs; caller frees *out. */
int	session_shell_list(const struct session *s, struct session_shell **out,
	    size_t *n);
void	session_shell_remove(const struct session *s, pid_t keeper);
/* Removes the session's directory and everything in it. */
void	session_remove(const struct session *);
/* path inside the session directory; borrowed static buffer. */
const char *session_file(const struct session *, const char *name);
/* path made absolute and normalized without touching the file system
 * (a dead FUSE mount cannot be resolved). buf holds PATH_MAX. */
int	session_abspath(const char *path, char *buf);
/* SIGTERM, wait up to ms, then SIGKILL. Only for a PID that cannot have
 * been reused: a child not yet reaped. */
void	session_stop_pid(pid_t pid, int ms);
/* As session_stop_pid for a PID read from a state file: signals it only
 * if it is still the process that started at start (through a pidfd,
 * so it cannot be reused between the check and the signal). start 0:
 * our own child, as session_stop_pid. */
void	session_stop_proc(pid_t pid, unsigned long long start, int ms);

#endif
