/*
 * Filtered steal (OP_INCOMING_SUB with INCOMING_FILTER): one thread per
 * accepted connection sits between the client, the laptop (a socket
 * pair whose other end is the connection's STREAM_ACCEPT stream) and the
 * pod's own process (a connection to the original destination, marked
 * so that the redirect leaves it alone). Each HTTP/1.x request goes to
 * the side the filter picks; answers go back in request order. A
 * connection that opens with the h2c preface is filtered per stream by
 * http2-filter.c.
 */
#ifndef MIRROR_AGENT_HTTP_FILTER_H
#define MIRROR_AGENT_HTTP_FILTER_H

#include <netinet/in.h>
#include <stdint.h>

#include "httpfilter.h"

/* Filtered connections alive at once; beyond, a new one is reset. */
#define HTTP_FILTER_CONNS_MAX	512

/* Starts the thread of one connection: cfd the client's socket, lfd the
 * laptop's end of the pair, orig the connection's original destination,
 * mark the SO_MARK of the connection to the pod. The thread owns the
 * fds and a reference to f. Returns 0 or -errno (then the caller still
 * owns the fds). Called on the network thread, whose network namespace
 * the new thread shares. */
int	http_filter_conn_start(int cfd, int lfd, const struct sockaddr_in *orig,
	    struct http_filter *f, uint32_t mark);

/* A connection to the pod's own process at orig, with mark (the
 * redirect skips it), nonblocking once made: the fd or -errno. */
int	http_filter_pod_connect(const struct sockaddr_in *orig, uint32_t mark);

#endif
