/*
 * The agent's nftables table for incoming traffic (steal), in the
 * target's network namespace:
 *
 *   table inet mirror_agent_PID { flags owner
 *     chain pre_P { type nat hook prerouting priority dstnat
 *       meta nfproto ipv4 tcp dport P meta mark != MARK
 *           redirect to :LPORT }
 *     chain out_P { type nat hook output priority -100
 *       meta nfproto ipv4 tcp dport P meta mark != MARK
 *           fib daddr type local redirect to :LPORT }
 *     ... one pair per subscribed port P
 *   }
 *
 * The netlink messages are built here, by hand, and sent as one batch
 * over a plain NETLINK_NETFILTER socket: the statically linked agent
 * cannot use libnftnl, whose archive needs libmnl, and Debian 12 ships
 * no libmnl.a. The socket is opened on the calling thread (which must
 * be in the target's netns) and kept open while the table exists: with
 * NFT_TABLE_F_OWNER the kernel deletes the table when it closes, so a
 * SIGKILL of the agent leaves no rule. A kernel without owner tables
 * (before 5.12) gets a table without the flag, and tables of agents
 * that are gone (mirror_agent_PID, no such process) are deleted first.
 * All of it: the network thread's.
 */
#ifndef MIRROR_AGENT_NFT_H
#define MIRROR_AGENT_NFT_H

#include <stdint.h>

struct agent_nft {
	int		 fd;		/* -1: no table */
	uint32_t	 seq;
	uint32_t	 portid;
	int		 owned;		/* NFT_TABLE_F_OWNER took */
	char		 table[40];
};

/* No table yet. */
void	nft_init(struct agent_nft *);
/* Opens the socket and creates the table. 0 or -errno (-EPERM without
 * CAP_NET_ADMIN). */
int	nft_table_create(struct agent_nft *);
/* The two chains of port (host order) that redirect it to lport,
 * exempting packets marked mark. 0 or -errno. */
int	nft_port_add(struct agent_nft *, uint16_t port, uint16_t lport,
	    uint32_t mark);
int	nft_port_del(struct agent_nft *, uint16_t port);
/* Deletes the table and closes the socket. */
void	nft_table_destroy(struct agent_nft *);

#endif
