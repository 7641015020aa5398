/*
 * Names for mirror-forward (forward-dns.h): the order of names a stub
 * resolver tries, from the pod's search list and ndots, and the DNS
 * messages themselves, built and parsed by c-ares. The pod's resolv.conf
 * is first passed through netd's resolvout_format, which keeps only
 * well-formed search domains and known options with small numbers; what
 * is read here is that output, whose shape is known.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ares.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forward-dns.h"
#include "resolvout.h"

#define DNS_CLASS_IN	1

/* The search domains and ndots of resolvout_format's output. */
static int
read_sanitized(const char *text, char search[][FWDDNS_NAME_MAX], int *ns)
{
	const char *line, *p;
	char word[FWDDNS_NAME_MAX];
	int ndots = 1;
	size_t k;

	*ns = 0;
	for (line = text; *line; line = p + (*p == '\n')) {
		p = line + strcspn(line, "\n");
		if (strncmp(line, "options ", 8) == 0) {
			const char *o = strstr(line, "ndots:");

			/* 0..15 here: resolvout_format checked it. */
			if (o != NULL && o < p)
				ndots = atoi(o + 6);
			continue;
		}
		if (strncmp(line, "search ", 7) != 0)
			continue;
		for (line += 7; line < p && *ns < FWDDNS_SEARCH_MAX;
		    line += k + 1) {
			k = strcspn(line, " \n");
			if (k == 0 || k >= sizeof(word))
				break;
			memcpy(word, line, k);
			word[k] = '\0';
			snprintf(search[(*ns)++], FWDDNS_NAME_MAX, "%s", word);
			if (line[k] != ' ')
				break;
		}
	}
	return ndots;
}

static void
plan_add(struct fwddns_plan *plan, const char *name, const char *domain)
{
	int n;

	if (plan->n > FWDDNS_SEARCH_MAX)
		return;
	n = domain ? snprintf(plan->names[plan->n], FWDDNS_NAME_MAX, "%s.%s",
	    name, domain) : snprintf(plan->names[plan->n], FWDDNS_NAME_MAX,
	    "%s", name);
	if (n > 0 && n < FWDDNS_NAME_MAX)
		plan->n++;
}

void
fwddns_plan(const char *name, const char *pod, size_t len,
    struct fwddns_plan *plan)
{
	static const char *const stub[] = { "127.0.0.1", NULL };
	char search[FWDDNS_SEARCH_MAX][FWDDNS_NAME_MAX];
	char text[RESOLVOUT_MAX];
	int ndots = 1, ns = 0, dots = 0, i;
	size_t n = strlen(name);
	const char *p;

	plan->n = 0;
	if (n > 0 && name[n - 1] == '.') {
		plan_add(plan, name, NULL);
		return;
	}
	if (pod != NULL && resolvout_format(pod, len, stub, text,
	    sizeof(text)) > 0)
		ndots = read_sanitized(text, search, &ns);
	for (p = name; *p; p++)
		dots += *p == '.';
	if (dots >= ndots)
		plan_add(plan, name, NULL);
	for (i = 0; i < ns; i++)
		plan_add(plan, name, search[i]);
	if (dots < ndots)
		plan_add(plan, name, NULL);
}

int
fwddns_query(const char *name, int type, uint8_t **buf, size_t *len)
{
	unsigned char *q = NULL;
	int qlen = 0;

	/* The id is the agent's business: it sends the query as it is,
	 * and the answer comes back by request id. */
	if (ares_create_query(name, DNS_CLASS_IN, type, 0, 1, &q, &qlen,
	    0) != ARES_SUCCESS || qlen <= 0)
		return -EINVAL;
	*buf = q;
	*len = (size_t)qlen;
	return 0;
}

void
fwddns_free(uint8_t *buf)
{
	if (buf != NULL)
		ares_free_string(buf);
}

int
fwddns_answer(const uint8_t *ans, size_t len, int family,
    uint8_t addrs[][16])
{
	struct ares_addrttl a4[FWDDNS_ADDRS_MAX];
	struct ares_addr6ttl a6[FWDDNS_ADDRS_MAX];
	int n = FWDDNS_ADDRS_MAX, rc, i;

	if (len > 65535)
		return -EBADMSG;
	if (family == 4)
		rc = ares_parse_a_reply(ans, (int)len, NULL, a4, &n);
	else
		rc = ares_parse_aaaa_reply(ans, (int)len, NULL, a6, &n);
	if (rc == ARES_ENODATA || rc == ARES_ENOTFOUND)
		return 0;
	if (rc != ARES_SUCCESS)
		return -EBADMSG;
	if (n < 0 || n > FWDDNS_ADDRS_MAX)
		return -EBADMSG;
	for (i = 0; i < n; i++) {
		if (family == 4)
			memcpy(addrs[i], &a4[i].ipaddr, 4);
		else
			memcpy(addrs[i], &a6[i].ip6addr, 16);
	}
	return n;
}
