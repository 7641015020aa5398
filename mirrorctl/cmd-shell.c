/*
 * mirrorctl shell and mirrorctl exec: a command (the user's shell by
 * default) in the target's context (issue 12). This file is the parent's
 * side: it finds or makes the target's mount, asks the agent what the
 * target is (ctx.h), starts the keeper that cleans up (shell-keeper.c),
 * forks the child that builds the namespaces (shell-ns.c), gives it its
 * network (ctx_net_start) and waits for it as system() does: SIGINT and
 * SIGQUIT ignored here, the terminal left to the shell, its exit status
 * passed on (128+N for a signal).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctx.h"
#include "../netd/layer-ctl.h"
#include "mirrorctl.h"
#include "progress.h"
#include "mount.h"
#include "mountinfo.h"
#include "shell.h"
#include "statedir.h"
#include "xmalloc.h"

extern char **environ;

static int cmd_shell_exec(int, char **);
static int cmd_exec_exec(int, char **);

#define SHELL_OPTIONS_HELP \
"  --rw               the target's files writable (a mount of the target\n" \
"                     made without --rw is not reused then)\n" \
"  --token-file FILE  as for mount (ws:// agents need it)\n" \
"  --fingerprint HEX  as for mount (wss:// agents need it)\n" \
"  -n, --namespace NS, --context CTX   Kubernetes targets\n" \
"  -q, --quiet        no progress while a Kubernetes agent starts\n" \
"  --config FILE      configuration (fs.remote: more paths to place)\n" \
"  --steal            the pod's incoming connections to each port a\n" \
"                     program here listens on come here instead\n" \
"                     (incoming.ports, ignore_ports and port_mapping\n" \
"                     choose; the pod's own program gets them again\n" \
"                     when the listener, the shell or the agent goes)\n" \
"  --mirror           a copy of them while the pod's own program keeps\n" \
"                     answering (what the program here answers is\n" \
"                     dropped; a copy that falls behind is dropped, the\n" \
"                     pod is never slowed; the pod's program sees the\n" \
"                     agent's connection from its own address)\n" \
"  --no-incoming      leave the pod's incoming traffic alone (default:\n" \
"                     incoming.mode, \"mirror\")\n" \
"  --http-filter-header REGEX, --http-filter-path REGEX   steal only the\n" \
"                     HTTP requests with a matching header line (\"name:\n" \
"                     value\", the name in lower case) or request target\n" \
"                     (both: all of them); the others stay with the pod\n" \
"                     (implies --steal; instead of incoming.http_filter)\n"

const struct cmd_entry cmd_shell_entry = {
	.name = "shell",
	.usage = "shell [--rw] [--chroot] [--steal|--mirror|--no-incoming] "
	    "[--http-filter-header RE] [--http-filter-path RE] "
	    "[--token-file FILE] "
	    "[--fingerprint HEX] [-n NAMESPACE] [--context CTX] TARGET "
	    "[-- CMD ARGS...]",
	.summary = "Run a shell (or CMD) with the target's files, hostname, "
	    "environment and network.",
	.help =
"Needs root (run it with sudo); the shell runs as the user behind sudo,\n"
"with their groups, HOME and working directory, in namespaces of its own:\n"
"  files    the target's root at $MIRROR_ROOT; its /var/run/secrets,\n"
"           /run/secrets, volume mount points (ConfigMaps, Secrets, the\n"
"           service-account token, PVCs) and fs.remote placed over the\n"
"           same local paths; /etc/hosts and /etc/hostname the target's,\n"
"           /etc/resolv.conf the shell's DNS. /proc, /sys, /dev and the\n"
"           home stay local. Nothing outside the shell changes.\n"
"  host     the target's hostname\n"
"  env      the target's environment merged with yours (mirrorctl env)\n"
"  network  its own: traffic leaves from the target (mirror-netd)\n"
"The mount of the target is reused when \"mirrorctl mount\" made one;\n"
"else the shell mounts it and unmounts it when its last shell exits, as\n"
"it does when mirrorctl is killed. Exit status: the command's (128+N\n"
"after signal N). No new privileges in the shell (sudo does not work\n"
"there).\n"
"\n"
"Options:\n"
"  --chroot           the target's root is /: its own /bin/sh, libraries\n"
"                     and tools; /proc, /sys, /dev local, your home at\n"
"                     $MIRROR_LOCAL (/mirror-local)\n"
SHELL_OPTIONS_HELP
"\n"
"Examples:\n"
"  sudo mirrorctl shell demo\n"
"  sudo mirrorctl shell demo -- cat /var/run/secrets/kubernetes.io/serviceaccount/token\n"
"  sudo mirrorctl shell --chroot demo -- cat /etc/os-release\n",
	.exec = cmd_shell_exec,
};

const struct cmd_entry cmd_exec_entry = {
	.name = "exec",
	.usage = "exec [--rw] [--steal|--mirror|--no-incoming] "
	    "[--http-filter-header RE] [--http-filter-path RE] "
	    "[--token-file FILE] [--fingerprint HEX] "
	    "[-n NAMESPACE] [--context CTX] TARGET -- CMD ARGS...",
	.summary = "Run one command in the target's context, plus the "
	    "LD_PRELOAD layer's path rules.",
	.help =
"The context of \"mirrorctl shell\" (see its --help) for CMD, with the\n"
"layer (fs.mode, fs.mapping, ...) preloaded. What an IDE's launch\n"
"configuration runs. Needs root (sudo); CMD runs as the user behind it.\n"
"With --steal the layer also reports each TCP listen() at once (it\n"
"returns once the pod's port is subscribed), and a bind() to a port\n"
"taken in the shell gets another, the pod's traffic and getsockname()\n"
"still the asked one.\n"
"\n"
"Options:\n"
SHELL_OPTIONS_HELP
"\n"
"Example:\n"
"  sudo mirrorctl exec demo -- python3 app.py\n",
	.exec = cmd_exec_exec,
};

struct shell_args {
	int		 exec;		/* mirrorctl exec */
	int		 rw, chroot;
	int		 incoming;	/* CONF_IN_*; -1: incoming.mode */
	/* netd's --http-filter-* options and values, NULL-terminated */
	const char	*filter[CTX_NET_FILTER_ARGS + 1];
	int		 nfilter;
	const char	*config, *token_file, *fingerprint, *target;
	struct kube_opts ko;
	char		*const *cmd;	/* NULL: the user's shell */
};

