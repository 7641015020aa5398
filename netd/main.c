/*
 * mirror-netd: reaches the target's network from this machine. Connects
 * to the agent, learns the target's subnets and nameservers, creates a
 * TUN device with an address from a small range, routes those networks
 * through it (refusing any route that would shadow one this machine
 * already has) and relays what enters it (relay.c). Errors before that
 * reach the caller's terminal and exit status; then, without -f, it
 * detaches. SIGTERM or SIGINT removes the routes and the device.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "admit.h"
#include "cidr.h"
#include "agentconn.h"
#include "client.h"
#include "conf.h"
#include "daemon.h"
#include "fw.h"
#include "incoming.h"
#include "layer-ctl.h"
#include "local.h"
#include "localmatch.h"
#include "log.h"
#include "proto-net.h"
#include "netns.h"
#include "startup.h"
#include "relay.h"
#include "resolved.h"
#include "route.h"
#include "tun.h"
#include "xmalloc.h"

#define PROG	"mirror-netd"

#define ROUTES_MAX	256
#define NETD_MAX_INFLIGHT 4096	/* requests to the agent at once */
#define TUN_MTU		1500
#define TUN_MTU_NO_OFFLOAD 65000
#define TUN_PREFIX_MIN	28	/* the device's own subnet: .1 and the peers */
#define TUN_PREFIX6_MIN	120	/* the same in IPv6: ::1 and the peers */
#define NAMESERVERS_MAX	16	/* the target's, from its resolv.conf */
/* The target's resolv.conf as the agent sends it, and this machine's
 * as netd reads it: more is not a resolv.conf. */
#define LOCAL_RESOLV_CONF_MAX 65536
/* One prefix minus another: at most one piece per bit, and room. */
#define CIDR_PIECES_MAX	130
/* --check's address for the test device: 198.18.0.1, in the default
 * net.tun_range. */
#define CHECK_TUN_ADDR	0xc6120001u

static void
usage(FILE *f)
{
	fprintf(f,
"usage: mirror-netd --agent ws://HOST:PORT --token-file FILE [options]\n"
"       mirror-netd --agent wss://HOST:PORT --fingerprint HEX ...\n"
"       mirror-netd --check\n"
"\n"
"Routes the target's networks through a TUN device and relays what\n"
"enters it to the agent, which connects from inside the target's network\n"
"namespace. Usually started by \"mirrorctl connect\". Prints\n"
"\"ready DEVICE ADDRESS\" once up and, without -f, keeps running in the\n"
"background; SIGTERM removes the routes and the device.\n"
"\n"
"  --agent URL           the agent (ws://HOST:PORT)\n"
"  --token-file FILE     the agent's session token\n"
"  --fingerprint HEX     wss:// only: the SHA-256 of the agent's\n"
"                        certificate (its ready line's sha256=)\n"
"  --tun NAME            the device (default net.tun_name, \"mirror0\")\n"
"  --tun-range CIDR      its addresses (default net.tun_range,\n"
"                        198.18.0.0/15): .1 for the device and the DNS stub\n"
"  --tun-range6 CIDR     its IPv6 addresses (default net.tun_range6,\n"
"                        fd6d:6972:726f::/64): ::1 for the device\n"
"  --route CIDR          route this too (repeatable; also net.routes)\n"
"  --never-route CIDR    never route this (repeatable; net.never_route)\n"
"  --local DEST          leave from this machine (repeatable; net.local):\n"
"                        ADDR, CIDR, ADDR:PORT, CIDR:PORT, :PORT, NAME or\n"
"                        NAME:PORT; with --netns netd connects to them\n"
"                        itself, without it their addresses are not routed\n"
"  --no-dns              no DNS stub on the device's address\n"
"  --netns FILE          the device, routes and DNS stub in that network\n"
"                        namespace (a shell's), with a default route\n"
"  --exit-with PID       with --netns: exit when that process exits\n"
"  --resolv-out FILE     with --netns: write a resolv.conf for the stub\n"
"  --incoming MODE       with --netns: the pod's incoming traffic to the\n"
"                        shell's listeners: steal (each listening port's\n"
"                        connections in the pod come here instead),\n"
"                        mirror (a copy while the pod answers) or off\n"
"                        (the default); ports as incoming.* say\n"
"  --http-filter-header REGEX, --http-filter-path REGEX   with --incoming\n"
"                        steal: only the HTTP requests with a matching\n"
"                        header line (\"name: value\", the name in lower\n"
"                        case) or request target (both: all of them) are\n"
"                        stolen (instead of incoming.http_filter)\n"
"  --status-file FILE    keep a key=value status here (once a second)\n"
"  --pid-file FILE       write the daemon's PID here\n"
"  --log-file FILE       log here once detached (default: nowhere)\n"
"  --log-level LEVEL     error, warn, info or debug\n"
"  --config FILE         configuration (default: the installed mirror.conf)\n"
"  -f, --foreground      stay in the foreground\n"
"  --check               check that a TUN device and the routing tables\n"
"                        can be used, then exit\n"
"  -h, --help            this help\n");
}

