/* mirrorctl status: the active mounts and the processes behind them. */
#include "config.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mirrorctl.h"
#include "net.h"
#include "procfs.h"
#include "session.h"
#include "status.h"
#include "xmalloc.h"

static int cmd_status_exec(int, char **);

const struct cmd_entry cmd_status_entry = {
	.name = "status",
	.usage = "status [-o json]",
	.summary = "List active mounts (target, mount point, pids, agent, "
	    "uptime), connections and shells.",
	.help =
"Options:\n"
"  -o json   one JSON object for scripts and IDEs: mounts, connections,\n"
"            shells, subscriptions and counters (the layout is in\n"
"            mirrorctl(1), STATUS JSON; fields are only ever added)\n",
	.exec = cmd_status_exec,
};

static void
fmt_uptime(time_t secs, char *buf, size_t sz)
{
	if (secs < 60)
		snprintf(buf, sz, "%llds", (long long)secs);
	else if (secs < 3600)
		snprintf(buf, sz, "%lldm%02llds", (long long)secs / 60,
		    (long long)secs % 60);
	else
		snprintf(buf, sz, "%lldh%02lldm", (long long)secs / 3600,
		    (long long)(secs % 3600) / 60);
}

/* The shells on each mount (mirrorctl shell): target, the shell's pid,
 * its user, what was placed over local paths. */
static void
print_shells(const struct session *all, size_t n)
{
	struct session_shell *sh;
	struct passwd *pw;
	size_t i, j, ns, header = 0;
	char user[64];

	for (i = 0; i < n; i++) {
		if (all[i].net || session_shell_list(&all[i], &sh, &ns) < 0)
			continue;
		for (j = 0; j < ns; j++) {
			if (!header++)
				printf("\n%-16s %-8s %-10s %s\n", "SHELL TARGET",
				    "PID", "USER", "PLACED");
			if ((pw = getpwuid(sh[j].uid)) != NULL)
				snprintf(user, sizeof(user), "%s", pw->pw_name);
			else
				snprintf(user, sizeof(user), "%u",
				    (unsigned)sh[j].uid);
			printf("%-16s %-8d %-10s %s%s\n", all[i].target,
			    (int)(sh[j].child_start ? sh[j].child : sh[j].ctl),
			    user, sh[j].chroot ? "(chroot) " : "",
			    sh[j].placed[0] ? sh[j].placed : "-");
			if (sh[j].netd_pid > 0)
				net_print_incoming(&all[i]);
		}
		x_free(sh);
	}
}

/* What mountd says of pushed invalidation (mountd/inval.h). */
static void
print_inval(const struct session *s)
{
	unsigned long held, max;
	char line[128];
	long watches;
	int limited;
	FILE *f;

	if ((f = fopen(session_file(s, "mountd.inval"), "r")) == NULL)
		return;
	if (fgets(line, sizeof(line), f) != NULL &&
	    sscanf(line, "on %ld %d", &watches, &limited) == 2)
		printf("  pushed invalidation: on (%ld directories watched%s)\n",
		    watches, limited ? "; at the agent's limit, the others "
		    "use the short timeouts" : "");
	else
		printf("  pushed invalidation: off (the agent does not watch: "
		    "changes show after fs.attr_timeout)\n");
	if (fgets(line, sizeof(line), f) != NULL &&
	    sscanf(line, "nodes %lu %lu", &held, &max) == 2)
		printf("  cached nodes: %lu (fs.max_nodes %lu)\n", held, max);
	fclose(f);
}

static int
cmd_status_exec(int argc, char **argv)
{
	struct session *all;
	size_t n, i, nmounts;
	char up[32], agent[32];
	int json = 0;

	if (ctl_wants_help(argc, argv)) {
		ctl_usage(&cmd_status_entry);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "-o") == 0 &&
	    strcmp(argv[2], "json") == 0)
		json = 1;
	else if (argc == 2 && strcmp(argv[1], "-ojson") == 0)
		json = 1;
	else if (argc != 1)
		return ctl_fail("usage: mirrorctl %s", cmd_status_entry.usage);
	session_list(&all, &n);
	if (json) {
		status_print_json(all, n);
		x_free(all);
		return 0;
	}
	for (i = nmounts = 0; i < n; i++)
		if (!all[i].net)
			nmounts++;
	if (nmounts == 0)
		printf("no active mounts\n");
	else
		printf("%-16s %-28s %-8s %-8s %-24s %-8s %-4s %s\n", "TARGET",
	    "MOUNTPOINT", "MOUNTD", "AGENT", "AGENT URL", "UPTIME", "MODE",
	    "STATE");
	for (i = 0; i < n; i++) {
		struct session *s = &all[i];
		const char *state = "ok";

		if (s->net)
			continue;
		fmt_uptime(time(NULL) - s->started, up, sizeof(up));
		if (s->agent_pid > 0)
			snprintf(agent, sizeof(agent), "%d", (int)s->agent_pid);
		else
			snprintf(agent, sizeof(agent), "-");
		if (!procfs_alive(s->mountd_pid))
			state = "mountd dead (mirrorctl umount cleans up)";
		else if (s->agent_pid > 0 && !procfs_alive(s->agent_pid))
			state = "agent dead";
		printf("%-16s %-28s %-8d %-8s %-24s %-8s %-4s %s\n", s->target,
		    s->mountpoint, (int)s->mountd_pid, agent, s->url, up,
		    s->rw ? "rw" : "ro", state);
		print_inval(s);
	}
	for (i = 0; i < n; i++)
		if (all[i].net)
			net_print_status(&all[i]);
	print_shells(all, n);
	x_free(all);
	return 0;
}
