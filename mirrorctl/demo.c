/*
 * The bundled demo pod: a busybox root filesystem, built on first use,
 * run as PID 1 of new mount, pid, net and uts namespaces with the seed
 * sample app's environment, an HTTP server on port 80 and a veth link
 * to the host. It is the target that needs no cluster.
 *
 * State lives in <state dir>/demo: "pid" holds the host PID of the pod's
 * init, "rootfs" its root ("rootfs.version" says which content it has),
 * "lock" serialises up, down and purge.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "xmalloc.h"
#include "mirrorctl.h"
#include "demo.h"

/*
 * Where the pod sits on the network: TEST-NET-3, never routed anywhere.
 * (Not TEST-NET-1: some VMs put their own uplink there.) "demo up"
 * refuses to start if this machine already uses any of it.
 */
#define DEMO_HOST_IFNAME	"mirror-demo0"
#define DEMO_POD_IFNAME		"eth0"
#define DEMO_NET		"203.0.113.0"
#define DEMO_HOST_ADDR		"203.0.113.1"
#define DEMO_POD_ADDR		"203.0.113.2"
#define DEMO_PREFIXLEN		24
#define DEMO_STR(x)		#x
#define DEMO_XSTR(x)		DEMO_STR(x)
#define DEMO_HOST_CIDR		DEMO_HOST_ADDR "/" DEMO_XSTR(DEMO_PREFIXLEN)
#define DEMO_POD_CIDR		DEMO_POD_ADDR "/" DEMO_XSTR(DEMO_PREFIXLEN)
#define DEMO_HTTP_PORT		80
#define DEMO_HOSTNAME		"py-serv"
#define DEMO_BUSYBOX		"/bin/busybox"
/* Bump when the rootfs's content changes: "demo up" rebuilds older ones. */
#define DEMO_ROOTFS_VERSION	"1"

/* The seed sample app's environment; the first also marks our pod. */
#define DEMO_ENV_FIRST		"MIRRORD_FAKE_VAR_FIRST=mirrord.is.running"
#define DEMO_ENV_SECOND		"MIRRORD_FAKE_VAR_SECOND=7777"

#define DEMO_READY_MS		5000	/* until httpd answers */
#define DEMO_STOP_MS		5000	/* after SIGTERM, before SIGKILL */
#define DEMO_KILL_MS		2000	/* after SIGKILL */
#define DEMO_DOCS		240	/* usr/share/demo/docs/NNN.txt */
#define DEMO_LARGE_SIZE		(1024 * 1024)
#define DEMO_ENVIRON_MAX	(64 * 1024)
#define DEMO_ERRTEXT_MAX	512

/*
 * PID 1 of the pod. sh is init: a trapped TERM interrupts "wait", and
 * every wait reaps whatever was reparented to it. Leaving takes the
 * rest of the pid namespace with it.
 */
#define DEMO_INIT_SCRIPT						\
	"trap 'kill $h $s 2>/dev/null; exit 0' TERM INT\n"		\
	"httpd -f -p " DEMO_XSTR(DEMO_HTTP_PORT) " -h /www & h=$!\n"	\
	"while :; do sleep 3600 & s=$!; wait $s; done\n"

struct demo_paths {
	char	*dir;		/* <state>/demo */
	char	*pidfile;
	char	*lockfile;
	char	*rootfs;
	char	*rootfs_tmp;	/* built here, renamed to rootfs when whole */
	char	*version;	/* DEMO_ROOTFS_VERSION of rootfs */
};

/* What the pod's start-up reports to mirrorctl over a pipe. */
enum demo_msg_kind { DEMO_MSG_PID = 1, DEMO_MSG_ERROR };
enum demo_step {
	DEMO_STEP_SETSID,
	DEMO_STEP_UNSHARE,
	DEMO_STEP_FORK,
	DEMO_STEP_PRIVATE,
	DEMO_STEP_HOSTNAME,
	DEMO_STEP_CHDIR,
	DEMO_STEP_DEV,
	DEMO_STEP_CHROOT,
	DEMO_STEP_PROC,
	DEMO_STEP_STDIO,
	DEMO_STEP_EXEC,
};
static const char *demo_step_names[] = {
	"setsid",
	"unshare(mount, pid, net, uts)",
	"fork",
	"making / private",
	"sethostname",
	"chdir into the rootfs",
	"mounting /dev",
	"chroot",
	"mounting /proc",
	"opening /dev/null",
	"exec /bin/sh",
};
struct demo_msg {
	int	kind;
	int	step;
	int	value;		/* a pid or an errno */
};

/* Prototypes of the two calls demo.h does not have yet (see cmd-demo.c). */
void	demo_print_status(pid_t);
int	demo_purge(int);

static int
demo_paths_init(struct demo_paths *p)
{
	const char *state;

	memset(p, 0, sizeof(*p));
	if ((state = ctl_state_dir()) == NULL)
		return -EACCES;
	xasprintf(&p->dir, "%s/demo", state);
	xasprintf(&p->pidfile, "%s/pid", p->dir);
	xasprintf(&p->lockfile, "%s/lock", p->dir);
	xasprintf(&p->rootfs, "%s/rootfs", p->dir);
	xasprintf(&p->rootfs_tmp, "%s/rootfs.tmp", p->dir);
	xasprintf(&p->version, "%s/rootfs.version", p->dir);
	return 0;
}

static void
demo_paths_free(struct demo_paths *p)
{
	x_free(p->dir);
	x_free(p->pidfile);
	x_free(p->lockfile);
	x_free(p->rootfs);
	x_free(p->rootfs_tmp);
	x_free(p->version);
}

static int
demo_need_root(void)
{
	if (geteuid() != 0) {
		ctl_error("the demo pod needs root (run with sudo)");
		return -EPERM;
	}
	return 0;
}

/* Takes the demo's lock; *fd is closed by the caller to release it. */
static int
demo_lock(struct demo_paths *p, int *fd)
{
	int error = 0;

	*fd = -1;
	if (mkdir(p->dir, 0700) == -1 && errno != EEXIST) {
		error = -errno;
		ctl_error("cannot create %s: %s", p->dir, strerror(errno));
		goto out;
	}
	if ((*fd = open(p->lockfile, O_RDWR|O_CREAT|O_CLOEXEC, 0600)) == -1) {
		error = -errno;
		ctl_error("cannot open %s: %s", p->lockfile, strerror(errno));
		goto out;
	}
	while (flock(*fd, LOCK_EX) == -1) {
		if (errno == EINTR)
			continue;
		error = -errno;
		ctl_error("cannot lock %s: %s", p->lockfile, strerror(errno));
		close(*fd);
		*fd = -1;
		goto out;
	}
out:
	return error;
}

