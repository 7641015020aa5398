/*
 * netd's status file (relay thread, once a second): the device, routes,
 * counters and up to STATUS_CONN_MAX connections as key=value lines,
 * written to a temporary file and renamed into place. mirrorctl reads it.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cidr.h"
#include "incoming.h"
#include "netns.h"
#include "relay-internal.h"
#include "resolved.h"

void
status_write(void)
{
	const struct relay_config *cfg = &R.cfg;
	char tmp[4096], a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	char c[CIDR_STR_MAX];
	char when[16];
	struct relay_stream *st;
	long long since;
	struct tm tm;
	time_t t;
	FILE *f;
	int i, lines = 0;

	if (cfg->status_file == NULL)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", cfg->status_file);
	if ((f = fopen(tmp, "w")) == NULL)
		return;
	fprintf(f, "device=%s\n", cfg->dev);
	fprintf(f, "address=%s\n", ip_str(&R.tun4, a));
	if (cfg->dns)
		fprintf(f, "dns=%s:53\n", a);
	else
		fprintf(f, "dns=off\n");
	if (R.has6)
		fprintf(f, "address6=%s\n", ip_str(&R.tun6, b));
	for (i = 0; i < cfg->nroutes; i++)
		fprintf(f, "route=%s\n", cidr_format(&cfg->routes[i], c));
	for (i = 0; i < cfg->nskipped; i++)
		fprintf(f, "skipped=%s\n", cfg->skipped[i]);
	if (cfg->nmore > 0)
		fprintf(f, "skipped=... and %d more (see the log)\n",
		    cfg->nmore);
	if (cfg->fw_table)
		fprintf(f, "firewall=table inet %s: forwarding through %s "
		    "dropped\n", cfg->fw_table, cfg->dev);
	netns_status(f);
	resolved_status(f);
	incoming_status(f);
	fprintf(f, "agent=%s\n", cfg->agent_url);
	since = atomic_load_explicit(&R.down_since, memory_order_relaxed);
	if (client_ready(R.cl) || since == 0)
		fprintf(f, "state=%s\n", client_ready(R.cl) ? "up" :
		    "connecting");
	else {
		t = (time_t)since;
		strftime(when, sizeof(when), "%H:%M:%S",
		    localtime_r(&t, &tm));
		fprintf(f, "state=reconnecting since %s (%lld s); new "
		    "connections are refused until then\n", when,
		    (long long)time(NULL) - since);
	}
	fprintf(f, "down_resets=%llu\n", (unsigned long long)
	    atomic_load_explicit(&R.down_resets, memory_order_relaxed));
	fprintf(f, "tcp_open=%llu\ntcp_total=%llu\nudp_flows=%llu\n",
	    (unsigned long long)R.tcp_open, (unsigned long long)R.tcp_total,
	    (unsigned long long)R.udp_flows);
	fprintf(f, "dns_queries=%llu\n", (unsigned long long)
	    atomic_load_explicit(&R.dns_queries, memory_order_relaxed));
	fprintf(f, "fd_limit=%ld\n", R.nofile);
	fprintf(f, "fd_resets=%llu\n", (unsigned long long)
	    atomic_load_explicit(&R.fd_resets, memory_order_relaxed));
	fprintf(f, "dns_servfail=%llu\n", (unsigned long long)
	    atomic_load_explicit(&R.dns_servfail, memory_order_relaxed));
	fprintf(f, "dropped=%llu\n", (unsigned long long)
	    atomic_load_explicit(&R.dropped, memory_order_relaxed));
	fprintf(f, "bytes_in=%llu\nbytes_out=%llu\n",
	    (unsigned long long)R.bytes_in, (unsigned long long)R.bytes_out);
	for (st = R.all; st && lines < STATUS_CONN_MAX; st = st->next) {
		if (st->proto == NET_TCP && (!st->opened || st->s.fd < 0))
			continue;
		ip_str(&st->caddr, a);
		ip_str(&st->daddr, b);
		if (st->proto == NET_ICMP)
			fprintf(f, "conn=icmp %s -> %s %llu %llu\n", a, b,
			    (unsigned long long)st->s.bytes_in,
			    (unsigned long long)st->s.bytes_out);
		else
			fprintf(f, "conn=%s %s:%u -> %s:%u %llu %llu\n",
			    st->proto == NET_TCP ? "tcp" : "udp", a,
			    ntohs(st->cport), b, ntohs(st->dport),
			    (unsigned long long)st->s.bytes_in,
			    (unsigned long long)st->s.bytes_out);
		lines++;
	}
	if (fclose(f) != 0 || rename(tmp, cfg->status_file) < 0)
		unlink(tmp);
}
