/*
 * The agent's network side, UDP and ICMP (ping sockets): datagrams both
 * ways on a connected socket, within the client's window towards the
 * client; what would not fit is dropped, as a router's full queue would.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "net-int.h"
#include "proto-net.h"
#include "xmalloc.h"

#define NET_DGRAMS_PER_WAKE	32

/* Datagrams from the target to the client, within the client's window:
 * a flood the client cannot take stays in the socket's bounded buffer
 * (and is dropped there), never in the agent's send queue. */
void
net_dgram_event(struct agent_net *net, struct net_stream *ns)
{
	uint8_t *buf = net->dgram;
	ssize_t r;
	uint8_t *m;
	int i;

	for (i = 0; i < NET_DGRAMS_PER_WAKE && stream_tx_room(&ns->s) > 0;
	    i++) {
		r = recv(ns->io.fd, buf, NET_DGRAM_MAX, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			/* An ICMP error of an earlier datagram: UDP has no
			 * connection to lose. */
			continue;
		}
		if ((uint64_t)r > stream_tx_room(&ns->s))
			break;		/* dropped: no window for it */
		m = xmalloc(PROTO_HDR_LEN + (size_t)r);
		proto_stream_data_hdr(m, ns->s.id, (size_t)r);
		memcpy(m + PROTO_HDR_LEN, buf, (size_t)r);
		ws_send(ns->cl->conn, m, PROTO_HDR_LEN + (size_t)r);
		stream_tx_sent(&ns->s, (size_t)r);
	}
	net_stream_interest(net, ns);
}

/* A datagram from the client for the target. Dropped when the socket
 * would block, as a router's full queue would; credited back either
 * way, so the client's window bounds what waits here for this thread. */
void
net_dgram_data(struct net_stream *ns, const uint8_t *data, size_t len)
{
	(void)send(ns->io.fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	stream_rx_consumed(&ns->s, len);
}
