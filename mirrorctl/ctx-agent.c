/*
 * An agent for one command (ctx.h, struct ctx_agent): borrowed from a
 * live session of the same target, or started through agent.c exactly
 * as `mirrorctl mount` starts one, and stopped again afterwards.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "ctx.h"
#include "mirrorctl.h"
#include "statedir.h"
#include "xmalloc.h"

/* A session of target whose agent still runs, copied into *out. */
static int
find_live_session(const char *target, struct session *out)
{
	struct session *all;
	size_t n, i;
	int found = 0;

	session_list(&all, &n);
	for (i = 0; i < n && !found; i++) {
		if (strcmp(all[i].target, target) != 0 || !all[i].url[0] ||
		    !all[i].token_file[0] ||
		    access(all[i].token_file, R_OK) != 0)
			continue;
		/* Its agent (or the port-forward to it) is still there;
		 * session_load zeroed the PIDs of processes that are gone. */
		if (all[i].agent_pid > 0 || all[i].pf_pid > 0) {
			*out = all[i];
			found = 1;
		}
	}
	x_free(all);
	return found;
}

/* Starting an agent may print progress on stdout (the demo pod's "pid
 * N" lines, a helper's output): dropped, since stdout is the command's
 * answer (env's goes to eval). Errors still reach stderr. */
static int
start_quietly(struct session *s, const struct target *t, pid_t *pid,
    const char *target, const char *token_file, const char *fingerprint,
    const char *config, const struct mirror_conf *conf,
    const struct kube_opts *ko)
{
	int saved, null, rc = -1;

	fflush(stdout);
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if ((saved = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3)) < 0 ||
	    null < 0 || dup2(null, STDOUT_FILENO) < 0) {
		rc = ctl_fail("cannot redirect stdout: %s", strerror(errno));
		if (saved >= 0)
			close(saved);
		if (null >= 0)
			close(null);
		return rc;
	}
	close(null);
	if (ctl_agent_check(t, target, token_file, pid) < 0)
		goto out;
	if ((rc = session_create(s)) < 0) {
		s->dir[0] = '\0';	/* not ours to remove */
		rc = ctl_fail("cannot create session state in %s: %s",
		    state_dir("mirrorctl"), strerror(-rc));
		goto out;
	}
	rc = -1;
	snprintf(s->target, sizeof(s->target), "%s", target);
	if (t->kind == TARGET_WS && ctl_agent_pin(s, fingerprint) < 0)
		goto out;
	if (ctl_agent_start(s, t, *pid, token_file, config, conf, ko, 0) < 0)
		goto out;
	rc = 0;
out:
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	return rc;
}

int
ctx_agent_get(struct ctx_agent *ca, const char *target,
    const char *token_file, const char *fingerprint, const char *config,
    const struct mirror_conf *conf, const struct kube_opts *ko)
{
	struct session *s = xcalloc(1, sizeof(*s));
	struct target t;
	pid_t pid = 0;
	int rc;

	ca->s = s;
	ca->owned = 0;
	if (target_parse(target, &t) < 0)
		return -1;
	if ((ko->ns || ko->context) && t.kind != TARGET_KUBE)
		return ctl_fail("%s: -n and --context are for Kubernetes "
		    "targets (pod/..., deployment/..., statefulset/...)",
		    target);
	if (t.kind != TARGET_WS && token_file == NULL &&
	    find_live_session(target, s))
		return 0;
	if (ctl_agent_local_check(&t, target) < 0)
		return -1;
	rc = start_quietly(s, &t, &pid, target, token_file, fingerprint,
	    config, conf, ko);
	/* A session directory made is removed by ctx_agent_release. */
	ca->owned = s->dir[0] != '\0';
	return rc;
}

void
ctx_agent_release(struct ctx_agent *ca)
{
	if (ca->s != NULL && ca->owned) {
		ctl_agent_stop(ca->s);
		session_remove(ca->s);
	}
	x_free(ca->s);
	ca->s = NULL;
	ca->owned = 0;
}
