/*
 * Starting mirror-netd for a session: shared by "mirrorctl connect"
 * (cmd-connect.c) and a shell's network (ctx-net.c); in netd-run.c.
 */
#ifndef MIRRORCTL_NETD_RUN_H
#define MIRRORCTL_NETD_RUN_H

#include "session.h"

#define NETD_ADDR_MAX	64
/* Arguments a caller adds to netd's own (the session's agent, token,
 * status, pid and log files). */
#define NETD_EXTRA_MAX	(2 * 64 + 8)

/* Starts netd for s's agent with the extra arguments (NULL-terminated),
 * waits up to wait_s for "ready DEV ADDR": DEV into s->dev, ADDR into
 * addr (NETD_ADDR_MAX bytes), netd's pid into s->netd_pid. Its status,
 * pid and log files are the session's netd.*. 0, or -1 after printing
 * why. */
int	netd_run(struct session *s, const char *config,
	    const char *const *extra, double wait_s, char *addr);

#endif
