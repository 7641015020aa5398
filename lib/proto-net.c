/*
 * The network messages' encoders and decoders (OP_NET_INFO, OP_DNS,
 * OP_INCOMING_*, MSG_STREAM): the one definition of their layouts, used by the agent,
 * netd and tests/fuzz/fuzz-proto-net.c. See proto-net.h.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "httpfilter.h"
#include "proto-net.h"

/* ---- OP_NET_INFO ---------------------------------------------------- */

int
proto_enc_net_info_req(struct proto_buf *b, uint32_t id)
{
	proto_begin(b, MSG_REQUEST, OP_NET_INFO, id, 0);
	return proto_finish(b);
}

int
proto_dec_net_info_req(struct proto_cur *c)
{
	return proto_end(c);
}

void
proto_enc_net_info_begin(struct proto_net_info_enc *e, struct proto_buf *b,
    uint32_t id, const void *resolv, size_t len)
{
	e->b = b;
	e->n = 0;
	e->list = 0;
	proto_begin(b, MSG_REPLY, OP_NET_INFO, id, 0);
	proto_put_bytes(b, resolv, len);
	e->at = b->len;
	proto_put_u32(b, 0);		/* the count, filled in as we go */
}

static int
prefix_ok(const struct proto_net_prefix *p)
{
	if (p->family != 4 && p->family != 6)
		return 0;
	if (p->prefixlen > (p->family == 4 ? 32 : 128))
		return 0;
	return memchr(p->ifname, '\0', sizeof(p->ifname)) != NULL;
}

int
proto_enc_net_info_prefix(struct proto_net_info_enc *e,
    const struct proto_net_prefix *p)
{
	if (!prefix_ok(p))
		return -EINVAL;
	if (e->n >= PROTO_NET_PREFIX_MAX)
		return -E2BIG;
	proto_put_u8(e->b, p->family);
	proto_put_bytes(e->b, p->addr, p->family == 4 ? 4 : 16);
	proto_put_u8(e->b, p->prefixlen);
	proto_put_str(e->b, p->ifname);
	proto_patch_u32(e->b, e->at, ++e->n);
	return 0;
}

void
proto_enc_net_info_routes(struct proto_net_info_enc *e)
{
	if (e->list != 0)
		return;
	e->list = 1;
	e->n = 0;
	e->at = e->b->len;
	proto_put_u32(e->b, 0);
}

int
proto_enc_net_info_end(struct proto_net_info_enc *e)
{
	proto_enc_net_info_routes(e);	/* an empty route list at least */
	return proto_finish(e->b);
}

static int
dec_prefix_list(struct proto_cur *c, int list, proto_net_prefix_cb cb,
    void *arg)
{
	struct proto_net_prefix p;
	const uint8_t *addr;
	uint32_t n, i, alen;
	int rc;

	if (proto_get_u32(c, &n) < 0 || n > PROTO_NET_PREFIX_MAX)
		return -EBADMSG;
	for (i = 0; i < n; i++) {
		memset(&p, 0, sizeof(p));
		if (proto_get_u8(c, &p.family) < 0 ||
		    proto_get_bytes(c, &addr, &alen, 16) < 0 ||
		    proto_get_u8(c, &p.prefixlen) < 0 ||
		    proto_get_str(c, p.ifname, sizeof(p.ifname)) < 0)
			return -EBADMSG;
		if ((p.family != 4 && p.family != 6) ||
		    alen != (p.family == 4 ? 4u : 16u) || !prefix_ok(&p))
			return -EBADMSG;
		memcpy(p.addr, addr, alen);
		if (cb != NULL && (rc = cb(arg, list, &p)) < 0)
			return rc;
	}
	return 0;
}

int
proto_dec_net_info(struct proto_cur *c, const uint8_t **resolv,
    uint32_t *resolv_len, proto_net_prefix_cb cb, void *arg)
{
	int rc;

	if (proto_get_bytes(c, resolv, resolv_len, PROTO_NET_RESOLV_MAX) < 0)
		return -EBADMSG;
	if ((rc = dec_prefix_list(c, 0, cb, arg)) < 0 ||
	    (rc = dec_prefix_list(c, 1, cb, arg)) < 0)
		return rc;
	return proto_end(c);
}

/* ---- OP_DNS --------------------------------------------------------- */

int
proto_enc_dns_req(struct proto_buf *b, uint32_t id, const void *query,
    size_t len)
{
	if (len > PROTO_DNS_MAX)
		return -EMSGSIZE;
	proto_begin(b, MSG_REQUEST, OP_DNS, id, 0);
	proto_put_bytes(b, query, len);
	return proto_finish(b);
}

int
proto_dec_dns_req(struct proto_cur *c, const uint8_t **query, uint32_t *len)
{
	if (proto_get_bytes(c, query, len, PROTO_DNS_MAX) < 0)
		return -EBADMSG;
	return proto_end(c);
}

