/*
 * Unit tests of layer/rules.c, the layer's path rules: the decision for
 * a path through the lists and fs.mapping, with mirrord's precedence,
 * and the case rules (the lists' regexes ignore case as mirrord's do,
 * fs.mapping's and path prefixes do not). Prints TAP.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../layer/rules.h"

#include "tap.h"

#define ROOT	"/mnt/pod"

static const char rules_text[] =
    "mirror-layer-rules 1\n"
    "root\t" ROOT "\n"
    "mode\tread\n"
    "map\t^/CFG/(.*)$\t/app/\\1\n"
    "map\t^/data/(.*)$\t/srv/\\1\n"
    "not_found\t\\.SECRET$\n"
    "read_write\t^/WWW/\n"
    "local\t^/APP/LOCAL\n"
    "local\t\\.LOG$\n"
    "local\t/Opt/Tool\n"
    "default_local\t/usr\n"
    "default_local\t\\.so$\n"
    "default_remote\t/etc/hosts\n"
    "end\n";

/* What path becomes: the class, and the path used in out. */
static enum layer_class
classify(const struct layer_rules *r, const char *path, char *out)
{
	enum layer_class cls;

	if (layer_rules_resolve(r, path, out, PATH_MAX, &cls) < 0)
		return (enum layer_class)-1;
	return cls;
}

static void
check(const struct layer_rules *r, const char *path, enum layer_class want,
    const char *want_out, const char *what)
{
	char out[PATH_MAX];
	enum layer_class got = classify(r, path, out);

	ok(got == want && strcmp(out, want_out) == 0,
	    "%s: %s -> %d %s (want %d %s)", what, path, (int)got, out,
	    (int)want, want_out);
}

/* A path, what it becomes, the path used, and why. */
static const struct {
	const char		*path;
	enum layer_class	 cls;
	const char		*out;
	const char		*what;
} cases[] = {
	{ "/app/x.secret", LAYER_NOT_FOUND, "/app/x.secret",
	    "not_found regex, other case" },
	{ "/app/X.Secret", LAYER_NOT_FOUND, "/app/X.Secret",
	    "not_found regex, mixed case" },
	{ "/www/index.html", LAYER_REMOTE_RW, ROOT "/www/index.html",
	    "read_write regex, other case" },
	{ "/app/local/x", LAYER_LOCAL, "/app/local/x",
	    "local regex, other case" },
	{ "/app/lib/libX.SO", LAYER_LOCAL, "/app/lib/libX.SO",
	    "default_local regex, other case" },
	{ "/var/a.log", LAYER_LOCAL, "/var/a.log",
	    "two regexes of a list joined, other case" },
	{ "/opt/tool/x", LAYER_REMOTE_RO, ROOT "/opt/tool/x",
	    "a prefix of other case does not match" },
	{ "/Opt/Tool/x", LAYER_LOCAL, "/Opt/Tool/x",
	    "a prefix of the same case matches" },
	{ "/USR/lib", LAYER_REMOTE_RO, ROOT "/USR/lib",
	    "default_local prefix, other case" },
	{ "/cfg/a.yaml", LAYER_REMOTE_RO, ROOT "/cfg/a.yaml",
	    "a mapping of other case does not map" },
	{ "/CFG/a.yaml", LAYER_REMOTE_RO, ROOT "/app/a.yaml",
	    "a mapping of the same case maps" },
	{ "/data/Y", LAYER_REMOTE_RO, ROOT "/srv/Y", "a mapping with a group" },
	{ "/www/k.SECRET", LAYER_NOT_FOUND, "/www/k.SECRET",
	    "not_found beats read_write" },
	{ "/etc/hosts", LAYER_REMOTE_RO, ROOT "/etc/hosts", "default_remote" },
	{ "/usr/bin/env", LAYER_LOCAL, "/usr/bin/env", "default_local" },
	{ ROOT "/x", LAYER_LOCAL, ROOT "/x", "the mount itself" },
};

int
main(void)
{
	static struct layer_rules r;
	size_t i;
	int line = 0;

	ok(layer_rules_parse(&r, rules_text, strlen(rules_text), "/home/u",
	    &line) == 0, "the rules parse (line %d)", line);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check(&r, cases[i].path, cases[i].cls, cases[i].out,
		    cases[i].what);

	/* layer_rules_in, for the shell's fs.local. */
	ok(layer_rules_in(&r, LAYER_T_LOCAL, "/APP/local"), "in: regex");
	ok(layer_rules_in(&r, LAYER_T_LOCAL, "/app/LOCAL/y"),
	    "in: regex, other case");
	ok(layer_rules_in(&r, LAYER_T_LOCAL, "/Opt/Tool"), "in: a prefix");
	ok(!layer_rules_in(&r, LAYER_T_LOCAL, "/Opt/Toolbox"),
	    "in: not a longer name");
	ok(layer_rules_add(&r, LAYER_T_LOCAL, "~/notes", "/home/u") == 0 &&
	    layer_rules_in(&r, LAYER_T_LOCAL, "/home/u/notes/a"),
	    "add: a path under the home");
	ok(layer_rules_add(&r, LAYER_T_LOCAL, "~/x", NULL) == 1,
	    "add: ~ without a home is left out");
	ok(layer_rules_add(&r, LAYER_T_LOCAL, "(a", NULL) == -EINVAL,
	    "add: a regex that does not compile");
	layer_rules_free(&r);
	return done_testing();
}
