/* mirrorctl disconnect: ends what connect started. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "mirrorctl.h"
#include "net.h"

static int	cmd_disconnect_exec(int, char **);

const struct cmd_entry cmd_disconnect_entry = {
	.name = "disconnect",
	.usage = "disconnect [TARGET]",
	.summary = "Remove the tunnel of \"connect\": TUN device, routes, "
	    "DNS stub.",
	.help =
"Stops mirror-netd (its TUN device and every route through it go with\n"
"it) and the agent mirrorctl started for the connection. Also cleans up\n"
"after a netd that was killed. TARGET picks the connection; without it,\n"
"the one there is.\n",
	.exec = cmd_disconnect_exec,
};

static int
cmd_disconnect_exec(int argc, char **argv)
{
	struct session s;

	if (ctl_wants_help(argc, argv)) {
		ctl_usage(&cmd_disconnect_entry);
		return 0;
	}
	if (argc > 2)
		return ctl_fail("usage: mirrorctl %s",
		    cmd_disconnect_entry.usage);
	if (net_session_find(argc == 2 ? argv[1] : NULL, &s) < 0)
		return ctl_fail("not connected%s%s (see: mirrorctl status)",
		    argc == 2 ? " to " : "", argc == 2 ? argv[1] : "");
	return net_session_end(&s, 1) < 0 ? -1 : 0;
}
