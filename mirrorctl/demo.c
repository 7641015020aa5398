/*
 * Running mirror-demo, the demo pod's runtime (demo/), for "mirrorctl
 * demo" and the "demo" target. The helper is found like the daemons
 * (ctl_program_path: $MIRROR_DEMO, next to mirrorctl or one level up in
 * the build tree), and else where "make install" puts it: it is not a
 * command users type, so it lives in pkglibexecdir, not bindir.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xmalloc.h"
#include "mirrorctl.h"
#include "demo.h"

#define DEMO_HELPER		"mirror-demo"

/* Caller frees. */
static char *
demo_helper_path(void)
{
	char *path = ctl_program_path(DEMO_HELPER);

	if (access(path, X_OK) == 0)
		return path;
	x_free(path);
	xasprintf(&path, "%s/%s", MIRROR_PKGLIBEXECDIR, DEMO_HELPER);
	return path;
}

/*
 * Runs the helper with argv[1..] (argv[0] is filled in) on mirrorctl's
 * stdin, stdout and stderr, keeping pidfd open in it. Returns its exit
 * code, 1 after printing why it could not run or did not end.
 */
static int
demo_helper_run(const char *argv[], int pidfd)
{
	char *path = demo_helper_path();
	pid_t child;
	int status, rc = 1;

	argv[0] = path;
	fflush(stdout);
	fflush(stderr);
	if ((child = fork()) == -1) {
		ctl_fail("cannot run %s: %s", path, strerror(errno));
		goto out;
	}
	if (child == 0) {
		if (pidfd != -1)
			fcntl(pidfd, F_SETFD, 0);
		execv(path, (char **)argv);
		ctl_fail("cannot run %s: %s", path, strerror(errno));
		_exit(1);
	}
	while (waitpid(child, &status, 0) == -1) {
		if (errno != EINTR) {
			ctl_fail("waiting for %s: %s", path, strerror(errno));
			goto out;
		}
	}
	if (WIFEXITED(status))
		rc = WEXITSTATUS(status);
	else
		ctl_fail("%s was killed by signal %d", path,
		    WTERMSIG(status));
out:
	x_free(path);
	return rc;
}

int
demo_helper(const char *verb, int quiet)
{
	const char *argv[] = { NULL, verb, quiet ? "-q" : NULL, NULL };

	return demo_helper_run(argv, -1);
}

int
demo_up(int quiet, pid_t *pid)
{
	const char *argv[] = { NULL, "up", "--pid-fd", NULL, NULL, NULL };
	char fdstr[16], buf[32], *end;
	ssize_t n;
	long v;
	int fds[2], rc;

	if (pipe2(fds, O_CLOEXEC|O_NONBLOCK) == -1) {
		ctl_fail("cannot start the demo pod: pipe: %s",
		    strerror(errno));
		return -1;
	}
	snprintf(fdstr, sizeof(fdstr), "%d", fds[1]);
	argv[3] = fdstr;
	argv[4] = quiet ? "-q" : NULL;
	rc = demo_helper_run(argv, fds[1]);
	close(fds[1]);
	/* The helper wrote its one line before it exited. */
	n = rc == 0 ? read(fds[0], buf, sizeof(buf) - 1) : -1;
	close(fds[0]);
	if (rc != 0)
		return -1;
	buf[n > 0 ? n : 0] = '\0';
	errno = 0;
	v = strtol(buf, &end, 10);
	if (n <= 0 || errno != 0 || end == buf || *end != '\n' || v <= 1 ||
	    v > INT_MAX) {
		ctl_fail("%s up did not say the demo pod's pid", DEMO_HELPER);
		return -1;
	}
	*pid = (pid_t)v;
	return 0;
}