static int
check(void)
{
	char name[IFNAMSIZ];
	const char *why = "";
	int fd, idx, n, offload;

	snprintf(name, sizeof(name), "mirrorchk%d", (int)getpid() % 10000);
	if ((fd = tun_open(name, 1, &offload)) < 0) {
		fprintf(stderr, "mirror-netd: cannot create a TUN device: %s "
		    "(needs /dev/net/tun and CAP_NET_ADMIN)\n", strerror(-fd));
		return DAEMON_EXIT_FAIL;
	}
	idx = route_link_index(name);
	if (idx > 0 && (n = fw_start(name, idx, htonl(CHECK_TUN_ADDR), NULL,
	    &why)) < 0) {
		close(fd);
		fprintf(stderr, "mirror-netd: %s: %s\n", why, strerror(-n));
		return DAEMON_EXIT_FAIL;
	}
	fw_stop();
	close(fd);
	if (idx < 0) {
		fprintf(stderr, "mirror-netd: the TUN device %s is not visible "
		    "through netlink: %s\n", name, strerror(-idx));
		return DAEMON_EXIT_FAIL;
	}
	if ((n = route_count_ipv4()) < 0) {
		fprintf(stderr, "mirror-netd: cannot read routes: %s\n",
		    strerror(-n));
		return DAEMON_EXIT_FAIL;
	}
	printf("ok: TUN device %s (index %d) created and removed; offload "
	    "%s; an owned nftables table made; %d IPv4 routes readable\n",
	    name, idx,
	    offload ? "on" : "off", n);
	return 0;
}


/* net.local, parsed once (local.c and localmatch.c). */
static struct localmatch lm;

/* OP_NET_INFO's answer. */
struct net_info {
	struct cidr	 subnets[ROUTES_MAX];
	char		 ifnames[ROUTES_MAX][IFNAMSIZ];
	uint8_t		 isroute[ROUTES_MAX];	/* a route, not a subnet */
	int		 nsubnets;
	struct cidr	 ns[NAMESERVERS_MAX];
	int		 nns;
};

static void
parse_resolv_conf(struct net_info *ni, const uint8_t *p, uint32_t n)
{
	ni->nns = admit_nameservers((const char *)p, n, ni->ns,
	    (int)(sizeof(ni->ns) / sizeof(ni->ns[0])));
}

/* An interface name from the agent, for messages and the status file:
 * at most IFNAMSIZ - 1 characters of those Linux allows, '?' for any
 * other (a fake agent's newline would add lines to the status file). */
static void
ifname_copy(char *dst, const char *src)
{
	size_t i;

	for (i = 0; i < IFNAMSIZ - 1 && src[i]; i++)
		dst[i] = (src[i] > ' ' && src[i] < 0x7f && src[i] != '/' &&
		    src[i] != ':') ? src[i] : '?';
	dst[i] = '\0';
}

/* An interface subnet of the target (list 0) or one of its other
 * routes (list 1: a service mesh's, a second interface's): both are
 * routed under the same admission rules (plan_agent). A route the
 * subnets hold already (the kernel's route of an address) is left out. */
static int
net_info_prefix(void *arg, int list, const struct proto_net_prefix *p)
{
	struct net_info *ni = arg;
	struct cidr c;
	int i;

	if (ni->nsubnets >= ROUTES_MAX)
		return 0;
	cidr_make(&c, p->family == 4 ? AF_INET : AF_INET6, p->addr,
	    p->prefixlen);
	for (i = 0; list != 0 && i < ni->nsubnets; i++)
		if (cidr_equal(&c, &ni->subnets[i]))
			return 0;
	ifname_copy(ni->ifnames[ni->nsubnets], p->ifname);
	ni->isroute[ni->nsubnets] = list != 0;
	ni->subnets[ni->nsubnets++] = c;
	return 0;
}

static int
net_info_parse(void *arg, struct proto_cur *p)
{
	struct net_info *ni = arg;
	const uint8_t *rc;
	uint32_t rlen;
	int err;

	if ((err = proto_dec_net_info(p, &rc, &rlen, net_info_prefix,
	    ni)) == 0) {
		parse_resolv_conf(ni, rc, rlen);
		netns_pod_resolv(rc, rlen);
		localmatch_pod_search(&lm, (const char *)rc, rlen);
	}
	return err;
}

static int
get_net_info(struct client *cl, struct net_info *ni)
{
	struct proto_buf b;

	proto_buf_init(&b, 64);
	(void)proto_enc_net_info_req(&b, 0);
	return client_call_wait(cl, &b, net_info_parse, ni);
}

/* Adds c to the set unless a prefix there holds it already; drops what
 * c holds. 0, or -E2BIG when the set is full. */
static int
set_add(struct cidr *set, int *n, const struct cidr *c)
{
	int i, j;

	for (i = 0; i < *n; i++)
		if (cidr_contains(&set[i], c))
			return 0;
	for (i = j = 0; i < *n; i++)
		if (!cidr_contains(c, &set[i]))
			set[j++] = set[i];
	*n = j;
	if (*n == ROUTES_MAX)
		return -E2BIG;
	set[(*n)++] = *c;
	return 0;
}

