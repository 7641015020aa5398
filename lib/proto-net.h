/*
 * The network messages of the wire protocol, one typed encoder and
 * decoder per message: OP_NET_INFO and OP_DNS (requests and replies)
 * and every MSG_STREAM op. Their layouts are written in proto.h's
 * header comment and here, nowhere else: the agent, netd and the fuzz
 * harness build and read them only through these functions, on top of
 * proto.c's header and cursor functions.
 *
 * Encoders take a proto_buf that is initialised and empty and leave a
 * finished message in it (header length filled in); they return 0 or
 * the buffer's sticky error. Decoders take the payload cursor of a
 * message whose header proto_hdr_decode() checked, read every field,
 * check its range, end with proto_end(), and return 0 or -EBADMSG.
 * Pointers they return point into the message (borrowed until it is
 * freed).
 */
#ifndef MIRROR_PROTO_NET_H
#define MIRROR_PROTO_NET_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/* OP_NET_INFO: entries of each list, and the resolv.conf's size. */
#define PROTO_NET_PREFIX_MAX	4096
#define PROTO_NET_RESOLV_MAX	65536
#define PROTO_NET_IFNAME_MAX	64
/* OP_DNS: one DNS message. */
#define PROTO_DNS_MAX		65535

/* ---- OP_NET_INFO ---------------------------------------------------- */

/* An interface address or route of the target. */
struct proto_net_prefix {
	uint8_t		family;		/* 4 or 6 */
	uint8_t		addr[16];	/* 4 or 16 bytes used */
	uint8_t		prefixlen;	/* at most 32 or 128 */
	char		ifname[PROTO_NET_IFNAME_MAX + 1];
};

int	proto_enc_net_info_req(struct proto_buf *, uint32_t id);
int	proto_dec_net_info_req(struct proto_cur *);

/*
 * The reply is built in four steps: begin (the resolv.conf), the
 * addresses with _prefix, _routes (closes the address list), the routes
 * with _prefix, then _end. The lists' counts are filled in as they go.
 */
struct proto_net_info_enc {
	struct proto_buf *b;
	size_t		 at;		/* offset of the open list's count */
	uint32_t	 n;
	int		 list;		/* 0: addresses, 1: routes */
};

void	proto_enc_net_info_begin(struct proto_net_info_enc *,
	    struct proto_buf *, uint32_t id, const void *resolv, size_t len);
/* Fails (-EINVAL, nothing put) on a family, address or name the
 * decoder would refuse; -E2BIG when the list is full. */
int	proto_enc_net_info_prefix(struct proto_net_info_enc *,
	    const struct proto_net_prefix *);
void	proto_enc_net_info_routes(struct proto_net_info_enc *);
int	proto_enc_net_info_end(struct proto_net_info_enc *);

/* Calls back for each entry (list 0: an address, 1: a route); a
 * callback that returns < 0 stops the decoding with that value. */
typedef int (*proto_net_prefix_cb)(void *arg, int list,
	    const struct proto_net_prefix *);
int	proto_dec_net_info(struct proto_cur *, const uint8_t **resolv,
	    uint32_t *resolv_len, proto_net_prefix_cb, void *arg);

/* ---- OP_DNS --------------------------------------------------------- */

int	proto_enc_dns_req(struct proto_buf *, uint32_t id, const void *query,
	    size_t len);
int	proto_dec_dns_req(struct proto_cur *, const uint8_t **query,
	    uint32_t *len);
/* *placed (may be NULL) gets where the answer went in the message, so
 * that its ID can be set in place. */
int	proto_enc_dns_reply(struct proto_buf *, uint32_t id,
	    const void *answer, size_t len, uint8_t **placed);
int	proto_dec_dns_reply(struct proto_cur *, const uint8_t **answer,
	    uint32_t *len);
/* A reply or request that failed: status err, no payload. */
int	proto_enc_net_errno(struct proto_buf *, uint8_t kind, uint16_t op,
	    uint32_t id, uint32_t err);

/* ---- OP_INCOMING_SUB, OP_INCOMING_UNSUB ---------------------------- */

/* Decoders refuse port 0 and a mode outside 1..INCOMING_MODE_MAX (which
 * may carry INCOMING_FLUSH; no other bit). The
 * replies are a status and no payload (proto_enc_net_errno with 0 or an
 * errno; proto_dec_incoming_reply). */
