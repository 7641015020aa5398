/*
 * The stream engine (see stream.h): one relayed TCP-like stream between a
 * local socket and the peer, for the agent, netd and every later relay.
 *
 * Ownership. A stream has one owning thread, the one whose epoll loop
 * holds its socket. Everything in this file runs there. Another thread
 * that receives the peer's messages (a websocket reader) queues them to
 * the owner; it never runs the owner's work itself, under a lock or
 * otherwise, so who touches a stream never depends on timing.
 *
 * Credit. Each direction has a window, fixed when the stream opens: the
 * peer's (STREAM_OPEN's or STREAM_OPENED's) bounds what we send, ours
 * what the peer sends.
 *  - We send while sent - credited < peer_window, and read the socket
 *    only as far as that room allows: a slow peer leaves the bytes in
 *    the socket, whose window then stops the sender, and nothing grows.
 *  - A credit from the peer adds to credited, never beyond what was
 *    sent (a confused peer cannot widen the window).
 *  - The peer's data is written to the socket at once when nothing
 *    waits before it, else queued (small pieces coalesced). Data that
 *    would make queued + uncredited exceed our window, or that comes
 *    after the peer's SHUT, is a broken peer: stream_peer_data says so.
 *  - Written bytes are credited back in batches of min(window / 4,
 *    STREAM_CREDIT_BATCH), so the peer never waits on a remainder.
 *
 * Shut and close. Half-closes travel as STREAM_SHUT, in order with the
 * data:
 *  - socket EOF: STREAM_SHUT to the peer (rd_eof), reading stops;
 *  - the peer's SHUT: once everything before it is written,
 *    shutdown(SHUT_WR) (wr_shut);
 *  - both done: STREAM_CLOSE 0 to the peer, the socket closed, ended(0).
 *    The side that gets there first sends CLOSE 0; the other side, on
 *    receiving it, takes it as the peer's SHUT and as "the peer reads no
 *    more": it writes what it holds, shuts, closes, and sends nothing.
 *  - A socket error, or a reset from the peer (STREAM_CLOSE errno), ends
 *    the stream at once, the socket with an RST (SO_LINGER 0); a local
 *    error is told to the peer as STREAM_CLOSE errno (EPIPE as
 *    ECONNRESET). Data for an ended stream is the endpoint's to drop.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "proto.h"
#include "proto-net.h"
#include "stream.h"
#include "xmalloc.h"

#define STREAM_IOV_MAX	64

void
stream_init(struct stream *s, const struct stream_ops *ops, void *ep,
    uint32_t id, uint32_t window)
{
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->ep = ep;
	s->id = id;
	s->fd = -1;
	s->window = window;
}

void
stream_set_peer_window(struct stream *s, uint32_t window)
{
	s->peer_window = window;
}

void
stream_release(struct stream *s)
{
	struct stream_chunk *c;

	while ((c = s->q) != NULL) {
		s->q = c->next;
		x_free(c);
	}
	s->qtail = NULL;
	s->queued = 0;
}

/* ---- messages to the peer ------------------------------------------ */

static void
send_ctl(struct stream *s, uint16_t op, uint32_t v)
{
	struct proto_buf b;
	int rc;

	if (s->peer_gone)
		return;
	proto_buf_init(&b, PROTO_HDR_LEN + 4);
	switch (op) {
	case STREAM_CREDIT:
		rc = proto_enc_stream_credit(&b, s->id, v);
		break;
	case STREAM_SHUT:
		rc = proto_enc_stream_shut(&b, s->id);
		break;
	default:
		rc = proto_enc_stream_close(&b, s->id, v);
		break;
	}
	if (rc == 0) {
		s->ops->send(s, b.data, b.len);
		b.data = NULL;
	}
	proto_buf_free(&b);
}

/* ---- credit accounting --------------------------------------------- */

uint64_t
stream_tx_room(const struct stream *s)
{
	uint64_t out = s->sent - s->credited;

	return out >= s->peer_window ? 0 : s->peer_window - out;
}

void
stream_tx_sent(struct stream *s, size_t n)
{
	s->sent += n;
	s->bytes_out += n;
}

