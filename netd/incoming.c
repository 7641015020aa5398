/*
 * The pod's incoming traffic to a shell's listeners (see incoming.h).
 *
 * The subscription table (inc_mtx) is written by the watcher thread
 * (incoming_sync: which ports the shell listens on), the client's
 * transport thread (the agent's answers, the link going up and down)
 * and the relay thread (counters); the agent is asked outside the lock,
 * since a call that fails at once answers on the caller's thread.
 *
 * A stolen connection is a relay stream with the agent's id: the relay
 * thread makes a socket (the relay thread lives in the shell's
 * namespace, so the socket is born there), connects it to the listener
 * without blocking, and answers STREAM_OPENED 0 once connected (the
 * stream engine takes the socket) or the connect's errno.
 *
 * The local program sees the pod's client's own address and port: the
 * socket is bound to them (IP_TRANSPARENT) and marked INCOMING_MARK.
 * Inside the shell's namespace (ours alone) net.ipv4.tcp_fwmark_accept
 * gives the accepted connection that mark too, and a rule sends marked
 * packets to a table whose one route is "local 0.0.0.0/0 dev lo", so the
 * program's answers to that foreign address come back to netd's socket
 * instead of leaving through the TUN device. Where that cannot be set
 * up, or the address cannot be bound (the client's address is one of
 * the shell's own, or its port is taken), the connection comes from the
 * shell's loopback instead.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "incoming.h"
#include "log.h"
#include "nlmsg.h"
#include "proto-net.h"
#include "relay-internal.h"
#include "xmalloc.h"

/* A failed subscription is tried again after so long. */
#define INCOMING_RETRY_S	5.0
/* A local connect unanswered so long fails. */
#define INCOMING_CONNECT_S	10.0
/* The mark of netd's sockets to the shell's listeners, and the routing
 * table (in the shell's namespace) that keeps their answers local. */
#define INCOMING_MARK		0x6d697272u
#define INCOMING_TABLE		2121
#define INCOMING_RULE_PRIO	100
/* Stolen connections at once; beyond, a new one is refused (EMFILE),
 * whatever the pod's clients or the agent send. */
#define INCOMING_CONNS_MAX	4096
/* A port the layer reported is kept so long though the watcher, which
 * looks every 200 ms, has not seen its listener yet. */
#define INCOMING_LAYER_GRACE_S	1.0

enum inc_state { INC_IDLE, INC_SUBBING, INC_ON, INC_FAILED, INC_UNSUBBING };

struct inc_port {
	uint16_t		 local, remote;
	enum inc_state		 state;
	int			 want;		/* its listener is there */
	int			 err;		/* INC_FAILED: the agent's */
	uint32_t		 gen;		/* bumped on each request */
	double			 retry;
	double			 layer_until;	/* reported by the layer */
	struct sockaddr_storage	 to;
	socklen_t		 tolen;
	uint64_t		 conns, failed, bytes_in, bytes_out;
	uint64_t		 dropped;	/* mirror: copies the agent dropped */
};

static pthread_mutex_t inc_mtx = PTHREAD_MUTEX_INITIALIZER;
/* Broadcast when an entry's state changes: the layer's listens wait. */
static pthread_cond_t inc_cond = PTHREAD_COND_INITIALIZER;
static int inc_layer_off;			/* inc_mtx: netd stops */
static struct inc_port inc[INCOMING_PORTS_MAX];	/* inc_mtx */
static int inc_n;				/* inc_mtx */
static int inc_mode;				/* set before the threads */
static int inc_transparent;			/* the policy route is up */
static int inc_conns;				/* relay thread's */
static struct mirror_conf inc_conf;		/* read-only then */

/* A request to make once the lock is released, and what its answer
 * is matched with. */
struct inc_call {
	uint16_t	op;
	uint16_t	remote;
	uint32_t	gen;
};

void
incoming_configure(int mode, const struct mirror_conf *conf)
{
	inc_mode = mode;
	inc_conf = *conf;
}

int
incoming_active(void)
{
	return inc_mode == CONF_IN_STEAL || inc_mode == CONF_IN_MIRROR;
}

/* ---- the client's own address, in the shell ---- */

