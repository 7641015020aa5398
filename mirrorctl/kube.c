/*
 * Kubernetes targets, driven through kubectl. One plan serves the real
 * run and --dry-run: the same functions build every kubectl command
 * line and manifest; the dry run prints them where the real run runs
 * them, with the values only the cluster knows shown as ${...}.
 * The port-forward keeper that carries a session is kube-forward.c.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "hex.h"
#include "kube.h"
#include "kube-forward.h"
#include "mirrorctl.h"
#include "progress.h"
#include "run.h"
#include "sha256.h"
#include "xmalloc.h"

#define KUBE_GET_TIMEOUT	"--request-timeout=15s"
#define KUBE_RUN_MS		30000	/* one kubectl call */
#define KUBE_START_S		120	/* image pull and container start */
#define KUBE_POLL_MS		500	/* between two looks at the pod */
#define KUBE_AGENT_BIN		"/usr/bin/mirror-agent"
#define KUBE_PORT_MIN		40000
#define KUBE_PORT_SPAN		20000

/*
 * What the agent may do, and nothing more (each one tried away in
 * t-agent-image): read and write every file of the target whoever owns
 * it (DAC_OVERRIDE), reach another process's root and environment
 * (SYS_PTRACE), and in a writable mount create new files as their
 * caller (SETUID, SETGID: a per-thread fsuid/fsgid, so nothing is
 * chowned by name where the pod could swap it), give them their owner
 * where the caller's id is not the agent's to take (CHOWN), chmod and
 * utimens them (FOWNER) and keep their set-id bits (FSETID); steal a
 * port of the pod (shell --steal) with an nftables table of its own in
 * the pod's network namespace and mark its own connections so that
 * they are never redirected (NET_ADMIN).
 */
static const char *const kube_caps[] = { "CHOWN", "DAC_OVERRIDE",
	"FOWNER", "FSETID", "NET_ADMIN", "SETGID", "SETUID", "SYS_PTRACE",
	NULL };
/* In job mode the agent runs in a pod of its own: its network thread
 * must setns() into the target's network namespace (mirrorctl connect). */
#define KUBE_JOB_CAP	"SYS_ADMIN"

/* One line of the pod template below, split. */
struct kube_pod {
	char	*name, *node, *phase, *deleting, *shared, *defc, *ready;
	char	*containers, *statuses;
};

/* Fields separated by '|', which Kubernetes names cannot hold. */
#define KUBE_POD_TMPL \
	"{{.metadata.name}}|{{.spec.nodeName}}|{{.status.phase}}|" \
	"{{if .metadata.deletionTimestamp}}deleting{{end}}|" \
	"{{if .spec.shareProcessNamespace}}shared{{end}}|" \
	"{{with .metadata.annotations}}" \
	"{{index . \"kubectl.kubernetes.io/default-container\"}}{{end}}|" \
	"{{range .status.conditions}}{{if eq .type \"Ready\"}}{{.status}}" \
	"{{end}}{{end}}|" \
	"{{range .spec.containers}}{{.name}},{{end}}|" \
	"{{range .status.containerStatuses}}{{.name}}={{.containerID}}=" \
	"{{if .state.running}}running{{else}}stopped{{end}};{{end}}"

struct kube_plan {
	const struct target	*t;
	const struct kube_opts	*o;
	int			 dry;
	int			 job;
	char			 id[17];	/* session id, hex */
	char			 agent[64];	/* container or job name */
	char			 pod[256];	/* the target pod */
	char			 container[256];
	char			 node[256];
	char			 cid[256];	/* runtime://container-id */
	char			 agent_pod[256]; /* where the agent runs */
	int			 port;		/* the agent's, in its pod */
	char			 hash[65];	/* SHA-256 of the token */
	struct sbuf		 resolve;	/* dry run: commands, JSON */
};

/* kubectl [--context C] [-n NS] */
static void
kube_argv(const struct kube_plan *p, struct argv_buf *a)
{
	argv_init(a);
	argv_add(a, p->o->conf->kubectl);
	if (p->o->context) {
		argv_add(a, "--context");
		argv_add(a, p->o->context);
	}
	if (p->o->ns) {
		argv_add(a, "-n");
		argv_add(a, p->o->ns);
	}
}

