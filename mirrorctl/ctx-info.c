/*
 * The target's info (ctx.h) for mirrorctl, which links no transport: it
 * runs mirror-query (tools/), which asks the session's agent for
 * OP_TARGET_INFO, checks the reply with the typed decoder and prints it
 * in proto-target.h's line format; that output is parsed here with the
 * same shape checks again.
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "ctx.h"
#include "mirrorctl.h"
#include "proto-target.h"
#include "run.h"
#include "session.h"
#include "xmalloc.h"

#define QUERY_HELPER	"mirror-query"
#define QUERY_WAIT_MS	60000	/* connect and answer, with room */

/* As mirror-demo: $MIRROR_QUERY, next to mirrorctl or one level up in
 * the build tree, else pkglibexecdir. Caller frees. */
static char *
ctx_query_path(void)
{
	char *path = ctl_program_path(QUERY_HELPER);

	if (access(path, X_OK) == 0)
		return path;
	x_free(path);
	xasprintf(&path, "%s/%s", MIRROR_PKGLIBEXECDIR, QUERY_HELPER);
	return path;
}

int
ctx_info_fetch(const struct session *s, struct ctx_info *ci)
{
	struct target_info ti;
	struct run_result r;
	struct argv_buf av;
	char *path = ctx_query_path();
	int ret = -1;

	memset(ci, 0, sizeof(*ci));
	argv_init(&av);
	argv_add(&av, path);
	argv_add(&av, "--agent");
	argv_add(&av, s->url);
	argv_add(&av, "--token-file");
	argv_add(&av, s->token_file);
	if (s->fingerprint[0]) {
		argv_add(&av, "--fingerprint");
		argv_add(&av, s->fingerprint);
	}
	argv_add(&av, "target-info");
	if (run_capture((const char *const *)av.v, NULL, QUERY_WAIT_MS,
	    &r) != 0) {
		if (r.status == 127)
			ctl_fail("cannot run %s", path);
		else if (r.status == 124)
			ctl_fail("the agent of %s did not describe its target "
			    "in %d s", s->target, QUERY_WAIT_MS / 1000);
		else
			ctl_fail("%s", r.err[0] ? r.err :
			    "mirror-query failed");
		goto out;
	}
	if (target_info_parse(r.out.s, r.out.len, &ti) < 0) {
		ctl_fail("%s printed a malformed description of %s", path,
		    s->target);
		goto out;
	}
	memcpy(ci->hostname, ti.hostname, sizeof(ci->hostname));
	ci->environ = ti.environ;
	ci->volumes = ti.volumes;
	ret = 0;
out:
	run_result_free(&r);
	argv_free(&av);
	x_free(path);
	return ret;
}

void
ctx_info_free(struct ctx_info *ci)
{
	struct target_info ti;

	memset(&ti, 0, sizeof(ti));
	ti.environ = ci->environ;
	ti.volumes = ci->volumes;
	target_info_free(&ti);
	memset(ci, 0, sizeof(*ci));
}