/* The rule and the route of the header comment, in one netlink batch
 * on a socket of the calling thread's namespace. */
static int
policy_route(void)
{
	static struct nlmsg_buf b;
	struct fib_rule_hdr fr;
	struct rtmsg rt;
	struct timeval tv = { 5, 0 };
	size_t at;
	int fd, rc;

	if ((fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
	    NETLINK_ROUTE)) < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	nlmsg_start(&b, 1);
	memset(&fr, 0, sizeof(fr));
	fr.family = AF_INET;
	fr.action = FR_ACT_TO_TBL;
	at = nlmsg_begin(&b, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL |
	    NLM_F_ACK, &fr, sizeof(fr));
	nlmsg_attr_u32(&b, FRA_FWMARK, INCOMING_MARK);
	nlmsg_attr_u32(&b, FRA_TABLE, INCOMING_TABLE);
	nlmsg_attr_u32(&b, FRA_PRIORITY, INCOMING_RULE_PRIO);
	nlmsg_end(&b, at);
	memset(&rt, 0, sizeof(rt));
	rt.rtm_family = AF_INET;
	rt.rtm_table = RT_TABLE_UNSPEC;
	rt.rtm_protocol = RTPROT_BOOT;
	rt.rtm_scope = RT_SCOPE_HOST;
	rt.rtm_type = RTN_LOCAL;
	at = nlmsg_begin(&b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL |
	    NLM_F_ACK, &rt, sizeof(rt));
	nlmsg_attr_u32(&b, RTA_TABLE, INCOMING_TABLE);
	nlmsg_attr_u32(&b, RTA_OIF, if_nametoindex("lo"));
	nlmsg_end(&b, at);
	rc = nlmsg_send(fd, &b);
	close(fd);
	return rc;
}

void
incoming_setup_ns(void)
{
	FILE *f;
	int rc = 0;

	if (!incoming_active())
		return;
	/* The accepted connection takes the SYN's mark. */
	if ((f = fopen("/proc/sys/net/ipv4/tcp_fwmark_accept", "we")) ==
	    NULL || fputs("1", f) < 0)
		rc = -errno;
	if (f != NULL && fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0)
		rc = policy_route();
	if (rc < 0) {
		log_warnx("incoming: cannot route answers to the pod's "
		    "clients back in the shell (%s); stolen connections come "
		    "from the shell's loopback", strerror(-rc));
		return;
	}
	inc_transparent = 1;
}

/* A socket for a stolen connection from the client's own address (or,
 * failing that, a plain one). */
static int
client_socket(int family, const struct proto_stream_accept *a)
{
	struct sockaddr_in sin;
	uint32_t mark = INCOMING_MARK;
	int fd, one = 1;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || !inc_transparent || family != AF_INET)
		return fd < 0 ? -errno : fd;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	memcpy(&sin.sin_addr, a->addr, 4);
	sin.sin_port = htons(a->sport);
	if (setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one)) == 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) == 0 &&
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
		return fd;
	close(fd);
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

/* ---- the table ---- */

/* The entry of the pod's port (local 0) or of the shell's (local 1). */
static struct inc_port *
find_port(uint16_t port, int local)
{
	int i;

	for (i = 0; i < inc_n; i++)
		if ((local ? inc[i].local : inc[i].remote) == port)
			return &inc[i];
	return NULL;
}

static struct inc_port *
find_remote(uint16_t remote)
{
	return find_port(remote, 0);
}

static void
remove_port(struct inc_port *p)
{
	*p = inc[--inc_n];
}

/* The pod's port for a local listener's, or 0 when it is not taken. */
static uint16_t
remote_port(uint16_t local)
{
	const struct mirror_conf *c = &inc_conf;
	int i;

	for (i = 0; i < c->incoming_nignore; i++)
		if (c->incoming_ignore[i] == local)
			return 0;
	if (c->incoming_nports > 0) {
		for (i = 0; i < c->incoming_nports; i++)
			if (c->incoming_ports[i] == local)
				break;
		if (i == c->incoming_nports)
			return 0;
	}
	for (i = 0; i < c->incoming_nmapping; i++)
		if (c->incoming_mapping[i][0] == local)
			return (uint16_t)c->incoming_mapping[i][1];
	return local;
}

