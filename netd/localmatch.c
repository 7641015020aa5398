/* net.local's matcher and the stub's answers for its names; see
 * localmatch.h. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "localmatch.h"

#define DNS_QTYPE_A	1

void
localmatch_init(struct localmatch *m)
{
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->mtx, NULL);
}

/* "1" to "65535", digits only. */
static int
parse_port(const char *s, uint16_t *port)
{
	unsigned long v;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || errno != 0 || v == 0 || v > 65535)
		return -EINVAL;
	*port = htons((uint16_t)v);
	return 0;
}

/* A host name: labels of 1 to 63 letters, digits, '-' and '_', at most
 * DNS_NAME_MAX - 2 in all (so it fits a query), and not all digits and
 * dots (a mistyped address is no name). Lower-cased into out. */
static int
parse_name(const char *s, char *out)
{
	size_t i, label = 0, n = strlen(s);
	int alpha = 0;

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > DNS_NAME_MAX - 2)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0)
				return -EINVAL;
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			if (++label > 63)
				return -EINVAL;
			alpha |= !isdigit(c);
		} else
			return -EINVAL;
		out[i] = (char)tolower(c);
	}
	if (label == 0 || !alpha)
		return -EINVAL;
	out[n] = '\0';
	return 0;
}

int
localmatch_add(struct localmatch *m, const char *entry, const char **why)
{
	char host[DNS_NAME_MAX + 8];
	const char *colon = strchr(entry, ':');
	uint16_t port = 0;
	struct cidr c;
	size_t hl;

	if (colon && strchr(colon + 1, ':')) {
		*why = "IPv6 is not relayed (netd's TUN is IPv4)";
		return -EINVAL;
	}
	hl = colon ? (size_t)(colon - entry) : strlen(entry);
	if (hl >= sizeof(host)) {
		*why = "the host name is too long";
		return -EINVAL;
	}
	memcpy(host, entry, hl);
	host[hl] = '\0';
	if (colon && parse_port(colon + 1, &port) < 0) {
		*why = "the port must be a number from 1 to 65535";
		return -EINVAL;
	}
	if (m->nnets + m->nnames >= LOCALMATCH_MAX) {
		*why = "too many entries";
		return -E2BIG;
	}
	if (hl == 0) {
		if (!colon) {
			*why = "an empty entry";
			return -EINVAL;
		}
		m->nets[m->nnets].addr = m->nets[m->nnets].mask = 0;
		m->nets[m->nnets++].port = port;
		return 0;
	}
	if (cidr_parse(host, &c) == 0) {
		uint32_t a;

		if (c.family != AF_INET) {
			*why = "IPv6 is not relayed (netd's TUN is IPv4)";
			return -EINVAL;
		}
		memcpy(&a, c.addr, 4);
		m->nets[m->nnets].addr = a;
		m->nets[m->nnets].mask = c.len == 0 ? 0 :
		    htonl(~0u << (32 - c.len));
		m->nets[m->nnets++].port = port;
		return 0;
	}
	if (strchr(host, '/') || parse_name(host,
	    m->names[m->nnames].name) < 0) {
		*why = "not an IPv4 address, CIDR or host name";
		return -EINVAL;
	}
	m->names[m->nnames++].port = port;
	return 0;
}

int
localmatch_empty(const struct localmatch *m)
{
	return m->nnets == 0 && m->nnames == 0;
}

int
localmatch_addr(struct localmatch *m, uint32_t addr, uint16_t port,
    double now)
{
	int i, hit = 0;

	for (i = 0; i < m->nnets; i++)
		if ((addr & m->nets[i].mask) == m->nets[i].addr &&
		    (m->nets[i].port == 0 || m->nets[i].port == port))
			return 1;
	if (m->nnames == 0)
		return 0;
	pthread_mutex_lock(&m->mtx);
	for (i = 0; i < LOCALMATCH_LEARNED_MAX && !hit; i++) {
		const struct localmatch_learned *l = &m->learned[i];

		hit = l->expire > now && l->addr == addr &&
		    (l->port == 0 || l->port == port);
	}
	pthread_mutex_unlock(&m->mtx);
	return hit;
}

void
localmatch_pod_search(struct localmatch *m, const char *resolv, size_t len)
{
	static const char *const servers[] = { "127.0.0.1", NULL };
	char out[RESOLVOUT_MAX + 1], *line, *d, *s1, *s2;
	size_t dl;
	int n;

	m->nsearch = 0;
	/* resolvout_format keeps only well-formed domains of the pod's
	 * "search" line, on a line of its own. */
	if ((n = resolvout_format(resolv, len, servers, out,
	    RESOLVOUT_MAX)) < 0)
		return;
	out[n] = '\0';
	for (line = strtok_r(out, "\n", &s1); line; line = strtok_r(NULL,
	    "\n", &s1)) {
		if (strncmp(line, "search ", 7) != 0)
			continue;
		for (d = strtok_r(line + 7, " \t", &s2); d &&
		    m->nsearch < RESOLVOUT_SEARCH_MAX; d = strtok_r(NULL,
		    " \t", &s2)) {
			dl = strlen(d);
			if (dl > 0 && d[dl - 1] == '.')
				d[--dl] = '\0';
			if (dl > 0 && dl <= DNS_NAME_MAX)
				memcpy(m->search[m->nsearch++], d, dl + 1);
		}
	}
}

