#!/bin/bash
# IPv6 through mirror-netd, end to end, in namespaces this test creates
# (the host's links and routes are never touched):
#   pod     dual-stack: 10.77.0.2/24 and fd00:77::2/64 on pod0, and
#           fd00:88::5/64 (a server on a second subnet of the pod) on
#           pod1; an HTTP server on both families, a UDP echo on
#           [fd00:77::2]:7, and dnsmasq on fd00:77::2, the pod's only
#           nameserver, with an AAAA name
#   pod6    single-stack IPv6: fd00:99::2/64 only, its own HTTP server
#           and dnsmasq
#   laptop  no links but lo: the agent runs here (127.0.0.1) and reaches
#           the pods only through its target's namespace; netd runs
#           here too, so what reaches a pod went through the tunnel
# Checked: the device's IPv6 address from --tun-range6, the pod's IPv6
# subnets and nameserver routed (and the status file saying so), but not
# one the laptop routes itself nor a non-private one, curl -6
# to the pod's address and to the second subnet, a large download over
# IPv6 (sha256), a refused IPv6 port, a UDP round trip, ping -6, an AAAA
# answer unchanged through the stub and through the pod's nameserver
# reached over IPv6, curl to that name; IPv4 still working beside it;
# netd's nftables table guarding the IPv6 address too;
# the single-stack pod alone; nothing left after SIGTERM.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"
need_netns
[ -c /dev/net/tun ] || missing "no /dev/net/tun"
need_cmd curl
need_cmd python3
need_cmd dnsmasq dnsmasq-base
need_cmd ping iputils-ping
need_cmd busybox busybox-static
need_cmd nft nftables
[ -x "$NETD" ] && [ -x "$AGENT" ] || fail "build first (make)"
[ -d /proc/sys/net/ipv6 ] || missing "this kernel has IPv6 off"

POD6_ADDR=fd00:77::2
SUB_ADDR=fd00:88::5
WEB6_NAME=web6.demo.svc.cluster.local
POD=mt6-pod-$$
LAP=mt6-lap-$$
TUN=mt6$$
TUN6=fd6d:6972:726f::1

lap() { ip netns exec "$LAP" "$@"; }
podx() { ip netns exec "$1" "${@:2}" >>"$T/pod.log" 2>&1 & on_exit "kill $!"; }
no_device() { ! lap ip link show "$TUN" >/dev/null 2>&1; }
routes6() { lap ip -6 route show dev "$TUN" 2>/dev/null | grep -v 'proto kernel' | awk '{print $1}' | sort | tr '\n' ' '; }
stop_netd() { # pid: SIGTERM, wait for the exit
	local i
	kill -TERM "$1"
	for i in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	fail "mirror-netd $1 did not exit on SIGTERM"
}
# wait_tcp NS ADDR PORT: until something listens there
wait_tcp() {
	local i
	for i in $(seq 50); do
		ip netns exec "$1" python3 -c 'import socket, sys
socket.create_connection((sys.argv[1], int(sys.argv[2])), 1)' "$2" "$3" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "nothing listens on [$2]:$3 in $1"
}
# web NS DIR: an HTTP server on port 80 of every address of NS, both
# families (python's, bound to ::)
web() {
	podx "$1" python3 -m http.server 80 --bind :: --directory "$2"
}
# dns NS ADDR: dnsmasq on ADDR:53 answering WEB6_NAME with ADDR (AAAA
# only: no A record is made up for it)
dns() {
	podx "$1" dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces \
		--listen-address="$2" --port 53 --pid-file="$T/dnsmasq.$1.pid" \
		--address="/$WEB6_NAME/$2" --log-facility=-
}
# query SERVER NAME TYPE: the answer's addresses, by busybox nslookup
query() {
	lap busybox nslookup -type="$3" "$2" "$1" 2>&1 | awk '/^Address: / && NR > 2 {print $2}' | sort | tr '\n' ' '
}