/* ---- the agent's answers (transport thread) ---- */

static void answered(void *arg, int err, struct proto_cur *payload);

/* Asks the agent; the answer comes to answered() with a copy of c. */
static void
call(const struct inc_call *c)
{
	struct inc_call *r = xmalloc(sizeof(*r));
	struct proto_buf b;

	*r = *c;
	proto_buf_init(&b, PROTO_HDR_LEN + 4);
	if (c->op == OP_INCOMING_SUB)
		/* With incoming.http_filter the agent splits the requests. */
		(void)proto_enc_incoming_sub_filter(&b, 0, c->remote,
		    inc_mode == CONF_IN_MIRROR ? INCOMING_MIRROR :
		    (inc_conf.incoming_filter_len > 0 ? INCOMING_FILTER :
		    INCOMING_STEAL) | (inc_conf.incoming_flush ?
		    INCOMING_FLUSH : 0), inc_conf.incoming_filter,
		    inc_mode == CONF_IN_MIRROR ? 0 :
		    inc_conf.incoming_filter_len);
	else
		(void)proto_enc_incoming_unsub(&b, 0, c->remote);
	client_call(R.cl, &b, answered, r);
}

static void
answered(void *arg, int err, struct proto_cur *payload)
{
	struct inc_call *r = arg, again = { 0, 0, 0 };
	struct inc_port *p;

	if (err == 0 && proto_dec_incoming_reply(payload) < 0)
		err = -EBADMSG;
	pthread_mutex_lock(&inc_mtx);
	p = find_remote(r->remote);
	if (p == NULL || p->gen != r->gen)
		goto out;		/* an answer nobody waits for now */
	if (r->op == OP_INCOMING_SUB) {
		if (err < 0) {
			if (p->err != -err)
				log_warnx("incoming: the agent cannot %s "
				    "port %u: %s", inc_mode == CONF_IN_MIRROR ?
				    "mirror" : "steal", p->remote,
				    strerror(-err));
			p->state = INC_FAILED;
			p->err = -err;
			p->retry = mono_now() + INCOMING_RETRY_S;
		} else if (!p->want) {
			/* Its listener went meanwhile. */
			p->state = INC_UNSUBBING;
			again.op = OP_INCOMING_UNSUB;
			again.remote = p->remote;
			again.gen = ++p->gen;
		} else {
			p->state = INC_ON;
			p->err = 0;
			log_info("incoming: the pod's port %u is %s for "
			    "the shell's port %u", p->remote, inc_mode ==
			    CONF_IN_MIRROR ? "mirrored" : "stolen", p->local);
		}
	} else {
		if (err < 0 && err != -ENOENT && err != -EIO)
			log_warnx("incoming: unsubscribing port %u: %s",
			    p->remote, strerror(-err));
		if (p->want)
			p->state = INC_IDLE;	/* back: the next sync */
		else {
			log_info("incoming: the pod's port %u is no longer "
			    "%s", p->remote, inc_mode == CONF_IN_MIRROR ?
			    "mirrored" : "stolen");
			remove_port(p);
		}
	}
out:
	pthread_cond_broadcast(&inc_cond);
	pthread_mutex_unlock(&inc_mtx);
	x_free(r);
	if (again.op)
		call(&again);
}

/* ---- the watcher's view ---- */

