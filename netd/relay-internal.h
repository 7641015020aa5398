/*
 * What the parts of netd's relay share (relay.c, nat.c, tunio.c,
 * stream.c, flow.c, dnsstub.c, status.c, and local.c for net.local):
 * the limits, the NAT entry, the stream, the queue item, the one relay
 * state R and the functions one part calls in another. Not for anything outside the relay; its
 * public face is relay.h. Who owns what (threads and locks) is said at
 * the top of relay.c and at each struct.
 */
#ifndef MIRROR_NETD_RELAY_INTERNAL_H
#define MIRROR_NETD_RELAY_INTERNAL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "client.h"
#include "clock.h"
#include "pkt.h"
#include "proto.h"
#include "relay.h"
#include "stream.h"

#define NAT_PORT_LO	10000
#define NAT_PORTS	51000		/* 10000..60999 per peer */
/* NAT slots: the IPv4 peers' first, then the IPv6 peers'. */
#define NAT_SLOTS	(RELAY_PEERS * NAT_PORTS)
#define NAT_LINGER	60.0		/* TIME_WAIT: a port rests so long */
#define FWD_BUCKETS	65536
#define ID_BUCKETS	65536
#define TCP_WINDOW	(1024u * 1024)	/* what the agent may send ahead */
#define UDP_WINDOW	(256u * 1024)
#define UDP_QUEUE_MAX	16		/* datagrams held before OPENED */
#define ACCEPT_TIMEOUT	30.0
#define STATUS_CONN_MAX	200
#define TUN_BATCH	256		/* packets read per wakeup */
#define DNS_TCP_MAX	32		/* DNS-over-TCP connections at once */
#define DNS_UDP_INFLIGHT_MAX 256	/* DNS-over-UDP queries at the agent */
/* Bounds on what waits in netd, whoever floods it. Beyond them a
 * datagram, echo or SYN is dropped (counted in the status), as a full
 * router queue drops it; the sender retries or does without. */
#define PKT_QUEUE_MAX	(4u << 20)	/* TUN thread -> relay thread */
#define PENDING_MAX	(1u << 20)	/* datagrams of flows not yet open */
#define DGRAM_UNACKED_MAX (4u << 20)	/* sent to the agent, not credited */
#define FLOWS_MAX	1024		/* UDP and ICMP flows at once */
/* The agent's messages queued for the relay thread: beyond this the
 * reader thread waits, and the agent's socket with it. */
#define MSG_QUEUE_MAX	(32u << 20)

enum nat_state { NAT_PENDING, NAT_OPEN, NAT_DEAD };

/* One TCP connection through the TUN. Fields are fixed at creation
 * except state, lid, in_fwd, expire and the links (nat_mtx). */
struct nat {
	struct in6_addr	 caddr, daddr;	/* client, original destination
					 * (IPv4: mapped, as in pkt.h) */
	uint16_t	 cport, dport;
	struct in6_addr	 paddr;		/* fake peer */
	uint16_t	 pport;		/* NAT port */
	int		 slot;
	int		 state;
	int		 in_fwd;
	double		 expire;
	struct relay_stream *st;	/* relay thread only */
	uint32_t	 lid;		/* net.local: local.c's connection
					 * (0: the agent's stream) */
	struct nat	*fnext;		/* forward hash chain */
	struct nat	*lnext;		/* linger queue */
};

enum tag { TAG_EVENT = 1, TAG_LISTEN, TAG_LISTEN6, TAG_DNS_UDP,
	TAG_DNS_TCP };
#define EV_STREAM	(1ull << 63)	/* epoll data: a stream id */

struct dgram {
	struct dgram	*next;
	size_t		 len;
	uint8_t		 data[];
};

/* A stream to the agent: a TCP connection or a UDP or ICMP flow. Owned
 * by the relay thread (relay_mtx). A TCP connection's data, credits and
 * shuts are the stream engine's (lib/stream.c) once the kernel accepted
 * it; a flow uses the engine's credit accounting only. In epoll a stream
 * is named by its id (EV_STREAM | id), never by pointer. */
