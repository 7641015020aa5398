/*
 * netd's TUN thread: reads packets from the TUN device and rewrites the
 * TCP segments of known connections in place through the NAT table, both
 * ways; what it cannot translate (a new SYN, UDP, an ICMP echo) it queues
 * to the relay thread. tunio_write is how any thread puts a packet back.
 * (Creating the device is tun.c's.)
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pkt.h"
#include "relay-internal.h"
#include "xmalloc.h"

void
tunio_write(const uint8_t *buf, size_t len)
{
	if (len > 0 && write(R.tunfd, buf, len) < 0 && errno != EAGAIN)
		log_debug("TUN write: %s", strerror(errno));
}

static void
tun_packet(uint8_t *buf, size_t len)
{
	uint8_t out[PKT_VNET_LEN + 60];
	struct in6_addr laddr;
	struct pkt p;
	struct nat *n;
	uint16_t lport;
	int slot, ok = 0;

	if (pkt_parse(buf, len, &p) < 0)
		return;
	if (p.proto == IPPROTO_TCP) {
		slot = nat_slot_of(&p.daddr, p.dport);
		if (slot >= 0) {
			/* From our listener back to a client. */
			pthread_mutex_lock(&R.nat_mtx);
			if ((n = R.ports[slot]) != NULL) {
				pkt_tcp_rewrite(&p, &n->daddr, n->dport,
				    &n->caddr, n->cport);
				ok = 1;
			}
			pthread_mutex_unlock(&R.nat_mtx);
			if (ok)
				tunio_write(buf, len);
			return;
		}
		relay_listener(p.v6, &laddr, &lport);
		pthread_mutex_lock(&R.nat_mtx);
		n = nat_find(&p.saddr, p.sport, &p.daddr, p.dport);
		if (n && (n->state == NAT_OPEN || (n->state == NAT_DEAD &&
		    (p.tcp_flags & (PKT_TCP_SYN | PKT_TCP_ACK)) !=
		    PKT_TCP_SYN))) {
			pkt_tcp_rewrite(&p, &n->paddr, n->pport, &laddr, lport);
			ok = 1;
		} else if (n && n->state == NAT_PENDING)
			ok = -1;	/* a retransmitted SYN: still waiting */
		pthread_mutex_unlock(&R.nat_mtx);
		if (ok > 0)
			tunio_write(buf, len);
		else if (ok < 0)
			return;
		else if ((p.tcp_flags & (PKT_TCP_SYN | PKT_TCP_ACK |
		    PKT_TCP_RST)) == PKT_TCP_SYN)
			relay_queue_push(relay_item_new(IT_PKT, buf, len));
		else if (!(p.tcp_flags & PKT_TCP_RST)) {
			log_debug("reset: a TCP segment (flags 0x%x) of no "
			    "connection, port %u", p.tcp_flags,
			    ntohs(p.sport));
			tunio_write(out, pkt_tcp_rst(out, &p));
		}
		return;
	}
	/* Multicast (an IPv6 device hears mDNS, MLD, router
	 * solicitations) is this link's, not the pod's. */
	if (IN6_IS_ADDR_MULTICAST(&p.daddr) || (pkt_is4(&p.daddr) &&
	    (p.daddr.s6_addr[12] & 0xf0) == 0xe0))
		return;
	if (p.proto == IPPROTO_UDP || pkt_is_echo_request(&p))
		relay_queue_push(relay_item_new(IT_PKT, buf, len));
}

void *
tunio_main(void *arg)
{
	struct pollfd pfd[2];
	uint8_t *buf = xmalloc(PKT_BUF_MAX);
	ssize_t n;
	int i;

	(void)arg;
	pfd[0].fd = R.tunfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = R.stopfd;
	pfd[1].events = POLLIN;
	while (!R.stop) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("poll on the TUN device");
			break;
		}
		if (pfd[1].revents)
			break;
		for (i = 0; i < TUN_BATCH; i++) {
			n = read(R.tunfd, buf, PKT_BUF_MAX);
			if (n < 0) {
				if (errno != EAGAIN && errno != EINTR)
					log_warn("TUN read");
				break;
			}
			tun_packet(buf, (size_t)n);
		}
	}
	x_free(buf);
	return NULL;
}
