/*
 * Pushed invalidation, mountd's half: the agent's STREAM_FS_EVENT
 * messages (changes in the directories it watches) become the kernel's
 * fuse_lowlevel_notify_inval_entry / _inode, sent from a thread of
 * their own. Never from the transport thread or a FUSE worker: the
 * kernel holds a directory's lock while a request in it waits for its
 * answer, and notifying about that directory waits for the lock, so a
 * thread that answers requests must never wait there.
 */
#ifndef MIRROR_MOUNTD_INVAL_H
#define MIRROR_MOUNTD_INVAL_H

#include <stdint.h>

#include "proto.h"

struct fuse_session;

/* The stream and link handlers for the client (set before it starts):
 * events are counted and queued from the first connection on. */
void	 inval_on_stream(void *arg, const struct proto_hdr *h,
	    struct proto_cur *payload);
void	 inval_on_link(void *arg, int up);
struct client;
/* Starts the thread that tells the kernel; the session must outlive
 * inval_stop(). status: a file it keeps saying "on WATCHES LIMITED" or
 * "off" (the agent does not watch), then "nodes HELD MAX" (nodes.h), for
 * mirrorctl status; NULL: none. */
void	 inval_start(struct fuse_session *se, struct client *cl,
	    const char *status);
void	 inval_stop(void);
/* More nodes are held than the bound (nodes_set_max()): the thread asks
 * the kernel to forget the oldest. Any thread, cheap; never waits on the
 * kernel. */
void	 inval_evict_ask(void);
/* Events (and reconnects) seen so far. A reply to a request sent when
 * this was s may be cached long only if it is still s when the reply
 * comes: an event between may be about what the reply says. */
uint64_t inval_seq(void);
/* What the agent said last: directories watched, and whether one
 * could not be (-1, -1 before any event). */
void	 inval_agent_state(long *watches, int *limited);

#endif
