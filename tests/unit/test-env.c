/*
 * Unit tests for the merged environment (mirrorctl/ctx-env.c) and the
 * target info it is made from (lib/proto-target.c): the target's
 * variables win, except the ones that stay local and env.exclude's;
 * env.include restricts; env.override sets; and the reply decoder and
 * mirror-query's line format keep exactly what they should (bad names
 * dropped, bad paths and hostnames refused, values with any byte but
 * NUL kept byte for byte).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "ctx.h"
#include "proto-target.h"
#include "tap.h"
#include "xmalloc.h"

/* The value of name in env, or NULL. */
static const char *
get(char **env, const char *name)
{
	size_t n = strlen(name), i;

	for (i = 0; env[i] != NULL; i++)
		if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}

static int
count(char **env, const char *name)
{
	size_t n = strlen(name), i;
	int c = 0;

	for (i = 0; env[i] != NULL; i++)
		if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
			c++;
	return c;
}

static int
is(const char *got, const char *want, const char *what)
{
	if (got != NULL && want != NULL && strcmp(got, want) == 0)
		return 1;
	if (got == NULL && want == NULL)
		return 1;
	diag("%s: got %s%s%s, want %s", what, got ? "\"" : "",
	    got ? got : "(unset)", got ? "\"" : "", want ? want : "(unset)");
	return 0;
}

static char *remote_env[] = {
	"MIRRORD_FAKE_VAR_FIRST=mirrord.is.running",
	"PATH=/pod/bin",
	"HOME=/root",
	"TERM=dumb",
	"LC_ALL=C",
	"XDG_RUNTIME_DIR=/pod/run",
	"SSH_AUTH_SOCK=/pod/agent",
	"WAYLAND_DISPLAY=pod-0",
	"MIRROR_ROOT=/pod",
	"SHARED=from-pod",
	"AWS_SECRET=pod-secret",
	"AWS_REGION=eu-pod-1",
	"DATABASE_URL=postgres://pod",
	"QUOTED=it's \"both\"\nand a newline",
	NULL
};

static char *local_env[] = {
	"PATH=/usr/bin:/bin",
	"HOME=/home/dev",
	"TERM=xterm",
	"LC_ALL=en_US.UTF-8",
	"SHARED=from-laptop",
	"AWS_SECRET=laptop-secret",
	"EDITOR=vi",
	"EDITOR=second-ignored",
	"NOEQUALS",
	NULL
};