void
incoming_sync(const struct incoming_listener *l, int n)
{
	struct inc_call calls[INCOMING_PORTS_MAX];
	struct inc_port *p;
	uint16_t remote;
	double now = mono_now();
	int i, nc = 0, up;

	if (!incoming_active())
		return;
	up = client_ready(R.cl);
	pthread_mutex_lock(&inc_mtx);
	for (i = 0; i < inc_n; i++)
		inc[i].want = now < inc[i].layer_until;
	for (i = 0; i < n; i++) {
		/* A port the layer reported keeps the pod's port it asked
		 * for (it may have had another). */
		if ((p = find_port(l[i].port, 1)) == NULL) {
			if ((remote = remote_port(l[i].port)) == 0)
				continue;
			if (inc_n == INCOMING_PORTS_MAX ||
			    find_remote(remote) != NULL)
				continue;	/* full, or mapped twice */
			p = &inc[inc_n++];
			memset(p, 0, sizeof(*p));
			p->local = l[i].port;
			p->remote = remote;
			p->state = INC_IDLE;
		}
		p->want = 1;
		p->to = l[i].to;
		p->tolen = l[i].tolen;
	}
	for (i = 0; i < inc_n; i++) {
		p = &inc[i];
		if (p->want && up && (p->state == INC_IDLE ||
		    (p->state == INC_FAILED && now >= p->retry))) {
			p->state = INC_SUBBING;
			calls[nc].op = OP_INCOMING_SUB;
		} else if (!p->want && p->state == INC_ON && up) {
			p->state = INC_UNSUBBING;
			calls[nc].op = OP_INCOMING_UNSUB;
		} else if (!p->want && (p->state == INC_IDLE ||
		    p->state == INC_FAILED)) {
			remove_port(p);
			i--;
			continue;
		} else
			continue;
		calls[nc].remote = p->remote;
		calls[nc++].gen = ++p->gen;
	}
	pthread_mutex_unlock(&inc_mtx);
	for (i = 0; i < nc; i++)
		call(&calls[i]);
}

void
incoming_on_link(int up)
{
	int i;

	(void)up;
	pthread_mutex_lock(&inc_mtx);
	for (i = 0; i < inc_n; i++) {
		inc[i].gen++;		/* answers in flight are void */
		if (inc[i].want)
			inc[i].state = INC_IDLE;
		else
			remove_port(&inc[i--]);
	}
	pthread_cond_broadcast(&inc_cond);
	pthread_mutex_unlock(&inc_mtx);
}

/* ---- the layer's reports (layer-ctl.c's threads) ---- */

void
incoming_layer_off(void)
{
	pthread_mutex_lock(&inc_mtx);
	inc_layer_off = 1;
	pthread_cond_broadcast(&inc_cond);
	pthread_mutex_unlock(&inc_mtx);
}

int
incoming_layer_takes(uint16_t port)
{
	return incoming_active() && remote_port(port) != 0;
}

int
incoming_layer_listen(uint16_t local, uint16_t asked,
    const struct sockaddr_storage *to, socklen_t tolen, double timeout)
{
	struct inc_call c, undo = { 0, 0, 0 };
	struct inc_port *p;
	struct timespec ts;
	double now = mono_now(), end = now + timeout, left;
	uint16_t remote;
	int rc, asked_agent = 0;

	if (!incoming_active() || (remote = remote_port(asked)) == 0 ||
	    tolen > sizeof(p->to))
		return 0;
	pthread_mutex_lock(&inc_mtx);
	if (inc_layer_off) {
		rc = -ESHUTDOWN;
		goto out;
	}
	if ((p = find_port(local, 1)) == NULL) {
		if (find_remote(remote) != NULL) {
			rc = 0;		/* another listener has it */
			goto out;
		}
		if (inc_n == INCOMING_PORTS_MAX) {
			rc = -ENOSPC;
			goto out;
		}
		p = &inc[inc_n++];
		memset(p, 0, sizeof(*p));
		p->local = local;
		p->remote = remote;
		p->state = INC_IDLE;
	} else if (p->remote != remote) {
		/* The watcher saw the fallback port first, under its own
		 * number: it is the asked one's (the agent lets go of the
		 * other), unless another listener has that. */
		if (find_remote(remote) != NULL) {
			rc = 0;
			goto out;
		}
		if (p->state == INC_SUBBING || p->state == INC_ON) {
			undo.op = OP_INCOMING_UNSUB;
			undo.remote = p->remote;
		}
		p->remote = remote;
		p->gen++;
		p->state = INC_IDLE;
	}
	p->want = 1;
	memcpy(&p->to, to, tolen);
	p->tolen = tolen;
	p->layer_until = now + INCOMING_LAYER_GRACE_S;
	for (;;) {
		if (inc_layer_off) {
			rc = -ESHUTDOWN;
			break;
		}
		if (undo.op) {
			/* Its answer finds no entry of that port: ignored. */
			pthread_mutex_unlock(&inc_mtx);
			call(&undo);
			pthread_mutex_lock(&inc_mtx);
			undo.op = 0;
		}
		if ((p = find_port(local, 1)) == NULL) {
			rc = -ENOENT;
			break;
		}
		if (p->state == INC_ON) {
			rc = 1;
			break;
		}
		if (p->state == INC_FAILED && asked_agent) {
			rc = -p->err;
			break;
		}
		if (p->state == INC_IDLE || p->state == INC_FAILED) {
			if (!client_ready(R.cl)) {
				rc = -ENOTCONN;
				break;
			}
			/* Asked now, not at the watcher's next look. */
			p->state = INC_SUBBING;
			c.op = OP_INCOMING_SUB;
			c.remote = p->remote;
			c.gen = ++p->gen;
			asked_agent = 1;
			pthread_mutex_unlock(&inc_mtx);
			call(&c);
			pthread_mutex_lock(&inc_mtx);
			continue;
		}
		if ((left = end - mono_now()) <= 0) {
			rc = -ETIMEDOUT;
			break;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)left;
		ts.tv_nsec += (long)((left - (double)(time_t)left) * 1e9);
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&inc_cond, &inc_mtx, &ts);
	}
