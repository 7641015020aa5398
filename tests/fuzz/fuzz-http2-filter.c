/*
 * libFuzzer harness for the h2c proxy of a filtered stolen connection
 * (agent/http2-filter.c over nghttp2): what it builds from peer input
 * (header blocks, the filter's view of a stream, the stream pairing,
 * bodies and trailers relayed) with hostile bytes from the client and
 * from the laptop. Input: u16 n (big-endian), then n bytes the client
 * sends after the h2c preface, then what the laptop answers (its bytes
 * wait in its socket before the proxy opens the laptop's session). The
 * filter sends paths under /api/ and the header x-mirror: me to the
 * laptop; the pod is at 127.0.0.1:1 (refused: its streams are reset).
 * The run must end (the client's end of input ends it) without a
 * memory error or a leak.
 *
 * FUZZ-SOURCES: agent/http2-filter.c agent/http-filter.c agent/http-split.c lib/httpfilter.c lib/proto.c lib/xmalloc.c lib/log.c
 * FUZZ-FLAGS: -lhttp_parser -lnghttp2 -lpthread
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../agent/http2-filter.h"
#include "httpfilter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/* A socket pair whose [0] holds p then its end; [1] is the proxy's. */
static int
pair(int sv[2], const uint8_t *p, size_t n)
{
	int big = 1 << 20;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, sv) < 0)
		return -1;
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	if (n > 0 && write(sv[0], p, n) != (ssize_t)n)
		abort();
	(void)shutdown(sv[0], SHUT_WR);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_filter *f;
	struct sockaddr_in pod = { .sin_family = AF_INET,
	    .sin_port = htons(1) };
	struct http_filter_wire w = { .len = 0 };
	char err[256];
	uint8_t *cl;
	size_t n;
	int c[2], l[2];

	if (f == NULL) {
		if (http_filter_put_group(&w, HF_ANY_OF, 2) < 0 ||
		    http_filter_put_leaf(&w, HF_HEADER, "^x-mirror: me$",
		    err, sizeof(err)) < 0 ||
		    http_filter_put_leaf(&w, HF_PATH, "^/api/", err,
		    sizeof(err)) < 0 ||
		    http_filter_compile(w.buf, w.len, &f) < 0)
			abort();
	}
	if (size < 2 || size > 65536)
		return 0;
	n = (size_t)data[0] << 8 | data[1];
	if (n > size - 2)
		n = size - 2;
	pod.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cl = malloc(sizeof(preface) - 1 + n);
	memcpy(cl, preface, sizeof(preface) - 1);
	memcpy(cl + sizeof(preface) - 1, data + 2, n);
	if (pair(c, cl, sizeof(preface) - 1 + n) < 0 ||
	    pair(l, data + 2 + n, size - 2 - n) < 0)
		abort();
	free(cl);
	(void)http2_filter_run(c[1], l[1], &pod, 0, f, NULL, 0);
	close(c[0]);
	close(c[1]);
	close(l[0]);
	close(l[1]);
	return 0;
}
