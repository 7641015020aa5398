/*
 * The agent's nftables table for incoming traffic (see nft.h): netlink
 * messages of the nf_tables subsystem built by hand into one batch,
 * sent over a NETLINK_NETFILTER socket and acknowledged message by
 * message. The attributes are the kernel's (linux/netfilter/nf_tables.h):
 * u32 values in network order, strings with their NUL, nested lists.
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "nft.h"

#define NFT_BATCH_MAX	8192
#define NFT_RECV_MAX	16384
#define NFT_PREFIX	"mirror_agent_"
#define PRIO_DSTNAT	(-100)
#define PRIO_OUTPUT	(-100)

/* A batch being built: messages one after another, 4-byte aligned. */
struct nlb {
	uint8_t		 buf[NFT_BATCH_MAX];
	size_t		 len;
	int		 err;		/* sticky: -EMSGSIZE */
	int		 nmsg;		/* acknowledged messages */
	uint32_t	 first_seq;
};

static void *
room(struct nlb *b, size_t n)
{
	void *p;

	if (b->err || b->len + NLMSG_ALIGN(n) > sizeof(b->buf)) {
		b->err = -EMSGSIZE;
		return NULL;
	}
	p = b->buf + b->len;
	memset(p, 0, NLMSG_ALIGN(n));
	b->len += NLMSG_ALIGN(n);
	return p;
}

/* A message header and its nfgenmsg; returns its offset. */
static size_t
msg_begin(struct nlb *b, struct agent_nft *n, uint16_t type, uint16_t flags,
    uint8_t family, uint16_t res_id)
{
	size_t at = b->len;
	struct nlmsghdr *h = room(b, sizeof(*h));
	struct nfgenmsg *g = room(b, sizeof(*g));

	if (h == NULL || g == NULL)
		return at;
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = n->seq++;
	g->nfgen_family = family;
	g->version = NFNETLINK_V0;
	g->res_id = htons(res_id);
	if (flags & NLM_F_ACK) {
		if (b->nmsg++ == 0)
			b->first_seq = h->nlmsg_seq;
	}
	return at;
}

/* The length of what began at (a message's u32, or a nested
 * attribute's u16) is what was put since. */
static void
set_len(struct nlb *b, size_t at, int nest)
{
	if (b->err)
		return;
	if (nest)
		((struct nlattr *)(b->buf + at))->nla_len =
		    (uint16_t)(b->len - at);
	else
		((struct nlmsghdr *)(b->buf + at))->nlmsg_len =
		    (uint32_t)(b->len - at);
}

static void
msg_end(struct nlb *b, size_t at)
{
	set_len(b, at, 0);
}

static void
attr(struct nlb *b, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = room(b, NLA_HDRLEN + len);

	if (a == NULL)
		return;
	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	if (len)
		memcpy((uint8_t *)a + NLA_HDRLEN, data, len);
}

static void
attr_u32(struct nlb *b, uint16_t type, uint32_t v)
{
	v = htonl(v);
	attr(b, type, &v, sizeof(v));
}

static void
attr_str(struct nlb *b, uint16_t type, const char *s)
{
	attr(b, type, s, strlen(s) + 1);
}

static size_t
nest_begin(struct nlb *b, uint16_t type)
{
	size_t at = b->len;

	attr(b, type | NLA_F_NESTED, NULL, 0);
	return at;
}

static void
nest_end(struct nlb *b, size_t at)
{
	set_len(b, at, 1);
}

static void
batch_begin(struct nlb *b, struct agent_nft *n)
{
	b->len = 0;
	b->err = 0;
	b->nmsg = 0;
	msg_end(b, msg_begin(b, n, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC,
	    NFNL_SUBSYS_NFTABLES));
}

static void
batch_end(struct nlb *b, struct agent_nft *n)
{
	msg_end(b, msg_begin(b, n, NFNL_MSG_BATCH_END, 0, AF_UNSPEC,
	    NFNL_SUBSYS_NFTABLES));
}

static uint16_t
nft_type(int msg)
{
	return (uint16_t)(NFNL_SUBSYS_NFTABLES << 8 | msg);
}

/* ---- expressions ---- */

/* One expression of a rule: NFTA_LIST_ELEM { NAME, DATA { ... } }; the
 * caller puts DATA's attributes between expr_begin and expr_end. */
struct expr_at {
	size_t	elem, data;
};

static struct expr_at
expr_begin(struct nlb *b, const char *name)
{
	struct expr_at e;

	e.elem = nest_begin(b, NFTA_LIST_ELEM);
	attr_str(b, NFTA_EXPR_NAME, name);
	e.data = nest_begin(b, NFTA_EXPR_DATA);
	return e;
}

