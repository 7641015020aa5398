/*
 * Netlink messages built by hand (see nlmsg.h): a bounded buffer with a
 * sticky overflow error, 4-byte aligned messages and attributes, and
 * one send with its acknowledgements.
 */
#include "config.h"

#include <errno.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>

#include "nlmsg.h"

#define NLMSG_RECV_MAX	16384

void
nlmsg_start(struct nlmsg_buf *b, uint32_t seq)
{
	b->len = 0;
	b->err = 0;
	b->nack = 0;
	b->seq = seq;
	b->start_seq = seq;
	b->first_seq = seq;
}

static void *
room(struct nlmsg_buf *b, size_t n)
{
	void *p;

	if (b->err || b->len + NLMSG_ALIGN(n) > sizeof(b->buf)) {
		b->err = -EMSGSIZE;
		return NULL;
	}
	p = b->buf + b->len;
	memset(p, 0, NLMSG_ALIGN(n));
	b->len += NLMSG_ALIGN(n);
	return p;
}

size_t
nlmsg_begin(struct nlmsg_buf *b, uint16_t type, uint16_t flags,
    const void *hdr, size_t hdrlen)
{
	size_t at = b->len;
	struct nlmsghdr *h = room(b, sizeof(*h));
	void *f = room(b, hdrlen);

	if (h == NULL || f == NULL)
		return at;
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = b->seq++;
	memcpy(f, hdr, hdrlen);
	if ((flags & NLM_F_ACK) && b->nack++ == 0)
		b->first_seq = h->nlmsg_seq;
	return at;
}

/* The length of what began at (a message's u32, or a nested
 * attribute's u16) is what was put since. */
static void
set_len(struct nlmsg_buf *b, size_t at, int nest)
{
	if (b->err)
		return;
	if (nest)
		((struct nlattr *)(b->buf + at))->nla_len =
		    (uint16_t)(b->len - at);
	else
		((struct nlmsghdr *)(b->buf + at))->nlmsg_len =
		    (uint32_t)(b->len - at);
}

void
nlmsg_end(struct nlmsg_buf *b, size_t at)
{
	set_len(b, at, 0);
}

void
nlmsg_attr(struct nlmsg_buf *b, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = room(b, NLA_HDRLEN + len);

	if (a == NULL)
		return;
	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	if (len)
		memcpy((uint8_t *)a + NLA_HDRLEN, data, len);
}

void
nlmsg_attr_u32(struct nlmsg_buf *b, uint16_t type, uint32_t v)
{
	nlmsg_attr(b, type, &v, sizeof(v));
}

void
nlmsg_attr_str(struct nlmsg_buf *b, uint16_t type, const char *s)
{
	nlmsg_attr(b, type, s, strlen(s) + 1);
}

size_t
nlmsg_nest_begin(struct nlmsg_buf *b, uint16_t type)
{
	size_t at = b->len;

	nlmsg_attr(b, type | NLA_F_NESTED, NULL, 0);
	return at;
}

void
nlmsg_nest_end(struct nlmsg_buf *b, size_t at)
{
	set_len(b, at, 1);
}

int
nlmsg_send(int fd, struct nlmsg_buf *b)
{
	static _Thread_local uint8_t buf[NLMSG_RECV_MAX]
	    __attribute__((aligned(8)));
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	struct nlmsghdr *h;
	ssize_t got;
	int acks = 0, rc = 0, len;

	if (b->err)
		return b->err;
	if (sendto(fd, b->buf, b->len, 0, (struct sockaddr *)&nl,
	    sizeof(nl)) < 0)
		return -errno;
	while (acks < b->nack) {
		got = recv(fd, buf, sizeof(buf), 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		len = (int)got;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)len);
		    h = NLMSG_NEXT(h, len)) {
			struct nlmsgerr *e = NLMSG_DATA(h);

			if (h->nlmsg_type != NLMSG_ERROR ||
			    h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)) ||
			    h->nlmsg_seq - b->start_seq >=
			    b->seq - b->start_seq)
				continue;	/* not one of b's */
			if (e->error != 0 && rc == 0)
				rc = e->error;
			if (h->nlmsg_seq - b->first_seq < (uint32_t)b->nack)
				acks++;
		}
		/* A batch that failed is answered for the failed messages
		 * only: what is there is all there will be. */
		if (rc != 0)
			break;
	}
	return rc;
}
