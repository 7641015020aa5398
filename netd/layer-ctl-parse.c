/*
 * The parser of the layer's requests to netd (layer-ctl.h's format), on
 * its own so that the fuzz harness and the unit test take it alone. The
 * sender is the user's program: bounded, strict, nothing but the forms
 * of layer-ctl.h.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "layer-ctl.h"

/* A port of 1 to 5 digits, 1..65535, then the delimiter d (0: the end
 * of the line). What follows, or NULL. */
static const char *
parse_port(const char *s, const char *end, char d, uint16_t *port)
{
	unsigned long v = 0;
	int n = 0;

	while (s < end && *s >= '0' && *s <= '9' && n < 5) {
		v = v * 10 + (unsigned long)(*s++ - '0');
		n++;
	}
	if (n == 0 || v == 0 || v > 65535)
		return NULL;
	*port = (uint16_t)v;
	if (d == 0)
		return s == end ? s : NULL;
	return s < end && *s == d ? s + 1 : NULL;
}

int
layer_ctl_parse(const char *buf, size_t n, struct layer_ctl_req *r)
{
	const char *s = buf, *end = buf + n;
	char addr[INET6_ADDRSTRLEN];
	struct sockaddr_in *sin = (struct sockaddr_in *)&r->to;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&r->to;
	size_t len;

	memset(r, 0, sizeof(*r));
	if (n > 0 && buf[n - 1] == '\n')
		end--;
	if (n < 2 || n > LAYER_CTL_LINE_MAX || s[1] != ' ')
		return -EINVAL;
	switch (s[0]) {
	case LAYER_CTL_BIND:
		r->op = LAYER_CTL_BIND;
		return parse_port(s + 2, end, 0, &r->asked) == NULL ?
		    -EINVAL : 0;
	case LAYER_CTL_LISTEN:
		r->op = LAYER_CTL_LISTEN;
		if ((s = parse_port(s + 2, end, ' ', &r->local)) == NULL ||
		    (s = parse_port(s, end, ' ', &r->asked)) == NULL)
			return -EINVAL;
		len = (size_t)(end - s);
		if (len == 0 || len >= sizeof(addr) ||
		    memchr(s, '\0', len) != NULL)
			return -EINVAL;
		memcpy(addr, s, len);
		addr[len] = '\0';
		if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
			sin->sin_family = AF_INET;
			sin->sin_port = htons(r->local);
			if (sin->sin_addr.s_addr == htonl(INADDR_ANY))
				sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			r->tolen = sizeof(*sin);
		} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(r->local);
			if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
				sin6->sin6_addr = in6addr_loopback;
			r->tolen = sizeof(*sin6);
		} else
			return -EINVAL;
		return 0;
	}
	return -EINVAL;
}
