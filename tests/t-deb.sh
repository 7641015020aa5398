#!/usr/bin/env bash
# The Debian packages: "make distdir" (what a release ships), built with
# dpkg-buildpackage into mirror and mirror-agent, lintian-clean at its
# default level, holding what make install installs (the static agent as
# mirror-agent, the configuration at /etc/mirror/mirror.conf as a
# conffile). Then installed with apt into a fresh Debian 12 root made by
# debootstrap, where "mirrorctl mount demo /mnt/x" serves a file of the
# demo pod and "mirrorctl umount" takes it down. The root runs in
# namespaces of its own (pid, mount, and net for the demo), so every
# mount of it, the FUSE mount included, and every process in it go when
# the test ends, however it ends.
# The bootstrapped root is kept as a tarball in /var/cache/mirror-test
# (it is checked to be a bookworm root before use); cold, the debootstrap
# runs while the packages build.
. "$(dirname "$0")/lib.sh"

need_root
need_cmd debootstrap
need_cmd dpkg-buildpackage dpkg-dev
need_cmd dh debhelper
need_cmd lintian
need_cmd unshare util-linux
need_cmd ip iproute2
[ -c /dev/fuse ] || missing "no /dev/fuse"
[ -f Makefile ] || [ -f "$B/Makefile" ] || fail "not configured: no $B/Makefile"

CACHE_DIR=${MIRROR_TEST_CACHE:-/var/cache/mirror-test}
CACHE=$CACHE_DIR/debootstrap-bookworm-$(dpkg --print-architecture).tar.gz
# The configured Debian mirror (deb822 or one-line sources).
DEBMIRROR=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
	tr ' ' '\n' | grep -v -- '-security' | grep . | head -n 1)
[ -n "$DEBMIRROR" ] || DEBMIRROR=$(sed -n 's/^deb[[:space:]]\{1,\}\(http[^[:space:]]*\)[[:space:]].*/\1/p' \
	/etc/apt/sources.list 2>/dev/null | grep -v -- '-security' | head -n 1)
[ -n "$DEBMIRROR" ] || DEBMIRROR=http://deb.debian.org/debian
T0=$(date +%s)
took() { say "$1 ($(($(date +%s) - T0)) s so far)"; }

# A bookworm root: the release file says so, and apt and dpkg are there.
is_bookworm_root() {
	grep -qx 'VERSION_CODENAME=bookworm' "$1/etc/os-release" 2>/dev/null &&
		grep -q '^12\.' "$1/etc/debian_version" 2>/dev/null &&
		[ -x "$1/usr/bin/apt-get" ] && [ -x "$1/usr/bin/dpkg" ]
}

ROOT=$T/root
mkdir -p "$ROOT"
boot_pid=
if [ -s "$CACHE" ]; then
	tar -xzf "$CACHE" -C "$ROOT" || fail "cannot unpack $CACHE"
	if is_bookworm_root "$ROOT"; then
		took "root from $CACHE"
	else
		say "$CACHE is not a bookworm root: made anew"
		rm -rf "$ROOT" && mkdir -p "$ROOT"
	fi
fi
if ! is_bookworm_root "$ROOT"; then
	say "debootstrap bookworm from $DEBMIRROR (in the background)"
	# A second try resumes a download the mirror cut (the first one's
	# packages stay in the target's apt cache).
	{ debootstrap --variant=minbase bookworm "$T/boot" "$DEBMIRROR" ||
		debootstrap --variant=minbase bookworm "$T/boot" "$DEBMIRROR"; } \
		>"$T/debootstrap.log" 2>&1 &
	boot_pid=$!
	on_exit "pkill -P $boot_pid; kill $boot_pid"
fi

say "build the packages from make distdir"
VERSION=$(sed -n 's/^PACKAGE_VERSION = //p' "$B/Makefile")
SRCDIR=$T/src/mirror-$VERSION
mkdir -p "$T/src"
make -s -C "$B" distdir distdir="$SRCDIR" >"$T/distdir.log" 2>&1 ||
	fail "make distdir: $(tail -n 5 "$T/distdir.log")"
