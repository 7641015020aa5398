/* connect sessions: finding, ending and showing them. */
#include "config.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "mirrorctl.h"
#include "net.h"
#include "procfs.h"
#include "run.h"
#include "xmalloc.h"

#define NETD_STOP_MS	5000
#define NETD_STATUS_WAIT_MS 2000
#define NETD_STATUS_POLL_MS 100

int
net_session_find(const char *target, struct session *s)
{
	struct session *all;
	size_t n, i;
	int rc = -ENOENT;

	session_list(&all, &n);
	for (i = 0; i < n; i++)
		if (all[i].net && (target == NULL ||
		    strcmp(all[i].target, target) == 0)) {
			*s = all[i];
			rc = 0;
			break;
		}
	x_free(all);
	return rc;
}

int
net_session_end(struct session *s, int verbose)
{
	int rc = 0;

	/* Through a pidfd, and only if netd_pid is still the netd that
	 * started at netd_start (a reused PID is left alone). */
	session_stop_proc(s->netd_pid, s->netd_start, NETD_STOP_MS);
	/* The device is not persistent: it went with netd's descriptor, and
	 * the kernel dropped every route through it. Should one stay (a
	 * netd of another build), it goes now. */
	if (s->dev[0] && if_nametoindex(s->dev) != 0) {
		const char *argv[] = { "ip", "link", "delete", s->dev, NULL };
		struct run_result r;

		if (run_capture(argv, NULL, 10000, &r) != 0 ||
		    if_nametoindex(s->dev) != 0) {
			ctl_fail("cannot remove the device %s: %s", s->dev,
			    r.err);
			rc = -1;
		}
		run_result_free(&r);
	}
	ctl_agent_stop(s);
	session_remove(s);
	if (verbose && rc == 0)
		printf("disconnected %s%s%s%s\n", s->target, s->dev[0] ?
		    " (device " : "", s->dev, s->dev[0] ? " and its routes "
		    "removed)" : "");
	return rc;
}

void
net_status_lines(const struct session *s,
    void (*fn)(const char *key, const char *val, void *), void *arg)
{
	char line[1024], *v;
	FILE *f = fopen(session_file(s, "netd.status"), "r");

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if ((v = strchr(line, '=')) == NULL)
			continue;
		*v++ = '\0';
		fn(line, v, arg);
	}
	fclose(f);
}

static void
print_route(const char *key, const char *val, void *arg)
{
	(void)arg;
	if (strcmp(key, "route") == 0)
		printf("  route %s\n", val);
	else if (strcmp(key, "skipped") == 0)
		printf("  not routed %s\n", val);
}

void
net_print_routes(const struct session *s)
{
	int i;

	/* netd writes its status file within about a second of "ready". */
	for (i = 0; i < NETD_STATUS_WAIT_MS / NETD_STATUS_POLL_MS &&
	    access(session_file(s, "netd.status"), R_OK); i++)
		usleep(NETD_STATUS_POLL_MS * 1000);
	net_status_lines(s, print_route, NULL);
}

static void
print_status(const char *key, const char *val, void *arg)
{
	(void)arg;
	if (strcmp(key, "route") == 0)
		printf("  route       %s\n", val);
	else if (strcmp(key, "conn") == 0)
		printf("  conn        %s\n", val);
	else if (strcmp(key, "skipped") == 0)
		printf("  not routed  %s\n", val);
	else
		printf("  %-11s %s\n", key, val);
}

static void
print_incoming(const char *key, const char *val, void *arg)
{
	(void)arg;
	if (strcmp(key, "incoming") == 0 || strcmp(key, "steal") == 0 ||
	    strcmp(key, "mirror") == 0)
		printf("  %-11s %s\n", key, val);
}

void
net_print_incoming(const struct session *s)
{
	net_status_lines(s, print_incoming, NULL);
}

void
net_print_status(const struct session *s)
{
	printf("network: %s via %s, netd %d%s\n", s->target, s->dev,
	    (int)s->netd_pid, procfs_alive(s->netd_pid) ? "" :
	    " (dead: mirrorctl disconnect cleans up)");
	net_status_lines(s, print_status, NULL);
}