static const char *
kube_ns_name(const struct kube_plan *p)
{
	return p->o->ns ? p->o->ns : "the current namespace";
}

/* Explains a failed kubectl call in one line that names the fix. */
static void
kube_error(const struct kube_plan *p, const char *what,
    const struct run_result *r)
{
	const char *e = r->err;

	if (r->status == 127)
		ctl_fail("%s/%s: cannot run kubectl (\"%s\"): install it or "
		    "set kube.kubectl in the configuration", p->t->resource,
		    p->t->name, p->o->conf->kubectl);
	else if (r->status == 124 || strstr(e, "refused") ||
	    strstr(e, "Unable to connect") || strstr(e, "dial tcp") ||
	    strstr(e, "no configuration") || strstr(e, "i/o timeout") ||
	    strstr(e, "no such host") || strstr(e, "server API group") ||
	    strstr(e, "provide credentials") || strstr(e, "context was not") ||
	    strstr(e, "Error in configuration") ||
	    strstr(e, "invalid configuration") || strstr(e, "Unauthorized"))
		ctl_fail("kubectl has no reachable cluster%s%s: %s (check: "
		    "kubectl%s%s cluster-info)", p->o->context ? " in context "
		    : "", p->o->context ? p->o->context : "", e,
		    p->o->context ? " --context " : "",
		    p->o->context ? p->o->context : "");
	else if (strstr(e, "NotFound") || strstr(e, "not found"))
		ctl_fail("%s/%s not found in %s (kubectl: %s)",
		    p->t->resource, p->t->name, kube_ns_name(p), e);
	else if (strstr(e, "orbidden"))
		ctl_fail("%s/%s: kubectl may not %s: %s (the README lists "
		    "the RBAC rules mirror needs)", p->t->resource,
		    p->t->name, what, e);
	else
		ctl_fail("%s/%s: kubectl could not %s: %s", p->t->resource,
		    p->t->name, what, e[0] ? e : "no reason given");
}

/*
 * Runs kubectl with the plan's context and namespace and args; in a dry
 * run records the command instead and returns 1. 0 on success, -1 after
 * printing why.
 */
static int
kube_run(struct kube_plan *p, const char *const args[], const char *in,
    const char *what, struct run_result *r)
{
	struct argv_buf a;
	int i, rc = 0;

	kube_argv(p, &a);
	for (i = 0; args[i]; i++)
		argv_add(&a, args[i]);
	if (p->dry) {
		sbuf_printf(&p->resolve, "%s\n    ", p->resolve.len > 1 ?
		    "," : "");
		sbuf_json_argv(&p->resolve, (const char *const *)a.v);
		argv_free(&a);
		memset(r, 0, sizeof(*r));
		sbuf_init(&r->out);
		return 1;
	}
	if (run_capture((const char *const *)a.v, in, KUBE_RUN_MS, r) != 0) {
		kube_error(p, what, r);
		run_result_free(r);
		rc = -1;
	}
	argv_free(&a);
	return rc;
}

/* Splits one template line into fields; 0, or -1 if it is short. */
static int
kube_pod_parse(char *line, struct kube_pod *kp)
{
	char **f[] = { &kp->name, &kp->node, &kp->phase, &kp->deleting,
		&kp->shared, &kp->defc, &kp->ready, &kp->containers,
		&kp->statuses };
	size_t i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		*f[i] = strsep(&line, "|");
		if (*f[i] == NULL)
			return -1;
	}
	return 0;
}

/* True if name is one item of a "a,b,c," list. */
static int
list_has(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while ((p = strstr(p, name)) != NULL) {
		if ((p == list || p[-1] == ',') && p[n] == ',')
			return 1;
		p += n;
	}
	return 0;
}

