/*
 * mirror-netd --netns: the device, routes and DNS stub in a shell's
 * network namespace (see netns.h). The namespace file is opened and
 * checked before netd detaches, so a wrong one is an error on the
 * caller's terminal.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "admit.h"
#include "cidr.h"
#include "expose.h"
#include "log.h"
#include "netns.h"
#include "resolvout.h"
#include "route.h"
#include "tun.h"
#include "xmalloc.h"

#define POD_RESOLV_MAX	65536

static const char *ns_file;
static const char *ns_resolv_out;
static int ns_fd = -1, ns_selffd = -1, ns_pidfd = -1;
static char *ns_pod_resolv;
static size_t ns_pod_resolv_len;
static pid_t ns_exit_with;

int
netns_open(const char *file, pid_t exit_with, const char *resolv_out,
    char *msg, size_t msgsz)
{
	struct stat a, b;
	int type;

	if (file == NULL) {
		if (exit_with > 0 || resolv_out) {
			snprintf(msg, msgsz, "--exit-with and --resolv-out go "
			    "with --netns");
			return -1;
		}
		return 0;
	}
	if ((ns_fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(msg, msgsz, "--netns %s: %s", file, strerror(errno));
		return -1;
	}
	if ((type = ioctl(ns_fd, NS_GET_NSTYPE)) != CLONE_NEWNET) {
		snprintf(msg, msgsz, "--netns %s: not a network namespace%s",
		    file, type < 0 ? " file" : "");
		return -1;
	}
	if ((ns_selffd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(msg, msgsz, "/proc/self/ns/net: %s", strerror(errno));
		return -1;
	}
	/* A default route in netd's own namespace would take this
	 * machine's traffic: never. */
	if (fstat(ns_fd, &a) < 0 || fstat(ns_selffd, &b) < 0 ||
	    (a.st_dev == b.st_dev && a.st_ino == b.st_ino)) {
		snprintf(msg, msgsz, "--netns %s is mirror-netd's own network "
		    "namespace: it wants a namespace of its own (a shell's)",
		    file);
		return -1;
	}
	if (exit_with > 0 && (ns_pidfd = (int)syscall(SYS_pidfd_open,
	    exit_with, 0)) < 0) {
		snprintf(msg, msgsz, "--exit-with %d: %s", (int)exit_with,
		    strerror(errno));
		return -1;
	}
	ns_file = file;
	ns_exit_with = exit_with;
	ns_resolv_out = resolv_out;
	return 0;
}

int
netns_active(void)
{
	return ns_fd >= 0;
}

int
netns_enter(void)
{
	if (ns_fd < 0)
		return 0;
	return setns(ns_fd, CLONE_NEWNET) < 0 ? -errno : 0;
}

void
netns_pod_resolv(const void *text, size_t len)
{
	if (ns_fd < 0)
		return;
	if (len > POD_RESOLV_MAX)
		len = POD_RESOLV_MAX;
	x_free(ns_pod_resolv);
	ns_pod_resolv = xmalloc(len ? len : 1);
	memcpy(ns_pod_resolv, text, len);
	ns_pod_resolv_len = len;
}

/* A sysctl of the calling thread's network namespace. */
static int
sysctl_write(const char *path, const char *value)
{
	int fd, rc = 0;
	size_t n = strlen(value);

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (write(fd, value, n) != (ssize_t)n)
		rc = -errno;
	close(fd);
	return rc;
}

int
netns_setup(int ifindex, uint32_t tun_addr, const void *tun6,
    const char **why)
{
	struct cidr def;
	const char *nlwhy = NULL;
	int rc;

	if (ns_fd < 0)
		return 0;
	if ((rc = tun_link_up("lo")) < 0) {
		*why = "cannot bring lo up in the namespace";
		return rc;
	}
	/* The shell's user may listen on any port and ping, as root in
	 * the pod could: the namespace is the shell's alone. */
	if ((rc = sysctl_write("/proc/sys/net/ipv4/ip_unprivileged_port_start",
	    "0")) < 0) {
		*why = "cannot set net.ipv4.ip_unprivileged_port_start in the "
		    "namespace";
		return rc;
	}
	if ((rc = sysctl_write("/proc/sys/net/ipv4/ping_group_range",
	    "0 2147483647")) < 0) {
		*why = "cannot set net.ipv4.ping_group_range in the namespace";
		return rc;
	}
	memset(&def, 0, sizeof(def));
	def.family = AF_INET;
	if ((rc = route_add(ifindex, &def, &tun_addr, &nlwhy)) < 0) {
		*why = "cannot add the default route in the namespace";
		if (nlwhy)
			log_warnx("default route: %s", nlwhy);
		return rc;
	}
	def.family = AF_INET6;
	if (tun6 != NULL && (rc = route_add(ifindex, &def, tun6,
	    &nlwhy)) < 0) {
		*why = "cannot add the IPv6 default route in the namespace";
		if (nlwhy)
			log_warnx("IPv6 default route: %s", nlwhy);
		return rc;
	}
	return 0;
}

/* --resolv-out, written to a temporary file and renamed into place. */
static int
resolv_write(uint32_t tun_addr, int dns, const char **why)
{
	char text[RESOLVOUT_MAX], tmp[4096], stub[INET_ADDRSTRLEN];
	char pods[16][INET6_ADDRSTRLEN];
	const char *servers[17];
	struct cidr ns[16];
	int i, n = 0, len, fd, rc = 0;

	if (dns) {
		inet_ntop(AF_INET, &tun_addr, stub, sizeof(stub));
		servers[n++] = stub;
	} else {
		int k = admit_nameservers(ns_pod_resolv ? ns_pod_resolv : "",
		    ns_pod_resolv_len, ns, 16);

		for (i = 0; i < k; i++)
			if (inet_ntop(ns[i].family, ns[i].addr, pods[i],
			    sizeof(pods[i])) != NULL)
				servers[n++] = pods[i];
	}
	servers[n] = NULL;
	if ((len = resolvout_format(ns_pod_resolv ? ns_pod_resolv : "",
	    ns_pod_resolv_len, servers, text, sizeof(text))) < 0) {
		*why = "the pod names no nameserver (and --no-dns or "
		    "net.dns = false)";
		return len;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", ns_resolv_out);
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0644)) < 0) {
		*why = "cannot create --resolv-out";
		return -errno;
	}
	if (write(fd, text, (size_t)len) != len)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, ns_resolv_out) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		*why = "cannot write --resolv-out";
	}
	return rc;
}

int
netns_start(uint32_t tun_addr, const struct in6_addr *tun6, int dns,
    const char **why)
{
	int rc;

	if (ns_fd < 0)
		return 0;
	if (ns_resolv_out && (rc = resolv_write(tun_addr, dns, why)) < 0)
		return rc;
	if ((rc = expose_start(ns_fd, ns_selffd, ns_pidfd, tun_addr,
	    tun6, why)) < 0)
		return rc;
	ns_pidfd = -1;		/* the watcher's now */
	return 0;
}

void
netns_stop(void)
{
	if (ns_fd < 0)
		return;
	expose_stop();
	if (ns_pidfd >= 0)
		close(ns_pidfd);
	ns_pidfd = -1;
}

void
netns_status(FILE *f)
{
	if (ns_fd < 0)
		return;
	fprintf(f, "netns=%s\n", ns_file);
	fprintf(f, "route=default (inside the namespace)\n");
	if (ns_exit_with > 0)
		fprintf(f, "exit_with=%d\n", (int)ns_exit_with);
	if (ns_resolv_out)
		fprintf(f, "resolv_conf=%s\n", ns_resolv_out);
	expose_status(f);
}
