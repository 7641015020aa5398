/*
 * mirrorctl mount: resolves a TARGET to an agent (starting one for a
 * local process or the demo pod), then starts mirror-mountd on the
 * mount point and records the session. ctl_mount_target is that, for
 * mount and for a shell that needs a mount of its own (mount.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "agent.h"
#include "demo.h"
#include "mount.h"
#include "mountinfo.h"
#include "mirrorctl.h"
#include "progress.h"
#include "session.h"
#include "statedir.h"
#include "target.h"
#include "proto.h"
#include "token.h"
#include "xmalloc.h"

static int cmd_mount_exec(int, char **);

const struct cmd_entry cmd_mount_entry = {
	.name = "mount",
	.usage = "mount [--token-file FILE] [--fingerprint HEX] [--rw] [-f] "
	    "[-n NAMESPACE] "
	    "[--context CTX] [--dry-run] [-q] TARGET MOUNTPOINT",
	.summary = "Mount a target's root file system (read-only unless --rw).",
	.help =
"TARGET is one of (\"mirrorctl ls\" lists them):\n"
"  ws://HOST:PORT     an agent that is already running (needs --token-file)\n"
"  wss://HOST:PORT    the same over TLS (mirror-agent --tls; needs\n"
"                     --fingerprint too)\n"
"  pid/N              a local process: mirrorctl starts an agent for it and\n"
"                     stops it on umount (needs root)\n"
"  podman/NAME        a local podman or docker container (also one in a\n"
"  docker/NAME        pod): its PID comes from \"podman inspect\" or\n"
"                     \"docker inspect\", then as pid/N (needs root)\n"
"  pod/NAME           a Kubernetes pod (its default container), or one\n"
"  pod/NAME/container/C  container of it\n"
"  deployment/NAME    one ready pod of a deployment or statefulset\n"
"  statefulset/NAME\n"
"                     For Kubernetes, kubectl must reach the cluster:\n"
"                     the agent starts next to the pod (agent.mode in the\n"
"                     config: an ephemeral container, or a job pod on its\n"
"                     node), is reached through kubectl port-forward, and\n"
"                     exits by itself after agent.idle_ttl without a client.\n"
"  demo               the bundled demo pod (started if it is not running)\n"
"\n"
"Options:\n"
"  --token-file FILE  the session token: of a running agent (ws://), or\n"
"                     the one to give a Kubernetes agent (default: a new\n"
"                     random one); never put in argv or the cluster\n"
"  --fingerprint HEX  wss://: the sha256= on the agent's ready line; the\n"
"                     agent's certificate must have it\n"
"  --rw               writable: edits land in the target (also fs.mode =\n"
"                     \"rw\" in the config); a ws:// agent must have been\n"
"                     started with --rw\n"
"  -n, --namespace NS Kubernetes namespace (default: kubectl's current)\n"
"  --context CTX      kubectl context (default: the current one)\n"
"  --dry-run          Kubernetes: print as JSON the kubectl commands and\n"
"                     manifests the mount would run and apply, and stop;\n"
"                     contacts nothing (values only the cluster knows show\n"
"                     as ${POD}, ${NODE}, ...); MOUNTPOINT may be left out\n"
"  -f, --foreground   stay in the foreground; Ctrl-C unmounts\n"
"  -q, --quiet        Kubernetes: no progress (resolving target, creating\n"
"                     agent, pulling image, waiting for ready,\n"
"                     port-forward, mounted; one updating line on a\n"
"                     terminal, a line each otherwise)\n"
"  --config FILE      configuration over the layers (mirrorctl config)\n"
"\n"
"Examples:\n"
"  mirrorctl mount demo /mnt/pod && ls /mnt/pod\n"
"  mirrorctl mount pid/1234 /mnt/app\n"
"  mirrorctl mount podman/py-serv-py-serv /mnt/app\n"
"  mirrorctl mount -n shop deployment/orders /mnt/orders\n"
"  mirrorctl mount --dry-run pod/web-0/container/app\n"
"  mirrorctl mount --token-file tok ws://127.0.0.1:7000 /mnt/remote\n"
"Unmount with: mirrorctl umount MOUNTPOINT\n"
"The mount serves root and the user who made it (under sudo, the user\n"
"behind it); other local users get \"Permission denied\" unless listed in\n"
"fs.allow_users in the config.\n",
	.exec = cmd_mount_exec,
};

static volatile sig_atomic_t fg_signal;

static void
on_fg_signal(int sig)
{
	fg_signal = sig;
}

/* Runs mirror-mountd; in the background unless fg. */
static int
run_mountd(struct session *s, const char *token_file, const char *config,
    int rw, int fg)
{
	char *mountd = ctl_program_path("mirror-mountd");
	char *logf = xstrdup(session_file(s, "mountd.log"));
	char *pidf = xstrdup(session_file(s, "mountd.pid"));
	const char *argv[22];
	char owner[16];
	int argc = 0, status, rc;
	pid_t pid;
	FILE *f;

	argv[argc++] = mountd;
	argv[argc++] = "--token-file";
	argv[argc++] = token_file;
	argv[argc++] = "--log-file";
	argv[argc++] = logf;
	argv[argc++] = "--pid-file";
	argv[argc++] = pidf;
	argv[argc++] = "--log-level";
	argv[argc++] = "warn";
	if (config) {
		argv[argc++] = "--config";
		argv[argc++] = config;
	}
	if (fg)
		argv[argc++] = "-f";
	if (rw)
		argv[argc++] = "--rw";
	/* The mount is the invoking user's (and root's): under sudo, the
	 * user behind it. fs.allow_users reaches mountd with the config. */
	snprintf(owner, sizeof(owner), "%u", (unsigned)conf_invoking_uid());
	argv[argc++] = "--owner-uid";
	argv[argc++] = owner;
	if (s->fingerprint[0]) {
		argv[argc++] = "--fingerprint";
		argv[argc++] = s->fingerprint;
	}
	argv[argc++] = s->url;
	argv[argc++] = s->mountpoint;
	argv[argc] = NULL;

	if ((pid = fork()) < 0) {
		rc = -errno;
		goto out;
	}
	if (pid == 0) {
		if (fg)
			setpgid(0, 0);	/* Ctrl-C reaches us; we pass it on */
		execv(mountd, (char **)argv);
		fprintf(stderr, "mirrorctl: cannot run %s: %s\n", mountd,
		    strerror(errno));
		_exit(127);
	}
	if (fg) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_fg_signal;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		s->mountd_pid = pid;
		session_save(s);
		progress_end("mounted %s on %s", s->target, s->mountpoint);
		printf("mounted %s on %s (agent %s%s); Ctrl-C unmounts\n",
		    s->target, s->mountpoint, s->url, rw ? ", read-write" : "");
		fflush(stdout);
		while (waitpid(pid, &status, 0) < 0) {
			if (errno != EINTR)
				break;
			if (fg_signal)
				kill(pid, SIGTERM);
		}
		rc = 0;
		goto out;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		rc = -EIO;	/* mountd printed why */
		goto out;
	}
	if ((f = fopen(pidf, "r")) != NULL) {
		int p = 0;

		if (fscanf(f, "%d", &p) == 1)
			s->mountd_pid = p;
		fclose(f);
	}
	rc = 0;
