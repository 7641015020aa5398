/*
 * Getting an agent for a TARGET, shared by mount and connect: ws:// is
 * an agent already running; pid/N, demo, podman/NAME and docker/NAME get
 * a local agent that mirrorctl starts; Kubernetes targets one that
 * kube.c starts next to the pod.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "demo.h"
#include "mirrorctl.h"
#include "tlscert.h"
#include "token.h"
#include "xmalloc.h"

/* How long the agent and kubectl port-forward get to exit on SIGTERM. */
#define AGENT_STOP_MS		3000
/* How often the ready line is looked for while the agent starts. */
#define AGENT_READY_POLL_MS	100

/* Starts mirror-agent for a process; waits for its "ready" line. */
static int
start_agent(struct session *s, pid_t target, const char *config, int rw,
    double wait_s, double idle_ttl)
{
	char *agent = ctl_program_path("mirror-agent"), pidarg[32], line[400];
	char ttl[32];
	const char *argv[14];
	struct pollfd pfd;
	size_t len = 0;
	int out[2], logfd, argc = 0, rc = -ETIMEDOUT;
	double waited = 0;
	pid_t pid;

	snprintf(pidarg, sizeof(pidarg), "%d", (int)target);
	argv[argc++] = agent;
	argv[argc++] = "--listen";
	argv[argc++] = "127.0.0.1:0";
	argv[argc++] = "--token-file";
	argv[argc++] = xstrdup(session_file(s, "token"));
	argv[argc++] = "--target-pid";
	argv[argc++] = pidarg;
	/* As a cluster's agent (kube.c): one whose mount died without an
	 * umount does not run on for ever. */
	snprintf(ttl, sizeof(ttl), "%g", idle_ttl);
	argv[argc++] = "--idle-ttl";
	argv[argc++] = ttl;
	if (rw)
		argv[argc++] = "--rw";
	if (config) {
		argv[argc++] = "--config";
		argv[argc++] = config;
	}
	argv[argc] = NULL;
	if (pipe2(out, O_CLOEXEC) < 0)
		return -errno;
	logfd = open(session_file(s, "agent.log"), O_WRONLY | O_CREAT |
	    O_APPEND | O_CLOEXEC, 0600);
	if ((pid = fork()) < 0) {
		rc = -errno;
		goto out;
	}
	if (pid == 0) {
		int nfd = open("/dev/null", O_RDONLY);

		setsid();
		dup2(nfd, 0);
		dup2(out[1], 1);
		if (logfd >= 0)
			dup2(logfd, 2);
		execv(agent, (char **)argv);
		fprintf(stderr, "cannot run %s: %s\n", agent, strerror(errno));
		_exit(127);
	}
	close(out[1]);
	out[1] = -1;
	s->agent_pid = pid;
	pfd.fd = out[0];
	pfd.events = POLLIN;
	while (waited < wait_s) {
		ssize_t n;
		char *nl;

		if (poll(&pfd, 1, AGENT_READY_POLL_MS) == 0) {
			waited += AGENT_READY_POLL_MS / 1000.0;
			continue;
		}
		n = read(out[0], line + len, sizeof(line) - 1 - len);
		if (n <= 0) {
			rc = -ECHILD;	/* it exited: the log says why */
			break;
		}
		len += (size_t)n;
		line[len] = '\0';
		if ((nl = strchr(line, '\n')) != NULL) {
			*nl = '\0';
			if (strncmp(line, "ready ", 6) == 0) {
				rc = ctl_agent_ready_line(s, line + 6);
			} else
				rc = -EPROTO;
			break;
		}
		if (len == sizeof(line) - 1) {
			rc = -EPROTO;
			break;
		}
	}
out:
	close(out[0]);
	if (out[1] >= 0)
		close(out[1]);
	if (logfd >= 0)
		close(logfd);
	if (rc < 0 && s->agent_pid > 0) {
		session_stop_pid(s->agent_pid, 1000);
		s->agent_pid = 0;
	}
	x_free((char *)argv[4]);
	x_free(agent);
	return rc;
}

int
ctl_agent_ready_line(struct session *s, const char *rest)
{
	uint8_t fp[TLSCERT_FP_LEN];
	const char *sha;
	size_t n = strcspn(rest, " ");

	if (n == 0 || n >= sizeof(s->url))
		return -EPROTO;
	memcpy(s->url, rest, n);
	s->url[n] = '\0';
	s->fingerprint[0] = '\0';
	/* "ready wss://HOST:PORT sha256=HEX": later words may be added */
	if ((sha = strstr(rest + n, " sha256=")) != NULL) {
		snprintf(s->fingerprint, sizeof(s->fingerprint), "%.*s",
		    (int)strcspn(sha + 8, " "), sha + 8);
		/* Quietly: the caller says the agent did not start. */
		if (strncmp(s->url, "wss://", 6) != 0 ||
		    tlscert_fp_parse(s->fingerprint, fp) < 0)
			return -EPROTO;
		tlscert_fp_hex(fp, s->fingerprint);
	}
	return 0;
}

