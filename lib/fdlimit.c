/*
 * File-descriptor limits for daemons that hold one descriptor per
 * relayed connection (netd, the agent): the soft limit is raised to the
 * hard one at start (with CAP_SYS_RESOURCE both go to 65,536 where they
 * are lower), and a listener that runs out of descriptors resets the
 * connection it cannot take instead of leaving it in the backlog, where
 * the listener would stay readable and its thread spin. For that a spare
 * descriptor is kept: closed to accept and reset one connection, then
 * taken again.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdlimit.h"

#define FDLIMIT_WANT	65536

long
fdlimit_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	/* Root may go beyond the hard limit (CAP_SYS_RESOURCE): a relayed
	 * connection costs the agent two descriptors. */
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < FDLIMIT_WANT) {
		struct rlimit want = { FDLIMIT_WANT, FDLIMIT_WANT };

		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			return FDLIMIT_WANT;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
			return -errno;
	}
	return rl.rlim_cur == RLIM_INFINITY ? (long)1 << 30 :
	    (long)rl.rlim_cur;
}

int
fdlimit_spare(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

int
fdlimit_reset_one(int lfd, int *spare)
{
	struct linger lg = { 1, 0 };
	int fd;

	if (*spare < 0)
		return -EMFILE;
	close(*spare);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
	}
	*spare = fdlimit_spare();
	return fd >= 0 ? 0 : -errno;
}
