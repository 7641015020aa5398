/*
 * mirror-forward: the data path of `mirrorctl port-forward`, run by
 * mirrorctl (which links no transport) from pkglibexecdir. It connects
 * and authenticates to the agent as mountd and netd do (lib/client.c),
 * resolves each forward's HOST as the pod does (forward-dns.c: OP_DNS
 * with the pod's search list), prints one "forwarding" line per forward
 * and relays every accepted connection through a stream the agent
 * connects from the pod (forward-relay.c), until SIGINT, SIGTERM or
 * SIGHUP. Each -R has the agent steal the pod's port (OP_INCOMING_SUB)
 * and relays every connection to it to a service here; the ports are
 * given back on the way out. Its listening sockets are bound here, or by mirrorctl and
 * inherited (--listen-fds: fd 3 + i is the i-th -L's), so that mirrorctl
 * says a port is taken before it starts an agent.
 * Exit status: 0 after a signal, 1 with a line on stderr saying why,
 * 2 for a usage mistake.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "conf.h"
#include "forward-dns.h"
#include "forward-relay.h"
#include "forward-spec.h"
#include "log.h"
#include "proto-net.h"
#include "token.h"
#include "xmalloc.h"

#define PROG		"mirror-forward"
#define FORWARDS_MAX	64
#define DNS_TYPE_A	1
#define DNS_TYPE_AAAA	28

static void
usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " --agent URL --token-file FILE [--fingerprint HEX]\n"
"                      [--config FILE] [--listen-fds] [-L SPEC ...] [-R RSPEC ...]\n"
"\n"
"Forwards local TCP ports to hosts the pod reaches, through the agent at\n"
"URL. SPEC is [LADDR:]LPORT:HOST:RPORT (LADDR 127.0.0.1 by default; HOST\n"
"an address or a name the pod resolves; LPORT 0 picks a free port).\n"
"RSPEC is [ADDR:]RPORT:LHOST:LPORT: connections to the pod's port RPORT\n"
"(on any of its addresses) go to LHOST:LPORT here (LHOST numeric or\n"
"localhost).\n"
"--listen-fds: the listening sockets are inherited, fd 3 for the first\n"
"-L, 4 for the second, ... Runs until SIGINT or SIGTERM.\n"
"Run by mirrorctl port-forward.\n");
}

/* ---- names, as the pod resolves them ------------------------------- */

struct copied {
	uint8_t	*p;
	size_t	 n;
};

/* The bytes a reply's decoder pointed at, kept past the call. */
static void
keep(struct copied *out, const uint8_t *p, uint32_t n)
{
	out->p = xmalloc((size_t)n + 1);
	memcpy(out->p, p, n);
	out->p[n] = '\0';
	out->n = n;
}

static int
net_info_parse(void *arg, struct proto_cur *c)
{
	const uint8_t *r;
	uint32_t n;
	int rc = proto_dec_net_info(c, &r, &n, NULL, NULL);

	if (rc == 0)
		keep(arg, r, n);
	return rc;
}

static int
dns_parse(void *arg, struct proto_cur *c)
{
	const uint8_t *a;
	uint32_t n;
	int rc = proto_dec_dns_reply(c, &a, &n);

	if (rc == 0)
		keep(arg, a, n);
	return rc;
}

/* The addresses of name of family (the first of them into addr). 1 if
 * found, 0 if not, -errno if the agent failed. */
static int
ask(struct client *cl, const char *name, int family, uint8_t *addr)
{
	uint8_t addrs[FWDDNS_ADDRS_MAX][16], *q;
	struct copied ans = { NULL, 0 };
	struct proto_buf b;
	size_t qlen;
	int rc;

	if (fwddns_query(name, family == 4 ? DNS_TYPE_A : DNS_TYPE_AAAA,
	    &q, &qlen) < 0)
		return 0;
	proto_buf_init(&b, PROTO_HDR_LEN + 4 + qlen);
	rc = proto_enc_dns_req(&b, 0, q, qlen);
	fwddns_free(q);
	if (rc < 0) {
		proto_buf_free(&b);
		return rc;
	}
	if ((rc = client_call_wait(cl, &b, dns_parse, &ans)) < 0)
		return rc;
	rc = fwddns_answer(ans.p, ans.n, family, addrs);
	x_free(ans.p);
	if (rc < 0)
		return rc;
	if (rc > 0)
		memcpy(addr, addrs[0], family == 4 ? 4 : 16);
	return rc > 0;
}

