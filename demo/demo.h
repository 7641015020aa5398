/*
 * mirror-demo: the bundled demo pod's runtime, a helper program that
 * "mirrorctl demo" and "mirrorctl mount demo" run (it is not a command
 * users type). A busybox root filesystem, built on first use, run as
 * PID 1 of new mount, pid, net and uts namespaces with the seed sample
 * app's environment, an HTTP server on port 80 and a veth link to the
 * host. It is the target that needs no cluster.
 *
 * main.c: the verbs (up, down, purge, status), the state directory, the
 * pid file and the lock. rootfs.c: the root filesystem and its fixture
 * data. pod.c: the pod's processes, its namespaces and its veth link.
 *
 * It speaks for mirrorctl: its messages start "mirrorctl: ", as they did
 * when this code was linked into mirrorctl, and the users who read them
 * typed mirrorctl.
 */
#ifndef MIRROR_DEMO_H
#define MIRROR_DEMO_H

#include <sys/types.h>

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

/* The seed sample app's environment; the first also marks our pod. */
#define DEMO_ENV_FIRST		"MIRRORD_FAKE_VAR_FIRST=mirrord.is.running"
#define DEMO_ENV_SECOND		"MIRRORD_FAKE_VAR_SECOND=7777"

/* The service-account volume (a tmpfs the pod's init mounts and fills,
 * as the kubelet does), relative to the rootfs. */
#define DEMO_SA_DIR		"var/run/secrets/kubernetes.io/serviceaccount"

#define DEMO_READY_MS		5000	/* until httpd answers */
#define DEMO_STOP_MS		5000	/* after SIGTERM, before SIGKILL */
#define DEMO_KILL_MS		2000	/* after SIGKILL */

/* The name its messages carry (see above). */
#define DEMO_PROGNAME		"mirrorctl"

/*
 * State lives in <state dir>/demo: "pid" holds the host PID of the pod's
 * init, "rootfs" its root ("rootfs.version" says which content it has),
 * "lock" serialises up, down and purge.
 */
struct demo_paths {
	char	*dir;		/* <state>/demo */
	char	*pidfile;
	char	*lockfile;
	char	*rootfs;
	char	*rootfs_tmp;	/* built here, renamed to rootfs when whole */
	char	*version;	/* DEMO_ROOTFS_VERSION of rootfs */
};

/* main.c */
/* Prints "mirrorctl: MSG" on stderr. Returns 1 (an exit code). */
int	demo_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	demo_sleep_ms(int ms);

/* rootfs.c */
/* rm -rf that never leaves the file system it starts on. */
int	demo_rm_tree(const char *path);
/* 0 if the rootfs is there and of this version of mirror. */
int	demo_rootfs_current(struct demo_paths *);
/* Builds the rootfs in rootfs_tmp and renames it into place; prints the
 * cause of a failure. */
int	demo_rootfs_build(struct demo_paths *, int quiet);
/* Writes the service-account files (token, namespace, ca.crt) into the
 * directory dir. 0 or -errno. */
int	demo_rootfs_secrets(const char *dir);

/* pod.c */
/* Looks for a program in $PATH and the sbin directories sudo may drop.
 * *path: caller frees. */
int	demo_find_program(const char *name, char **path);
/* Starts the pod's processes; *pod is its init's host PID. */
int	demo_pod_start(struct demo_paths *, pid_t *pod);
/* 0 if pid is the init of the pod rooted at rootfs, -ESRCH if it is not
 * (or gone), another -errno if that cannot be told. */
int	demo_is_our_pod(pid_t, const char *rootfs);
/* Waits up to ms for pid to be gone; 0 if it is. */
int	demo_wait_gone(pid_t, int ms);
int	demo_link_exists(void);
/* Refuses a network this machine already uses. */
int	demo_net_check(void);
/* The veth pair, the pod's end inside the pod; with ip, the path of ip. */
int	demo_net_up(const char *ip, pid_t pod);
/* Removes the host end (and so both ends) if it is still there. */
void	demo_net_down(const char *ip);
/* Waits until something accepts connections on the pod's HTTP port. */
int	demo_wait_http(pid_t pod);

#endif
