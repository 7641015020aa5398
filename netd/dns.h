/*
 * The DNS stub's check of a query from a local program, before it goes
 * to the agent: a standard query (QR 0, opcode QUERY) with one question
 * whose name is well formed (labels of 1 to 63 bytes, at most 255 bytes
 * in all, no compression) and whose type and class are present. Pure:
 * no I/O, under a fuzzer (tests/fuzz/fuzz-dnsstub.c).
 */
#ifndef MIRROR_NETD_DNS_H
#define MIRROR_NETD_DNS_H

#include <stddef.h>
#include <stdint.h>

#define DNS_HDR_LEN	12
#define DNS_NAME_MAX	255
#define DNS_RCODE_SERVFAIL 2

/* 0 for a query the stub forwards, -EINVAL otherwise. The name, in dotted
 * form, goes to name (DNS_NAME_MAX + 1 bytes) unless name is NULL. */
int	dns_query_check(const uint8_t *msg, size_t n, char *name);

#endif
