/*
 * mirror-forward's data path: the listening sockets of the -L forwards
 * and one stream (lib/stream.c) per accepted connection, to a TCP socket
 * the agent connects from the pod; and the -R forwards: one stream per
 * connection the agent steals from the pod (STREAM_ACCEPT), to a socket
 * connected here. One thread, the caller of
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

/* One -R forward: the pod's port, stolen for us (OP_INCOMING_SUB), to a
 * service of this machine. */
struct fwd_rfwd {
	struct fwd_rspec spec;
	char		 pod[16];			/* ":9101" */
	char		 local[FWDSPEC_STR_MAX + 8];	/* "127.0.0.1:8080" */
};

/* Before client_start: the queue the client's callbacks fill. */
void	fwd_relay_init(void);
/* The callbacks to give client_set_stream_handler (arg unused). */
void	fwd_relay_on_stream(void *arg, const struct proto_hdr *h,
	    struct proto_cur *payload);
void	fwd_relay_on_link(void *arg, int up);

/*
 * Runs the forwards (ls the -L's, rs the -R's, subscribed already)
 * until SIGINT, SIGTERM or SIGHUP (blocked by the
 * caller in every thread beforehand; read here through a signalfd), then
 * closes the listeners and resets every connection both ways. url names
 * the agent in messages. 0 on a signal, -errno if the loop broke.
 */
int	fwd_relay_run(struct client *cl, struct fwd_listen *ls, int n,
	    struct fwd_rfwd *rs, int nr, const char *url);

/* Subscribes (sub 1) or unsubscribes the pod's port of each -R, waiting
 * for the agent's answers. 0, or -errno with a line on stderr. */
int	fwd_relay_subscribe(struct client *cl, struct fwd_rfwd *rs, int nr,
	    int sub, const char *url);

#endif
