/*
 * mirror-demo: the verbs "mirrorctl demo" runs (up, down, purge,
 * status), the pod's state directory, its pid file and the lock that
 * serialises them. See demo.h for what the demo pod is and where its
 * parts live.
 *
 * usage: mirror-demo up [-q] [--pid-fd FD] | down [-q] | purge [-q] |
 *        status
 * Exits 0 on success, 1 after printing the cause of a failure, 2 on a
 * usage error. "up --pid-fd FD" also writes the pod's PID, one line, to
 * FD (mirrorctl's "mount demo" needs it).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "procfs.h"
#include "statedir.h"
#include "xmalloc.h"
#include "demo.h"

int
demo_error(const char *fmt, ...)
{
	va_list ap;

	fputs(DEMO_PROGNAME ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static int
demo_paths_init(struct demo_paths *p)
{
	const char *state;

	memset(p, 0, sizeof(*p));
	if ((state = state_dir(DEMO_PROGNAME)) == NULL)
		return -EACCES;
	xasprintf(&p->dir, "%s/demo", state);
	xasprintf(&p->pidfile, "%s/pid", p->dir);
	xasprintf(&p->lockfile, "%s/lock", p->dir);
	xasprintf(&p->rootfs, "%s/rootfs", p->dir);
	xasprintf(&p->rootfs_tmp, "%s/rootfs.tmp", p->dir);
	xasprintf(&p->version, "%s/rootfs.version", p->dir);
	return 0;
}

static void
demo_paths_free(struct demo_paths *p)
{
	x_free(p->dir);
	x_free(p->pidfile);
	x_free(p->lockfile);
	x_free(p->rootfs);
	x_free(p->rootfs_tmp);
	x_free(p->version);
}

static int
demo_need_root(void)
{
	if (geteuid() != 0) {
		demo_error("the demo pod needs root (run with sudo)");
		return -EPERM;
	}
	return 0;
}

/* Takes the demo's lock; *fd is closed by the caller to release it. */
static int
demo_lock(struct demo_paths *p, int *fd)
{
	int error = 0;

	*fd = -1;
	if (mkdir(p->dir, 0700) == -1 && errno != EEXIST) {
		error = -errno;
		demo_error("cannot create %s: %s", p->dir, strerror(errno));
		goto out;
	}
	if ((*fd = open(p->lockfile, O_RDWR|O_CREAT|O_CLOEXEC, 0600)) == -1) {
		error = -errno;
		demo_error("cannot open %s: %s", p->lockfile, strerror(errno));
		goto out;
	}
	while (flock(*fd, LOCK_EX) == -1) {
		if (errno == EINTR)
			continue;
		error = -errno;
		demo_error("cannot lock %s: %s", p->lockfile, strerror(errno));
		close(*fd);
		*fd = -1;
		goto out;
	}
out:
	return error;
}

void
demo_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
demo_read_pidfile(const char *pidfile, pid_t *pid)
{
	char buf[32], *end;
	ssize_t n;
	long v;

	if ((n = read_small_file(pidfile, buf, sizeof(buf))) < 0)
		return n;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || (*end != '\n' && *end != '\0') ||
	    v <= 1 || v > INT_MAX)
		return -EINVAL;
	*pid = v;
	return 0;
}

static int
demo_write_pidfile(struct demo_paths *p, pid_t pid)
{
	char *tmp, buf[32];
	int fd, len, error = 0;

	xasprintf(&tmp, "%s.tmp", p->pidfile);
	len = snprintf(buf, sizeof(buf), "%ld\n", (long)pid);
	fd = open(tmp, O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC|O_NOFOLLOW, 0644);
	if (fd == -1 || write(fd, buf, len) != len) {
		error = -errno;
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		error = -errno;
		goto out;
	}
	fd = -1;
	if (rename(tmp, p->pidfile) == -1)
		error = -errno;
out:
	if (fd != -1)
		close(fd);
	if (error != 0) {
		demo_error("cannot write %s: %s", p->pidfile, strerror(-error));
		unlink(tmp);
	}
	x_free(tmp);
	return error;
}

static int
demo_running_pid(pid_t *pid)
{
	struct demo_paths p;
	pid_t found = -1;
	int error;

	if ((error = demo_paths_init(&p)) != 0)
		return error;
	if ((error = demo_read_pidfile(p.pidfile, &found)) == 0)
		error = demo_is_our_pod(found, p.rootfs);
	if (error == -ESRCH || error == -EINVAL) {
		/* Stale: the pod died without "demo down". */
		unlink(p.pidfile);
		error = -ENOENT;
	}
	if (error == 0)
		*pid = found;
	demo_paths_free(&p);
	return error;
}