static long long
demo_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
demo_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Reads a whole small file into buf (NUL-terminated); returns its length
 * or -errno. */
static ssize_t
demo_read_small(const char *path, char *buf, size_t size)
{
	ssize_t n;
	size_t len = 0;
	int fd, error = 0;

	if ((fd = open(path, O_RDONLY|O_CLOEXEC)) == -1)
		return -errno;
	while (len < size - 1) {
		n = read(fd, buf + len, size - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			error = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += n;
	}
out:
	buf[len] = '\0';
	close(fd);
	return error != 0 ? error : (ssize_t)len;
}

/* Looks for a program in $PATH and the sbin directories sudo may drop.
 * *path: caller frees. */
static int
demo_find_program(const char *name, char **path)
{
	const char *env;
	char *dirs, *dir, *next, *candidate;
	int error = -ENOENT;

	*path = NULL;
	env = getenv("PATH");
	xasprintf(&dirs, "%s:/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin",
	    env != NULL ? env : "");
	for (dir = dirs; dir != NULL; dir = next) {
		if ((next = strchr(dir, ':')) != NULL)
			*next++ = '\0';
		if (*dir != '/')
			continue;
		xasprintf(&candidate, "%s/%s", dir, name);
		if (access(candidate, X_OK) == 0) {
			*path = candidate;
			error = 0;
			goto out;
		}
		x_free(candidate);
	}
out:
	x_free(dirs);
	return error;
}

/*
 * Runs argv (argv[0] an absolute path) and waits for it; with netns_pid,
 * inside that process's network namespace. What it says on stderr lands
 * in errtext. Returns 0 if it exits 0, else -EIO (-ENOENT if it could not
 * be run).
 */
static int
demo_run(char *const argv[], pid_t netns_pid, char *errtext, size_t errsize)
{
	char path[64], discard[256];
	size_t len = 0;
	ssize_t n;
	pid_t child;
	int fds[2], fd, status, error = 0;

	errtext[0] = '\0';
	if (pipe2(fds, O_CLOEXEC) == -1)
		return -errno;
	fflush(stdout);
	fflush(stderr);
	if ((child = fork()) == -1) {
		error = -errno;
		close(fds[0]);
		close(fds[1]);
		return error;
	}
	if (child == 0) {
		if (netns_pid > 0) {
			snprintf(path, sizeof(path), "/proc/%ld/ns/net",
			    (long)netns_pid);
			if ((fd = open(path, O_RDONLY|O_CLOEXEC)) == -1 ||
			    setns(fd, CLONE_NEWNET) == -1) {
				dprintf(fds[1], "entering the pod's network "
				    "namespace: %s", strerror(errno));
				_exit(126);
			}
		}
		if ((fd = open("/dev/null", O_RDWR)) != -1) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
		}
		dup2(fds[1], STDERR_FILENO);
		execv(argv[0], argv);
		dprintf(STDERR_FILENO, "%s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		if (len < errsize - 1)
			n = read(fds[0], errtext + len, errsize - 1 - len);
		else
			n = read(fds[0], discard, sizeof(discard));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (len < errsize - 1)
			len += n;
	}
	close(fds[0]);
	errtext[len] = '\0';
	while (len > 0 && (errtext[len - 1] == '\n' || errtext[len - 1] == ' '))
		errtext[--len] = '\0';
	for (n = 0; n < (ssize_t)len; n++) {
		if (errtext[n] == '\n')
			errtext[n] = ' ';
	}
	while (waitpid(child, &status, 0) == -1) {
		if (errno != EINTR)
			return -errno;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return -ENOENT;
	if (errtext[0] == '\0')
		snprintf(errtext, errsize, "exit status %d",
		    WIFEXITED(status) ? WEXITSTATUS(status) : 128);
	return -EIO;
}

/* demo_run, printing "COMMAND failed: WHY" on failure. */
static int
demo_run_ip(char *const argv[], pid_t netns_pid)
{
	char errtext[DEMO_ERRTEXT_MAX], cmd[256];
	size_t len = 0;
	int i, error;

	if ((error = demo_run(argv, netns_pid, errtext, sizeof(errtext))) == 0)
		return 0;
	len = snprintf(cmd, sizeof(cmd), "ip");
	for (i = 1; argv[i] != NULL && len < sizeof(cmd); i++)
		len += snprintf(cmd + len, sizeof(cmd) - len, " %s", argv[i]);
	ctl_error("%s%s failed: %s", netns_pid > 0 ? "(in the pod) " : "",
	    cmd, errtext);
	return error;
}

/* --- The root filesystem. All paths are relative to its directory fd. */

/* mkdir -p; only a final directory made here gets mode (umask aside). */
static int
demo_fs_mkdirs(int root, const char *path, mode_t mode)
{
	char *copy, *slash;
	int error = 0, made = 0;

	copy = xstrdup(path);
	for (slash = strchr(copy, '/'); ; slash = strchr(slash + 1, '/')) {
		if (slash != NULL)
			*slash = '\0';
		made = 1;
		if (mkdirat(root, copy, 0755) == -1) {
			if (errno != EEXIST) {
				error = -errno;
				log_warn("mkdir %s", copy);
				goto out;
			}
			made = 0;
		}
		if (slash == NULL)
			break;
		*slash = '/';
	}
	if (made && fchmodat(root, path, mode, 0) == -1) {
		error = -errno;
		log_warn("chmod %s", path);
	}
out:
	x_free(copy);
	return error;
}

static int
demo_fs_parent(int root, const char *path)
{
	char *copy, *slash;
	int error = 0;

	copy = xstrdup(path);
	if ((slash = strrchr(copy, '/')) != NULL) {
		*slash = '\0';
		error = demo_fs_mkdirs(root, copy, 0755);
	}
	x_free(copy);
	return error;
}

static int
demo_fs_write(int root, const char *path, const void *buf, size_t len,
    mode_t mode)
{
	const char *p = buf;
	ssize_t n;
	int fd, error;

	if ((error = demo_fs_parent(root, path)) != 0)
		return error;
	fd = openat(root, path, O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC|O_NOFOLLOW,
	    0600);
	if (fd == -1) {
		error = -errno;
		log_warn("create %s", path);
		return error;
	}
	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			error = -errno;
			log_warn("write %s", path);
			goto out;
		}
		p += n;
		len -= n;
	}
	if (fchmod(fd, mode) == -1) {
		error = -errno;
		log_warn("chmod %s", path);
	}
out:
	close(fd);
	return error;
}