static void
test_merge(void)
{
	struct ctx_info ci;
	struct mirror_conf c;
	char **out;

	memset(&ci, 0, sizeof(ci));
	ci.environ = remote_env;
	conf_defaults(&c);
	ok(ctx_env_merge(&ci, local_env, &c, &out) == 0, "merge");
	ok(is(get(out, "MIRRORD_FAKE_VAR_FIRST"), "mirrord.is.running",
	    "pod-only variable"), "the pod's own variable is there");
	ok(is(get(out, "SHARED"), "from-pod", "SHARED"),
	    "the pod's value wins over the local one");
	ok(is(get(out, "PATH"), "/usr/bin:/bin", "PATH") &&
	    is(get(out, "HOME"), "/home/dev", "HOME") &&
	    is(get(out, "TERM"), "xterm", "TERM") &&
	    is(get(out, "LC_ALL"), "en_US.UTF-8", "LC_ALL"),
	    "PATH, HOME, TERM, LC_* stay local");
	ok(is(get(out, "XDG_RUNTIME_DIR"), NULL, "XDG_*") &&
	    is(get(out, "SSH_AUTH_SOCK"), NULL, "SSH_*") &&
	    is(get(out, "WAYLAND_DISPLAY"), NULL, "WAYLAND_*") &&
	    is(get(out, "MIRROR_ROOT"), NULL, "MIRROR_*"),
	    "XDG_*, SSH_*, WAYLAND_*, MIRROR_* of the pod are not taken");
	ok(is(get(out, "EDITOR"), "vi", "EDITOR") && count(out, "EDITOR") == 1,
	    "a local name twice: the first, once");
	ok(is(get(out, "NOEQUALS"), NULL, "NOEQUALS") &&
	    count(out, "SHARED") == 1, "no entry without '=', no duplicate");
	ok(is(get(out, "QUOTED"), "it's \"both\"\nand a newline", "QUOTED"),
	    "a value with quotes and a newline is kept as it is");
	ctx_env_free(out);

	/* exclude keeps the local value; an excluded pod-only one is
	 * absent. */
	snprintf(c.env_exclude[0], sizeof(c.env_exclude[0]), "AWS_*");
	snprintf(c.env_exclude[1], sizeof(c.env_exclude[1]), "DATA?ASE_URL");
	c.env_nexclude = 2;
	ok(ctx_env_merge(&ci, local_env, &c, &out) == 0 &&
	    is(get(out, "AWS_SECRET"), "laptop-secret", "AWS_SECRET") &&
	    is(get(out, "AWS_REGION"), NULL, "AWS_REGION") &&
	    is(get(out, "DATABASE_URL"), NULL, "DATABASE_URL") &&
	    is(get(out, "SHARED"), "from-pod", "SHARED"),
	    "env.exclude (globs): the local value stays, nothing from the pod");
	ctx_env_free(out);

	/* include restricts what is taken from the pod, not what is local */
	conf_defaults(&c);
	snprintf(c.env_include[0], sizeof(c.env_include[0]), "DATABASE_*");
	snprintf(c.env_include[1], sizeof(c.env_include[1]), "PATH");
	c.env_ninclude = 2;
	ok(ctx_env_merge(&ci, local_env, &c, &out) == 0 &&
	    is(get(out, "DATABASE_URL"), "postgres://pod", "DATABASE_URL") &&
	    is(get(out, "SHARED"), "from-laptop", "SHARED") &&
	    is(get(out, "MIRRORD_FAKE_VAR_FIRST"), NULL, "FIRST") &&
	    is(get(out, "EDITOR"), "vi", "EDITOR") &&
	    is(get(out, "PATH"), "/usr/bin:/bin", "PATH"),
	    "env.include: only those of the pod; locals kept; PATH still "
	    "local");
	ctx_env_free(out);

	/* include and exclude together: exclude wins */
	snprintf(c.env_exclude[0], sizeof(c.env_exclude[0]), "DATABASE_URL");
	c.env_nexclude = 1;
	ok(ctx_env_merge(&ci, local_env, &c, &out) == 0 &&
	    is(get(out, "DATABASE_URL"), NULL, "DATABASE_URL"),
	    "a name both included and excluded is excluded");
	ctx_env_free(out);

	/* override sets over both, even a stay-local name */
	conf_defaults(&c);
	snprintf(c.env_override[0], sizeof(c.env_override[0]), "SHARED=set");
	snprintf(c.env_override[1], sizeof(c.env_override[1]), "NEW=");
	snprintf(c.env_override[2], sizeof(c.env_override[2]), "TERM=vt100");
	c.env_noverride = 3;
	ok(ctx_env_merge(&ci, local_env, &c, &out) == 0 &&
	    is(get(out, "SHARED"), "set", "SHARED") &&
	    is(get(out, "NEW"), "", "NEW") &&
	    is(get(out, "TERM"), "vt100", "TERM") &&
	    count(out, "SHARED") == 1,
	    "env.override wins over the pod and the laptop");
	ctx_env_free(out);

	/* no target variables, no local ones */
	ci.environ = NULL;
	ok(ctx_env_merge(&ci, NULL, &c, &out) == 0 && out != NULL &&
	    is(get(out, "SHARED"), "set", "SHARED") && out[3] == NULL,
	    "empty sides: the overrides only");
	ctx_env_free(out);
}

/* A reply built by the agent's encoder, decoded by the client's. */
static int
roundtrip(const char *host, const void *env, size_t envlen,
    char *const *vols, size_t n, struct target_info *ti)
{
	struct proto_buf b;
	struct proto_hdr h;
	struct proto_cur c;
	int rc;

	proto_buf_init(&b, 64);
	proto_begin(&b, MSG_REPLY, OP_TARGET_INFO, 1, 0);
	proto_put_target_info(&b, host, env, envlen, vols, n);
	if (proto_finish(&b) < 0 ||
	    proto_hdr_decode(b.data, b.len, &h, &c) < 0) {
		proto_buf_free(&b);
		return -EINVAL;
	}
	rc = proto_get_target_info(&c, ti);
	proto_buf_free(&b);
	return rc;
}

