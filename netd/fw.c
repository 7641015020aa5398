/*
 * netd's own nftables table, built with libnftnl and sent over one
 * NETLINK_NETFILTER socket as a single batch (all of it or nothing):
 *
 *   table inet mirror_netd_DEV { flags owner
 *     chain forward { type filter hook forward priority -10
 *       iif DEV drop; oif DEV drop }
 *     chain input { type filter hook input priority -10
 *       ip daddr TUN_ADDR iif != lo iif != DEV drop
 *       ip6 daddr TUN_ADDR6 iif != lo iif != DEV drop }
 *   }
 *
 * The socket stays open for netd's life: it owns the table.
 */
#include "config.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "fw.h"

#define FW_PRIORITY	(-10)	/* before the usual filter chains */
/* MNL_SOCKET_BUFFER_SIZE's upper bound: that macro calls sysconf(), and
 * an array sized by it would be a VLA. */
#define FW_ACK_BUF_MAX	8192

static struct mnl_socket *fw_nl;

void
fw_table_name(const char *dev, char *buf, size_t size)
{
	snprintf(buf, size, "mirror_netd_%s", dev);
}

static void
add_expr(struct nftnl_rule *r, struct nftnl_expr *e)
{
	nftnl_rule_add_expr(r, e);
}

/* meta KEY into register 1 */
static void
put_meta(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	add_expr(r, e);
}

/* register 1 OP data */
static void
put_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	add_expr(r, e);
}

static void
put_drop(struct nftnl_rule *r)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_DROP);
	add_expr(r, e);
}

static struct nftnl_rule *
rule_new(const char *table, const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	return r;
}

static void
batch_rule(struct mnl_nlmsg_batch *b, struct nftnl_rule *r, uint32_t *seq)
{
	struct nlmsghdr *nlh;

	nlh = nftnl_rule_nlmsg_build_hdr(mnl_nlmsg_batch_current(b),
	    NFT_MSG_NEWRULE, NFPROTO_INET,
	    NLM_F_APPEND | NLM_F_CREATE | NLM_F_ACK, (*seq)++);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	mnl_nlmsg_batch_next(b);
}

static void
batch_chain(struct mnl_nlmsg_batch *b, const char *table, const char *name,
    uint32_t hook, uint32_t *seq)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, FW_PRIORITY);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nlh = nftnl_chain_nlmsg_build_hdr(mnl_nlmsg_batch_current(b),
	    NFT_MSG_NEWCHAIN, NFPROTO_INET, NLM_F_CREATE | NLM_F_ACK,
	    (*seq)++);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	mnl_nlmsg_batch_next(b);
}

/* Reads the kernel's answers to a batch of n acknowledged messages: 0
 * once all are acknowledged, or the first error. */
static int
read_acks(struct mnl_socket *nl, int n)
{
	char buf[FW_ACK_BUF_MAX];
	struct nlmsghdr *nlh;
	ssize_t got;
	int acks = 0, len;

	while (acks < n) {
		got = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (got < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		len = (int)got;
		for (nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, len);
		    nlh = mnl_nlmsg_next(nlh, &len)) {
			struct nlmsgerr *err;

			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			err = mnl_nlmsg_get_payload(nlh);
			if (err->error != 0)
				return err->error;
			acks++;
		}
	}
	return 0;
}

/* input: ip daddr ADDR iif != lo iif != DEV drop (ip6 daddr for
 * NFPROTO_IPV6): the address of the family at its offset in the header. */
static struct nftnl_rule *
rule_input(const char *table, uint8_t nfproto, const void *addr,
    uint32_t lo, uint32_t tif)
{
	struct nftnl_rule *r = rule_new(table, "input");
	struct nftnl_expr *e = nftnl_expr_alloc("payload");
	uint32_t alen = nfproto == NFPROTO_IPV6 ? 16 : 4;

	put_meta(r, NFT_META_NFPROTO);
	put_cmp(r, NFT_CMP_EQ, &nfproto, sizeof(nfproto));
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE,
	    NFT_PAYLOAD_NETWORK_HEADER);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET,
	    nfproto == NFPROTO_IPV6 ? 24 : 16);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, alen);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	add_expr(r, e);
	put_cmp(r, NFT_CMP_EQ, addr, alen);
	put_meta(r, NFT_META_IIF);
	put_cmp(r, NFT_CMP_NEQ, &lo, sizeof(lo));
	put_meta(r, NFT_META_IIF);
	put_cmp(r, NFT_CMP_NEQ, &tif, sizeof(tif));
	put_drop(r);
	return r;
}

