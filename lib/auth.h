/*
 * The hello: mutual authentication of the agent and a client by
 * challenge and response over the session token, in which the token
 * never crosses the wire and the agent proves itself first (see the
 * layout and the reasoning in proto.h's header comment). Pure functions
 * over messages (plus getrandom for nonces), so the agent, the client
 * and the fuzz harness run the same code.
 */
#ifndef MIRROR_AUTH_H
#define MIRROR_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define AUTH_KEY_LEN	32	/* SHA-256(token) */
#define AUTH_NONCE_LEN	32
#define AUTH_SID_LEN	16
#define AUTH_MAC_LEN	32	/* HMAC-SHA-256 */

/* The hello's steps; each travels in the header's id field. */
enum auth_step {
	AUTH_HELLO = 1,		/* client -> agent: caps, cn, sid */
	AUTH_CHALLENGE,		/* agent -> client: an, agent's proof */
	AUTH_PROOF,		/* client -> agent: client's proof */
	AUTH_WELCOME,		/* agent -> client: status; caps, server */
};

/* One side's view of one exchange. */
struct auth_state {
	uint8_t		key[AUTH_KEY_LEN];
	uint8_t		cn[AUTH_NONCE_LEN];	/* client's nonce */
	uint8_t		an[AUTH_NONCE_LEN];	/* agent's nonce */
	uint8_t		sid[AUTH_SID_LEN];	/* session id (client's) */
	uint32_t	caps;			/* the peer's */
	int		step;			/* last step sent or taken */
};

/* key = SHA-256(token): what an agent started with --token-sha256 has. */
void	auth_key_from_token(const char *token, size_t len,
	    uint8_t key[AUTH_KEY_LEN]);

/* HMAC-SHA-256(key, "mirror-auth-2 " role || cn || an || sid). */
void	auth_mac(const uint8_t key[AUTH_KEY_LEN], const char *role,
	    const uint8_t cn[AUTH_NONCE_LEN], const uint8_t an[AUTH_NONCE_LEN],
	    const uint8_t sid[AUTH_SID_LEN], uint8_t out[AUTH_MAC_LEN]);

/* Client: a fresh exchange; out gets the AUTH_HELLO message. */
void	auth_client_hello(struct auth_state *s, const uint8_t key[AUTH_KEY_LEN],
	    uint32_t caps, struct proto_buf *out);
/* Client: the agent's AUTH_CHALLENGE. 0: the agent proved it knows the
 * key and out holds our AUTH_PROOF; -EACCES: it did not (a fake agent,
 * or our token is wrong), send nothing; -EBADMSG: malformed. */
int	auth_client_challenge(struct auth_state *s, const struct proto_hdr *h,
	    struct proto_cur *c, struct proto_buf *out);
/* Client: the agent's AUTH_WELCOME. 0 (caps, server filled in),
 * -EACCES (refused), -EBADMSG. */
int	auth_client_welcome(struct auth_state *s, const struct proto_hdr *h,
	    struct proto_cur *c, uint32_t *caps, char *server,
	    size_t serversz);

/* Agent: the client's AUTH_HELLO. 0: out holds our AUTH_CHALLENGE
 * (with a fresh nonce); -EBADMSG. */
int	auth_agent_hello(struct auth_state *s, const uint8_t key[AUTH_KEY_LEN],
	    const struct proto_hdr *h, struct proto_cur *c,
	    struct proto_buf *out);
/* Agent: the client's AUTH_PROOF. 0: the client knows the key;
 * -EACCES: it does not; -EBADMSG: malformed. */
int	auth_agent_proof(struct auth_state *s, const struct proto_hdr *h,
	    struct proto_cur *c);
/* Agent: the AUTH_WELCOME (status 0 with caps and server, or EACCES
 * alone). */
void	auth_agent_welcome(struct proto_buf *out, int status, uint32_t caps,
	    const char *server);

/* Forget the key and nonces. */
void	auth_clear(struct auth_state *s);

#endif
