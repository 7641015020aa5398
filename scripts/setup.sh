#!/usr/bin/env bash
# Installs the Debian 12 packages mirror needs (as root), then builds it
# in this checkout. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
	build-essential autoconf automake libtool pkg-config
	libfuse3-dev fuse3 libnl-route-3-dev libc-ares-dev libwebsockets-dev
	libconfig-dev
	libnftnl-dev libmnl-dev nftables libssl-dev
	libhttp-parser-dev libnghttp2-dev nghttp2-client nghttp2-server
	busybox-static iproute2 util-linux procps psmisc python3 curl git tar
	clang libclang-rt-14-dev
	groff-base
	podman runc dnsmasq-base iputils-ping
	tmux
	# netd registers its DNS stub with systemd-resolved (sd-bus)
	libsystemd-dev
	# bench/net's slirp4netns column
	slirp4netns
	# t-resolved's private system bus (systemd-resolved itself is fetched
	# by the test with apt-get download, never installed: it would
	# rewrite this machine's /etc/resolv.conf)
	dbus-daemon
	# t-ide: the debuggee of docs/ide.md's launch configurations
	nodejs
	# t-progress: script(1), a terminal for the progress line
	bsdutils
	# t-deb: build the packages, check them, install them in a bookworm root
	debhelper dpkg-dev lintian debootstrap
	# t-completion: the zsh completion in a real zsh
	zsh
)
# docker/NAME targets are tested with a docker CLI talking to podman's
# Docker-compatible API; without a docker CLI, podman-docker provides one.
command -v docker >/dev/null || packages+=(podman-docker)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "setup: need root to install: ${missing[*]} (run with sudo)" >&2
		exit 1
	fi
	echo "setup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
	echo "setup: ./autogen.sh"
	./autogen.sh >/dev/null 2>&1 || ./autogen.sh
fi
if [ ! -f Makefile ] || [ configure -nt Makefile ]; then
	echo "setup: ./configure ${MIRROR_CONFIGURE_FLAGS:-}"
	./configure -q ${MIRROR_CONFIGURE_FLAGS:-}
fi
echo "setup: make"
make -s -j"$(nproc)" >/dev/null
make -s -j"$(nproc)" check-programs >/dev/null
echo "setup: built mirrorctl/mirrorctl, mirror-agent, mirror-mountd, mirror-netd, mirror-demo"
