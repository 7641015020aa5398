/*
 * mirrorctl status -o json (status-json.c): the layout is in
 * mirrorctl(1), under STATUS JSON.
 */
#ifndef MIRRORCTL_STATUS_H
#define MIRRORCTL_STATUS_H

#include <stddef.h>

#include "session.h"

/* The sums of "counters" at the top level. */
struct status_totals {
	size_t	shells, subscriptions;
	unsigned long long tcp_open, tcp_total, udp_flows, dns_queries,
		bytes_in, bytes_out;
};

/* Adds a netd counter (key=N of its status file) to t, if t sums it. */
void	status_totals_add(struct status_totals *t, const char *key,
	    unsigned long long n);
/* Prints all as one JSON object and a newline on stdout. Returns 0. */
int	status_print_json(const struct session *all, size_t n);

#endif
