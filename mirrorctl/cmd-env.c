/*
 * mirrorctl env: the environment a shell on TARGET gets (ctx-env.c's
 * merge of this one and the target process's), printed for eval, for
 * an IDE's launch configuration (JSON) or as a dotenv file. The agent
 * is borrowed from a live session of the target or started for the
 * command (ctx-agent.c).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "ctx.h"
#include "kube.h"
#include "mirrorctl.h"
#include "progress.h"
#include "proto-target.h"
#include "run.h"
#include "xmalloc.h"

extern char **environ;

static int cmd_env_exec(int, char **);

const struct cmd_entry cmd_env_entry = {
	.name = "env",
	.usage = "env [-o shell|json|dotenv] [--token-file FILE] "
	    "[--fingerprint HEX] [-n NAMESPACE] [--context CTX] "
	    "[--config FILE] TARGET",
	.summary = "Print the environment a shell on a target gets.",
	.help =
"Prints this environment merged with the target process's, as mirrord\n"
"merges them: the target's variables win, except PATH, HOME, USER, SHELL,\n"
"TERM, DISPLAY, WAYLAND_*, SSH_*, XDG_*, LANG, LC_* and MIRROR_*, which\n"
"stay local, and env.exclude's patterns in the config; env.include, when\n"
"set, takes only the target's variables it names; env.override sets\n"
"values over both. MIRROR_TARGET names the target. TARGET is as for\n"
"mirrorctl mount; an agent a mount or connect of the same TARGET runs is\n"
"used, else one is started for the command (local targets need root).\n"
"\n"
"Options:\n"
"  -o, --output FORMAT  shell (default): export NAME='value' lines for\n"
"                       eval; json: one object {\"NAME\": \"value\", ...}\n"
"                       (variables whose value is not UTF-8 are left out);\n"
"                       dotenv: NAME=\"value\" lines, with \\\\, \\\", \\n, \\r\n"
"                       and \\t escapes\n"
"  --token-file FILE    as for mirrorctl mount\n"
"  --fingerprint HEX    as for mirrorctl mount\n"
"  -n, --namespace NS   Kubernetes namespace\n"
"  --context CTX        kubectl context\n"
"  -q, --quiet          no progress while a Kubernetes agent starts\n"
"  --config FILE        configuration (default: the installed mirror.conf)\n"
"\n"
"Examples:\n"
"  eval \"$(sudo mirrorctl env demo)\"\n"
"  mirrorctl env -o json pod/api-0 > .vscode/pod-env.json\n"
"  mirrorctl env -o dotenv -n shop deployment/orders > .env\n",
	.exec = cmd_env_exec,
};

enum env_format { ENV_SHELL, ENV_JSON, ENV_DOTENV };

/* Whether s is well-formed UTF-8 (no overlong forms, no surrogates). */
static int
utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned int c, n, i;

	while (*p) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0 && *p >= 0xc2)
			n = 1, c = *p & 0x1f;
		else if ((*p & 0xf0) == 0xe0)
			n = 2, c = *p & 0x0f;
		else if ((*p & 0xf8) == 0xf0 && *p <= 0xf4)
			n = 3, c = *p & 0x07;
		else
			return 0;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (p[i] & 0x3f);
		}
		if ((n == 2 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
		    (n == 3 && (c < 0x10000 || c > 0x10ffff)))
			return 0;
		p += n + 1;
	}
	return 1;
}

/* One variable in the format; value follows '=' in entry. */
static void
put_var(struct sbuf *b, enum env_format fmt, const char *entry, int *first)
{
	const char *eq = strchr(entry, '='), *p;
	int n = (int)(eq - entry);

	switch (fmt) {
	case ENV_SHELL:
		sbuf_printf(b, "export %.*s='", n, entry);
		for (p = eq + 1; *p; p++) {
			if (*p == '\'')
				sbuf_printf(b, "'\\''");
			else
				sbuf_printf(b, "%c", *p);
		}
		sbuf_printf(b, "'\n");
		break;
	case ENV_JSON:
		sbuf_printf(b, "%s\n  \"%.*s\": ", *first ? "" : ",", n, entry);
		sbuf_json_str(b, eq + 1);
		break;
	case ENV_DOTENV:
		sbuf_printf(b, "%.*s=\"", n, entry);
		for (p = eq + 1; *p; p++) {
			switch (*p) {
			case '\\': sbuf_printf(b, "\\\\"); break;
			case '"': sbuf_printf(b, "\\\""); break;
			case '\n': sbuf_printf(b, "\\n"); break;
			case '\r': sbuf_printf(b, "\\r"); break;
			case '\t': sbuf_printf(b, "\\t"); break;
			default: sbuf_printf(b, "%c", *p); break;
			}
		}
		sbuf_printf(b, "\"\n");
		break;
	}
	*first = 0;
}

