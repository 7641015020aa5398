/*
 * mirrorctl config: shows the effective configuration and the file each
 * setting came from (the layers of lib/conf.c), or checks one file.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "mirrorctl.h"
#include "xmalloc.h"

static int cmd_config_exec(int, char **);

const struct cmd_entry cmd_config_entry = {
	.name = "config",
	.usage = "config show [--config FILE] | config check FILE",
	.summary = "Show the effective configuration, or check a file.",
	.help =
"The configuration is read in layers; a setting in a later one wins:\n"
"  the system file     /etc/mirror/mirror.conf\n"
"  the user's file     ~/.config/mirror/mirror.conf\n"
"  the project's file  the nearest .mirror/mirror.conf from the working\n"
"                      directory upward\n"
"  --config FILE       (or $MIRROR_CONFIG)\n"
"  then the command's flags.\n"
"A layer's file is used only if it is owned by you or root and not\n"
"writable by others.\n"
"\n"
"  show    prints every setting as \"name = value;  # source\", the\n"
"          source being the file it came from, or built-in\n"
"  check   checks FILE on its own: exit 0 and \"FILE: ok\", or exit 1\n"
"          and a message naming the line\n",
	.exec = cmd_config_exec,
};

static int
config_show(int argc, char **argv)
{
	struct mirror_conf *c;
	struct conf_trace *t;
	const char *config = NULL;
	int i, rc;

	for (i = 2; i < argc; i++) {
		if ((strcmp(argv[i], "--config") == 0 ||
		    strcmp(argv[i], "-c") == 0) && i + 1 < argc)
			config = argv[++i];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			config = argv[i] + 9;
		else
			return ctl_fail("usage: mirrorctl %s",
			    cmd_config_entry.usage);
	}
	c = xcalloc(1, sizeof(*c));
	t = xcalloc(1, sizeof(*t));
	conf_defaults(c);
	rc = conf_load_traced(c, config, t);
	if (rc == 0)
		conf_show(stdout, t);
	x_free(t);
	x_free(c);
	return rc < 0 ? -1 : 0;
}

static int
cmd_config_exec(int argc, char **argv)
{
	if (ctl_wants_help(argc, argv)) {
		ctl_usage(&cmd_config_entry);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return config_show(argc, argv);
	if (argc == 3 && strcmp(argv[1], "check") == 0) {
		if (conf_check_file(argv[2]) < 0)
			return -1;
		printf("%s: ok\n", argv[2]);
		return 0;
	}
	return ctl_fail("usage: mirrorctl %s", cmd_config_entry.usage);
}
