#!/bin/bash
# Routes from a hostile pod must not take the laptop's traffic. In
# namespaces this test creates:
#   pod     a process there is the agent's target; its resolv.conf names
#           a public nameserver (1.1.1.1), one the laptop uses itself
#           (10.66.0.20) and its own (10.66.0.10); its interfaces hold
#           10.77.0.2/24, 10.66.0.10/24, a public 11.22.33.4/24, and
#           10.1.2.3/4 and 1.2.3.4/1 (the agent reports 0.0.0.0/4 and
#           0.0.0.0/1, as a hostile one would)
#   laptop  its resolv.conf names 10.66.0.20; the agent listens on
#           127.0.0.1; mirrorctl connect and netd run here
# Checked, through the real agent and mirrorctl: only 10.77.0.0/24,
# 10.66.0.0/24 minus the laptop's resolver, and the pod's private routes
# beyond its subnets (10.88.0.0/16, 172.20.0.0/16) are routed, and "mirrorctl
# status" names everything left out and why; with a default route in the
# laptop, nothing the pod reports is routed unless named with --route
# (then it is); the pod's private IPv6 subnet is routed and one in the
# documentation range is not; a pod subnet over one of the laptop's
# routes is left out (netd still comes up); systemd-resolved's upstream
# servers are carved out of the pod's subnets like /etc/resolv.conf's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"
need_netns
[ -c /dev/net/tun ] || missing "no /dev/net/tun"
[ -x "$NETD" ] && [ -x "$AGENT" ] && [ -x "$CTL" ] || fail "build first (make)"

POD=mtr-pod-$$
LAP=mtr-lap-$$
netns_add "$POD"
netns_add "$LAP"
pod_links "$POD"
ip -n "$POD" addr add 10.66.0.10/24 dev pod0
ip -n "$POD" addr add 11.22.33.4/24 dev pod1
ip -n "$POD" addr add 10.1.2.3/4 dev pod1
ip -n "$POD" addr add 1.2.3.4/1 dev pod1
ip -n "$POD" -6 addr add fd00:77::2/64 dev pod0 nodad || fail "IPv6 address in the pod"
# An IPv6 subnet outside the private ranges: never routed, as a public
# IPv4 one.
ip -n "$POD" -6 addr add 2001:db8:77::5/64 dev pod1 nodad || fail "IPv6 address in the pod"
# Routes beyond its subnets, as a service mesh or a second interface
# adds them: private ones are routed, a public one is not.
ip -n "$POD" route add 10.88.0.0/16 via 10.77.0.1 dev pod0
ip -n "$POD" route add 172.20.0.0/16 dev pod1
ip -n "$POD" route add 8.8.8.0/24 via 10.77.0.1 dev pod0
mkdir -p "/etc/netns/$POD" "/etc/netns/$LAP"
printf 'nameserver 1.1.1.1\nnameserver 10.66.0.20\nnameserver 10.66.0.10\n' >"/etc/netns/$POD/resolv.conf"
printf 'nameserver 10.66.0.20\n' >"/etc/netns/$LAP/resolv.conf"
pod_target "$POD"
netns_agent "$LAP" --target-pid "$TARGET_PID"

lap() { ip netns exec "$LAP" "$@"; }
tun_routes() { lap ip -4 route show dev mirror0 2>/dev/null | grep -v 'proto kernel' | awk '{print $1}' | sort | tr '\n' ' '; }
connect() {
	lap "$CTL" connect --token-file "$T/token" "$@" "$AGENT_URL" >"$T/connect.out" 2>&1 ||
		fail "connect $*: $(cat "$T/connect.out")"
	on_exit "ip netns exec $LAP '$CTL' disconnect"
	sleep 1.2	# netd writes its status once a second
	"$CTL" status >"$T/status" || fail "status"
}
disconnect() {
	lap "$CTL" disconnect >/dev/null || fail "disconnect"
	lap ip link show mirror0 >/dev/null 2>&1 && fail "mirror0 left behind"
	return 0
}
# not_routed CIDR SOURCE REASON-PATTERN: status shows it left out.
not_routed() {
	grep -E "^ *not routed +$1 \($2\): .*$3" "$T/status" >/dev/null ||
		fail "status does not say that $1 ($2) is left out for '$3':
$(cat "$T/status")"
}

say "a laptop without a default route"
connect
cat "$T/connect.out"
# 10.66.0.0/24 less the laptop's own nameserver 10.66.0.20; the pod's
# 10.66.0.10 is inside it.
want="10.66.0.0/28 10.66.0.128/25 10.66.0.16/30 10.66.0.21 10.66.0.22/31 10.66.0.24/29 10.66.0.32/27 10.66.0.64/26 10.77.0.0/24 10.88.0.0/16 172.20.0.0/16 "
assert_eq "$want" "$(tun_routes)" "routes through mirror0"
cat "$T/status"
not_routed 1.1.1.1/32 nameserver "not inside a private, shared or test range"
not_routed 10.66.0.20/32 nameserver "a nameserver of this machine \(/etc/resolv.conf\)"
not_routed 10.66.0.20/32 "subnet on pod0" "a nameserver of this machine"
not_routed 11.22.33.0/24 "subnet on pod1" "not inside a private"
not_routed 0.0.0.0/4 "subnet on pod1" "wider than a /8"
not_routed 0.0.0.0/1 "subnet on pod1" "wider than a /8"
not_routed 8.8.8.0/24 "route on pod0" "not inside a private"
grep -qE "^ *route +10.88.0.0/16" "$T/status" || fail "status does not list the pod's route 10.88.0.0/16: $(cat "$T/status")"
# IPv6 under the same rules: the private subnet routed, the public not.
lap ip -6 route show dev mirror0 | grep -q "^fd00:77::/64" ||
	fail "fd00:77::/64 not routed: $(lap ip -6 route show dev mirror0)"
