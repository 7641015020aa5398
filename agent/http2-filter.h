/*
 * Filtered steal of HTTP/2 with prior knowledge (h2c, gRPC): when a
 * filtered connection (agent/http-filter.c) opens with the h2c preface,
 * its thread becomes an HTTP/2 proxy. nghttp2 speaks all three ways: a
 * server session toward the client, and lazily one client session to
 * the pod's own process and one to the laptop. Each client stream goes,
 * once its request headers are complete, to the side the filter picks;
 * bodies, responses, trailers and resets are relayed per stream.
 */
#ifndef MIRROR_AGENT_HTTP2_FILTER_H
#define MIRROR_AGENT_HTTP2_FILTER_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "httpfilter.h"

/* Streams one connection holds at once (its client is told 100). */
#define H2F_STREAMS_MAX		128
/* A header block's bytes and fields, either way. */
#define H2F_HEAD_MAX		65536
#define H2F_FIELDS_MAX		256

/* Runs the proxy until the client's connection ends. cfd: the client
 * (nonblocking), whose first bytes, already read, are pre[0, npre) (the
 * preface and what followed it); lfd: the laptop's end of the socket
 * pair (nonblocking; shut, not closed, here). The pod's process is
 * reached at orig with mark. Returns 0 or -errno; the caller closes
 * cfd and lfd. */
int	http2_filter_run(int cfd, int lfd, const struct sockaddr_in *orig,
	    uint32_t mark, const struct http_filter *f, const uint8_t *pre,
	    size_t npre);

#endif
