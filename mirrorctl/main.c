/*
 * mirrorctl: the command users type. Finds the subcommand in the table
 * and runs it; also the helpers every subcommand shares.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "mirrorctl.h"
#include "progress.h"
#include "xmalloc.h"

static const struct cmd_entry *cmd_table[] = {
	&cmd_mount_entry,
	&cmd_umount_entry,
	&cmd_status_entry,
	&cmd_connect_entry,
	&cmd_disconnect_entry,
	&cmd_env_entry,
	&cmd_shell_entry,
	&cmd_exec_entry,
	&cmd_portfwd_entry,
	&cmd_ls_entry,
	&cmd_demo_entry,
	&cmd_doctor_entry,
	&cmd_config_entry,
	NULL
};

static void __attribute__((format(printf, 2, 0)))
ctl_vprint(const char *prefix, const char *fmt, va_list ap)
{
	progress_break();
	fprintf(stderr, "mirrorctl: %s", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int
ctl_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_vprint("", fmt, ap);
	va_end(ap);
	return -1;
}

void
ctl_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_vprint("warning: ", fmt, ap);
	va_end(ap);
}

void
ctl_usage(const struct cmd_entry *e)
{
	printf("usage: mirrorctl %s\n\n%s\n", e->usage, e->summary);
	if (e->help && e->help[0])
		printf("\n%s", e->help);
}

int
ctl_wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}

char *
ctl_program_path(const char *name)
{
	char self[PATH_MAX], env[64], *p, *path;
	const char *v;
	ssize_t n;
	size_t i;

	/* MIRROR_AGENT, MIRROR_MOUNTD, MIRROR_NETD */
	snprintf(env, sizeof(env), "MIRROR_%s", strchr(name, '-') ?
	    strchr(name, '-') + 1 : name);
	for (i = 0; env[i]; i++)
		if (env[i] >= 'a' && env[i] <= 'z')
			env[i] = (char)(env[i] - 'a' + 'A');
	if ((v = getenv(env)) != NULL && *v)
		return xstrdup(v);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((p = strrchr(self, '/')) != NULL) {
			*p = '\0';
			xasprintf(&path, "%s/%s", self, name);
			if (access(path, X_OK) == 0)
				return path;
			x_free(path);
			/* In the build tree mirrorctl sits one level down. */
			xasprintf(&path, "%s/../%s", self, name);
			if (access(path, X_OK) == 0)
				return path;
			x_free(path);
		}
	}
	xasprintf(&path, "%s/%s", MIRROR_BINDIR, name);
	return path;
}

static void
main_usage(FILE *f)
{
	int i;

	fprintf(f, "usage: mirrorctl COMMAND [ARGS]\n\n"
	    "Work on this machine in the context of a pod or container.\n\n"
	    "Commands:\n");
	for (i = 0; cmd_table[i]; i++)
		fprintf(f, "  %-12s %s\n", cmd_table[i]->name,
		    cmd_table[i]->summary);
	fprintf(f, "\nTARGET is ws://HOST:PORT (a running agent), pid/N "
	    "(a local process),\npodman/NAME or docker/NAME (a local "
	    "container), pod/NAME[/container/C],\ndeployment/NAME or "
	    "statefulset/NAME (Kubernetes, with -n NS and --context CTX)\n"
	    "or demo (the bundled demo pod). \"mirrorctl ls\" lists them.\n"
	    "\"mirrorctl COMMAND --help\" tells more. Version %s.\n",
	    PACKAGE_VERSION);
}

int
main(int argc, char **argv)
{
	int i, rc;

	log_init("mirrorctl", LOG_LVL_WARN);
	if (argc < 2) {
		main_usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		if (argc > 2)
			for (i = 0; cmd_table[i]; i++)
				if (strcmp(argv[2], cmd_table[i]->name) == 0) {
					ctl_usage(cmd_table[i]);
					return 0;
				}
		main_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("mirrorctl %s\n", PACKAGE_VERSION);
		return 0;
	}
	for (i = 0; cmd_table[i]; i++)
		if (strcmp(argv[1], cmd_table[i]->name) == 0) {
			rc = cmd_table[i]->exec(argc - 1, argv + 1);
			return rc < 0 ? CTL_EXIT_FAIL : rc;
		}
	ctl_fail("unknown command \"%s\" (see mirrorctl --help)", argv[1]);
	return 2;
}