static int
demo_fs_text(int root, const char *path, const char *text, mode_t mode)
{
	return demo_fs_write(root, path, text, strlen(text), mode);
}

static int
demo_fs_symlink(int root, const char *target, const char *path)
{
	int error;

	if ((error = demo_fs_parent(root, path)) != 0)
		return error;
	if (symlinkat(target, root, path) == -1) {
		error = -errno;
		log_warn("symlink %s", path);
	}
	return error;
}

static int
demo_fs_link(int root, const char *existing, const char *path)
{
	int error;

	if ((error = demo_fs_parent(root, path)) != 0)
		return error;
	if (linkat(root, existing, root, path, 0) == -1) {
		error = -errno;
		log_warn("link %s", path);
	}
	return error;
}

static int
demo_fs_copy(int root, const char *src, const char *path, mode_t mode)
{
	char *buf = NULL;
	size_t cap = 1024 * 1024, len = 0;
	ssize_t n;
	int fd, error = 0;

	if ((fd = open(src, O_RDONLY|O_CLOEXEC)) == -1)
		return -errno;
	buf = xmalloc(cap);
	for (;;) {
		n = read(fd, buf + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			error = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += n;
		if (len == cap) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
	}
	error = demo_fs_write(root, path, buf, len, mode);
out:
	x_free(buf);
	close(fd);
	return error;
}

static const struct demo_dir {
	const char	*path;
	mode_t		 mode;
} demo_dirs[] = {
	{ "bin", 0755 },
	{ "sbin", 0755 },
	{ "dev", 0755 },
	{ "proc", 0555 },
	{ "tmp", 01777 },
	{ "root", 0700 },
	{ "var/log", 0755 },
	{ "var/run/secrets/kubernetes.io/serviceaccount", 0755 },
	{ "usr/share/demo/empty", 0755 },
	{ "usr/share/demo/private", 0700 },
};

static const struct demo_file {
	const char	*path;
	mode_t		 mode;
	const char	*text;
} demo_files[] = {
	{ "etc/passwd", 0644,
	  "root:x:0:0:root:/root:/bin/sh\n"
	  "app:x:1000:1000:py-serv app:/app:/bin/sh\n"
	  "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n" },
	{ "etc/group", 0644,
	  "root:x:0:\n"
	  "app:x:1000:\n"
	  "nogroup:x:65534:\n" },
	{ "etc/hostname", 0644, DEMO_HOSTNAME "\n" },
	{ "etc/hosts", 0644,
	  "127.0.0.1\tlocalhost\n"
	  DEMO_POD_ADDR "\t" DEMO_HOSTNAME "\n" },
	{ "etc/resolv.conf", 0644,
	  "# The mirror demo pod has no DNS server; this mimics a pod's.\n"
	  "nameserver " DEMO_POD_ADDR "\n"
	  "search default.svc.cluster.local svc.cluster.local cluster.local\n"
	  "options ndots:5\n" },
	{ "etc/os-release", 0644,
	  "PRETTY_NAME=\"mirror demo pod (busybox)\"\n"
	  "NAME=\"mirror demo pod\"\n"
	  "ID=mirror-demo\n" },
	{ "etc/shadow", 0600,
	  "root:*:19000:0:99999:7:::\n" },
	{ "app/config.yaml", 0644,
	  "# py-serv: the sample app of the mirror demo pod.\n"
	  "server:\n"
	  "  listen: 0.0.0.0:80\n"
	  "  root: /www\n"
	  "database:\n"
	  "  host: postgres.default.svc.cluster.local\n"
	  "  port: 5432\n"
	  "  name: demo\n"
	  "  user: demo\n"
	  "cache:\n"
	  "  url: redis://redis.default.svc.cluster.local:6379/0\n"
	  "features:\n"
	  "  greeting: \"hello from py-serv\"\n"
	  "  mirror_demo: true\n" },
	{ "app/main.py", 0755,
	  "#!/usr/bin/env python3\n"
	  "# The sample app as it would run in a real pod. In the demo pod,\n"
	  "# busybox httpd serves /www instead.\n"
	  "import http.server, os\n"
	  "\n"
	  "print(os.environ.get(\"MIRRORD_FAKE_VAR_FIRST\"))\n"
	  "print(os.environ.get(\"MIRRORD_FAKE_VAR_SECOND\"))\n"
	  "http.server.test(HandlerClass=http.server.SimpleHTTPRequestHandler,"
	  " port=80)\n" },
	{ "www/index.html", 0644,
	  "<!DOCTYPE html>\n"
	  "<html><head><title>mirror demo pod</title></head>\n"
	  "<body><h1>mirror demo pod</h1>\n"
	  "<p>This is py-serv, the mirror demo pod: busybox httpd in its own\n"
	  "Linux namespaces. If you can read this, mirror reached it.</p>\n"
	  "</body></html>\n" },
	{ "www/healthz", 0644, "ok\n" },
	{ "var/run/secrets/kubernetes.io/serviceaccount/token", 0644,
	  /* {"alg":"none","typ":"JWT"}.{"iss":"mirror-demo","sub":
	   * "system:serviceaccount:default:fake-demo"}. No newline, as in
	   * Kubernetes. */
	  "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."
	  "eyJpc3MiOiJtaXJyb3ItZGVtbyIsInN1YiI6InN5c3RlbTpzZXJ2aWNlYWNjb3VudDpk"
	  "ZWZhdWx0OmZha2UtZGVtbyJ9."
	  "FAKE-TOKEN-OF-THE-MIRROR-DEMO-POD-NOT-VALID-ANYWHERE" },
	{ "var/run/secrets/kubernetes.io/serviceaccount/namespace", 0644,
	  "default" },
	{ "var/run/secrets/kubernetes.io/serviceaccount/ca.crt", 0644,
	  "Fake CA of the mirror demo pod. Not a certificate; trusts nothing.\n"
	  "-----BEGIN CERTIFICATE-----\n"
	  "RkFLRSBDQSBPRiBUSEUgTUlSUk9SIERFTU8gUE9ELiBOT1QgQSBSRUFMIENFUlRJ\n"
	  "RklDQVRFLg==\n"
	  "-----END CERTIFICATE-----\n" },
	{ "usr/share/demo/README", 0644,
	  "A few hundred files of different sizes, modes and names, so that\n"
	  "tools have something to list, read, copy and compare.\n" },
	{ "usr/share/demo/private/secret.txt", 0600, "not a real secret\n" },
	{ "usr/share/demo/names/with space.txt", 0644,
	  "a name with a space\n" },
	{ "usr/share/demo/names/caf\xc3\xa9.txt", 0644, "caf\xc3\xa9\n" },
	{ "usr/share/demo/names/\xc3\xbc" "ber.txt", 0644, "\xc3\xbc" "ber\n" },
	{ "usr/share/demo/names/\xe6\x97\xa5\xe6\x9c\xac.txt", 0644,
	  "\xe6\x97\xa5\xe6\x9c\xac\n" },
	{ "usr/share/demo/names/\xe6\x97\xa5\xe6\x9c\xac/\xc3\xa9t\xc3\xa9.txt",
	  0644, "nested UTF-8 names\n" },
	{ "usr/share/demo/names/-leading-dash", 0644, "starts with a dash\n" },
	{ "usr/share/demo/names/.hidden", 0644, "a dot file\n" },
	{ "usr/share/demo/tree/a/b/c/d/e/f/g/h/deep.txt", 0644,
	  "nine directories down\n" },
	{ "usr/share/demo/scripts/hello.sh", 0755,
	  "#!/bin/sh\necho \"hello from $(hostname)\"\n" },
};

/* Relative only: an absolute link would point out of a mounted copy. */
static const struct demo_symlink {
	const char	*target;
	const char	*path;
} demo_symlinks[] = {
	{ "../www", "app/static" },
	{ "docs/239.txt", "usr/share/demo/latest.txt" },
	{ "../docs", "usr/share/demo/tree/docs" },
	{ "../bin/busybox", "sbin/ip" },
	{ "nowhere", "usr/share/demo/names/dangling" },
};

static const struct demo_hardlink {
	const char	*existing;
	const char	*path;
} demo_hardlinks[] = {
	{ "usr/share/demo/docs/007.txt", "usr/share/demo/hardlinks/seven.txt" },
	{ "usr/share/demo/docs/007.txt", "usr/share/demo/hardlinks/sept.txt" },
	{ "app/config.yaml", "etc/py-serv/config.yaml" },
};

static const char *demo_applets[] = {
	"sh", "ash", "ls", "cat", "env", "httpd", "sleep", "ps", "mount",
	"umount", "echo", "grep", "find", "vi", "wc", "head", "tail",
	"hostname", "wget", "nc", "kill", "mkdir", "rm", "rmdir", "cp", "mv",
	"ln", "touch", "sed", "awk", "sort", "uniq", "id", "whoami", "uname",
	"stat", "df", "du", "tar", "gzip", "nslookup", "ping", "test", "[",
	"true", "false", "chmod", "chown", "date", "printf", "pwd",
	"readlink", "realpath", "basename", "dirname", "tee", "tr", "xargs",
	"less", "free", "top", "sync", "seq", "md5sum", "sha256sum", "cut",
	"diff", "netstat", "nproc", "uptime", "which", "ip",
};

static const mode_t demo_doc_modes[] = { 0644, 0600, 0640, 0444, 0755 };

/* Sizes from empty to a little over 64 KiB, the same on every build. */
static size_t
demo_doc_size(unsigned int i)
{
	if (i % 16 == 0)
		return 0;
	if (i % 16 == 1)
		return 65536 + i;
	return (i * 397) % 8000 + 1;
}

static int
demo_rootfs_docs(int root)
{
	char path[64], line[128], *buf;
	size_t size, len, n;
	unsigned int i, l;
	int error = 0;

	for (i = 0; i < DEMO_DOCS; i++) {
		size = demo_doc_size(i);
		buf = xmalloc(size + 1);
		for (len = 0, l = 0; len < size; l++) {
			n = snprintf(line, sizeof(line), "demo document %03u, "
			    "line %u: the quick brown fox jumps over the lazy "
			    "dog\n", i, l);
			if (n > size - len)
				n = size - len;
			memcpy(buf + len, line, n);
			len += n;
		}
		snprintf(path, sizeof(path), "usr/share/demo/docs/%03u.txt", i);
		error = demo_fs_write(root, path, buf, size,
		    demo_doc_modes[i % (sizeof(demo_doc_modes) /
		    sizeof(demo_doc_modes[0]))]);
		x_free(buf);
		if (error != 0)
			return error;
	}
	return 0;
}

static int
demo_rootfs_tree(int root)
{
	char path[96], text[64];
	unsigned int a, b, c;
	int error;

	for (a = 0; a < 4; a++) {
		for (b = 0; b < 4; b++) {
			for (c = 0; c < 3; c++) {
				snprintf(path, sizeof(path), "usr/share/demo/"
				    "tree/dir-%u/sub-%u/file-%u.txt", a, b, c);
				snprintf(text, sizeof(text),
				    "tree file %u/%u/%u\n", a, b, c);
				error = demo_fs_text(root, path, text,
				    c == 2 ? 0600 : 0644);
				if (error != 0)
					return error;
			}
		}
	}
	return 0;
}

/* One MiB of deterministic noise, for reads larger than a page. */
static int
demo_rootfs_large(int root)
{
	uint32_t x = 2463534242U;
	unsigned char *buf;
	size_t i;
	int error;

	buf = xmalloc(DEMO_LARGE_SIZE);
	for (i = 0; i < DEMO_LARGE_SIZE; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = x & 0xff;
	}
	error = demo_fs_write(root, "usr/share/demo/large.bin", buf,
	    DEMO_LARGE_SIZE, 0644);
	x_free(buf);
	return error;
}

static int
demo_rootfs_fill(int root)
{
	char path[64];
	size_t i;
	int error;

	for (i = 0; i < sizeof(demo_dirs) / sizeof(demo_dirs[0]); i++) {
		error = demo_fs_mkdirs(root, demo_dirs[i].path,
		    demo_dirs[i].mode);
		if (error != 0)
			return error;
	}
	if ((error = demo_fs_copy(root, DEMO_BUSYBOX, "bin/busybox",
	    0755)) != 0) {
		ctl_error("cannot copy %s: %s", DEMO_BUSYBOX, strerror(-error));
		return error;
	}
	for (i = 0; i < sizeof(demo_applets) / sizeof(demo_applets[0]); i++) {
		snprintf(path, sizeof(path), "bin/%s", demo_applets[i]);
		if ((error = demo_fs_symlink(root, "busybox", path)) != 0)
			return error;
	}
	for (i = 0; i < sizeof(demo_files) / sizeof(demo_files[0]); i++) {
		error = demo_fs_text(root, demo_files[i].path,
		    demo_files[i].text, demo_files[i].mode);
		if (error != 0)
			return error;
	}
	if ((error = demo_rootfs_docs(root)) != 0)
		return error;
	if ((error = demo_rootfs_tree(root)) != 0)
		return error;
	if ((error = demo_rootfs_large(root)) != 0)
		return error;
	for (i = 0; i < sizeof(demo_symlinks) / sizeof(demo_symlinks[0]); i++) {
		error = demo_fs_symlink(root, demo_symlinks[i].target,
		    demo_symlinks[i].path);
		if (error != 0)
			return error;
	}
	for (i = 0; i < sizeof(demo_hardlinks) / sizeof(demo_hardlinks[0]);
	    i++) {
		error = demo_fs_link(root, demo_hardlinks[i].existing,
		    demo_hardlinks[i].path);
		if (error != 0)
			return error;
	}
	return 0;
}

static int
demo_rm_entry(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
	int r, error;

	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		r = rmdir(path);
	else
		r = unlink(path);
	if (r == -1 && errno != ENOENT) {
		error = -errno;
		log_warn("remove %s", path);
		return error;
	}
	return 0;
}

/* rm -rf that never leaves the file system it starts on. */
static int
demo_rm_tree(const char *path)
{
	struct stat st;
	int r;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -errno;
	r = nftw(path, demo_rm_entry, 16, FTW_DEPTH|FTW_PHYS|FTW_MOUNT);
	if (r == -1)
		return -errno;
	return r;
}

/* 0 if the rootfs is there and of this version of mirrorctl. */
static int
demo_rootfs_current(struct demo_paths *p)
{
	struct stat st;
	char buf[32];
	ssize_t n;

	if (stat(p->rootfs, &st) == -1)
		return -errno;
	if ((n = demo_read_small(p->version, buf, sizeof(buf))) < 0)
		return n;
	if (strcmp(buf, DEMO_ROOTFS_VERSION "\n") != 0)
		return -ESTALE;
	return 0;
}

static int
demo_rootfs_build(struct demo_paths *p, int quiet)
{
	FILE *f;
	int root = -1, error;

	if (access(DEMO_BUSYBOX, X_OK) == -1) {
		ctl_error("busybox-static is not installed: "
		    "apt-get install busybox-static");
		return -ENOENT;
	}
	if (!quiet) {
		printf("building demo rootfs in %s\n", p->rootfs);
		fflush(stdout);
	}
	unlink(p->version);
	if ((error = demo_rm_tree(p->rootfs_tmp)) != 0 ||
	    (error = demo_rm_tree(p->rootfs)) != 0)
		goto out;
	if (mkdir(p->rootfs_tmp, 0755) == -1 || chmod(p->rootfs_tmp, 0755)) {
		error = -errno;
		ctl_error("cannot create %s: %s", p->rootfs_tmp,
		    strerror(errno));
		goto out;
	}
	root = open(p->rootfs_tmp, O_RDONLY|O_DIRECTORY|O_CLOEXEC);
	if (root == -1) {
		error = -errno;
		goto out;
	}
	if ((error = demo_rootfs_fill(root)) != 0)
		goto out;
	if (rename(p->rootfs_tmp, p->rootfs) == -1) {
		error = -errno;
		goto out;
	}
	if ((f = fopen(p->version, "we")) == NULL) {
		error = -errno;
		goto out;
	}
	fprintf(f, "%s\n", DEMO_ROOTFS_VERSION);
	if (fclose(f) == EOF)
		error = -errno;
out:
	if (root != -1)
		close(root);
	if (error != 0) {
		ctl_error("cannot build the demo rootfs in %s: %s", p->rootfs,
		    strerror(-error));
		demo_rm_tree(p->rootfs_tmp);
	}
	return error;
}

/* --- The pod's processes. */

static void
demo_msg_send(int fd, int kind, int step, int value)
{
	struct demo_msg m = { kind, step, value };
	ssize_t n;

	do
		n = write(fd, &m, sizeof(m));
	while (n == -1 && errno == EINTR);
}

/* PID 1 of the pod: from the host's root into the pod's, then sh. */
static void __attribute__((noreturn))
demo_pod_init(const char *rootfs, int fd)
{
	static const char *devs[] = { "null", "zero", "full", "random",
	    "urandom" };
	static char *const argv[] = { "sh", "-c", DEMO_INIT_SCRIPT, NULL };
	static char *const envp[] = {
		"PATH=/bin:/sbin:/usr/bin:/usr/sbin",
		"HOME=/root",
		"HOSTNAME=" DEMO_HOSTNAME,
		DEMO_ENV_FIRST,
		DEMO_ENV_SECOND,
		NULL
	};
	char dev[32];
	sigset_t set;
	size_t i;
	int step, nullfd, sig;

	step = DEMO_STEP_PRIVATE;
	if (mount(NULL, "/", NULL, MS_REC|MS_PRIVATE, NULL) == -1)
		goto fail;
	step = DEMO_STEP_HOSTNAME;
	if (sethostname(DEMO_HOSTNAME, strlen(DEMO_HOSTNAME)) == -1)
		goto fail;
	step = DEMO_STEP_CHDIR;
	if (chdir(rootfs) == -1)
		goto fail;

	/* Device nodes on a tmpfs of the pod's own, so that the shell's
	 * 2>/dev/null never creates a file in the rootfs. */
	step = DEMO_STEP_DEV;
	if (mount("tmpfs", "dev", "tmpfs", MS_NOSUID|MS_NOEXEC,
	    "mode=0755,size=64k") == -1)
		goto fail;
	for (i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		/* The host's "/dev/null" onto the rootfs's "dev/null". */
		snprintf(dev, sizeof(dev), "/dev/%s", devs[i]);
		nullfd = open(dev + 1, O_WRONLY|O_CREAT|O_CLOEXEC, 0666);
		if (nullfd == -1)
			goto fail;
		close(nullfd);
		if (mount(dev, dev + 1, NULL, MS_BIND, NULL) == -1)
			goto fail;
	}

	step = DEMO_STEP_CHROOT;
	if (chroot(".") == -1 || chdir("/") == -1)
		goto fail;
	step = DEMO_STEP_PROC;
	if (mount("proc", "/proc", "proc", MS_NOSUID|MS_NODEV|MS_NOEXEC,
	    NULL) == -1)
		goto fail;
	step = DEMO_STEP_STDIO;
	if ((nullfd = open("/dev/null", O_RDWR)) == -1)
		goto fail;
	if (dup2(nullfd, STDIN_FILENO) == -1 ||
	    dup2(nullfd, STDOUT_FILENO) == -1 ||
	    dup2(nullfd, STDERR_FILENO) == -1)
		goto fail;
	if (nullfd > STDERR_FILENO)
		close(nullfd);

	/* Nothing of mirrorctl's may outlive the exec: no descriptors,
	 * no ignored or blocked signals. */
	umask(022);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	close_range(STDERR_FILENO + 1, ~0U, CLOSE_RANGE_CLOEXEC);

	step = DEMO_STEP_EXEC;
	execve("/bin/sh", argv, envp);
fail:
	demo_msg_send(fd, DEMO_MSG_ERROR, step, errno);
	_exit(127);
}

/* The child between mirrorctl and the pod: a new session, the new
 * namespaces, then PID 1 of the new pid namespace. */
static void __attribute__((noreturn))
demo_pod_fork(const char *rootfs, int fd)
{
	pid_t pod;
	int step;

	step = DEMO_STEP_SETSID;
	if (setsid() == -1)
		goto fail;
	step = DEMO_STEP_UNSHARE;
	if (unshare(CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWNET|CLONE_NEWPID) == -1)
		goto fail;
	step = DEMO_STEP_FORK;
	if ((pod = fork()) == -1)
		goto fail;
	if (pod == 0)
		demo_pod_init(rootfs, fd);
	demo_msg_send(fd, DEMO_MSG_PID, 0, pod);
	_exit(0);
fail:
	demo_msg_send(fd, DEMO_MSG_ERROR, step, errno);
	_exit(1);
}

/* Starts the pod's processes; *pod is its init's host PID. */
static int
demo_pod_start(struct demo_paths *p, pid_t *pod)
{
	struct demo_msg m;
	ssize_t n;
	pid_t child;
	int fds[2], status, error = 0;

	*pod = -1;
	if (pipe2(fds, O_CLOEXEC) == -1)
		return -errno;
	fflush(stdout);
	fflush(stderr);
	if ((child = fork()) == -1) {
		error = -errno;
		close(fds[0]);
		close(fds[1]);
		return error;
	}
	if (child == 0) {
		close(fds[0]);
		demo_pod_fork(p->rootfs, fds[1]);
	}
	close(fds[1]);

	/* Messages until every writer is gone: the pod's exec closes the
	 * last copy, so EOF after a pid means it runs. */
	for (;;) {
		n = read(fds[0], &m, sizeof(m));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0)
			break;
		if (n != (ssize_t)sizeof(m)) {
			if (error == 0)
				error = n == -1 ? -errno : -EIO;
			break;
		}
		if (m.kind == DEMO_MSG_PID)
			*pod = m.value;
		else if (m.kind == DEMO_MSG_ERROR && error == 0) {
			error = m.value > 0 ? -m.value : -EIO;
			if (m.step < 0 || (size_t)m.step >= sizeof(
			    demo_step_names) / sizeof(demo_step_names[0]))
				m.step = DEMO_STEP_EXEC;
			ctl_error("cannot start the demo pod: %s: %s%s",
			    demo_step_names[m.step], strerror(m.value),
			    m.step == DEMO_STEP_UNSHARE ? " (this needs root "
			    "and a kernel with mount, pid, net and uts "
			    "namespaces)" : "");
		}
	}
	close(fds[0]);
	while (waitpid(child, &status, 0) == -1 && errno == EINTR)
		;
	if (error == 0 && *pod <= 0) {
		ctl_error("cannot start the demo pod: it exited during "
		    "start-up");
		error = -EIO;
	}
	return error;
}

