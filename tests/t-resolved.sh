#!/usr/bin/env bash
# mirrorctl connect and a real systemd-resolved (tests/net.sh builds the
# topology). The "laptop" gets a mount namespace of its own with a
# private system bus (a dbus-daemon at /run/dbus/system_bus_socket on a
# private tmpfs) and Debian's systemd-resolved binary, fetched with
# apt-get download and unpacked into /var/cache/mirror-test (installing
# the package would rewrite this machine's /etc/resolv.conf). There:
# with no resolved on the bus, status says how to point a resolver at
# the stub; with resolved, connect registers the stub for mirror0 with
# ~cluster.local and the pod's search list as routing domains (not the
# pod's top-level domain, nor the laptop's own search domain), resolvectl,
# getent and curl resolve the pod's name through resolved's 127.0.0.53,
# other names never reach the pod; a restarted resolved gets the stub
# again; after disconnect (RevertLink) and after netd's SIGKILL resolved
# no longer knows the stub. This machine's /etc/resolv.conf is the same
# after the test.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"

RESOLVED_CACHE=/var/cache/mirror-test

need_net
need_cmd dbus-daemon dbus-daemon
need_cmd nsenter util-linux
need_cmd getent libc-bin

# resolved_fetch: RESOLVED_ROOT, an unpacked systemd-resolved of the
# installed systemd's version (it links that version's private library).
resolved_fetch() {
	local v tmp
	v=$(dpkg-query -W -f='${Version}' libsystemd-shared 2>/dev/null) ||
		missing "no libsystemd-shared (apt-get install systemd)"
	RESOLVED_ROOT=$RESOLVED_CACHE/systemd-resolved-$v
	[ -x "$RESOLVED_ROOT/lib/systemd/systemd-resolved" ] && return 0
	mkdir -p "$RESOLVED_CACHE"
	tmp=$(mktemp -d "$RESOLVED_CACHE/fetch.XXXXXX")
	on_exit "rm -rf $tmp"
	(cd "$tmp" && apt-get download "systemd-resolved=$v") >"$T/apt.log" 2>&1 ||
		missing "cannot fetch systemd-resolved $v: $(tail -n 1 "$T/apt.log")"
	dpkg-deb -x "$tmp"/systemd-resolved_*.deb "$tmp/root" || fail "dpkg-deb -x"
	mv -T "$tmp/root" "$RESOLVED_ROOT" 2>/dev/null ||
		[ -x "$RESOLVED_ROOT/lib/systemd/systemd-resolved" ] || fail "cannot unpack into $RESOLVED_ROOT"
}
resolved_fetch
RESOLVECTL=$RESOLVED_ROOT/usr/bin/resolvectl
[ -x "$RESOLVECTL" ] || fail "no resolvectl in $RESOLVED_ROOT"

host_resolv=$(sha256sum </etc/resolv.conf)
net_topology

# The pod's search list ends in a top-level domain and the laptop's own
# search domain: neither is routed here.
printf 'nameserver %s\nsearch demo.svc.cluster.local svc.cluster.local com corp.example\noptions ndots:5\n' \
	"$POD_ADDR" >"$T/pod-resolv.conf.new"
cat "$T/pod-resolv.conf.new" >"$T/pod-resolv.conf"	# same inode: it is bound

say "the laptop's own mounts: a private system bus, resolved's user"
# A user for resolved to drop to, in the namespace's /etc/passwd only.
uid=999
while getent passwd "$uid" >/dev/null || getent group "$uid" >/dev/null; do
	uid=$((uid - 1))
done
{ cat /etc/passwd; echo "systemd-resolve:x:$uid:$uid::/:/usr/sbin/nologin"; } >"$T/passwd"
{ cat /etc/group; echo "systemd-resolve:x:$uid:"; } >"$T/group"
printf 'nameserver 127.0.0.53\nsearch lab.corp.example\n' >"$T/laptop-resolv.conf"
cat >"$T/dbus.conf" <<'EOF'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=/run/dbus/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
cat >"$T/holder.sh" <<EOF
set -e
mount -t tmpfs mirror-test /run/dbus
mount -t tmpfs mirror-test /run/systemd
mkdir -p /run/systemd/resolve
chown $uid:$uid /run/systemd/resolve
mount --bind "$T/passwd" /etc/passwd
mount --bind "$T/group" /etc/group
mount --bind "$T/laptop-resolv.conf" /etc/resolv.conf
touch "$T/holder.ready"
exec sleep 100000
EOF
ip netns exec "$LAPTOP_NS" unshare -m --propagation private bash "$T/holder.sh" &
HOLDER=$!
on_exit "kill $HOLDER"
wait_for 5 test -e "$T/holder.ready" || fail "the laptop's mount namespace"
# in_laptop CMD...: CMD in the laptop's network and mount namespaces.
in_laptop() { nsenter -t "$HOLDER" -m -n "$@"; }
in_laptop "$CTL" disconnect >/dev/null 2>&1
on_exit "nsenter -t $HOLDER -m -n '$CTL' disconnect"

