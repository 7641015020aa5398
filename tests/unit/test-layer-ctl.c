/*
 * Unit tests of netd's parser of the layer's requests
 * (netd/layer-ctl-parse.c): the two forms of layer-ctl.h with or
 * without their '\n', the listener's address turned into where netd
 * connects (loopback for an unspecified one, the local port), and the
 * lines refused: port 0 or above 65535, extra or missing fields, signs,
 * spaces, names instead of addresses, too long. Prints TAP.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "layer-ctl.h"

#include "tap.h"

static int
parse(const char *s, struct layer_ctl_req *r)
{
	return layer_ctl_parse(s, strlen(s), r);
}

/* The address netd would connect to, as text, port included. */
static const char *
to_str(const struct layer_ctl_req *r, char *buf, size_t sz)
{
	char a[INET6_ADDRSTRLEN];

	if (r->to.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)&r->to;

		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		snprintf(buf, sz, "%s:%u", a, ntohs(sin->sin_port));
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)&r->to;

		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		snprintf(buf, sz, "[%s]:%u", a, ntohs(sin6->sin6_port));
	}
	return buf;
}

int
main(void)
{
	static const char *const bad[] = {
		"", "\n", "L", "L \n", "B \n", "B 0\n", "B 65536\n",
		"B 100000\n", "B -1\n", "B +80\n", "B 80 \n", "B  80\n",
		"B 80\n\n", "B 80x\n", "b 80\n", "X 80\n", "B80\n",
		"L 80 80\n", "L 80 80 \n", "L 0 80 0.0.0.0\n",
		"L 80 0 0.0.0.0\n", "L 80 80 localhost\n",
		"L 80 80 1.2.3.4 \n", "L 80 80 1.2.3\n",
		"L 80 80 1.2.3.4.5\n", "L 80 80 fe80::1%eth0\n",
		"L 80 80 0.0.0.0 extra\n", "L 123456 80 0.0.0.0\n",
		"L 80 80 0.0.0.0\r\n",
	};
	struct layer_ctl_req r;
	char buf[128], longline[200];
	size_t i;

	ok(parse("B 80\n", &r) == 0 && r.op == LAYER_CTL_BIND &&
	    r.asked == 80 && r.tolen == 0, "B 80");
	ok(parse("B 65535", &r) == 0 && r.asked == 65535,
	    "B 65535 without its newline");
	ok(parse("L 41234 9090 0.0.0.0\n", &r) == 0 &&
	    r.op == LAYER_CTL_LISTEN && r.local == 41234 && r.asked == 9090 &&
	    r.tolen == sizeof(struct sockaddr_in) &&
	    strcmp(to_str(&r, buf, sizeof(buf)), "127.0.0.1:41234") == 0,
	    "L on 0.0.0.0: netd connects to 127.0.0.1 at the local port (%s)",
	    buf);
	ok(parse("L 8080 8080 198.18.0.1\n", &r) == 0 &&
	    strcmp(to_str(&r, buf, sizeof(buf)), "198.18.0.1:8080") == 0,
	    "L on a given IPv4 address (%s)", buf);
	ok(parse("L 80 80 ::\n", &r) == 0 &&
	    r.tolen == sizeof(struct sockaddr_in6) &&
	    strcmp(to_str(&r, buf, sizeof(buf)), "[::1]:80") == 0,
	    "L on [::]: netd connects to [::1] (%s)", buf);
	ok(parse("L 80 80 ::ffff:127.0.0.1", &r) == 0 &&
	    strcmp(to_str(&r, buf, sizeof(buf)), "[::ffff:127.0.0.1]:80") ==
	    0, "L on a mapped IPv4 address, no newline (%s)", buf);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(parse(bad[i], &r) == -EINVAL,
		    "refused: \"%.*s\"", (int)strcspn(bad[i], "\n"), bad[i]);
	ok(layer_ctl_parse("L 80 80 0.0.0.0\0\n", 17, &r) == -EINVAL,
	    "refused: a NUL after the address");
	ok(layer_ctl_parse("B 80\0", 5, &r) == -EINVAL,
	    "refused: a NUL after the port");
	memset(longline, '1', sizeof(longline));
	memcpy(longline, "L 80 80 ", 8);
	ok(layer_ctl_parse(longline, sizeof(longline), &r) == -EINVAL,
	    "refused: a line of %zu bytes", sizeof(longline));
	return done_testing();
}
