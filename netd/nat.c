/*
 * netd's NAT table: one entry per TCP connection through the TUN, found
 * by the client's 4-tuple (the forward hash) or by its fake peer address
 * and NAT port (the slot). The TUN thread reads it to rewrite segments;
 * the relay thread adds and retires entries. Everything here is under
 * R.nat_mtx unless it takes the lock itself (nat_drop, nat_retire,
 * nat_expire).
 */
#include "config.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>

#include "relay-internal.h"
#include "xmalloc.h"

unsigned int
nat_hash(uint32_t caddr, uint16_t cport, uint32_t daddr, uint16_t dport)
{
	uint64_t k = ((uint64_t)caddr << 32 | daddr) ^
	    ((uint64_t)cport << 16 | dport) * 0x9e3779b97f4a7c15ull;

	k ^= k >> 29;
	k *= 0xbf58476d1ce4e5b9ull;
	k ^= k >> 32;
	return (unsigned int)(k & (FWD_BUCKETS - 1));
}

struct nat *
nat_find(uint32_t caddr, uint16_t cport, uint32_t daddr, uint16_t dport)
{
	struct nat *n;

	for (n = R.fwd[nat_hash(caddr, cport, daddr, dport)]; n; n = n->fnext)
		if (n->caddr == caddr && n->cport == cport &&
		    n->daddr == daddr && n->dport == dport)
			return n;
	return NULL;
}

void
nat_unhash(struct nat *n)
{
	struct nat **pp;

	if (!n->in_fwd)
		return;
	for (pp = &R.fwd[nat_hash(n->caddr, n->cport, n->daddr, n->dport)];
	    *pp; pp = &(*pp)->fnext)
		if (*pp == n) {
			*pp = n->fnext;
			break;
		}
	n->in_fwd = 0;
}

/* A free NAT slot: one no connection used in the last NAT_LINGER
 * seconds (a dead entry holds its slot that long). */
int
nat_slot_alloc(void)
{
	int i, total = RELAY_PEERS * NAT_PORTS;

	for (i = 0; i < total; i++) {
		int s = R.cursor;

		R.cursor = (R.cursor + 1) % total;
		if (R.ports[s] == NULL)
			return s;
	}
	return -1;
}

/* Peers take turns, so consecutive connections spread over them. */
void
nat_slot_addr(int slot, uint32_t *paddr, uint16_t *pport)
{
	*paddr = htonl(R.peer_base + (uint32_t)(slot % RELAY_PEERS));
	*pport = htons((uint16_t)(NAT_PORT_LO + slot / RELAY_PEERS));
}

int
nat_slot_of(uint32_t paddr, uint16_t pport)
{
	uint32_t peer = ntohl(paddr) - R.peer_base;
	int port = ntohs(pport) - NAT_PORT_LO;

	if (peer >= RELAY_PEERS || port < 0 || port >= NAT_PORTS)
		return -1;
	return port * RELAY_PEERS + (int)peer;
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
