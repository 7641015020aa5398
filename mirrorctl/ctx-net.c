/*
 * The network of a shell (ctx.h): mirror-netd started as "mirrorctl
 * connect" starts it (netd_run), but with its device, default route and
 * DNS stub in the shell's network namespace (--netns /proc/PID/ns/net),
 * a resolv.conf for the shell (--resolv-out, in the session directory)
 * and --exit-with PID, so that netd goes when the shell's namespace
 * holder does, even if mirrorctl was killed; --incoming says what becomes
 * of the pod's incoming traffic to the shell's listeners. Nothing in
 * mirrorctl's own namespace changes.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "ctx.h"
#include "mirrorctl.h"
#include "netd-run.h"
#include "procfs.h"
#include "session.h"

#define CTX_NETD_STOP_MS	5000

int
ctx_net_start(struct session *s, pid_t ns_pid, const char *config,
    int incoming, const char *const *filter, struct ctx_net *cn)
{
	struct mirror_conf conf;
	char nsfile[64], pid_s[24], addr[NETD_ADDR_MAX];
	const char *extra[10 + CTX_NET_FILTER_ARGS];
	int n = 0, rc;

	memset(cn, 0, sizeof(*cn));
	if (ns_pid <= 0 || procfs_start_time(ns_pid) == 0)
		return ctl_fail("the shell's namespace process %d is gone",
		    (int)ns_pid);
	conf_defaults(&conf);
	if (conf_load(&conf, config) < 0)
		return -1;
	snprintf(nsfile, sizeof(nsfile), "/proc/%d/ns/net", (int)ns_pid);
	snprintf(pid_s, sizeof(pid_s), "%d", (int)ns_pid);
	snprintf(cn->resolv_conf, sizeof(cn->resolv_conf), "%s",
	    session_file(s, "resolv.conf"));
	extra[n++] = "--netns";
	extra[n++] = nsfile;
	extra[n++] = "--exit-with";
	extra[n++] = pid_s;
	extra[n++] = "--resolv-out";
	extra[n++] = cn->resolv_conf;
	if (incoming < 0)
		incoming = conf.incoming_mode;
	extra[n++] = "--incoming";
	extra[n++] = incoming == CONF_IN_STEAL ? "steal" :
	    incoming == CONF_IN_MIRROR ? "mirror" : "off";
	while (filter != NULL && *filter != NULL &&
	    n < (int)(sizeof(extra) / sizeof(extra[0])) - 1)
		extra[n++] = *filter++;
	extra[n] = NULL;
	if (netd_run(s, config, extra, conf.agent_connect_timeout + 5,
	    addr) < 0)
		return -1;
	/* The device lives in the shell's namespace, not in ours: a
	 * session's dev names one here that net_session_end would remove
	 * (a "mirrorctl connect" may have its own mirror0). */
	s->dev[0] = '\0';
	cn->netd_pid = s->netd_pid;
	cn->netd_start = procfs_start_time(cn->netd_pid);
	if (cn->netd_start == 0) {
		ctl_fail("mirror-netd (pid %d) exited right after it came up "
		    "(see %s)", (int)cn->netd_pid, session_file(s, "netd.log"));
		cn->netd_pid = 0;
		return -1;
	}
	s->netd_start = cn->netd_start;
	if ((rc = session_save(s)) < 0) {
		ctl_fail("cannot save the session: %s", strerror(-rc));
		ctx_net_stop(cn);
		return -1;
	}
	if (access(cn->resolv_conf, R_OK) != 0) {
		ctl_fail("mirror-netd wrote no resolv.conf (%s)",
		    cn->resolv_conf);
		ctx_net_stop(cn);
		return -1;
	}
	return 0;
}

void
ctx_net_stop(struct ctx_net *cn)
{
	if (cn->netd_pid <= 0)
		return;
	/* Through a pidfd, and only while it is the netd that started then.
	 * Its device and routes go with it, and the namespace when the
	 * shell's last process leaves. */
	session_stop_proc(cn->netd_pid, cn->netd_start, CTX_NETD_STOP_MS);
	cn->netd_pid = 0;
	cn->netd_start = 0;
}
