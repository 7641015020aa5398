/*
 * net.local in a shell (mirror-netd --netns): connections from the shell
 * to a destination net.local names leave from the laptop's own network
 * namespace, netd's, instead of going to the agent. netd opens them
 * itself with an ordinary connect() or UDP socket and relays bytes
 * between that socket and the shell's side: for TCP the connection the
 * kernel accepted from the TUN (the SYN is held until the laptop's
 * connect() succeeded, as for the agent), for UDP datagrams read from and
 * written to the TUN. The stub answers queries for a net.local name from
 * the laptop's resolver (getaddrinfo), and the addresses it gives become
 * local (localmatch.c). ICMP to a net.local address is not relayed.
 *
 * Threads: local_start runs before netd enters the shell's namespace,
 * and its two threads stay in netd's own: the local thread owns every
 * local connection and flow (a queue from the relay thread is the only
 * hand-off), the resolver thread runs getaddrinfo. A NAT entry of a
 * local connection is the relay's table's (nat_mtx), as any other.
 * Without --netns nothing here runs: mirrorctl connect leaves net.local's
 * addresses unrouted instead (main.c).
 */
#ifndef MIRROR_NETD_LOCAL_H
#define MIRROR_NETD_LOCAL_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

struct localmatch;
struct nat;

/* Starts the threads in the calling thread's (netd's) namespace; m is
 * borrowed for netd's life, udp_idle in seconds. 0, or -errno. */
int	local_start(struct localmatch *m, double udp_idle);
/* Ends every local connection and flow and stops the threads; before
 * relay_stop (their NAT entries are the relay's). */
void	local_stop(void);

/* Relay thread. 1 if a new connection or flow of ipproto (IPPROTO_TCP,
 * IPPROTO_UDP) to daddr:dport (network order; IPv4 mapped, as in pkt.h)
 * leaves from the laptop. */
int	local_wants(uint8_t ipproto, const struct in6_addr *daddr,
	    uint16_t dport);
/* The held SYN of n (a NAT_PENDING entry in the table): the local thread
 * connects, then writes it back rewritten, or a RST. */
void	local_tcp_syn(struct nat *n, const uint8_t *syn, size_t len);
/* The kernel accepted the connection of local id lid: fd is the local
 * thread's now. */
void	local_tcp_accepted(uint32_t lid, int fd);
/* A UDP datagram from the TUN (virtio-net header and IP packet). */
void	local_udp_packet(const uint8_t *buf, size_t len);

/* DNS stub (localdns.c). The net.local name entry qname is for, or
 * -1. */
int	local_dns_name(const char *qname);
/* Answers the query (checked, for entry idx) from the laptop's resolver
 * on the resolver thread: cb gets the answer, or NULL when it was
 * dropped (too many waiting); called once, from any thread. */
void	local_dns_query(int idx, const uint8_t *msg, size_t n,
	    void (*cb)(void *arg, const uint8_t *ans, size_t n), void *arg);

/* localdns.c's resolver thread, started and stopped by local.c's. */
void	localdns_start(struct localmatch *m);
void	localdns_stop(void);

#endif
