/*
 * netd's nftables table: the tunnel serves this host only. Forwarded
 * packets into or out of the TUN device are dropped (a container or a
 * LAN neighbour of a machine with ip_forward=1 must not reach the
 * cluster through it), and so is anything for the TUN address that
 * arrives on another device than lo or the TUN itself (the DNS stub and
 * the relay's listener are for local programs). The table is created
 * with NFT_TABLE_F_OWNER: the kernel deletes it when netd's netlink
 * socket closes, on SIGKILL too. The only module that includes libnftnl.
 */
#ifndef MIRROR_NETD_FW_H
#define MIRROR_NETD_FW_H

#include <stddef.h>
#include <stdint.h>

/* The table's name for the device dev, into buf. */
void	fw_table_name(const char *dev, char *buf, size_t size);
/* Creates the table for the TUN device dev (index ifindex, address
 * tun_addr in network order, and tun6, its IPv6 address, 16 bytes, or
 * NULL) and keeps its netlink socket open. 0, or -errno with *why saying
 * what failed. */
int	fw_start(const char *dev, int ifindex, uint32_t tun_addr,
	    const void *tun6, const char **why);
/* Closes the socket: the kernel removes the table. */
void	fw_stop(void);

#endif
