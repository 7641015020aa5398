/*
 * mirrorctl status -o json: the sessions as one JSON object for scripts
 * and IDEs. The layout is documented in mirrorctl(1) and stable: fields
 * are only ever added, under "version": 1. netd's status file (key=value
 * lines) is read here into typed fields; a line of an unknown key is a
 * counter if its value is a number (exit_with and fd_limit are numbers
 * but not counts), else left out.
 */
#include "config.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net.h"
#include "procfs.h"
#include "run.h"
#include "session.h"
#include "status.h"
#include "xmalloc.h"

/* What one netd status file holds, as JSON fragments. */
struct netd_json {
	struct sbuf	info;		/* "device": ..., ... (no braces) */
	struct sbuf	routes, skipped, conns, counters;
	const char	*target;	/* of subscriptions */
	long		shell_pid;	/* of subscriptions, 0 for connect */
	struct sbuf	*all_subs;	/* every subscription, top level */
	struct status_totals *totals;
	int		mirror;		/* incoming=mirror */
	int		incoming;	/* an incoming= line was seen */
};

/* A decimal number of at most 19 digits (so it fits in unsigned long
 * long): 1 and *v, else 0. */
static int
parse_count(const char *s, unsigned long long *v)
{
	size_t n = strspn(s, "0123456789");

	if (n == 0 || n > 19 || s[n] != '\0')
		return 0;
	*v = strtoull(s, NULL, 10);
	return 1;
}

static void
sep(struct sbuf *b)
{
	if (b->len > 0)
		sbuf_printf(b, ", ");
}

/* "tcp 1.2.3.4:5 -> 6.7.8.9:10 IN OUT" or "icmp A -> B IN OUT". */
static void
json_conn(struct netd_json *j, const char *v)
{
	char proto[8], src[64], dst[64];
	unsigned long long in, out;

	if (sscanf(v, "%7s %63s -> %63s %llu %llu", proto, src, dst, &in,
	    &out) != 5)
		return;
	sep(&j->conns);
	sbuf_printf(&j->conns, "{\"proto\": ");
	sbuf_json_str(&j->conns, proto);
	sbuf_printf(&j->conns, ", \"source\": ");
	sbuf_json_str(&j->conns, src);
	sbuf_printf(&j->conns, ", \"destination\": ");
	sbuf_json_str(&j->conns, dst);
	sbuf_printf(&j->conns, ", \"bytes_in\": %llu, \"bytes_out\": %llu}",
	    in, out);
}

/* "tcp pod:R -> shell:L STATE[: ERROR] conns N failed N [dropped N]
 * bytes_in N bytes_out N" (netd/incoming.c). */
static void
json_sub(struct netd_json *j, const char *mode, const char *v)
{
	static const char *const counts[] = { "conns", "failed", "dropped",
	    "bytes_in", "bytes_out" };
	unsigned int remote, local;
	unsigned long long n;
	const char *rest, *c, *colon;
	char state[256], word[16];
	struct sbuf *b = j->all_subs;
	int off = 0, k, used;

	if (sscanf(v, "tcp pod:%u -> shell:%u %n", &remote, &local, &off) !=
	    2 || off == 0 || remote > 65535 || local > 65535)
		return;
	rest = v + off;
	if ((c = strstr(rest, " conns ")) == NULL)
		return;
	snprintf(state, sizeof(state), "%.*s", (int)(c - rest), rest);
	sep(b);
	sbuf_printf(b, "{\"target\": ");
	sbuf_json_str(b, j->target);
	if (j->shell_pid > 0)
		sbuf_printf(b, ", \"shell_pid\": %ld", j->shell_pid);
	sbuf_printf(b, ", \"mode\": \"%s\", \"proto\": \"tcp\", "
	    "\"remote_port\": %u, \"local_port\": %u, \"state\": ", mode,
	    remote, local);
	if ((colon = strstr(state, ": ")) != NULL) {
		state[colon - state] = '\0';
		sbuf_json_str(b, state);
		sbuf_printf(b, ", \"error\": ");
		sbuf_json_str(b, colon + 2);
	} else {
		sbuf_json_str(b, state);
		sbuf_printf(b, ", \"error\": null");
	}
	for (c++; sscanf(c, "%15s %llu%n", word, &n, &used) == 2; c += used)
		for (k = 0; k < (int)(sizeof(counts) / sizeof(counts[0]));
		    k++)
			if (strcmp(word, counts[k]) == 0)
				sbuf_printf(b, ", \"%s\": %llu", word, n);
	sbuf_printf(b, "}");
	j->totals->subscriptions++;
}

