/*
 * mirror-netd: the network daemon (TUN device, routes, DNS stub). This
 * first slice only checks that this machine can do its job: create a
 * TUN device and talk to the kernel's routing tables through libnl.
 * The tunnel itself is the work of a later issue.
 */
#include "config.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "route.h"
#include "tun.h"

static void
usage(FILE *f)
{
	fprintf(f,
"usage: mirror-netd --check\n"
"\n"
"Checks that a TUN device can be created and that the routing tables\n"
"can be read through netlink. The traffic tunnel is not implemented in\n"
"this version.\n");
}

int
main(int argc, char **argv)
{
	char name[IFNAMSIZ];
	int fd, idx, n;

	if (argc == 2 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc != 2 || strcmp(argv[1], "--check") != 0) {
		usage(stderr);
		return 2;
	}
	snprintf(name, sizeof(name), "mirrorchk%d", (int)getpid() % 10000);
	if ((fd = tun_open(name)) < 0) {
		fprintf(stderr, "mirror-netd: cannot create a TUN device: %s "
		    "(needs /dev/net/tun and CAP_NET_ADMIN)\n", strerror(-fd));
		return 1;
	}
	idx = route_link_index(name);
	close(fd);
	if (idx < 0) {
		fprintf(stderr, "mirror-netd: the TUN device %s is not visible "
		    "through netlink: %s\n", name, strerror(-idx));
		return 1;
	}
	if ((n = route_count_ipv4()) < 0) {
		fprintf(stderr, "mirror-netd: cannot read routes: %s\n",
		    strerror(-n));
		return 1;
	}
	printf("ok: TUN device %s (index %d) created and removed; %d IPv4 "
	    "routes readable\n", name, idx, n);
	return 0;
}