static int
set_subtract(struct cidr *set, int *n, const struct cidr *never)
{
	struct cidr out[ROUTES_MAX], piece[CIDR_PIECES_MAX];
	int i, k, m = 0, np;

	for (i = 0; i < *n; i++) {
		np = cidr_subtract(&set[i], never, piece, CIDR_PIECES_MAX);
		if (np < 0)
			return np;
		for (k = 0; k < np; k++) {
			if (m >= ROUTES_MAX)
				return -E2BIG;
			out[m++] = piece[k];
		}
	}
	memcpy(set, out, sizeof(out[0]) * (size_t)m);
	*n = m;
	return 0;
}

/* What is routed, and what was left out and why (the status file says
 * so to "mirrorctl status"). */
#define SKIPPED_MAX	64
#define SKIP_LEN	224
#define RESOLVERS_MAX	32

struct plan {
	const struct cidr *tunnet;
	const struct cidr *tunnet6;
	const struct cidr *nevers;
	int		 nnever;
	struct cidr	 resolvers[RESOLVERS_MAX];
	const char	*resolver_file[RESOLVERS_MAX];
	int		 nresolvers;
	struct route_have *have;	/* this machine's routes */
	int		 nhave;
	struct cidr	 routes[ROUTES_MAX];
	int		 nroutes;
	struct cidr	 user[ROUTES_MAX];	/* what the user named */
	int		 nuser;
	char		 skipped[SKIPPED_MAX][SKIP_LEN];
	int		 nskipped;
	int		 nmore;		/* left out beyond SKIPPED_MAX */
};

static void __attribute__((format(printf, 4, 5)))
plan_skip(struct plan *pl, const struct cidr *c, const char *src,
    const char *fmt, ...)
{
	char line[SKIP_LEN], cs[CIDR_STR_MAX], why[SKIP_LEN - 96];
	va_list ap;
	int i;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "%s (%s): %s", cidr_format(c, cs), src,
	    why);
	for (i = 0; i < pl->nskipped; i++)
		if (strcmp(pl->skipped[i], line) == 0)
			return;
	log_info("not routing %s", line);
	if (pl->nskipped == SKIPPED_MAX) {
		pl->nmore++;
		return;
	}
	memcpy(pl->skipped[pl->nskipped++], line, sizeof(line));
}

/* The nameservers this machine's own resolver uses: never routed, or a
 * pod could answer this machine's DNS. */