/* Gone or a zombie: either way, no longer a pod. */
static int
demo_pid_alive(pid_t pid)
{
	char path[64], buf[512], *paren;

	if (kill(pid, 0) == -1 && errno == ESRCH)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (demo_read_small(path, buf, sizeof(buf)) < 0)
		return 0;
	if ((paren = strrchr(buf, ')')) == NULL || paren[1] == '\0')
		return 1;
	return paren[2] != 'Z' && paren[2] != 'X';
}

/* 0 if pid is the init of the pod rooted at rootfs, -ESRCH if it is not
 * (or gone), another -errno if that cannot be told. */
static int
demo_is_our_pod(pid_t pid, const char *rootfs)
{
	struct stat root_st, pod_st;
	char path[64], *env = NULL;
	ssize_t len, off;
	int error = -ESRCH;

	if (!demo_pid_alive(pid))
		goto out;
	env = xmalloc(DEMO_ENVIRON_MAX);
	snprintf(path, sizeof(path), "/proc/%ld/environ", (long)pid);
	if ((len = demo_read_small(path, env, DEMO_ENVIRON_MAX)) < 0) {
		if (len != -ENOENT && len != -ESRCH)
			error = len;
		goto out;
	}
	for (off = 0; off < len; off += strlen(env + off) + 1) {
		if (strcmp(env + off, DEMO_ENV_FIRST) == 0)
			break;
	}
	if (off >= len)
		goto out;
	/* The environment could be copied; the root cannot. */
	snprintf(path, sizeof(path), "/proc/%ld/root", (long)pid);
	if (stat(path, &pod_st) == -1) {
		if (errno != ENOENT && errno != ESRCH)
			error = -errno;
		goto out;
	}
	if (stat(rootfs, &root_st) == -1)
		goto out;
	if (pod_st.st_dev == root_st.st_dev && pod_st.st_ino == root_st.st_ino)
		error = 0;
out:
	x_free(env);
	return error;
}