int
ctl_agent_pin(struct session *s, const char *fingerprint)
{
	uint8_t fp[TLSCERT_FP_LEN];
	int tls = strncmp(s->url[0] ? s->url : s->target, "wss://", 6) == 0;

	if (fingerprint == NULL && tls)
		return ctl_fail("%s: a wss:// agent needs --fingerprint HEX "
		    "(the sha256= of its ready line)", s->target);
	if (fingerprint == NULL)
		return 0;
	if (!tls)
		return ctl_fail("--fingerprint is for wss:// agents only");
	if (tlscert_fp_parse(fingerprint, fp) < 0)
		return ctl_fail("--fingerprint wants the 64 hex digits of a "
		    "SHA-256, got \"%s\"", fingerprint);
	tlscert_fp_hex(fp, s->fingerprint);
	return 0;
}

/* The last line the agent logged, to explain why it did not start. */
static void
print_agent_log(const struct session *s)
{
	char line[512], last[512] = "";
	FILE *f = fopen(session_file(s, "agent.log"), "r");

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		if (line[0] != '\n')
			snprintf(last, sizeof(last), "%s", line);
	fclose(f);
	if (last[0])
		fprintf(stderr, "mirrorctl: %s", last);
}

int
ctl_agent_token(const char *token_file, char *token, size_t size)
{
	int rc;

	if (token_file == NULL)
		return token_generate(token, size) < 0 ? ctl_fail("cannot "
		    "generate a token") : 0;
	if ((rc = token_read_file(token_file, token, size)) < 0)
		return ctl_fail("cannot read the token file %s: %s",
		    token_file, token_strerror(rc));
	return 0;
}


int
ctl_agent_check(const struct target *t, const char *target,
    const char *token_file, pid_t *pid)
{
	char proc[32], token[PROTO_TOKEN_MAX + 1];
	int rc;

	*pid = 0;
	switch (t->kind) {
	case TARGET_WS:
		if (token_file == NULL)
			return ctl_fail("%s: an agent that is already "
			    "running needs --token-file FILE (the token it was "
			    "started with)", target);
		/* Read it here too: a refused file (a link, group-readable)
		 * gets its reason on the terminal, not in mountd's log. */
		rc = ctl_agent_token(token_file, token, sizeof(token));
		explicit_bzero(token, sizeof(token));
		return rc;
	case TARGET_PID:
		*pid = t->pid;
		snprintf(proc, sizeof(proc), "/proc/%d", (int)t->pid);
		if (access(proc, F_OK) != 0)
			return ctl_fail("target process %d is gone (no %s); "
			    "pick a running PID", (int)t->pid, proc);
		return 0;
	case TARGET_DEMO:
		return demo_up(0, pid) < 0 ? -1 : 0;
	case TARGET_PODMAN:
	case TARGET_DOCKER:
		return target_container_pid(t, pid) < 0 ? -1 : 0;
	case TARGET_KUBE:
		return 0;
	}
	return -1;
}

int
ctl_agent_local_check(const struct target *t, const char *target)
{
	if (geteuid() == 0 || t->kind == TARGET_WS || t->kind == TARGET_KUBE)
		return 0;
	if (t->kind == TARGET_DEMO)
		return ctl_fail("%s needs root: the demo pod is made of "
		    "namespaces and a network link (run with sudo)", target);
	return ctl_fail("%s needs root: its agent reads a process of "
	    "another user, its root, environment and network namespace "
	    "(run with sudo)", target);
}

int
ctl_agent_start(struct session *s, const struct target *t, pid_t pid,
    const char *token_file, const char *config,
    const struct mirror_conf *conf, const struct kube_opts *ko, int rw)
{
	char token[PROTO_TOKEN_MAX + 1];
	int rc;

	if (t->kind == TARGET_WS) {
		/* s->fingerprint: set by the caller (ctl_agent_pin) */
		snprintf(s->url, sizeof(s->url), "%s", s->target);
		snprintf(s->token_file, sizeof(s->token_file), "%s",
		    token_file);
		return 0;
	}
	if (ctl_agent_token(t->kind == TARGET_KUBE ? token_file : NULL,
	    token, sizeof(token)) < 0)
		return -1;
	if (token_write_file(session_file(s, "token"), token) < 0) {
		explicit_bzero(token, sizeof(token));
		return ctl_fail("cannot write a session token in %s",
		    s->dir);
	}
	snprintf(s->token_file, sizeof(s->token_file), "%s",
	    session_file(s, "token"));
	if (t->kind == TARGET_KUBE) {
		rc = kube_start(t, ko, token, s);
		explicit_bzero(token, sizeof(token));
		/* Saved now, so umount finds the port-forward even if what
		 * comes next fails. */
		session_save(s);
		return rc < 0 ? -1 : 0;
	}
	explicit_bzero(token, sizeof(token));
	rc = start_agent(s, pid, config, rw, conf->agent_connect_timeout,
	    conf->agent_idle_ttl);
	if (rc < 0) {
		ctl_fail("the agent for %s did not start%s", s->target,
		    rc == -ETIMEDOUT ? " in time" : "");
		print_agent_log(s);
		return -1;
	}
	return 0;
}

void
ctl_agent_stop(struct session *s)
{
	session_stop_proc(s->agent_pid, s->agent_start, AGENT_STOP_MS);
	session_stop_proc(s->pf_pid, s->pf_start, AGENT_STOP_MS);
	kube_cleanup(s);
}
