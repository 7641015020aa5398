/*
 * connect sessions: a netd behind a TUN device, with its agent.
 */
#ifndef MIRRORCTL_NET_H
#define MIRRORCTL_NET_H

#include "session.h"

/* The connect session for target (NULL: any). 0 or -ENOENT. */
int	net_session_find(const char *target, struct session *s);
/* Stops netd (its device and routes go with it), checks they are gone,
 * stops the agent and removes the session. Returns 0, or -1 if
 * something was left (printed). */
int	net_session_end(struct session *s, int verbose);
/* Calls fn for each "key=value" line of s's netd status file (the one
 * netd/status.c and netd/incoming.c write), the '=' cut. */
void	net_status_lines(const struct session *s,
	    void (*fn)(const char *key, const char *val, void *), void *arg);
/* The routes netd reports in its status file, one line each. */
void	net_print_routes(const struct session *s);
/* For status: device, routes, DNS, counters, connections. */
void	net_print_status(const struct session *s);
/* A shell's incoming traffic from its netd's status: the mode and each
 * stolen port with its counters. */
void	net_print_incoming(const struct session *s);

#endif
