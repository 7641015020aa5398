/*
 * Kubernetes targets through kubectl: the pod is found (a deployment or
 * statefulset picks one of its ready pods), the agent is started next to
 * it (an ephemeral container in the target container's process
 * namespace, or with agent.mode = "job" a job pod on the target's node
 * with the host's PID namespace), and reached through a kubectl
 * port-forward that a keeper process watches and restarts. The token
 * never enters the cluster: the agent gets its SHA-256 only.
 */
#ifndef MIRRORCTL_KUBE_H
#define MIRRORCTL_KUBE_H

#include "conf.h"
#include "session.h"
#include "target.h"

struct kube_opts {
	const char		*ns;		/* -n; NULL: kubectl's own */
	const char		*context;	/* --context; NULL: current */
	const struct mirror_conf *conf;
	int			 rw;
	int			 mounting;	/* mount ends the progress
						 * line ("mounted") */
};

/* Starts the agent for t and a port-forward to it; fills s->url and
 * s->pf_pid and records in the session what umount must delete.
 * Prints why not and returns -1 on failure (having removed what it
 * made). */
int	kube_start(const struct target *t, const struct kube_opts *o,
	    const char *token, struct session *s);
/* Prints, as JSON on stdout, what kube_start would run and apply,
 * contacting nothing. 0, or -1 after printing why. */
int	kube_dry_run(const struct target *t, const char *target,
	    const struct kube_opts *o, const char *token);
/* Deletes what kube_start recorded in the session (the job pod). */
void	kube_cleanup(const struct session *s);

#endif
