/*
 * The agent's network side, the TCP relay: socket to client within the
 * client's window, client data to the socket (written at once when the
 * socket takes it, else queued, small pieces coalesced), credits back in
 * batches, half-close both ways, and a connect's completion.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "net-int.h"
#include "xmalloc.h"

/* Credit the client back once this much was written to a socket. */
#define NET_CREDIT_BATCH	(256u * 1024)
/* Reads of one socket per wakeup, so one stream does not starve others. */
#define NET_READS_PER_WAKE	4
/* Small client data is copied together into buffers of this size. */
#define NET_COALESCE		16384
#define NET_IOV_MAX		64

void
net_credit_written(struct stream *s, size_t n)
{
	s->uncredited += n;
	if (s->uncredited >= NET_CREDIT_BATCH) {
		net_send_small(s->cl, MSG_STREAM, STREAM_CREDIT, s->id, 0, 1,
		    (uint32_t)s->uncredited);
		s->uncredited = 0;
	}
}

void
net_tcp_shut_if_drained(struct agent_net *net, struct stream *s)
{
	if (s->txq != NULL || !s->peer_shut || s->wr_shut ||
	    s->state != ST_OPEN)
		return;
	(void)shutdown(s->io.fd, SHUT_WR);
	s->wr_shut = 1;
}

/* Socket -> client, as far as the client's window allows. */
static void
tcp_read(struct agent_net *net, struct stream *s)
{
	uint64_t avail;
	size_t want;
	ssize_t r;
	uint8_t *m;
	int i;

	for (i = 0; i < NET_READS_PER_WAKE; i++) {
		avail = s->peer_window - (s->sent - s->credited);
		if (s->sent - s->credited >= s->peer_window || s->rd_eof)
			break;
		want = avail < PROTO_STREAM_DATA_MAX ? (size_t)avail :
		    PROTO_STREAM_DATA_MAX;
		/* Read straight into the message; ws_send frames and frees
		 * it at once, so its size costs nothing for long. */
		m = xmalloc(PROTO_HDR_LEN + want);
		r = recv(s->io.fd, m + PROTO_HDR_LEN, want, MSG_DONTWAIT);
		if (r > 0) {
			proto_hdr_encode(m, MSG_STREAM, STREAM_DATA, s->id, 0,
			    (uint32_t)r);
			ws_send(s->cl->conn, m, PROTO_HDR_LEN + (size_t)r);
			s->sent += (uint64_t)r;
			if ((size_t)r < want)
				break;
			continue;
		}
		x_free(m);
		if (r == 0) {
			s->rd_eof = 1;
			net_send_small(s->cl, MSG_STREAM, STREAM_SHUT, s->id, 0,
			    0, 0);
			if (net_stream_maybe_finish(net, s))
				return;
			break;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			break;
		net_stream_reset(net, s, errno);
		return;
	}
	net_stream_interest(net, s);
}

/* Queued client data -> socket. */
static void
tcp_flush(struct agent_net *net, struct stream *s)
{
	struct iovec iov[NET_IOV_MAX];
	struct net_msg *m;
	ssize_t r;
	size_t n, k;
	int cnt;

	while (s->txq != NULL) {
		cnt = 0;
		for (m = s->txq; m != NULL && cnt < NET_IOV_MAX; m = m->next) {
			iov[cnt].iov_base = m->data + m->off;
			iov[cnt].iov_len = m->len - m->off;
			cnt++;
		}
		r = writev(s->io.fd, iov, cnt);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				break;
			net_stream_reset(net, s, errno);
			return;
		}
		n = (size_t)r;
		s->txq_bytes -= n;
		while (n > 0 && (m = s->txq) != NULL) {
			k = m->len - m->off;
			if (k > n) {
				m->off += n;
				n = 0;
				break;
			}
			n -= k;
			s->txq = m->next;
			if (s->txq == NULL)
				s->txq_tail = NULL;
			x_free(m);
		}
		net_credit_written(s, (size_t)r);
		if (s->txq != NULL && s->txq->off > 0)
			break;		/* the socket is full */
	}
	net_tcp_shut_if_drained(net, s);
	if (net_stream_maybe_finish(net, s))
		return;
	net_stream_interest(net, s);
}