/* Every forward's HOST as an address; names through the agent, once. */
static int
resolve_all(struct client *cl, struct fwd_listen *ls, int n, const char *url)
{
	struct copied resolv = { NULL, 0 };
	struct fwddns_plan plan;
	struct proto_buf b;
	int i, j, fam, rc = 0, fetched = 0, found;

	for (i = 0; i < n; i++) {
		struct fwd_listen *l = &ls[i];

		if (l->spec.host_family != 0) {
			l->family = l->spec.host_family;
			memcpy(l->addr, l->spec.host_addr, 16);
			continue;
		}
		if (strcmp(l->spec.host, "localhost") == 0) {
			/* The pod's own loopback: no resolver asks DNS. */
			l->family = 4;
			memcpy(l->addr, "\177\0\0\1", 4);
			continue;
		}
		if (!fetched) {
			proto_buf_init(&b, PROTO_HDR_LEN);
			proto_enc_net_info_req(&b, 0);
			if ((rc = client_call_wait(cl, &b, net_info_parse,
			    &resolv)) < 0) {
				fprintf(stderr, PROG ": the agent at %s did not "
				    "say how its pod resolves names: %s\n",
				    url, strerror(-rc));
				goto out;
			}
			fetched = 1;
		}
		fwddns_plan(l->spec.host, (const char *)resolv.p, resolv.n,
		    &plan);
		found = 0;
		for (fam = 4; fam <= 6 && !found; fam += 2)
			for (j = 0; j < plan.n && !found; j++) {
				rc = ask(cl, plan.names[j], fam, l->addr);
				if (rc < 0) {
					fprintf(stderr, PROG ": resolving %s in "
					    "the pod: %s\n", l->spec.host,
					    strerror(-rc));
					goto out;
				}
				found = rc;
				l->family = fam;
			}
		if (!found) {
			fprintf(stderr, PROG ": %s: the pod resolves no "
			    "address for it\n", l->spec.host);
			rc = -ENOENT;
			goto out;
		}
		rc = 0;
	}
out:
	x_free(resolv.p);
	return rc;
}

/* ---- the listening sockets ----------------------------------------- */

