/*
 * TARGET strings (DESIGN.md, "Targets") and the local container
 * runtimes: podman/NAME and docker/NAME resolve to a PID by the
 * runtime's own "inspect".
 */
#ifndef MIRRORCTL_TARGET_H
#define MIRRORCTL_TARGET_H

#include <sys/types.h>

enum target_kind {
	TARGET_WS,		/* ws://HOST:PORT */
	TARGET_PID,		/* pid/N */
	TARGET_DEMO,		/* demo */
	TARGET_PODMAN,		/* podman/NAME */
	TARGET_DOCKER,		/* docker/NAME */
	TARGET_KUBE,		/* pod/..., deployment/..., statefulset/... */
};

struct target {
	enum target_kind kind;
	pid_t	pid;			/* TARGET_PID */
	char	name[256];		/* container, pod, deployment, ... */
	char	resource[16];		/* TARGET_KUBE: pod, deployment, ... */
	char	container[256];		/* pod/NAME/container/C */
};

/* Parses s. On error prints a message naming the forms and returns -1. */
int	target_parse(const char *s, struct target *t);
/* 0 if s, a name the user gave for what (a pod, a namespace, ...), can
 * go into kubectl's, podman's or docker's argv; -1 after saying why not
 * (it starts with '-', so the tool would read it as an option). */
int	target_arg_ok(const char *what, const char *s);
/* True if s names a Kubernetes target. */
int	target_is_kube(const char *s);
/* The runtime's CLI for a local container target: "podman" or "docker". */
const char *target_runtime(const struct target *t);
/* Asks the runtime for the PID of a running container. Prints why not
 * and returns -1 when it cannot. */
int	target_container_pid(const struct target *t, pid_t *pid);

#endif