static void
netd_line(const char *key, const char *val, void *arg)
{
	static const char *const strings[] = { "device", "address", "dns",
	    "agent", "state", "firewall" };
	struct netd_json *j = arg;
	unsigned long long n;
	size_t i;

	if (strcmp(key, "route") == 0) {
		sep(&j->routes);
		sbuf_json_str(&j->routes, val);
	} else if (strcmp(key, "skipped") == 0) {
		sep(&j->skipped);
		sbuf_json_str(&j->skipped, val);
	} else if (strcmp(key, "conn") == 0)
		json_conn(j, val);
	else if (strcmp(key, "incoming") == 0) {
		j->incoming = 1;
		j->mirror = strcmp(val, "mirror") == 0;
	} else if (strcmp(key, "steal") == 0 || strcmp(key, "mirror") == 0)
		json_sub(j, key, val);
	else if (parse_count(val, &n) && (strcmp(key, "exit_with") == 0 ||
	    strcmp(key, "fd_limit") == 0)) {
		/* numbers, but not counts */
		sep(&j->info);
		sbuf_json_str(&j->info, key);
		sbuf_printf(&j->info, ": %llu", n);
	} else if (parse_count(val, &n)) {
		sep(&j->counters);
		sbuf_json_str(&j->counters, key);
		sbuf_printf(&j->counters, ": %llu", n);
		status_totals_add(j->totals, key, n);
	} else
		for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
			if (strcmp(key, strings[i]) == 0) {
				sep(&j->info);
				sbuf_json_str(&j->info, key);
				sbuf_printf(&j->info, ": ");
				sbuf_json_str(&j->info, val);
			}
}

static void
netd_json_init(struct netd_json *j)
{
	memset(j, 0, sizeof(*j));
	sbuf_init(&j->info);
	sbuf_init(&j->routes);
	sbuf_init(&j->skipped);
	sbuf_init(&j->conns);
	sbuf_init(&j->counters);
}

static void
netd_json_free(struct netd_json *j)
{
	sbuf_free(&j->info);
	sbuf_free(&j->routes);
	sbuf_free(&j->skipped);
	sbuf_free(&j->conns);
	sbuf_free(&j->counters);
}

static const char *
str(const struct sbuf *b)
{
	return b->s ? b->s : "";
}

static void
json_mount(struct sbuf *b, const struct session *s)
{
	const char *state = "ok";
	long watches;
	int limited;
	FILE *f;

	if (!procfs_alive(s->mountd_pid))
		state = "mountd dead";
	else if (s->agent_pid > 0 && !procfs_alive(s->agent_pid))
		state = "agent dead";
	sep(b);
	sbuf_printf(b, "{\"target\": ");
	sbuf_json_str(b, s->target);
	sbuf_printf(b, ", \"mountpoint\": ");
	sbuf_json_str(b, s->mountpoint);
	sbuf_printf(b, ", \"agent_url\": ");
	sbuf_json_str(b, s->url);
	sbuf_printf(b, ", \"mode\": \"%s\", \"mountd_pid\": %d, "
	    "\"agent_pid\": ", s->rw ? "rw" : "ro", (int)s->mountd_pid);
	if (s->agent_pid > 0)
		sbuf_printf(b, "%d", (int)s->agent_pid);
	else
		sbuf_printf(b, "null");
	sbuf_printf(b, ", \"started\": %lld, \"uptime_s\": %lld, "
	    "\"by_shell\": %s, \"state\": \"%s\", \"invalidation\": ",
	    (long long)s->started, (long long)(time(NULL) - s->started),
	    s->by_shell ? "true" : "false", state);
	f = fopen(session_file(s, "mountd.inval"), "r");
	if (f != NULL && fscanf(f, "on %ld %d", &watches, &limited) == 2)
		sbuf_printf(b, "{\"pushed\": true, \"watched\": %ld, "
		    "\"at_limit\": %s}", watches, limited ? "true" : "false");
	else if (f != NULL)
		sbuf_printf(b, "{\"pushed\": false}");
	else
		sbuf_printf(b, "null");
	if (f != NULL)
		fclose(f);
	sbuf_printf(b, "}");
}

static void
json_connection(struct sbuf *b, const struct session *s, struct sbuf *subs,
    struct status_totals *t)
{
	struct netd_json j;

	netd_json_init(&j);
	j.target = s->target;
	j.all_subs = subs;
	j.totals = t;
	net_status_lines(s, netd_line, &j);
	sep(b);
	sbuf_printf(b, "{\"target\": ");
	sbuf_json_str(b, s->target);
	sbuf_printf(b, ", \"netd_pid\": %d, \"alive\": %s, \"agent_pid\": ",
	    (int)s->netd_pid, procfs_alive(s->netd_pid) ? "true" : "false");
	if (s->agent_pid > 0)
		sbuf_printf(b, "%d", (int)s->agent_pid);
	else
		sbuf_printf(b, "null");
	sbuf_printf(b, ", \"started\": %lld%s%s, \"routes\": [%s], "
	    "\"not_routed\": [%s], \"counters\": {%s}, \"conns\": [%s]}",
	    (long long)s->started, j.info.len ? ", " : "", str(&j.info),
	    str(&j.routes), str(&j.skipped), str(&j.counters), str(&j.conns));
	netd_json_free(&j);
}