static int
demo_read_pidfile(const char *pidfile, pid_t *pid)
{
	char buf[32], *end;
	ssize_t n;
	long v;

	if ((n = demo_read_small(pidfile, buf, sizeof(buf))) < 0)
		return n;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || (*end != '\n' && *end != '\0') ||
	    v <= 1 || v > INT_MAX)
		return -EINVAL;
	*pid = v;
	return 0;
}

static int
demo_write_pidfile(struct demo_paths *p, pid_t pid)
{
	char *tmp, buf[32];
	int fd, len, error = 0;

	xasprintf(&tmp, "%s.tmp", p->pidfile);
	len = snprintf(buf, sizeof(buf), "%ld\n", (long)pid);
	fd = open(tmp, O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC|O_NOFOLLOW, 0644);
	if (fd == -1 || write(fd, buf, len) != len) {
		error = -errno;
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		error = -errno;
		goto out;
	}
	fd = -1;
	if (rename(tmp, p->pidfile) == -1)
		error = -errno;
out:
	if (fd != -1)
		close(fd);
	if (error != 0) {
		ctl_error("cannot write %s: %s", p->pidfile, strerror(-error));
		unlink(tmp);
	}
	x_free(tmp);
	return error;
}

int
demo_running_pid(pid_t *pid)
{
	struct demo_paths p;
	pid_t found = -1;
	int error;

	if ((error = demo_paths_init(&p)) != 0)
		return error;
	if ((error = demo_read_pidfile(p.pidfile, &found)) == 0)
		error = demo_is_our_pod(found, p.rootfs);
	if (error == -ESRCH || error == -EINVAL) {
		/* Stale: the pod died without "demo down". */
		unlink(p.pidfile);
		error = -ENOENT;
	}
	if (error == 0)
		*pid = found;
	demo_paths_free(&p);
	return error;
}