void
stream_peer_credit(struct stream *s, uint32_t n)
{
	uint64_t out = s->sent - s->credited;

	if (n > out)
		n = (uint32_t)out;
	s->credited += n;
	if (s->fd >= 0 && !s->ended)
		stream_event(s, 0);	/* maybe reading again */
}

static size_t
credit_batch(const struct stream *s)
{
	size_t q = s->window / 4;

	if (q == 0)
		q = 1;
	return q < STREAM_CREDIT_BATCH ? q : STREAM_CREDIT_BATCH;
}

void
stream_rx_consumed(struct stream *s, size_t n)
{
	if (n == 0)
		return;
	s->uncredited += n;
	if (s->uncredited >= credit_batch(s)) {
		send_ctl(s, STREAM_CREDIT, (uint32_t)s->uncredited);
		s->uncredited = 0;
	}
}

/* ---- the socket ---------------------------------------------------- */

static void
set_interest(struct stream *s)
{
	uint32_t want = 0;

	if (s->fd < 0 || s->ended)
		return;
	if (!s->rd_eof && stream_tx_room(s) > 0)
		want |= EPOLLIN;
	if (s->q != NULL)
		want |= EPOLLOUT;
	if (want == s->events)
		return;
	s->ops->interest(s, s->events, want);
	s->events = want;
}

static void
end(struct stream *s, int err, int rst)
{
	struct linger lg = { 1, 0 };

	if (s->ended)
		return;
	s->ended = 1;
	if (s->fd >= 0) {
		if (rst)
			(void)setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg,
			    sizeof(lg));
		if (s->events != 0)
			s->ops->interest(s, s->events, 0);
		s->events = 0;
		close(s->fd);
		s->fd = -1;
	}
	stream_release(s);
	s->ops->ended(s, err);
}

void
stream_abort(struct stream *s, int err)
{
	s->peer_gone = 1;
	end(s, err, 1);
}

void
stream_reset(struct stream *s, int err)
{
	if (err == 0 || err == EPIPE)
		err = ECONNRESET;
	send_ctl(s, STREAM_CLOSE, (uint32_t)err);
	s->peer_gone = 1;
	end(s, err, 1);
}

/* Both directions done: the stream is over. 1 if it ended. */
static int
maybe_finish(struct stream *s)
{
	if (s->fd < 0 || s->ended || s->q != NULL)
		return 0;
	if (s->peer_shut && !s->wr_shut) {
		(void)shutdown(s->fd, SHUT_WR);
		s->wr_shut = 1;
	}
	if (!(s->rd_eof && s->wr_shut))
		return 0;
	send_ctl(s, STREAM_CLOSE, 0);
	s->peer_gone = 1;
	end(s, 0, 0);
	return 1;
}

/* Socket -> peer, within the peer's window. 0, or -1 if it ended. */
static int
sock_read(struct stream *s)
{
	uint64_t room;
	size_t want;
	ssize_t r;
	uint8_t *m;
	int i;

	for (i = 0; i < STREAM_READS_PER_EVENT && !s->rd_eof; i++) {
		if ((room = stream_tx_room(s)) == 0)
			break;
		want = room < PROTO_STREAM_DATA_MAX ? (size_t)room :
		    PROTO_STREAM_DATA_MAX;
		/* Read straight into the message: framed in place. */
		m = xmalloc(PROTO_HDR_LEN + want);
		r = recv(s->fd, m + PROTO_HDR_LEN, want, MSG_DONTWAIT);
		if (r > 0) {
			proto_stream_data_hdr(m, s->id, (size_t)r);
			stream_tx_sent(s, (size_t)r);
			s->ops->send(s, m, PROTO_HDR_LEN + (size_t)r);
			if ((size_t)r < want)
				break;
			continue;
		}
		x_free(m);
		if (r == 0) {
			s->rd_eof = 1;
			send_ctl(s, STREAM_SHUT, 0);
			if (maybe_finish(s))
				return -1;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		stream_reset(s, errno);
		return -1;
	}
	return 0;
}

/* Queued peer data -> socket. 0, or -1 if it ended. */
static int
sock_flush(struct stream *s)
{
	struct iovec iov[STREAM_IOV_MAX];
	struct stream_chunk *c;
	ssize_t r;
	size_t n, k;
	int cnt;

	while (s->q != NULL) {
		cnt = 0;
		for (c = s->q; c != NULL && cnt < STREAM_IOV_MAX;
		    c = c->next) {
			iov[cnt].iov_base = c->buf + c->off;
			iov[cnt].iov_len = c->len - c->off;
			cnt++;
		}
		r = writev(s->fd, iov, cnt);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			stream_reset(s, errno);
			return -1;
		}
		n = (size_t)r;
		s->queued -= n;
		while (n > 0 && (c = s->q) != NULL) {
			k = c->len - c->off;
			if (k > n) {
				c->off += n;
				break;
			}
			n -= k;
			s->q = c->next;
			if (s->q == NULL)
				s->qtail = NULL;
			x_free(c);
		}
		stream_rx_consumed(s, (size_t)r);
		if (s->q != NULL && s->q->off > 0)
			break;		/* the socket is full */
	}
	return maybe_finish(s) ? -1 : 0;
}