int
proto_enc_dns_reply(struct proto_buf *b, uint32_t id, const void *answer,
    size_t len, uint8_t **placed)
{
	uint8_t *p;

	if (len > PROTO_DNS_MAX)
		return -EMSGSIZE;
	proto_begin(b, MSG_REPLY, OP_DNS, id, 0);
	p = proto_put_bytes_reserve(b, len);
	if (p != NULL && len > 0)
		memcpy(p, answer, len);
	if (placed != NULL)
		*placed = p;
	return proto_finish(b);
}

int
proto_dec_dns_reply(struct proto_cur *c, const uint8_t **answer,
    uint32_t *len)
{
	return proto_dec_dns_req(c, answer, len);	/* the same layout */
}

int
proto_enc_net_errno(struct proto_buf *b, uint8_t kind, uint16_t op,
    uint32_t id, uint32_t err)
{
	proto_begin(b, kind, op, id, err);
	return proto_finish(b);
}

/* ---- OP_INCOMING_SUB, OP_INCOMING_UNSUB ---------------------------- */

/* A mode of 1..INCOMING_MODE_MAX, and no flag but INCOMING_FLUSH. */
static int
incoming_mode_ok(uint8_t mode)
{
	uint8_t m = mode & (uint8_t)~INCOMING_FLUSH;

	return m != 0 && m <= INCOMING_MODE_MAX;
}

int
proto_enc_incoming_sub_filter(struct proto_buf *b, uint32_t id,
    uint16_t port, uint8_t mode, const uint8_t *filter, size_t flen)
{
	if (port == 0 || !incoming_mode_ok(mode) ||
	    ((mode & ~INCOMING_FLUSH) == INCOMING_FILTER) != (flen > 0) ||
	    flen > HTTP_FILTER_WIRE_MAX)
		return -EINVAL;
	proto_begin(b, MSG_REQUEST, OP_INCOMING_SUB, id, 0);
	proto_put_u16(b, port);
	proto_put_u8(b, mode);
	if ((mode & ~INCOMING_FLUSH) == INCOMING_FILTER)
		proto_put_bytes(b, filter, flen);
	return proto_finish(b);
}

int
proto_enc_incoming_sub(struct proto_buf *b, uint32_t id, uint16_t port,
    uint8_t mode)
{
	return proto_enc_incoming_sub_filter(b, id, port, mode, NULL, 0);
}

int
proto_dec_incoming_sub_filter(struct proto_cur *c, uint16_t *port,
    uint8_t *mode, const uint8_t **filter, uint32_t *flen)
{
	*filter = NULL;
	*flen = 0;
	if (proto_get_u16(c, port) < 0 || proto_get_u8(c, mode) < 0 ||
	    *port == 0 || !incoming_mode_ok(*mode))
		return -EBADMSG;
	if ((*mode & ~INCOMING_FLUSH) == INCOMING_FILTER &&
	    (proto_get_bytes(c, filter, flen, HTTP_FILTER_WIRE_MAX) < 0 ||
	    *flen == 0))
		return -EBADMSG;
	return proto_end(c);
}

int
proto_dec_incoming_sub(struct proto_cur *c, uint16_t *port, uint8_t *mode)
{
	const uint8_t *f;
	uint32_t n;

	return proto_dec_incoming_sub_filter(c, port, mode, &f, &n);
}

int
proto_enc_incoming_unsub(struct proto_buf *b, uint32_t id, uint16_t port)
{
	if (port == 0)
		return -EINVAL;
	proto_begin(b, MSG_REQUEST, OP_INCOMING_UNSUB, id, 0);
	proto_put_u16(b, port);
	return proto_finish(b);
}

int
proto_dec_incoming_unsub(struct proto_cur *c, uint16_t *port)
{
	if (proto_get_u16(c, port) < 0 || *port == 0)
		return -EBADMSG;
	return proto_end(c);
}

int
proto_dec_incoming_reply(struct proto_cur *c)
{
	return proto_end(c);
}

/* ---- MSG_STREAM ----------------------------------------------------- */

static int
open_ok(const struct proto_stream_open *o, size_t alen)
{
	if ((o->family == 4 && alen != 4) || (o->family == 6 && alen != 16) ||
	    alen > 16)
		return 0;
	return o->proto != NET_TCP || o->window != 0;
}

int
proto_enc_stream_open(struct proto_buf *b, uint32_t id,
    const struct proto_stream_open *o)
{
	/* addrlen 0: the family's own length; another family (which the
	 * agent answers EAFNOSUPPORT) has exactly addrlen bytes, so that a
	 * decoded message encodes back the same. */
	size_t alen = o->addrlen != 0 || (o->family != 4 && o->family != 6) ?
	    o->addrlen : o->family == 4 ? 4 : 16;

	if (!open_ok(o, alen))
		return -EINVAL;
	proto_begin(b, MSG_STREAM, STREAM_OPEN, id, 0);
	proto_put_u8(b, o->proto);
	proto_put_u8(b, o->family);
	proto_put_bytes(b, o->addr, alen);
	proto_put_u16(b, o->port);
	proto_put_u32(b, o->window);
	return proto_finish(b);
}