static void
json_shells(struct sbuf *b, const struct session *s, struct sbuf *subs,
    struct status_totals *t)
{
	struct session_shell *sh;
	struct netd_json j;
	struct passwd *pw;
	size_t i, n;
	char *p, *save, *placed;
	int first;

	if (session_shell_list(s, &sh, &n) < 0)
		return;
	for (i = 0; i < n; i++) {
		t->shells++;
		sep(b);
		sbuf_printf(b, "{\"target\": ");
		sbuf_json_str(b, s->target);
		sbuf_printf(b, ", \"mountpoint\": ");
		sbuf_json_str(b, s->mountpoint);
		sbuf_printf(b, ", \"pid\": %d, \"uid\": %u, \"user\": ",
		    (int)(sh[i].child_start ? sh[i].child : sh[i].ctl),
		    (unsigned int)sh[i].uid);
		if ((pw = getpwuid(sh[i].uid)) != NULL)
			sbuf_json_str(b, pw->pw_name);
		else
			sbuf_printf(b, "null");
		sbuf_printf(b, ", \"chroot\": %s, \"placed\": [",
		    sh[i].chroot ? "true" : "false");
		placed = xstrdup(sh[i].placed);
		first = 1;
		for (p = strtok_r(placed, " ", &save); p != NULL;
		    p = strtok_r(NULL, " ", &save)) {
			sbuf_printf(b, "%s", first ? "" : ", ");
			sbuf_json_str(b, p);
			first = 0;
		}
		x_free(placed);
		sbuf_printf(b, "], \"netd_pid\": ");
		if (sh[i].netd_pid > 0)
			sbuf_printf(b, "%d", (int)sh[i].netd_pid);
		else
			sbuf_printf(b, "null");
		netd_json_init(&j);
		j.target = s->target;
		j.shell_pid = sh[i].child_start ? sh[i].child : sh[i].ctl;
		j.all_subs = subs;
		j.totals = t;
		if (sh[i].netd_pid > 0)
			net_status_lines(s, netd_line, &j);
		sbuf_printf(b, ", \"incoming\": ");
		if (j.incoming)
			sbuf_printf(b, "\"%s\"", j.mirror ? "mirror" : "steal");
		else
			sbuf_printf(b, "null");
		sbuf_printf(b, ", \"counters\": {%s}}", str(&j.counters));
		netd_json_free(&j);
	}
	x_free(sh);
}

void
status_totals_add(struct status_totals *t, const char *key,
    unsigned long long n)
{
	if (strcmp(key, "tcp_total") == 0)
		t->tcp_total += n;
	else if (strcmp(key, "tcp_open") == 0)
		t->tcp_open += n;
	else if (strcmp(key, "udp_flows") == 0)
		t->udp_flows += n;
	else if (strcmp(key, "dns_queries") == 0)
		t->dns_queries += n;
	else if (strcmp(key, "bytes_in") == 0)
		t->bytes_in += n;
	else if (strcmp(key, "bytes_out") == 0)
		t->bytes_out += n;
}

int
status_print_json(const struct session *all, size_t n)
{
	struct sbuf out, mounts, conns, shells, subs;
	struct status_totals t;
	size_t i, nmounts = 0, nconns = 0;

	memset(&t, 0, sizeof(t));
	sbuf_init(&out);
	sbuf_init(&mounts);
	sbuf_init(&conns);
	sbuf_init(&shells);
	sbuf_init(&subs);
	for (i = 0; i < n; i++) {
		if (all[i].net) {
			json_connection(&conns, &all[i], &subs, &t);
			nconns++;
		} else {
			json_mount(&mounts, &all[i]);
			json_shells(&shells, &all[i], &subs, &t);
			nmounts++;
		}
	}
	sbuf_printf(&out, "{\"version\": 1, \"mounts\": [%s], "
	    "\"connections\": [%s], \"shells\": [%s], \"subscriptions\": "
	    "[%s], \"counters\": {\"mounts\": %zu, \"connections\": %zu, "
	    "\"shells\": %zu, \"subscriptions\": %zu, \"tcp_open\": %llu, "
	    "\"tcp_total\": %llu, \"udp_flows\": %llu, \"dns_queries\": %llu, "
	    "\"bytes_in\": %llu, \"bytes_out\": %llu}}\n", str(&mounts),
	    str(&conns), str(&shells), str(&subs), nmounts, nconns,
	    t.shells, t.subscriptions, t.tcp_open, t.tcp_total, t.udp_flows,
	    t.dns_queries, t.bytes_in, t.bytes_out);
	fputs(out.s, stdout);
	sbuf_free(&out);
	sbuf_free(&mounts);
	sbuf_free(&conns);
	sbuf_free(&shells);
	sbuf_free(&subs);
	return 0;
}
