/*
 * The agent's network side: one thread that lives in the target's network
 * namespace and creates every socket a client needs there (relayed TCP
 * connections, UDP flows, ICMP echo, DNS through c-ares). The service
 * thread hands it OP_NET_INFO/OP_DNS/OP_INCOMING_* requests and MSG_STREAM
 * messages through a queue; it answers with ws_send() itself. It also
 * steals ports of the target for clients (incoming.c).
 *
 * What a client sees beyond lib/proto.h:
 *  - TCP: STREAM_OPENED carries AGENT_NET_WINDOW. Credits come back in
 *    batches of 256 KiB written to the target's socket (never more than
 *    was sent). Data beyond the window, or after STREAM_SHUT, closes the
 *    connection. Once both directions are shut (the agent sent
 *    STREAM_SHUT and wrote everything before the client's STREAM_SHUT)
 *    the agent sends STREAM_CLOSE 0 and forgets the stream. A
 *    STREAM_CLOSE 0 from the client counts as its STREAM_SHUT and says it
 *    reads no more: what it sent is written, then the socket is shut and
 *    closed. These rules are lib/stream.c's, the same as netd's.
 *  - A connect unanswered for 20 s is ETIMEDOUT.
 *  - UDP, ICMP: credits both ways, per datagram bytes. The agent sends
 *    at most STREAM_OPEN's window (0: 256 KiB) ahead of the client's
 *    credits; datagrams beyond wait in the socket's bounded buffer and
 *    are dropped there. A datagram from the client is credited back
 *    once handled (batches of 256 KiB, as for TCP), sent or dropped: a
 *    datagram the socket would not take now is dropped. ICMP errors
 *    about earlier datagrams are ignored.
 *  - OP_DNS: at most 1024 queries of a connection in flight; beyond,
 *    EAGAIN.
 *  - OP_DNS: the answer is the server's, with the client's query ID put
 *    back (c-ares sends under an ID of its own); truncated UDP answers
 *    are retried over TCP by c-ares. Errors: ETIMEDOUT, ECONNREFUSED,
 *    EIO. The target's resolv.conf is re-read at most once a second.
 *  - OP_INCOMING_SUB (steal): at most 64 ports per client; a stolen
 *    connection's STREAM_ACCEPT waits 20 s for the client's STREAM_OPENED
 *    (then STREAM_CLOSE ETIMEDOUT and a reset), and at most 1024 wait at
 *    once per client (beyond, new ones are reset). IPv4 only. Needs
 *    CAP_NET_ADMIN in the target's netns (EPERM otherwise). While a port
 *    is stolen the agent's own connections carry its mark, so that they
 *    reach the pod's program (incoming.c, nft.c).
 *  - A malformed message closes the connection; a message for an unknown
 *    stream id is dropped. Without the target's netns (setns failed),
 *    every request and STREAM_OPEN is answered EPERM.
 */
#ifndef MIRROR_AGENT_NET_H
#define MIRROR_AGENT_NET_H

#include <stddef.h>
#include <stdint.h>

#include "fs.h"
#include "proto.h"
#include "ws.h"

struct agent_net;
struct agent_net_client;

/* What the agent may have unwritten per TCP stream (its window). */
#define AGENT_NET_WINDOW	(2u * 1024 * 1024)
/* Streams one connection may have open at once. */
#define AGENT_NET_STREAMS_MAX	65536

/*
 * Starts the network thread. It enters the network namespace of process
 * pid (0, or the agent's own namespace: stays where it is); if it cannot,
 * it logs that once and answers every network request EPERM. fs gives
 * the target's /etc/resolv.conf; borrowed for the agent's life.
 */
struct agent_net *agent_net_new(struct agent_fs *fs, int pid);
/* Stops and joins the thread and closes every socket. Clients still
 * attached are released by their agent_net_detach(). */
void	agent_net_stop(struct agent_net *);
void	agent_net_free(struct agent_net *);

/* True for the request ops served here (OP_NET_INFO, OP_DNS). */
int	agent_net_serves(unsigned int op);

/*
 * Service thread: a connection's network state, made on its first
 * network message. Holds a reference on conn. release(arg) runs (on the
 * network thread, or in agent_net_detach once the thread is stopped)
 * when the network side is done with the connection: after
 * agent_net_detach() and once its streams and DNS queries are gone.
 */
struct agent_net_client *agent_net_attach(struct agent_net *,
	    struct ws_conn *conn, void (*release)(void *), void *arg);
/* Service thread: the connection is gone; closes all its streams. */
void	agent_net_detach(struct agent_net *, struct agent_net_client *);
/*
 * Service thread: one MSG_STREAM message, or an OP_NET_INFO/OP_DNS
 * request, whose header h was checked by proto_hdr_decode(). Checks the
 * payload and copies msg; never blocks. Returns 0, or a negative errno
 * with *why set: the caller closes the connection.
 */
int	agent_net_submit(struct agent_net *, struct agent_net_client *,
	    const struct proto_hdr *h, const uint8_t *msg, size_t len,
	    const char **why);

#endif