(cd "$SRCDIR" && DEB_BUILD_OPTIONS="nocheck parallel=2" \
	dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1 ||
	fail "dpkg-buildpackage: $(tail -n 20 "$T/build.log")"
arch=$(dpkg --print-architecture)
DEB=$T/src/mirror_${VERSION}_$arch.deb
AGENTDEB=$T/src/mirror-agent_${VERSION}_$arch.deb
[ -f "$DEB" ] && [ -f "$AGENTDEB" ] || fail "no packages: $(ls "$T/src")"
took "packages built"

say "lintian (default level)"
lintian --fail-on error,warning "$T/src/mirror_${VERSION}_$arch.changes" >"$T/lintian" 2>&1 ||
	fail "lintian: $(cat "$T/lintian")"
grep -q '^[EW]: ' "$T/lintian" && fail "lintian: $(cat "$T/lintian")"

say "contents"
dpkg-deb -c "$DEB" | awk '{ print $6 }' | sed 's|^\./|/|' >"$T/contents"
for f in /usr/bin/mirrorctl /usr/bin/mirror-mountd /usr/bin/mirror-netd \
	/usr/bin/kubectl-mirror /usr/libexec/mirror/mirror-demo \
	"/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/mirror/libmirror-layer.so" \
	/usr/share/man/man1/mirrorctl.1.gz /usr/share/man/man5/mirror.conf.5.gz \
	/usr/share/man/man8/mirror-mountd.8.gz /usr/share/man/man8/mirror-netd.8.gz \
	/usr/share/bash-completion/completions/mirrorctl \
	/usr/share/bash-completion/completions/kubectl-mirror \
	/usr/share/zsh/vendor-completions/_mirrorctl /etc/mirror/mirror.conf; do
	grep -qx "$f" "$T/contents" || fail "mirror has no $f: $(cat "$T/contents")"
done
grep -qx /usr/bin/mirror-agent "$T/contents" && fail "mirror holds mirror-agent too"
dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles | grep -qx /etc/mirror/mirror.conf ||
	fail "/etc/mirror/mirror.conf is not a conffile"
dpkg-deb -c "$AGENTDEB" | grep -q ' ./usr/bin/mirror-agent$' || fail "mirror-agent has no /usr/bin/mirror-agent"
dpkg-deb -x "$AGENTDEB" "$T/agentdeb"
readelf -l "$T/agentdeb/usr/bin/mirror-agent" | grep -q INTERP &&
	fail "the packaged agent is not static: $(readelf -d "$T/agentdeb/usr/bin/mirror-agent" | grep NEEDED)"

if [ -n "$boot_pid" ]; then
	say "waiting for debootstrap"
	wait "$boot_pid" || fail "debootstrap: $(tail -n 20 "$T/debootstrap.log")"
	is_bookworm_root "$T/boot" || fail "debootstrap made no bookworm root"
	mkdir -p "$CACHE_DIR"
	tmp=$(mktemp "$CACHE.XXXXXX")
	tar -C "$T/boot" -I 'gzip -1' -cf "$tmp" . && mv -f "$tmp" "$CACHE" ||
		{ rm -f "$tmp"; fail "cannot write $CACHE"; }
	rm -rf "$ROOT" && mv "$T/boot" "$ROOT"
	took "debootstrap done, cached in $CACHE"
fi

# CMD... as root in ROOT, in pid and mount namespaces of its own (and a
# network namespace too with --net): /proc, /dev (with /dev/fuse), /sys,
# /run and /tmp are mounted there only, and all of it and every process
# started in it go when CMD ends.
in_root() {
	local net=
	[ "$1" = --net ] && net=--net
	[ "$1" = --net ] && shift
	unshare --pid --fork --mount --propagation private $net --kill-child \
		sh -c '
		set -e
		r=$1 net=$2; shift 2
		[ -z "$net" ] || ip link set lo up
		# the root a mount point, as / is (the demo makes / private)
		mount --bind "$r" "$r"
		mount -t proc proc "$r/proc"
		mount --rbind /dev "$r/dev"
		mount --rbind /sys "$r/sys"
		mount -t tmpfs tmpfs "$r/run"
		mount -t tmpfs tmpfs "$r/tmp"
		exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
		' in-root "$ROOT" "$net" "$@"
}

say "install with apt into the bookworm root"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
mkdir -p "$ROOT/root/debs"
cp "$DEB" "$AGENTDEB" "$ROOT/root/debs/"
in_root sh -c 'apt-get update -qq && apt-get install -y -qq \
	/root/debs/mirror_*.deb /root/debs/mirror-agent_*.deb' >"$T/apt.log" 2>&1 ||
	fail "apt-get install: $(tail -n 20 "$T/apt.log")"
in_root dpkg-query -W -f='${Package} ${Version} ${Status}\n' mirror mirror-agent busybox-static >"$T/dpkg" ||
	fail "dpkg-query: $(cat "$T/dpkg")"
say "$(tr '\n' ';' <"$T/dpkg")"
grep -q "^mirror $VERSION install ok installed" "$T/dpkg" || fail "mirror not installed: $(cat "$T/dpkg")"
took "installed"

say "mirrorctl mount demo /mnt/x in the root (its own network namespace)"
cat >"$ROOT/root/demo.sh" <<'SH'
set -eu
mkdir -p /mnt/x
man -w mirrorctl >/dev/null 2>&1 || [ -f /usr/share/man/man1/mirrorctl.1.gz ]
mirrorctl mount demo /mnt/x
mirrorctl status | grep -q ' /mnt/x '
echo "config.yaml: $(head -n 1 /mnt/x/app/config.yaml)"
echo "hostname: $(cat /mnt/x/etc/hostname)"
grep -q ' /mnt/x fuse' /proc/mounts
mirrorctl umount /mnt/x
if grep -q ' /mnt/x ' /proc/mounts; then echo "still mounted" >&2; exit 1; fi
mirrorctl status
mirrorctl demo down --purge
echo demo-ok
SH
# The demo pod's link and addresses live in the root's own network
# namespace (--net): nothing to share with other tests. No lock is taken
# here: a caller that serialises tests (tests/run under flock) holds it.
in_root --net sh /root/demo.sh >"$T/demo.log" 2>&1 ||
	fail "demo in the root: $(cat "$T/demo.log")"
cat "$T/demo.log"
grep -qx demo-ok "$T/demo.log" || fail "the demo script did not finish"
want=$(sed -n 's/^config.yaml: //p' "$T/demo.log")
[ -n "$want" ] || fail "nothing read from /mnt/x/app/config.yaml"
grep -qxF "$want" "$B/demo/rootfs.c" 2>/dev/null ||
	grep -qF "\"$want\\n\"" "$SRC/demo/rootfs.c" ||
	fail "/mnt/x/app/config.yaml starts with '$want', not the demo pod's file"
assert_eq "hostname: py-serv" "$(grep '^hostname: ' "$T/demo.log")" "the pod's hostname"
grep -q "no active mounts" "$T/demo.log" || fail "status after umount: $(cat "$T/demo.log")"
grep -q " $ROOT" /proc/mounts && fail "a mount of the root was left: $(grep " $ROOT" /proc/mounts)"
took "ok"