void
demo_print_status(pid_t pid)
{
	const char *state = ctl_state_dir();

	printf("pid %ld\n", (long)pid);
	printf("address %s\n", DEMO_POD_ADDR);
	printf("hostname %s\n", DEMO_HOSTNAME);
	printf("rootfs %s/demo/rootfs\n", state != NULL ? state : "?");
	printf("interface %s %s\n", DEMO_HOST_IFNAME, DEMO_HOST_ADDR);
	fflush(stdout);
}

static int
demo_link_exists(void)
{
	return if_nametoindex(DEMO_HOST_IFNAME) != 0;
}

static uint32_t
demo_mask(unsigned int bits)
{
	return bits == 0 ? 0 : htonl(~0U << (32 - bits));
}

/*
 * Refuses a network this machine already uses: an address on the host
 * link would shadow it (or, as on some VMs, take the default gateway's
 * address). Looks at interface addresses and the main routing table.
 */
static int
demo_net_check(void)
{
	struct ifaddrs *ifa = NULL, *i;
	struct in_addr net;
	uint32_t dst, mask, ours, m;
	char line[256], ifname[IF_NAMESIZE + 1], addr[INET_ADDRSTRLEN];
	FILE *f;
	int error = 0;

	inet_pton(AF_INET, DEMO_NET, &net);
	ours = net.s_addr & demo_mask(DEMO_PREFIXLEN);
	if (getifaddrs(&ifa) == 0) {
		for (i = ifa; i != NULL; i = i->ifa_next) {
			if (i->ifa_addr == NULL ||
			    i->ifa_addr->sa_family != AF_INET)
				continue;
			dst = ((struct sockaddr_in *)(void *)i->ifa_addr)->
			    sin_addr.s_addr;
			if ((dst & demo_mask(DEMO_PREFIXLEN)) != ours)
				continue;
			inet_ntop(AF_INET, &dst, addr, sizeof(addr));
			ctl_error("the demo pod's network %s/%d is in use here "
			    "(%s has %s); the demo pod cannot run on this "
			    "machine", DEMO_NET, DEMO_PREFIXLEN, i->ifa_name,
			    addr);
			error = -EADDRINUSE;
			goto out;
		}
	}
	/* Iface Destination Gateway Flags RefCnt Use Metric Mask ... */
	if ((f = fopen("/proc/net/route", "re")) == NULL)
		goto out;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%16s %x %*x %*x %*d %*d %*d %x", ifname,
		    &dst, &mask) != 3 || mask == 0)
			continue;
		m = mask & demo_mask(DEMO_PREFIXLEN);
		if ((dst & m) != (ours & m))
			continue;
		inet_ntop(AF_INET, &dst, addr, sizeof(addr));
		ctl_error("the demo pod's network %s/%d overlaps the route to "
		    "%s/%d via %s; the demo pod cannot run on this machine",
		    DEMO_NET, DEMO_PREFIXLEN, addr,
		    __builtin_popcount(mask), ifname);
		error = -EADDRINUSE;
		break;
	}
	fclose(f);