out:
	pthread_mutex_unlock(&inc_mtx);
	return rc;
}

void
incoming_status(FILE *f)
{
	static const char *const what[] = {
		[INC_IDLE] = "waiting",
		[INC_SUBBING] = "subscribing",
		[INC_ON] = "stolen",	/* "mirrored" in mirror mode */
		[INC_FAILED] = "failed",
		[INC_UNSUBBING] = "unsubscribing",
	};
	const struct inc_port *p;
	int i, mirror;

	if (inc_mode == CONF_IN_OFF)
		return;
	mirror = inc_mode == CONF_IN_MIRROR;
	fprintf(f, "incoming=%s\n", mirror ? "mirror" : "steal");
	pthread_mutex_lock(&inc_mtx);
	for (i = 0; i < inc_n; i++) {
		p = &inc[i];
		fprintf(f, "%s=tcp pod:%u -> shell:%u %s%s%s conns %llu "
		    "failed %llu ", mirror ? "mirror" : "steal", p->remote,
		    p->local, mirror && p->state == INC_ON ? "mirrored" :
		    what[p->state], p->state == INC_FAILED ? ": " :
		    "", p->state == INC_FAILED ? strerror(p->err) : "",
		    (unsigned long long)p->conns,
		    (unsigned long long)p->failed);
		if (mirror)
			fprintf(f, "dropped %llu ",
			    (unsigned long long)p->dropped);
		fprintf(f, "bytes_in %llu bytes_out %llu\n",
		    (unsigned long long)p->bytes_in,
		    (unsigned long long)p->bytes_out);
	}
	pthread_mutex_unlock(&inc_mtx);
}

/* ---- stolen connections (relay thread) ---- */

static void
send_opened(uint32_t id, int err)
{
	struct proto_buf b;

	proto_buf_init(&b, PROTO_HDR_LEN + 4);
	if (proto_enc_stream_opened(&b, id, (uint32_t)err, TCP_WINDOW) == 0)
		(void)client_send(R.cl, &b);
	else
		proto_buf_free(&b);
}

static void
count(uint16_t remote, int ok)
{
	struct inc_port *p;

	pthread_mutex_lock(&inc_mtx);
	if ((p = find_remote(remote)) != NULL) {
		if (ok)
			p->conns++;
		else
			p->failed++;
	}
	pthread_mutex_unlock(&inc_mtx);
}

/* The local connect is done (err 0) or failed. */
static void
connected(struct relay_stream *st, int err)
{
	int fd = st->in_fd;

	if (err != 0) {
		char a[INET6_ADDRSTRLEN];

		log_debug("incoming: connection from %s:%u to port %u: %s",
		    ip_str(&st->caddr, a), ntohs(st->cport), st->in_port,
		    strerror(err));
		count(st->in_port, 0);
		send_opened(st->s.id, err);
		st->s.peer_gone = 1;
		relay_stream_free(st, 0);	/* closes in_fd */
		return;
	}
	st->in_fd = -1;
	count(st->in_port, 1);
	send_opened(st->s.id, 0);
	/* What the agent sent meanwhile goes out now. */
	stream_attach(&st->s, fd);
}

