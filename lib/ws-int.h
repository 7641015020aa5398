/*
 * The websocket transport's insides, shared by lib/ws.c (contexts, the
 * lws callback, connections' lives, the pre-authentication list),
 * lib/ws-send.c (the send path) and lib/ws-rx.c (the receive paths).
 * Nothing outside lib/ws*.c includes it; the API is lib/ws.h. Who may
 * touch which field, and when, is the rule at the top of lib/ws.c.
 */
#ifndef MIRROR_WS_INT_H
#define MIRROR_WS_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include <libwebsockets.h>

#include "tlscert.h"
#include "ws.h"
#include "wsframe.h"

#define WS_CHUNK	(256 * 1024)	/* bytes per lws_write() (TLS) */
#define WS_TLS_BUDGET	64		/* lws_write()s per writable round */
#define WS_PROTOCOL	"mirror"

/* One outgoing message. Plaintext: a whole frame, hdr then data, off
 * counting over both. TLS: data only (lws frames it), off into data. */
struct ws_msg {
	struct ws_msg	*next;
	uint8_t		*data;		/* the sender's message, owned */
	size_t		 len;
	size_t		 off;
	uint8_t		 hdr[WSFRAME_HDR_MAX];
	uint8_t		 hl;		/* 0 for TLS */
};

struct ws_conn {
	struct ws_ctx	*ctx;
	struct lws	*wsi;		/* service thread only; NULL once closed */
	atomic_int	 refs;
	/* Set before the connection is up, never changed. */
	int		 fd;
	int		 tls;		/* lws writes (see the top comment) */
	pthread_mutex_t	 mtx;		/* protects the fields below it */
	int		 up;		/* handshake done: frames may go out */
	int		 done;		/* nothing more is written */
	int		 close_requested;
	char		 close_why[256];
	struct ws_msg	*outq, *outq_tail;	/* head: service thread only */
	int		 pending;	/* on ctx->pending (ctx->mtx) */
	struct ws_conn	*pending_next;	/* ctx->mtx */
	/* service thread only */
	uint8_t		*rx;
	size_t		 rx_len, rx_cap;
	uint8_t		*tx;		/* TLS: LWS_PRE + WS_CHUNK */
	int		 opened;	/* lws said ESTABLISHED */
	int		 close_reported;
	/* plaintext client: our own reader of the agent's frames (rx_main) */
	pthread_t	 rx_thread;
	int		 rx_running;
	void		*data;
	char		 peer[80];
	/* client, TLS: the pinned certificate hash; set before connecting,
	 * then service thread only (the verify callback runs there) */
	uint8_t		 pin[TLSCERT_FP_LEN];
	int		 pin_ok, pin_refused;
	/* server, service thread only: passed the hello (ws_conn_authenticated);
	 * until then on ctx's list of connections waiting for it */
	int		 authed;
	struct ws_conn	*pre_prev, *pre_next;
	int		 on_pre;
	double		 born;	/* mono_now() at accept */
};

struct ws_ctx {
	struct lws_context	*lws;
	struct lws_vhost	*vhost;
	const struct ws_handlers *h;
	void			*arg;
	int			 server;
	atomic_int		 stop;
	pthread_mutex_t		 mtx;
	struct ws_conn		*pending;
	int			 woken;
	lws_sorted_usec_list_t	 tick;		/* service thread only */
	/* server, service thread only: connections not yet authenticated,
	 * oldest first */
	struct ws_conn		*pre_head, *pre_tail;
	int			 npre;
	unsigned long		 nfailed;	/* closed unauthenticated */
	struct lws_protocols	 protocols[2];
};

/* Set on the threads that do the transport's I/O (ws_on_io_thread). */
extern __thread int ws_io_thread;

/* lib/ws-send.c */
void	ws_msg_free(struct ws_msg *);
/* Puts c on the context's pending list and wakes the service thread. */
void	ws_conn_kick(struct ws_conn *);
/* Service thread: lws says the socket is writable. */
int	ws_conn_writable(struct ws_conn *, struct lws *);

/* lib/ws-rx.c */
/* Service thread: a received fragment of a server's input. */
int	ws_conn_receive(struct ws_conn *, struct lws *, const uint8_t *,
	    size_t);
/* Service thread, plaintext client: start / stop the reader thread. */
void	ws_rx_start(struct ws_conn *, struct lws *);
void	ws_rx_stop(struct ws_conn *);

#endif
