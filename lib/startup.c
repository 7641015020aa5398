/* Start-up reports from a detaching daemon to its parent. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "daemon.h"
#include "startup.h"

/* The longest report line: the parent reads no more than this. */
#define STARTUP_MSG_MAX	1024

static void
print_result(const char *prog, int status, const char *msg)
{
	if (status != 0)
		fprintf(stderr, "%s: %s\n", prog, msg);
	else if (msg[0] != '\0') {
		printf("%s\n", msg);
		fflush(stdout);
	}
}

void
startup_report(int fd, const char *prog, int status, const char *msg)
{
	unsigned char st = (unsigned char)status;

	if (fd < 0) {
		print_result(prog, status, msg);
		return;
	}
	if (write(fd, &st, 1) != 1 || write(fd, msg, strlen(msg)) < 0)
		log_debug("start-up report: %s", strerror(errno));
	close(fd);
}

int
startup_fail(int fd, const char *prog, int status, const char *fmt, ...)
{
	char msg[STARTUP_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	startup_report(fd, prog, status, msg);
	return status;
}

int
startup_wait(int rfd, pid_t pid, const char *prog, const char *daemon)
{
	unsigned char st = 1;
	char msg[STARTUP_MSG_MAX];
	size_t len = 0;
	ssize_t n;
	int ws;

	if (read(rfd, &st, 1) != 1) {
		waitpid(pid, &ws, 0);
		fprintf(stderr, "%s: the %s died while starting\n", prog,
		    daemon);
		return DAEMON_EXIT_FAIL;
	}
	while (len < sizeof(msg) - 1 &&
	    (n = read(rfd, msg + len, sizeof(msg) - 1 - len)) > 0)
		len += (size_t)n;
	msg[len] = '\0';
	print_result(prog, st, msg);
	if (st != 0)
		waitpid(pid, &ws, 0);
	return st;
}