# Not through in_laptop: $! must be the daemon itself (nsenter execs it).
nsenter -t "$HOLDER" -m -n dbus-daemon --config-file="$T/dbus.conf" --nofork --nopidfile >"$T/dbus.log" 2>&1 &
DBUS=$!
on_exit "kill $DBUS"
wait_for 5 in_laptop test -S /run/dbus/system_bus_socket || fail "dbus-daemon: $(cat "$T/dbus.log")"

connect() {
	in_laptop "$CTL" connect --token-file "$T/token" "$AGENT_URL" >"$T/connect.out" 2>&1 ||
		fail "connect: $(cat "$T/connect.out")"
	TUN_ADDR=$(sed -n 's/.*address \([0-9.]*\).*/\1/p' "$T/connect.out" | head -n 1)
	[ -n "$TUN_ADDR" ] || fail "connect printed no address: $(cat "$T/connect.out")"
	wait_for 5 eval '"$CTL" status | grep -q system_dns' || fail "status has no system_dns line"
	"$CTL" status >"$T/status" || fail "status"
}

say "no resolved on the bus: status says how to use the stub"
connect
cat "$T/status"
grep -qE "system_dns +not registered: no systemd-resolved" "$T/status" ||
	fail "status does not say resolved is missing"
grep -qF "resolvectl dns mirror0 $TUN_ADDR; resolvectl domain mirror0 ~cluster.local ~demo.svc.cluster.local ~svc.cluster.local" "$T/status" ||
	fail "status has no resolvectl line for the stub"
grep -qF "server=/cluster.local/$TUN_ADDR server=/demo.svc.cluster.local/$TUN_ADDR" "$T/status" ||
	fail "status has no dnsmasq line for the stub"
grep -qE "system_dns +not routed: com \(a top-level domain\)" "$T/status" ||
	fail "status does not say the pod's TLD search domain is not routed"
grep -qE "system_dns +not routed: corp.example \(this machine's search domain lab.corp.example\)" "$T/status" ||
	fail "status does not say the laptop's search domain is not routed"
in_laptop "$CTL" disconnect >/dev/null || fail "disconnect"

say "systemd-resolved ($RESOLVED_ROOT)"
nsenter -t "$HOLDER" -m -n env SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_LEVEL=debug \
	"$RESOLVED_ROOT/lib/systemd/systemd-resolved" >"$T/resolved.log" 2>&1 &
RESOLVED=$!
on_exit "kill $RESOLVED"
wait_for 10 eval 'in_laptop "$RESOLVECTL" status >/dev/null 2>&1' ||
	fail "resolved did not come up: $(tail -n 20 "$T/resolved.log")"
ruid=$(awk '/^Uid:/ {print $3}' "/proc/$RESOLVED/status")
[ "$ruid" = "$uid" ] || fail "resolved runs as $ruid, not systemd-resolve ($uid)"

say "connect registers the stub with resolved"
connect
grep -E "system_dns" "$T/status"
grep -qE "system_dns +systemd-resolved sends ~cluster.local ~demo.svc.cluster.local ~svc.cluster.local to $TUN_ADDR on mirror0" "$T/status" ||
	fail "status does not show the registration: $(cat "$T/status")"
in_laptop "$RESOLVECTL" status mirror0 >"$T/rstatus" 2>&1 || fail "resolvectl status mirror0: $(cat "$T/rstatus")"
cat "$T/rstatus"
grep -qE "DNS Servers: $TUN_ADDR\$" "$T/rstatus" || fail "resolved's mirror0 has not the stub as DNS server"
grep -qE "DNS Domain: ~cluster.local ~demo.svc.cluster.local ~svc.cluster.local\$" "$T/rstatus" ||
	fail "resolved's mirror0 has not the routing domains"
grep -qE "Protocols: -DefaultRoute .*-LLMNR -mDNS" "$T/rstatus" ||
	fail "mirror0 is a default route or does LLMNR/mDNS for resolved"

