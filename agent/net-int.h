/*
 * Declarations shared by the files of the agent's network side, not
 * part of its API in net.h: net.c (the thread, its queue and the
 * clients), net-stream.c (the stream table, a stream's life, opening
 * and the stream messages), net-tcp.c (the TCP relay), net-dgram.c (UDP
 * and ICMP), net-dns.c (DNS through c-ares), net-info.c (OP_NET_INFO,
 * the target's resolv.conf), incoming.c (OP_INCOMING_*, its listener and
 * nft.c's table; steal) and incoming-mirror.c (mirror mode's relay). Everything here runs on the network thread,
 * which owns it, unless it says otherwise (see net.c).
 */
#ifndef MIRROR_AGENT_NET_INT_H
#define MIRROR_AGENT_NET_INT_H

#include <ares.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "clock.h"
#include "net.h"
#include "nft.h"
#include "proto-net.h"
#include "stream.h"

/* The biggest datagram read from a target's socket. */
#define NET_DGRAM_MAX		65536
/* The biggest resolv.conf of the target that is read. */
#define NET_RESOLV_MAX		65536

/* What an epoll event points at. */
enum io_kind { IO_WAKE = 1, IO_STREAM, IO_ARES, IO_LISTEN, IO_MIRROR };

/* Ports one client may steal at once, and its accepted connections
 * waiting for its STREAM_OPENED (beyond, a new one is reset). */
#define INCOMING_SUBS_MAX	64
#define INCOMING_PENDING_MAX	1024

struct net_io {
	enum io_kind	 kind;
	int		 fd;
};

/* A message from the service thread to the network thread. */
struct net_msg {
	struct net_msg	*next;
	struct agent_net_client *cl;
	int		 detach;	/* the connection is gone */
	struct proto_hdr h;
	uint8_t		*data;		/* payload */
	size_t		 len;		/* payload bytes */
	uint8_t		 buf[];
};

/* ST_ACCEPTING: an incoming connection, STREAM_ACCEPT sent, waiting
 * for the client's STREAM_OPENED (timed out like a connect). */
enum stream_state { ST_CONNECTING = 1, ST_ACCEPTING, ST_OPEN, ST_DEAD };

/* One stream of a client: a TCP connection, a UDP flow or a ping socket
 * in the target's netns. Network thread only (its owner). For TCP the
 * engine (lib/stream.c) carries the data, credits and shuts once the
 * socket is connected; datagram flows use its credit accounting only. */
struct net_stream {
	struct net_io	 io;		/* first: epoll points here */
	struct stream	 s;		/* the engine's part */
	struct agent_net_client *cl;
	uint8_t		 proto;
	enum stream_state state;
	uint32_t	 ev_cur;	/* registered events; 0: not in epoll */
	/* connecting streams, oldest first */
	double		 deadline;
	struct net_stream *cprev, *cnext;
	struct net_stream *hnext;	/* hash chain; zombie list when dead */
};

struct agent_net_client {
	struct agent_net *net;
	struct ws_conn	*conn;
	void		(*release)(void *);
	void		*arg;
	atomic_size_t	 queued;	/* bytes on the queue */
	/* network thread only */
	struct net_stream **tab;
	unsigned int	 tab_shift;	/* buckets: 1 << (32 - shift) */
	unsigned int	 nstreams;
	unsigned int	 pending_dns;
	unsigned int	 nsubs;		/* ports stolen (incoming.c) */
	unsigned int	 naccepting;	/* streams in ST_ACCEPTING */
	uint32_t	 accept_seq;	/* the last agent-picked id */
	int		 detached;
	int		 broken;	/* closed for a protocol violation */
	int		 freeing;
	int		 listed;	/* on net->clients */
	struct agent_net_client *prev, *next;
};

struct ares_fd {
	struct net_io	 io;
	struct ares_fd	*next;
};

