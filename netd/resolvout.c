/*
 * The shell's resolv.conf, from the pod's (see resolvout.h). The pod's
 * text is read line by line into bounded buffers; a domain passes only
 * if made of letters, digits, '-' and '_' in dot-separated labels of 1 to
 * 63 characters, an option only if it is one glibc and musl know with a
 * small numeric argument where it takes one.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "resolvout.h"

#define LINE_MAX_	1024
#define WORD_MAX	256
#define OPTIONS_MAX	16

/* Options that take a number, with its largest value. */
static const struct {
	const char	*name;
	int		 max;
} num_opts[] = {
	{ "ndots", 15 }, { "timeout", 30 }, { "attempts", 5 },
};

static const char *const flag_opts[] = {
	"rotate", "edns0", "single-request", "single-request-reopen",
	"no-tld-query", "use-vc", "trust-ad", "no-reload", "inet6",
	"no-aaaa",
};

static int
domain_ok(const char *d)
{
	size_t n = strlen(d), label = 0, i;

	if (n == 0 || n > 253)
		return 0;
	if (strcmp(d, ".") == 0)
		return 0;
	for (i = 0; i < n; i++) {
		char c = d[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
		if (++label > 63)
			return 0;
	}
	return 1;
}

/* The option as it goes out (normalized number), or "" if refused. */
static void
option_check(const char *o, char *out, size_t size)
{
	const char *colon = strchr(o, ':');
	size_t i, k;
	char *end;
	long v;

	out[0] = '\0';
	if (colon == NULL) {
		for (i = 0; i < sizeof(flag_opts) / sizeof(flag_opts[0]); i++)
			if (strcmp(o, flag_opts[i]) == 0)
				snprintf(out, size, "%s", o);
		return;
	}
	k = (size_t)(colon - o);
	for (i = 0; i < sizeof(num_opts) / sizeof(num_opts[0]); i++) {
		if (strlen(num_opts[i].name) != k ||
		    strncmp(o, num_opts[i].name, k) != 0)
			continue;
		if (colon[1] < '0' || colon[1] > '9')
			return;
		v = strtol(colon + 1, &end, 10);
		if (*end != '\0' || v < 0 || v > num_opts[i].max)
			return;
		snprintf(out, size, "%s:%ld", num_opts[i].name, v);
	}
}

struct pod_dns {
	char	search[RESOLVOUT_SEARCH_LEN + 1];
	char	options[OPTIONS_MAX][WORD_MAX];
	int	noptions;
};

/* A "search" or "domain" line replaces the list (resolv.conf(5): the
 * last one wins). */
static void
take_search(struct pod_dns *pd, char *rest)
{
	char *save = NULL, *w;
	size_t used = 0, n;
	int count = 0;

	pd->search[0] = '\0';
	for (w = strtok_r(rest, " \t", &save); w && count < RESOLVOUT_SEARCH_MAX;
	    w = strtok_r(NULL, " \t", &save)) {
		n = strlen(w);
		if (n > 1 && w[n - 1] == '.')
			w[--n] = '\0';		/* "cluster.local." */
		if (!domain_ok(w) || used + n + (used ? 1 : 0) >
		    RESOLVOUT_SEARCH_LEN)
			continue;
		if (used)
			pd->search[used++] = ' ';
		memcpy(pd->search + used, w, n + 1);
		used += n;
		count++;
	}
}

/* An "options" line adds to those before it; a later value of the same
 * option replaces the earlier one. */
static void
take_options(struct pod_dns *pd, char *rest)
{
	char *save = NULL, *w, norm[WORD_MAX];
	size_t k;
	int i;

	for (w = strtok_r(rest, " \t", &save); w;
	    w = strtok_r(NULL, " \t", &save)) {
		if (strlen(w) >= 64)
			continue;
		option_check(w, norm, sizeof(norm));
		if (norm[0] == '\0')
			continue;
		k = strcspn(norm, ":");
		for (i = 0; i < pd->noptions; i++)
			if (strncmp(pd->options[i], norm, k) == 0 &&
			    (pd->options[i][k] == ':' ||
			    pd->options[i][k] == '\0'))
				break;
		if (i == pd->noptions) {
			if (pd->noptions == OPTIONS_MAX)
				continue;
			pd->noptions++;
		}
		memcpy(pd->options[i], norm, sizeof(norm));
	}
}

static void
pod_dns_read(struct pod_dns *pd, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *nl, *start;
	char line[LINE_MAX_], *rest;
	size_t k;

	memset(pd, 0, sizeof(*pd));
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		k = nl ? (size_t)(nl - p) : (size_t)(end - p);
		start = p;
		p = nl ? nl + 1 : end;
		if (k >= sizeof(line))
			continue;	/* no resolver writes such */
		memcpy(line, start, k);
		line[k] = '\0';
		if (memchr(line, '\0', k) != NULL)
			continue;
		rest = line + strspn(line, " \t");
		if (strncmp(rest, "search", 6) == 0 &&
		    (rest[6] == ' ' || rest[6] == '\t'))
			take_search(pd, rest + 7);
		else if (strncmp(rest, "domain", 6) == 0 &&
		    (rest[6] == ' ' || rest[6] == '\t'))
			take_search(pd, rest + 7);
		else if (strncmp(rest, "options", 7) == 0 &&
		    (rest[7] == ' ' || rest[7] == '\t'))
			take_options(pd, rest + 8);
	}
}

int
resolvout_format(const char *pod, size_t len, const char *const *servers,
    char *out, size_t size)
{
	struct pod_dns pd;
	unsigned char a[16];
	size_t used;
	int i, n = 0;

	if (size < RESOLVOUT_MAX)
		return -EINVAL;
	pod_dns_read(&pd, pod, len);
	used = (size_t)snprintf(out, size, "# mirror-netd: the shell's DNS "
	    "stub, with the pod's search list and options\n");
	for (i = 0; servers[i] && n < 3; i++) {
		if (strlen(servers[i]) >= 46 ||
		    (inet_pton(AF_INET, servers[i], a) != 1 &&
		    inet_pton(AF_INET6, servers[i], a) != 1))
			continue;
		used += (size_t)snprintf(out + used, size - used,
		    "nameserver %s\n", servers[i]);
		n++;
	}
	if (n == 0)
		return -EINVAL;
	if (pd.search[0])
		used += (size_t)snprintf(out + used, size - used,
		    "search %s\n", pd.search);
	if (pd.noptions > 0) {
		used += (size_t)snprintf(out + used, size - used, "options");
		for (i = 0; i < pd.noptions; i++)
			used += (size_t)snprintf(out + used, size - used,
			    " %s", pd.options[i]);
		used += (size_t)snprintf(out + used, size - used, "\n");
	}
	return (int)used;
}
