/*
 * incoming.flush_connections: when a port starts being stolen, the
 * target's established TCP connections to it are cut, so that their
 * clients reconnect and are redirected (a keep-alive connection made
 * before would otherwise stay with the pod's process for good). A
 * sock_diag dump of the calling thread's network namespace (the network
 * thread is in the target's) finds the sockets whose local port is the
 * stolen one, and SOCK_DESTROY aborts each (the kernel sends the peer a
 * reset); that needs CAP_NET_ADMIN there and a kernel built with
 * CONFIG_INET_DIAG_DESTROY (EOPNOTSUPP otherwise). The agent's own
 * connections (INCOMING_MARK: mirror mode's to the pod's process) are
 * left alone.
 */
#include "config.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net-int.h"
#include "xmalloc.h"

/* Connections cut per flush at most. */
#define FLUSH_MAX	4096
#define FLUSH_BUF	32768

struct flush_req {
	struct nlmsghdr		nlh;
	struct inet_diag_req_v2	req;
};

/* Sends a sock_diag request for TCP sockets of family. 0 or -errno. */
static int
req_send(int fd, uint16_t type, uint16_t flags, int family, uint32_t states,
    const struct inet_diag_sockid *id)
{
	struct flush_req q;
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };

	memset(&q, 0, sizeof(q));
	q.nlh.nlmsg_len = sizeof(q);
	q.nlh.nlmsg_type = type;
	q.nlh.nlmsg_flags = NLM_F_REQUEST | flags;
	q.req.sdiag_family = (uint8_t)family;
	q.req.sdiag_protocol = IPPROTO_TCP;
	q.req.idiag_states = states;
	if (id != NULL)
		q.req.id = *id;
	if (sendto(fd, &q, sizeof(q), 0, (struct sockaddr *)&nl,
	    sizeof(nl)) < 0)
		return -errno;
	return 0;
}

/* The mark of an inet_diag_msg (0 if the kernel sent none). */
static uint32_t
msg_mark(const struct nlmsghdr *h)
{
	const struct inet_diag_msg *m = NLMSG_DATA(h);
	const struct rtattr *a = (const struct rtattr *)(m + 1);
	int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*m));
	uint32_t mark;

	for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == INET_DIAG_MARK &&
		    RTA_PAYLOAD(a) >= (int)sizeof(mark)) {
			memcpy(&mark, RTA_DATA(a), sizeof(mark));
			return mark;
		}
	return 0;
}

/* The family's TCP sockets of local port port (not marked skip) into
 * ids. Returns how many (at most max) or -errno. */
static int
dump(int fd, int family, uint16_t port, uint32_t skip,
    struct inet_diag_sockid *ids, int max)
{
	static char buf[FLUSH_BUF] __attribute__((aligned(8)));
	const struct inet_diag_msg *m;
	struct nlmsghdr *h;
	ssize_t r;
	int len, n = 0;

	if ((len = req_send(fd, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, family,
	    1u << TCP_ESTABLISHED | 1u << TCP_SYN_RECV | 1u << TCP_CLOSE_WAIT,
	    NULL)) < 0)
		return len;
	for (;;) {
		r = recv(fd, buf, sizeof(buf), 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		len = (int)r;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)len);
		    h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return n;
			if (h->nlmsg_type == NLMSG_ERROR)
				return -EIO;
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
				continue;
			m = NLMSG_DATA(h);
			if (ntohs(m->id.idiag_sport) != port || n == max ||
			    (skip != 0 && msg_mark(h) == skip))
				continue;
			ids[n++] = m->id;
		}
	}
}

/* SOCK_DESTROY of one socket: 0, or -errno (ENOENT: gone already). */
static int
destroy(int fd, int family, const struct inet_diag_sockid *id)
{
	struct {
		struct nlmsghdr	 nlh;
		struct nlmsgerr	 err;
	} a;
	ssize_t r;
	int rc;

	if ((rc = req_send(fd, SOCK_DESTROY, NLM_F_ACK, family, ~0u, id)) < 0)
		return rc;
	do
		r = recv(fd, &a, sizeof(a), 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if ((size_t)r < sizeof(a) || a.nlh.nlmsg_type != NLMSG_ERROR)
		return -EIO;
	return a.err.error;
}

int
net_incoming_flush(uint16_t port, uint32_t skip_mark)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct inet_diag_sockid *ids;
	int fd, i, j, n, rc, cut = 0;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	ids = xcalloc(FLUSH_MAX, sizeof(*ids));
	for (i = 0; i < 2; i++) {
		if ((n = dump(fd, families[i], port, skip_mark, ids,
		    FLUSH_MAX)) < 0) {
			rc = n;
			goto out;
		}
		for (j = 0; j < n; j++) {
			rc = destroy(fd, families[i], &ids[j]);
			if (rc == 0)
				cut++;
			else if (rc != -ENOENT)
				goto out;
		}
	}
	rc = cut;
out:
	x_free(ids);
	close(fd);
	return rc;
}
