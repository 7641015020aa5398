/*
 * How a daemon that detaches (mirror-mountd, mirror-netd) tells the
 * process that started it whether it came up: the child writes a status
 * byte and a message on a pipe; the parent waits for them and exits with
 * the status, so "mirrorctl" and scripts see failures at once.
 */
#ifndef MIRROR_STARTUP_H
#define MIRROR_STARTUP_H

#include <sys/types.h>

/*
 * Child side: status 0 (up) or an exit code, and a message: on failure
 * why, on success a line for the parent to print ("" for none). With fd
 * -1 (running in the foreground) prints it here: failures on stderr as
 * "PROG: MSG", success on stdout.
 */
void	startup_report(int fd, const char *prog, int status, const char *msg);
/*
 * A start-up failure: reports status (an exit code of daemon.h, not 0)
 * and the formatted line as startup_report() does, and returns status,
 * so that the daemon exits with the same code in the foreground as its
 * parent does when it detached.
 */
int	startup_fail(int fd, const char *prog, int status, const char *fmt,
	    ...) __attribute__((format(printf, 4, 5)));
/*
 * Parent side: waits for the report on rfd; prints the message as above
 * and returns the status. A child that died before reporting is
 * "PROG: the DAEMON died while starting" and DAEMON_EXIT_FAIL.
 */
int	startup_wait(int rfd, pid_t pid, const char *prog, const char *daemon);

#endif
