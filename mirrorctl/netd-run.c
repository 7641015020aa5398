/*
 * Starting mirror-netd for a session and waiting for its "ready" line:
 * "mirrorctl connect" (cmd-connect.c) and a shell's network (ctx-net.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mirrorctl.h"
#include "netd-run.h"
#include "xmalloc.h"

int
netd_run(struct session *s, const char *config, const char *const *extra,
    double wait_s, char *addr)
{
	char *netd = ctl_program_path("mirror-netd"), line[512];
	char *logf = xstrdup(session_file(s, "netd.log"));
	char *pidf = xstrdup(session_file(s, "netd.pid"));
	char *stf = xstrdup(session_file(s, "netd.status"));
	const char *argv[32 + NETD_EXTRA_MAX];
	int argc = 0, out[2], i, status, rc = -1;
	size_t len = 0;
	double waited = 0;
	struct pollfd pfd;
	pid_t pid;
	FILE *f;

	argv[argc++] = netd;
	argv[argc++] = "--agent";
	argv[argc++] = s->url;
	argv[argc++] = "--token-file";
	argv[argc++] = s->token_file;
	if (s->fingerprint[0]) {
		argv[argc++] = "--fingerprint";
		argv[argc++] = s->fingerprint;
	}
	argv[argc++] = "--status-file";
	argv[argc++] = stf;
	argv[argc++] = "--pid-file";
	argv[argc++] = pidf;
	argv[argc++] = "--log-file";
	argv[argc++] = logf;
	for (i = 0; i < NETD_EXTRA_MAX && extra[i]; i++)
		argv[argc++] = extra[i];
	if (config) {
		argv[argc++] = "--config";
		argv[argc++] = config;
	}
	argv[argc] = NULL;
	if (pipe2(out, O_CLOEXEC) < 0) {
		ctl_fail("pipe: %s", strerror(errno));
		goto done;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0) {
		ctl_fail("fork: %s", strerror(errno));
		close(out[0]);
		close(out[1]);
		goto done;
	}
	if (pid == 0) {
		dup2(out[1], 1);
		execv(netd, (char **)argv);
		fprintf(stderr, "mirrorctl: cannot run %s: %s\n", netd,
		    strerror(errno));
		_exit(127);
	}
	close(out[1]);
	pfd.fd = out[0];
	pfd.events = POLLIN;
	line[0] = '\0';
	while (waited < wait_s) {
		ssize_t n;

		if (poll(&pfd, 1, 100) == 0) {
			waited += 0.1;
			continue;
		}
		n = read(out[0], line + len, sizeof(line) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		line[len] = '\0';
		if (strchr(line, '\n') || len == sizeof(line) - 1)
			break;
	}
	close(out[0]);
	line[strcspn(line, "\n")] = '\0';
	if (strncmp(line, "ready ", 6) != 0 ||
	    sscanf(line + 6, "%31s %63s", s->dev, addr) != 2) {
		/* netd printed why on stderr. */
		kill(pid, SIGTERM);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (waited >= wait_s)
			ctl_fail("mirror-netd did not come up within %g s "
			    "(see %s)", wait_s, logf);
		goto done;
	}
	/* Without -f netd detached: this child exits once it did. */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if ((f = fopen(pidf, "r")) != NULL) {
		int p = 0;

		if (fscanf(f, "%d", &p) == 1)
			s->netd_pid = p;
		fclose(f);
	}
	if (s->netd_pid <= 0) {
		ctl_fail("mirror-netd wrote no pid file (%s)", pidf);
		goto done;
	}
	rc = 0;
done:
	x_free(netd);
	x_free(logf);
	x_free(pidf);
	x_free(stf);
	return rc;
}