/* Queues client data behind what the socket has not taken; small pieces
 * are copied together so that many tiny messages cost little memory. */
static void
tcp_enqueue(struct stream *s, struct net_msg *m)
{
	struct net_msg *t = s->txq_tail, *c;
	size_t len = m->len - m->off;

	s->txq_bytes += len;
	if (len < NET_COALESCE / 4) {
		if (t != NULL && t->cap > 0 && t->cap - t->len >= len) {
			memcpy(t->data + t->len, m->data + m->off, len);
			t->len += len;
			x_free(m);
			return;
		}
		c = xmalloc(sizeof(*c) + NET_COALESCE);
		memset(c, 0, sizeof(*c));
		c->data = c->buf;
		c->cap = NET_COALESCE;
		memcpy(c->data, m->data + m->off, len);
		c->len = len;
		x_free(m);
		m = c;
	} else {
		/* A big buffer is not filled up: its off/len are its own. */
		m->cap = 0;
	}
	m->next = NULL;
	if (t)
		t->next = m;
	else
		s->txq = m;
	s->txq_tail = m;
}

/* Client data for the socket: data/len, held by m, or (m NULL) borrowed
 * for the call and copied only if the socket does not take it all now. */
void
net_tcp_data(struct agent_net *net, struct stream *s, struct net_msg *m,
    const uint8_t *data, size_t len)
{
	size_t off = 0;
	ssize_t r;

	if (len == 0)
		goto out;
	if (s->peer_shut) {
		net_client_violation(s->cl, "stream data after stream_shut");
		goto out;
	}
	if (s->txq_bytes + s->uncredited + len > AGENT_NET_WINDOW) {
		net_client_violation(s->cl, "stream data beyond the window");
		goto out;
	}
	if (s->state == ST_OPEN && s->txq == NULL) {
		r = send(s->io.fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			net_stream_reset(net, s, errno);
			goto out;
		}
		if (r > 0) {
			off = (size_t)r;
			net_credit_written(s, (size_t)r);
		}
		if (off == len)
			goto out;
	}
	if (m == NULL) {
		m = xmalloc(sizeof(*m) + len - off);
		memset(m, 0, sizeof(*m));
		m->data = m->buf;
		memcpy(m->buf, data + off, len - off);
		m->len = len - off;
		off = 0;
	}
	m->off = off;
	m->cap = 0;
	tcp_enqueue(s, m);
	net_stream_interest(net, s);
	return;
out:
	x_free(m);
}

void
net_tcp_event(struct agent_net *net, struct stream *s, uint32_t events)
{
	socklen_t sl = sizeof(int);
	int err = 0;

	if (s->state == ST_CONNECTING) {
		if (getsockopt(s->io.fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
			err = errno;
		if (err == 0 && !(events & (EPOLLERR | EPOLLHUP))) {
			net_conn_list_remove(net, s);
			s->state = ST_OPEN;
			net_stream_opened(s, 0);
			tcp_flush(net, s);	/* data and a shut sent early */
			return;
		}
		net_stream_opened(s, err ? err : ECONNREFUSED);
		net_stream_free(net, s, 0);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		if (s->ev_cur & EPOLLIN) {
			tcp_read(net, s);
			if (s->state != ST_OPEN)
				return;
		} else if (events & (EPOLLHUP | EPOLLERR)) {
			/* Not reading (the window is used up): only an
			 * error matters now. */
			if (getsockopt(s->io.fd, SOL_SOCKET, SO_ERROR, &err,
			    &sl) == 0 && err != 0) {
				net_stream_reset(net, s, err);
				return;
			}
		}
	}
	if ((events & (EPOLLOUT | EPOLLERR)) && s->txq != NULL)
		tcp_flush(net, s);
	else if (s->state == ST_OPEN)
		net_stream_interest(net, s);
}