struct agent_net {
	struct agent_fs	*fs;
	int		 pid;
	int		 nsfd;		/* -1: stay in our own namespace */
	int		 ns_failed;	/* errno of opening /proc/PID/ns/net */
	int		 ep;
	struct net_io	 wake;
	pthread_t	 thread;
	int		 running;
	pthread_mutex_t	 mtx;		/* protects q, q_tail, stopped */
	struct net_msg	*q, *q_tail;
	int		 stopped;
	atomic_int	 stop;
	/* Everything below: the network thread's only. */
	int		 ok;		/* inside the target's netns */
	int		 dns_ok;
	ares_channel	 chan;
	struct ares_fd	*afds, *afd_zombies;
	unsigned int	 dns_inflight;
	char		 dns_servers[4096];
	int		 dns_servers_stale;
	double		 dns_checked;
	struct net_stream *conn_head, *conn_tail;
	struct net_stream *zombies;
	struct agent_net_client *clients;
	struct agent_net_client *dead_clients;
	/* incoming.c: the listener (fd -1: none), its port, the table,
	 * the subscriptions */
	struct net_io	 in_io;
	uint16_t	 in_lport;
	struct agent_nft in_nft;
	int		 in_err;	/* the table's last failure, logged */
	struct net_sub	*in_subs;
	/* incoming-mirror.c: mirrored connections, and those to free at
	 * the end of the loop round */
	struct net_mirror *in_mirrors, *in_mirror_zombies;
	uint8_t		 dgram[NET_DGRAM_MAX];
	char		 resolv[NET_RESOLV_MAX];
};

/* net.c: sending to a client, and its end. */
/* The reply to h: the errno err and no payload. */
void	net_reply_errno(struct agent_net_client *, const struct proto_hdr *h,
	    int err);
/* Finishes out and sends it; out is freed either way. */
void	net_send_buf(struct agent_net_client *, struct proto_buf *out);
/* The client broke the protocol in a way only this thread can see. */
void	net_client_violation(struct agent_net_client *, const char *what);
/* Once detached and without streams and DNS queries, a client is freed
 * at the end of the loop round. */
void	net_client_maybe_done(struct agent_net *, struct agent_net_client *);

/* net-stream.c */
/* Registers in epoll what a datagram flow or a connecting socket wants
 * now (a connected TCP stream's interest is the engine's). */
void	net_stream_interest(struct agent_net *, struct net_stream *);
/* The stream is gone without a word to the client (reset: with an RST
 * for TCP); its memory goes at the end of the loop round. */
void	net_stream_free(struct agent_net *, struct net_stream *, int reset);
/* STREAM_OPENED with err (0: opened) and the agent's window. */
void	net_stream_opened(struct net_stream *, int err);
/* Connects unanswered by now are ETIMEDOUT. */
void	net_connect_timeouts(struct agent_net *, double now);
/* A queued stream message (its payload checked on the service thread).
 * Frees m. */
void	net_stream_message(struct agent_net *, struct agent_net_client *,
	    struct net_msg *m);
/* epoll events of a stream's socket. */
void	net_stream_event(struct agent_net *, struct net_stream *,
	    uint32_t events);

/* A TCP connect under way (timed out by net_connect_timeouts), and its
 * end. */
void	net_conn_list_add(struct agent_net *, struct net_stream *);
void	net_conn_done(struct agent_net *, struct net_stream *);
extern const struct stream_ops net_stream_ops;

/* An incoming connection (fd) for cl: a stream with an id of the
 * agent's space, STREAM_ACCEPT sent, ST_ACCEPTING until the client's
 * STREAM_OPENED. */
uint32_t net_stream_accepted(struct agent_net *, struct agent_net_client *,
	    int fd, const struct proto_stream_accept *);
/* Ends cl's stream id at once with STREAM_CLOSE err, if it is still
 * there (a mirrored connection's copy that fell behind). */
void	net_stream_reset_id(struct agent_net *, struct agent_net_client *,
	    uint32_t id, int err);

