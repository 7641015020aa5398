/*
 * The system's resolver for "mirrorctl connect": where systemd-resolved
 * runs, the DNS stub on the TUN address becomes the DNS server of the
 * TUN link, for the pod's domains only (~cluster.local and the pod's
 * search list as routing domains, never the default route), so every
 * program on this machine resolves the pod's names without a change to
 * /etc/resolv.conf. Talks to org.freedesktop.resolve1 over the system
 * bus (sd-bus); the only module that includes <systemd/sd-bus.h>.
 * Without resolved, the status file says how to point a resolver at the
 * stub. Nothing here is fatal.
 */
#ifndef MIRROR_NETD_RESOLVED_H
#define MIRROR_NETD_RESOLVED_H

#include <stdint.h>
#include <stdio.h>

#include "dns.h"

/* ~cluster.local and the pod's search list (RESOLVOUT_SEARCH_MAX). */
#define RESOLVED_DOMAINS_MAX	8

/* Registers the stub (IPv4, network order) as the DNS server of link
 * ifindex (dev) with cluster.local and search (nsearch domains, already
 * checked by resolvout) as routing domains; LLMNR and mDNS off there.
 * A failure is logged once and kept for resolved_status. Where there is
 * a system bus, a thread then watches resolved's bus name and registers
 * again whenever resolved (re)starts. Call from the main thread once
 * the stub answers; at most once. */
void	resolved_register(int ifindex, const char *dev, uint32_t stub,
	    const char (*search)[DNS_NAME_MAX + 1], int nsearch);
/* Stops the watcher and gives the link back to resolved (RevertLink),
 * if registered. Main thread, before the device goes. */
void	resolved_revert(void);
/* "system_dns=" lines for netd's status file (any thread). Nothing
 * before resolved_register. */
void	resolved_status(FILE *f);

#endif
