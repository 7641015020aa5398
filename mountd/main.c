/*
 * mirror-mountd: mounts a target's root, served by a mirror-agent, as a
 * local FUSE file system. Connects and authenticates first, then mounts,
 * then (without -f) detaches; errors before that reach the caller's
 * terminal and exit status.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentconn.h"
#include "client.h"
#include "conf.h"
#include "daemon.h"
#include "guard.h"
#include "inval.h"
#include "log.h"
#include "startup.h"
#include "mountinfo.h"
#include "nodes.h"
#include "ops.h"
#include "xmalloc.h"

#define PROG	"mirror-mountd"
/* libfuse's worker threads kept waiting for requests: replies are sent
 * later from the transport thread, so a few carry hundreds in flight. */
#define FUSE_IDLE_THREADS_MAX	8

static void
usage(FILE *f)
{
	fprintf(f,
"usage: mirror-mountd --token-file FILE [options] ws://HOST:PORT MOUNTPOINT\n"
"       mirror-mountd --token-file FILE --fingerprint HEX [options]\n"
"                     wss://HOST:PORT MOUNTPOINT\n"
"\n"
"Mounts the root served by a mirror-agent on MOUNTPOINT (read-only unless\n"
"--rw).\n"
"Usually started by \"mirrorctl mount\"; it can also run by hand.\n"
"Without -f it returns once the mount is up and keeps serving it in the\n"
"background; unmount with \"mirrorctl umount\" or \"fusermount3 -u\".\n"
"\n"
"  --token-file FILE   the agent's session token\n"
"  --fingerprint HEX   wss:// only: the SHA-256 of the agent's certificate\n"
"                      (its ready line's sha256=); any other is refused\n"
"  --config FILE       configuration (default: the installed mirror.conf)\n"
"  -f, --foreground    stay in the foreground\n"
"  --rw                writable (also fs.mode = \"rw\"); the agent must\n"
"                      have been started with --rw\n"
"  --owner-uid UID     the user the mount serves besides root and\n"
"                      fs.allow_users (default: SUDO_UID under sudo, else\n"
"                      the caller); everyone else gets EACCES\n"
"  --log-file FILE     log here once detached (default: nowhere)\n"
"  --pid-file FILE     write the daemon's PID here\n"
"  --log-level LEVEL   error, warn, info or debug\n"
"  -h, --help          this help\n");
}

static void __attribute__((format(printf, 2, 3)))
log_at(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

static void
fuse_log_to_ours(enum fuse_log_level level, const char *fmt, va_list ap)
{
	int l = level <= FUSE_LOG_ERR ? LOG_LVL_WARN :
	    level <= FUSE_LOG_NOTICE ? LOG_LVL_INFO : LOG_LVL_DEBUG;
	char buf[512];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (l <= log_get_level())
		log_at(l, "libfuse: %s", buf);
}

/* Raises the mount's readahead window (the kernel starts at 128 KiB).
 * The device comes from mountinfo: a stat() of the mount would wait for
 * the FUSE loop, which is not running yet. */
static void
set_readahead(const char *mnt, int kb)
{
	struct mountinfo mi;
	char path[128], val[32];
	int fd;

	if (kb <= 0 || mountinfo_find(mnt, &mi) < 0)
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb",
	    mi.major, mi.minor);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
		log_debug("cannot open %s: %s", path, strerror(errno));
		return;
	}
	snprintf(val, sizeof(val), "%d", kb);
	if (write(fd, val, strlen(val)) < 0)
		log_debug("cannot set %s: %s", path, strerror(errno));
	close(fd);
}

/* The users the mount serves: root, the owner, fs.allow_users. A root
 * mount needs allow_other for the owner to reach it, so the guard is
 * all that keeps other users out. */