netns_add "$POD"
netns_add "$LAP"
ip -n "$LAP" link add lapx type veth peer name lapy || fail "veth in the laptop"
ip -n "$LAP" addr add fd00:66::1/64 dev lapx nodad
ip -n "$LAP" link set lapx up
ip -n "$LAP" link set lapy up
ip -n "$POD" link add pod0 type veth peer name pod1 || fail "veth"
ip -n "$POD" addr add "$POD_ADDR/24" dev pod0
ip -n "$POD" addr add "$POD6_ADDR/64" dev pod0 nodad
ip -n "$POD" addr add "$SUB_ADDR/64" dev pod1 nodad
# A pod subnet the laptop has a route for (the shadow rule), and one
# outside the private ranges (the admission rule): neither is routed.
ip -n "$POD" addr add fd00:66::5/64 dev pod1 nodad
ip -n "$POD" addr add 2001:db8:77::5/64 dev pod1 nodad
ip -n "$POD" link set pod0 up
ip -n "$POD" link set pod1 up
# The agent pings with ICMP datagram sockets (IPv4 and IPv6 alike).
ip netns exec "$POD" sysctl -qw net.ipv4.ping_group_range="0 2147483647"
mkdir -p "$T/www" "$T/www6"
echo "<h1>the dual-stack pod</h1>" >"$T/www/index.html"
head -c 32M /dev/urandom >"$T/www/big"
web "$POD" "$T/www"
podx "$POD" python3 -c 'import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("'"$POD6_ADDR"'", 7))
while True:
    d, a = s.recvfrom(65536)
    s.sendto(b"echo:" + d, a)'
dns "$POD" "$POD6_ADDR"
printf 'nameserver %s\nsearch demo.svc.cluster.local svc.cluster.local\noptions ndots:5\n' \
	"$POD6_ADDR" >"$T/pod-resolv.conf"
pod_target "$POD" "$T/pod-resolv.conf"
wait_tcp "$POD" "$POD6_ADDR" 80
wait_tcp "$POD" "$POD_ADDR" 80
wait_tcp "$POD" "$POD6_ADDR" 53
netns_agent "$LAP" --target-pid "$TARGET_PID"
NETD_CMD=(ip netns exec "$LAP" "$NETD" --agent "$AGENT_URL" --token-file "$T/token")

# -- the dual-stack pod --
out=$(timeout 60 "${NETD_CMD[@]}" --tun "$TUN" --status-file "$T/status" \
	--pid-file "$T/netd.pid" --log-file "$T/netd.log" --log-level debug) ||
	fail "mirror-netd did not start: $out $(cat "$T/netd.log" 2>/dev/null)"
assert_eq "ready $TUN 198.18.0.1" "$out" "ready line"
NETD_PID=$(cat "$T/netd.pid")
on_exit "kill -9 $NETD_PID"
lap ip -6 addr show dev "$TUN" | grep -q "inet6 $TUN6/120" ||
	fail "no IPv6 address on $TUN: $(lap ip -6 addr show dev "$TUN")"
assert_eq "fd00:77::/64 fd00:88::/64 " "$(routes6)" "IPv6 routes through $TUN"
lap ip -4 route show dev "$TUN" | grep -q "^10.77.0.0/24" ||
	fail "the IPv4 subnet is not routed: $(lap ip -4 route show dev "$TUN")"
say "routes: $(routes6)and 10.77.0.0/24"
lap ip -6 route get "$POD6_ADDR" | grep -q "from :: dev $TUN .*src $TUN6\|dev $TUN .*src $TUN6" ||
	fail "route to $POD6_ADDR: $(lap ip -6 route get "$POD6_ADDR")"
sleep 1.2
grep -qx "address6=$TUN6" "$T/status" && grep -qx "route=fd00:77::/64" "$T/status" ||
	fail "status file: $(cat "$T/status")"