/* net-tcp.c */
/* STREAM_OPEN for TCP: the connect has started (inprogress) or is done. */
void	net_tcp_started(struct agent_net *, struct net_stream *,
	    int inprogress);
void	net_tcp_event(struct agent_net *, struct net_stream *, uint32_t events);

/* net-dgram.c */
void	net_dgram_event(struct agent_net *, struct net_stream *);
void	net_dgram_data(struct net_stream *, const uint8_t *data, size_t len);

/* net-info.c */
/* The target's /etc/resolv.conf into buf (NUL-terminated); 0 bytes if
 * it has none. Returns the length. */
size_t	net_read_resolv_conf(struct agent_net *, char *buf, size_t size);
/* OP_NET_INFO: resolv.conf, addresses and routes of the target. */
void	net_serve_info(struct agent_net *, struct agent_net_client *,
	    const struct proto_hdr *h);

/* net-dns.c */
/* Sets up c-ares (on the network thread, inside the target's netns). */
void	net_dns_init(struct agent_net *);
/* Re-reads the target's resolv.conf at most once a second. */
void	net_dns_refresh(struct agent_net *);
/* OP_DNS: the query is sent; the reply goes when c-ares answers. */
void	net_serve_dns(struct agent_net *, struct agent_net_client *,
	    struct net_msg *m);

/* incoming.c */
/* A subscription's counters, for the log. */
struct net_sub_counts {
	uint64_t	 conns;		/* connections accepted */
	uint64_t	 dropped;	/* mirror: copies dropped */
};
/* OP_INCOMING_SUB or _UNSUB (checked on the service thread); answered
 * here. */
void	net_incoming_request(struct agent_net *, struct agent_net_client *,
	    struct net_msg *m);
/* The listener is readable. */
void	net_incoming_accept(struct agent_net *);
/* The client's subscriptions end (its connection is gone). */
void	net_incoming_client_gone(struct agent_net *,
	    struct agent_net_client *);
/* Every subscription ends; the table and the listener go. */
void	net_incoming_stop(struct agent_net *);
/* While a port is stolen: the agent's own connection fd is marked, so
 * that the redirects leave it alone. */
void	net_incoming_mark(struct agent_net *, int fd);
/* A connection to the pod's own process at orig (an accepted
 * connection's SO_ORIGINAL_DST), marked so that the redirects leave it
 * alone; non-blocking, the connect under way (EINPROGRESS) or done.
 * Returns the fd or -errno. */
struct sockaddr_in;
int	net_incoming_connect_pod(struct agent_net *,
	    const struct sockaddr_in *orig);
/* The counters of port's subscription; NULL if it is gone. */
struct net_sub_counts *net_incoming_counts(struct agent_net *, uint16_t port);

/* incoming-flush.c: cuts the established TCP connections of local port
 * port in the thread's netns (not those marked skip_mark). Returns how
 * many, or -errno (EOPNOTSUPP: no CONFIG_INET_DIAG_DESTROY). */
int	net_incoming_flush(uint16_t port, uint32_t skip_mark);

/* incoming-mirror.c: mirror mode. */
/* An accepted connection (fd) to a mirrored port, whose original
 * destination was orig: relayed to the pod's process, a copy to cl. */
void	net_mirror_accepted(struct agent_net *, struct agent_net_client *cl,
	    int fd, const struct sockaddr_in *orig,
	    const struct proto_stream_accept *);
/* epoll events of one of a mirrored connection's sockets. */
void	net_mirror_event(struct agent_net *, struct net_io *, uint32_t events);
/* cl is gone: the copies for it end (their streams went with it). */
void	net_mirror_client_gone(struct agent_net *, struct agent_net_client *);
/* Every mirrored connection ends (the agent stops). */
void	net_mirror_stop(struct agent_net *);
/* Frees the mirrored connections that ended this loop round. */
void	net_mirror_reap(struct agent_net *);

#endif