static int
take_listener(struct fwd_listen *l, int inherited, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int acc = 0;
	socklen_t al = sizeof(acc);

	if (inherited) {
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) < 0 ||
		    !acc) {
			fprintf(stderr, PROG ": fd %d is not a listening "
			    "socket\n", fd);
			return -1;
		}
		l->fd = fd;
		(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	} else if ((l->fd = fwdspec_listen(&l->spec)) < 0) {
		char want[FWDSPEC_STR_MAX + 8];

		fwdspec_local_str(&l->spec.laddr, want, sizeof(want));
		fprintf(stderr, PROG ": cannot listen on %s: %s\n", want,
		    strerror(-l->fd));
		return -1;
	}
	if (getsockname(l->fd, (struct sockaddr *)&ss, &sl) < 0) {
		fprintf(stderr, PROG ": getsockname: %s\n", strerror(errno));
		return -1;
	}
	fwdspec_local_str(&ss, l->local, sizeof(l->local));
	fwdspec_remote_str(&l->spec, l->remote, sizeof(l->remote));
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "agent", required_argument, NULL, 'a' },
		{ "token-file", required_argument, NULL, 't' },
		{ "fingerprint", required_argument, NULL, 'F' },
		{ "config", required_argument, NULL, 'c' },
		{ "listen-fds", no_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *url = NULL, *token_file = NULL, *fingerprint = NULL;
	const char *config = NULL, *why = NULL, *specs[FORWARDS_MAX];
	const char *rspecs[FORWARDS_MAX];
	struct fwd_rfwd rs[FORWARDS_MAX];
	char token[PROTO_TOKEN_MAX + 1];
	struct fwd_listen ls[FORWARDS_MAX];
	struct mirror_conf conf;
	struct client *cl = NULL;
	sigset_t sigs;
	int ch, rc, i, n = 0, nr = 0, inherited = 0, ret = 1, subbed = 0;

	log_init(PROG, LOG_LVL_WARN);
	while ((ch = getopt_long(argc, argv, "hL:R:", opts, NULL)) != -1) {
		switch (ch) {
		case 'a': url = optarg; break;
		case 't': token_file = optarg; break;
		case 'F': fingerprint = optarg; break;
		case 'c': config = optarg; break;
		case 'I': inherited = 1; break;
		case 'L':
			if (n == FORWARDS_MAX) {
				fprintf(stderr, PROG ": at most %d forwards\n",
				    FORWARDS_MAX);
				return 2;
			}
			specs[n++] = optarg;
			break;
		case 'R':
			if (nr == FORWARDS_MAX) {
				fprintf(stderr, PROG ": at most %d -R forwards\n",
				    FORWARDS_MAX);
				return 2;
			}
			rspecs[nr++] = optarg;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (url == NULL || token_file == NULL || n + nr == 0 ||
	    optind != argc) {
		usage(stderr);
		return 2;
	}
	memset(ls, 0, sizeof(ls));
	for (i = 0; i < n; i++) {
		ls[i].fd = -1;
		if (fwdspec_parse(specs[i], &ls[i].spec, &why) < 0) {
			fprintf(stderr, PROG ": -L %s: %s\n", specs[i], why);
			return 2;
		}
	}
	memset(rs, 0, sizeof(rs));
	for (i = 0; i < nr; i++) {
		if (fwdspec_parse_r(rspecs[i], &rs[i].spec, &why) < 0) {
			fprintf(stderr, PROG ": -R %s: %s\n", rspecs[i], why);
			return 2;
		}
		snprintf(rs[i].pod, sizeof(rs[i].pod), ":%u", rs[i].spec.rport);
		fwdspec_local_str(&rs[i].spec.to, rs[i].local,
		    sizeof(rs[i].local));
	}
	conf_defaults(&conf);
	if (conf_load(&conf, config) < 0)
		return 1;
	/* The threads client_start makes inherit this: the signals reach
	 * only the relay's signalfd. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < n; i++)
		if (take_listener(&ls[i], inherited, 3 + i) < 0)
			goto out;
	if ((rc = token_read_file(token_file, token, sizeof(token))) < 0) {
		fprintf(stderr, PROG ": cannot read the token file %s: %s\n",
		    token_file, token_strerror(rc));
		goto out;
	}
	cl = client_new(url, token, conf.fs_request_timeout, 64);
	explicit_bzero(token, sizeof(token));
	if (cl == NULL) {
		fprintf(stderr, PROG ": bad agent URL \"%s\"\n", url);
		ret = 2;
		goto out;
	}
	if (client_pin(cl, fingerprint, &why) < 0) {
		fprintf(stderr, PROG ": %s\n", why);
		ret = 2;
		goto out;
	}
	fwd_relay_init();
	client_set_stream_handler(cl, fwd_relay_on_stream, fwd_relay_on_link,
	    NULL);
	rc = client_start(cl, conf.agent_connect_timeout, &why);
	if (rc == -EACCES || rc == -EKEYREJECTED) {
		fprintf(stderr, PROG ": refused by the agent at %s: %s\n", url,
		    why);
		goto out;
	}
	if (rc < 0) {
		fprintf(stderr, PROG ": %s\n", why);	/* names the agent */
		goto out;
	}
	if (!(client_caps(cl) & CAP_NET)) {
		fprintf(stderr, PROG ": the agent at %s serves no network\n",
		    url);
		goto out;
	}
	if (nr > 0 && !(client_caps(cl) & CAP_INCOMING)) {
		fprintf(stderr, PROG ": the agent at %s cannot take the pod's "
		    "ports (-R): it is older than steal mode\n", url);
		goto out;
	}
	if (resolve_all(cl, ls, n, url) < 0)
		goto out;
	subbed = 1;
	if (fwd_relay_subscribe(cl, rs, nr, 1, url) < 0)
		goto out;
	for (i = 0; i < n; i++)
		printf("forwarding %s -> %s (from the pod)\n", ls[i].local,
		    ls[i].remote);
	for (i = 0; i < nr; i++)
		printf("forwarding the pod's %s -> %s (to this machine)\n",
		    rs[i].pod, rs[i].local);
	if (fflush(stdout) != 0)
		goto out;
	if (fwd_relay_run(cl, ls, n, rs, nr, url) == 0)
		ret = 0;
out:
	/* The pod's ports back now; the agent would on our going too. */
	if (subbed && client_ready(cl))
		(void)fwd_relay_subscribe(cl, rs, nr, 0, url);
	for (i = 0; i < n; i++)
		if (ls[i].fd >= 0)
			close(ls[i].fd);
	if (cl != NULL) {
		client_stop(cl);
		client_free(cl);
	}
	return ret;
}