static void
expr_end(struct nlb *b, struct expr_at e)
{
	nest_end(b, e.data);
	nest_end(b, e.elem);
}

/* An expression whose attributes are all u32: n (type, value) pairs. */
static void
e_u32s(struct nlb *b, const char *name, const uint32_t kv[][2], int n)
{
	struct expr_at e = expr_begin(b, name);
	int i;

	for (i = 0; i < n; i++)
		attr_u32(b, (uint16_t)kv[i][0], kv[i][1]);
	expr_end(b, e);
}

/* meta KEY into register 1 */
static void
e_meta(struct nlb *b, uint32_t key)
{
	const uint32_t kv[][2] = {
		{ NFTA_META_DREG, NFT_REG_1 }, { NFTA_META_KEY, key },
	};

	e_u32s(b, "meta", kv, 2);
}

/* register 1 OP data */
static void
e_cmp(struct nlb *b, uint32_t op, const void *data, size_t len)
{
	struct expr_at e = expr_begin(b, "cmp");
	size_t d;

	attr_u32(b, NFTA_CMP_SREG, NFT_REG_1);
	attr_u32(b, NFTA_CMP_OP, op);
	d = nest_begin(b, NFTA_CMP_DATA);
	attr(b, NFTA_DATA_VALUE, data, len);
	nest_end(b, d);
	expr_end(b, e);
}

/* tcp dport into register 1 */
static void
e_tcp_dport(struct nlb *b)
{
	const uint32_t kv[][2] = {
		{ NFTA_PAYLOAD_DREG, NFT_REG_1 },
		{ NFTA_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER },
		{ NFTA_PAYLOAD_OFFSET, 2 }, { NFTA_PAYLOAD_LEN, 2 },
	};

	e_u32s(b, "payload", kv, 4);
}

/* fib daddr type into register 1 */
static void
e_fib_daddr_type(struct nlb *b)
{
	const uint32_t kv[][2] = {
		{ NFTA_FIB_DREG, NFT_REG_1 },
		{ NFTA_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE },
		{ NFTA_FIB_FLAGS, NFTA_FIB_F_DADDR },
	};

	e_u32s(b, "fib", kv, 3);
}

/* redirect to :port (network order) */
static void
e_redirect(struct nlb *b, uint16_t port)
{
	static const uint32_t redir[][2] = {
		{ NFTA_REDIR_REG_PROTO_MIN, NFT_REG_1 },
		{ NFTA_REDIR_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED },
	};
	struct expr_at e = expr_begin(b, "immediate");
	size_t d;

	attr_u32(b, NFTA_IMMEDIATE_DREG, NFT_REG_1);
	d = nest_begin(b, NFTA_IMMEDIATE_DATA);
	attr(b, NFTA_DATA_VALUE, &port, sizeof(port));
	nest_end(b, d);
	expr_end(b, e);
	e_u32s(b, "redir", redir, 2);
}

/* ---- messages ---- */

static void
m_table(struct nlb *b, struct agent_nft *n, int msg, uint32_t flags,
    const char *name)
{
	size_t at = msg_begin(b, n, nft_type(msg), (uint16_t)(NLM_F_ACK |
	    (msg == NFT_MSG_NEWTABLE ? NLM_F_CREATE | NLM_F_EXCL : 0)),
	    NFPROTO_INET, 0);

	attr_str(b, NFTA_TABLE_NAME, name);
	if (msg == NFT_MSG_NEWTABLE)
		attr_u32(b, NFTA_TABLE_FLAGS, flags);
	msg_end(b, at);
}

static void
m_chain(struct nlb *b, struct agent_nft *n, int msg, const char *name,
    uint32_t hook, int prio)
{
	size_t at = msg_begin(b, n, nft_type(msg), (uint16_t)(NLM_F_ACK |
	    (msg == NFT_MSG_NEWCHAIN ? NLM_F_CREATE | NLM_F_EXCL : 0)),
	    NFPROTO_INET, 0), h;

	attr_str(b, NFTA_CHAIN_TABLE, n->table);
	attr_str(b, NFTA_CHAIN_NAME, name);
	if (msg == NFT_MSG_NEWCHAIN) {
		h = nest_begin(b, NFTA_CHAIN_HOOK);
		attr_u32(b, NFTA_HOOK_HOOKNUM, hook);
		attr_u32(b, NFTA_HOOK_PRIORITY, (uint32_t)prio);
		nest_end(b, h);
		attr_str(b, NFTA_CHAIN_TYPE, "nat");
		attr_u32(b, NFTA_CHAIN_POLICY, NF_ACCEPT);
	}
	msg_end(b, at);
}

/* The rule of chain: ipv4, tcp dport port, mark != mark, [fib daddr
 * type local,] redirect to :lport. */
