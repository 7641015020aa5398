/*
 * The demo pod's processes and network: its init started in new mount,
 * pid, net and uts namespaces (reporting each step's failure over a
 * pipe), the checks that tell our pod from a stale pid, and the veth
 * pair between the host and the pod, made with ip(8).
 */
#include "config.h"

#include <sys/types.h>
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
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "procfs.h"
#include "xmalloc.h"
#include "demo.h"

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

/* What the pod's start-up reports to mirror-demo over a pipe. */
enum demo_msg_kind { DEMO_MSG_PID = 1, DEMO_MSG_ERROR };
enum demo_step {
	DEMO_STEP_SETSID,
	DEMO_STEP_UNSHARE,
	DEMO_STEP_FORK,
	DEMO_STEP_PRIVATE,
	DEMO_STEP_HOSTNAME,
	DEMO_STEP_CHDIR,
	DEMO_STEP_DEV,
	DEMO_STEP_SECRETS,
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
	"mounting the service-account volume",
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


/* Looks for a program in $PATH and the sbin directories sudo may drop.
 * *path: caller frees. */
int
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
 * A pipe (close-on-exec) and a child: *child is 0 in the child, its PID
 * in the parent. Output is flushed first so the child does not repeat
 * it. 0, or -errno with nothing left open.
 */
static int
demo_fork_piped(int fds[2], pid_t *child)
{
	int error;

	if (pipe2(fds, O_CLOEXEC) == -1)
		return -errno;
	fflush(stdout);
	fflush(stderr);
	if ((*child = fork()) == -1) {
		error = -errno;
		close(fds[0]);
		close(fds[1]);
		return error;
	}
	return 0;
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
	if ((error = demo_fork_piped(fds, &child)) != 0)
		return error;
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
	demo_error("%s%s failed: %s", netns_pid > 0 ? "(in the pod) " : "",
	    cmd, errtext);
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

	/* The service-account token is a volume, as the kubelet mounts
	 * it: a tmpfs of the pod's own, not part of the image. */
	step = DEMO_STEP_SECRETS;
	if (mount("tmpfs", DEMO_SA_DIR, "tmpfs", MS_NOSUID|MS_NODEV|MS_NOEXEC,
	    "mode=0755,size=64k") == -1)
		goto fail;
	if ((errno = -demo_rootfs_secrets(DEMO_SA_DIR)) != 0)
		goto fail;

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

	/* Nothing of mirror-demo's may outlive the exec: no descriptors,
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

/* The child between mirror-demo and the pod: a new session, the new
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
int
demo_pod_start(struct demo_paths *p, pid_t *pod)
{
	struct demo_msg m;
	ssize_t n;
	pid_t child;
	int fds[2], status, error = 0;

	*pod = -1;
	if ((error = demo_fork_piped(fds, &child)) != 0)
		return error;
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
			demo_error("cannot start the demo pod: %s: %s%s",
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
		demo_error("cannot start the demo pod: it exited during "
		    "start-up");
		error = -EIO;
	}
	return error;
}

/* 0 if pid is the init of the pod rooted at rootfs, -ESRCH if it is not
 * (or gone), another -errno if that cannot be told. */
int
demo_is_our_pod(pid_t pid, const char *rootfs)
{
	struct stat root_st, pod_st;
	char path[64], *env = NULL;
	ssize_t len, off;
	int error = -ESRCH;

	if (!procfs_alive(pid))
		goto out;
	env = xmalloc(DEMO_ENVIRON_MAX);
	snprintf(path, sizeof(path), "/proc/%ld/environ", (long)pid);
	if ((len = read_small_file(path, env, DEMO_ENVIRON_MAX)) < 0) {
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

int
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
int
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
			demo_error("the demo pod's network %s/%d is in use here "
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
		demo_error("the demo pod's network %s/%d overlaps the route to "
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
int
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
void
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
		demo_error("cannot remove %s: delete it with: ip link del %s",
		    DEMO_HOST_IFNAME, DEMO_HOST_IFNAME);
}

/* Waits until something accepts connections on the pod's HTTP port. */
int
demo_wait_http(pid_t pod)
{
	struct sockaddr_in sin;
	struct pollfd pfd;
	double deadline;
	socklen_t len;
	int s, soerr;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(DEMO_HTTP_PORT);
	inet_pton(AF_INET, DEMO_POD_ADDR, &sin.sin_addr);
	deadline = mono_ms() + DEMO_READY_MS;
	do {
		if (!procfs_alive(pod)) {
			demo_error("the demo pod exited during start-up");
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
	} while (mono_ms() < deadline);
	demo_error("the demo pod's HTTP server did not answer on %s:%d within "
	    "%d s", DEMO_POD_ADDR, DEMO_HTTP_PORT, DEMO_READY_MS / 1000);
	return -ETIMEDOUT;
}

/* Waits up to ms for pid to be gone; 0 if it is. */
int
demo_wait_gone(pid_t pid, int ms)
{
	double deadline = mono_ms() + ms;

	while (procfs_alive(pid)) {
		if (mono_ms() >= deadline)
			return -ETIMEDOUT;
		demo_sleep_ms(20);
	}
	return 0;
}
