/*
 * A shell's listening ports at the laptop's 127.0.0.1 (mirror-netd
 * --netns): the TCP sockets listening in the shell's network namespace,
 * watched through sock_diag, each offered on 127.0.0.1:PORT in netd's
 * own namespace when that port is free there; an accepted connection is
 * joined to a connection made from inside the shell's namespace. Also
 * watches --exit-with's process: when it exits, netd gets SIGTERM.
 */
#ifndef MIRROR_NETD_EXPOSE_H
#define MIRROR_NETD_EXPOSE_H

#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>

/* How often the namespace's listening sockets are read. */
#define EXPOSE_POLL_MS	200
/* Ports offered at once, and connections relayed at once. */
#define EXPOSE_PORTS_MAX	64
#define EXPOSE_CONNS_MAX	256

/* Starts the watcher thread. Call it from a thread inside the shell's
 * namespace (nsfd): the thread reads sock_diag from there, then moves to
 * selffd (netd's own namespace) for its listeners. pidfd: the process to
 * outlive no longer (-1: none). tun_addr (network order): sockets bound
 * to it are netd's own (relay, DNS stub), never offered; so are those
 * bound to tun6 (the TUN's IPv6 address, NULL: none). 0 or -errno,
 * *why saying what failed. The thread owns the fds from then on. */
int	expose_start(int nsfd, int selffd, int pidfd, uint32_t tun_addr,
	    const struct in6_addr *tun6, const char **why);
/* Stops the thread and closes the listeners (relayed connections keep
 * going until netd exits). */
void	expose_stop(void);
/* "exposed=" and "not_exposed=" lines for netd's status file. Any
 * thread. */
void	expose_status(FILE *f);

#endif
