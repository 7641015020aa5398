/*
 * The layer's line to netd (mirror-netd --netns --incoming steal): under
 * `mirrorctl exec` the LD_PRELOAD layer tells netd at once that a
 * program listens on a TCP port, and waits for the pod's port to be
 * subscribed before listen() returns, so that a request arriving right
 * after listen() is already delivered; watching the shell's listeners
 * (expose.c, every 200 ms) stays for programs the layer does not reach.
 *
 * The socket is a unix stream socket in the abstract namespace of the
 * shell's network namespace (LAYER_CTL_NAME; mirrorctl gives the layer
 * that name in MIRROR_NETD_SOCK): only the shell's processes reach it,
 * and no file of it needs permissions or clean-up. One request per
 * connection, one line of at most LAYER_CTL_LINE_MAX bytes, one line
 * back:
 *   "L LOCAL ASKED ADDR\n"  listen() on LOCAL, the port the program
 *                           asked ASKED (another after a fallback bind),
 *                           bound to ADDR (numeric IPv4 or IPv6).
 *                           "ok" once the pod's port is subscribed,
 *                           "no" when the session does not take ASKED,
 *                           "err ERRNO" when it could not be.
 *   "B PORT\n"              bind() of PORT failed with EADDRINUSE: would
 *                           the session take it (then the layer binds
 *                           another port for it)? "yes" or "no".
 * The sender is the user's program: everything is bounded and checked
 * (layer_ctl_parse, fuzzed by tests/fuzz/fuzz-layer-ctl.c).
 */
#ifndef MIRROR_NETD_LAYER_CTL_H
#define MIRROR_NETD_LAYER_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The abstract name ('@' is the leading NUL) and the environment
 * variable that gives it to the layer. */
#define LAYER_CTL_NAME		"@mirror-netd-layer"
#define LAYER_CTL_ENV		"MIRROR_NETD_SOCK"
/* A request or answer line, its '\n' included. */
#define LAYER_CTL_LINE_MAX	96
/* How long netd waits for the agent's answer (the layer a little
 * longer). */
#define LAYER_CTL_WAIT_S	2.0

enum layer_ctl_op { LAYER_CTL_LISTEN = 'L', LAYER_CTL_BIND = 'B' };

struct layer_ctl_req {
	enum layer_ctl_op	 op;
	uint16_t		 local, asked;	/* host order; B: asked */
	struct sockaddr_storage	 to;	/* L: where netd connects */
	socklen_t		 tolen;
};

/* One request line (n bytes, the '\n' included or not). 0, or -EINVAL
 * for anything but the forms above; r->to is the listener's address
 * (loopback for an unspecified one) with port LOCAL. */
int	layer_ctl_parse(const char *buf, size_t n, struct layer_ctl_req *r);
/* Inside the shell's namespace, with steal on: makes the socket and
 * starts the thread that answers. 0 or -errno. */
int	layer_ctl_start(void);
void	layer_ctl_stop(void);

#endif