struct relay_stream {
	struct stream	 s;		/* the engine's part: id, fd, credit */
	uint8_t		 proto;		/* NET_* */
	struct nat	*nat;
	uint8_t		*syn;		/* held until STREAM_OPENED */
	size_t		 synlen;
	int		 opened;
	int		 joined;	/* the accepted socket is attached */
	int		 in_ids;
	double		 last, deadline;
	/* the flow's addresses (all protocols, for the status; IPv4:
	 * mapped) */
	struct in6_addr	 caddr, daddr;
	uint16_t	 cport, dport;	/* ICMP: echo id, 0 */
	struct dgram	*q, *qtail;	/* datagrams before STREAM_OPENED */
	int		 qn;
	/* a stolen connection (incoming.c): the pod's port (0: not one),
	 * and the socket while its local connect is under way */
	uint16_t	 in_port;
	int		 in_fd;
	struct relay_stream *idnext, *fnext, *prev, *next;
};

struct item {
	struct item	*next;
	int		 kind;		/* IT_* */
	struct proto_hdr h;
	size_t		 len;
	uint8_t		 data[];
};
enum { IT_MSG, IT_PKT, IT_DOWN };

struct relay_state {
	struct relay_config cfg;
	struct client	*cl;
	int		 tunfd;
	uint32_t	 tun_addr;
	uint32_t	 peer_base;	/* host order: first fake peer */
	uint16_t	 listen_port;	/* network order */
	/* IPv6 (has6): the device's address, the first fake peer's and
	 * the listener's port; the addresses of both families mapped */
	int		 has6;
	struct in6_addr	 tun4, tun6, peer6_base;
	uint16_t	 listen_port6;
	int		 lfd, lfd6, dns_ufd, dns_tfd, epfd, evfd, stopfd;
	pthread_t	 tun_thread, relay_thread;
	int		 started;
	atomic_int	 stop;

	/* NAT table: nat_mtx */
	pthread_mutex_t	 nat_mtx;
	struct nat	*fwd[FWD_BUCKETS];
	struct nat	**ports;	/* 2 * NAT_SLOTS: IPv4, IPv6 */
	int		 cursor[2];
	struct nat	*linger_head, *linger_tail;

	/* queue to the relay thread: q_mtx */
	pthread_mutex_t	 q_mtx;
	pthread_cond_t	 q_cv;		/* the queue shrank */
	struct item	*q_head, *q_tail;
	size_t		 q_pkt_bytes, q_msg_bytes;

	/* relay_mtx: the relay thread's, held for each loop round (and by
	 * relay_stop once the thread is gone); no other thread takes it */
	pthread_mutex_t	 relay_mtx;
	struct relay_stream *ids[ID_BUCKETS];
	struct relay_stream *flows[ID_BUCKETS];
	struct relay_stream *all;
	uint32_t	 next_id;
	int		 n_unjoined;
	double		 next_tick;
	uint64_t	 tcp_open, tcp_total, udp_flows;
	int		 nflows;	/* UDP and ICMP streams */
	size_t		 pending_bytes;	/* queued before OPENED */
	size_t		 dgram_unacked;	/* sum of the flows' unacked */
	uint64_t	 bytes_in, bytes_out;
	uint8_t		*pbuf;		/* PKT_BUF_MAX */

	/* any thread (atomic) */
	_Atomic uint64_t dns_queries;
	long		 nofile;	/* RLIMIT_NOFILE, raised */
	int		 spare_fd;	/* fdlimit_reset_one's */
	_Atomic uint64_t fd_resets;	/* connections reset: no descriptor */
	_Atomic uint64_t down_resets;	/* SYNs reset: no agent */
	_Atomic long long down_since;	/* time() the agent was lost, or 0 */
	_Atomic uint64_t dns_servfail;	/* answered SERVFAIL by the stub */
	atomic_int	 dns_tcp_conns;
	atomic_int	 dns_udp_inflight;
	_Atomic uint64_t dropped;	/* datagrams, echoes and SYNs */
};

/* The relay's state; its parts are shared as said at each field. */
extern struct relay_state R;

/* An address of either family (IPv4 mapped) as text, into buf
 * (INET6_ADDRSTRLEN). */
static inline const char *
ip_str(const struct in6_addr *a, char *buf)
{
	if (IN6_IS_ADDR_V4MAPPED(a))
		inet_ntop(AF_INET, a->s6_addr + 12, buf, INET6_ADDRSTRLEN);
	else
		inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN);
	return buf;
}

/* The listener of a family: its address and port. */
static inline void
relay_listener(int v6, struct in6_addr *addr, uint16_t *port)
{
	*addr = v6 ? R.tun6 : R.tun4;
	*port = v6 ? R.listen_port6 : R.listen_port;
}