static int
accept_ok(uint32_t id, const struct proto_stream_accept *a)
{
	return (id & STREAM_ID_AGENT) && (a->family == 4 || a->family == 6) &&
	    a->dport != 0 && a->window != 0;
}

int
proto_enc_stream_accept(struct proto_buf *b, uint32_t id,
    const struct proto_stream_accept *a)
{
	if (!accept_ok(id, a))
		return -EINVAL;
	proto_begin(b, MSG_STREAM, STREAM_ACCEPT, id, 0);
	proto_put_u8(b, a->family);
	proto_put_bytes(b, a->addr, a->family == 4 ? 4 : 16);
	proto_put_u16(b, a->sport);
	proto_put_u16(b, a->dport);
	proto_put_u32(b, a->window);
	return proto_finish(b);
}

int
proto_enc_stream_opened(struct proto_buf *b, uint32_t id, uint32_t err,
    uint32_t window)
{
	proto_begin(b, MSG_STREAM, STREAM_OPENED, id, err);
	proto_put_u32(b, window);
	return proto_finish(b);
}

int
proto_enc_stream_credit(struct proto_buf *b, uint32_t id, uint32_t n)
{
	proto_begin(b, MSG_STREAM, STREAM_CREDIT, id, 0);
	proto_put_u32(b, n);
	return proto_finish(b);
}

int
proto_enc_stream_shut(struct proto_buf *b, uint32_t id)
{
	proto_begin(b, MSG_STREAM, STREAM_SHUT, id, 0);
	return proto_finish(b);
}

int
proto_enc_stream_close(struct proto_buf *b, uint32_t id, uint32_t err)
{
	proto_begin(b, MSG_STREAM, STREAM_CLOSE, id, err);
	return proto_finish(b);
}

int
proto_enc_stream_data(struct proto_buf *b, uint32_t id, const void *data,
    size_t len)
{
	if (len > PROTO_STREAM_DATA_MAX)
		return -EMSGSIZE;
	proto_begin(b, MSG_STREAM, STREAM_DATA, id, 0);
	proto_put_raw(b, data, len);
	return proto_finish(b);
}

void
proto_stream_data_hdr(uint8_t *msg, uint32_t id, size_t len)
{
	proto_hdr_encode(msg, MSG_STREAM, STREAM_DATA, id, 0, (uint32_t)len);
}

int
proto_dec_stream(const struct proto_hdr *h, struct proto_cur *c,
    struct proto_stream_msg *m)
{
	const uint8_t *addr;
	uint32_t alen;

	memset(m, 0, sizeof(*m));
	m->op = h->op;
	m->id = h->id;
	m->status = h->status;
	if (h->kind != MSG_STREAM)
		return -EBADMSG;
	switch (h->op) {
	case STREAM_OPEN:
		if (h->id & STREAM_ID_AGENT)
			return -EBADMSG;	/* the agent's id space */
		if (proto_get_u8(c, &m->open.proto) < 0 ||
		    proto_get_u8(c, &m->open.family) < 0 ||
		    proto_get_bytes(c, &addr, &alen, 16) < 0 ||
		    proto_get_u16(c, &m->open.port) < 0 ||
		    proto_get_u32(c, &m->open.window) < 0)
			return -EBADMSG;
		if (!open_ok(&m->open, alen))
			return -EBADMSG;
		memcpy(m->open.addr, addr, alen);
		m->open.addrlen = (uint8_t)alen;
		break;
	case STREAM_ACCEPT:
		if (proto_get_u8(c, &m->accept.family) < 0 ||
		    proto_get_bytes(c, &addr, &alen, 16) < 0 ||
		    proto_get_u16(c, &m->accept.sport) < 0 ||
		    proto_get_u16(c, &m->accept.dport) < 0 ||
		    proto_get_u32(c, &m->accept.window) < 0)
			return -EBADMSG;
		if (!accept_ok(h->id, &m->accept) ||
		    alen != (m->accept.family == 4 ? 4u : 16u))
			return -EBADMSG;
		memcpy(m->accept.addr, addr, alen);
		break;
	case STREAM_OPENED:
		/* A refusal may come without the window. */
		if ((h->status == 0 || c->left > 0) &&
		    proto_get_u32(c, &m->window) < 0)
			return -EBADMSG;
		if (h->status != 0)
			m->window = 0;
		break;
	case STREAM_DATA:
		if (c->left > PROTO_STREAM_DATA_MAX)
			return -EBADMSG;
		m->data = c->p;
		m->len = c->left;
		c->p += c->left;
		c->left = 0;
		break;
	case STREAM_CREDIT:
		if (proto_get_u32(c, &m->credit) < 0)
			return -EBADMSG;
		break;
	case STREAM_SHUT:
	case STREAM_CLOSE:
		break;
	default:
		return -EBADMSG;
	}
	return proto_end(c);
}
