/*
 * Websocket transport over libwebsockets: whole binary messages in and
 * out, for a server (the agent) or a client (mountd, netd), in clear
 * (ws://) or over TLS (wss://, the server's self-signed certificate
 * pinned by the client). lws listens, connects, does the handshake, TLS
 * and the close; a plaintext connection's frames are written by the
 * sending thread itself (ws_send from any thread), and a client reads
 * its frames on a reader thread of its own, because lws 4.1 parses
 * client input one byte at a time. A TLS connection is read and written
 * by the service thread only. ws.c's top comment has the rule. One
 * service thread runs ws_run(); any thread may call ws_send(),
 * ws_close(), ws_wake() and ws_stop(). Only this module includes
 * libwebsockets.
 */
#ifndef MIRROR_WS_H
#define MIRROR_WS_H

#include <stddef.h>
#include <stdint.h>

struct ws_ctx;
struct ws_conn;

struct ws_handlers {
	/* Service thread. The connection is up (server: upgraded; client:
	 * handshake done). */
	void	(*on_open)(struct ws_conn *, void *arg);
	/* One whole message, borrowed for the call: on the service thread
	 * (server) or the connection's reader thread (client). Return
	 * a negative errno to close the connection; *why says why. */
	int	(*on_message)(struct ws_conn *, const uint8_t *msg, size_t len,
		    const char **why, void *arg);
	/* Service thread, once per connection (also for a client connect
	 * that failed). After it the connection sends nothing. */
	void	(*on_close)(struct ws_conn *, const char *why, void *arg);
	/* Service thread, after ws_wake() from any thread. */
	void	(*on_wake)(void *arg);
	/* Service thread, about once every WS_TICK_MS while ws_run()
	 * runs; for timers (the agent's idle exit). NULL: no ticks. */
	void	(*on_tick)(void *arg);
};

#define WS_TICK_MS	1000

/* Listens on host:port (port 0 picks one; *bound gets the real one). */
struct ws_ctx	*ws_server_new(const char *host, int port,
		    const struct ws_handlers *, void *arg, int *bound);
/* The same over TLS with this certificate and key (PEM, borrowed for
 * the call). */
struct ws_tls_id {
	const char	*cert_pem, *key_pem;
	size_t		 cert_len, key_len;
};
struct ws_ctx	*ws_server_new_tls(const char *host, int port,
		    const struct ws_tls_id *, const struct ws_handlers *,
		    void *arg, int *bound);
/* tls: the context may make wss:// connections. */
struct ws_ctx	*ws_client_new(const struct ws_handlers *, void *arg, int tls);
void		 ws_ctx_free(struct ws_ctx *);

/* Client: starts a connection; call from the service thread (on_wake)
 * or before ws_run. The result arrives as on_open or on_close. pin NULL:
 * plaintext; else TLS, and the server's certificate must have this
 * SHA-256 (of its DER), checked before the websocket request is sent; a
 * mismatch closes the connection with a reason saying so, and
 * ws_conn_pin_refused() is true for it. */
int		 ws_client_connect(struct ws_ctx *, const char *host, int port,
		    const char *path, const uint8_t *pin, struct ws_conn **out);
int		 ws_conn_pin_refused(struct ws_conn *);

/* Runs the service loop until ws_stop(). */
void		 ws_run(struct ws_ctx *);
void		 ws_stop(struct ws_ctx *);
void		 ws_wake(struct ws_ctx *);

/* Sends a message; takes ownership of msg (malloc'd) in every case, and
 * may change it (a client's frames are masked in place). Any thread;
 * never waits for the socket (what it does not take is queued).
 * -ENOTCONN once the connection is closing. */
int		 ws_send(struct ws_conn *, uint8_t *msg, size_t len);
/* Closes the connection after the queued messages; any thread. */
void		 ws_close(struct ws_conn *, const char *why);
void		 ws_conn_ref(struct ws_conn *);
void		 ws_conn_unref(struct ws_conn *);
/* The caller's own pointer, set once; not freed here. */
void		 ws_conn_set_data(struct ws_conn *, void *);
void		*ws_conn_data(struct ws_conn *);
/* Server, service thread: the peer passed the hello. Until then a
 * connection costs a few KiB: messages of at most
 * WS_PREAUTH_MSG_MAX bytes, WS_PREAUTH_SECS to authenticate, at most
 * WS_PREAUTH_CONNS such connections (the oldest goes), and its errors
 * logged at debug level only (the owner rate-limits its own line). */
void		 ws_conn_authenticated(struct ws_conn *);
#define WS_PREAUTH_MSG_MAX	1024
#define WS_PREAUTH_SECS		5
#define WS_PREAUTH_CONNS	16
/* "127.0.0.1:4321", borrowed for the connection's life. */
const char	*ws_conn_peer(struct ws_conn *);

/* True on a thread that delivers messages (the service thread, or a
 * client connection's reader): such a thread must never wait for a
 * reply. */
int		 ws_on_io_thread(void);

/* Splits "ws://HOST:PORT[/PATH]" or "HOST:PORT"; host must hold 256. */
int		 ws_parse_url(const char *url, char *host, size_t hostsz,
		    int *port, int *tls);

#endif