static void
m_redirect_rule(struct nlb *b, struct agent_nft *n, const char *chain,
    uint16_t port, uint16_t lport, uint32_t mark, int local_only)
{
	size_t at = msg_begin(b, n, nft_type(NFT_MSG_NEWRULE),
	    NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND, NFPROTO_INET, 0), l;
	uint8_t nfproto = NFPROTO_IPV4, l4 = IPPROTO_TCP;
	uint16_t nport = htons(port);
	uint32_t type_local = RTN_LOCAL;

	attr_str(b, NFTA_RULE_TABLE, n->table);
	attr_str(b, NFTA_RULE_CHAIN, chain);
	l = nest_begin(b, NFTA_RULE_EXPRESSIONS);
	e_meta(b, NFT_META_NFPROTO);
	e_cmp(b, NFT_CMP_EQ, &nfproto, sizeof(nfproto));
	e_meta(b, NFT_META_L4PROTO);
	e_cmp(b, NFT_CMP_EQ, &l4, sizeof(l4));
	e_tcp_dport(b);
	e_cmp(b, NFT_CMP_EQ, &nport, sizeof(nport));
	e_meta(b, NFT_META_MARK);
	e_cmp(b, NFT_CMP_NEQ, &mark, sizeof(mark));
	if (local_only) {
		e_fib_daddr_type(b);
		e_cmp(b, NFT_CMP_EQ, &type_local, sizeof(type_local));
	}
	e_redirect(b, htons(lport));
	nest_end(b, l);
	msg_end(b, at);
}

/* ---- sending ---- */

/* Reads the answers to b's acknowledged messages: 0 once each is
 * acknowledged, or the first error. Answers to an earlier batch (after
 * its error) are skipped by their sequence numbers. */
static int
read_acks(struct agent_nft *n, const struct nlb *b)
{
	static uint8_t buf[NFT_RECV_MAX] __attribute__((aligned(8)));
	struct nlmsghdr *h;
	ssize_t got;
	int acks = 0, rc = 0, len;

	while (acks < b->nmsg) {
		got = recv(n->fd, buf, sizeof(buf), 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		len = (int)got;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)len);
		    h = NLMSG_NEXT(h, len)) {
			struct nlmsgerr *e = NLMSG_DATA(h);

			if (h->nlmsg_type != NLMSG_ERROR ||
			    h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)) ||
			    h->nlmsg_seq < b->first_seq ||
			    h->nlmsg_seq >= b->first_seq + 64u * 1024)
				continue;
			acks++;
			if (e->error != 0 && rc == 0)
				rc = e->error;
		}
		/* A batch that failed is answered for the failed messages
		 * only: what is there is all there will be. */
		if (rc != 0)
			break;
	}
	return rc;
}

static int
send_batch(struct agent_nft *n, struct nlb *b)
{
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };

	batch_end(b, n);
	if (b->err)
		return b->err;
	if (sendto(n->fd, b->buf, b->len, 0, (struct sockaddr *)&nl,
	    sizeof(nl)) < 0)
		return -errno;
	return read_acks(n, b);
}

static int
open_socket(struct agent_nft *n)
{
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	struct timeval tv = { 5, 0 };
	socklen_t sl = sizeof(nl);

	n->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (n->fd < 0)
		return -errno;
	if (bind(n->fd, (struct sockaddr *)&nl, sizeof(nl)) < 0 ||
	    getsockname(n->fd, (struct sockaddr *)&nl, &sl) < 0) {
		int rc = -errno;

		close(n->fd);
		n->fd = -1;
		return rc;
	}
	n->portid = nl.nl_pid;
	setsockopt(n->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return 0;
}

/* ---- stale tables (kernels without owner tables) ---- */

/* Deletes mirror_agent_PID tables whose process is gone. */
static void
reap_stale(struct agent_nft *n)
{
	static uint8_t buf[NFT_RECV_MAX] __attribute__((aligned(8)));
	static struct nlb b;
	char names[16][40];
	struct nlmsghdr *h;
	struct nlattr *a;
	size_t at;
	ssize_t got;
	int len, nn = 0, i, done = 0, alen;
	long pid;

	memset(&b, 0, sizeof(b));
	at = msg_begin(&b, n, nft_type(NFT_MSG_GETTABLE), NLM_F_DUMP,
	    NFPROTO_INET, 0);
	msg_end(&b, at);
	if (send(n->fd, b.buf, b.len, 0) < 0)
		return;
	while (!done && (got = recv(n->fd, buf, sizeof(buf), 0)) > 0) {
		len = (int)got;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)len);
		    h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE ||
			    h->nlmsg_type == NLMSG_ERROR) {
				done = 1;
				break;
			}
			alen = (int)h->nlmsg_len - NLMSG_LENGTH(
			    sizeof(struct nfgenmsg));
			a = (struct nlattr *)((uint8_t *)NLMSG_DATA(h) +
			    NLMSG_ALIGN(sizeof(struct nfgenmsg)));
			for (; alen >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
			    a->nla_len <= alen; alen -= NLA_ALIGN(a->nla_len),
			    a = (struct nlattr *)((uint8_t *)a +
			    NLA_ALIGN(a->nla_len))) {
				const char *s = (const char *)a + NLA_HDRLEN;
				size_t sl = a->nla_len - NLA_HDRLEN;

				if ((a->nla_type & NLA_TYPE_MASK) !=
				    NFTA_TABLE_NAME || sl == 0 || sl > 39 ||
				    s[sl - 1] != '\0' || nn == 16 ||
				    strncmp(s, NFT_PREFIX,
				    strlen(NFT_PREFIX)) != 0)
					continue;
				memcpy(names[nn++], s, sl);
			}
		}
	}
	for (i = 0; i < nn; i++) {
		char *end;

		pid = strtol(names[i] + strlen(NFT_PREFIX), &end, 10);
		if (*end != '\0' || pid <= 0 || pid == (long)getpid() ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		batch_begin(&b, n);
		m_table(&b, n, NFT_MSG_DELTABLE, 0, names[i]);
		if (send_batch(n, &b) == 0)
			log_info("incoming: deleted the stale table inet %s",
			    names[i]);
	}
}

