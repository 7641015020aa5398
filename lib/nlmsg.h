/*
 * Netlink messages built by hand: several messages one after another in
 * one bounded buffer (a batch), attributes and nested attributes, sent
 * in one sendto() and acknowledged message by message. For the agent's
 * nftables table (agent/nft.c: the statically linked agent cannot use
 * libnftnl, whose archive needs libmnl, of which Debian 12 ships no
 * static archive) and netd's policy route for stolen connections
 * (netd/incoming.c). Values go in as given: nf_tables wants its u32s in
 * network order, rtnetlink in host order; the caller converts.
 */
#ifndef MIRROR_NLMSG_H
#define MIRROR_NLMSG_H

#include <stddef.h>
#include <stdint.h>

#define NLMSG_BUF_MAX	8192

struct nlmsg_buf {
	uint8_t		 buf[NLMSG_BUF_MAX];
	size_t		 len;
	int		 err;		/* sticky: -EMSGSIZE */
	int		 nack;		/* messages that asked for an ack */
	uint32_t	 seq;		/* the next message's */
	uint32_t	 start_seq;	/* the buffer's first message's */
	uint32_t	 first_seq;	/* of the first that asked */
};

/* Empties b; its messages are numbered from seq on. */
void	nlmsg_start(struct nlmsg_buf *b, uint32_t seq);
/* A message header (type, NLM_F_REQUEST | flags) and the family header
 * after it (hdr, hdrlen bytes); returns where it starts, for
 * nlmsg_end. */
size_t	nlmsg_begin(struct nlmsg_buf *b, uint16_t type, uint16_t flags,
	    const void *hdr, size_t hdrlen);
void	nlmsg_end(struct nlmsg_buf *b, size_t at);
void	nlmsg_attr(struct nlmsg_buf *b, uint16_t type, const void *data,
	    size_t len);
void	nlmsg_attr_u32(struct nlmsg_buf *b, uint16_t type, uint32_t v);
/* A string with its NUL. */
void	nlmsg_attr_str(struct nlmsg_buf *b, uint16_t type, const char *s);
size_t	nlmsg_nest_begin(struct nlmsg_buf *b, uint16_t type);
void	nlmsg_nest_end(struct nlmsg_buf *b, size_t at);
/* Sends b on the netlink socket fd and reads the answers to the
 * messages that asked for an ack: 0 once all came, or the first error
 * (-errno) of any message of b (nfnetlink refuses a whole batch, e.g.
 * EPERM without CAP_NET_ADMIN, in an answer to its first message,
 * which asked for none). Answers to earlier buffers are told apart by
 * their sequence numbers and skipped. */
int	nlmsg_send(int fd, struct nlmsg_buf *b);

#endif