/* The merged environment in the format, on stdout. 0 or -1. */
static int
print_env(char **env, enum env_format fmt)
{
	struct sbuf b;
	size_t i;
	int first = 1, rc = 0;

	sbuf_init(&b);
	if (fmt == ENV_JSON)
		sbuf_printf(&b, "{");
	for (i = 0; env[i] != NULL; i++) {
		/* A name no shell can export (BASH_FUNC_f%%) stays out. */
		if (!target_env_ok(env[i]))
			continue;
		if (fmt == ENV_JSON && !utf8_ok(env[i])) {
			ctl_warn("%.*s left out: its value is not "
			    "UTF-8", (int)strcspn(env[i], "="), env[i]);
			continue;
		}
		put_var(&b, fmt, env[i], &first);
	}
	if (fmt == ENV_JSON)
		sbuf_printf(&b, "\n}\n");
	if (fwrite(b.s, 1, b.len, stdout) != b.len || fflush(stdout) != 0)
		rc = ctl_fail("cannot write the environment: %s",
		    strerror(errno));
	sbuf_free(&b);
	return rc;
}

static int
cmd_env_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "token-file", required_argument, NULL, 't' },
		{ "fingerprint", required_argument, NULL, 'F' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "context", required_argument, NULL, 'C' },
		{ "config", required_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *token_file = NULL, *fingerprint = NULL, *config = NULL;
	struct ctx_agent ca = { NULL, 0 };
	struct ctx_info ci;
	struct mirror_conf conf;
	struct kube_opts ko;
	enum env_format fmt = ENV_SHELL;
	char **local = NULL, **merged = NULL, *mine = NULL;
	size_t n, i;
	int ch, ret = 1;

	memset(&ko, 0, sizeof(ko));
	memset(&ci, 0, sizeof(ci));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "ho:n:q", opts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			if (strcmp(optarg, "shell") == 0)
				fmt = ENV_SHELL;
			else if (strcmp(optarg, "json") == 0)
				fmt = ENV_JSON;
			else if (strcmp(optarg, "dotenv") == 0)
				fmt = ENV_DOTENV;
			else
				return ctl_fail("-o wants shell, json or "
				    "dotenv, got \"%s\"", optarg);
			break;
		case 't': token_file = optarg; break;
		case 'F': fingerprint = optarg; break;
		case 'n': ko.ns = optarg; break;
		case 'q': progress_set_quiet(1); break;
		case 'C': ko.context = optarg; break;
		case 'c': config = optarg; break;
		case 'h': ctl_usage(&cmd_env_entry); return 0;
		default:
			return ctl_fail("usage: mirrorctl %s",
			    cmd_env_entry.usage);
		}
	}
	if (argc - optind != 1)
		return ctl_fail("usage: mirrorctl %s", cmd_env_entry.usage);
	conf_defaults(&conf);
	if (conf_load(&conf, config) < 0)
		return 1;
	ko.conf = &conf;
	/* mirror-query reads the same file (its timeouts). */
	if (config != NULL)
		setenv("MIRROR_CONFIG", config, 1);
	if (ctx_agent_get(&ca, argv[optind], token_file, fingerprint, config,
	    &conf, &ko) < 0 || ctx_info_fetch(ca.s, &ci) < 0)
		goto out;
	/* MIRROR_TARGET first: the first of a name is the one kept. */
	for (n = 0; environ[n] != NULL; n++)
		;
	local = xcalloc(n + 2, sizeof(*local));
	xasprintf(&mine, "MIRROR_TARGET=%s", argv[optind]);
	local[0] = mine;
	for (i = 0; i < n; i++)
		local[i + 1] = environ[i];
	if (ctx_env_merge(&ci, local, &conf, &merged) < 0) {
		ctl_fail("cannot merge the environment of %s", argv[optind]);
		goto out;
	}
	if (print_env(merged, fmt) == 0)
		ret = 0;
out:
	ctx_env_free(merged);
	x_free(local);
	x_free(mine);
	ctx_info_free(&ci);
	ctx_agent_release(&ca);
	return ret;
}
