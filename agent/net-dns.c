/*
 * The agent's network side, OP_DNS: each query sent as it came through
 * c-ares, to the nameservers of the target's resolv.conf, its sockets
 * watched by the network thread's epoll (c-ares 1.18 has no event thread
 * of its own). The answer goes back as the server gave it, with the
 * client's query ID.
 */
#include "config.h"

#include <ares.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include "log.h"
#include "net-int.h"
#include "proto-net.h"
#include "resolv.h"
#include "xmalloc.h"

#define NET_DNS_TIMEOUT_MS	2000
#define NET_DNS_TRIES		2
/* DNS queries of one connection in flight at once; beyond, EAGAIN. */
#define NET_DNS_PENDING_MAX	1024

/* One query in flight: the client's request id and DNS ID. */
struct dns_query {
	struct agent_net *net;
	struct agent_net_client *cl;
	uint32_t	 id;
	uint8_t		 qid[2];
};

static struct ares_fd *
afd_find(struct agent_net *net, int fd)
{
	struct ares_fd *a;

	for (a = net->afds; a != NULL; a = a->next)
		if (a->io.fd == fd)
			return a;
	return NULL;
}

/* c-ares tells which of its sockets to watch. */
static void
ares_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct agent_net *net = data;
	struct ares_fd *a = afd_find(net, fd), **pp;
	struct epoll_event ev;
	int op;

	if (!readable && !writable) {
		if (a == NULL)
			return;
		(void)epoll_ctl(net->ep, EPOLL_CTL_DEL, fd, NULL);
		for (pp = &net->afds; *pp != a; pp = &(*pp)->next)
			;
		*pp = a->next;
		a->io.fd = -1;		/* freed after this round */
		a->next = net->afd_zombies;
		net->afd_zombies = a;
		return;
	}
	op = EPOLL_CTL_MOD;
	if (a == NULL) {
		a = xcalloc(1, sizeof(*a));
		a->io.kind = IO_ARES;
		a->io.fd = fd;
		a->next = net->afds;
		net->afds = a;
		op = EPOLL_CTL_ADD;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0);
	ev.data.ptr = &a->io;
	if (epoll_ctl(net->ep, op, fd, &ev) < 0)
		log_warn("epoll_ctl (c-ares socket)");
}

/* Re-reads the target's resolv.conf at most once a second; a changed
 * server list applies once no query is in flight (c-ares refuses to
 * change servers under pending queries). */
void
net_dns_refresh(struct agent_net *net)
{
	char *resolv = net->resolv;
	char csv[sizeof(net->dns_servers)];
	double now = mono_ms();
	int rc;

	if (now - net->dns_checked >= 1000 || net->dns_checked == 0) {
		net->dns_checked = now;
		net_read_resolv_conf(net, resolv, sizeof(net->resolv));
		agent_resolv_servers(resolv, csv, sizeof(csv));
		if (strcmp(csv, net->dns_servers) != 0) {
			snprintf(net->dns_servers, sizeof(net->dns_servers),
			    "%s", csv);
			net->dns_servers_stale = 1;
		}
	}
	if (net->dns_servers_stale && net->dns_inflight == 0) {
		rc = ares_set_servers_ports_csv(net->chan, net->dns_servers);
		if (rc != ARES_SUCCESS)
			log_warnx("DNS: cannot use the target's nameservers "
			    "%s: %s", net->dns_servers, ares_strerror(rc));
		else
			log_info("DNS: the target's nameservers: %s",
			    net->dns_servers);
		net->dns_servers_stale = 0;
	}
}

static int
dns_errno(int status)
{
	switch (status) {
	case ARES_ETIMEOUT:
		return ETIMEDOUT;
	case ARES_ECONNREFUSED:
		return ECONNREFUSED;
	case ARES_ENOMEM:
		return ENOMEM;
	case ARES_EBADQUERY:
	case ARES_EFORMERR:
		return EINVAL;
	case ARES_ECANCELLED:
	case ARES_EDESTRUCTION:
		return ECANCELED;
	default:
		return EIO;
	}
}

static void
dns_done(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_query *q = arg;
	struct agent_net *net = q->net;
	struct agent_net_client *cl = q->cl;
	struct proto_hdr h = { .op = OP_DNS, .id = q->id };
	struct proto_buf out;
	uint8_t *p;

	net->dns_inflight--;
	cl->pending_dns--;
	if (status == ARES_SUCCESS && abuf != NULL && alen >= 2) {
		proto_buf_init(&out, PROTO_HDR_LEN + 4 + (size_t)alen);
		if (proto_enc_dns_reply(&out, q->id, abuf, (size_t)alen,
		    &p) == 0)
			/* c-ares sent the query under an ID of its own */
			memcpy(p, q->qid, 2);
		net_send_buf(cl, &out);
	} else
		net_reply_errno(cl, &h, dns_errno(status));
	x_free(q);
	net_client_maybe_done(net, cl);
}

void
net_serve_dns(struct agent_net *net, struct agent_net_client *cl,
    struct net_msg *m)
{
	struct proto_cur c = { m->data, m->len };
	struct dns_query *q;
	const uint8_t *query;
	uint32_t qlen;

	if (proto_dec_dns_req(&c, &query, &qlen) < 0) {
		net_client_violation(cl, "malformed network request");
		return;
	}
	if (!net->ok) {
		net_reply_errno(cl, &m->h, EPERM);
		return;
	}
	if (!net->dns_ok) {
		net_reply_errno(cl, &m->h, EIO);
		return;
	}
	if (qlen < 12) {
		net_reply_errno(cl, &m->h, EINVAL);
		return;
	}
	if (cl->pending_dns >= NET_DNS_PENDING_MAX) {
		net_reply_errno(cl, &m->h, EAGAIN);
		return;
	}
	net_dns_refresh(net);
	q = xmalloc(sizeof(*q));
	q->net = net;
	q->cl = cl;
	q->id = m->h.id;
	memcpy(q->qid, query, 2);
	net->dns_inflight++;
	cl->pending_dns++;
	ares_send(net->chan, query, (int)qlen, dns_done, q);
}

void
net_dns_init(struct agent_net *net)
{
	struct ares_options o;
	char *lookups = xstrdup("b");
	int rc;

	memset(&o, 0, sizeof(o));
	/* Answers go back as the servers gave them, SERVFAIL included. */
	o.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_NOSEARCH;
	o.timeout = NET_DNS_TIMEOUT_MS;
	o.tries = NET_DNS_TRIES;
	o.ndots = 1;
	o.lookups = lookups;
	o.sock_state_cb = ares_sock_state;
	o.sock_state_cb_data = net;
	/* Nothing of the agent's own resolv.conf: the servers are set from
	 * the target's. */
	o.resolvconf_path = (char *)"/dev/null";
	rc = ares_init_options(&net->chan, &o, ARES_OPT_FLAGS |
	    ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_NDOTS |
	    ARES_OPT_LOOKUPS | ARES_OPT_SOCK_STATE_CB | ARES_OPT_RESOLVCONF |
	    ARES_OPT_NOROTATE);
	x_free(lookups);
	if (rc != ARES_SUCCESS) {
		log_warnx("DNS: c-ares: %s; DNS requests will fail with EIO",
		    ares_strerror(rc));
		return;
	}
	net->dns_ok = 1;
	net_dns_refresh(net);
}
