/*
 * A client's connection to the agent (mountd, netd): one websocket, many
 * requests in flight matched by id, each with a deadline, and (for netd)
 * MSG_STREAM messages both ways. Reconnects in the background; while
 * disconnected every call fails at once with EIO and every stream send
 * with -ENOTCONN.
 */
#ifndef MIRROR_CLIENT_H
#define MIRROR_CLIENT_H

#include <stdint.h>

#include "proto.h"

struct client;

/* Called exactly once per call, on the transport thread or the timer
 * thread (or the caller's, when it fails at once). err is 0 or -errno
 * (the agent's errno as it is; -EIO when the agent is gone or late).
 * payload is borrowed for the call; NULL unless err is 0. */
typedef void (*client_cb)(void *arg, int err, struct proto_cur *payload);

/* Called on the connection's reader thread for every MSG_STREAM
 * message; payload borrowed for the call. */
typedef void (*client_stream_cb)(void *arg, const struct proto_hdr *h,
		    struct proto_cur *payload);
/* Called when a connection is ready (up 1) and when it is gone (up 0),
 * on the transport thread. Streams of a gone connection are gone. */
typedef void (*client_link_cb)(void *arg, int up);

struct client	*client_new(const char *url, const char *token,
		    double request_timeout, int max_inflight);
/* Pins a wss:// agent's certificate (the SHA-256 of its DER, as
 * tlscert_fp_parse reads it); required for wss://, refused for ws://.
 * NULL: none. Before client_start. 0, or -EINVAL with *why. */
int		 client_pin(struct client *, const char *fingerprint,
		    const char **why);
void		 client_set_stream_handler(struct client *, client_stream_cb,
		    client_link_cb, void *arg);
/* Sends a stream message begun with proto_begin(MSG_STREAM, ...); takes
 * b's data. 0, or -ENOTCONN while disconnected. Any thread. */
int		 client_send(struct client *, struct proto_buf *b);
/* 1 while a connection is up and authenticated. */
int		 client_ready(struct client *);
/* Starts the threads and waits up to wait_s for the first hello.
 * 0, -EACCES (token rejected), -EKEYREJECTED (not the pinned
 * certificate), -ECONNREFUSED or -ETIMEDOUT; *why gets a human reason. */
int		 client_start(struct client *, double wait_s, const char **why);
void		 client_stop(struct client *);
/* Frees a stopped (or never started) client. */
void		 client_free(struct client *);
/* b holds a request begun with proto_begin(MSG_REQUEST, op, 0, 0); the
 * id is filled in here. Takes b's data. */
void		 client_call(struct client *, struct proto_buf *b,
		    client_cb cb, void *arg);
/* Reads a reply's payload (borrowed for the call) on the transport
 * thread: 0 or -errno (-EBADMSG for a malformed one). */
typedef int (*client_parse_cb)(void *arg, struct proto_cur *payload);
/* client_call, waited for: parse (if not NULL) reads the reply, and the
 * result is the call's error or parse's. Never on the transport thread
 * (it would wait for itself). */
int		 client_call_wait(struct client *, struct proto_buf *b,
		    client_parse_cb parse, void *arg);
/* Bumped on every new agent connection: agent file handles from an
 * older epoch are gone. */
uint64_t	 client_epoch(struct client *);
/* CAP_* of the agent connected last. */
uint32_t	 client_caps(struct client *);

#endif