/* Fills container, node and cid from a pod line. */
static int
kube_pick_container(struct kube_plan *p, struct kube_pod *kp)
{
	char *s, *save = NULL, want[300];
	size_t n;

	snprintf(p->pod, sizeof(p->pod), "%s", kp->name);
	snprintf(p->node, sizeof(p->node), "%s", kp->node);
	if (p->t->container[0])
		snprintf(p->container, sizeof(p->container), "%s",
		    p->t->container);
	else if (kp->defc[0] && strcmp(kp->defc, "<no value>") != 0)
		snprintf(p->container, sizeof(p->container), "%s", kp->defc);
	else {
		n = strcspn(kp->containers, ",");
		snprintf(p->container, sizeof(p->container), "%.*s", (int)n,
		    kp->containers);
	}
	if (!list_has(kp->containers, p->container))
		return ctl_fail("pod/%s has no container %s (it has: %.*s)",
		    p->pod, p->container, (int)strlen(kp->containers) - 1,
		    kp->containers);
	if (strcmp(kp->phase, "Running") != 0 || kp->deleting[0])
		return ctl_fail("pod/%s is %s, not running", p->pod,
		    kp->deleting[0] ? "being deleted" : kp->phase);
	snprintf(want, sizeof(want), "%s=", p->container);
	for (s = strtok_r(kp->statuses, ";", &save); s;
	    s = strtok_r(NULL, ";", &save)) {
		char *state;

		if (strncmp(s, want, strlen(want)) != 0)
			continue;
		state = strrchr(s, '=');
		*state++ = '\0';
		if (strcmp(state, "running") != 0)
			return ctl_fail("container %s of pod/%s is not "
			    "running", p->container, p->pod);
		snprintf(p->cid, sizeof(p->cid), "%s", s + strlen(want));
		break;
	}
	if (p->cid[0] == '\0')
		return ctl_fail("container %s of pod/%s has not started",
		    p->container, p->pod);
	if (kp->shared[0] && !p->job)
		return ctl_fail("pod/%s shares one process namespace among "
		    "its containers, so the agent cannot tell %s's process "
		    "apart; use agent.mode = \"job\"", p->pod, p->container);
	return 0;
}

/* Finds the pod and container: a deployment or statefulset by its
 * selector, then the first of its pods that is ready. */
