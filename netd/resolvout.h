/*
 * The resolv.conf of a shell's network namespace (mirror-netd
 * --resolv-out): the DNS stub as the only nameserver, with the search
 * list, ndots and options of the pod's resolv.conf. That text comes from
 * the pod: only well-formed domains and known options pass, each line is
 * bounded, and nothing else of it reaches the output. A pure function,
 * under a fuzz harness (tests/fuzz/fuzz-resolvout.c).
 */
#ifndef MIRROR_NETD_RESOLVOUT_H
#define MIRROR_NETD_RESOLVOUT_H

#include <stddef.h>

/* Domains kept from the pod's search list, and their total length (as
 * glibc before 2.26 allowed: what every resolver takes). */
#define RESOLVOUT_SEARCH_MAX	6
#define RESOLVOUT_SEARCH_LEN	256
/* Room for any output: the header, a nameserver line per server, the
 * search line and the options line. */
#define RESOLVOUT_MAX		2048

/* Writes the shell's resolv.conf into out (size >= RESOLVOUT_MAX): one
 * "nameserver" line per address of servers (a NULL-terminated array of
 * numeric addresses, checked here), then the pod's search list (the last
 * "search" or "domain" line of pod, len bytes, not NUL-terminated) and
 * its known options ("ndots:N", "timeout:N", "attempts:N" and flags such
 * as "edns0"). Returns the output's length, or -EINVAL if no server is
 * a numeric address. */
int	resolvout_format(const char *pod, size_t len,
	    const char *const *servers, char *out, size_t size);

#endif
