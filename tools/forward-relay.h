/*
 * mirror-forward's data path: the listening sockets of the -L forwards
 * and one stream (lib/stream.c) per accepted connection, to a TCP socket
 * the agent connects from the pod. One thread, the caller of
 * fwd_relay_run, owns every stream (lib/stream.h's rule); the client's
 * reader thread only queues the agent's stream messages to it.
 */
#ifndef MIRROR_FORWARD_RELAY_H
#define MIRROR_FORWARD_RELAY_H

#include <stdint.h>

#include "client.h"
#include "forward-spec.h"

/* One -L forward: its listening socket and where it goes. */
struct fwd_listen {
	int		 fd;
	struct fwd_spec	 spec;
	int		 family;	/* the pod's end, resolved: 4 or 6 */
	uint8_t		 addr[16];
	char		 local[FWDSPEC_STR_MAX + 8];	/* "127.0.0.1:8080" */
	char		 remote[FWDSPEC_STR_MAX + 8];	/* "db:5432" */
};

/* Before client_start: the queue the client's callbacks fill. */
void	fwd_relay_init(void);
/* The callbacks to give client_set_stream_handler (arg unused). */
void	fwd_relay_on_stream(void *arg, const struct proto_hdr *h,
	    struct proto_cur *payload);
void	fwd_relay_on_link(void *arg, int up);

/*
 * Runs the forwards until SIGINT, SIGTERM or SIGHUP (blocked by the
 * caller in every thread beforehand; read here through a signalfd), then
 * closes the listeners and resets every connection both ways. url names
 * the agent in messages. 0 on a signal, -errno if the loop broke.
 */
int	fwd_relay_run(struct client *cl, struct fwd_listen *ls, int n,
	    const char *url);

#endif