out:
	x_free(logf);
	x_free(pidf);
	x_free(mountd);
	return rc;
}

static int
cmd_mount_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "token-file", required_argument, NULL, 't' },
		{ "fingerprint", required_argument, NULL, 'F' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "config", required_argument, NULL, 'c' },
		{ "rw", no_argument, NULL, 'w' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "context", required_argument, NULL, 'C' },
		{ "dry-run", no_argument, NULL, 'D' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct mirror_conf conf;
	struct mountinfo mi;
	struct session s;
	struct target t;
	struct kube_opts ko;
	struct mount_opts mo;
	const char *token_file = NULL, *config = NULL, *target, *mp;
	const char *fingerprint = NULL;
	char token[PROTO_TOKEN_MAX + 1], abs[PATH_MAX];
	struct stat st;
	int ch, fg = 0, rw = 0, dry = 0, ret;

	memset(&ko, 0, sizeof(ko));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "fhn:q", opts, NULL)) != -1) {
		switch (ch) {
		case 't': token_file = optarg; break;
		case 'F': fingerprint = optarg; break;
		case 'f': fg = 1; break;
		case 'c': config = optarg; break;
		case 'w': rw = 1; break;
		case 'n': ko.ns = optarg; break;
		case 'C': ko.context = optarg; break;
		case 'D': dry = 1; break;
		case 'q': progress_set_quiet(1); break;
		case 'h': ctl_usage(&cmd_mount_entry); return 0;
		default:
			return ctl_fail("usage: mirrorctl %s",
			    cmd_mount_entry.usage);
		}
	}
	if (argc - optind != 2 && !(dry && argc - optind == 1))
		return ctl_fail("usage: mirrorctl %s", cmd_mount_entry.usage);
	target = argv[optind];
	mp = argv[optind + 1];
	if (target_parse(target, &t) < 0)
		return 1;
	if ((ko.ns || ko.context) && t.kind != TARGET_KUBE)
		return ctl_fail("%s: -n and --context are for Kubernetes "
		    "targets (pod/..., deployment/..., statefulset/...)",
		    target);
	conf_defaults(&conf);
	if (conf_load(&conf, config) < 0)
		return 1;
	if (conf.fs_rw)
		rw = 1;
	ko.conf = &conf;
	ko.rw = rw;
	ko.mounting = 1;
	if (dry) {
		if (t.kind != TARGET_KUBE)
			return ctl_fail("%s: --dry-run shows what a mount "
			    "would apply to a Kubernetes cluster; this target "
			    "is local", target);
		if (ctl_agent_token(token_file, token, sizeof(token)) < 0)
			return 1;
		ret = kube_dry_run(&t, target, &ko, token);
		explicit_bzero(token, sizeof(token));
		return ret;
	}

	if (ctl_mount_check(&t, target) < 0)
		return 1;
	if (stat(mp, &st) < 0)
		return ctl_fail("mount point %s: %s (create it with: "
		    "mkdir -p %s)", mp, strerror(errno), mp);
	if (!S_ISDIR(st.st_mode))
		return ctl_fail("mount point %s is not a directory", mp);
	if (session_abspath(mp, abs) < 0 || realpath(mp, abs) == NULL)
		return ctl_fail("mount point %s: %s", mp, strerror(errno));
	if (mountinfo_find(abs, &mi) == 0)
		return ctl_fail("%s is already a mount point (busy); unmount "
		    "it first: mirrorctl umount %s", abs, abs);

	mo.token_file = token_file;
	mo.fingerprint = fingerprint;
	mo.config = config;
	mo.conf = &conf;
	mo.ko = &ko;
	mo.rw = rw;
	mo.fg = fg;
	if (ctl_mount_target(&t, target, abs, &mo, &s) < 0)
		return 1;
	if (fg)
		return 0;
	progress_end("mounted %s on %s", target, abs);
	printf("mounted %s on %s%s\n", target, abs, rw ? " (read-write)" : "");
	return 0;
}