int	proto_enc_incoming_sub(struct proto_buf *, uint32_t id, uint16_t port,
	    uint8_t mode);
int	proto_dec_incoming_sub(struct proto_cur *, uint16_t *port,
	    uint8_t *mode);
/* The same with INCOMING_FILTER's filter (flen > 0 exactly with that
 * mode; the decoder's *filter points into the message). The plain
 * encoder refuses INCOMING_FILTER; the plain decoder checks the filter's
 * bytes are there and leaves them out. */
int	proto_enc_incoming_sub_filter(struct proto_buf *, uint32_t id,
	    uint16_t port, uint8_t mode, const uint8_t *filter, size_t flen);
int	proto_dec_incoming_sub_filter(struct proto_cur *, uint16_t *port,
	    uint8_t *mode, const uint8_t **filter, uint32_t *flen);
int	proto_enc_incoming_unsub(struct proto_buf *, uint32_t id,
	    uint16_t port);
int	proto_dec_incoming_unsub(struct proto_cur *, uint16_t *port);
int	proto_dec_incoming_reply(struct proto_cur *);

/* ---- MSG_STREAM ----------------------------------------------------- */

struct proto_stream_open {
	uint8_t		proto;		/* NET_TCP, NET_UDP, NET_ICMP */
	uint8_t		family;		/* 4 or 6 */
	uint8_t		addr[16];
	uint8_t		addrlen;	/* 4 or 16; another family's: 0..16 */
	uint16_t	port;
	uint32_t	window;
};

/* STREAM_ACCEPT: the peer of an incoming connection. */
struct proto_stream_accept {
	uint8_t		family;		/* 4 or 6 */
	uint8_t		addr[16];	/* 4 or 16 bytes used */
	uint16_t	sport;		/* the peer's port */
	uint16_t	dport;		/* the target's port it came to */
	uint32_t	window;
};

/* Any stream message, decoded (proto_dec_stream). */
struct proto_stream_msg {
	uint16_t	op;		/* STREAM_* */
	uint32_t	id;
	uint32_t	status;		/* OPENED, CLOSE: 0 or an errno */
	struct proto_stream_open open;	/* STREAM_OPEN */
	struct proto_stream_accept accept; /* STREAM_ACCEPT */
	uint32_t	window;		/* STREAM_OPENED (0 on an error) */
	uint32_t	credit;		/* STREAM_CREDIT */
	const uint8_t	*data;		/* STREAM_DATA, borrowed */
	size_t		 len;
};

/* Checks what a receiver relies on: the address length matches the
 * family if that is 4 or 6, a TCP window is not 0. Another family or
 * protocol decodes (the agent answers it EAFNOSUPPORT or
 * EPROTONOSUPPORT); addrlen 0 lets the encoder take it from the family. */
int	proto_enc_stream_open(struct proto_buf *, uint32_t id,
	    const struct proto_stream_open *);
/* id must have STREAM_ID_AGENT; family 4 or 6, dport and window not 0
 * (-EINVAL otherwise, nothing put). */
int	proto_enc_stream_accept(struct proto_buf *, uint32_t id,
	    const struct proto_stream_accept *);
/* err 0: opened, with the sender's window; an errno: refused (the
 * window is sent anyway, as agents always did; a decoder takes either). */
int	proto_enc_stream_opened(struct proto_buf *, uint32_t id, uint32_t err,
	    uint32_t window);
int	proto_enc_stream_credit(struct proto_buf *, uint32_t id, uint32_t n);
int	proto_enc_stream_shut(struct proto_buf *, uint32_t id);
int	proto_enc_stream_close(struct proto_buf *, uint32_t id, uint32_t err);
int	proto_enc_stream_data(struct proto_buf *, uint32_t id,
	    const void *data, size_t len);
/* STREAM_DATA framed in place: the header into the PROTO_HDR_LEN bytes
 * before data the caller read straight into the message. */
void	proto_stream_data_hdr(uint8_t *msg, uint32_t id, size_t len);

/* Decodes a stream message of any op; -EBADMSG for a malformed one, an
 * op that is not STREAM_*, or a STREAM_OPEN (STREAM_ACCEPT) whose id is
 * (is not) in the agent's space. */
int	proto_dec_stream(const struct proto_hdr *, struct proto_cur *,
	    struct proto_stream_msg *);

#endif