out:
	if (ifa != NULL)
		freeifaddrs(ifa);
	return error;
}

/* The veth pair, made with its pod end already inside the pod, so that
 * it goes away with the pod's network namespace. */
static int
demo_net_up(const char *ip, pid_t pod)
{
	char pidstr[16];
	char *const add[] = { (char *)ip, "link", "add", DEMO_HOST_IFNAME,
	    "type", "veth", "peer", "name", DEMO_POD_IFNAME, "netns", pidstr,
	    NULL };
	char *const host_addr[] = { (char *)ip, "addr", "add",
	    DEMO_HOST_CIDR, "dev", DEMO_HOST_IFNAME, NULL };
	char *const host_up[] = { (char *)ip, "link", "set", DEMO_HOST_IFNAME,
	    "up", NULL };
	char *const lo_up[] = { (char *)ip, "link", "set", "lo", "up", NULL };
	char *const pod_addr[] = { (char *)ip, "addr", "add",
	    DEMO_POD_CIDR, "dev", DEMO_POD_IFNAME, NULL };
	char *const pod_up[] = { (char *)ip, "link", "set", DEMO_POD_IFNAME,
	    "up", NULL };
	int error;

	snprintf(pidstr, sizeof(pidstr), "%ld", (long)pod);
	if ((error = demo_run_ip(add, 0)) != 0)
		return error;
	if ((error = demo_run_ip(host_addr, 0)) != 0 ||
	    (error = demo_run_ip(host_up, 0)) != 0 ||
	    (error = demo_run_ip(lo_up, pod)) != 0 ||
	    (error = demo_run_ip(pod_addr, pod)) != 0 ||
	    (error = demo_run_ip(pod_up, pod)) != 0)
		return error;
	return 0;
}

/* Removes the host end (and so both ends) if it is still there. */
static void
demo_net_down(const char *ip)
{
	char *const del[] = { (char *)ip, "link", "del", DEMO_HOST_IFNAME,
	    NULL };
	char errtext[DEMO_ERRTEXT_MAX];
	int i;

	if (demo_link_exists())
		demo_run(del, 0, errtext, sizeof(errtext));
	/* A dying network namespace takes its links with it, a moment
	 * later; wait for that so that the name is free on return. */
	for (i = 0; i < 100 && demo_link_exists(); i++)
		demo_sleep_ms(20);
	if (demo_link_exists())
		ctl_error("cannot remove %s: delete it with: ip link del %s",
		    DEMO_HOST_IFNAME, DEMO_HOST_IFNAME);
}