grep -qx "skipped=fd00:66::/64 (subnet on pod1): would shadow fd00:66::/64 dev lapx" "$T/status" &&
	grep -qx "skipped=2001:db8:77::/64 (subnet on pod1): not inside a private, shared or test range" "$T/status" ||
	fail "the shadow and admission rules over IPv6: $(grep skipped "$T/status")"
lap ip -6 route get fd00:66::5 | grep -q "dev lapx" || fail "fd00:66::5 no longer goes through lapx"
# netd's nftables table guards the IPv6 address as the IPv4 one: only
# this host's programs may reach it.
lap nft list table inet "mirror_netd_$TUN" >"$T/fw" || fail "no nftables table of netd"
grep -q "ip6 daddr $TUN6 .*drop" "$T/fw" && grep -q "ip daddr 198.18.0.1 .*drop" "$T/fw" ||
	fail "the firewall does not guard both addresses: $(cat "$T/fw")"
say "IPv6 shadow and admission rules: fd00:66::/64 (the laptop's) and 2001:db8:77::/64 (documentation, not private) left out"

got=$(lap curl -6 -sS --max-time 10 "http://[$POD6_ADDR]/") || fail "curl -6 to the pod failed"
assert_eq "<h1>the dual-stack pod</h1>" "$got" "page over IPv6"
got=$(lap curl -6 -sS --max-time 10 "http://[$SUB_ADDR]/") || fail "curl -6 to the second subnet failed"
assert_eq "<h1>the dual-stack pod</h1>" "$got" "page from the second subnet"
say "curl -6 http://[$POD6_ADDR]/ and http://[$SUB_ADDR]/ through $TUN: ok"
got=$(lap curl -4 -sS --max-time 10 "http://$POD_ADDR/") || fail "curl -4 beside IPv6 failed"
assert_eq "<h1>the dual-stack pod</h1>" "$got" "page over IPv4 beside IPv6"
s=$(date +%s%N)
lap curl -6 -sS --max-time 60 -o "$T/big.got" "http://[$POD6_ADDR]/big" || fail "big download over IPv6"
ms=$((($(date +%s%N) - s) / 1000000))
cmp -s "$T/www/big" "$T/big.got" || fail "the 32 MiB over IPv6 differ"
say "32 MiB over IPv6: $ms ms, identical"
err=$(lap python3 -c 'import errno, socket, sys
try:
    socket.create_connection((sys.argv[1], 81), 10)
    print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e)))' "$POD6_ADDR")