static int
kube_resolve(struct kube_plan *p)
{
	const struct target *t = p->t;
	struct run_result r;
	struct kube_pod kp;
	char sel[2048] = "", *line, *save = NULL, what[300];
	int rc;

	if (strcmp(t->resource, "pod") == 0) {
		const char *args[] = { "get", "pod", t->name,
			KUBE_GET_TIMEOUT, "-o", "go-template=" KUBE_POD_TMPL,
			NULL };

		rc = kube_run(p, args, NULL, "get the pod", &r);
		if (rc < 0)
			return -1;
		if (rc == 1) {
			run_result_free(&r);
			snprintf(p->pod, sizeof(p->pod), "%s", t->name);
			snprintf(p->container, sizeof(p->container), "%s",
			    t->container[0] ? t->container : "${CONTAINER}");
			return 0;
		}
		if (kube_pod_parse(r.out.s, &kp) < 0) {
			run_result_free(&r);
			return ctl_fail("pod/%s: kubectl's answer did not "
			    "parse", t->name);
		}
		rc = kube_pick_container(p, &kp);
		run_result_free(&r);
		return rc;
	}

	{
		const char *args[] = { "get", t->resource, t->name,
			KUBE_GET_TIMEOUT, "-o", "go-template={{range $k, $v := "
			".spec.selector.matchLabels}}{{$k}}={{$v}},{{end}}",
			NULL };

		snprintf(what, sizeof(what), "get the %s", t->resource);
		if ((rc = kube_run(p, args, NULL, what, &r)) < 0)
			return -1;
		if (rc == 0) {
			snprintf(sel, sizeof(sel), "%s", r.out.s);
			sel[strcspn(sel, "\n")] = '\0';
			if (sel[0])
				sel[strlen(sel) - 1] = '\0';	/* the ',' */
		} else
			snprintf(sel, sizeof(sel), "${SELECTOR}");
		run_result_free(&r);
		if (sel[0] == '\0')
			return ctl_fail("%s/%s has no matchLabels selector; "
			    "name one of its pods: pod/NAME", t->resource,
			    t->name);
	}
	{
		const char *args[] = { "get", "pods", "-l", sel,
			KUBE_GET_TIMEOUT, "-o", "go-template={{range .items}}"
			KUBE_POD_TMPL "\n{{end}}", NULL };

		if ((rc = kube_run(p, args, NULL, "list its pods", &r)) < 0)
			return -1;
		if (rc == 1) {
			run_result_free(&r);
			snprintf(p->pod, sizeof(p->pod), "${POD}");
			snprintf(p->container, sizeof(p->container),
			    "${CONTAINER}");
			return 0;
		}
	}
	for (line = strtok_r(r.out.s, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		if (kube_pod_parse(line, &kp) < 0)
			continue;
		if (strcmp(kp.phase, "Running") != 0 || kp.deleting[0] ||
		    strcmp(kp.ready, "True") != 0)
			continue;
		rc = kube_pick_container(p, &kp);
		run_result_free(&r);
		return rc;
	}
	run_result_free(&r);
	return ctl_fail("%s/%s has no ready pod in %s (see: kubectl get "
	    "pods -l %s)", t->resource, t->name, kube_ns_name(p), sel);
}

/* The agent's command line in the pod. */
static void
kube_agent_args(const struct kube_plan *p, struct sbuf *b)
{
	char ttl[32];

	snprintf(ttl, sizeof(ttl), "%g", p->o->conf->agent_idle_ttl);
	sbuf_printf(b, "\"command\": [\"%s\"], \"args\": [", KUBE_AGENT_BIN);
	sbuf_printf(b, "\"--listen\", \"127.0.0.1:%d\", ", p->port);
	if (p->job) {
		sbuf_printf(b, "\"--target-container-id\", ");
		sbuf_json_str(b, p->cid);
	} else
		sbuf_printf(b, "\"--target-pid\", \"1\"");
	sbuf_printf(b, ", \"--token-sha256\", \"%s\", \"--idle-ttl\", "
	    "\"%s\"%s]", p->hash, ttl, p->o->rw ? ", \"--rw\"" : "");
}

static void
kube_security(struct sbuf *b, int job)
{
	int i;

	sbuf_printf(b, "\"securityContext\": {\"runAsUser\": 0, "
	    "\"runAsNonRoot\": false, \"privileged\": false, "
	    "\"allowPrivilegeEscalation\": false, "
	    "\"readOnlyRootFilesystem\": true, "
	    "\"seccompProfile\": {\"type\": \"RuntimeDefault\"}, "
	    "\"capabilities\": {\"drop\": [\"ALL\"], \"add\": [");
	for (i = 0; kube_caps[i]; i++)
		sbuf_printf(b, "%s\"%s\"", i ? ", " : "", kube_caps[i]);
	if (job)
		sbuf_printf(b, ", \"%s\"", KUBE_JOB_CAP);
	sbuf_printf(b, "]}}");
}

/* The patch of the pod's ephemeralcontainers subresource. */
static void
kube_ephemeral_manifest(const struct kube_plan *p, struct sbuf *b)
{
	sbuf_printf(b, "{\"spec\": {\"ephemeralContainers\": [{\"name\": "
	    "\"%s\", \"image\": ", p->agent);
	sbuf_json_str(b, p->o->conf->agent_image);
	sbuf_printf(b, ", \"imagePullPolicy\": \"IfNotPresent\", "
	    "\"targetContainerName\": ");
	sbuf_json_str(b, p->container);
	sbuf_printf(b, ", ");
	kube_agent_args(p, b);
	sbuf_printf(b, ", \"stdin\": false, \"tty\": false, ");
	kube_security(b, 0);
	sbuf_printf(b, "}]}}");
}

static void
kube_labels(const struct kube_plan *p, struct sbuf *b)
{
	sbuf_printf(b, "\"labels\": {\"app.kubernetes.io/name\": "
	    "\"mirror-agent\", \"app.kubernetes.io/managed-by\": "
	    "\"mirrorctl\", \"mirror.dev/session\": \"%s\"}", p->id);
}

/* A Job on the target's node, in the host's PID namespace; gone a
 * minute after the agent exits (ttlSecondsAfterFinished). */
static void
kube_job_manifest(const struct kube_plan *p, struct sbuf *b)
{
	sbuf_printf(b, "{\"apiVersion\": \"batch/v1\", \"kind\": \"Job\", "
	    "\"metadata\": {\"name\": \"%s\", ", p->agent);
	kube_labels(p, b);
	sbuf_printf(b, ", \"annotations\": {\"mirror.dev/target\": ");
	sbuf_json_str(b, p->pod);
	sbuf_printf(b, ", \"mirror.dev/container\": ");
	sbuf_json_str(b, p->container);
	sbuf_printf(b, "}}, \"spec\": {\"backoffLimit\": 0, "
	    "\"ttlSecondsAfterFinished\": 60, \"template\": {\"metadata\": {");
	kube_labels(p, b);
	sbuf_printf(b, "}, \"spec\": {\"nodeName\": ");
	sbuf_json_str(b, p->node);
	sbuf_printf(b, ", \"hostPID\": true, \"restartPolicy\": \"Never\", "
	    "\"automountServiceAccountToken\": false, "
	    "\"enableServiceLinks\": false, "
	    "\"terminationGracePeriodSeconds\": 2, "
	    "\"tolerations\": [{\"operator\": \"Exists\"}], "
	    "\"containers\": [{\"name\": \"mirror-agent\", \"image\": ");
	sbuf_json_str(b, p->o->conf->agent_image);
	sbuf_printf(b, ", \"imagePullPolicy\": \"IfNotPresent\", ");
	kube_agent_args(p, b);
	sbuf_printf(b, ", \"resources\": {\"requests\": {\"cpu\": \"10m\", "
	    "\"memory\": \"16Mi\"}, \"limits\": {\"memory\": \"256Mi\"}}, ");
	kube_security(b, 1);
	sbuf_printf(b, "}]}}}}");
}

/* The kubectl command that applies the manifest. */
static void
kube_apply_argv(const struct kube_plan *p, const char *manifest,
    struct argv_buf *a)
{
	kube_argv(p, a);
	if (p->job) {
		argv_add(a, "create");
		argv_add(a, "-f");
		argv_add(a, "-");
	} else {
		argv_add(a, "patch");
		argv_add(a, "pod");
		argv_add(a, p->pod);
		argv_add(a, "--subresource=ephemeralcontainers");
		argv_add(a, "--type=strategic");
		argv_add(a, "-p");
		argv_add(a, manifest);
	}
}

static void
kube_pf_argv(const struct kube_plan *p, int local, struct argv_buf *a)
{
	kube_argv(p, a);
	argv_add(a, "port-forward");
	argv_add(a, "--address");
	argv_add(a, "127.0.0.1");
	argv_addf(a, "pod/%s", p->agent_pod);
	if (local > 0)
		argv_addf(a, "%d:%d", local, p->port);
	else
		argv_addf(a, "${LOCAL_PORT}:%d", p->port);
}

/* What umount runs: the job goes, with its pod. An ephemeral container
 * cannot be removed from a pod; its agent exits after agent.idle_ttl. */
static void
kube_cleanup_argv(const struct kube_plan *p, struct argv_buf *a)
{
	kube_argv(p, a);
	argv_add(a, "delete");
	argv_add(a, "job");
	argv_add(a, p->agent);
	argv_add(a, "--ignore-not-found");
	argv_add(a, "--wait=false");
	argv_add(a, "--cascade=background");
}

static void
kube_wait_argv(const struct kube_plan *p, struct argv_buf *a)
{
	kube_argv(p, a);
	argv_add(a, "get");
	if (p->job) {
		argv_add(a, "pods");
		argv_add(a, "-l");
		argv_addf(a, "mirror.dev/session=%s", p->id);
		argv_add(a, KUBE_GET_TIMEOUT);
		argv_add(a, "-o");
		argv_add(a, "go-template={{range .items}}{{.metadata.name}} "
		    "{{range .status.containerStatuses}}{{if .state.running}}"
		    "running{{else if .state.waiting}}waiting "
		    "{{.state.waiting.reason}} {{.state.waiting.message}}"
		    "{{else if .state.terminated}}terminated "
		    "{{.state.terminated.reason}} {{.state.terminated.message}}"
		    "{{end}}{{else}}waiting {{.status.phase}}{{end}}\n{{end}}");
	} else {
		argv_add(a, "pod");
		argv_add(a, p->pod);
		argv_add(a, KUBE_GET_TIMEOUT);
		argv_add(a, "-o");
		argv_addf(a, "go-template={{.metadata.name}} "
		    "{{range .status.ephemeralContainerStatuses}}"
		    "{{if eq .name \"%s\"}}{{if .state.running}}running"
		    "{{else if .state.waiting}}waiting {{.state.waiting.reason}} "
		    "{{.state.waiting.message}}{{else if .state.terminated}}"
		    "terminated {{.state.terminated.reason}} "
		    "{{.state.terminated.message}}{{end}}{{end}}{{end}}",
		    p->agent);
	}
}

static int
kube_plan_init(struct kube_plan *p, const struct target *t,
    const struct kube_opts *o, const char *token, int dry)
{
	uint8_t rnd[8];

	if ((o->ns && target_arg_ok("namespace", o->ns) < 0) ||
	    (o->context && target_arg_ok("context", o->context) < 0))
		return -1;
	memset(p, 0, sizeof(*p));
	p->t = t;
	p->o = o;
	p->dry = dry;
	p->job = o->conf->agent_job;
	sbuf_init(&p->resolve);
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return ctl_fail("getrandom: %s", strerror(errno));
	hex_encode(rnd, sizeof(rnd), p->id);
	snprintf(p->agent, sizeof(p->agent), "mirror-agent-%s", p->id);
	p->port = o->conf->agent_port > 0 ? o->conf->agent_port :
	    KUBE_PORT_MIN + (int)(((unsigned)rnd[0] << 8 | rnd[1]) %
	    KUBE_PORT_SPAN);
	sha256_hex(token, strlen(token), p->hash);
	if (dry) {
		snprintf(p->node, sizeof(p->node), "${NODE}");
		snprintf(p->cid, sizeof(p->cid), "${CONTAINER_ID}");
	}
	return 0;
}

int
kube_dry_run(const struct target *t, const char *target,
    const struct kube_opts *o, const char *token)
{
	struct kube_plan p;
	struct argv_buf a;
	struct sbuf b, m;

	if (kube_plan_init(&p, t, o, token, 1) < 0)
		return -1;
	if (kube_resolve(&p) < 0) {
		sbuf_free(&p.resolve);
		return -1;
	}
	snprintf(p.agent_pod, sizeof(p.agent_pod), "%s", p.job ?
	    "${AGENT_POD}" : p.pod);
	sbuf_init(&m);
	if (p.job)
		kube_job_manifest(&p, &m);
	else
		kube_ephemeral_manifest(&p, &m);

	sbuf_init(&b);
	sbuf_printf(&b, "{\n  \"target\": ");
	sbuf_json_str(&b, target);
	sbuf_printf(&b, ",\n  \"context\": ");
	if (o->context)
		sbuf_json_str(&b, o->context);
	else
		sbuf_printf(&b, "null");
	sbuf_printf(&b, ",\n  \"namespace\": ");
	if (o->ns)
		sbuf_json_str(&b, o->ns);
	else
		sbuf_printf(&b, "null");
	sbuf_printf(&b, ",\n  \"mode\": \"%s\",\n  \"session\": \"%s\",\n"
	    "  \"agent\": \"%s\",\n  \"image\": ", p.job ? "job" :
	    "ephemeral", p.id, p.agent);
	sbuf_json_str(&b, o->conf->agent_image);
	sbuf_printf(&b, ",\n  \"agent_port\": %d,\n  \"idle_ttl\": %g,\n"
	    "  \"token_sha256\": \"%s\",\n  \"pod\": ", p.port,
	    o->conf->agent_idle_ttl, p.hash);
	sbuf_json_str(&b, p.pod);
	sbuf_printf(&b, ",\n  \"container\": ");
	sbuf_json_str(&b, p.container);
	sbuf_printf(&b, ",\n  \"resolve\": [%s\n  ],\n  \"apply\": {\n"
	    "    \"argv\": ", p.resolve.len ? p.resolve.s : "");
	kube_apply_argv(&p, m.s, &a);
	sbuf_json_argv(&b, (const char *const *)a.v);
	argv_free(&a);
	sbuf_printf(&b, ",\n    \"stdin\": %s,\n    \"manifest\": %s\n  },\n"
	    "  \"wait\": ", p.job ? "\"manifest\"" : "null", m.s);
	kube_wait_argv(&p, &a);
	sbuf_json_argv(&b, (const char *const *)a.v);
	argv_free(&a);
	sbuf_printf(&b, ",\n  \"port_forward\": ");
	kube_pf_argv(&p, 0, &a);
	sbuf_json_argv(&b, (const char *const *)a.v);
	argv_free(&a);
	sbuf_printf(&b, ",\n  \"cleanup\": [");
	if (p.job) {
		kube_cleanup_argv(&p, &a);
		sbuf_printf(&b, "\n    ");
		sbuf_json_argv(&b, (const char *const *)a.v);
		argv_free(&a);
		sbuf_printf(&b, "\n  ");
	}
	sbuf_printf(&b, "]\n}\n");
	fputs(b.s, stdout);
	sbuf_free(&b);
	sbuf_free(&m);
	sbuf_free(&p.resolve);
	return 0;
}

/* Saves the cleanup command in the session: NUL-separated words. */
static int
kube_save_cleanup(const struct kube_plan *p, const struct session *s)
{
	struct argv_buf a;
	FILE *f;
	int i;

	if ((f = fopen(session_file(s, "cleanup"), "w")) == NULL)
		return -errno;
	kube_cleanup_argv(p, &a);
	for (i = 0; i < a.n; i++)
		fwrite(a.v[i], 1, strlen(a.v[i]) + 1, f);
	argv_free(&a);
	return fclose(f) == 0 ? 0 : -errno;
}

void
kube_cleanup(const struct session *s)
{
	char buf[8192], *argv[64];
	struct run_result r;
	size_t n, off = 0;
	int argc = 0;
	FILE *f;

	if ((f = fopen(session_file(s, "cleanup"), "r")) == NULL)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (off < n && argc < 63) {
		argv[argc++] = buf + off;
		off += strlen(buf + off) + 1;
	}
	argv[argc] = NULL;
	if (argc == 0)
		return;
	if (run_capture((const char *const *)argv, NULL, KUBE_RUN_MS, &r) != 0)
		ctl_warn("could not delete the agent (%s): %s; "
		    "delete it with: kubectl delete jobs -l "
		    "app.kubernetes.io/managed-by=mirrorctl", argc > 5 ?
		    argv[argc - 4] : "job", r.err);
	run_result_free(&r);
}

/* The progress step of a state the agent's container is in: while the
 * kubelet creates it (which is when it pulls the image) "pulling image",
 * then "waiting for ready". */
static void
kube_wait_step(const struct kube_plan *p, const char *state)
{
	const char *where = p->job ? (p->agent_pod[0] ? p->agent_pod :
	    p->agent) : p->pod;

	if (state[0] == '\0' || strstr(state, "ContainerCreating") ||
	    strstr(state, "Pending"))
		progress_step("pulling image %s (pod/%s)",
		    p->o->conf->agent_image, where);
	else
		progress_step("waiting for ready (pod/%s: %s)", where, state);
}

/* Polls until the agent's container runs; fails fast on what will not
 * heal by itself. */
static int
kube_wait_agent(struct kube_plan *p)
{
	time_t deadline = time(NULL) + KUBE_START_S;
	char last[512] = "";
	struct argv_buf a;

	kube_wait_argv(p, &a);
	while (time(NULL) < deadline) {
		struct run_result r;
		char *sp, *state;

		if (run_capture((const char *const *)a.v, NULL, KUBE_RUN_MS,
		    &r) != 0) {
			kube_error(p, "watch the agent", &r);
			run_result_free(&r);
			argv_free(&a);
			return -1;
		}
		r.out.s[strcspn(r.out.s, "\n")] = '\0';
		sp = strchr(r.out.s, ' ');
		state = sp ? sp + 1 : "";
		if (sp && p->job) {
			*sp = '\0';
			snprintf(p->agent_pod, sizeof(p->agent_pod), "%s",
			    r.out.s);
		}
		if (strcmp(state, "running") == 0) {
			progress_step("waiting for ready (pod/%s: running)",
			    p->job ? p->agent_pod : p->pod);
			run_result_free(&r);
			argv_free(&a);
			return 0;
		}
		if (strncmp(state, "terminated", 10) == 0 ||
		    strstr(state, "ErrImagePull") ||
		    strstr(state, "ImagePullBackOff") ||
		    strstr(state, "InvalidImageName") ||
		    strstr(state, "CreateContainer")) {
			if (strncmp(state, "terminated", 10) == 0)
				ctl_fail("the agent in pod/%s stopped: %s "
				    "(see: kubectl logs pod/%s -c %s)",
				    p->job ? p->agent_pod : p->pod, state + 10,
				    p->job ? p->agent_pod : p->pod,
				    p->job ? "mirror-agent" : p->agent);
			else
				ctl_fail("the agent's container cannot start: "
				    "%s (agent.image is %s: build it with "
				    "scripts/agent-image.sh and push it where "
				    "the cluster pulls from)", state,
				    p->o->conf->agent_image);
			run_result_free(&r);
			argv_free(&a);
			return -1;
		}
		if (strcmp(state, last) != 0) {
			kube_wait_step(p, state);
			snprintf(last, sizeof(last), "%s", state);
		}
		run_result_free(&r);
		usleep(KUBE_POLL_MS * 1000);
	}
	argv_free(&a);
	return ctl_fail("the agent did not start within %d s (last state: "
	    "%s)", KUBE_START_S, last[0] ? last : "unknown");
}

/* The keeper of "kubectl port-forward" to the agent (kube-forward.c). */
static int
kube_port_forward(const struct kube_plan *p, struct session *s)
{
	struct argv_buf a;
	int local = kube_free_port(), rc;

	if (local < 0)
		return ctl_fail("no free local port for port-forward");
	kube_pf_argv(p, local, &a);
	rc = kube_forward_start(a.v, local, p->agent_pod, s);
	argv_free(&a);
	return rc;
}

int
kube_start(const struct target *t, const struct kube_opts *o,
    const char *token, struct session *s)
{
	struct kube_plan p;
	struct run_result r;
	struct argv_buf a;
	struct sbuf m;
	int rc = -1;

	if (kube_plan_init(&p, t, o, token, 0) < 0)
		return -1;
	progress_begin();
	progress_step("resolving target %s/%s", t->resource, t->name);
	if (kube_resolve(&p) < 0)
		goto out;
	progress_step("creating agent (%s %s for pod/%s, container %s)",
	    p.job ? "job" : "ephemeral container", p.agent, p.pod,
	    p.container);
	sbuf_init(&m);
	if (p.job)
		kube_job_manifest(&p, &m);
	else
		kube_ephemeral_manifest(&p, &m);
	kube_apply_argv(&p, m.s, &a);
	if (p.job && kube_save_cleanup(&p, s) < 0)
		ctl_warn("cannot record the job for umount");
	if (run_capture((const char *const *)a.v, p.job ? m.s : NULL,
	    KUBE_RUN_MS, &r) != 0) {
		kube_error(&p, p.job ? "create the agent's job" :
		    "add the agent's ephemeral container", &r);
		run_result_free(&r);
		argv_free(&a);
		sbuf_free(&m);
		goto out;
	}
	run_result_free(&r);
	argv_free(&a);
	sbuf_free(&m);
	snprintf(p.agent_pod, sizeof(p.agent_pod), "%s", p.pod);
	progress_step("pulling image %s (pod/%s)", o->conf->agent_image,
	    p.job ? p.agent : p.pod);
	if (kube_wait_agent(&p) < 0)
		goto out;
	progress_step("port-forward to pod/%s:%d", p.agent_pod, p.port);
	if (kube_port_forward(&p, s) < 0)
		goto out;
	if (o->mounting)
		progress_step("mounting pod/%s on %s", p.pod, s->mountpoint);
	else
		progress_end("agent ready (pod/%s, through %s)", p.agent_pod,
		    s->url);
	rc = 0;
out:
	if (rc < 0 && p.job)
		kube_cleanup(s);
	sbuf_free(&p.resolve);
	return rc;
}