int
localmatch_name(const struct localmatch *m, const char *qname)
{
	size_t n = strlen(qname), nl;
	int i, k;

	if (n > 0 && qname[n - 1] == '.')
		n--;
	for (i = 0; i < m->nnames; i++) {
		nl = strlen(m->names[i].name);
		if (nl > n || strncasecmp(m->names[i].name, qname, nl) != 0)
			continue;
		if (nl == n)
			return i;
		if (qname[nl] != '.')
			continue;
		for (k = 0; k < m->nsearch; k++)
			if (strlen(m->search[k]) == n - nl - 1 &&
			    strncasecmp(m->search[k], qname + nl + 1,
			    n - nl - 1) == 0)
				return i;
	}
	return -1;
}

void
localmatch_learn(struct localmatch *m, int idx, uint32_t addr, double now)
{
	struct localmatch_learned *l = NULL;
	uint16_t port;
	int i;

	if (idx < 0 || idx >= m->nnames)
		return;
	port = m->names[idx].port;
	pthread_mutex_lock(&m->mtx);
	/* The same address again, or a free or expired slot, before the
	 * oldest is taken. */
	for (i = 0; i < LOCALMATCH_LEARNED_MAX; i++)
		if (m->learned[i].expire > 0 && m->learned[i].addr == addr &&
		    m->learned[i].port == port) {
			l = &m->learned[i];
			break;
		}
	for (i = 0; l == NULL && i < LOCALMATCH_LEARNED_MAX; i++)
		if (m->learned[i].expire <= now)
			l = &m->learned[i];
	if (l == NULL) {
		l = &m->learned[m->next];
		m->next = (m->next + 1) % LOCALMATCH_LEARNED_MAX;
	}
	l->addr = addr;
	l->port = port;
	l->expire = now + LOCALMATCH_LEARN_TTL;
	pthread_mutex_unlock(&m->mtx);
}

int
localmatch_cidrs(const struct localmatch *m, struct cidr *out, int max)
{
	int i, k = 0, len;
	uint32_t mask;

	for (i = 0; i < m->nnets && k < max; i++) {
		if (m->nets[i].port != 0)
			continue;
		mask = ntohl(m->nets[i].mask);
		for (len = 0; len < 32 && (mask & (1u << (31 - len))); len++)
			;
		cidr_make(&out[k++], AF_INET, &m->nets[i].addr, len);
	}
	return k;
}

static void
put16(uint8_t *p, unsigned int v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

int
localmatch_dns_answer(const uint8_t *query, size_t n, int rcode,
    const uint32_t *addrs, int naddrs, uint8_t *out, size_t size)
{
	size_t off = DNS_HDR_LEN, qend, len;
	unsigned int qtype;
	int i;

	if (dns_query_check(query, n, NULL) < 0 || rcode < 0 || rcode > 15)
		return -EINVAL;
	while (query[off] != 0)		/* checked: labels, in bounds */
		off += (size_t)query[off] + 1;
	qend = off + 1 + 4;
	qtype = (unsigned int)query[off + 1] << 8 | query[off + 2];
	if (rcode != 0 || qtype != DNS_QTYPE_A || naddrs < 0)
		naddrs = 0;
	if (naddrs > LOCALMATCH_ANSWERS_MAX)
		naddrs = LOCALMATCH_ANSWERS_MAX;
	len = qend + (size_t)naddrs * 16;
	if (len > size)
		return -EINVAL;
	memcpy(out, query, qend);
	/* QR, the query's opcode (0) and RD, RA; the rcode. */
	out[2] = (uint8_t)(0x80 | (query[2] & 0x01));
	out[3] = (uint8_t)(0x80 | rcode);
	put16(out + 4, 1);
	put16(out + 6, (unsigned int)naddrs);
	put16(out + 8, 0);
	put16(out + 10, 0);
	for (i = 0, off = qend; i < naddrs; i++, off += 16) {
		/* the name: a pointer to the question's */
		put16(out + off, 0xc000 | DNS_HDR_LEN);
		put16(out + off + 2, DNS_QTYPE_A);
		put16(out + off + 4, 1);		/* IN */
		put16(out + off + 6, 0);
		put16(out + off + 8, LOCALMATCH_DNS_TTL);
		put16(out + off + 10, 4);
		memcpy(out + off + 12, &addrs[i], 4);
	}
	return (int)len;
}
