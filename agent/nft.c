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
#include "nlmsg.h"

#define NFT_RECV_MAX	16384
#define NFT_PREFIX	"mirror_agent_"
#define PRIO_DSTNAT	(-100)
#define PRIO_OUTPUT	(-100)

/* A message of the nf_tables subsystem (or a batch's begin or end). */
static size_t
msg_begin(struct nlmsg_buf *b, uint16_t type, uint16_t flags,
    uint8_t family, uint16_t res_id)
{
	struct nfgenmsg g;

	memset(&g, 0, sizeof(g));
	g.nfgen_family = family;
	g.version = NFNETLINK_V0;
	g.res_id = htons(res_id);
	return nlmsg_begin(b, type, flags, &g, sizeof(g));
}

static void
attr_u32(struct nlmsg_buf *b, uint16_t type, uint32_t v)
{
	nlmsg_attr_u32(b, type, htonl(v));
}

static void
batch_begin(struct nlmsg_buf *b, struct agent_nft *n)
{
	nlmsg_start(b, n->seq);
	nlmsg_end(b, msg_begin(b, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC,
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
expr_begin(struct nlmsg_buf *b, const char *name)
{
	struct expr_at e;

	e.elem = nlmsg_nest_begin(b, NFTA_LIST_ELEM);
	nlmsg_attr_str(b, NFTA_EXPR_NAME, name);
	e.data = nlmsg_nest_begin(b, NFTA_EXPR_DATA);
	return e;
}

static void
expr_end(struct nlmsg_buf *b, struct expr_at e)
{
	nlmsg_nest_end(b, e.data);
	nlmsg_nest_end(b, e.elem);
}

/* An expression whose attributes are all u32: n (type, value) pairs. */
static void
e_u32s(struct nlmsg_buf *b, const char *name, const uint32_t kv[][2], int n)
{
	struct expr_at e = expr_begin(b, name);
	int i;

	for (i = 0; i < n; i++)
		attr_u32(b, (uint16_t)kv[i][0], kv[i][1]);
	expr_end(b, e);
}

/* meta KEY into register 1 */
static void
e_meta(struct nlmsg_buf *b, uint32_t key)
{
	const uint32_t kv[][2] = {
		{ NFTA_META_DREG, NFT_REG_1 }, { NFTA_META_KEY, key },
	};

	e_u32s(b, "meta", kv, 2);
}

/* register 1 OP data */
static void
e_cmp(struct nlmsg_buf *b, uint32_t op, const void *data, size_t len)
{
	struct expr_at e = expr_begin(b, "cmp");
	size_t d;

	attr_u32(b, NFTA_CMP_SREG, NFT_REG_1);
	attr_u32(b, NFTA_CMP_OP, op);
	d = nlmsg_nest_begin(b, NFTA_CMP_DATA);
	nlmsg_attr(b, NFTA_DATA_VALUE, data, len);
	nlmsg_nest_end(b, d);
	expr_end(b, e);
}

/* tcp dport into register 1 */
static void
e_tcp_dport(struct nlmsg_buf *b)
{
	const uint32_t kv[][2] = {
		{ NFTA_PAYLOAD_DREG, NFT_REG_1 },
		{ NFTA_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER },
		{ NFTA_PAYLOAD_OFFSET, 2 }, { NFTA_PAYLOAD_LEN, 2 },
	};

	e_u32s(b, "payload", kv, 4);
}

/* tcp flags & (fin|syn|rst|ack) into register 1: a rule that wants
 * SYN alone matches a connection's first packet only. A nat chain sees
 * the first packet conntrack tracks of each connection, and conntrack
 * picks up a connection made before its hooks were on in this netns
 * (the table is what turns them on) from its next packet, mid-stream:
 * such a connection must keep going to the pod's process, not be
 * redirected to the agent's listener, which knows nothing of it and
 * resets it. */
static void
e_tcp_flags_syn(struct nlmsg_buf *b)
{
	const uint32_t kv[][2] = {
		{ NFTA_PAYLOAD_DREG, NFT_REG_1 },
		{ NFTA_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER },
		{ NFTA_PAYLOAD_OFFSET, 13 }, { NFTA_PAYLOAD_LEN, 1 },
	};
	const uint8_t mask = 0x17, zero = 0;	/* fin syn rst ack */
	struct expr_at e;
	size_t d;

	e_u32s(b, "payload", kv, 4);
	e = expr_begin(b, "bitwise");
	attr_u32(b, NFTA_BITWISE_SREG, NFT_REG_1);
	attr_u32(b, NFTA_BITWISE_DREG, NFT_REG_1);
	attr_u32(b, NFTA_BITWISE_LEN, 1);
	d = nlmsg_nest_begin(b, NFTA_BITWISE_MASK);
	nlmsg_attr(b, NFTA_DATA_VALUE, &mask, 1);
	nlmsg_nest_end(b, d);
	d = nlmsg_nest_begin(b, NFTA_BITWISE_XOR);
	nlmsg_attr(b, NFTA_DATA_VALUE, &zero, 1);
	nlmsg_nest_end(b, d);
	expr_end(b, e);
}

/* fib daddr type into register 1 */
static void
e_fib_daddr_type(struct nlmsg_buf *b)
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
e_redirect(struct nlmsg_buf *b, uint16_t port)
{
	static const uint32_t redir[][2] = {
		{ NFTA_REDIR_REG_PROTO_MIN, NFT_REG_1 },
		{ NFTA_REDIR_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED },
	};
	struct expr_at e = expr_begin(b, "immediate");
	size_t d;

	attr_u32(b, NFTA_IMMEDIATE_DREG, NFT_REG_1);
	d = nlmsg_nest_begin(b, NFTA_IMMEDIATE_DATA);
	nlmsg_attr(b, NFTA_DATA_VALUE, &port, sizeof(port));
	nlmsg_nest_end(b, d);
	expr_end(b, e);
	e_u32s(b, "redir", redir, 2);
}

/* ---- messages ---- */

static void
m_table(struct nlmsg_buf *b, struct agent_nft *n, int msg, uint32_t flags,
    const char *name)
{
	size_t at = msg_begin(b, nft_type(msg), (uint16_t)(NLM_F_ACK |
	    (msg == NFT_MSG_NEWTABLE ? NLM_F_CREATE | NLM_F_EXCL : 0)),
	    NFPROTO_INET, 0);

	nlmsg_attr_str(b, NFTA_TABLE_NAME, name);
	if (msg == NFT_MSG_NEWTABLE)
		attr_u32(b, NFTA_TABLE_FLAGS, flags);
	nlmsg_end(b, at);
}

static void
m_chain(struct nlmsg_buf *b, struct agent_nft *n, int msg, const char *name,
    uint32_t hook, int prio)
{
	size_t at = msg_begin(b, nft_type(msg), (uint16_t)(NLM_F_ACK |
	    (msg == NFT_MSG_NEWCHAIN ? NLM_F_CREATE | NLM_F_EXCL : 0)),
	    NFPROTO_INET, 0), h;

	nlmsg_attr_str(b, NFTA_CHAIN_TABLE, n->table);
	nlmsg_attr_str(b, NFTA_CHAIN_NAME, name);
	if (msg == NFT_MSG_NEWCHAIN) {
		h = nlmsg_nest_begin(b, NFTA_CHAIN_HOOK);
		attr_u32(b, NFTA_HOOK_HOOKNUM, hook);
		attr_u32(b, NFTA_HOOK_PRIORITY, (uint32_t)prio);
		nlmsg_nest_end(b, h);
		nlmsg_attr_str(b, NFTA_CHAIN_TYPE, "nat");
		attr_u32(b, NFTA_CHAIN_POLICY, NF_ACCEPT);
	}
	nlmsg_end(b, at);
}

/* The rule of chain: ipv4, tcp flags syn (a new connection),
 * tcp dport port, mark != mark, [fib daddr type local,] redirect to
 * :lport. */
static void
m_redirect_rule(struct nlmsg_buf *b, struct agent_nft *n, const char *chain,
    uint16_t port, uint16_t lport, uint32_t mark, int local_only)
{
	size_t at = msg_begin(b, nft_type(NFT_MSG_NEWRULE),
	    NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND, NFPROTO_INET, 0), l;
	uint8_t nfproto = NFPROTO_IPV4, l4 = IPPROTO_TCP, syn = 0x02;
	uint16_t nport = htons(port);
	uint32_t type_local = RTN_LOCAL;

	nlmsg_attr_str(b, NFTA_RULE_TABLE, n->table);
	nlmsg_attr_str(b, NFTA_RULE_CHAIN, chain);
	l = nlmsg_nest_begin(b, NFTA_RULE_EXPRESSIONS);
	e_meta(b, NFT_META_NFPROTO);
	e_cmp(b, NFT_CMP_EQ, &nfproto, sizeof(nfproto));
	e_meta(b, NFT_META_L4PROTO);
	e_cmp(b, NFT_CMP_EQ, &l4, sizeof(l4));
	e_tcp_flags_syn(b);
	e_cmp(b, NFT_CMP_EQ, &syn, sizeof(syn));
	e_tcp_dport(b);
	e_cmp(b, NFT_CMP_EQ, &nport, sizeof(nport));
	e_meta(b, NFT_META_MARK);
	e_cmp(b, NFT_CMP_NEQ, &mark, sizeof(mark));
	if (local_only) {
		e_fib_daddr_type(b);
		e_cmp(b, NFT_CMP_EQ, &type_local, sizeof(type_local));
	}
	e_redirect(b, htons(lport));
	nlmsg_nest_end(b, l);
	nlmsg_end(b, at);
}

/* ---- sending ---- */

static int
send_batch(struct agent_nft *n, struct nlmsg_buf *b)
{
	nlmsg_end(b, msg_begin(b, NFNL_MSG_BATCH_END, 0, AF_UNSPEC,
	    NFNL_SUBSYS_NFTABLES));
	n->seq = b->seq;
	return nlmsg_send(n->fd, b);
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
	static struct nlmsg_buf b;
	char names[16][40];
	struct nlmsghdr *h;
	struct nlattr *a;
	size_t at;
	ssize_t got;
	int len, nn = 0, i, done = 0, alen;
	long pid;

	nlmsg_start(&b, n->seq);
	at = msg_begin(&b, nft_type(NFT_MSG_GETTABLE), NLM_F_DUMP,
	    NFPROTO_INET, 0);
	nlmsg_end(&b, at);
	n->seq = b.seq;
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
	static struct nlmsg_buf b;
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
	static struct nlmsg_buf b;
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
	static struct nlmsg_buf b;
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