void
incoming_stream_accept(const struct proto_hdr *h, const uint8_t *data,
    size_t n)
{
	struct proto_cur c = { data, n };
	struct proto_stream_msg m;
	struct sockaddr_storage to;
	struct relay_stream *st;
	struct inc_port *p;
	socklen_t tolen = 0;
	int fd, one = 1;

	if (proto_dec_stream(h, &c, &m) < 0) {
		log_warnx("a malformed stream_accept from the agent; "
		    "refusing it");
		if (h->id & STREAM_ID_AGENT)
			send_opened(h->id, EPROTO);
		return;
	}
	if (relay_stream_find(m.id) != NULL) {
		log_warnx("the agent reused stream id %u; refusing it", m.id);
		send_opened(m.id, EPROTO);
		return;
	}
	pthread_mutex_lock(&inc_mtx);
	p = find_remote(m.accept.dport);
	if (p != NULL && (p->state == INC_ON || p->state == INC_SUBBING)) {
		to = p->to;
		tolen = p->tolen;
	}
	pthread_mutex_unlock(&inc_mtx);
	if (tolen == 0 || m.accept.family != 4) {
		send_opened(m.id, ECONNREFUSED);
		return;
	}
	if (inc_conns >= INCOMING_CONNS_MAX) {
		count(m.accept.dport, 0);
		send_opened(m.id, EMFILE);
		return;
	}
	inc_conns++;
	st = relay_stream_accepted(m.id, m.accept.window);
	if (m.accept.family == 6)
		memcpy(&st->caddr, m.accept.addr, 16);
	else {
		uint32_t a4;

		memcpy(&a4, m.accept.addr, 4);
		st->caddr = pkt_addr4(a4);
	}
	st->cport = htons(m.accept.sport);
	st->dport = htons(m.accept.dport);
	st->in_port = m.accept.dport;
	st->in_fd = -1;
	st->deadline = mono_now() + INCOMING_CONNECT_S;
	if ((fd = client_socket(to.ss_family, &m.accept)) < 0) {
		connected(st, -fd);
		return;
	}
	st->in_fd = fd;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&to, tolen) == 0) {
		connected(st, 0);
		return;
	}
	if (errno != EINPROGRESS) {
		connected(st, errno);
		return;
	}
	{
		struct epoll_event ev;

		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLOUT;
		ev.data.u64 = EV_STREAM | st->s.id;
		if (epoll_ctl(R.epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			connected(st, errno);
	}
}

void
incoming_connect_event(struct relay_stream *st, uint32_t events)
{
	socklen_t sl = sizeof(int);
	int err = 0;

	(void)events;
	if (getsockopt(st->in_fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
		err = errno;
	if (err == 0 && (events & (EPOLLERR | EPOLLHUP)))
		err = ECONNREFUSED;
	/* Out of epoll: the engine adds the socket again as it likes. */
	(void)epoll_ctl(R.epfd, EPOLL_CTL_DEL, st->in_fd, NULL);
	connected(st, err);
}

void
incoming_tick(double now)
{
	struct relay_stream *st, *next;

	for (st = R.all; st != NULL; st = next) {
		next = st->next;
		if (st->in_port != 0 && st->in_fd >= 0 && now > st->deadline) {
			(void)epoll_ctl(R.epfd, EPOLL_CTL_DEL, st->in_fd,
			    NULL);
			connected(st, ETIMEDOUT);
		}
	}
}

void
incoming_dropped(struct relay_stream *st)
{
	struct inc_port *p;

	pthread_mutex_lock(&inc_mtx);
	if ((p = find_remote(st->in_port)) != NULL)
		p->dropped++;
	pthread_mutex_unlock(&inc_mtx);
}

void
incoming_forget(struct relay_stream *st)
{
	struct inc_port *p;

	inc_conns--;
	if (st->in_fd >= 0) {
		close(st->in_fd);	/* leaves epoll too */
		st->in_fd = -1;
	}
	pthread_mutex_lock(&inc_mtx);
	if ((p = find_remote(st->in_port)) != NULL) {
		p->bytes_in += st->s.bytes_in;
		p->bytes_out += st->s.bytes_out;
	}
	pthread_mutex_unlock(&inc_mtx);
}
