/*
 * mirrorctl port-forward: local ports to hosts the target reaches
 * (issue 13's -L), as kubectl port-forward and mirrord port-forward do,
 * and the target's ports to services here (-R, through the agent's
 * steal: its connections come to this machine while it runs).
 * This side checks the specs and binds the local ports first, so that a
 * typo or a taken port is said before any agent starts; then it borrows
 * or starts the target's agent (ctx-agent.c, as env and shell do), runs
 * mirror-forward (tools/, the data path: mirrorctl links no transport)
 * with the listening sockets inherited, waits for it and passes SIGINT,
 * SIGTERM and SIGHUP on, and releases the agent when it is done.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf.h"
#include "ctx.h"
#include "forward-spec.h"
#include "kube.h"
#include "mirrorctl.h"
#include "progress.h"
#include "run.h"
#include "session.h"
#include "xmalloc.h"

#define FORWARD_HELPER	"mirror-forward"
#define PORTFWD_MAX	64

static int cmd_portfwd_exec(int, char **);

const struct cmd_entry cmd_portfwd_entry = {
	.name = "port-forward",
	.usage = "port-forward [--token-file FILE] [--fingerprint HEX] "
	    "[-n NAMESPACE] [--context CTX] [--config FILE] TARGET "
	    "-L [LADDR:]LPORT:HOST:RPORT | -R [ADDR:]RPORT:LHOST:LPORT ...",
	.summary = "Forward local ports to the target's reach, and back.",
	.help =
"Each -L listens on LADDR:LPORT here and, for every connection accepted\n"
"there, has the target's agent open a TCP connection from the target's\n"
"network namespace to HOST:RPORT: the pod's own ports (HOST 127.0.0.1 or\n"
"localhost), its services and anything else only the pod reaches.\n"
"Prints one line per forward once it listens, then runs until Ctrl-C\n"
"(or SIGTERM), which closes the ports and resets open connections.\n"
"TARGET is as for mirrorctl mount; an agent a mount or connect of the\n"
"same TARGET runs is used, else one is started for the command and\n"
"stopped after it (local targets need root).\n"
"\n"
"  -L [LADDR:]LPORT:HOST:RPORT\n"
"                       LADDR: 127.0.0.1 unless given (a numeric address,\n"
"                       localhost, or * for every address; IPv6 in\n"
"                       brackets); LPORT 0 picks a free port (the line\n"
"                       printed names it); HOST an address or a name the\n"
"                       target resolves (its DNS, search list and ndots);\n"
"                       HOST:RPORT alone listens on RPORT. Repeatable.\n"
"  -R [ADDR:]RPORT:LHOST:LPORT\n"
"                       the target's port RPORT, on every address of the\n"
"                       target (ADDR, if given, must say so: *, 0.0.0.0\n"
"                       or [::]), to LHOST:LPORT on this machine (LHOST a\n"
"                       numeric address or localhost): new connections\n"
"                       to it, from other pods or the pod itself, come\n"
"                       here instead of to its program, until Ctrl-C.\n"
"                       Repeatable, and mixed with -L.\n"
"  --token-file FILE    as for mirrorctl mount\n"
"  --fingerprint HEX    as for mirrorctl mount\n"
"  -n, --namespace NS   Kubernetes namespace\n"
"  --context CTX        kubectl context\n"
"  -q, --quiet          no progress while a Kubernetes agent starts\n"
"  --config FILE        configuration (default: the installed mirror.conf)\n"
"\n"
"Examples:\n"
"  sudo mirrorctl port-forward demo -L 8080:127.0.0.1:80\n"
"  mirrorctl port-forward -n shop deployment/orders -L 5432:db:5432 \\\n"
"      -L 6379:redis.cache.svc:6379\n"
"  mirrorctl port-forward deployment/orders -R 8080:127.0.0.1:3000\n",
	.exec = cmd_portfwd_exec,
};

static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
	got_signal = sig;
}

/* Binds every spec's local port; fds[i] the i-th's. 0 or -1. */
static int
bind_all(const struct fwd_spec *f, int n, int *fds)
{
	char at[FWDSPEC_STR_MAX + 8];
	int i;

	for (i = 0; i < n; i++) {
		if ((fds[i] = fwdspec_listen(&f[i])) >= 0)
			continue;
		fwdspec_local_str(&f[i].laddr, at, sizeof(at));
		return ctl_fail("cannot listen on %s: %s%s", at,
		    strerror(-fds[i]), fds[i] == -EADDRINUSE ?
		    " (the port is taken: choose another LPORT, or 0)" : "");
	}
	return 0;
}

/* The child: the listeners at fd 3, 4, ... and mirror-forward run. */
static void __attribute__((noreturn))
exec_forward(const char *path, char **argv, int *fds, int n)
{
	int i, tmp[PORTFWD_MAX];

	/* Above every target first, so that no dup2 closes one still to
	 * be moved. */
	for (i = 0; i < n; i++)
		if ((tmp[i] = fcntl(fds[i], F_DUPFD, 3 + n)) < 0)
			_exit(127);
	for (i = 0; i < n; i++)
		if (dup2(tmp[i], 3 + i) < 0 || close(tmp[i]) < 0)
			_exit(127);
	execv(path, argv);
	fprintf(stderr, "mirrorctl: cannot run %s: %s\n", path,
	    strerror(errno));
	_exit(127);
}

