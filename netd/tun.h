/* TUN devices for netd: create one, give it an address, bring it up. */
#ifndef MIRROR_NETD_TUN_H
#define MIRROR_NETD_TUN_H

/* Creates a TUN device (IFF_TUN | IFF_NO_PI); name is in/out (IFNAMSIZ).
 * Returns the fd or -errno. The device goes away when the fd closes. */
int	tun_open(char *name);

#endif
