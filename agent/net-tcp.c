/*
 * The agent's network side, TCP: a connect's completion, then the
 * stream engine (lib/stream.c) relays between the socket and the client
 * under its credit and shut rules; this file only hands it the socket
 * and its events.
 */
#include "config.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "net-int.h"

/* Connected: the engine takes the socket; what the client sent while it
 * connected (data, a shut) is written now. */
static void
tcp_connected(struct agent_net *net, struct net_stream *ns)
{
	int fd = ns->io.fd;

	net_conn_done(net, ns);
	net_stream_opened(ns, 0);
	stream_attach(&ns->s, fd);
}

void
net_tcp_started(struct agent_net *net, struct net_stream *ns, int inprogress)
{
	if (inprogress)
		net_conn_list_add(net, ns);
	else {
		ns->state = ST_CONNECTING;
		tcp_connected(net, ns);
	}
}

void
net_tcp_event(struct agent_net *net, struct net_stream *ns, uint32_t events)
{
	socklen_t sl = sizeof(int);
	int err = 0;

	if (ns->state != ST_CONNECTING) {
		stream_event(&ns->s, events);
		return;
	}
	if (getsockopt(ns->io.fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
		err = errno;
	if (err == 0 && !(events & (EPOLLERR | EPOLLHUP))) {
		tcp_connected(net, ns);
		return;
	}
	net_stream_opened(ns, err ? err : ECONNREFUSED);
	net_stream_free(net, ns, 0);
}
