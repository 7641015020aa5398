#!/usr/bin/env bash
# mirrorctl connect end to end (tests/net.sh builds the topology): from a
# "laptop" namespace that reaches only the agent's port, with netd
# connected, curl gets the pod's page by address and by its cluster DNS
# name and fails once netd is gone; 1 GiB crosses in each direction with
# the same sha256; 500 concurrent connections all complete while a
# reader that stopped reading holds a stream; UDP echo and DNS over UDP
# and TCP work; a closed port is refused at once; disconnect, and
# SIGKILL of netd followed by disconnect, leave no device or route.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"

need_net
net_topology
P=$SRC/tests/netpeer.py

say "before connect the laptop cannot reach the pod"
laptop curl -s --max-time 2 "http://$POD_ADDR/" >/dev/null && fail "the laptop reaches the pod without the tunnel"

say "connect"
laptop "$CTL" connect --token-file "$T/token" "$AGENT_URL" >"$T/connect.out" 2>&1 ||
	fail "connect: $(cat "$T/connect.out")"
on_exit "ip netns exec $LAPTOP_NS '$CTL' disconnect"
cat "$T/connect.out"
TUN_ADDR=$(sed -n 's/.*address \([0-9.]*\).*/\1/p' "$T/connect.out" | head -n 1)
[ -n "$TUN_ADDR" ] || fail "connect printed no address"
laptop ip link show mirror0 >/dev/null || fail "no mirror0 in the laptop"
laptop ip route >"$T/routes"
grep -q "^10.77.0.0/24 dev mirror0" "$T/routes" || fail "no route to the pod's subnet: $(cat "$T/routes")"
"$CTL" status >"$T/status" || fail "status"
grep -q "mirror0" "$T/status" || fail "status does not show the device: $(cat "$T/status")"

say "curl by address and by name"
laptop curl -sf --max-time 10 "http://$POD_ADDR/" >"$T/page" || fail "curl through the tunnel"
cmp -s "$T/page" "$T/www/index.html" || fail "the page differs"
mkdir -p "/etc/netns/$LAPTOP_NS"
printf 'nameserver %s\nsearch demo.svc.cluster.local\n' "$TUN_ADDR" >"/etc/netns/$LAPTOP_NS/resolv.conf"
laptop curl -sf --max-time 10 "http://$WEB_NAME/" >"$T/page2" || fail "curl by name"
cmp -s "$T/page2" "$T/www/index.html" || fail "the page by name differs"

# netd rewrites its status once a second: until it counts both curls.
status_counts_curls() {
	"$CTL" status >"$T/status" &&
		[ "$(sed -n 's/^ *tcp_total *//p' "$T/status")" -ge 2 ] 2>/dev/null
}
wait_for 5 status_counts_curls
"$CTL" status >"$T/status" || fail "status"
cat "$T/status"
grep -qE "route +10.77.0.0/24" "$T/status" || fail "status shows no route"
grep -qE "dns +$TUN_ADDR:53" "$T/status" || fail "status shows no DNS stub"
total=$(sed -n 's/^ *tcp_total *//p' "$T/status")
[ "${total:-0}" -ge 2 ] || fail "status counts ${total:-no} TCP connections after two curls"

say "DNS over UDP and TCP, UDP echo, refused port"
assert_eq "$POD_ADDR" "$(laptop python3 "$P" dns "$TUN_ADDR" "$WEB_NAME" udp)" "DNS over UDP"
assert_eq "$POD_ADDR" "$(laptop python3 "$P" dns "$TUN_ADDR" "$WEB_NAME" tcp)" "DNS over TCP"
laptop python3 "$P" udp "$POD_ADDR" 7 || fail "UDP echo"
ms=$(laptop python3 "$P" refused "$POD_ADDR" 81) || fail "a closed port is not ECONNREFUSED"
say "refused in $ms ms"
[ "$ms" -lt 1000 ] || fail "refused only after $ms ms"

laptop ping -c 2 -W 3 "$POD_ADDR" >"$T/ping" 2>&1 || fail "ping through the tunnel: $(cat "$T/ping")"
say "ping: $(grep -o 'time=[0-9.]* ms' "$T/ping" | head -n 1)"

# An address of the pod's subnet that nobody has: in the pod, connect
# fails with EHOSTUNREACH once ARP gives up (about 3 s); the same here.
read -r pod_err pod_ms < <(ip netns exec "$POD_NS" python3 "$P" fails 10.77.0.99 80)
read -r lap_err lap_ms < <(laptop python3 "$P" fails 10.77.0.99 80)
say "unreachable: in the pod $pod_err after $pod_ms ms; through the tunnel $lap_err after $lap_ms ms"
assert_eq "$pod_err" "$lap_err" "the error of a connect to an address nobody has"
[ "$lap_ms" -lt $((pod_ms + 2000)) ] || fail "the tunnel took $lap_ms ms, the pod $pod_ms ms"

say "1 GiB each way"
both_ways $((1 << 30))

say "a stalled reader and 500 concurrent connections"
# Not through the laptop function: $! must be the python process itself
# (ip netns exec execs it), or kill would leave it running.
ip netns exec "$LAPTOP_NS" python3 "$P" stall "$POD_ADDR" 9001 >"$T/stall.out" &
STALL=$!
on_exit "kill $STALL"
wait_for 5 grep -q stalled "$T/stall.out" || fail "the reader did not stall: $(cat "$T/stall.out")"
assert_eq 500 "$(laptop python3 "$P" many "$POD_ADDR" 8080 500)" "HTTP GETs that got a 200"
laptop curl -sf --max-time 10 "http://$POD_ADDR/" >/dev/null || fail "curl while a reader stalls"
rss=$(awk '/VmRSS/ {print $2}' "/proc/$AGENT_PID/status")
say "agent RSS with a stalled 1 GiB stream: $rss KiB"
[ "$rss" -lt 200000 ] || fail "the agent holds $rss KiB for a stalled reader"
kill $STALL

say "disconnect removes the device and the routes"
laptop "$CTL" disconnect >"$T/disc.out" 2>&1 || fail "disconnect: $(cat "$T/disc.out")"
laptop ip link show mirror0 >/dev/null 2>&1 && fail "mirror0 is still there"
laptop ip route >"$T/routes"
grep -q 10.77.0 "$T/routes" && fail "a route is still there: $(cat "$T/routes")"
laptop curl -s --max-time 2 "http://$POD_ADDR/" >/dev/null && fail "curl works without netd"

say "SIGKILL of netd, then disconnect"
laptop "$CTL" connect --token-file "$T/token" "$AGENT_URL" >"$T/connect.out" 2>&1 ||
	fail "connect again: $(cat "$T/connect.out")"
netd=$(cat "$MIRROR_STATE_DIR"/sessions/*/netd.pid)
kill -9 "$netd"
mirror0_gone() { ! laptop ip link show mirror0 >/dev/null 2>&1; }
wait_for 5 mirror0_gone
laptop "$CTL" disconnect >"$T/disc.out" 2>&1 || fail "disconnect after SIGKILL: $(cat "$T/disc.out")"
laptop ip link show mirror0 >/dev/null 2>&1 && fail "mirror0 is still there after SIGKILL + disconnect"
laptop ip route >"$T/routes"
grep -q 10.77.0 "$T/routes" && fail "a route is still there after SIGKILL + disconnect"
ls "$MIRROR_STATE_DIR/sessions" 2>/dev/null | grep -q . && fail "session state left"
say "ok"