static void
test_codec(void)
{
	static const char env[] = "A=1\0BAD-NAME=x\0=empty\0NOEQ\0A=2\0"
	    "V=new\nline \"q\" 'q' %41 \x01\xff\0_X9=\0LAST=no-nul";
	char *vols[] = { "/var/run/secrets/kubernetes.io/serviceaccount",
	    "/etc/hosts", "/data/with space", NULL };
	char *bad[] = { "/ok", NULL, NULL };
	static const char *badpaths[] = { "/", "relative", "/a//b", "/a/./b",
	    "/a/../b", "/a/", "/proc", "/proc/1", "/sys/x", "/dev/shm",
	    "/a\nb", "" };
	struct target_info ti, back;
	char *text;
	size_t i, n;

	ok(roundtrip("py-serv", env, sizeof(env) - 1, vols, 3, &ti) == 0,
	    "a reply decodes");
	ok(strcmp(ti.hostname, "py-serv") == 0, "hostname");
	ok(ti.nenv == 4 && strcmp(ti.environ[0], "A=1") == 0 &&
	    strncmp(ti.environ[1], "V=new\nline", 10) == 0 &&
	    strcmp(ti.environ[2], "_X9=") == 0 &&
	    strcmp(ti.environ[3], "LAST=no-nul") == 0 &&
	    ti.environ[4] == NULL,
	    "environ: bad names dropped, first of a name kept, last entry "
	    "without NUL kept");
	ok(ti.nvolumes == 3 && strcmp(ti.volumes[2], "/data/with space") == 0
	    && ti.volumes[3] == NULL, "volumes");

	text = target_info_format(&ti);
	for (i = 0, n = 0; text[i]; i++) {
		if (text[i] == '\n')
			n++;
		else if ((unsigned char)text[i] < 0x20 ||
		    (unsigned char)text[i] > 0x7e)
			break;
	}
	ok(text[i] == '\0' && n == 1 + 4 + 3 &&
	    strstr(text, "env V=new%0Aline%20\"q\"%20'q'%20%2541%20%01%FF\n")
	    != NULL, "line format: one line per item, escaped");
	ok(target_info_parse(text, strlen(text), &back) == 0 &&
	    strcmp(back.hostname, ti.hostname) == 0 && back.nenv == ti.nenv &&
	    strcmp(back.environ[1], ti.environ[1]) == 0 &&
	    back.nvolumes == 3 &&
	    strcmp(back.volumes[2], ti.volumes[2]) == 0,
	    "line format round-trips byte for byte");
	target_info_free(&back);
	x_free(text);
	target_info_free(&ti);

	for (i = 0; i < sizeof(badpaths) / sizeof(badpaths[0]); i++) {
		bad[1] = (char *)badpaths[i];
		if (roundtrip("h", "", 0, bad, 2, &ti) != -EBADMSG)
			break;
	}
	ok(i == sizeof(badpaths) / sizeof(badpaths[0]),
	    "bad volume paths refuse the reply (%s)",
	    i < sizeof(badpaths) / sizeof(badpaths[0]) ? badpaths[i] : "all");
	ok(roundtrip("bad host", "", 0, NULL, 0, &ti) == -EBADMSG &&
	    roundtrip("-dash", "", 0, NULL, 0, &ti) == -EBADMSG &&
	    roundtrip("", "", 0, NULL, 0, &ti) == 0 && ti.hostname[0] == '\0',
	    "hostname: bad ones refused, empty means unknown");
	target_info_free(&ti);

	ok(target_info_parse("hostname a\nbogus x\n", 20, &ti) == -EBADMSG &&
	    target_info_parse("env A=1", 7, &ti) == -EBADMSG &&
	    target_info_parse("env A=%0\n", 9, &ti) == -EBADMSG &&
	    target_info_parse("env A=%00\n", 10, &ti) == -EBADMSG &&
	    target_info_parse("env A=a b\n", 10, &ti) == -EBADMSG &&
	    target_info_parse("env 1A=x\n", 9, &ti) == -EBADMSG &&
	    target_info_parse("volume /proc/1\n", 15, &ti) == -EBADMSG &&
	    target_info_parse("hostname a\nhostname b\n", 22, &ti) ==
	    -EBADMSG && ti.environ == NULL,
	    "line format: unknown, unterminated, badly escaped, bad names "
	    "and paths refused");
	ok(target_info_parse("", 0, &ti) == 0 && ti.nenv == 0 &&
	    ti.environ[0] == NULL && ti.volumes[0] == NULL,
	    "an empty answer is an empty target");
	target_info_free(&ti);
}

int
main(void)
{
	test_merge();
	test_codec();
	return done_testing();
}
