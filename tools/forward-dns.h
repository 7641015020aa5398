/*
 * Names for mirror-forward: a -L HOST that is a name is resolved as the
 * pod resolves it, by DNS queries the agent sends from the pod's netns to
 * the pod's nameservers (OP_DNS), with the pod's search list and ndots
 * (its resolv.conf from OP_NET_INFO, kept only as far as netd's
 * resolvout_format lets it through). Queries are built and answers
 * parsed by c-ares (Debian's libc-ares), not by hand; the answer is the
 * pod's and hostile: fwddns_answer is under tests/fuzz/fuzz-fwddns.c.
 */
#ifndef MIRROR_FORWARD_DNS_H
#define MIRROR_FORWARD_DNS_H

#include <stddef.h>
#include <stdint.h>

#define FWDDNS_ADDRS_MAX	16
#define FWDDNS_SEARCH_MAX	6
#define FWDDNS_NAME_MAX		254

/* The names to try for name, in order, as a stub resolver tries them:
 * with fewer dots than ndots the search domains first, then the name
 * itself; otherwise the name first. A trailing dot: the name alone. */
struct fwddns_plan {
	char	names[FWDDNS_SEARCH_MAX + 1][FWDDNS_NAME_MAX];
	int	n;
};

/* pod: the pod's resolv.conf (len bytes, hostile). */
void	fwddns_plan(const char *name, const char *pod, size_t len,
	    struct fwddns_plan *plan);

/* A query for name (type 1: A, 28: AAAA) into a buffer the caller frees
 * with fwddns_free. 0 or -EINVAL. */
int	fwddns_query(const char *name, int type, uint8_t **buf, size_t *len);
void	fwddns_free(uint8_t *buf);

/* The addresses of family (4 or 6) in a DNS answer (the pod's: hostile),
 * 4 or 16 bytes each, into addrs (room for FWDDNS_ADDRS_MAX). The count
 * (0: the name has none of that family, or does not exist), or -EBADMSG
 * for an answer c-ares cannot parse. */
int	fwddns_answer(const uint8_t *ans, size_t len, int family,
	    uint8_t addrs[][16]);

#endif
