/*
 * A driver of mirrorctl's ctx_net_start/ctx_net_stop (mirrorctl/ctx-net.c)
 * for tests/t-shell-net.sh, standing in for "mirrorctl shell" (which
 * creates the namespaces): makes a session for an agent already running,
 * starts the shell's network in the namespace of PID, prints
 * "netd PID START RESOLV_CONF" and the session directory, then waits:
 * with "stop" on stdin it calls ctx_net_stop, at EOF it leaves netd to
 * --exit-with.
 *
 * Usage: ctx-net-driver URL TOKEN_FILE PID
 * mirror-netd is $MIRROR_NETD (tests/lib.sh sets it).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "mirrorctl.h"
#include "session.h"
#include "xmalloc.h"

/* What mirrorctl's main.c gives its commands. */
int
ctl_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "ctx-net-driver: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	return -1;
}

void
ctl_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "ctx-net-driver: warning: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

char *
ctl_program_path(const char *name)
{
	const char *v = getenv("MIRROR_NETD");

	if (strcmp(name, "mirror-netd") != 0 || v == NULL)
		return xstrdup(name);
	return xstrdup(v);
}

int
main(int argc, char **argv)
{
	struct session s;
	struct ctx_net cn;
	char line[64];
	int rc;

	if (argc != 4) {
		fprintf(stderr, "usage: ctx-net-driver URL TOKEN_FILE PID\n");
		return 2;
	}
	if ((rc = session_create(&s)) < 0) {
		ctl_fail("session_create: %s", strerror(-rc));
		return 1;
	}
	snprintf(s.target, sizeof(s.target), "%s", argv[1]);
	snprintf(s.url, sizeof(s.url), "%s", argv[1]);
	snprintf(s.token_file, sizeof(s.token_file), "%s", argv[2]);
	if (ctx_net_start(&s, (pid_t)atoi(argv[3]), NULL, -1, NULL, &cn) < 0)
		return 1;
	printf("netd %d %llu %s\nsession %s\n", (int)cn.netd_pid,
	    cn.netd_start, cn.resolv_conf, s.dir);
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin) != NULL)
		if (strncmp(line, "stop", 4) == 0) {
			ctx_net_stop(&cn);
			printf("stopped\n");
			fflush(stdout);
		}
	return 0;
}
