/*
 * net.local: which destinations of a shell's connections leave from the
 * laptop instead of the pod. The entries are parsed once at start into a
 * matcher: IPv4 addresses and CIDRs, each with an optional port (":PORT"
 * alone is every address on that port), and host names (optionally
 * NAME:PORT). A name matches DNS queries for it; the addresses the
 * laptop's resolver gives for it are then learned, in a bounded table,
 * as local (for the name's port, if it has one). A query for NAME.DOMAIN,
 * DOMAIN in the pod's search list, is a query for NAME too: the shell's
 * resolver asks those first, and the pod must not answer for a name the
 * user keeps local. Also the DNS answer the
 * stub gives for such a name. Pure apart from the learned table's lock:
 * no I/O, no threads of its own (tests/unit/test-localmatch.c).
 */
#ifndef MIRROR_NETD_LOCALMATCH_H
#define MIRROR_NETD_LOCALMATCH_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"
#include "dns.h"
#include "resolvout.h"

#define LOCALMATCH_MAX		64	/* entries (conf's CONF_LOCAL_MAX) */
#define LOCALMATCH_LEARNED_MAX	256	/* addresses learned from names */
#define LOCALMATCH_LEARN_TTL	600.0	/* seconds one stays local */
#define LOCALMATCH_DNS_TTL	30	/* TTL of the stub's answers */
#define LOCALMATCH_ANSWERS_MAX	16	/* A records in one answer */

struct localmatch_net {
	uint32_t	 addr, mask;	/* network order */
	uint16_t	 port;		/* network order; 0: every port */
};

struct localmatch_name {
	char		 name[DNS_NAME_MAX + 1];	/* lower case, no dot */
	uint16_t	 port;		/* network order; 0: every port */
};

struct localmatch_learned {
	uint32_t	 addr;
	uint16_t	 port;
	double		 expire;	/* 0: a free slot */
};

/* nets and names are fixed after the entries are added (read by any
 * thread without a lock); learned is under mtx. */
struct localmatch {
	struct localmatch_net	 nets[LOCALMATCH_MAX];
	int			 nnets;
	struct localmatch_name	 names[LOCALMATCH_MAX];
	int			 nnames;
	char			 search[RESOLVOUT_SEARCH_MAX][DNS_NAME_MAX + 1];
	int			 nsearch;
	pthread_mutex_t		 mtx;
	struct localmatch_learned learned[LOCALMATCH_LEARNED_MAX];
	int			 next;	/* the slot a full table reuses */
};

void	localmatch_init(struct localmatch *);
/* Adds one entry: "10.1.2.3", "10.0.0.0/8", "10.1.2.3:5432",
 * "10.0.0.0/8:5432", ":5432", "db.example", "db.example:5432". 0, or
 * -EINVAL / -E2BIG with the reason in *why. */
int	localmatch_add(struct localmatch *, const char *entry,
	    const char **why);
int	localmatch_empty(const struct localmatch *);
/* The pod's search list, from its resolv.conf (len bytes, the pod's:
 * read only through resolvout_format's checks). Before any lookup. */
void	localmatch_pod_search(struct localmatch *, const char *resolv,
	    size_t len);
/* 1 if a connection to addr:port (network order) leaves from the
 * laptop: an entry, or an address learned before now expires, covers
 * it. port 0 (ICMP) is matched by entries of every port only. */
int	localmatch_addr(struct localmatch *, uint32_t addr, uint16_t port,
	    double now);
/* The name entry that a query for qname (dotted, as dns_query_check
 * gives it) is for, or -1: the name itself, or the name with a domain
 * of the pod's search list after it. Case does not matter, nor a final
 * dot. */
int	localmatch_name(const struct localmatch *, const char *qname);
/* addr (network order), an answer for name entry idx, is local until
 * now + LOCALMATCH_LEARN_TTL. The oldest goes when the table is full. */
void	localmatch_learn(struct localmatch *, int idx, uint32_t addr,
	    double now);
/* The entries that take whole addresses (no port), as CIDRs into out
 * (max); returns how many. For mirrorctl connect, which routes them not. */
int	localmatch_cidrs(const struct localmatch *, struct cidr *out, int max);

/* The stub's answer to query (n bytes, passed dns_query_check) into out
 * (size): rcode (0 or 3, NXDOMAIN; 2 SERVFAIL), and for an A question
 * with rcode 0 the naddrs addresses as A records; any other type gets
 * no records. Returns the length, or -EINVAL. */
int	localmatch_dns_answer(const uint8_t *query, size_t n, int rcode,
	    const uint32_t *addrs, int naddrs, uint8_t *out, size_t size);

#endif