/* relay.c: the queue to the relay thread, and the drop counter. */
void	relay_dropped(void);
/* Queues it (caller's, freed here) for the relay thread. A packet from
 * the TUN is dropped when PKT_QUEUE_MAX bytes of them wait (returns -1);
 * the agent's messages make the reader wait instead. */
int	relay_queue_push(struct item *);
struct item *relay_item_new(int kind, const void *data, size_t len);

/* nat.c: the NAT table, under R.nat_mtx except where said. */
unsigned int nat_hash(const struct in6_addr *caddr, uint16_t cport,
	    const struct in6_addr *daddr, uint16_t dport);
struct nat *nat_find(const struct in6_addr *caddr, uint16_t cport,
	    const struct in6_addr *daddr, uint16_t dport);
void	nat_unhash(struct nat *);
/* A free slot of the family (v6: IPv6), or -1. */
int	nat_slot_alloc(int v6);
void	nat_slot_addr(int slot, struct in6_addr *paddr, uint16_t *pport);
int	nat_slot_of(const struct in6_addr *paddr, uint16_t pport);
/* These three take R.nat_mtx themselves. */
void	nat_drop(struct nat *);
void	nat_retire(struct nat *);
void	nat_expire(double t);

/* tunio.c: the TUN thread; tunio_write from any thread. */
void	*tunio_main(void *);
void	tunio_write(const uint8_t *buf, size_t len);

/* stream.c: streams and the TCP relay (relay thread, R.relay_mtx). */
/* A STREAM_DATA of a flow (a datagram or echo) to the agent. */
int	relay_send_data(struct relay_stream *, const void *data, size_t n);
struct relay_stream *relay_stream_find(uint32_t id);
struct relay_stream *relay_stream_new(uint8_t proto,
	    const struct in6_addr *caddr, uint16_t cport,
	    const struct in6_addr *daddr, uint16_t dport);
int	relay_stream_open(struct relay_stream *);
/* Forgets a stream without a word to the agent (reset: with an RST). */
void	relay_stream_free(struct relay_stream *, int reset);
/* Ends a stream on both sides: STREAM_CLOSE err to the agent, unless it
 * is gone or never opened it, and the local end closed. */
void	relay_stream_close(struct relay_stream *, uint32_t err);
void	relay_stream_message(const struct proto_hdr *, const uint8_t *,
	    size_t);
void	relay_tcp_syn(uint8_t *buf, size_t len);
/* The listener lfd (either family's) is readable. */
void	relay_tcp_accept(int lfd);
/* A TCP stream the agent opened (STREAM_ACCEPT), with its id and the
 * window it gave; opened, with no socket yet. */
struct relay_stream *relay_stream_accepted(uint32_t id, uint32_t window);

/* flow.c: UDP and ICMP echo flows (relay thread, R.relay_mtx). */
unsigned int flow_hash(uint8_t proto, const struct in6_addr *caddr,
	    uint16_t cport, const struct in6_addr *daddr, uint16_t dport);
struct relay_stream *flow_find(uint8_t proto, const struct in6_addr *caddr,
	    uint16_t cport, const struct in6_addr *daddr, uint16_t dport);
void	flow_packet(uint8_t *buf, size_t len);
void	flow_opened(struct relay_stream *, uint32_t status, uint32_t window);
void	flow_data(struct relay_stream *, const uint8_t *data, size_t n);
void	flow_credit(struct relay_stream *, uint32_t n);
/* The flow is forgotten: what it had uncredited at the agent. */
void	flow_forget(struct relay_stream *);

/* dnsstub.c: the DNS stub's sockets are readable (relay thread). */
void	dnsstub_udp_readable(void);
void	dnsstub_tcp_accept(void);

/* incoming.c: stolen connections (relay thread, R.relay_mtx). */
/* STREAM_ACCEPT: connects to the shell's listener, answers OPENED. */
void	incoming_stream_accept(const struct proto_hdr *, const uint8_t *data,
	    size_t n);
/* An event of a stolen connection's socket while it connects. */
void	incoming_connect_event(struct relay_stream *, uint32_t events);
/* Local connects that took too long fail. */
void	incoming_tick(double now);
/* The stream is forgotten: its socket if still connecting, counters. */
void	incoming_forget(struct relay_stream *);
/* The agent dropped a mirrored connection's copy (STREAM_CLOSE ENOBUFS). */
void	incoming_dropped(struct relay_stream *);

/* status.c: rewrites the status file, if any (relay thread). */
void	status_write(void);

#endif