int
fw_start(const char *dev, int ifindex, uint32_t tun_addr, const void *tun6,
    const char **why)
{
	static char buf[16384];
	char table[IFNAMSIZ + 16];
	struct mnl_nlmsg_batch *b = NULL;
	struct mnl_socket *nl = NULL;
	struct nftnl_table *t;
	struct nftnl_rule *r;
	struct nlmsghdr *nlh;
	struct timeval tv = { 5, 0 };
	uint32_t seq = (uint32_t)time(NULL), lo, tif = (uint32_t)ifindex;
	int rc, nmsg = 0;

	fw_table_name(dev, table, sizeof(table));
	if ((lo = if_nametoindex("lo")) == 0) {
		*why = "no loopback device";
		return -ENODEV;
	}
	if ((nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC)) ==
	    NULL) {
		*why = "cannot open a netfilter netlink socket";
		return -errno;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		rc = -errno;
		*why = "cannot bind the netfilter netlink socket";
		goto out;
	}
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv));
	b = mnl_nlmsg_batch_start(buf, sizeof(buf));
	nftnl_batch_begin(mnl_nlmsg_batch_current(b), seq++);
	mnl_nlmsg_batch_next(b);

	t = nftnl_table_alloc();
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, NFT_TABLE_F_OWNER);
	nlh = nftnl_table_nlmsg_build_hdr(mnl_nlmsg_batch_current(b),
	    NFT_MSG_NEWTABLE, NFPROTO_INET, NLM_F_CREATE | NLM_F_EXCL |
	    NLM_F_ACK, seq++);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	mnl_nlmsg_batch_next(b);
	nmsg++;

	batch_chain(b, table, "forward", NF_INET_FORWARD, &seq);
	batch_chain(b, table, "input", NF_INET_LOCAL_IN, &seq);
	nmsg += 2;

	/* forward: iif DEV drop; oif DEV drop */
	r = rule_new(table, "forward");
	put_meta(r, NFT_META_IIF);
	put_cmp(r, NFT_CMP_EQ, &tif, sizeof(tif));
	put_drop(r);
	batch_rule(b, r, &seq);
	r = rule_new(table, "forward");
	put_meta(r, NFT_META_OIF);
	put_cmp(r, NFT_CMP_EQ, &tif, sizeof(tif));
	put_drop(r);
	batch_rule(b, r, &seq);
	nmsg += 2;

	batch_rule(b, rule_input(table, NFPROTO_IPV4, &tun_addr, lo, tif),
	    &seq);
	nmsg++;
	if (tun6 != NULL) {
		batch_rule(b, rule_input(table, NFPROTO_IPV6, tun6, lo, tif),
		    &seq);
		nmsg++;
	}

	nftnl_batch_end(mnl_nlmsg_batch_current(b), seq++);
	mnl_nlmsg_batch_next(b);
	if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(b),
	    mnl_nlmsg_batch_size(b)) < 0) {
		rc = -errno;
		*why = "cannot send the nftables batch";
		goto out;
	}
	if ((rc = read_acks(nl, nmsg)) < 0) {
		*why = rc == -EEXIST ? "the nftables table exists already "
		    "(another mirror-netd for this device?)" :
		    "the kernel refused netd's nftables table (needs "
		    "nf_tables, Linux 5.12 or later for an owned table)";
		goto out;
	}
	fw_nl = nl;
	nl = NULL;
	rc = 0;
out:
	if (b)
		mnl_nlmsg_batch_stop(b);
	if (nl)
		mnl_socket_close(nl);
	return rc;
}

void
fw_stop(void)
{
	if (fw_nl) {
		mnl_socket_close(fw_nl);
		fw_nl = NULL;
	}
}