/* Keeps what the socket did not take; small pieces go together so that
 * many tiny messages cost little memory. */
static void
enqueue(struct stream *s, const uint8_t *p, size_t n)
{
	struct stream_chunk *t = s->qtail, *c;

	s->queued += n;
	if (n < STREAM_COALESCE / 4 && t != NULL && t->cap > 0 &&
	    t->cap - t->len >= n) {
		memcpy(t->buf + t->len, p, n);
		t->len += n;
		return;
	}
	if (n < STREAM_COALESCE / 4) {
		c = xmalloc(sizeof(*c) + STREAM_COALESCE);
		c->cap = STREAM_COALESCE;
	} else {
		c = xmalloc(sizeof(*c) + n);
		c->cap = 0;
	}
	c->next = NULL;
	c->off = 0;
	c->len = n;
	memcpy(c->buf, p, n);
	if (t)
		t->next = c;
	else
		s->q = c;
	s->qtail = c;
}

void
stream_attach(struct stream *s, int fd)
{
	s->fd = fd;
	s->events = 0;
	/* Data, and a shut, the peer sent before the socket was ready. */
	if (sock_flush(s) < 0)
		return;
	set_interest(s);
}

int
stream_peer_data(struct stream *s, const uint8_t *data, size_t len)
{
	ssize_t r;

	if (s->ended || len == 0)
		return 0;
	if (s->peer_shut)
		return -EPROTO;
	if (s->queued + s->uncredited + len > s->window)
		return -EPROTO;
	s->bytes_in += len;
	if (s->fd >= 0 && s->q == NULL) {
		r = send(s->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			stream_reset(s, errno);
			return 0;
		}
		if (r > 0) {
			stream_rx_consumed(s, (size_t)r);
			data += r;
			len -= (size_t)r;
		}
		if (len == 0)
			return 0;
	}
	enqueue(s, data, len);
	set_interest(s);
	return 0;
}

/* The peer sends no more: shut our socket's write side once what it
 * sent is written. */
static void
peer_done(struct stream *s)
{
	s->peer_shut = 1;
	if (maybe_finish(s))
		return;
	set_interest(s);
}

void
stream_peer_shut(struct stream *s)
{
	if (!s->ended && !s->peer_shut)
		peer_done(s);
}

void
stream_peer_close(struct stream *s, uint32_t status)
{
	if (s->ended)
		return;
	s->peer_gone = 1;
	if (status != 0) {
		end(s, (int)status, 1);
		return;
	}
	/* The peer is done and reads no more: write what it sent, shut,
	 * close (once there is a socket: stream_attach). */
	s->rd_eof = 1;
	peer_done(s);
}

void
stream_event(struct stream *s, uint32_t events)
{
	socklen_t sl = sizeof(int);
	int err = 0;

	if (s->ended || s->fd < 0)
		return;
	if (events & EPOLLERR) {
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
			err = errno;
		if (err != 0) {
			stream_reset(s, err);
			return;
		}
	}
	if (s->q != NULL && (events & (EPOLLOUT | EPOLLHUP)) &&
	    sock_flush(s) < 0)
		return;
	/* Read when told, and when called after a credit (events 0):
	 * level-triggered epoll would say so anyway, one wakeup later. */
	if ((events & (EPOLLIN | EPOLLHUP) || events == 0) &&
	    (s->events & EPOLLIN || events == 0) && sock_read(s) < 0)
		return;
	set_interest(s);
}
