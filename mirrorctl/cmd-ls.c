/*
 * mirrorctl ls: the targets this machine can see, one line each with the
 * TARGET string to copy: Kubernetes pods (when kubectl reaches a
 * cluster), podman and docker containers (when those runtimes answer).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "mirrorctl.h"
#include "run.h"
#include "target.h"
#include "xmalloc.h"

#define LS_TIMEOUT_MS	15000

static int	cmd_ls_exec(int, char **);

const struct cmd_entry cmd_ls_entry = {
	.name = "ls",
	.usage = "ls [-o json] [-n NAMESPACE | -A] [--context CTX]",
	.summary = "list the targets (pods, containers) mount can use",
	.help =
"One line per target, with the TARGET string that mount takes:\n"
"  pod/NAME or pod/NAME/container/C   Kubernetes pods in the namespace\n"
"                     (kubectl's current, or -n), when kubectl reaches a\n"
"                     cluster; pods of several containers get one line per\n"
"                     container\n"
"  podman/NAME        running podman containers (pods' infra containers\n"
"                     left out)\n"
"  docker/NAME        running docker containers\n"
"A source that is not installed is left out quietly; one that is there\n"
"but does not answer (no cluster, no docker engine) gets a note on\n"
"stderr.\n"
"\n"
"Options:\n"
"  -o json            a JSON array for scripts: objects with target,\n"
"                     source, name, status, image, pod, namespace\n"
"  -n, --namespace NS Kubernetes namespace\n"
"  -A, --all-namespaces  pods of every namespace (their TARGET needs -n)\n"
"  --context CTX      kubectl context\n"
"  --config FILE      configuration (kube.kubectl)\n",
	.exec = cmd_ls_exec,
};

struct ls_item {
	char	*target, *source, *name, *status, *image, *pod, *ns;
};

struct ls_list {
	struct ls_item	*v;
	size_t		 n;
};

static void
ls_add(struct ls_list *l, const char *target, const char *source,
    const char *name, const char *status, const char *image,
    const char *pod, const char *ns)
{
	struct ls_item *it;

	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	it = &l->v[l->n++];
	it->target = xstrdup(target);
	it->source = xstrdup(source);
	it->name = xstrdup(name);
	it->status = xstrdup(status);
	it->image = xstrdup(image);
	it->pod = xstrdup(pod);
	it->ns = xstrdup(ns);
}

static void
ls_free(struct ls_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		x_free(l->v[i].target);
		x_free(l->v[i].source);
		x_free(l->v[i].name);
		x_free(l->v[i].status);
		x_free(l->v[i].image);
		x_free(l->v[i].pod);
		x_free(l->v[i].ns);
	}
	x_free(l->v);
}

/* Splits line at '|' into up to n fields; returns how many. */
static int
ls_fields(char *line, char **f, int n)
{
	int i;

	for (i = 0; i < n && line; i++)
		f[i] = strsep(&line, "|");
	return i;
}