static void
plan_read_resolvers(struct plan *pl, const char *path)
{
	char *text = xmalloc(LOCAL_RESOLV_CONF_MAX);
	ssize_t r;
	size_t len = 0;
	int fd, i, k;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		goto out;
	while (len < LOCAL_RESOLV_CONF_MAX - 1 && (r = read(fd, text + len,
	    LOCAL_RESOLV_CONF_MAX - 1 - len)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	k = admit_nameservers(text, len, pl->resolvers + pl->nresolvers,
	    RESOLVERS_MAX - pl->nresolvers);
	for (i = 0; i < k; i++)
		pl->resolver_file[pl->nresolvers + i] = path;
	pl->nresolvers += k;
out:
	x_free(text);
}

/* The TUN range of c's family. */
static const struct cidr *
plan_tunnet(const struct plan *pl, const struct cidr *c)
{
	return c->family == AF_INET6 ? pl->tunnet6 : pl->tunnet;
}

/* Reads this machine's routes and resolvers; checks the TUN ranges. 0,
 * or -errno with the reason in msg. */

static int
plan_load(struct plan *pl, const struct cidr *tunnet,
    const struct cidr *tunnet6, const struct cidr *nevers, int nnever,
    char *msg, size_t msgsz)
{
	char cs[CIDR_STR_MAX];
	const struct cidr *t;
	int k, i;

	pl->tunnet = tunnet;
	pl->tunnet6 = tunnet6;
	pl->nevers = nevers;
	pl->nnever = nnever;
	plan_read_resolvers(pl, "/etc/resolv.conf");
	/* systemd-resolved's upstream servers, behind its 127.0.0.53 */
	plan_read_resolvers(pl, "/run/systemd/resolve/resolv.conf");
	if ((pl->nhave = route_list(&pl->have, 0)) < 0) {
		snprintf(msg, msgsz, "cannot read this machine's routes: %s",
		    strerror(-pl->nhave));
		return pl->nhave;
	}
	for (i = 0; i < 2; i++) {
		t = i == 0 ? tunnet : tunnet6;
		k = admit_covering(t, pl->have, pl->nhave);
		if (k >= 0 && pl->have[k].dst.len > 0) {
			snprintf(msg, msgsz, "the TUN range %s would shadow %s; "
			    "pick another with --tun-range%s or net.tun_range%s",
			    cidr_format(t, cs), pl->have[k].what,
			    i == 0 ? "" : "6", i == 0 ? "" : "6");
			return -EEXIST;
		}
	}
	return 0;
}

/* c minus the never-routes and this machine's resolvers, into out
 * (ROUTES_MAX); each resolver taken out is noted. Returns how many
 * pieces, or -E2BIG. */
static int
plan_pieces(struct plan *pl, const struct cidr *c, const char *src,
    struct cidr *out)
{
	int i, j, n = 1;

	out[0] = *c;
	for (i = 0; i < pl->nnever; i++)
		if (set_subtract(out, &n, &pl->nevers[i]) < 0)
			return -E2BIG;
	for (i = 0; i < pl->nresolvers; i++) {
		for (j = 0; j < n; j++)
			if (cidr_overlap(&out[j], &pl->resolvers[i]))
				break;
		if (j == n)
			continue;
		plan_skip(pl, &pl->resolvers[i], src, "a nameserver of this "
		    "machine (%s)", pl->resolver_file[i]);
		if (set_subtract(out, &n, &pl->resolvers[i]) < 0)
			return -E2BIG;
	}
	return n;
}

/* A --route or net.routes CIDR: routed, unless it would shadow one of
 * this machine's routes (then -EEXIST, why in msg) or is split into too
 * many pieces (-E2BIG). */
static int
plan_user(struct plan *pl, const struct cidr *c, char *msg, size_t msgsz)
{
	static struct cidr piece[ROUTES_MAX];
	char cs[CIDR_STR_MAX], ts[CIDR_STR_MAX];
	int i, k, n;

	if ((n = plan_pieces(pl, c, "--route", piece)) < 0) {
		snprintf(msg, msgsz, "--never-route (net.never_route) splits "
		    "the routes into too many pieces");
		return -E2BIG;
	}
	for (i = 0; i < n; i++) {
		cidr_format(&piece[i], cs);
		if (cidr_overlap(&piece[i], plan_tunnet(pl, &piece[i]))) {
			snprintf(msg, msgsz, "route %s overlaps the TUN range "
			    "%s; pick another with --tun-range%s or net.tun_range%s", cs,
			    cidr_format(plan_tunnet(pl, &piece[i]), ts),
			    piece[i].family == AF_INET6 ? "6" : "",
			    piece[i].family == AF_INET6 ? "6" : "");
			return -EEXIST;
		}
		k = admit_covering(&piece[i], pl->have, pl->nhave);
		if (k >= 0 && pl->have[k].dst.len > 0) {
			snprintf(msg, msgsz, "route %s would shadow %s; leave "
			    "it out with --never-route %s or net.never_route", cs,
			    pl->have[k].what, cs);
			return -EEXIST;
		}
		set_add(pl->routes, &pl->nroutes, &piece[i]);
		set_add(pl->user, &pl->nuser, &piece[i]);
	}
	return 0;
}

/* A prefix the agent reported (src says what it is): routed only if it
 * passes admission and takes no traffic this machine sends elsewhere
 * today; otherwise noted. */
static void
plan_agent(struct plan *pl, const struct cidr *c, const char *src)
{
	static struct cidr piece[ROUTES_MAX];
	struct cidr lo, ll, lo6, ll6;
	char cs[CIDR_STR_MAX];
	const char *why;
	int i, j, k, n;

	cidr_parse("127.0.0.0/8", &lo);
	cidr_parse("169.254.0.0/16", &ll);
	cidr_parse("::1/128", &lo6);
	cidr_parse("fe80::/10", &ll6);
	if (cidr_contains(&lo, c) || cidr_contains(&ll, c) ||
	    cidr_contains(&lo6, c) || cidr_contains(&ll6, c)) {
		plan_skip(pl, c, src, "the target's own loopback or "
		    "link-local address");
		return;
	}
	if (admit_agent_prefix(c, &why) < 0) {
		plan_skip(pl, c, src, "%s", why);
		return;
	}
	if (cidr_overlap(c, plan_tunnet(pl, c))) {
		plan_skip(pl, c, src, "overlaps the TUN range %s",
		    cidr_format(plan_tunnet(pl, c), cs));
		return;
	}
	if ((n = plan_pieces(pl, c, src, piece)) < 0) {
		plan_skip(pl, c, src, "--never-route (net.never_route) splits "
		    "it into too many pieces");
		return;
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < pl->nuser; j++)
			if (cidr_contains(&pl->user[j], &piece[i]))
				break;
		if (j < pl->nuser)
			continue;	/* routed as the user asked */
		k = admit_covering(&piece[i], pl->have, pl->nhave);
		if (k >= 0 && pl->have[k].dst.len > 0)
			plan_skip(pl, &piece[i], src, "would shadow %s",
			    pl->have[k].what);
		else if (k >= 0)
			plan_skip(pl, &piece[i], src, "this machine sends it "
			    "by its %s; --route %s routes it (or net.routes)",
			    pl->have[k].what,
			    cidr_format(&piece[i], cs));
		else if (set_add(pl->routes, &pl->nroutes, &piece[i]) < 0)
			plan_skip(pl, &piece[i], src, "more than %d routes",
			    ROUTES_MAX);
	}
}

/* --http-filter-header and --http-filter-path: the filter of the
 * configuration replaced. */
static int
flag_filter(struct mirror_conf *conf, const char *header, const char *path)
{
	struct http_filter_wire w;
	char err[128];

	if (http_filter_from_flags(&w, header, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: --http-filter-%s: %s\n", PROG,
		    header != NULL && http_filter_check_re(HF_HEADER, header,
		    err, sizeof(err)) < 0 ? "header" : "path", err);
		return -1;
	}
	memcpy(conf->incoming_filter, w.buf, w.len);
	conf->incoming_filter_len = w.len;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "agent", required_argument, NULL, 'a' },
		{ "token-file", required_argument, NULL, 't' },
		{ "fingerprint", required_argument, NULL, 'F' },
		{ "tun", required_argument, NULL, 'T' },
		{ "tun-range", required_argument, NULL, 'R' },
		{ "tun-range6", required_argument, NULL, '6' },
		{ "route", required_argument, NULL, 'r' },
		{ "never-route", required_argument, NULL, 'n' },
		{ "local", required_argument, NULL, 'o' },
		{ "no-dns", no_argument, NULL, 'D' },
		{ "status-file", required_argument, NULL, 's' },
		{ "netns", required_argument, NULL, 'N' },
		{ "exit-with", required_argument, NULL, 'E' },
		{ "resolv-out", required_argument, NULL, 'O' },
		{ "incoming", required_argument, NULL, 'I' },
		{ "http-filter-header", required_argument, NULL, 'H' },
		{ "http-filter-path", required_argument, NULL, 'P' },
		{ "pid-file", required_argument, NULL, 'p' },
		{ "log-file", required_argument, NULL, 'l' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "check", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static struct cidr routes[ROUTES_MAX], nevers[ROUTES_MAX];
	static struct net_info ni;
	static struct plan plan;
	static const char *arg_locals[LOCALMATCH_MAX];
	static const char *skipped[SKIPPED_MAX];
	struct mirror_conf conf;
	struct relay_config rc_cfg;
	struct client *cl = NULL;
	struct agentconn ac;
	const char *url = NULL, *token_file = NULL, *config = NULL;
	const char *filter_header = NULL, *filter_path = NULL;
	const char *fingerprint = NULL, *netns_file = NULL, *resolv_out = NULL;
	long exit_with = 0;
	char *end;
	const char *tun_name = NULL, *tun_range = NULL, *status_file = NULL;
	const char *tun_range6 = NULL;
	const char *pid_file = NULL, *log_file = NULL, *level = NULL;
	const char *why = "", *arg_routes[ROUTES_MAX], *arg_nevers[ROUTES_MAX];
	char msg[1024], dev[IFNAMSIZ];
	char what[256], cs[CIDR_STR_MAX], addr_s[INET_ADDRSTRLEN];
	char addr6_s[INET6_ADDRSTRLEN];
	char fwname[IFNAMSIZ + 16];
	struct cidr range, tunnet, range6, tunnet6, c;
	struct in6_addr tun6;
	int has6 = 0;
	int ch, fg = 0, no_dns = 0, nar = 0, nan = 0, nroutes = 0, nnever = 0;
	int nal = 0;
	int wfd = -1, ret = DAEMON_EXIT_FAIL, rc, i, tunfd = -1;
	int in_mode = CONF_IN_OFF;
	int offload = 0, ifindex = 0, added = 0, sig, do_check = 0;
	uint32_t tun_addr;
	sigset_t sigs;

	log_init("mirror-netd", LOG_LVL_INFO);
	while ((ch = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (ch) {
		case 'a': url = optarg; break;
		case 't': token_file = optarg; break;
		case 'F': fingerprint = optarg; break;
		case 'T': tun_name = optarg; break;
		case 'R': tun_range = optarg; break;
		case '6': tun_range6 = optarg; break;
		case 'r':
			if (nar >= ROUTES_MAX)
				fatalx("too many --route");
			arg_routes[nar++] = optarg;
			break;
		case 'n':
			if (nan >= ROUTES_MAX)
				fatalx("too many --never-route");
			arg_nevers[nan++] = optarg;
			break;
		case 'o':
			if (nal >= LOCALMATCH_MAX)
				fatalx("too many --local");
			arg_locals[nal++] = optarg;
			break;
		case 'D': no_dns = 1; break;
		case 's': status_file = optarg; break;
		case 'N': netns_file = optarg; break;
		case 'O': resolv_out = optarg; break;
		case 'I':
			if ((in_mode = conf_incoming_mode(optarg)) < 0)
				fatalx("--incoming %s: steal, mirror or off",
				    optarg);
			break;
		case 'H': filter_header = optarg; break;
		case 'P': filter_path = optarg; break;
		case 'E':
			exit_with = strtol(optarg, &end, 10);
			if (*end != '\0' || exit_with <= 0 || exit_with > INT_MAX)
				fatalx("--exit-with %s: not a PID", optarg);
			break;
		case 'p': pid_file = optarg; break;
		case 'l': log_file = optarg; break;
		case 'L': level = optarg; break;
		case 'c': config = optarg; break;
		case 'f': fg = 1; break;
		case 'C': do_check = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return DAEMON_EXIT_USAGE;
		}
	}
	if (do_check && optind == argc && url == NULL)
		return check();
	if (optind != argc || url == NULL || token_file == NULL) {
		usage(stderr);
		return DAEMON_EXIT_USAGE;
	}
	if (daemon_configure(&conf, config, level) < 0)
		return DAEMON_EXIT_FAIL;
	if ((filter_header != NULL || filter_path != NULL) &&
	    flag_filter(&conf, filter_header, filter_path) < 0)
		return DAEMON_EXIT_USAGE;
	if (tun_name == NULL)
		tun_name = conf.net_tun_name;
	if (tun_range == NULL)
		tun_range = conf.net_tun_range;
	if (tun_range6 == NULL)
		tun_range6 = conf.net_tun_range6;
	if (strlen(tun_name) >= IFNAMSIZ || tun_name[0] == '\0')
		fatalx("--tun %s: a device name has 1 to %d characters",
		    tun_name, IFNAMSIZ - 1);
	snprintf(dev, sizeof(dev), "%s", tun_name);
	if (cidr_parse(tun_range, &range) < 0 || range.family != AF_INET)
		fatalx("--tun-range %s: not an IPv4 CIDR", tun_range);
	if (range.len > TUN_PREFIX_MIN)
		fatalx("--tun-range %s is too small: it needs at least a /%d "
		    "(the device, the DNS stub and %d peer addresses)",
		    tun_range, TUN_PREFIX_MIN, RELAY_PEERS);
	/* .1 of the range: the device, the listener and the DNS stub;
	 * .2-.9: the fake peers, routed through the device by its own
	 * subnet. */
	memcpy(&tun_addr, range.addr, 4);
	tun_addr = htonl(ntohl(tun_addr) + 1);
	cidr_make(&tunnet, AF_INET, range.addr, TUN_PREFIX_MIN);
	if (cidr_parse(tun_range6, &range6) < 0 || range6.family != AF_INET6)
		fatalx("--tun-range6 %s: not an IPv6 CIDR", tun_range6);
	if (range6.len > TUN_PREFIX6_MIN)
		fatalx("--tun-range6 %s is too small: it needs at least a /%d",
		    tun_range6, TUN_PREFIX6_MIN);
	/* ::1 of the range: the device and its listener; ::2-::9: the
	 * fake IPv6 peers. */
	memcpy(&tun6, range6.addr, 16);
	tun6.s6_addr[15] |= 1;
	cidr_make(&tunnet6, AF_INET6, range6.addr, TUN_PREFIX6_MIN);
	for (i = 0; i < conf.net_nroutes; i++)
		if (nar < ROUTES_MAX)
			arg_routes[nar++] = conf.net_routes[i];
	for (i = 0; i < conf.net_nnever; i++)
		if (nan < ROUTES_MAX)
			arg_nevers[nan++] = conf.net_never[i];
	for (i = 0; i < nan; i++) {
		if (cidr_parse(arg_nevers[i], &nevers[nnever]) < 0)
			fatalx("--never-route %s: not a CIDR", arg_nevers[i]);
		nnever++;
	}
	for (i = 0; i < nar; i++)
		if (cidr_parse(arg_routes[i], &c) < 0)
			fatalx("--route %s: not a CIDR", arg_routes[i]);
	/* net.local: parsed once. In a shell netd relays them itself
	 * (local.c); for mirrorctl connect their whole addresses are
	 * simply not routed, and ports and names cannot be told apart by
	 * a route. */
	localmatch_init(&lm);
	for (i = 0; i < conf.net_nlocal && nal < LOCALMATCH_MAX; i++)
		arg_locals[nal++] = conf.net_local[i];
	for (i = 0; i < nal; i++)
		if (localmatch_add(&lm, arg_locals[i], &why) < 0)
			fatalx("net.local %s: %s", arg_locals[i], why);
	if (netns_file == NULL && !localmatch_empty(&lm)) {
		int k = localmatch_cidrs(&lm, nevers + nnever,
		    ROUTES_MAX - nnever);

		nnever += k;
		if (lm.nnames > 0 || lm.nnets > k)
			log_info("net.local: host names and ports apply in a "
			    "shell only; here only whole addresses and CIDRs "
			    "stay unrouted");
	}
	if (!conf.net_dns)
		no_dns = 1;
	if (in_mode != CONF_IN_OFF && netns_file == NULL)
		fatalx("--incoming needs --netns (a shell's namespace)");
	agentconn_init(&ac, PROG, url, fingerprint, token_file, &conf);
	if (netns_open(netns_file, (pid_t)exit_with, resolv_out, msg,
	    sizeof(msg)) < 0)
		fatalx("%s", msg);
	if (access("/dev/net/tun", R_OK | W_OK) != 0)
		fatalx("cannot use /dev/net/tun: %s (load the tun module, or "
		    "run in a container with --device /dev/net/tun)",
		    strerror(errno));

	/* Signals are taken by sigwait below; every thread inherits the
	 * mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (!fg)
		wfd = daemon_detach(PROG, "network daemon", log_file);
	incoming_configure(in_mode, &conf);

	snprintf(msg, sizeof(msg), "the agent at %s does not serve the "
	    "network (no CAP_NET in its hello): update mirror-agent", url);
	ac.max_inflight = NETD_MAX_INFLIGHT;
	ac.on_stream = relay_on_stream;
	ac.on_link = relay_on_link;
	ac.caps = CAP_NET;
	ac.caps_missing = msg;
	if ((ret = agentconn_start(&ac, wfd, &cl)) != 0)
		goto out;
	ret = DAEMON_EXIT_FAIL;
	if ((rc = get_net_info(cl, &ni)) < 0) {
		ret = startup_fail(wfd, PROG, DAEMON_EXIT_UNREACHABLE, "the "
		    "agent at %s did not describe the target's network: %s",
		    url, strerror(-rc));
		goto out;
	}

	/* net.local's threads stay in netd's own namespace: started here,
	 * after the detach and before the setns. */
	if (netns_active() && !localmatch_empty(&lm) &&
	    (rc = local_start(&lm, conf.net_udp_idle)) < 0) {
		ret = startup_fail(wfd, PROG, DAEMON_EXIT_FAIL, "cannot start "
		    "the net.local relay: %s", strerror(-rc));
		goto out;
	}
	/* --netns: from here on this thread works inside that namespace;
	 * the agent's socket stays in ours. */
	if ((rc = netns_enter()) < 0) {
		snprintf(msg, sizeof(msg), "cannot enter --netns %s: %s",
		    netns_file, strerror(-rc));
		startup_report(wfd, PROG, DAEMON_EXIT_FAIL, msg);
		goto out;
	}
	/* The route set: --route and net.routes, and what the agent
	 * reported that passes admission (plan_agent), minus
	 * --never-route, net.never_route and this machine's resolvers. */
	if ((rc = plan_load(&plan, &tunnet, &tunnet6, nevers, nnever, msg,
	    sizeof(msg))) < 0) {
		startup_report(wfd, PROG, DAEMON_EXIT_FAIL, msg);
		goto out;
	}
	for (i = 0; i < nar; i++) {
		cidr_parse(arg_routes[i], &c);
		if (plan_user(&plan, &c, msg, sizeof(msg)) < 0) {
			startup_report(wfd, PROG, DAEMON_EXIT_FAIL, msg);
			goto out;
		}
	}
	for (i = 0; i < ni.nsubnets; i++) {
		snprintf(what, sizeof(what), "%s on %s", ni.isroute[i] ?
		    "route" : "subnet", ni.ifnames[i]);
		plan_agent(&plan, &ni.subnets[i], what);
	}
	for (i = 0; i < ni.nns; i++)
		plan_agent(&plan, &ni.ns[i], "nameserver");

	if ((tunfd = tun_open(dev, 1, &offload)) < 0) {
		startup_fail(wfd, PROG, DAEMON_EXIT_FAIL, "cannot create the "
		    "TUN device %s: %s%s", dev, strerror(-tunfd),
		    tunfd == -EBUSY ? " (another mirror-netd uses it? pick a "
		    "name with --tun or net.tun_name)" : " (needs "
		    "CAP_NET_ADMIN)");
		goto out;
	}
	if (!offload)
		log_warnx("the kernel refused TSO offload on %s; using a %d-byte "
		    "MTU instead", dev, TUN_MTU_NO_OFFLOAD);
	if ((rc = tun_configure(dev, tun_addr, TUN_PREFIX_MIN,
	    offload ? TUN_MTU : TUN_MTU_NO_OFFLOAD)) < 0 ||
	    (rc = ifindex = route_link_index(dev)) < 0) {
		startup_fail(wfd, PROG, DAEMON_EXIT_FAIL, "cannot set up the "
		    "TUN device %s: %s", dev, strerror(-rc));
		goto out;
	}
	/* IPv6 where this machine has it; without, the pod's IPv6
	 * networks are left out (and said so), IPv4 works on. */
	if ((rc = tun_configure6(dev, &tun6, TUN_PREFIX6_MIN)) == 0)
		has6 = 1;
	else
		log_warnx("no IPv6 address on %s (%s): IPv4 only",
		    dev, strerror(-rc));
	for (i = 0; i < plan.nroutes; i++) {
		if (plan.routes[i].family == AF_INET6 && !has6)
			plan_skip(&plan, &plan.routes[i], "IPv6", "IPv6 is "
			    "off on this machine");
		else
			routes[nroutes++] = plan.routes[i];
	}
	/* Before any route: nothing but this host may use the tunnel. */
	if (!netns_active() && (rc = fw_start(dev, ifindex, tun_addr,
	    has6 ? &tun6 : NULL, &why)) < 0) {
		startup_fail(wfd, PROG, DAEMON_EXIT_FAIL, "%s: %s", why,
		    strerror(-rc));
		goto out;
	}
	for (i = 0; i < nroutes; i++) {
		const char *nlwhy = NULL;

		if ((rc = route_add(ifindex, &routes[i],
		    routes[i].family == AF_INET6 ? (const void *)&tun6 :
		    (const void *)&tun_addr, &nlwhy)) < 0) {
			startup_fail(wfd, PROG, DAEMON_EXIT_FAIL, "cannot add "
			    "the route %s dev %s: %s", cidr_format(&routes[i],
			    cs), dev, nlwhy ? nlwhy : strerror(-rc));
			goto out;
		}
		added++;
		log_debug("route %s dev %s", cidr_format(&routes[i], cs), dev);
	}
	if ((rc = netns_setup(ifindex, tun_addr, has6 ? &tun6 : NULL,
	    &why)) < 0) {
		snprintf(msg, sizeof(msg), "%s: %s", why, strerror(-rc));
		startup_report(wfd, PROG, DAEMON_EXIT_FAIL, msg);
		goto out;
	}

	incoming_setup_ns();
	/* The layer's reports of listen(): the socket is born in the
	 * shell's namespace, where this thread is now. */
	if (incoming_active() && (rc = layer_ctl_start()) < 0)
		log_warnx("layer: cannot make %s in the shell's namespace "
		    "(%s); its listeners are found by watching alone",
		    LAYER_CTL_NAME, strerror(-rc));

	memset(&rc_cfg, 0, sizeof(rc_cfg));
	rc_cfg.client = cl;
	rc_cfg.tunfd = tunfd;
	rc_cfg.tun_addr = tun_addr;
	rc_cfg.has6 = has6;
	rc_cfg.tun6 = tun6;
	rc_cfg.dns = !no_dns;
	rc_cfg.udp_idle = conf.net_udp_idle;
	rc_cfg.dev = dev;
	rc_cfg.agent_url = url;
	rc_cfg.status_file = status_file;
	fw_table_name(dev, fwname, sizeof(fwname));
	rc_cfg.fw_table = netns_active() ? NULL : fwname;
	rc_cfg.routes = routes;
	rc_cfg.nroutes = nroutes;
	for (i = 0; i < plan.nskipped; i++)
		skipped[i] = plan.skipped[i];
	rc_cfg.skipped = skipped;
	rc_cfg.nskipped = plan.nskipped;
	rc_cfg.nmore = plan.nmore;
	if ((rc = relay_start(&rc_cfg, &why)) < 0) {
		startup_fail(wfd, PROG, DAEMON_EXIT_FAIL, "%s: %s", why,
		    strerror(-rc));
		goto out;
	}
	if ((rc = netns_start(tun_addr, has6 ? &tun6 : NULL, !no_dns, &why)) < 0) {
		snprintf(msg, sizeof(msg), "%s: %s", why, strerror(-rc));
		startup_report(wfd, PROG, DAEMON_EXIT_FAIL, msg);
		local_stop();
		relay_stop();
		goto out;
	}
	/* connect only: a shell has the stub in its own resolv.conf. */
	if (!netns_active() && !no_dns)
		resolved_register(ifindex, dev, tun_addr, lm.search, lm.nsearch);
	daemon_pidfile_write(pid_file);
	inet_ntop(AF_INET, &tun_addr, addr_s, sizeof(addr_s));
	snprintf(msg, sizeof(msg), "ready %s %s", dev, addr_s);
	daemon_ready(wfd, PROG, log_file, msg);
	inet_ntop(AF_INET6, &tun6, addr6_s, sizeof(addr6_s));
	log_info("up: %s %s%s%s, %d route(s), DNS stub %s, offload %s", dev,
	    addr_s, has6 ? " " : "", has6 ? addr6_s : "", nroutes,
	    no_dns ? "off" : "on", offload ? "on" : "off");

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP)
			continue;
		break;
	}
	log_info("signal %d: removing the routes and %s", sig, dev);
	layer_ctl_stop();
	netns_stop();
	local_stop();		/* its NAT entries are the relay's */
	relay_stop();
	ret = DAEMON_EXIT_OK;
out:
	resolved_revert();	/* before the device goes */
	layer_ctl_stop();	/* its threads use the agent's client */
	local_stop();
	/* Routes first, explicitly; the device (and anything left through
	 * it) goes when its fd closes. */
	if (tunfd >= 0 && added > 0)
		for (i = 0; i < added; i++)
			route_del(ifindex, &routes[i]);
	if (tunfd >= 0)
		close(tunfd);
	fw_stop();
	if (cl) {
		client_stop(cl);
		client_free(cl);
	}
	if (ret == DAEMON_EXIT_OK)
		daemon_pidfile_remove(pid_file);
	return ret;
}
