/*
 * mirrorctl connect: gets an agent for the target (as mount does) and
 * starts mirror-netd on it: a TUN device, routes for the target's
 * networks, a DNS stub. Returns once netd is up; "mirrorctl disconnect"
 * takes it all down.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "cidr.h"
#include "mirrorctl.h"
#include "progress.h"
#include "net.h"
#include "netd-run.h"
#include "procfs.h"
#include "statedir.h"
#include "xmalloc.h"

#define CONNECT_ROUTES_MAX	64	/* --route and --never-route each */

static int	cmd_connect_exec(int, char **);

const struct cmd_entry cmd_connect_entry = {
	.name = "connect",
	.usage = "connect [--route CIDR]... [--never-route CIDR]... [--no-dns] "
	    "[--tun NAME] [--tun-range CIDR] [--tun-range6 CIDR] "
	    "[--token-file FILE] "
	    "[--fingerprint HEX] [-n NAMESPACE] [--context CTX] TARGET",
	.summary = "Route the target's networks and DNS names through a "
	    "tunnel (netd).",
	.help =
"Starts mirror-netd for TARGET (any form mount takes; see \"mirrorctl\n"
"mount --help\") and returns: a TUN device (net.tun_name, default\n"
"mirror0) with an address from net.tun_range, routes through it for\n"
"every --route / net.routes CIDR and for the target's own subnets, routes and\n"
"nameservers, minus --never-route / net.never_route and this machine's\n"
"own nameservers; a --route that would shadow one this machine has is\n"
"refused, naming both. What the target reports is routed only inside the private,\n"
"shared and test ranges (10/8, 172.16/12, 192.168/16, 100.64/10,\n"
"198.18/15, the TEST-NETs), no wider than a /8, and only where this\n"
"machine has no route for it, not even its default route (name such a\n"
"range with --route); \"mirrorctl status\" lists what was left out and\n"
"why. TCP, UDP and ping to those addresses leave from the target's\n"
"network namespace. A DNS stub on the TUN address answers this\n"
"machine's own programs with the target's nameservers (dig @ADDR\n"
"NAME). Needs root. One connection at a time.\n"
"\n"
"Options:\n"
"  --route CIDR       route this too (repeatable), e.g. a service range\n"
"  --never-route CIDR never route this (repeatable; also net.never_route)\n"
"  --no-dns           no DNS stub (also net.dns = false)\n"
"  --tun NAME         the device's name (default net.tun_name, mirror0)\n"
"  --tun-range CIDR   its addresses (default net.tun_range, 198.18.0.0/15)\n"
"  --tun-range6 CIDR  its IPv6 addresses (default net.tun_range6,\n"
"                     fd6d:6972:726f::/64)\n"
"  --token-file FILE  as for mount (ws:// agents need it)\n"
"  --fingerprint HEX  as for mount (wss:// agents need it)\n"
"  -n, --namespace NS, --context CTX   Kubernetes targets\n"
"  -q, --quiet        no progress while a Kubernetes agent starts\n"
"  --config FILE      configuration\n"
"\n"
"Examples:\n"
"  mirrorctl connect demo && curl http://203.0.113.2/\n"
"  mirrorctl connect -n shop deployment/orders --route 10.96.0.0/12\n"
"  mirrorctl status; mirrorctl disconnect\n",
	.exec = cmd_connect_exec,
};

