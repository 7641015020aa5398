/*
 * mirror-netd --netns FILE: the TUN device, its addresses and routes, and
 * the DNS stub inside another network namespace (a shell's), while the
 * agent connection stays in netd's own. The thread that sets up enters
 * FILE (netns_enter) after the agent is connected: the sockets and the
 * TUN fd it makes there keep that namespace, and the agent's socket,
 * made earlier by the client's own thread, keeps netd's. In FILE: lo up,
 * a default route through the TUN (everything leaves from the pod),
 * unprivileged ports and ping; nothing outside it changes, so no
 * nftables table. --resolv-out writes the shell's resolv.conf;
 * --exit-with PID stops netd when that process exits. Listening ports
 * are offered at 127.0.0.1 by expose.c.
 */
#ifndef MIRROR_NETD_NETNS_H
#define MIRROR_NETD_NETNS_H

#include <stddef.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* Opens the namespace file (NULL: none; then every call below is a
 * no-op) and, exit_with > 0, a pidfd on that process; resolv_out (may be
 * NULL) is kept for netns_start. Refuses netd's own namespace. 0, or -1
 * with the reason in msg. */
int	netns_open(const char *file, pid_t exit_with, const char *resolv_out,
	    char *msg, size_t msgsz);
/* 1 with --netns. */
int	netns_active(void);
/* The calling thread enters the namespace. 0 or -errno. */
int	netns_enter(void);
/* The pod's resolv.conf (OP_NET_INFO), kept for --resolv-out. */
void	netns_pod_resolv(const void *text, size_t len);
/* Inside the namespace, after the device is configured: lo up, the
 * unprivileged port and ping sysctls, a default route through ifindex
 * with source tun_addr (network order), and with tun6 (16 bytes; NULL:
 * none) an IPv6 one from tun6. 0 or -errno, *why saying what failed. */
int	netns_setup(int ifindex, uint32_t tun_addr, const void *tun6,
	    const char **why);
/* Once the relay runs: writes --resolv-out (the stub at tun_addr, or
 * with dns 0 the pod's own nameservers) and starts expose.c's watcher.
 * Call from the thread inside the namespace. 0 or -errno, *why. */
int	netns_start(uint32_t tun_addr, const struct in6_addr *tun6, int dns,
	    const char **why);
void	netns_stop(void);
/* Lines for netd's status file. */
void	netns_status(FILE *f);

#endif