assert_eq ECONNREFUSED "$err" "connect to a closed IPv6 port"
got=$(lap python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(b"ping6", (sys.argv[1], 7))
print(s.recv(100).decode())' "$POD6_ADDR") || fail "UDP over IPv6: no answer"
assert_eq "echo:ping6" "$got" "UDP round trip over IPv6"
say "UDP round trip over IPv6: $got"
lap ping -6 -c 2 -W 3 "$POD6_ADDR" >"$T/ping" 2>&1 || fail "ping -6: $(cat "$T/ping")"
grep -q "2 received" "$T/ping" || fail "ping -6: $(cat "$T/ping")"
say "ping -6: $(grep -o '[0-9]* received' "$T/ping")"

# DNS: the stub asks the agent, which asks the pod's IPv6 nameserver;
# the AAAA answer comes back unchanged. The same nameserver reached
# directly over IPv6 through the tunnel.
assert_eq "$POD6_ADDR " "$(query 198.18.0.1 "$WEB6_NAME" AAAA)" "AAAA through the stub"
assert_eq "$POD6_ADDR " "$(query "$POD6_ADDR" "$WEB6_NAME" AAAA)" "AAAA from the pod's nameserver over IPv6"
say "AAAA $WEB6_NAME: $POD6_ADDR, through the stub and from [$POD6_ADDR]:53"
mkdir -p "/etc/netns/$LAP"
echo "nameserver 198.18.0.1" >"/etc/netns/$LAP/resolv.conf"
got=$(lap curl -sS --max-time 10 "http://$WEB6_NAME/") || fail "curl http://$WEB6_NAME/ failed"
assert_eq "<h1>the dual-stack pod</h1>" "$got" "page by its AAAA name"
say "curl http://$WEB6_NAME/ (AAAA only): ok"
sleep 1.2
grep -q "^tcp_total=[1-9]" "$T/status" && grep -q "^dns_queries=[1-9]" "$T/status" ||
	fail "status counters: $(cat "$T/status")"

stop_netd "$NETD_PID"
no_device || fail "$TUN left behind after SIGTERM"
lap ip -6 route | grep -q "$TUN" && fail "IPv6 routes left behind: $(lap ip -6 route)"
say "SIGTERM: device and routes removed"

# -- a single-stack IPv6 pod --
POD2=mt6-pod6-$$
netns_add "$POD2"
ip -n "$POD2" link add pod0 type veth peer name pod1 || fail "veth"
ip -n "$POD2" addr add fd00:99::2/64 dev pod0 nodad
ip -n "$POD2" link set pod0 up
ip -n "$POD2" link set pod1 up
ip netns exec "$POD2" sysctl -qw net.ipv4.ping_group_range="0 2147483647"
echo "<h1>the IPv6-only pod</h1>" >"$T/www6/index.html"
web "$POD2" "$T/www6"
dns "$POD2" fd00:99::2
printf 'nameserver fd00:99::2\nsearch demo.svc.cluster.local\n' >"$T/pod6-resolv.conf"
pod_target "$POD2" "$T/pod6-resolv.conf"
wait_tcp "$POD2" fd00:99::2 80
netns_agent "$LAP" --target-pid "$TARGET_PID"
out=$(timeout 60 ip netns exec "$LAP" "$NETD" --agent "$AGENT_URL" --token-file "$T/token" \
	--tun "$TUN" --tun-range6 fd00:6d::/112 --status-file "$T/status6" \
	--pid-file "$T/netd6.pid" --log-file "$T/netd6.log") ||
	fail "mirror-netd for the IPv6-only pod did not start: $out"
p6=$(cat "$T/netd6.pid")
on_exit "kill -9 $p6"
lap ip -6 addr show dev "$TUN" | grep -q "inet6 fd00:6d::1/120" ||
	fail "--tun-range6: $(lap ip -6 addr show dev "$TUN")"
assert_eq "fd00:99::/64 " "$(routes6)" "the IPv6-only pod's routes"
assert_eq "" "$(lap ip -4 route show dev "$TUN" | grep -v 'proto kernel')" "no IPv4 route for an IPv6-only pod"
got=$(lap curl -6 -sS --max-time 10 "http://[fd00:99::2]/") || fail "curl -6 to the IPv6-only pod"
assert_eq "<h1>the IPv6-only pod</h1>" "$got" "page from the IPv6-only pod"
lap ping -6 -c 1 -W 3 fd00:99::2 >"$T/ping6" 2>&1 || fail "ping -6 the IPv6-only pod: $(cat "$T/ping6")"
got=$(lap curl -sS --max-time 10 "http://$WEB6_NAME/") || fail "curl by name, IPv6-only pod"
assert_eq "<h1>the IPv6-only pod</h1>" "$got" "the IPv6-only pod by its AAAA name"
say "IPv6-only pod: curl -6, ping -6 and its AAAA name: ok"
stop_netd "$p6"
no_device || fail "$TUN left behind"
lap ip -6 route | grep -q "$TUN" && fail "routes left behind: $(lap ip -6 route)"
# -- bad input --
must_fail "an IPv4 --tun-range6" "not an IPv6 CIDR" -- "${NETD_CMD[@]}" -f --tun "$TUN" --tun-range6 10.0.0.0/8
must_fail "too small --tun-range6" "too small" -- "${NETD_CMD[@]}" -f --tun "$TUN" --tun-range6 fd00:6d::/124
no_device || fail "$TUN left behind after a refusal"
echo ok
