/*
 * The keeper of a "mirrorctl shell": a small process of its own session
 * (no terminal signals reach it) that outlives mirrorctl. It waits for
 * EOF on a pipe only mirrorctl writes to, which comes when mirrorctl is
 * done with the shell or is killed (SIGKILL included), then ends every
 * process left in the shell's network namespace (so its namespaces go),
 * stops the shell's netd, and, if the shell made the mount and no other
 * shell uses it now, unmounts it and stops its mountd and agent. One
 * path for a normal exit and a killed mirrorctl, so the test of one is a
 * test of the other.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "ctx.h"
#include "mirrorctl.h"
#include "procfs.h"
#include "shell.h"
#include "statedir.h"
#include "xmalloc.h"

#define NS_KILL_MS	3000	/* for the shell's processes to go */
#define NS_POLL_MS	20

int
shell_lock(void)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%.4000s/sessions", state_dir("mirrorctl"));
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return ctl_fail("cannot create %s: %s", path,
		    strerror(errno));
	snprintf(path, sizeof(path), "%.4000s/sessions/.shells.lock",
	    state_dir("mirrorctl"));
	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) < 0)
		return ctl_fail("cannot open %s: %s", path, strerror(errno));
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			close(fd);
			return ctl_fail("cannot lock %s: %s", path,
			    strerror(errno));
		}
	return fd;
}

void
shell_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* SIGKILLs every process in the network namespace netns but spare,
 * until none is left. 0, or -ETIMEDOUT. The shell's netd is spared: its
 * relay thread made it one of the namespace's, and it is stopped with
 * SIGTERM next, so it says goodbye to the agent and takes its device
 * down itself. */
static int
kill_netns(unsigned long long netns, pid_t spare)
{
	char path[64];
	struct dirent *de;
	struct stat st;
	int waited, found;
	DIR *d;

	for (waited = 0; waited < NS_KILL_MS; waited += NS_POLL_MS) {
		if ((d = opendir("/proc")) == NULL)
			return -errno;
		found = 0;
		while ((de = readdir(d)) != NULL) {
			pid_t pid = (pid_t)atoi(de->d_name);

			if (pid <= 0 || pid == spare)
				continue;
			snprintf(path, sizeof(path), "/proc/%d/ns/net",
			    (int)pid);
			if (stat(path, &st) < 0 || st.st_ino != netns ||
			    !procfs_alive(pid))
				continue;
			found = 1;
			kill(pid, SIGKILL);
		}
		closedir(d);
		if (!found)
			return 0;
		usleep(NS_POLL_MS * 1000);
	}
	return -ETIMEDOUT;
}

/* The last shell on a mount it made: unmount, stop mountd and agent. */
static void
release_mount(const char *dir)
{
	struct session_shell *shells;
	struct session s;
	size_t n;

	if (session_load(dir, &s) < 0 || !s.by_shell)
		return;
	session_shell_list(&s, &shells, &n);
	x_free(shells);
	if (n > 0)
		return;
	if (umount2(s.mountpoint, 0) < 0 && errno != EINVAL &&
	    errno != ENOENT)
		(void)umount2(s.mountpoint, MNT_DETACH);
	session_stop_proc(s.mountd_pid, s.mountd_start, 3000);
	ctl_agent_stop(&s);
	rmdir(s.mountpoint);
	session_remove(&s);
}

static void
keeper_cleanup(const struct session *s, const char *scratch)
{
	struct session_shell *shells, sh;
	struct ctx_net cn;
	char rules[PATH_MAX + 32];
	size_t n, i;
	int lockfd = shell_lock();

	memset(&sh, 0, sizeof(sh));
	session_shell_list(s, &shells, &n);
	for (i = 0; i < n; i++)
		if (shells[i].keeper == getpid())
			sh = shells[i];
	x_free(shells);
	if (sh.child > 0)
		session_stop_proc(sh.child, sh.child_start, 0);
	if (sh.netns != 0 && kill_netns(sh.netns, sh.netd_pid) < 0)
		fprintf(stderr, "mirrorctl: shell: processes of the shell "
		    "did not end\n");
	memset(&cn, 0, sizeof(cn));
	cn.netd_pid = sh.netd_pid;
	cn.netd_start = sh.netd_start;
	if (cn.netd_pid > 0)
		ctx_net_stop(&cn);
	session_shell_remove(s, getpid());
	/* exec's layer rules, if any (cmd-shell.c) */
	snprintf(rules, sizeof(rules), "%s/%s", scratch, SHELL_LAYER_RULES);
	unlink(rules);
	rmdir(scratch);
	release_mount(s->dir);
	shell_unlock(lockfd);
}

pid_t
shell_keeper_start(const struct session *s, int fd, int lockfd,
    const char *scratch)
{
	pid_t pid;
	char b;
	int i, nfd;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0)
		return ctl_fail("fork: %s", strerror(errno));
	if (pid > 0)
		return pid;
	/* Only the pipe's read end: mirrorctl's write end must not stay
	 * open here, nor the lock's description. */
	(void)lockfd;
	for (i = 3; i < 1024; i++)
		if (i != fd)
			close(i);
	setsid();
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	if (chdir("/") < 0)
		_exit(1);
	if ((nfd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(nfd, 0);
		dup2(nfd, 1);
		if (nfd > 2)
			close(nfd);
	}
	while (read(fd, &b, 1) != 0)
		if (errno != EINTR)
			break;
	keeper_cleanup(s, scratch);
	_exit(0);
}