static void
demo_print_status(pid_t pid)
{
	const char *state = state_dir(DEMO_PROGNAME);

	printf("pid %ld\n", (long)pid);
	printf("address %s\n", DEMO_POD_ADDR);
	printf("hostname %s\n", DEMO_HOSTNAME);
	printf("rootfs %s/demo/rootfs\n", state != NULL ? state : "?");
	printf("interface %s %s\n", DEMO_HOST_IFNAME, DEMO_HOST_ADDR);
	fflush(stdout);
}

/*
 * What up and down start with: root, the state directory, the lock.
 * 0 with *p set up and *lock held, or -errno (said) with nothing held.
 */
static int
demo_begin(struct demo_paths *p, int *lock)
{
	int error;

	*lock = -1;
	if ((error = demo_need_root()) != 0)
		return error;
	if ((error = demo_paths_init(p)) != 0) {
		demo_error("cannot use the state directory: %s",
		    strerror(-error));
		return error;
	}
	if ((error = demo_lock(p, lock)) != 0)
		demo_paths_free(p);
	return error;
}

static int
demo_up(int quiet, pid_t *pid)
{
	struct demo_paths p;
	char *ip = NULL;
	pid_t pod = -1;
	int lock = -1, error, started = 0, linked = 0;

	if ((error = demo_begin(&p, &lock)) != 0)
		return error;

	if ((error = demo_running_pid(&pod)) == 0) {
		if (!quiet)
			demo_print_status(pod);
		*pid = pod;
		goto out;
	}
	if (error != -ENOENT) {
		demo_error("cannot read %s: %s", p.pidfile, strerror(-error));
		goto out;
	}
	if (demo_find_program("ip", &ip) != 0) {
		demo_error("the ip command is missing: "
		    "apt-get install iproute2");
		error = -ENOENT;
		goto out;
	}
	if (demo_link_exists()) {
		demo_error("network interface %s already exists: another demo "
		    "pod runs (stop it with mirrorctl demo down, under its "
		    "MIRROR_STATE_DIR) or one left it (ip link del %s)",
		    DEMO_HOST_IFNAME, DEMO_HOST_IFNAME);
		error = -EEXIST;
		goto out;
	}
	if ((error = demo_net_check()) != 0)
		goto out;
	if (demo_rootfs_current(&p) != 0) {
		if ((error = demo_rootfs_build(&p, quiet)) != 0)
			goto out;
	}

	if (!quiet) {
		printf("starting demo pod ...\n");
		fflush(stdout);
	}
	if ((error = demo_pod_start(&p, &pod)) != 0)
		goto out;
	started = 1;
	/* Written first, so that "demo down" can clean up after a failure
	 * that even this process does not survive. */
	if ((error = demo_write_pidfile(&p, pod)) != 0)
		goto out;
	linked = 1;
	if ((error = demo_net_up(ip, pod)) != 0)
		goto out;
	if ((error = demo_wait_http(pod)) != 0)
		goto out;
	*pid = pod;
	if (!quiet)
		demo_print_status(pod);
out:
	if (error != 0 && started) {
		kill(pod, SIGKILL);
		demo_wait_gone(pod, DEMO_KILL_MS);
		if (linked)
			demo_net_down(ip);
		unlink(p.pidfile);
	}
	if (lock != -1)
		close(lock);
	x_free(ip);
	demo_paths_free(&p);
	return error;
}

