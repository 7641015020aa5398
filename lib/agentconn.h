/*
 * How mirror-mountd and mirror-netd reach their agent at start-up: read
 * the token file, make the client, pin a wss:// certificate, connect and
 * authenticate (the client retries with backoff until the connect
 * timeout), check that the agent serves what the daemon needs, and on
 * any failure tell the parent why with the named exit code (daemon.h,
 * startup.h).
 */
#ifndef MIRROR_AGENTCONN_H
#define MIRROR_AGENTCONN_H

#include <stdint.h>

#include "client.h"
#include "conf.h"
#include "proto.h"

struct agentconn {
	const char	*prog;		/* "mirror-mountd": prefixes the line */
	const char	*url;		/* ws://HOST:PORT or wss://HOST:PORT */
	const char	*fingerprint;	/* wss:// pin (hex), or NULL */
	char		 token[PROTO_TOKEN_MAX + 1];	/* wiped by start */
	double		 request_timeout;
	int		 max_inflight;	/* default: fs.max_inflight */
	double		 connect_timeout;
	/* Streams (netd), set before the first connection; NULL: none. */
	client_stream_cb on_stream;
	client_link_cb	 on_link;
	void		*stream_arg;
	/* CAP_* the daemon needs (default none), and the line when the
	 * agent lacks one. */
	uint32_t	 caps;
	const char	*caps_missing;
};

/*
 * Fills ac from the options and the configuration and reads the token
 * file. For start-up, before detaching: an unreadable or bad token file
 * is fatal, with the reason on stderr. The strings are borrowed.
 */
void	agentconn_init(struct agentconn *ac, const char *prog,
	    const char *url, const char *fingerprint, const char *token_file,
	    const struct mirror_conf *conf);
/*
 * Connects as ac says, wipes the token, and reports failures on wfd
 * (startup_report(); -1 in the foreground). 0 with *clp connected and
 * authenticated (the caller stops and frees it); or the DAEMON_EXIT_*
 * code it reported, with *clp NULL and nothing left behind.
 */
int	agentconn_start(struct agentconn *ac, int wfd, struct client **clp);

#endif
