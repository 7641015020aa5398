/*
 * mountd's connection to the agent: one websocket, many requests in
 * flight matched by id, each with a deadline. Reconnects in the
 * background; while disconnected every call fails at once with EIO.
 */
#ifndef MIRROR_MOUNTD_CLIENT_H
#define MIRROR_MOUNTD_CLIENT_H

#include <stdint.h>

#include "proto.h"

struct client;

/* Called exactly once per call, on the transport thread or the timer
 * thread (or the caller's, when it fails at once). err is 0 or -errno
 * (the agent's errno as it is; -EIO when the agent is gone or late).
 * payload is borrowed for the call; NULL unless err is 0. */
typedef void (*client_cb)(void *arg, int err, struct proto_cur *payload);

struct client	*client_new(const char *url, const char *token,
		    double request_timeout, int max_inflight);
/* Starts the threads and waits up to wait_s for the first hello.
 * 0, -EACCES (token rejected), -ECONNREFUSED or -ETIMEDOUT; *why gets a
 * human reason. */
int		 client_start(struct client *, double wait_s, const char **why);
void		 client_stop(struct client *);
/* Frees a stopped (or never started) client. */
void		 client_free(struct client *);
/* b holds a request begun with proto_begin(MSG_REQUEST, op, 0, 0); the
 * id is filled in here. Takes b's data. */
void		 client_call(struct client *, struct proto_buf *b,
		    client_cb cb, void *arg);
/* Bumped on every new agent connection: agent file handles from an
 * older epoch are gone. */
uint64_t	 client_epoch(struct client *);
/* CAP_* of the agent connected last. */
uint32_t	 client_caps(struct client *);

#endif
