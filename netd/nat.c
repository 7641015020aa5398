/*
 * netd's NAT table: one entry per TCP connection through the TUN, found
 * by the client's 4-tuple (the forward hash) or by its fake peer address
 * and NAT port (the slot), IPv4 and IPv6 alike. The TUN thread reads it to rewrite segments;
 * the relay thread adds and retires entries. Everything here is under
 * R.nat_mtx unless it takes the lock itself (nat_drop, nat_retire,
 * nat_expire).
 */
#include "config.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "pkt.h"

#include "relay-internal.h"
#include "xmalloc.h"

unsigned int
nat_hash(const struct in6_addr *caddr, uint16_t cport,
    const struct in6_addr *daddr, uint16_t dport)
{
	uint64_t w[4], k;

	memcpy(w, caddr, 16);
	memcpy(w + 2, daddr, 16);
	k = (w[0] ^ w[1] * 0xff51afd7ed558ccdull ^ w[2] * 0xc4ceb9fe1a85ec53ull ^
	    w[3]) ^ ((uint64_t)cport << 16 | dport) * 0x9e3779b97f4a7c15ull;
	k ^= k >> 29;
	k *= 0xbf58476d1ce4e5b9ull;
	k ^= k >> 32;
	return (unsigned int)(k & (FWD_BUCKETS - 1));
}

struct nat *
nat_find(const struct in6_addr *caddr, uint16_t cport,
    const struct in6_addr *daddr, uint16_t dport)
{
	struct nat *n;

	for (n = R.fwd[nat_hash(caddr, cport, daddr, dport)]; n; n = n->fnext)
		if (n->cport == cport && n->dport == dport &&
		    pkt_addr_eq(&n->caddr, caddr) &&
		    pkt_addr_eq(&n->daddr, daddr))
			return n;
	return NULL;
}

void
nat_unhash(struct nat *n)
{
	struct nat **pp;

	if (!n->in_fwd)
		return;
	for (pp = &R.fwd[nat_hash(&n->caddr, n->cport, &n->daddr, n->dport)];
	    *pp; pp = &(*pp)->fnext)
		if (*pp == n) {
			*pp = n->fnext;
			break;
		}
	n->in_fwd = 0;
}

/* A free NAT slot of the family: one no connection used in the last
 * NAT_LINGER seconds (a dead entry holds its slot that long). */
int
nat_slot_alloc(int v6)
{
	int i, *cursor = &R.cursor[v6 ? 1 : 0], base = v6 ? NAT_SLOTS : 0;

	for (i = 0; i < NAT_SLOTS; i++) {
		int s = *cursor;

		*cursor = (*cursor + 1) % NAT_SLOTS;
		if (R.ports[base + s] == NULL)
			return base + s;
	}
	return -1;
}

/* Peers take turns, so consecutive connections spread over them. An
 * IPv6 slot's peer is in the device's IPv6 range. */
void
nat_slot_addr(int slot, struct in6_addr *paddr, uint16_t *pport)
{
	int s = slot % NAT_SLOTS;
	uint32_t tail;

	if (slot >= NAT_SLOTS) {
		*paddr = R.peer6_base;
		memcpy(&tail, paddr->s6_addr + 12, 4);
		tail = htonl(ntohl(tail) + (uint32_t)(s % RELAY_PEERS));
		memcpy(paddr->s6_addr + 12, &tail, 4);
	} else
		*paddr = pkt_addr4(htonl(R.peer_base +
		    (uint32_t)(s % RELAY_PEERS)));
	*pport = htons((uint16_t)(NAT_PORT_LO + s / RELAY_PEERS));
}

int
nat_slot_of(const struct in6_addr *paddr, uint16_t pport)
{
	int port = ntohs(pport) - NAT_PORT_LO, base = 0;
	uint32_t peer, tail, tail0;

	if (pkt_is4(paddr))
		peer = ntohl(pkt_v4(paddr)) - R.peer_base;
	else {
		if (!R.has6 || memcmp(paddr, &R.peer6_base, 12) != 0)
			return -1;
		memcpy(&tail, paddr->s6_addr + 12, 4);
		memcpy(&tail0, R.peer6_base.s6_addr + 12, 4);
		peer = ntohl(tail) - ntohl(tail0);
		base = NAT_SLOTS;
	}
	if (peer >= RELAY_PEERS || port < 0 || port >= NAT_PORTS)
		return -1;
	return base + port * RELAY_PEERS + (int)peer;
}

/* Frees an entry no kernel socket ever used (relay thread). */
void
nat_drop(struct nat *n)
{
	pthread_mutex_lock(&R.nat_mtx);
	nat_unhash(n);
	R.ports[n->slot] = NULL;
	pthread_mutex_unlock(&R.nat_mtx);
	x_free(n);
}

/* The connection is over for us; the kernel's sockets may still be in
 * FIN_WAIT or TIME_WAIT: keep translating for NAT_LINGER, then free the
 * slot. */
void
nat_retire(struct nat *n)
{
	pthread_mutex_lock(&R.nat_mtx);
	n->state = NAT_DEAD;
	n->st = NULL;
	n->expire = mono_now() + NAT_LINGER;
	n->lnext = NULL;
	if (R.linger_tail)
		R.linger_tail->lnext = n;
	else
		R.linger_head = n;
	R.linger_tail = n;
	pthread_mutex_unlock(&R.nat_mtx);
}

void
nat_expire(double t)
{
	struct nat *n;

	pthread_mutex_lock(&R.nat_mtx);
	while ((n = R.linger_head) != NULL && n->expire <= t) {
		R.linger_head = n->lnext;
		if (R.linger_head == NULL)
			R.linger_tail = NULL;
		nat_unhash(n);
		R.ports[n->slot] = NULL;
		x_free(n);
	}
	pthread_mutex_unlock(&R.nat_mtx);
}
