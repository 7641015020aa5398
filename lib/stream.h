/*
 * The stream engine: one relayed byte stream between a local socket and
 * the peer across the websocket (MSG_STREAM), with the credit window,
 * half-close and reset rules of the protocol in one place. The agent
 * (its end: a socket in the target's netns), netd (a connection the
 * kernel accepted from the TUN) and later the incoming-traffic relay (a
 * socket accepted on the laptop) are endpoints of this one engine: they
 * make the socket, hand the engine the peer's messages and the socket's
 * epoll events, and are told through struct stream_ops what to send, what
 * to wait for and when the stream ended. The rules are in stream.c's
 * header comment.
 *
 * Ownership: a struct stream belongs to exactly one thread, its owner
 * (the thread that runs the epoll loop the socket is registered in).
 * Every function here runs on the owner, and so does every callback.
 * Other threads never touch a stream: they queue the peer's messages to
 * the owner (agent/net.c, netd/relay.c), and a queue is the only
 * hand-off.
 */
#ifndef MIRROR_STREAM_H
#define MIRROR_STREAM_H

#include <stddef.h>
#include <stdint.h>

/* Credits go back once this much of the peer's data was consumed, or a
 * quarter of the window if that is less (the peer never waits on less). */
#define STREAM_CREDIT_BATCH	(256u * 1024)
/* Socket reads of one stream per readiness event, so that one stream
 * does not starve the others of the loop. */
#define STREAM_READS_PER_EVENT	4
/* Small pieces of the peer's data are copied together into chunks of
 * this size while they wait for the socket. */
#define STREAM_COALESCE		16384

struct stream;

/* What an endpoint does for the engine; all called on the owner. */
struct stream_ops {
	/* Sends a finished message (header and payload; STREAM_DATA, or
	 * STREAM_CREDIT/SHUT/CLOSE) to the peer; takes msg (xmalloc'd). */
	void	(*send)(struct stream *, uint8_t *msg, size_t len);
	/* The socket's epoll interest changes from old to want (0: out of
	 * epoll altogether, so a hung-up socket does not wake the loop). */
	void	(*interest)(struct stream *, uint32_t old, uint32_t want);
	/* The stream ended: err 0 (both directions done, the peer told),
	 * or the errno of a reset. The socket is closed; the endpoint
	 * forgets the stream and frees it (after stream_release) when its
	 * loop round is over. Called once. */
	void	(*ended)(struct stream *, int err);
};

/* Queued peer data; the chunk owns its bytes. */
struct stream_chunk {
	struct stream_chunk *next;
	size_t		 off, len;	/* bytes written; bytes held */
	size_t		 cap;		/* > 0: room to coalesce up to */
	uint8_t		 buf[];
};

/* Owner thread only. */
struct stream {
	const struct stream_ops *ops;
	void		*ep;		/* the endpoint's, for its callbacks */
	uint32_t	 id;
	int		 fd;		/* -1: no socket yet (or any more) */
	uint32_t	 events;	/* registered epoll interest */
	int		 ended;
	/* local socket -> peer */
	uint32_t	 peer_window;	/* 0 until the peer's window is known */
	uint64_t	 sent, credited;
	int		 rd_eof;	/* STREAM_SHUT sent (or no peer) */
	/* peer -> local socket */
	uint32_t	 window;	/* what we let the peer send ahead */
	size_t		 queued;	/* bytes in q */
	size_t		 uncredited;	/* consumed, not yet credited back */
	int		 peer_shut;	/* STREAM_SHUT (or CLOSE 0) came */
	int		 peer_gone;	/* nothing more is sent to the peer */
	int		 wr_shut;	/* shutdown(SHUT_WR) done */
	struct stream_chunk *q, *qtail;
	uint64_t	 bytes_in, bytes_out;	/* peer -> socket, and back */
};

/* window: what the peer may send before our credit (STREAM_OPEN's or
 * STREAM_OPENED's window). No socket and no peer window yet. */
void	stream_init(struct stream *, const struct stream_ops *, void *ep,
	    uint32_t id, uint32_t window);
/* The peer's window is known (STREAM_OPEN or STREAM_OPENED). */
void	stream_set_peer_window(struct stream *, uint32_t window);
/* The socket is connected: what the peer sent before is written now,
 * and reading starts. The engine closes it when the stream ends. */
void	stream_attach(struct stream *, int fd);
/* Frees the queued data; for the endpoint's free. */
void	stream_release(struct stream *);

/* The peer's messages. stream_peer_data returns -EPROTO for data beyond
 * the window or after the peer's SHUT (a broken peer: the agent closes
 * the connection, netd resets the stream); 0 otherwise. */
int	stream_peer_data(struct stream *, const uint8_t *data, size_t len);
void	stream_peer_credit(struct stream *, uint32_t n);
void	stream_peer_shut(struct stream *);
/* STREAM_CLOSE: 0 the peer is done (what it sent is written, then our
 * side shuts and closes), else a reset. */
void	stream_peer_close(struct stream *, uint32_t status);

/* The socket's epoll events. */
void	stream_event(struct stream *, uint32_t events);
/* Ends the stream at once: STREAM_CLOSE err to the peer (unless it is
 * gone), the socket reset. */
void	stream_reset(struct stream *, int err);
/* Ends it without a word to the peer (the peer is gone, or never knew
 * of it): the socket reset, ended(err). */
void	stream_abort(struct stream *, int err);

/* Bookkeeping for datagram flows, which do not use a socket through the
 * engine but keep the same credit rules. */
/* Room left in the peer's window. */
uint64_t stream_tx_room(const struct stream *);
/* n bytes went to the peer. */
void	stream_tx_sent(struct stream *, size_t n);
/* n bytes of the peer's were consumed (written, or dropped): credits the
 * peer in batches. */
void	stream_rx_consumed(struct stream *, size_t n);

#endif
