/*
 * "mirrorctl demo up|down|status": start, stop and show the bundled demo
 * pod, the target that needs no cluster. The pod's runtime is a helper
 * program, mirror-demo (demo/, run through demo.c): this file keeps the
 * command line users type.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mirrorctl.h"
#include "demo.h"


static int	cmd_demo_exec(int, char **);

const struct cmd_entry cmd_demo_entry = {
	.name = "demo",
	.usage = "demo up [-q] | down [-q] [--purge] | status",
	.summary = "start, stop or show the bundled demo pod",
	.help =
	    "The demo pod is Linux namespaces (mount, pid, net, uts) around\n"
	    "a busybox root filesystem: the environment of a sample app, an\n"
	    "HTTP server on port 80, a config file, a fake service-account\n"
	    "token and a few hundred files. Try mirror on it with no cluster.\n"
	    "Needs root and Debian's busybox-static and iproute2.\n"
	    "\n"
	    "  up        build the root filesystem if missing or old, start\n"
	    "            the pod and wait until its HTTP server answers;\n"
	    "            if it is running, only print its status\n"
	    "  down      stop the pod and remove its network link\n"
	    "  status    print the pod's pid, address, hostname and root\n"
	    "            filesystem; exit 1 if it is not running\n"
	    "\n"
	    "  -q, --quiet   print only errors\n"
	    "  --purge       (down) also remove the root filesystem\n"
	    "\n"
	    "State lives in $MIRROR_STATE_DIR/demo (default\n"
	    "/run/mirror/demo).\n"
	    "\n"
	    "Examples:\n"
	    "  sudo mirrorctl demo up\n"
	    "  pid=$(sudo mirrorctl demo status | sed -n 's/^pid //p')\n"
	    "  sudo nsenter -t \"$pid\" -a -r -w sh    # a shell in the pod\n"
	    "  sudo mirrorctl demo down --purge\n",
	.exec = cmd_demo_exec,
};

static int
cmd_demo_usage(void)
{
	return ctl_fail("usage: mirrorctl %s", cmd_demo_entry.usage);
}

static int
cmd_demo_exec(int argc, char **argv)
{
	const char *verb;
	pid_t pid;
	int i, quiet = 0, purge = 0;

	if (ctl_wants_help(argc, argv)) {
		ctl_usage(&cmd_demo_entry);
		return 0;
	}
	if (argc < 2)
		return cmd_demo_usage();
	verb = argv[1];
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "-q") == 0 ||
		    strcmp(argv[i], "--quiet") == 0)
			quiet = 1;
		else if (strcmp(argv[i], "--purge") == 0 &&
		    strcmp(verb, "down") == 0)
			purge = 1;
		else
			return ctl_fail("demo %s: unknown argument %s (usage: "
			    "mirrorctl %s)", verb, argv[i],
			    cmd_demo_entry.usage);
	}

	if (strcmp(verb, "status") == 0) {
		if (quiet)
			return cmd_demo_usage();
		return demo_helper("status", 0);
	}
	if (strcmp(verb, "up") == 0)
		return demo_up(quiet, &pid);
	if (strcmp(verb, "down") == 0) {
		if (demo_helper("down", quiet) != 0)
			return 1;
		if (purge && demo_helper("purge", quiet) != 0)
			return 1;
		return 0;
	}
	return ctl_fail("demo: unknown command %s (usage: mirrorctl %s)",
	    verb, cmd_demo_entry.usage);
}
