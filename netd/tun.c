/* TUN device creation and set-up (ioctl; routes are route.c's). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tun.h"

#define ADDR6_WAIT_MS	3000

int
tun_open(char *name, int vnet, int *offload)
{
	struct ifreq ifr;
	int fd, rc;

	if (offload)
		*offload = 0;
	if ((fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC)) < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	snprintf(name, IFNAMSIZ, "%s", ifr.ifr_name);
	/* The kernel hands over TCP segments of up to 64 KiB with their
	 * checksum left to us, and takes them back the same way. */
	if (vnet && ioctl(fd, TUNSETOFFLOAD,
	    TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) == 0 && offload)
		*offload = 1;
	return fd;
}

static int
ifreq_ioctl(int s, unsigned long req, struct ifreq *ifr)
{
	return ioctl(s, req, ifr) < 0 ? -errno : 0;
}

int
tun_configure(const char *name, uint32_t addr, int prefixlen, int mtu)
{
	struct ifreq ifr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	int s, rc;

	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_mtu = mtu;
	if ((rc = ifreq_ioctl(s, SIOCSIFMTU, &ifr)) < 0)
		goto out;
	memset(&ifr.ifr_addr, 0, sizeof(ifr.ifr_addr));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = addr;
	if ((rc = ifreq_ioctl(s, SIOCSIFADDR, &ifr)) < 0)
		goto out;
	sin->sin_addr.s_addr = prefixlen ?
	    htonl(0xffffffffu << (32 - prefixlen)) : 0;
	if ((rc = ifreq_ioctl(s, SIOCSIFNETMASK, &ifr)) < 0)
		goto out;
	rc = tun_link_up(name);
out:
	close(s);
	return rc;
}

/* linux/ipv6.h's struct in6_ifreq (that header clashes with netinet/in.h). */
struct tun_in6_ifreq {
	struct in6_addr	 addr;
	uint32_t	 prefixlen;
	int		 ifindex;
};

/* The kernel finishes a new IPv6 address in a work item of its own:
 * until then it is tentative, and a route from it or a bind to it fails
 * (EINVAL, EADDRNOTAVAIL). Waits until a bind works, at most
 * ADDR6_WAIT_MS. 0 or -errno. */
static int
addr6_wait_usable(const void *addr)
{
	struct sockaddr_in6 sin6;
	int s, i, rc;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	memcpy(&sin6.sin6_addr, addr, 16);
	for (i = 0; i < ADDR6_WAIT_MS / 10; i++) {
		if ((s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
			return -errno;
		rc = bind(s, (struct sockaddr *)&sin6, sizeof(sin6)) == 0 ? 0 :
		    -errno;
		close(s);
		if (rc != -EADDRNOTAVAIL)
			return rc;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

int
tun_configure6(const char *name, const void *addr, int prefixlen)
{
	struct tun_in6_ifreq r;
	char path[128];
	int s, fd, rc = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
	    name);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (write(fd, "0", 1) != 1)
		rc = -errno;
	close(fd);
	if (rc < 0)
		return rc;
	if ((s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	memset(&r, 0, sizeof(r));
	memcpy(&r.addr, addr, 16);
	r.prefixlen = (uint32_t)prefixlen;
	if ((r.ifindex = (int)if_nametoindex(name)) == 0)
		rc = -errno;
	else if (ioctl(s, SIOCSIFADDR, &r) < 0)
		rc = -errno;
	close(s);
	return rc < 0 ? rc : addr6_wait_usable(addr);
}

int
tun_link_up(const char *name)
{
	struct ifreq ifr;
	int s, rc;

	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if ((rc = ifreq_ioctl(s, SIOCGIFFLAGS, &ifr)) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		rc = ifreq_ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
	return rc;
}