say "the pod's name through resolved: resolvectl, getent, curl"
in_laptop "$RESOLVECTL" query "$WEB_NAME" >"$T/query" 2>&1 || fail "resolvectl query: $(cat "$T/query")"
cat "$T/query"
grep -qE "^$WEB_NAME: $POD_ADDR +-- link: mirror0" "$T/query" || fail "resolvectl query: not $POD_ADDR by mirror0"
# glibc's resolver, at resolved's stub (the namespace's resolv.conf).
in_laptop getent ahostsv4 "$WEB_NAME" >"$T/getent" || fail "getent ahostsv4 $WEB_NAME"
assert_eq "$POD_ADDR" "$(awk 'NR == 1 {print $1}' "$T/getent")" "getent ahostsv4 $WEB_NAME"
in_laptop curl -sf --max-time 10 "http://$WEB_NAME/" >"$T/page" || fail "curl http://$WEB_NAME/"
cmp -s "$T/page" "$T/www/index.html" || fail "the page by name differs"

say "other names never reach the pod"
dns_queries() {
	"$CTL" status | sed -n 's/^ *dns_queries *//p'
}
wait_rewritten 5 "$(ls "$MIRROR_STATE_DIR"/sessions/*/netd.status)" || fail "netd's status is not rewritten"
before=$(dns_queries)
in_laptop "$RESOLVECTL" query www.example.com >/dev/null 2>&1 && fail "www.example.com resolved (by whom?)"
in_laptop "$RESOLVECTL" query web.com >/dev/null 2>&1
in_laptop "$RESOLVECTL" query db.corp.example >/dev/null 2>&1
wait_rewritten 5 "$(ls "$MIRROR_STATE_DIR"/sessions/*/netd.status)" || fail "netd's status is not rewritten"
assert_eq "$before" "$(dns_queries)" "queries at the stub after asking resolved for names outside the pod's domains"

say "resolved restarts: netd registers the stub again"
kill "$RESOLVED"
wait_for 5 pid_gone "$RESOLVED" || fail "resolved does not stop"
wait_for 5 eval '"$CTL" status | grep -q "system_dns  *not registered: systemd-resolved stopped"' ||
	fail "status does not say resolved stopped: $("$CTL" status | grep system_dns)"
nsenter -t "$HOLDER" -m -n env SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_LEVEL=debug \
	"$RESOLVED_ROOT/lib/systemd/systemd-resolved" >"$T/resolved2.log" 2>&1 &
RESOLVED=$!
on_exit "kill $RESOLVED"
wait_for 10 eval '"$CTL" status | grep -q "system_dns  *systemd-resolved sends"' ||
	fail "not registered again after resolved restarted: $("$CTL" status | grep system_dns)"
in_laptop "$RESOLVECTL" status mirror0 >"$T/rstatus" 2>&1
grep -qE "DNS Servers: $TUN_ADDR\$" "$T/rstatus" || fail "the restarted resolved has not the stub: $(cat "$T/rstatus")"
in_laptop curl -sf --max-time 10 "http://$WEB_NAME/" >"$T/page" || fail "curl by name after resolved restarted"
cat "$T/resolved.log" >>"$T/resolved2.log"
mv "$T/resolved2.log" "$T/resolved.log"

say "disconnect: resolved's link is reverted and gone"
in_laptop "$CTL" disconnect >"$T/disc.out" 2>&1 || fail "disconnect: $(cat "$T/disc.out")"
grep -q "member=RevertLink" "$T/resolved.log" || fail "netd did not call RevertLink"
in_laptop "$RESOLVECTL" status >"$T/rstatus" 2>&1
grep -q "$TUN_ADDR" "$T/rstatus" && fail "resolved still knows the stub: $(cat "$T/rstatus")"
in_laptop "$RESOLVECTL" query "$WEB_NAME" >/dev/null 2>&1 && fail "the pod's name resolves without netd"
in_laptop curl -s --max-time 3 "http://$WEB_NAME/" >/dev/null && fail "curl by name works without netd"

say "SIGKILL of netd: resolved forgets the stub with the device"
connect
grep -qE "system_dns +systemd-resolved sends" "$T/status" || fail "not registered on the second connect"
kill -9 "$(cat "$MIRROR_STATE_DIR"/sessions/*/netd.pid)"
mirror0_gone() { ! in_laptop ip link show mirror0 >/dev/null 2>&1; }
wait_for 5 mirror0_gone || fail "mirror0 outlives netd"
stub_gone() { ! in_laptop "$RESOLVECTL" status 2>&1 | grep -q "$TUN_ADDR"; }
wait_for 5 stub_gone || fail "resolved still knows the stub after netd died: $(in_laptop "$RESOLVECTL" status 2>&1)"
in_laptop "$CTL" disconnect >"$T/disc.out" 2>&1 || fail "disconnect after SIGKILL: $(cat "$T/disc.out")"

assert_eq "$host_resolv" "$(sha256sum </etc/resolv.conf)" "this machine's /etc/resolv.conf"
say "ok"
