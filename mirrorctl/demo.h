/*
 * The bundled demo pod: Linux namespaces (mount, pid, net, uts) around a
 * busybox root filesystem. Lets anyone try mirror with no cluster.
 */
#ifndef MIRRORCTL_DEMO_H
#define MIRRORCTL_DEMO_H

#include <sys/types.h>

/* The host PID of the demo pod's init if it is running, else -ENOENT. */
int	demo_running_pid(pid_t *pid);
/* Starts the demo pod unless it is running; prints progress unless quiet.
 * Returns 0 (and the pod's PID) or -errno after printing the cause. */
int	demo_up(int quiet, pid_t *pid);
/* Stops the demo pod and removes its veth and state; 0 if not running. */
int	demo_down(int quiet);
/* Prints the status lines ("pid N", "address A", ...) of a running pod. */
void	demo_print_status(pid_t pid);
/* Stops the pod and removes its root file system too. */
int	demo_purge(int quiet);

#endif
