/*
 * mirrorctl doctor: checks what mirror needs on this machine and says
 * what to fix for each thing that is missing.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mirrorctl.h"
#include "run.h"
#include "xmalloc.h"

static int cmd_doctor_exec(int, char **);

const struct cmd_entry cmd_doctor_entry = {
	.name = "doctor",
	.usage = "doctor",
	.summary = "Check this machine for what mirror needs, and say what "
	    "to fix.",
	.help = "Exit status 0 when everything required is there.\n",
	.exec = cmd_doctor_exec,
};

static int nfail;

static void
check(int ok, int required, const char *what, const char *fix)
{
	printf("%-5s %s", ok ? "ok" : required ? "FAIL" : "warn", what);
	if (!ok)
		printf(": %s", fix);
	printf("\n");
	if (!ok && required)
		nfail++;
}

static int
has_cap(int bit)
{
	char line[256];
	unsigned long long eff = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return (eff >> bit) & 1;
}

/* Can a TUN device be created? (It goes away when the fd closes.) */
static int
tun_works(void)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), ok;

	if (fd < 0)
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "mirrorchk%d",
	    (int)getpid() % 10000);
	ok = ioctl(fd, TUNSETIFF, &ifr) == 0;
	close(fd);
	return ok;
}

static int
openat2_works(void)
{
	struct open_how how;
	int fd;

	memset(&how, 0, sizeof(how));
	how.flags = O_PATH | O_CLOEXEC;
	how.resolve = RESOLVE_IN_ROOT;
	fd = (int)syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

static int
cmd_doctor_exec(int argc, char **argv)
{
	char *p;
	int fd;

	if (ctl_wants_help(argc, argv)) {
		ctl_usage(&cmd_doctor_entry);
		return 0;
	}
	nfail = 0;
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	check(fd >= 0, 1, "/dev/fuse",
	    access("/dev/fuse", F_OK) == 0 ? "present but cannot be opened "
	    "(chmod 0666 /dev/fuse, as Debian makes it, or run as root)" : "missing: modprobe fuse, or give the container "
	    "--device /dev/fuse");
	if (fd >= 0)
		close(fd);
	check(run_have("fusermount3"), 1, "fusermount3 (mounts as an "
	    "ordinary user)", "apt-get install fuse3");
	check(openat2_works(), 1, "openat2 (Linux 5.6 or newer)",
	    "the agent needs openat2 to confine paths; upgrade the kernel");
	/* An ordinary user mounts ws://, wss:// and Kubernetes targets
	 * through fusermount3; only the rest needs root. */
	check(has_cap(21), 0, "CAP_SYS_ADMIN (shell, exec, connect; pid/, "
	    "podman/, docker/ and demo targets)", "run as root (sudo)");
	check(access("/dev/net/tun", F_OK) == 0 && tun_works(), 0,
	    "/dev/net/tun (network tunnel)", "modprobe tun, or give the "
	    "container --device /dev/net/tun and CAP_NET_ADMIN");
	check(has_cap(12), 0, "CAP_NET_ADMIN (routes)", "run as root (sudo)");
	check(access("/bin/busybox", X_OK) == 0, 0, "busybox (the demo pod)",
	    "apt-get install busybox-static");
	check(run_have("ip"), 0, "ip (the demo pod's network)",
	    "apt-get install iproute2");
	check(run_have("podman"), 0, "podman (podman/NAME targets)",
	    "apt-get install podman");
	check(run_have("docker"), 0, "docker (docker/NAME targets)",
	    "install the docker CLI (or podman-docker)");
	check(run_have("kubectl"), 0, "kubectl (Kubernetes targets)",
	    "install kubectl and point it at a cluster");
	p = ctl_program_path("mirror-agent");
	check(access(p, X_OK) == 0, 1, "mirror-agent", "make install, or set "
	    "MIRROR_AGENT to its path");
	x_free(p);
	p = ctl_program_path("mirror-mountd");
	check(access(p, X_OK) == 0, 1, "mirror-mountd", "make install, or "
	    "set MIRROR_MOUNTD to its path");
	x_free(p);
	printf("%s\n", nfail ? "some required checks failed" :
	    "everything required is there");
	return nfail ? 1 : 0;
}
