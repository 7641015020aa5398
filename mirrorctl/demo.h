/*
 * The bundled demo pod, run by its own helper program, mirror-demo
 * (demo/): Linux namespaces (mount, pid, net, uts) around a busybox root
 * filesystem. Lets anyone try mirror with no cluster. mirrorctl only
 * finds the helper and runs it; the helper prints its own progress and
 * errors.
 */
#ifndef MIRRORCTL_DEMO_H
#define MIRRORCTL_DEMO_H

#include <sys/types.h>

/* Starts the demo pod unless it is running; prints progress unless quiet.
 * Returns 0 (and the pod's PID) or -1 after the cause was printed. */
int	demo_up(int quiet, pid_t *pid);
/* Runs "mirror-demo VERB [-q]" (down, purge, status): returns its exit
 * code, 1 if it could not be run (the cause printed). */
int	demo_helper(const char *verb, int quiet);

#endif