static int
demo_down(int quiet)
{
	struct demo_paths p;
	char *ip = NULL;
	pid_t pod;
	int lock = -1, error;

	if ((error = demo_begin(&p, &lock)) != 0)
		return error;
	if ((error = demo_running_pid(&pod)) == -ENOENT) {
		if (!quiet)
			printf("demo pod is not running\n");
		error = 0;
		goto out;
	}
	if (error != 0) {
		demo_error("cannot read %s: %s", p.pidfile, strerror(-error));
		goto out;
	}

	if (!quiet) {
		printf("stopping demo pod (pid %ld)\n", (long)pod);
		fflush(stdout);
	}
	if (kill(pod, SIGTERM) == -1 && errno != ESRCH) {
		error = -errno;
		demo_error("cannot stop the demo pod (pid %ld): %s", (long)pod,
		    strerror(errno));
		goto out;
	}
	if (demo_wait_gone(pod, DEMO_STOP_MS) != 0) {
		kill(pod, SIGKILL);
		if ((error = demo_wait_gone(pod, DEMO_KILL_MS)) != 0) {
			demo_error("the demo pod (pid %ld) did not stop",
			    (long)pod);
			goto out;
		}
	}
	/* Something still inside the pod's network namespace (an nsenter
	 * shell, an agent) keeps the link alive: remove it ourselves. */
	if (demo_find_program("ip", &ip) == 0)
		demo_net_down(ip);
	else if (demo_link_exists())
		demo_error("cannot remove %s: the ip command is missing: "
		    "apt-get install iproute2", DEMO_HOST_IFNAME);
	if (unlink(p.pidfile) == -1 && errno != ENOENT) {
		error = -errno;
		demo_error("cannot remove %s: %s", p.pidfile, strerror(errno));
		goto out;
	}
	if (!quiet)
		printf("demo pod stopped\n");
out:
	if (lock != -1)
		close(lock);
	x_free(ip);
	demo_paths_free(&p);
	return error;
}

static int
demo_purge(int quiet)
{
	struct demo_paths p;
	pid_t pod;
	int lock = -1, error;

	if ((error = demo_need_root()) != 0)
		return error;
	if ((error = demo_paths_init(&p)) != 0)
		return error;
	if ((error = demo_lock(&p, &lock)) != 0)
		goto out;
	if (demo_running_pid(&pod) == 0) {
		demo_error("the demo pod is running (stop it first with: "
		    "mirrorctl demo down)");
		error = -EBUSY;
		goto out;
	}
	unlink(p.version);
	if ((error = demo_rm_tree(p.rootfs_tmp)) != 0 ||
	    (error = demo_rm_tree(p.rootfs)) != 0) {
		demo_error("cannot remove %s: %s", p.rootfs, strerror(-error));
		goto out;
	}
	if (!quiet)
		printf("removed %s\n", p.rootfs);
out:
	if (lock != -1)
		close(lock);
	demo_paths_free(&p);
	return error;
}

static int
demo_status(void)
{
	pid_t pid;
	int error;

	if ((error = demo_running_pid(&pid)) == 0) {
		demo_print_status(pid);
		return 0;
	}
	if (error == -ENOENT)
		return demo_error("demo pod is not running (start it with: "
		    "mirrorctl demo up)");
	if (error == -EACCES || error == -EPERM)
		return demo_error("cannot read the demo pod's state in "
		    "%s/demo: %s (run with sudo)", state_dir(DEMO_PROGNAME),
		    strerror(-error));
	return demo_error("cannot read the demo pod's state in %s/demo: %s",
	    state_dir(DEMO_PROGNAME), strerror(-error));
}

static int
demo_usage(void)
{
	fprintf(stderr, "usage: mirror-demo up [-q] [--pid-fd FD] | "
	    "down [-q] | purge [-q] | status\n"
	    "(a helper of mirrorctl: see \"mirrorctl demo --help\")\n");
	return 2;
}

int
main(int argc, char **argv)
{
	const char *verb;
	char *end;
	pid_t pid;
	long v;
	int i, quiet = 0, pidfd = -1;

	log_init(DEMO_PROGNAME, LOG_LVL_WARN);
	if (argc < 2)
		return demo_usage();
	verb = argv[1];
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "-q") == 0)
			quiet = 1;
		else if (strcmp(argv[i], "--pid-fd") == 0 && i + 1 < argc &&
		    strcmp(verb, "up") == 0) {
			errno = 0;
			v = strtol(argv[++i], &end, 10);
			if (errno != 0 || *end != '\0' || v <= STDERR_FILENO ||
			    v > INT_MAX)
				return demo_usage();
			pidfd = (int)v;
			/* Not for the pod, nor for ip. */
			if (fcntl(pidfd, F_SETFD, FD_CLOEXEC) == -1)
				return demo_usage();
		} else
			return demo_usage();
	}

	if (strcmp(verb, "status") == 0 && !quiet)
		return demo_status();
	if (strcmp(verb, "up") == 0) {
		if (demo_up(quiet, &pid) != 0)
			return 1;
		if (pidfd != -1)
			dprintf(pidfd, "%ld\n", (long)pid);
		return 0;
	}
	if (strcmp(verb, "down") == 0)
		return demo_down(quiet) == 0 ? 0 : 1;
	if (strcmp(verb, "purge") == 0)
		return demo_purge(quiet) == 0 ? 0 : 1;
	return demo_usage();
}
