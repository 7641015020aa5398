/*
 * The agent behind a session, for mount and connect alike.
 */
#ifndef MIRRORCTL_AGENT_H
#define MIRRORCTL_AGENT_H

#include <stddef.h>
#include <sys/types.h>

#include "conf.h"
#include "kube.h"
#include "proto.h"
#include "session.h"
#include "target.h"

/* The token for an agent mirrorctl starts: read from token_file, or a
 * new random one when it is NULL. 0, or -1 after printing why. */
int	ctl_agent_token(const char *token_file, char *token, size_t size);
/* Checks what can be checked before a session exists (the token file
 * of a ws:// agent; the caller checks for root) and finds a local target's PID (starting the
 * demo pod if needed). 0, or -1 after printing why. */
int	ctl_agent_check(const struct target *t, const char *target,
	    const char *token_file, pid_t *pid);
/* Gets an agent for s->target: fills s->url and s->token_file (the
 * user's for ws://, else the session's own) and what must be stopped
 * later (s->agent_pid, s->pf_pid, the session's cleanup file). 0, or -1
 * after printing why. */
int	ctl_agent_start(struct session *s, const struct target *t, pid_t pid,
	    const char *token_file, const char *config,
	    const struct mirror_conf *conf, const struct kube_opts *ko,
	    int rw);
/* Pins a ws:// or wss:// target's certificate: fingerprint (--fingerprint,
 * NULL if not given) is required for wss://, refused for ws://, stored
 * in s->fingerprint as lowercase hex. 0, or -1 after printing why. */
int	ctl_agent_pin(struct session *s, const char *fingerprint);
/* Parses what follows "ready " on an agent's stdout into s->url and
 * s->fingerprint. 0 or -EPROTO. */
int	ctl_agent_ready_line(struct session *s, const char *rest);
/* Stops what ctl_agent_start started: the agent, a port-forward, a
 * Kubernetes job (umount and disconnect). */
void	ctl_agent_stop(struct session *s);

/* pid/, podman/, docker/ and demo targets need root: 0, or -1 after a
 * line saying why, for an ordinary user. */
int	ctl_agent_local_check(const struct target *t, const char *target);

#endif