grep -qE "^ *route +fd00:77::/64" "$T/status" || fail "status does not list fd00:77::/64: $(cat "$T/status")"
not_routed 2001:db8:77::/64 "subnet on pod1" "not inside a private"
grep -q "not routed" "$T/connect.out" || fail "connect does not say what was left out"
for a in 1.1.1.1 10.66.0.20 11.22.33.4 8.8.8.8 130.1.1.1; do
	lap ip route get "$a" 2>&1 | grep -q mirror0 && fail "$a goes through mirror0"
done
lap ip route get 10.66.0.10 | grep -q "dev mirror0" || fail "10.66.0.10 does not go through mirror0"
say "routed: $(tun_routes)"
disconnect

say "systemd-resolved's upstream servers are this machine's resolvers too"
# In a mount namespace of its own, so the host's /run/systemd is left be.
lap unshare -m --propagation private sh -c '
	mount -t tmpfs tmpfs /run/systemd &&
	mkdir /run/systemd/resolve &&
	echo "nameserver 10.77.0.9" >/run/systemd/resolve/resolv.conf &&
	exec "$0" connect --token-file "$1" "$2"' "$CTL" "$T/token" "$AGENT_URL" >"$T/connect.out" 2>&1 ||
	fail "connect with systemd-resolved: $(cat "$T/connect.out")"
sleep 1.2
"$CTL" status >"$T/status" || fail "status"
tun_routes | grep -q "10.77.0.0/29 10.77.0.10/31 " || fail "10.77.0.9 not carved out: $(tun_routes)"
lap ip route get 10.77.0.9 2>&1 | grep -q mirror0 && fail "10.77.0.9 goes through mirror0"
not_routed 10.77.0.9/32 "subnet on pod0" "a nameserver of this machine \(/run/systemd/resolve/resolv.conf\)"
disconnect

say "a laptop with a default route: nothing the pod reports, unless named"
lap ip link add lapd type veth peer name lape
lap ip addr add 172.31.250.1/30 dev lapd
lap ip link set lapd up
lap ip link set lape up
lap ip route add default via 172.31.250.2 dev lapd
connect
assert_eq "" "$(tun_routes)" "routes through mirror0 with a default route"
not_routed 10.77.0.0/24 "subnet on pod0" "by its default via 172.31.250.2 dev lapd; --route 10.77.0.0/24 routes it"
not_routed 10.66.0.0/28 "subnet on pod0" "by its default via"
lap ip route get 10.77.0.5 | grep -q "dev lapd" || fail "10.77.0.5 no longer goes by the default route"
disconnect
connect --route 10.77.0.0/24
assert_eq "10.77.0.0/24 " "$(tun_routes)" "routes with --route 10.77.0.0/24"
grep -qE "^ *route +10.77.0.0/24" "$T/status" || fail "status: $(cat "$T/status")"
not_routed 10.66.0.0/28 "subnet on pod0" "by its default via"
not_routed 0.0.0.0/1 "subnet on pod1" "wider than a /8"
lap ip route get 10.77.0.5 | grep -q "dev mirror0" || fail "10.77.0.5 does not go through mirror0"
say "--route 10.77.0.0/24: routed"
disconnect

say "a pod subnet over one of the laptop's routes: left out, netd up"
lap ip link add lapx type veth peer name lapy
lap ip addr add 10.77.0.1/16 dev lapx
lap ip link set lapx up
connect
not_routed 10.77.0.0/24 "subnet on pod0" "would shadow 10.77.0.0/16 .*dev lapx"
lap ip route get 10.77.0.5 | grep -q "dev lapx" || fail "10.77.0.5 no longer goes through lapx"
disconnect

say "a named route over one of the laptop's: refused, naming connect's own flag"
out=$(lap "$CTL" connect --token-file "$T/token" --route 10.77.5.0/24 --route 10.76.0.0/16 "$AGENT_URL" 2>&1) &&
	fail "a --route shadowing 10.77.0.0/16 was accepted: $out"
echo "$out" | grep -q "would shadow 10.77.0.0/16.*leave it out with --never-route 10.77.5.0/24" ||
	fail "the refusal does not name the flag: $out"
lap ip link show mirror0 >/dev/null 2>&1 && fail "mirror0 left behind after the refusal"
connect --route 10.77.5.0/24 --route 10.76.0.0/16 --never-route 10.77.5.0/24
assert_eq "10.76.0.0/16 " "$(tun_routes)" "--route 10.76.0.0/16 --never-route 10.77.5.0/24"
lap ip route get 10.77.0.5 | grep -q "dev lapx" || fail "10.77.0.5 no longer goes through lapx"
say "connect --never-route: $(tun_routes)"
disconnect
# The device's name and range from connect's own flags.
connect --tun mtest0 --tun-range 198.19.4.0/28
lap ip -4 addr show dev mtest0 | grep -q "inet 198.19.4.1/28" ||
	fail "--tun mtest0 --tun-range 198.19.4.0/28: $(lap ip -4 addr)"
grep -q "mtest0" "$T/connect.out" || fail "connect does not name mtest0: $(cat "$T/connect.out")"
lap "$CTL" disconnect >/dev/null || fail "disconnect"
lap ip link show mtest0 >/dev/null 2>&1 && fail "mtest0 left behind"
say "connect --tun mtest0 --tun-range 198.19.4.0/28: device and address as asked, gone after"
kill -0 "$AGENT_PID" || fail "the agent died"
echo ok