static int
parse_args(int argc, char **argv, struct shell_args *a)
{
	static const struct option opts[] = {
		{ "rw", no_argument, NULL, 'w' },
		{ "chroot", no_argument, NULL, 'R' },
		{ "config", required_argument, NULL, 'c' },
		{ "token-file", required_argument, NULL, 't' },
		{ "fingerprint", required_argument, NULL, 'F' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "context", required_argument, NULL, 'C' },
		{ "steal", no_argument, NULL, 'S' },
		{ "mirror", no_argument, NULL, 'M' },
		{ "no-incoming", no_argument, NULL, 'O' },
		{ "http-filter-header", required_argument, NULL, 'H' },
		{ "http-filter-path", required_argument, NULL, 'P' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const struct cmd_entry *e = a->exec ? &cmd_exec_entry :
	    &cmd_shell_entry;
	int ch, i, nopt = argc;

	/* What follows "--" is the command's; options may come before or
	 * after TARGET. */
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			nopt = i;
			if (i + 1 >= argc)
				goto usage;
			a->cmd = argv + i + 1;
			break;
		}
	optind = 1;
	a->incoming = -1;
	while ((ch = getopt_long(nopt, argv, "hn:q", opts, NULL)) != -1) {
		switch (ch) {
		case 'w': a->rw = 1; break;
		case 'R':
			if (a->exec)
				goto usage;
			a->chroot = 1;
			break;
		case 'c': a->config = optarg; break;
		case 't': a->token_file = optarg; break;
		case 'F': a->fingerprint = optarg; break;
		case 'n': a->ko.ns = optarg; break;
		case 'q': progress_set_quiet(1); break;
		case 'C': a->ko.context = optarg; break;
		case 'S': a->incoming = CONF_IN_STEAL; break;
		case 'M': a->incoming = CONF_IN_MIRROR; break;
		case 'O': a->incoming = CONF_IN_OFF; break;
		case 'H':
		case 'P':
			if (a->nfilter + 2 > CTX_NET_FILTER_ARGS)
				goto usage;
			a->filter[a->nfilter++] = ch == 'H' ?
			    "--http-filter-header" : "--http-filter-path";
			a->filter[a->nfilter++] = optarg;
			break;
		case 'h': ctl_usage(e); return 1;
		default: goto usage;
		}
	}
	if (optind != nopt - 1)
		goto usage;
	if (a->nfilter > 0) {
		/* A filter implies steal; it means nothing otherwise. */
		if (a->incoming >= 0 && a->incoming != CONF_IN_STEAL)
			return ctl_fail("--http-filter-* needs --steal");
		a->incoming = CONF_IN_STEAL;
	}
	a->target = argv[optind];
	if (a->exec && a->cmd == NULL)
		goto usage;
	return 0;
usage:
	return ctl_fail("usage: mirrorctl %s", e->usage);
}

/* The user the command runs as: the one behind sudo, or the caller. */
static int
shell_user(struct shell_spec *sp)
{
	struct passwd *pw;
	const char *v;
	int n = SHELL_GROUPS_MAX;

	sp->uid = conf_invoking_uid();
	pw = getpwuid(sp->uid);
	if (sp->uid != getuid()) {
		uid_t gid;

		if (pw == NULL)
			return ctl_fail("SUDO_UID %u: no such user",
			    (unsigned)sp->uid);
		sp->gid = pw->pw_gid;
		if (conf_parse_uid(getenv("SUDO_GID"), &gid) == 0)
			sp->gid = (gid_t)gid;
		if (getgrouplist(pw->pw_name, sp->gid, sp->groups, &n) < 0)
			return ctl_fail("%s is in more than %d groups",
			    pw->pw_name, SHELL_GROUPS_MAX);
		sp->ngroups = n;
		snprintf(sp->home, sizeof(sp->home), "%s", pw->pw_dir);
		snprintf(sp->shell, sizeof(sp->shell), "%s", pw->pw_shell);
	} else {
		sp->gid = getgid();
		if ((n = getgroups(SHELL_GROUPS_MAX, sp->groups)) < 0)
			return ctl_fail("getgroups: %s", strerror(errno));
		sp->ngroups = n;
		v = getenv("HOME");
		snprintf(sp->home, sizeof(sp->home), "%s", v && v[0] == '/' ?
		    v : pw ? pw->pw_dir : "/");
		v = getenv("SHELL");
		snprintf(sp->shell, sizeof(sp->shell), "%s", v && v[0] == '/' ?
		    v : pw && pw->pw_shell[0] ? pw->pw_shell : "/bin/sh");
	}
	if (sp->shell[0] == '\0')
		snprintf(sp->shell, sizeof(sp->shell), "/bin/sh");
	if (getcwd(sp->cwd, sizeof(sp->cwd)) == NULL)
		snprintf(sp->cwd, sizeof(sp->cwd), "%s", sp->home);
	return 0;
}

/* A mount of the target that "mirrorctl mount" or another shell made,
 * alive and of the same mode: 0 and *s, or -ENOENT. */
static int
find_mount(const char *target, int rw, struct session *s)
{
	struct session *all;
	struct mountinfo mi;
	size_t n, i;
	int rc = -ENOENT;

	session_list(&all, &n);
	for (i = 0; i < n; i++)
		if (!all[i].net && strcmp(all[i].target, target) == 0 &&
		    all[i].rw == rw && all[i].mountd_pid > 0 &&
		    mountinfo_find(all[i].mountpoint, &mi) == 0) {
			*s = all[i];
			rc = 0;
			break;
		}
	x_free(all);
	return rc;
}

/* The paths placed from the target: the defaults, its volumes, and
 * fs.remote. */
static void
shell_paths(struct shell_spec *sp, const struct ctx_info *ci,
    const struct mirror_conf *conf)
{
	static const char *const defaults[] = { "/var/run/secrets",
	    "/run/secrets", NULL };
	int i;

	sp->npaths = 0;
	for (i = 0; defaults[i] && sp->npaths < SHELL_PATHS_MAX; i++)
		sp->paths[sp->npaths++] = defaults[i];
	for (i = 0; ci->volumes && ci->volumes[i] &&
	    sp->npaths < SHELL_PATHS_MAX; i++) {
		const char *v = ci->volumes[i];

		/* Placed on their own: the shell's resolv.conf, the
		 * target's hosts and hostname files. */
		if (strcmp(v, "/etc/resolv.conf") == 0 ||
		    strcmp(v, "/etc/hosts") == 0 ||
		    strcmp(v, "/etc/hostname") == 0)
			continue;
		sp->paths[sp->npaths++] = v;
	}
	for (i = 0; i < conf->fs_nremote && sp->npaths < SHELL_PATHS_MAX; i++)
		sp->paths[sp->npaths++] = conf->fs_remote[i];
}

/* The target's name for a prompt: printable, no quotes or escapes. */
static void
prompt_name(const char *target, char *buf, size_t sz)
{
	size_t i;

	for (i = 0; target[i] && i < sz - 1; i++)
		buf[i] = strchr("\\$`'\"%!", target[i]) || target[i] < 0x21 ||
		    target[i] > 0x7e ? '_' : target[i];
	buf[i] = '\0';
}

static char **
shell_env(const struct shell_args *a, const struct shell_spec *sp,
    char **envp)
{
	char name[128], prompt[256];
	struct passwd *pw;

	prompt_name(a->target, name, sizeof(name));
	envp = shell_env_put(envp, "MIRROR_TARGET", a->target);
	if (sp->uid != getuid() && (pw = getpwuid(sp->uid)) != NULL) {
		envp = shell_env_put(envp, "USER", pw->pw_name);
		envp = shell_env_put(envp, "LOGNAME", pw->pw_name);
		envp = shell_env_put(envp, "SHELL", sp->shell);
	}
	snprintf(prompt, sizeof(prompt), "(mirror:%s) \\w \\$ ", name);
	envp = shell_env_put(envp, "PS1", prompt);
	snprintf(prompt, sizeof(prompt), "(mirror:%s) %%~ %%# ", name);
	envp = shell_env_put(envp, "PROMPT", prompt);
	return envp;
}

/* Adds the layer's variables (exec). 0 or -1. */
static int
layer_env(const struct shell_spec *sp, const struct mirror_conf *conf,
    const char *root, char ***envp)
{
	char **add = NULL, *v;
	size_t i;

	/* The rules file goes into this shell's scratch directory; the
	 * child copies it where the user can read it (shell-ns.c). */
	if (ctx_layer_env(conf, root, sp->scratch, &add) < 0)
		return -1;
	for (i = 0; add && add[i]; i++) {
		if ((v = strchr(add[i], '=')) == NULL)
			continue;
		*v = '\0';
		*envp = shell_env_put(*envp, add[i], v + 1);
		*v = '=';
	}
	ctx_layer_env_free(add);
	return 0;
}

static unsigned long long
netns_inode(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	return stat(path, &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

/* Forks the child, gives it its network, waits for it. The exit status
 * to return. */
static int
run_child(struct session *s, struct shell_spec *sp, struct session_shell *sh,
    const char *config, int incoming, const char *const *filter)
{
	int c2p[2] = { -1, -1 }, p2c[2] = { -1, -1 }, status, rc = 1;
	struct sigaction ign, oint, oquit;
	struct ctx_net cn;
	char line[SESSION_PLACED_MAX + 8];
	pid_t pid;

	memset(&cn, 0, sizeof(cn));
	if (pipe2(c2p, O_CLOEXEC) < 0 || pipe2(p2c, O_CLOEXEC) < 0) {
		ctl_fail("pipe: %s", strerror(errno));
		goto out;
	}
	sp->to_parent = c2p[1];
	sp->from_parent = p2c[0];
	sp->parent = getpid();
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0) {
		ctl_fail("fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		close(c2p[0]);
		close(p2c[1]);
		shell_ns_child(sp);
	}
	close(c2p[1]);
	close(p2c[0]);
	c2p[1] = p2c[0] = -1;
	sh->child = pid;
	/* Ctrl-C and Ctrl-\ are the command's; like system(). */
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(SIGINT, &ign, &oint);
	sigaction(SIGQUIT, &ign, &oquit);
	if (shell_read_line(c2p[0], line, sizeof(line)) < 0 ||
	    strcmp(line, "U") != 0)
		goto wait;	/* it said why */
	sh->netns = netns_inode(pid);
	session_shell_save(s, sh);
	if (ctx_net_start(s, pid, config, incoming, filter, &cn) < 0) {
		kill(pid, SIGKILL);
		goto wait;
	}
	sh->netd_pid = cn.netd_pid;
	session_shell_save(s, sh);
	dprintf(p2c[1], "%s\n", cn.resolv_conf);
	close(p2c[1]);
	p2c[1] = -1;
	if (shell_read_line(c2p[0], line, sizeof(line)) == 0 && line[0] == 'P') {
		snprintf(sh->placed, sizeof(sh->placed), "%.*s",
		    (int)sizeof(sh->placed) - 1, line + 1);
		session_shell_save(s, sh);
	}
wait:
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			status = 1 << 8;
			break;
		}
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGQUIT, &oquit, NULL);
	if (WIFEXITED(status))
		rc = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		rc = 128 + WTERMSIG(status);
out:
	if (c2p[0] >= 0)
		close(c2p[0]);
	if (c2p[1] >= 0)
		close(c2p[1]);
	if (p2c[0] >= 0)
		close(p2c[0]);
	if (p2c[1] >= 0)
		close(p2c[1]);
	return rc;
}

static int
shell_main(struct shell_args *a)
{
	struct mirror_conf conf;
	struct shell_spec *sp;
	struct session s;
	struct session_shell sh;
	struct ctx_info ci;
	struct target t;
	struct mount_opts mo;
	char **envp = NULL, root[PATH_MAX];
	int lockfd, kp[2], rc = 1, status;
	pid_t keeper;

	if (target_parse(a->target, &t) < 0)
		return 1;
	if ((a->ko.ns || a->ko.context) && t.kind != TARGET_KUBE)
		return ctl_fail("%s: -n and --context are for Kubernetes "
		    "targets", a->target);
	if (geteuid() != 0)
		return ctl_fail("mirrorctl %s needs root: it creates "
		    "namespaces, mounts and a TUN device (run it with sudo)",
		    a->exec ? "exec" : "shell");
	conf_defaults(&conf);
	if (conf_load(&conf, a->config) < 0)
		return 1;
	if (conf.fs_rw)
		a->rw = 1;
	a->ko.conf = &conf;
	a->ko.rw = a->rw;
	sp = xcalloc(1, sizeof(*sp));
	memset(&ci, 0, sizeof(ci));
	sp->target = a->target;
	sp->chroot = a->chroot;
	sp->rw = a->rw;
	sp->argv = a->cmd;
	if (shell_user(sp) < 0)
		goto out_free;

	/* Find or make the mount, and count this shell on it, under the
	 * lock that keepers unmount under. */
	if ((lockfd = shell_lock()) < 0)
		goto out_free;
	if (find_mount(a->target, a->rw, &s) < 0) {
		memset(&mo, 0, sizeof(mo));
		mo.token_file = a->token_file;
		mo.fingerprint = a->fingerprint;
		mo.config = a->config;
		mo.conf = &conf;
		mo.ko = &a->ko;
		mo.rw = a->rw;
		mo.quiet = 1;
		if (ctl_mount_check(&t, a->target) < 0 ||
		    ctl_mount_target(&t, a->target, NULL, &mo, &s) < 0) {
			shell_unlock(lockfd);
			goto out_free;
		}
	}
	sp->fuse_root = s.mountpoint;
	snprintf(sp->scratch, sizeof(sp->scratch), "%.4000s/ns-%d", s.dir,
	    (int)getpid());
	if (mkdir(sp->scratch, 0700) < 0) {
		ctl_fail("cannot create %s: %s", sp->scratch,
		    strerror(errno));
		shell_unlock(lockfd);
		goto out_free;
	}
	if (pipe2(kp, O_CLOEXEC) < 0 ||
	    (keeper = shell_keeper_start(&s, kp[0], lockfd,
	    sp->scratch)) < 0) {
		rmdir(sp->scratch);
		shell_unlock(lockfd);
		goto out_free;
	}
	close(kp[0]);
	memset(&sh, 0, sizeof(sh));
	sh.keeper = keeper;
	sh.ctl = getpid();
	sh.uid = sp->uid;
	sh.chroot = a->chroot;
	session_shell_save(&s, &sh);
	shell_unlock(lockfd);

	if (ctx_info_fetch(&s, &ci) < 0 ||
	    ctx_env_merge(&ci, environ, &conf, &envp) < 0)
		goto done;
	sp->hostname = ci.hostname;
	shell_paths(sp, &ci, &conf);
	sp->local = &conf.fs_local;
	envp = shell_env(a, sp, envp);
	shell_root_path(sp, root);
	if (a->exec && layer_env(sp, &conf, root, &envp) < 0)
		goto done;
	/* The layer reports listen() to netd at once (netd/layer-ctl.h). */
	if (a->exec && (a->incoming < 0 ? conf.incoming_mode : a->incoming) !=
	    CONF_IN_OFF)
		envp = shell_env_put(envp, LAYER_CTL_ENV, LAYER_CTL_NAME);
	sp->envp = envp;
	rc = run_child(&s, sp, &sh, a->config, a->incoming,
	    a->nfilter > 0 ? a->filter : NULL);
done:
	/* The keeper cleans up once it sees EOF; the exit waits for it, so
	 * nothing of the shell remains when mirrorctl returns. */
	close(kp[1]);
	while (waitpid(keeper, &status, 0) < 0 && errno == EINTR)
		;
	ctx_env_free(envp);
	ctx_info_free(&ci);
out_free:
	x_free(sp);
	return rc;
}

static int
cmd_shell_exec(int argc, char **argv)
{
	struct shell_args a;
	int rc;

	memset(&a, 0, sizeof(a));
	if ((rc = parse_args(argc, argv, &a)) != 0)
		return rc < 0 ? 1 : 0;
	return shell_main(&a);
}

static int
cmd_exec_exec(int argc, char **argv)
{
	struct shell_args a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.exec = 1;
	if ((rc = parse_args(argc, argv, &a)) != 0)
		return rc < 0 ? 1 : 0;
	return shell_main(&a);
}