/* Waits until something accepts connections on the pod's HTTP port. */
static int
demo_wait_http(pid_t pod)
{
	struct sockaddr_in sin;
	struct pollfd pfd;
	long long deadline;
	socklen_t len;
	int s, soerr;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(DEMO_HTTP_PORT);
	inet_pton(AF_INET, DEMO_POD_ADDR, &sin.sin_addr);
	deadline = demo_now_ms() + DEMO_READY_MS;
	do {
		if (!demo_pid_alive(pod)) {
			ctl_error("the demo pod exited during start-up");
			return -ESRCH;
		}
		s = socket(AF_INET, SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC, 0);
		if (s == -1)
			return -errno;
		soerr = 0;
		if (connect(s, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
			soerr = errno;
			if (soerr == EINPROGRESS) {
				pfd.fd = s;
				pfd.events = POLLOUT;
				soerr = ETIMEDOUT;
				if (poll(&pfd, 1, 250) == 1) {
					len = sizeof(soerr);
					getsockopt(s, SOL_SOCKET, SO_ERROR,
					    &soerr, &len);
				}
			}
		}
		close(s);
		if (soerr == 0)
			return 0;
		demo_sleep_ms(50);
	} while (demo_now_ms() < deadline);
	ctl_error("the demo pod's HTTP server did not answer on %s:%d within "
	    "%d s", DEMO_POD_ADDR, DEMO_HTTP_PORT, DEMO_READY_MS / 1000);
	return -ETIMEDOUT;
}

/* Waits up to ms for pid to be gone; 0 if it is. */
static int
demo_wait_gone(pid_t pid, int ms)
{
	long long deadline = demo_now_ms() + ms;

	while (demo_pid_alive(pid)) {
		if (demo_now_ms() >= deadline)
			return -ETIMEDOUT;
		demo_sleep_ms(20);
	}
	return 0;
}

int
demo_up(int quiet, pid_t *pid)
{
	struct demo_paths p;
	char *ip = NULL;
	pid_t pod = -1;
	int lock = -1, error, started = 0, linked = 0;

	if ((error = demo_need_root()) != 0)
		return error;
	if ((error = demo_paths_init(&p)) != 0) {
		ctl_error("cannot use the state directory: %s",
		    strerror(-error));
		return error;
	}
	if ((error = demo_lock(&p, &lock)) != 0)
		goto out;

	if ((error = demo_running_pid(&pod)) == 0) {
		if (!quiet)
			demo_print_status(pod);
		*pid = pod;
		goto out;
	}
	if (error != -ENOENT) {
		ctl_error("cannot read %s: %s", p.pidfile, strerror(-error));
		goto out;
	}
	if (demo_find_program("ip", &ip) != 0) {
		ctl_error("the ip command is missing: "
		    "apt-get install iproute2");
		error = -ENOENT;
		goto out;
	}
	if (demo_link_exists()) {
		ctl_error("network interface %s already exists: another demo "
		    "pod runs (stop it with mirrorctl demo down, under its "
		    "MIRROR_STATE_DIR) or one left it (ip link del %s)",
		    DEMO_HOST_IFNAME, DEMO_HOST_IFNAME);
		error = -EEXIST;
		goto out;
	}
	if ((error = demo_net_check()) != 0)
		goto out;
	if (demo_rootfs_current(&p) != 0) {
		if ((error = demo_rootfs_build(&p, quiet)) != 0)
			goto out;
	}

	if (!quiet) {
		printf("starting demo pod ...\n");
		fflush(stdout);
	}
	if ((error = demo_pod_start(&p, &pod)) != 0)
		goto out;
	started = 1;
	/* Written first, so that "demo down" can clean up after a failure
	 * that even this process does not survive. */
	if ((error = demo_write_pidfile(&p, pod)) != 0)
		goto out;
	linked = 1;
	if ((error = demo_net_up(ip, pod)) != 0)
		goto out;
	if ((error = demo_wait_http(pod)) != 0)
		goto out;
	*pid = pod;
	if (!quiet)
		demo_print_status(pod);
out:
	if (error != 0 && started) {
		kill(pod, SIGKILL);
		demo_wait_gone(pod, DEMO_KILL_MS);
		if (linked)
			demo_net_down(ip);
		unlink(p.pidfile);
	}
	if (lock != -1)
		close(lock);
	x_free(ip);
	demo_paths_free(&p);
	return error;
}

int
demo_down(int quiet)
{
	struct demo_paths p;
	char *ip = NULL;
	pid_t pod;
	int lock = -1, error;

	if ((error = demo_need_root()) != 0)
		return error;
	if ((error = demo_paths_init(&p)) != 0) {
		ctl_error("cannot use the state directory: %s",
		    strerror(-error));
		return error;
	}
	if ((error = demo_lock(&p, &lock)) != 0)
		goto out;
	if ((error = demo_running_pid(&pod)) == -ENOENT) {
		if (!quiet)
			printf("demo pod is not running\n");
		error = 0;
		goto out;
	}
	if (error != 0) {
		ctl_error("cannot read %s: %s", p.pidfile, strerror(-error));
		goto out;
	}

	if (!quiet) {
		printf("stopping demo pod (pid %ld)\n", (long)pod);
		fflush(stdout);
	}
	if (kill(pod, SIGTERM) == -1 && errno != ESRCH) {
		error = -errno;
		ctl_error("cannot stop the demo pod (pid %ld): %s", (long)pod,
		    strerror(errno));
		goto out;
	}
	if (demo_wait_gone(pod, DEMO_STOP_MS) != 0) {
		kill(pod, SIGKILL);
		if ((error = demo_wait_gone(pod, DEMO_KILL_MS)) != 0) {
			ctl_error("the demo pod (pid %ld) did not stop",
			    (long)pod);
			goto out;
		}
	}
	/* Something still inside the pod's network namespace (an nsenter
	 * shell, an agent) keeps the link alive: remove it ourselves. */
	if (demo_find_program("ip", &ip) == 0)
		demo_net_down(ip);
	else if (demo_link_exists())
		ctl_error("cannot remove %s: the ip command is missing: "
		    "apt-get install iproute2", DEMO_HOST_IFNAME);
	if (unlink(p.pidfile) == -1 && errno != ENOENT) {
		error = -errno;
		ctl_error("cannot remove %s: %s", p.pidfile, strerror(errno));
		goto out;
	}
	if (!quiet)
		printf("demo pod stopped\n");
out:
	if (lock != -1)
		close(lock);
	x_free(ip);
	demo_paths_free(&p);
	return error;
}

int
demo_purge(int quiet)
{
	struct demo_paths p;
	pid_t pod;
	int lock = -1, error;

	if ((error = demo_need_root()) != 0)
		return error;
	if ((error = demo_paths_init(&p)) != 0)
		return error;
	if ((error = demo_lock(&p, &lock)) != 0)
		goto out;
	if (demo_running_pid(&pod) == 0) {
		ctl_error("the demo pod is running (stop it first with: "
		    "mirrorctl demo down)");
		error = -EBUSY;
		goto out;
	}
	unlink(p.version);
	if ((error = demo_rm_tree(p.rootfs_tmp)) != 0 ||
	    (error = demo_rm_tree(p.rootfs)) != 0) {
		ctl_error("cannot remove %s: %s", p.rootfs, strerror(-error));
		goto out;
	}
	if (!quiet)
		printf("removed %s\n", p.rootfs);
out:
	if (lock != -1)
		close(lock);
	demo_paths_free(&p);
	return error;
}