/* The mount's users (guard.h); returns the owner's uid. */
static uid_t
set_users(const struct mirror_conf *conf, const char *owner)
{
	uid_t uid = conf_invoking_uid();
	int i, rc;

	if (owner != NULL && conf_parse_uid(owner, &uid) < 0)
		fatalx("--owner-uid must be a numeric uid, not \"%s\"", owner);
	if (getuid() != 0 && uid != getuid())
		fatalx("--owner-uid %u: only a root mountd serves another "
		    "user", (unsigned)uid);
	guard_init(uid);
	if (getuid() != 0 && conf->fs_nallow_users > 0)
		log_warnx("fs.allow_users is ignored: only a root mountd "
		    "serves other users");
	for (i = 0; i < conf->fs_nallow_users; i++) {
		if ((rc = guard_allow_user(conf->fs_allow_users[i])) < 0)
			fatalx("fs.allow_users: \"%s\": %s",
			    conf->fs_allow_users[i], rc == -ENOENT ?
			    "no such user" : rc == -ENOSPC ? "too many users" :
			    "not a user name or uid");
	}
	log_debug("serving root, uid %u and %d more", (unsigned)uid,
	    conf->fs_nallow_users);
	return uid;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "token-file", required_argument, NULL, 't' },
		{ "fingerprint", required_argument, NULL, 'F' },
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "rw", no_argument, NULL, 'w' },
		{ "owner-uid", required_argument, NULL, 'o' },
		{ "log-file", required_argument, NULL, 'l' },
		{ "pid-file", required_argument, NULL, 'p' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct mirror_conf conf;
	struct ops_config oc;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se = NULL;
	struct fuse_loop_config lc;
	struct client *cl = NULL;
	const char *token_file = NULL, *config = NULL, *log_file = NULL;
	const char *pid_file = NULL, *level = NULL, *owner = NULL, *url;
	const char *fingerprint = NULL;
	struct agentconn ac;
	char mnt[PATH_MAX], msg[PATH_MAX + 160];
	char *opt, *inval_status = NULL;
	struct stat st;
	int ch, fg = 0, rw = 0, rc, wfd = -1, ret = DAEMON_EXIT_FAIL, private;

	log_init("mirror-mountd", LOG_LVL_INFO);
	while ((ch = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (ch) {
		case 't': token_file = optarg; break;
		case 'F': fingerprint = optarg; break;
		case 'c': config = optarg; break;
		case 'f': fg = 1; break;
		case 'w': rw = 1; break;
		case 'o': owner = optarg; break;
		case 'l': log_file = optarg; break;
		case 'p': pid_file = optarg; break;
		case 'L': level = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return DAEMON_EXIT_USAGE;
		}
	}
	if (argc - optind != 2 || token_file == NULL) {
		usage(stderr);
		return DAEMON_EXIT_USAGE;
	}
	url = argv[optind];
	if (daemon_configure(&conf, config, level) < 0)
		return DAEMON_EXIT_FAIL;
	if (conf.fs_rw)
		rw = 1;
	/* A mount only the user mountd runs as may use: the kernel itself
	 * keeps everyone else out, even of what it has cached. */
	private = set_users(&conf, owner) == getuid() &&
	    (getuid() != 0 || conf.fs_nallow_users == 0);
	agentconn_init(&ac, PROG, url, fingerprint, token_file, &conf);
	if (realpath(argv[optind + 1], mnt) == NULL)
		fatalx("mount point %s does not exist: create it with "
		    "mkdir -p %s", argv[optind + 1], argv[optind + 1]);
	if (stat(mnt, &st) < 0 || !S_ISDIR(st.st_mode))
		fatalx("mount point %s is not a directory", mnt);
	if (access("/dev/fuse", R_OK | W_OK) != 0)
		fatalx("cannot use /dev/fuse: %s (load the fuse module, or "
		    "run in a container with --device /dev/fuse)",
		    strerror(errno));

	if (!fg)
		wfd = daemon_detach(PROG, "mount daemon", log_file);
	snprintf(msg, sizeof(msg), "the agent at %s serves read-only: start "
	    "mirror-agent with --rw, or mount without --rw", url);
	ac.caps = rw ? CAP_WRITE : 0;
	ac.caps_missing = msg;
	/* The agent's change events (pushed invalidation). */
	ac.on_stream = inval_on_stream;
	ac.on_link = inval_on_link;
	if ((ret = agentconn_start(&ac, wfd, &cl)) != 0)
		goto out;
	ret = DAEMON_EXIT_FAIL;

	memset(&oc, 0, sizeof(oc));
	oc.client = cl;
	oc.attr_timeout = conf.fs_attr_timeout;
	oc.entry_timeout = conf.fs_entry_timeout;
	oc.negative_timeout = conf.fs_negative_timeout;
	/* What the kernel answers from its caches never reaches the guard:
	 * on a mount open to other users (allow_other) names and attributes
	 * are kept only the short timeouts, so a refused user sees no more
	 * of them than the guard documents. */
	oc.watched_timeout = private ? conf.fs_watched_timeout : 0;
	oc.max_read_kb = conf.fs_max_read_kb;
	oc.readahead_kb = conf.fs_readahead_kb;
	oc.rw = rw;
	oc.write_behind_kb = conf.fs_write_behind_kb;

	fuse_set_log_func(fuse_log_to_ours);
	fuse_opt_add_arg(&args, "mirror-mountd");
	xasprintf(&opt, "-o%s,default_permissions,fsname=mirror:%s,"
	    "subtype=mirror%s", rw ? "rw" : "ro", url,
	    private ? "" : ",allow_other");
	fuse_opt_add_arg(&args, opt);
	x_free(opt);
	/* libfuse's own trace of every request, for debugging (-f). */
	if (getenv("MIRROR_FUSE_DEBUG") != NULL)
		fuse_opt_add_arg(&args, "-odebug");
	se = fuse_session_new(&args, guard_table(ops_table(&oc)),
	    sizeof(struct fuse_lowlevel_ops), NULL);
	if (se == NULL) {
		ret = startup_fail(wfd, PROG, DAEMON_EXIT_FAIL,
		    "cannot create the FUSE session");
		goto out;
	}
	if (fuse_session_mount(se, mnt) != 0) {
		ret = startup_fail(wfd, PROG, DAEMON_EXIT_MOUNT, "cannot mount "
		    "on %s (is it busy, or already a mount? try: mirrorctl "
		    "umount %s)", mnt, mnt);
		goto out_session;
	}
	set_readahead(mnt, conf.fs_readahead_kb);
	if (pid_file != NULL) {
		/* Next to the pid file: mirrorctl status reads it. */
		size_t l = strlen(pid_file);

		if (l > 4 && strcmp(pid_file + l - 4, ".pid") == 0)
			xasprintf(&inval_status, "%.*s.inval", (int)(l - 4),
			    pid_file);
		else
			xasprintf(&inval_status, "%s.inval", pid_file);
	}
	nodes_set_max((unsigned long)conf.fs_max_nodes, inval_evict_ask);
	inval_start(se, cl, inval_status);
	if (fuse_set_signal_handlers(se) != 0) {
		ret = startup_fail(wfd, PROG, DAEMON_EXIT_FAIL,
		    "cannot install signal handlers");
		goto out_unmount;
	}
	daemon_pidfile_write(pid_file);
	log_info("mounted %s on %s", url, mnt);
	daemon_ready(wfd, PROG, log_file, "");

	memset(&lc, 0, sizeof(lc));
	lc.clone_fd = 0;
	lc.max_idle_threads = FUSE_IDLE_THREADS_MAX;
	rc = fuse_session_loop_mt(se, &lc);
	ret = rc == 0 ? DAEMON_EXIT_OK : DAEMON_EXIT_FAIL;
	log_info("unmounting %s", mnt);
	fuse_remove_signal_handlers(se);
out_unmount:
	fuse_session_unmount(se);
out_session:
	inval_stop();
	/* Everything still waiting is answered while the session exists. */
	ops_stop();
	client_stop(cl);
	fuse_session_destroy(se);
out:
	if (cl != NULL) {
		client_stop(cl);
		client_free(cl);
	}
	fuse_opt_free_args(&args);
	x_free(inval_status);
	daemon_pidfile_remove(pid_file);
	return ret;
}