/* podman ps / docker ps: running containers. */
static void
ls_runtime(struct ls_list *l, const char *rt)
{
	int podman = strcmp(rt, "podman") == 0;
	const char *fmt = podman ?
	    "{{.Names}}|{{.Status}}|{{.Image}}|{{.PodName}}|{{.IsInfra}}" :
	    "{{.Names}}|{{.Status}}|{{.Image}}||false";
	const char *pargv[] = { rt, "ps", "--pod", "--format", fmt, NULL };
	const char *dargv[] = { rt, "ps", "--format", fmt, NULL };
	const char *const *argv = podman ? pargv : dargv;
	struct run_result r;
	char *line, *save = NULL, *f[5], target[600];

	if (!run_have(rt))
		return;
	if (run_capture(argv, NULL, LS_TIMEOUT_MS, &r) != 0) {
		fprintf(stderr, "mirrorctl: %s: %s\n", rt, r.err[0] ? r.err :
		    "ps failed");
		run_result_free(&r);
		return;
	}
	for (line = strtok_r(r.out.s, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		if (ls_fields(line, f, 5) < 5 || strcmp(f[4], "true") == 0)
			continue;
		snprintf(target, sizeof(target), "%s/%s", rt, f[0]);
		ls_add(l, target, rt, f[0], f[1], f[2], f[3], "");
	}
	run_result_free(&r);
}

/* kubectl get pods: a line per pod, per container if it has several. */
static void
ls_kube(struct ls_list *l, const struct mirror_conf *conf, const char *ns,
    const char *ctx, int all)
{
	struct argv_buf a;
	struct run_result r;
	char *line, *save = NULL, *f[5], *c, *csave = NULL, target[800];
	int multi;

	if (!run_have(conf->kubectl))
		return;
	argv_init(&a);
	argv_add(&a, conf->kubectl);
	if (ctx) {
		argv_add(&a, "--context");
		argv_add(&a, ctx);
	}
	if (all)
		argv_add(&a, "--all-namespaces");
	else if (ns) {
		argv_add(&a, "-n");
		argv_add(&a, ns);
	}
	argv_add(&a, "get");
	argv_add(&a, "pods");
	argv_add(&a, "--request-timeout=10s");
	argv_add(&a, "-o");
	argv_add(&a, "go-template={{range .items}}{{.metadata.namespace}}|"
	    "{{.metadata.name}}|{{.status.phase}}|"
	    "{{range .spec.containers}}{{.name}},{{end}}|"
	    "{{range .spec.containers}}{{.image}},{{end}}\n{{end}}");
	if (run_capture((const char *const *)a.v, NULL, LS_TIMEOUT_MS, &r) != 0) {
		fprintf(stderr, "mirrorctl: kubernetes: no reachable cluster "
		    "(kubectl: %s)\n", r.err[0] ? r.err : "failed");
		run_result_free(&r);
		argv_free(&a);
		return;
	}
	argv_free(&a);
	for (line = strtok_r(r.out.s, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		char *img, *isave = NULL;

		if (ls_fields(line, f, 5) < 5)
			continue;
		multi = strchr(f[3], ',') != strrchr(f[3], ',');
		img = strtok_r(f[4], ",", &isave);
		for (c = strtok_r(f[3], ",", &csave); c;
		    c = strtok_r(NULL, ",", &csave)) {
			if (multi)
				snprintf(target, sizeof(target),
				    "pod/%s/container/%s", f[1], c);
			else
				snprintf(target, sizeof(target), "pod/%s",
				    f[1]);
			ls_add(l, target, "kubernetes", c, f[2], img ? img :
			    "", f[1], f[0]);
			img = strtok_r(NULL, ",", &isave);
		}
	}
	run_result_free(&r);
}

static void
ls_print_json(const struct ls_list *l)
{
	struct sbuf b;
	size_t i;

	sbuf_init(&b);
	sbuf_printf(&b, "[");
	for (i = 0; i < l->n; i++) {
		const struct ls_item *it = &l->v[i];

		sbuf_printf(&b, "%s\n  {\"target\": ", i ? "," : "");
		sbuf_json_str(&b, it->target);
		sbuf_printf(&b, ", \"source\": ");
		sbuf_json_str(&b, it->source);
		sbuf_printf(&b, ", \"name\": ");
		sbuf_json_str(&b, it->name);
		sbuf_printf(&b, ", \"status\": ");
		sbuf_json_str(&b, it->status);
		sbuf_printf(&b, ", \"image\": ");
		sbuf_json_str(&b, it->image);
		sbuf_printf(&b, ", \"pod\": ");
		sbuf_json_str(&b, it->pod);
		sbuf_printf(&b, ", \"namespace\": ");
		sbuf_json_str(&b, it->ns);
		sbuf_printf(&b, "}");
	}
	sbuf_printf(&b, "%s]\n", l->n ? "\n" : "");
	fputs(b.s, stdout);
	sbuf_free(&b);
}

static void
ls_print_table(const struct ls_list *l)
{
	size_t i, w = 6;

	for (i = 0; i < l->n; i++)
		if (strlen(l->v[i].target) > w)
			w = strlen(l->v[i].target);
	printf("%-*s  %-10s  %-24s  %-30s  %s\n", (int)w, "TARGET", "SOURCE",
	    "POD", "IMAGE", "STATUS");
	for (i = 0; i < l->n; i++) {
		const struct ls_item *it = &l->v[i];
		char pod[600];

		if (it->ns[0])
			snprintf(pod, sizeof(pod), "%s (namespace %s)", it->pod,
			    it->ns);
		else
			snprintf(pod, sizeof(pod), "%s", it->pod[0] ? it->pod :
			    "-");
		printf("%-*s  %-10s  %-24s  %-30s  %s\n", (int)w, it->target,
		    it->source, pod, it->image, it->status);
	}
}

static int
cmd_ls_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "all-namespaces", no_argument, NULL, 'A' },
		{ "context", required_argument, NULL, 'C' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *ns = NULL, *ctx = NULL, *config = NULL;
	struct mirror_conf conf;
	struct ls_list l = { NULL, 0 };
	int ch, json = 0, all = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "ho:n:A", opts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			if (strcmp(optarg, "json") == 0)
				json = 1;
			else if (strcmp(optarg, "table") != 0)
				return ctl_fail("-o wants json or table, not "
				    "\"%s\"", optarg);
			break;
		case 'n': ns = optarg; break;
		case 'A': all = 1; break;
		case 'C': ctx = optarg; break;
		case 'c': config = optarg; break;
		case 'h': ctl_usage(&cmd_ls_entry); return 0;
		default:
			return ctl_fail("usage: mirrorctl %s",
			    cmd_ls_entry.usage);
		}
	}
	if (optind != argc)
		return ctl_fail("usage: mirrorctl %s", cmd_ls_entry.usage);
	if ((ns && target_arg_ok("namespace", ns) < 0) ||
	    (ctx && target_arg_ok("context", ctx) < 0))
		return -1;
	conf_defaults(&conf);
	if (conf_load(&conf, config) < 0)
		return -1;
	ls_kube(&l, &conf, ns, ctx, all);
	ls_runtime(&l, "podman");
	ls_runtime(&l, "docker");
	if (json)
		ls_print_json(&l);
	else if (l.n == 0)
		fprintf(stderr, "mirrorctl: no targets found (no reachable "
		    "cluster, no running podman or docker containers)\n");
	else
		ls_print_table(&l);
	ls_free(&l);
	return 0;
}
