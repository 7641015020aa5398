/*
 * The target's resolv.conf, read by the agent's DNS side: its
 * "nameserver" lines as c-ares' server list. Pure (no I/O), so that the
 * fuzzer (tests/fuzz/fuzz-resolvconf.c) calls what the agent runs.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "resolv.h"

/* The "nameserver" lines of the target's resolv.conf as c-ares' list. */
void
agent_resolv_servers(const char *text, char *csv, size_t csvsz)
{
	char line[512], word[64], addr[INET6_ADDRSTRLEN + 1], *pct;
	const char *p = text, *nl;
	struct in6_addr a6;
	struct in_addr a4;
	size_t len = 0, k;
	int n;

	csv[0] = '\0';
	while (*p) {
		nl = strchr(p, '\n');
		k = nl ? (size_t)(nl - p) : strlen(p);
		if (k >= sizeof(line))
			k = sizeof(line) - 1;
		memcpy(line, p, k);
		line[k] = '\0';
		p = nl ? nl + 1 : p + strlen(p);
		if (sscanf(line, " %63s %46s", word, addr) != 2 ||
		    strcmp(word, "nameserver") != 0)
			continue;
		if ((pct = strchr(addr, '%')) != NULL)
			*pct = '\0';
		if (inet_pton(AF_INET, addr, &a4) == 1)
			n = snprintf(csv + len, csvsz - len, "%s%s:53",
			    len ? "," : "", addr);
		else if (inet_pton(AF_INET6, addr, &a6) == 1)
			n = snprintf(csv + len, csvsz - len, "%s[%s]:53",
			    len ? "," : "", addr);
		else
			continue;
		if (n < 0 || (size_t)n >= csvsz - len) {
			csv[len] = '\0';
			break;
		}
		len += (size_t)n;
	}
	/* No nameserver line: the resolver's default. */
	if (len == 0)
		snprintf(csv, csvsz, "127.0.0.1:53");
}