int
ctl_mount_check(const struct target *t, const char *target)
{
	if (ctl_agent_local_check(t, target) < 0)
		return -1;
	if (access("/dev/fuse", F_OK) != 0)
		return ctl_fail("no /dev/fuse: load the fuse module "
		    "(modprobe fuse) or give the container --device /dev/fuse");
	return 0;
}

int
ctl_mount_target(const struct target *t, const char *target, const char *mp,
    const struct mount_opts *mo, struct session *s)
{
	pid_t pid = 0;
	int rc;

	/* A shell's output is its command's: the demo pod starts quietly. */
	if (t->kind == TARGET_DEMO && mo->quiet) {
		if (demo_up(1, &pid) < 0)
			return -1;
	} else if (ctl_agent_check(t, target, mo->token_file, &pid) < 0)
		return -1;
	if ((rc = session_create(s)) < 0)
		return ctl_fail("cannot create session state in %s: %s",
		    state_dir("mirrorctl"), strerror(-rc));
	snprintf(s->target, sizeof(s->target), "%s", target);
	if (mp == NULL) {
		/* A shell's own mount: inside its session directory. */
		snprintf(s->mountpoint, sizeof(s->mountpoint), "%s",
		    session_file(s, "root"));
		if (mkdir(s->mountpoint, 0700) < 0) {
			ctl_fail("cannot create %s: %s", s->mountpoint,
			    strerror(errno));
			session_remove(s);
			return -1;
		}
		s->by_shell = 1;
	} else
		snprintf(s->mountpoint, sizeof(s->mountpoint), "%s", mp);
	s->rw = mo->rw;

	if (t->kind == TARGET_WS && ctl_agent_pin(s, mo->fingerprint) < 0)
		goto fail;
	if (ctl_agent_start(s, t, pid, mo->token_file, mo->config, mo->conf,
	    mo->ko, mo->rw) < 0)
		goto fail;

	if (run_mountd(s, s->token_file, mo->config, mo->rw, mo->fg) < 0)
		goto fail;
	if (mo->fg) {
		ctl_agent_stop(s);
		session_remove(s);
		return 0;
	}
	if ((rc = session_save(s)) < 0)
		ctl_warn("cannot save the session: %s",
		    strerror(-rc));
	return 0;
fail:
	ctl_agent_stop(s);
	if (s->by_shell)
		rmdir(s->mountpoint);
	session_remove(s);
	return -1;
}
