/*
 * netd's UDP and ICMP echo flows (relay thread, under R.relay_mtx): a
 * flow is a stream found by its 5-tuple. Datagrams wait while the agent
 * opens it, go to the agent within the flow's window and netd's bound on
 * what is not yet credited, and come back as packets written to the TUN.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "local.h"
#include "pkt.h"
#include "proto.h"
#include "relay-internal.h"
#include "xmalloc.h"

unsigned int
flow_hash(uint8_t proto, const struct in6_addr *caddr, uint16_t cport,
    const struct in6_addr *daddr, uint16_t dport)
{
	return (nat_hash(caddr, cport, daddr, dport) * 31u + proto) &
	    (ID_BUCKETS - 1);
}

struct relay_stream *
flow_find(uint8_t proto, const struct in6_addr *caddr, uint16_t cport,
    const struct in6_addr *daddr, uint16_t dport)
{
	struct relay_stream *st;

	for (st = R.flows[flow_hash(proto, caddr, cport, daddr, dport)]; st;
	    st = st->fnext)
		if (st->proto == proto && st->cport == cport &&
		    st->dport == dport && pkt_addr_eq(&st->caddr, caddr) &&
		    pkt_addr_eq(&st->daddr, daddr))
			return st;
	return NULL;
}

/* A datagram or echo to the agent, if the flow's window and netd's
 * bound on what the agent has not yet credited allow; dropped
 * otherwise, as a full queue drops it. */
static void
flow_send(struct relay_stream *st, const uint8_t *data, size_t n)
{
	if (n > stream_tx_room(&st->s) ||
	    R.dgram_unacked + n > DGRAM_UNACKED_MAX) {
		relay_dropped();
		return;
	}
	if (relay_send_data(st, data, n) < 0)
		return;
	stream_tx_sent(&st->s, n);
	R.dgram_unacked += n;
	R.bytes_out += n;
}

/* The agent consumed n bytes of the flow's datagrams. */
void
flow_credit(struct relay_stream *st, uint32_t n)
{
	uint64_t before = st->s.sent - st->s.credited;

	stream_peer_credit(&st->s, n);
	R.dgram_unacked -= before - (st->s.sent - st->s.credited);
}

void
flow_forget(struct relay_stream *st)
{
	R.dgram_unacked -= st->s.sent - st->s.credited;
}

/* UDP or ICMP echo from a client: find or open its flow. */
void
flow_packet(uint8_t *buf, size_t len)
{
	struct relay_stream *st;
	struct dgram *d;
	struct pkt p;
	uint8_t proto;
	const uint8_t *data;
	size_t n;

	if (pkt_parse(buf, len, &p) < 0)
		return;
	if (p.proto == IPPROTO_UDP) {
		proto = NET_UDP;
		data = p.l4 + 8;
		n = p.l4len - 8;
	} else {
		proto = NET_ICMP;
		data = p.l4;
		n = p.l4len;
	}
	st = flow_find(proto, &p.saddr, p.sport, &p.daddr, p.dport);
	if (st == NULL && local_wants(p.proto, &p.daddr, p.dport)) {
		/* net.local: UDP leaves from the laptop (local.c); ICMP
		 * to such an address is not relayed. */
		if (proto == NET_UDP)
			local_udp_packet(buf, len);
		else
			relay_dropped();
		return;
	}
	if (st == NULL) {
		if (!client_ready(R.cl))
			return;
		if (R.nflows >= FLOWS_MAX) {
			relay_dropped();
			return;
		}
		st = relay_stream_new(proto, &p.saddr, p.sport, &p.daddr,
		    p.dport);
		if (relay_stream_open(st) < 0) {
			relay_stream_free(st, 0);
			return;
		}
	}
	st->last = mono_now();
	if (!st->opened) {
		if (st->qn >= UDP_QUEUE_MAX ||
		    R.pending_bytes + n > PENDING_MAX) {
			relay_dropped();
			return;
		}
		R.pending_bytes += n;
		d = xmalloc(sizeof(*d) + n);
		d->next = NULL;
		d->len = n;
		memcpy(d->data, data, n);
		if (st->qtail)
			st->qtail->next = d;
		else
			st->q = d;
		st->qtail = d;
		st->qn++;
		return;
	}
	flow_send(st, data, n);
}

void
flow_opened(struct relay_stream *st, uint32_t status, uint32_t window)
{
	struct dgram *d;

	if (status != 0) {
		uint8_t *out = R.pbuf;

		/* A refused UDP port answers the first datagram the way
		 * the pod's kernel would; a refused ICMP socket (EPERM,
		 * EACCES) is silence. */
		if (st->proto == NET_UDP && status == ECONNREFUSED &&
		    st->q != NULL) {
			uint8_t icmp[PKT_VNET_LEN + 120];
			size_t plen = pkt_udp(out, &st->caddr, st->cport,
			    &st->daddr, st->dport, st->q->data, st->q->len);
			struct pkt p;

			if (plen && pkt_parse(out, plen, &p) == 0)
				tunio_write(icmp, pkt_icmp_unreach(icmp, &p,
				    PKT_UNREACH_PORT));
		}
		st->s.peer_gone = 1;
		relay_stream_free(st, 0);
		return;
	}
	st->opened = 1;
	stream_set_peer_window(&st->s, window);
	while ((d = st->q) != NULL) {
		st->q = d->next;
		R.pending_bytes -= d->len;
		flow_send(st, d->data, d->len);
		x_free(d);
	}
	st->qtail = NULL;
	st->qn = 0;
}

/* A datagram or echo reply from the agent, into the TUN. */
void
flow_data(struct relay_stream *st, const uint8_t *data, size_t n)
{
	size_t len;

	if (st->proto == NET_UDP)
		len = pkt_udp(R.pbuf, &st->daddr, st->dport, &st->caddr,
		    st->cport, data, n);
	else
		len = pkt_icmp(R.pbuf, &st->daddr, &st->caddr, st->cport,
		    data, n);
	tunio_write(R.pbuf, len);
	st->s.bytes_in += n;
	R.bytes_in += n;
	st->last = mono_now();
	stream_rx_consumed(&st->s, n);
}
