/*
 * tests/layer-exec: runs a command under the layer the way `mirrorctl
 * exec` does, without the rest of exec (namespaces, environment): the
 * rules come from ctx_layer_env (mirrorctl/ctx-layer.c) for the
 * configuration FILE, the mount ROOT and the state directory DIR, and
 * the variables it returns are added to the command's environment.
 *
 * usage: layer-exec [-c FILE] ROOT DIR -- CMD [ARGS...]
 * Exits 2 on a usage error, 1 when the configuration or ctx_layer_env
 * fails (after its one printed error), else execs CMD.
 */
#include "config.h"

#include <err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "../mirrorctl/mirrorctl.h"
#include "../mirrorctl/ctx.h"

/* mirrorctl's is in main.c, which this driver does not link. */
int
ctl_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
	return 1;
}

int
main(int argc, char **argv)
{
	struct mirror_conf conf;
	const char *file = NULL;
	char **add, *eq;
	size_t i;

	if (argc > 2 && strcmp(argv[1], "-c") == 0) {
		file = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc < 5 || strcmp(argv[3], "--") != 0) {
		fprintf(stderr, "usage: layer-exec [-c FILE] ROOT DIR -- CMD "
		    "[ARGS...]\n");
		return 2;
	}
	conf_defaults(&conf);
	if (file != NULL && conf_load(&conf, file) < 0)
		return 1;
	if (ctx_layer_env(&conf, argv[1], argv[2], &add) < 0)
		return 1;
	for (i = 0; add[i] != NULL; i++) {
		eq = strchr(add[i], '=');
		*eq = '\0';
		setenv(add[i], eq + 1, 1);
	}
	ctx_layer_env_free(add);
	execvp(argv[4], argv + 4);
	perror(argv[4]);
	return 127;
}