static int
cmd_connect_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "route", required_argument, NULL, 'r' },
		{ "never-route", required_argument, NULL, 'N' },
		{ "no-dns", no_argument, NULL, 'D' },
		{ "tun", required_argument, NULL, 'T' },
		{ "tun-range", required_argument, NULL, 'R' },
		{ "tun-range6", required_argument, NULL, '6' },
		{ "token-file", required_argument, NULL, 't' },
		{ "fingerprint", required_argument, NULL, 'F' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "context", required_argument, NULL, 'C' },
		{ "config", required_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct mirror_conf conf;
	struct kube_opts ko;
	struct session s, old;
	struct target t;
	struct cidr route;
	const char *token_file = NULL, *config = NULL, *target;
	const char *fingerprint = NULL;
	/* --tun, --tun-range and --tun-range6 once each (the last given
	 * wins), after the routes: extra[] holds at most 4 per route pair
	 * plus these 6, --no-dns and the NULL. */
	const char *tun_opt[3] = { NULL, NULL, NULL };
	static const char *const tun_flag[3] = { "--tun", "--tun-range",
	    "--tun-range6" };
	const char *extra[4 * CONNECT_ROUTES_MAX + 8];
	int i;
	char addr[NETD_ADDR_MAX];
	int ch, nextra = 0, nroutes = 0, nnever = 0, no_dns = 0, rc;
	pid_t pid;

	memset(&ko, 0, sizeof(ko));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "hn:q", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
		case 'N':
			if ((ch == 'r' ? nroutes++ : nnever++) ==
			    CONNECT_ROUTES_MAX)
				return ctl_fail("at most %d --%s options",
				    CONNECT_ROUTES_MAX, ch == 'r' ? "route" :
				    "never-route");
			/* A prefix length is required here: a bare address
			 * is not a route. */
			if (strchr(optarg, '/') == NULL ||
			    cidr_parse(optarg, &route) < 0)
				return ctl_fail("--%s %s: want an address "
				    "and a prefix length, e.g. 10.96.0.0/12",
				    ch == 'r' ? "route" : "never-route",
				    optarg);
			extra[nextra++] = ch == 'r' ? "--route" :
			    "--never-route";
			extra[nextra++] = optarg;
			break;
		case 'T':
			tun_opt[0] = optarg;
			break;
		case 'R':
			if (cidr_parse(optarg, &route) < 0 ||
			    route.family != AF_INET)
				return ctl_fail("--tun-range %s: want an IPv4 "
				    "CIDR, e.g. 198.18.0.0/15", optarg);
			tun_opt[1] = optarg;
			break;
		case '6':
			if (cidr_parse(optarg, &route) < 0 ||
			    route.family != AF_INET6)
				return ctl_fail("--tun-range6 %s: want an IPv6 "
				    "CIDR, e.g. fd6d:6972:726f::/64", optarg);
			tun_opt[2] = optarg;
			break;
		case 'D': no_dns = 1; break;
		case 't': token_file = optarg; break;
		case 'F': fingerprint = optarg; break;
		case 'n': ko.ns = optarg; break;
		case 'q': progress_set_quiet(1); break;
		case 'C': ko.context = optarg; break;
		case 'c': config = optarg; break;
		case 'h': ctl_usage(&cmd_connect_entry); return 0;
		default:
			return ctl_fail("usage: mirrorctl %s",
			    cmd_connect_entry.usage);
		}
	}
	if (argc - optind != 1)
		return ctl_fail("usage: mirrorctl %s", cmd_connect_entry.usage);
	target = argv[optind];
	if (target_parse(target, &t) < 0)
		return 1;
	if ((ko.ns || ko.context) && t.kind != TARGET_KUBE)
		return ctl_fail("%s: -n and --context are for Kubernetes "
		    "targets", target);
	conf_defaults(&conf);
	if (conf_load(&conf, config) < 0)
		return 1;
	ko.conf = &conf;
	if (!conf.net_dns)
		no_dns = 1;
	if (geteuid() != 0)
		return ctl_fail("connect needs root: it creates a TUN device "
		    "and routes (run with sudo)");
	if (access("/dev/net/tun", F_OK) != 0)
		return ctl_fail("no /dev/net/tun: modprobe tun, or give the "
		    "container --device /dev/net/tun");
	/* A netd that died (SIGKILL) took its device and routes with it;
	 * its session is cleaned up here. */
	if (net_session_find(NULL, &old) == 0) {
		if (procfs_alive(old.netd_pid))
			return ctl_fail("already connected to %s (device %s); "
			    "disconnect first: mirrorctl disconnect",
			    old.target, old.dev);
		net_session_end(&old, 0);
	}
	if (ctl_agent_check(&t, target, token_file, &pid) < 0)
		return 1;
	if ((rc = session_create(&s)) < 0)
		return ctl_fail("cannot create session state in %s: %s",
		    state_dir("mirrorctl"), strerror(-rc));
	snprintf(s.target, sizeof(s.target), "%s", target);
	s.net = 1;
	if (t.kind == TARGET_WS && ctl_agent_pin(&s, fingerprint) < 0)
		goto fail;
	if (ctl_agent_start(&s, &t, pid, token_file, config, &conf, &ko,
	    0) < 0)
		goto fail;
	session_save(&s);
	for (i = 0; i < 3; i++)
		if (tun_opt[i] != NULL) {
			extra[nextra++] = tun_flag[i];
			extra[nextra++] = tun_opt[i];
		}
	if (no_dns)
		extra[nextra++] = "--no-dns";
	extra[nextra] = NULL;
	if (netd_run(&s, config, extra, conf.agent_connect_timeout + 5,
	    addr) < 0)
		goto fail;
	if ((rc = session_save(&s)) < 0)
		ctl_warn("cannot save the session: %s",
		    strerror(-rc));
	printf("connected %s: device %s, address %s", target, s.dev, addr);
	if (!no_dns)
		printf(", DNS %s:53", addr);
	printf("\n");
	net_print_routes(&s);
	return 0;
fail:
	ctl_agent_stop(&s);
	session_remove(&s);
	return 1;
}
