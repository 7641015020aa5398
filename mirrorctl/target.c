/* Parsing TARGET strings; local containers through podman and docker. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mirrorctl.h"
#include "procfs.h"
#include "run.h"
#include "target.h"
#include "xmalloc.h"

#define TARGET_FORMS "ws://HOST:PORT, wss://HOST:PORT, pid/N, podman/NAME, docker/NAME, " \
	"pod/NAME[/container/C], deployment/NAME, statefulset/NAME or demo"
#define INSPECT_MS	20000

static const char *kube_resources[] = { "pod", "deployment", "statefulset",
	NULL };

/* A name as the runtimes and Kubernetes allow it: no '/', no spaces. */
static int
name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n >= max)
		return 0;
	for (; *s; s++)
		if (*s == '/' || *s <= ' ' || *s == 0x7f)
			return 0;
	return 1;
}

int
target_arg_ok(const char *what, const char *s)
{
	/* No pod, namespace, context or container name starts with '-'
	 * (Kubernetes and the runtimes forbid it), so refusing loses
	 * nothing and keeps "--help" or "-oyaml" out of their argv. */
	if (s[0] != '-')
		return 0;
	return ctl_fail("%s \"%s\" starts with '-': not a name (kubectl, "
	    "podman and docker would take it for an option)", what, s);
}

int
target_is_kube(const char *s)
{
	size_t n;
	int i;

	for (i = 0; kube_resources[i]; i++) {
		n = strlen(kube_resources[i]);
		if (strncmp(s, kube_resources[i], n) == 0 && s[n] == '/')
			return 1;
	}
	return 0;
}

int
target_parse(const char *s, struct target *t)
{
	const char *slash;
	char *end;
	int i;

	memset(t, 0, sizeof(*t));
	if (strncmp(s, "ws://", 5) == 0 || strncmp(s, "wss://", 6) == 0) {
		t->kind = TARGET_WS;
		return 0;
	}
	if (strcmp(s, "demo") == 0) {
		t->kind = TARGET_DEMO;
		return 0;
	}
	if (strncmp(s, "pid/", 4) == 0) {
		t->kind = TARGET_PID;
		errno = 0;
		t->pid = (pid_t)strtol(s + 4, &end, 10);
		if (s[4] == '\0' || *end != '\0' || t->pid <= 0 || errno) {
			ctl_fail("%s: want pid/N with N a process id", s);
			return -1;
		}
		return 0;
	}
	if (strncmp(s, "podman/", 7) == 0 || strncmp(s, "docker/", 7) == 0) {
		t->kind = s[0] == 'p' ? TARGET_PODMAN : TARGET_DOCKER;
		if (!name_ok(s + 7, sizeof(t->name))) {
			ctl_fail("%s: want %.6s/NAME with NAME a container's "
			    "name or ID (see: mirrorctl ls)", s, s);
			return -1;
		}
		snprintf(t->name, sizeof(t->name), "%s", s + 7);
		return target_arg_ok(s[0] == 'p' ? "podman container" :
		    "docker container", t->name);
	}
	for (i = 0; kube_resources[i]; i++) {
		size_t n = strlen(kube_resources[i]);
		const char *name;

		if (strncmp(s, kube_resources[i], n) != 0 || s[n] != '/')
			continue;
		t->kind = TARGET_KUBE;
		snprintf(t->resource, sizeof(t->resource), "%s",
		    kube_resources[i]);
		name = s + n + 1;
		slash = strchr(name, '/');
		if (slash && i == 0 && strncmp(slash, "/container/", 11) == 0) {
			snprintf(t->name, sizeof(t->name), "%.*s",
			    (int)(slash - name), name);
			if (!name_ok(slash + 11, sizeof(t->container))) {
				ctl_fail("%s: want pod/NAME/container/C", s);
				return -1;
			}
			snprintf(t->container, sizeof(t->container), "%s",
			    slash + 11);
		} else if (slash == NULL && name_ok(name, sizeof(t->name)))
			snprintf(t->name, sizeof(t->name), "%s", name);
		else {
			ctl_fail("%s: want %s/NAME%s", s, kube_resources[i],
			    i == 0 ? " or pod/NAME/container/C" : "");
			return -1;
		}
		if (t->name[0] == '\0') {
			ctl_fail("%s: the %s's name is empty", s,
			    kube_resources[i]);
			return -1;
		}
		if (target_arg_ok(kube_resources[i], t->name) < 0 ||
		    (t->container[0] && target_arg_ok("container",
		    t->container) < 0))
			return -1;
		return 0;
	}
	ctl_fail("unknown target \"%s\" (want %s)", s, TARGET_FORMS);
	return -1;
}

const char *
target_runtime(const struct target *t)
{
	return t->kind == TARGET_DOCKER ? "docker" : "podman";
}

/*
 * True if process pid is in the cgroup of the container with this ID
 * (podman: libpod-ID, docker: docker-ID.scope or /docker/ID), so a PID
 * from an engine in a VM is never taken for a local process.
 */
static int
pid_in_container(int pid, const char *id)
{
	char path[64], full[PROCFS_CONTAINER_ID_MAX + 1], *text;
	int found;

	if (strlen(id) < 12)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	text = xmalloc(PROCFS_CGROUP_MAX);
	found = read_small_file(path, text, PROCFS_CGROUP_MAX) >= 0 &&
	    procfs_cgroup_names(text, id, full, sizeof(full));
	x_free(text);
	return found;
}

int
target_container_pid(const struct target *t, pid_t *pid)
{
	const char *rt = target_runtime(t);
	const char *argv[] = { rt, "inspect", "--type", "container",
		"--format", "{{.State.Pid}} {{.State.Status}} {{.Id}}", "--",
		t->name, NULL };
	struct run_result r;
	char status[64] = "", id[80] = "";
	int p = 0;

	if (!run_have(rt))
		return ctl_fail("%s/%s: %s is not installed (no %s in "
		    "PATH)", rt, t->name, rt, rt);
	if (run_capture(argv, NULL, INSPECT_MS, &r) != 0) {
		if (strstr(r.err, "no such") || strstr(r.err, "No such"))
			ctl_fail("%s/%s: %s has no container named %s (see: "
			    "mirrorctl ls)", rt, t->name, rt, t->name);
		else if (strstr(r.err, "Cannot connect") ||
		    strstr(r.err, "daemon"))
			ctl_fail("%s/%s: cannot reach the %s engine: %s", rt,
			    t->name, rt, r.err);
		else
			ctl_fail("%s/%s: %s inspect failed: %s", rt, t->name,
			    rt, r.err[0] ? r.err : "no reason given");
		run_result_free(&r);
		return -1;
	}
	if (sscanf(r.out.s, "%d %63s %79s", &p, status, id) < 1) {
		ctl_fail("%s/%s: %s inspect gave no PID (\"%.80s\")", rt,
		    t->name, rt, r.out.s);
		run_result_free(&r);
		return -1;
	}
	run_result_free(&r);
	if (p <= 0)
		return ctl_fail("%s/%s: the container is %s, not running "
		    "(start it: %s start %s)", rt, t->name,
		    status[0] ? status : "stopped", rt, t->name);
	if (!pid_in_container(p, id))
		return ctl_fail("%s/%s: process %d, which %s reports, is not "
		    "that container's on this machine (an engine in a VM, "
		    "such as Docker Desktop's, runs containers out of reach)",
		    rt, t->name, p, rt);
	*pid = (pid_t)p;
	return 0;
}