/* ---- the API ---- */

void
nft_init(struct agent_nft *n)
{
	memset(n, 0, sizeof(*n));
	n->fd = -1;
}

int
nft_table_create(struct agent_nft *n)
{
	static struct nlb b;
	int rc;

	if (n->fd >= 0)
		return 0;
	snprintf(n->table, sizeof(n->table), NFT_PREFIX "%d", (int)getpid());
	if ((rc = open_socket(n)) < 0)
		return rc;
	n->seq = (uint32_t)time(NULL);
	batch_begin(&b, n);
	m_table(&b, n, NFT_MSG_NEWTABLE, NFT_TABLE_F_OWNER, n->table);
	rc = send_batch(n, &b);
	n->owned = rc == 0;
	if (rc == -EOPNOTSUPP || rc == -EINVAL) {
		/* Before Linux 5.12: no owner tables. */
		log_warnx("incoming: the kernel has no owned nftables tables; "
		    "table inet %s stays if the agent is killed (the next "
		    "agent deletes it)", n->table);
		reap_stale(n);
		batch_begin(&b, n);
		m_table(&b, n, NFT_MSG_NEWTABLE, 0, n->table);
		rc = send_batch(n, &b);
	}
	if (rc < 0) {
		close(n->fd);
		n->fd = -1;
	}
	return rc;
}

static void
chain_names(uint16_t port, char *pre, char *out, size_t size)
{
	snprintf(pre, size, "pre_%u", port);
	snprintf(out, size, "out_%u", port);
}

/* One batch for port's two chains: made (add) with their redirects to
 * lport, or deleted with them. */
static int
port_batch(struct agent_nft *n, uint16_t port, uint16_t lport,
    uint32_t mark, int add)
{
	static struct nlb b;
	char pre[16], out[16];
	int msg = add ? NFT_MSG_NEWCHAIN : NFT_MSG_DELCHAIN;

	if (n->fd < 0)
		return -ENOTCONN;
	chain_names(port, pre, out, sizeof(pre));
	batch_begin(&b, n);
	m_chain(&b, n, msg, pre, NF_INET_PRE_ROUTING, PRIO_DSTNAT);
	if (add)
		m_redirect_rule(&b, n, pre, port, lport, mark, 0);
	m_chain(&b, n, msg, out, NF_INET_LOCAL_OUT, PRIO_OUTPUT);
	if (add)
		m_redirect_rule(&b, n, out, port, lport, mark, 1);
	return send_batch(n, &b);
}

int
nft_port_add(struct agent_nft *n, uint16_t port, uint16_t lport,
    uint32_t mark)
{
	return port_batch(n, port, lport, mark, 1);
}

int
nft_port_del(struct agent_nft *n, uint16_t port)
{
	return port_batch(n, port, 0, 0, 0);
}

void
nft_table_destroy(struct agent_nft *n)
{
	static struct nlb b;
	int rc;

	if (n->fd < 0)
		return;
	batch_begin(&b, n);
	m_table(&b, n, NFT_MSG_DELTABLE, 0, n->table);
	if ((rc = send_batch(n, &b)) < 0)
		log_warnx("incoming: cannot delete table inet %s: %s%s",
		    n->table, strerror(-rc), n->owned ? " (the kernel "
		    "deletes it now)" : "");
	close(n->fd);
	n->fd = -1;
}
