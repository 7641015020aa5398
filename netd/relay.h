/*
 * netd's data path: the TUN reader (NAT of TCP segments in place, held
 * SYNs), the relay thread (the kernel's accepted connections and UDP and
 * ICMP flows as agent streams, with credit flow control both ways), the
 * DNS stub and the status file.
 */
#ifndef MIRROR_NETD_RELAY_H
#define MIRROR_NETD_RELAY_H

#include <netinet/in.h>
#include <stdint.h>

#include "cidr.h"
#include "client.h"

/* Fake peer addresses after the TUN address (.2-.9 with .1): sources of
 * the rewritten SYNs, so many connections share no port space. */
#define RELAY_PEERS	8

struct relay_config {
	struct client	*client;
	int		 tunfd;		/* IFF_VNET_HDR */
	uint32_t	 tun_addr;	/* network order */
	int		 has6;		/* the device has an IPv6 address: */
	struct in6_addr	 tun6;		/* that address; the fake IPv6 peers
					 * follow it */
	int		 dns;		/* run the DNS stub */
	double		 udp_idle;	/* seconds */
	const char	*dev;
	const char	*agent_url;
	const char	*status_file;	/* NULL: none */
	const char	*fw_table;	/* netd's nftables table (inet) */
	const struct cidr *routes;	/* borrowed for the relay's life */
	int		 nroutes;
	/* What was left out and why, "CIDR (source): reason" (borrowed) */
	const char *const *skipped;
	int		 nskipped;
	int		 nmore;		/* left out beyond those */
};

/* Binds the listener and the DNS stub on the TUN address and starts the
 * threads. 0 or -errno; *why says what failed. Call once. */
int	relay_start(const struct relay_config *, const char **why);
/* Resets every relayed connection and stops the threads. */
void	relay_stop(void);
/* The client's stream handlers (client_set_stream_handler). */
void	relay_on_stream(void *arg, const struct proto_hdr *h,
	    struct proto_cur *payload);
void	relay_on_link(void *arg, int up);

#endif