/* Runs mirror-forward and waits for it, passing our signals on. Its
 * exit status, or -1 after a printed error. */
static int
run_forward(const struct session *s, const char *config, char **specs,
    int *fds, int n, char **rspecs, int nr)
{
	struct sigaction sa, oint, oterm, ohup;
	struct argv_buf av;
	char *path = ctl_program_path(FORWARD_HELPER);
	int i, status = 0, rc;
	pid_t pid;

	if (access(path, X_OK) != 0) {
		x_free(path);
		path = xstrdup(MIRROR_PKGLIBEXECDIR "/" FORWARD_HELPER);
	}
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
	if (config != NULL) {
		argv_add(&av, "--config");
		argv_add(&av, config);
	}
	argv_add(&av, "--listen-fds");
	for (i = 0; i < n; i++) {
		argv_add(&av, "-L");
		argv_add(&av, specs[i]);
	}
	for (i = 0; i < nr; i++) {
		argv_add(&av, "-R");
		argv_add(&av, rspecs[i]);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, &oint);
	sigaction(SIGTERM, &sa, &oterm);
	sigaction(SIGHUP, &sa, &ohup);
	fflush(stdout);
	if ((pid = fork()) < 0) {
		rc = ctl_fail("fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		sigaction(SIGINT, &oint, NULL);
		sigaction(SIGTERM, &oterm, NULL);
		sigaction(SIGHUP, &ohup, NULL);
		exec_forward(path, av.v, fds, n);
	}
	/* Ours closed: once mirror-forward exits nobody holds the ports. */
	for (i = 0; i < n; i++) {
		close(fds[i]);
		fds[i] = -1;
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			status = 0;
			break;
		}
		if (got_signal)
			kill(pid, SIGTERM);
	}
	if (WIFEXITED(status))
		rc = WEXITSTATUS(status) == 127 ? -1 : WEXITSTATUS(status);
	else
		rc = ctl_fail("%s was killed by signal %d", FORWARD_HELPER,
		    WTERMSIG(status));
out:
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGTERM, &oterm, NULL);
	sigaction(SIGHUP, &ohup, NULL);
	argv_free(&av);
	x_free(path);
	return rc;
}

static int
cmd_portfwd_exec(int argc, char **argv)
{
	static const struct option opts[] = {
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
	const char *why, *target;
	struct ctx_agent ca = { NULL, 0 };
	struct fwd_spec *f = NULL;
	struct fwd_rspec r;
	struct mirror_conf conf;
	struct kube_opts ko;
	char *specs[PORTFWD_MAX], *rspecs[PORTFWD_MAX];
	int fds[PORTFWD_MAX];
	int ch, i, n = 0, nr = 0, ret = -1;

	memset(&ko, 0, sizeof(ko));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "hL:R:n:q", opts, NULL)) != -1) {
		switch (ch) {
		case 'L':
			if (n == PORTFWD_MAX)
				return ctl_fail("at most %d -L forwards",
				    PORTFWD_MAX);
			specs[n++] = optarg;
			break;
		case 'R':
			if (nr == PORTFWD_MAX)
				return ctl_fail("at most %d -R forwards",
				    PORTFWD_MAX);
			rspecs[nr++] = optarg;
			break;
		case 't': token_file = optarg; break;
		case 'F': fingerprint = optarg; break;
		case 'n': ko.ns = optarg; break;
		case 'q': progress_set_quiet(1); break;
		case 'C': ko.context = optarg; break;
		case 'c': config = optarg; break;
		case 'h': ctl_usage(&cmd_portfwd_entry); return 0;
		default:
			return ctl_fail("usage: mirrorctl %s",
			    cmd_portfwd_entry.usage);
		}
	}
	if (argc - optind != 1 || n + nr == 0)
		return ctl_fail("usage: mirrorctl %s", cmd_portfwd_entry.usage);
	target = argv[optind];
	f = xcalloc((size_t)n + 1, sizeof(*f));
	for (i = 0; i < n; i++)
		fds[i] = -1;
	for (i = 0; i < n; i++) {
		if (fwdspec_parse(specs[i], &f[i], &why) < 0) {
			ctl_fail("-L %s: %s", specs[i], why);
			goto out;
		}
	}
	for (i = 0; i < nr; i++) {
		if (fwdspec_parse_r(rspecs[i], &r, &why) < 0) {
			ctl_fail("-R %s: %s", rspecs[i], why);
			goto out;
		}
	}
	conf_defaults(&conf);
	if (conf_load(&conf, config) < 0)
		goto out;
	ko.conf = &conf;
	if (bind_all(f, n, fds) < 0)
		goto out;
	if (ctx_agent_get(&ca, target, token_file, fingerprint, config,
	    &conf, &ko) < 0)
		goto out;
	ret = run_forward(ca.s, config, specs, fds, n, rspecs, nr);
out:
	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	ctx_agent_release(&ca);
	x_free(f);
	return ret;
}
