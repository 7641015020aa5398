/* TUN devices for netd: create one, give it an address, bring it up. */
#ifndef MIRROR_NETD_TUN_H
#define MIRROR_NETD_TUN_H

#include <stdint.h>

/* Creates a non-persistent TUN device; name is in/out (IFNAMSIZ).
 * vnet: open with IFF_VNET_HDR and ask for checksum and TSO offload;
 * *offload (may be NULL) tells whether the kernel took it. Without vnet
 * it is a plain IFF_TUN | IFF_NO_PI device (mirror-netd --check).
 * Returns the fd (blocking, close-on-exec) or -errno. The device and
 * every route through it go away when the fd closes. */
int	tun_open(char *name, int vnet, int *offload);
/* Address addr/prefixlen (network order), MTU, up; 0 or -errno. */
int	tun_configure(const char *name, uint32_t addr, int prefixlen,
	    int mtu);
/* Enables IPv6 on the device and gives it addr/prefixlen (16 bytes,
 * network order). A TUN device has no neighbours to ask, so the address
 * is usable at once (no duplicate address detection). 0 or -errno
 * (-ENOENT: this kernel has IPv6 off). */
int	tun_configure6(const char *name, const void *addr, int prefixlen);
/* Brings the link name up (lo of a fresh namespace too); 0 or -errno. */
int	tun_link_up(const char *name);

#endif
