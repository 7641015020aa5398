/*
 * The port-forward keeper of a Kubernetes session (kube-forward.c): keeps
 * "kubectl port-forward" to the agent's pod running for as long as the
 * session lives.
 */
#ifndef MIRRORCTL_KUBE_FORWARD_H
#define MIRRORCTL_KUBE_FORWARD_H

#include "session.h"

/* A free TCP port on 127.0.0.1 for port-forward's local end; -1 if none. */
int	kube_free_port(void);
/*
 * Starts the keeper of the port-forward command pf (its local end on
 * 127.0.0.1:local) to the agent in pod/agent_pod; waits until it listens.
 * Fills s->url and s->pf_pid; kubectl's messages go to the session's
 * pf.log. Returns 0, or -1 after printing why (the keeper stopped).
 */
int	kube_forward_start(char *const pf[], int local,
	    const char *agent_pod, struct session *s);

#endif
