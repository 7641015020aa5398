/*
 * The port-forward keeper of a Kubernetes session: a process of its own
 * (its pid is the session's pf_pid) that runs "kubectl port-forward" to
 * the agent's pod, tells mirrorctl once it listens, and starts it again
 * whenever it exits, until umount stops it. kube.c builds the command.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kube-forward.h"
#include "mirrorctl.h"

#define KUBE_PF_READY_S		30	/* until port-forward listens */

int
kube_free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, port = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static volatile sig_atomic_t keeper_stop;
static volatile sig_atomic_t keeper_child;	/* a pid_t */

static void
keeper_on_signal(int sig)
{
	(void)sig;
	keeper_stop = 1;
	if (keeper_child > 0)
		kill((pid_t)keeper_child, SIGTERM);
}

/*
 * The keeper: runs kubectl port-forward, tells the parent (on fd
 * status) once it listens, and starts it again whenever it exits, until
 * SIGTERM. What kubectl says goes to the session's pf.log.
 */
static void __attribute__((noreturn))
kube_keeper(char *const pf[], int status, int logfd)
{
	struct sigaction sa;
	int ready = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = keeper_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	while (!keeper_stop) {
		char buf[4096], *nl;
		size_t len = 0;
		int out[2];
		pid_t pid;
		ssize_t n;

		if (pipe2(out, O_CLOEXEC) < 0)
			break;
		if ((pid = fork()) < 0)
			break;
		if (pid == 0) {
			dup2(out[1], 1);
			dup2(logfd, 2);
			execvp(pf[0], pf);
			dprintf(2, "cannot run %s: %s\n", pf[0],
			    strerror(errno));
			_exit(127);
		}
		keeper_child = pid;
		close(out[1]);
		for (;;) {
			n = read(out[0], buf + len, sizeof(buf) - 1 - len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			len += (size_t)n;
			buf[len] = '\0';
			while ((nl = strchr(buf, '\n')) != NULL) {
				*nl = '\0';
				/* One line per connection is noise. */
				if (strncmp(buf, "Handling connection", 19))
					dprintf(logfd, "%s\n", buf);
				if (!ready && strstr(buf, "Forwarding from")) {
					ready = 1;
					(void)!write(status, "ready\n", 6);
					close(status);
					status = -1;
				}
				len -= (size_t)(nl + 1 - buf);
				memmove(buf, nl + 1, len + 1);
			}
			if (len == sizeof(buf) - 1)
				len = 0;
		}
		close(out[0]);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		keeper_child = 0;
		if (keeper_stop || !ready)
			break;
		dprintf(logfd, "mirrorctl: port-forward ended; starting it "
		    "again\n");
		sleep(1);
	}
	_exit(ready ? 0 : 1);
}

/* The last line of a log file, for an error message. */
static void
log_tail(const char *path, char *buf, size_t size)
{
	char line[512];
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		if (line[0] != '\n') {
			line[strcspn(line, "\n")] = '\0';
			snprintf(buf, size, "%s", line);
		}
	fclose(f);
}

int
kube_forward_start(char *const pf[], int local, const char *agent_pod,
    struct session *s)
{
	int st[2], logfd, waited;
	char why[512], c[8];
	struct pollfd pfd;
	pid_t pid;

	if (pipe2(st, O_CLOEXEC) < 0)
		return ctl_fail("pipe: %s", strerror(errno));
	logfd = open(session_file(s, "pf.log"), O_WRONLY | O_CREAT | O_APPEND
	    | O_CLOEXEC, 0600);
	if (logfd < 0)
		return ctl_fail("cannot write %s: %s", session_file(s,
		    "pf.log"), strerror(errno));
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0)
		return ctl_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		int nfd = open("/dev/null", O_RDWR);

		setsid();
		close(st[0]);
		dup2(nfd, 0);
		dup2(nfd, 1);
		dup2(logfd, 2);
		kube_keeper(pf, st[1], logfd);
	}
	close(st[1]);
	close(logfd);
	s->pf_pid = pid;
	pfd.fd = st[0];
	pfd.events = POLLIN;
	for (waited = 0; waited < KUBE_PF_READY_S * 10; waited++)
		if (poll(&pfd, 1, 100) != 0)
			break;
	if (waited < KUBE_PF_READY_S * 10 && read(st[0], c, sizeof(c)) > 0 &&
	    c[0] == 'r') {
		close(st[0]);
		/* Plaintext on purpose: the agent listens on the pod's
		 * loopback, and kubectl port-forward carries the bytes
		 * inside its own TLS connection to the API server. */
		snprintf(s->url, sizeof(s->url), "ws://127.0.0.1:%d", local);
		return 0;
	}
	close(st[0]);
	session_stop_pid(pid, 2000);
	s->pf_pid = 0;
	log_tail(session_file(s, "pf.log"), why, sizeof(why));
	return ctl_fail("kubectl port-forward to pod/%s did not start: %s",
	    agent_pod, why[0] ? why : "no reason given");
}
