/*
 * The pod's incoming traffic to a shell's listeners (mirror-netd --netns
 * --incoming steal): each TCP port listening in the shell's namespace
 * (expose.c's watcher reports them) is subscribed at the agent
 * (OP_INCOMING_SUB, under incoming.port_mapping's remote number, if
 * incoming.ports / incoming.ignore_ports let it), and unsubscribed when
 * its listener goes. A connection the agent stole arrives as
 * STREAM_ACCEPT; the relay thread connects a socket made in the shell's
 * namespace to the listener and joins it to the stream
 * (relay-internal.h has those functions).
 */
#ifndef MIRROR_NETD_INCOMING_H
#define MIRROR_NETD_INCOMING_H

#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "conf.h"

/* Ports subscribed (or tried) at once. */
#define INCOMING_PORTS_MAX	64

/* A listener of the shell: its port, and where a connection to it goes
 * from inside the shell's namespace. */
struct incoming_listener {
	uint16_t		 port;		/* host order */
	struct sockaddr_storage	 to;
	socklen_t		 tolen;
};

/* Before the relay starts. mode: CONF_IN_* (off: nothing is
 * subscribed). conf is copied. */
void	incoming_configure(int mode, const struct mirror_conf *conf);
/* Inside the shell's namespace, before the relay starts: what lets a
 * stolen connection come from the pod's client's own address (see
 * incoming.c); logs and does without if it cannot. */
void	incoming_setup_ns(void);
/* 1 when steal or mirror is on. */
int	incoming_active(void);
/* The watcher's latest view of the shell's listeners (any thread but
 * the relay's and the transport's): subscribes new ports, unsubscribes
 * gone ones, retries failed ones now and then. */
void	incoming_sync(const struct incoming_listener *, int n);
/* The agent connection came (up 1) or went: the agent forgot the
 * subscriptions, the next sync makes them again. */
void	incoming_on_link(int up);
/* "incoming=" lines for the status file. Any thread. */
void	incoming_status(FILE *f);

#endif
