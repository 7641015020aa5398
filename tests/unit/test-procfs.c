/*
 * Unit tests of lib/procfs.c: /proc/PID/stat read for this process, a
 * zombie counted as gone, and the cgroup-to-container match that
 * mirrorctl (is the engine's PID local?) and the agent
 * (--target-container-id) share: each runtime's cgroup names, an ID
 * prefix, podman's conmon not taken for the container. Prints TAP.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procfs.h"

#include "tap.h"

#define ID	"0123456789abcdef0123456789abcdef" \
		"0123456789abcdef0123456789abcdef"

static void
test_stat(void)
{
	struct procfs_stat st;
	pid_t child;

	ok(procfs_stat(getpid(), &st) == 0, "own stat read");
	ok(st.state == 'R', "own state R (%c)", st.state);
	ok(st.ppid == (int)getppid(), "own parent");
	ok(st.start > 0 && procfs_start_time(getpid()) == st.start,
	    "own start time");
	ok(procfs_alive(getpid()), "self alive");
	ok(!procfs_alive(0) && !procfs_alive(-1), "no pid 0 or -1");
	if ((child = fork()) == 0)
		_exit(0);
	/* A zombie until reaped: gone for procfs_alive. */
	while (procfs_stat(child, &st) == 0 && st.state != 'Z')
		usleep(1000);
	ok(!procfs_alive(child) && procfs_start_time(child) == 0,
	    "a zombie is not alive");
	waitpid(child, NULL, 0);
	ok(!procfs_alive(child), "reaped is not alive");
}

static void
match(const char *text, const char *id, int want, const char *what)
{
	char full[PROCFS_CONTAINER_ID_MAX + 1] = "";
	int got = procfs_cgroup_names(text, id, full, sizeof(full));

	ok(got == want && (!want || strcmp(full, ID) == 0), "%s", what);
}

static void
test_cgroup(void)
{
	match("0::/system.slice/docker-" ID ".scope\n", ID, 1,
	    "docker, systemd driver");
	match("12:memory:/docker/" ID "\n0::/docker/" ID "\n", ID, 1,
	    "docker, cgroupfs driver");
	match("0::/machine.slice/libpod-" ID ".scope/container\n", ID, 1,
	    "podman, crun's sub-cgroup");
	match("0::/kubepods.slice/kubepods-burstable.slice/"
	    "cri-containerd-" ID ".scope\n", ID, 1, "containerd");
	match("0::/kubepods/burstable/pod1/crio-" ID ".scope\n", ID, 1,
	    "cri-o");
	match("0::/system.slice/docker-" ID ".scope\n", "0123456789ab", 1,
	    "an ID prefix finds the full ID");
	match("0::/machine.slice/libpod-conmon-" ID ".scope\n", ID, 0,
	    "podman's conmon is not the container");
	match("0::/user.slice/user-1000.slice/session-2.scope\n", ID, 0,
	    "an unrelated cgroup");
	match("0::/docker/" ID "x\n", ID, 0, "trailing non-hex refused");
	match("", ID, 0, "empty text");
}

int
main(void)
{
	test_stat();
	test_cgroup();
	return done_testing();
}
