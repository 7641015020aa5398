/* The target's resolv.conf as c-ares' server list; see resolv.c. */
#ifndef MIRROR_AGENT_RESOLV_H
#define MIRROR_AGENT_RESOLV_H

#include <stddef.h>

/* The "nameserver" addresses of text (NUL-terminated; a "%zone" suffix
 * dropped) as "ADDR:53,[ADDR6]:53,..." into csv (csvsz bytes, always
 * NUL-terminated; a server that does not fit is left out), or
 * "127.0.0.1:53" when there is none, as the resolver's default. */
void	agent_resolv_servers(const char *text, char *csv, size_t csvsz);

#endif
