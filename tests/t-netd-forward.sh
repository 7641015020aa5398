#!/usr/bin/env bash
# netd serves only this host. The topology of tests/net.sh plus two
# namespaces behind the laptop, which forwards (ip_forward=1):
#   neighbour  10.79.0.2/30, default route via the laptop (a container,
#              or a LAN neighbour that picked the laptop as gateway)
#   far        10.80.0.2/30, an HTTP server: the neighbour reaches it
#              through the laptop, so forwarding works
# Checked: with mirrorctl connect up, the laptop reaches the pod and the
# DNS stub; the neighbour reaches "far" but neither the pod (TCP, UDP,
# ping) nor the DNS stub (UDP, TCP) nor the relay's listener, and netd
# sees none of its packets; netd's nftables table is owned, and gone
# after a SIGKILL of netd.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"

need_net
need_cmd nft nftables
net_topology
P=$SRC/tests/netpeer.py
NB_NS=mtp-nb-$$
FAR_NS=mtp-far-$$
# behind_laptop NS DEV NET: a namespace on a veth to the laptop (DEV0 there,
# DEV1 in NS) with NET.1/30 and NET.2/30, its default route the laptop.
behind_laptop() {
	ip netns add "$1" || fail "ip netns add"
	on_exit "ip netns del $1"
	ip -n "$LAPTOP_NS" link add "${2}0" type veth peer name "${2}1" netns "$1"
	ip -n "$LAPTOP_NS" addr add "$3.1/30" dev "${2}0"
	ip -n "$LAPTOP_NS" link set "${2}0" up
	ip -n "$1" addr add "$3.2/30" dev "${2}1"
	ip -n "$1" link set lo up
	ip -n "$1" link set "${2}1" up
	ip -n "$1" route add default via "$3.1"
}
behind_laptop "$NB_NS" nb 10.79.0
behind_laptop "$FAR_NS" far 10.80.0
ip netns exec "$FAR_NS" python3 "$P" http 10.80.0.2 8080 >>"$T/far.log" 2>&1 &
on_exit "kill $!"
laptop sysctl -qw net.ipv4.ip_forward=1
nb() { ip netns exec "$NB_NS" "$@"; }

say "connect"
laptop "$CTL" connect --token-file "$T/token" "$AGENT_URL" >"$T/connect.out" 2>&1 ||
	fail "connect: $(cat "$T/connect.out")"
on_exit "ip netns exec $LAPTOP_NS '$CTL' disconnect"
TUN_ADDR=$(sed -n 's/.*address \([0-9.]*\).*/\1/p' "$T/connect.out" | head -n 1)
[ -n "$TUN_ADDR" ] || fail "connect printed no address: $(cat "$T/connect.out")"
NETD_PID=$("$CTL" status | sed -n 's/.*, netd \([0-9]*\).*/\1/p')
[ -n "$NETD_PID" ] || fail "no netd pid in status: $("$CTL" status)"
TABLE=mirror_netd_mirror0
laptop nft list table inet "$TABLE" >"$T/table" 2>&1 || fail "no table $TABLE: $(cat "$T/table")"
cat "$T/table"
grep -q "flags owner" "$T/table" || fail "the table is not owned"
grep -q 'iif "mirror0" drop' "$T/table" && grep -q 'oif "mirror0" drop' "$T/table" ||
	fail "no forward rules"
grep -q "ip daddr $TUN_ADDR iif != \"lo\" iif != \"mirror0\" drop" "$T/table" ||
	fail "no input rule for the TUN address"
laptop nft delete table inet "$TABLE" 2>/dev/null && fail "another process deleted netd's table"

say "the laptop reaches the pod and the DNS stub"
laptop curl -sf --max-time 10 "http://$POD_ADDR/" >/dev/null || fail "the laptop: curl through the tunnel"
assert_eq "$POD_ADDR" "$(laptop python3 "$P" dns "$TUN_ADDR" "$WEB_NAME" udp)" "the laptop: DNS over UDP"
assert_eq "$POD_ADDR" "$(laptop python3 "$P" dns "$TUN_ADDR" "$WEB_NAME" tcp)" "the laptop: DNS over TCP"
laptop python3 "$P" udp "$POD_ADDR" 7 || fail "the laptop: UDP echo"
STATUS_FILE=$(ls "$MIRROR_STATE_DIR"/sessions/*/netd.status)
wait_rewritten 5 "$STATUS_FILE" || fail "netd did not rewrite $STATUS_FILE"
tcp_before=$("$CTL" status | sed -n 's/^ *tcp_total *//p')
udp_before=$("$CTL" status | sed -n 's/^ *udp_flows *//p')
dns_before=$("$CTL" status | sed -n 's/^ *dns_queries *//p')

say "the neighbour reaches far through the laptop (forwarding is on)"
nb curl -sf --max-time 5 http://10.80.0.2:8080/ >/dev/null || fail "the neighbour cannot reach far: forwarding is off, the test proves nothing"
nb ip route get "$POD_ADDR" | grep -q "via 10.79.0.1" || fail "the neighbour has no route to the pod via the laptop"

say "the neighbour reaches neither the pod nor the DNS stub"
nb curl -s --max-time 3 "http://$POD_ADDR/" >/dev/null && fail "the neighbour reached the pod's web server through the tunnel"
nb timeout 10 python3 "$P" udp "$POD_ADDR" 7 && fail "the neighbour got a UDP echo from the pod"
nb ping -c 2 -W 2 "$POD_ADDR" >/dev/null 2>&1 && fail "the neighbour pinged the pod"
nb timeout 10 python3 "$P" dns "$TUN_ADDR" "$WEB_NAME" udp >/dev/null 2>&1 && fail "the neighbour got an answer from the DNS stub over UDP"
nb timeout 10 python3 "$P" dns "$TUN_ADDR" "$WEB_NAME" tcp >/dev/null 2>&1 && fail "the neighbour got an answer from the DNS stub over TCP"
# The relay's listener on the TUN address: a port the laptop has open.
port=$(laptop ss -Hltn "src $TUN_ADDR" | awk '{print $4}' | sed 's/.*://' | grep -vx 53 | head -n 1)
[ -n "$port" ] || fail "no relay listener on $TUN_ADDR"
nb curl -s --max-time 3 "http://$TUN_ADDR:$port/" >/dev/null
rc=$?
[ $rc = 28 ] || fail "the neighbour's connect to the relay's listener $TUN_ADDR:$port was not dropped (curl exit $rc)"
wait_rewritten 5 "$STATUS_FILE" || fail "netd did not rewrite $STATUS_FILE"
assert_eq "$tcp_before" "$("$CTL" status | sed -n 's/^ *tcp_total *//p')" "netd's TCP count after the neighbour's attempts"
assert_eq "$udp_before" "$("$CTL" status | sed -n 's/^ *udp_flows *//p')" "netd's UDP flows after the neighbour's attempts"
assert_eq "$dns_before" "$("$CTL" status | sed -n 's/^ *dns_queries *//p')" "netd's DNS count after the neighbour's attempts"
"$CTL" status | grep -q "firewall .*$TABLE" || fail "status does not name the table: $("$CTL" status)"
laptop curl -sf --max-time 10 "http://$POD_ADDR/" >/dev/null || fail "the laptop: curl through the tunnel, after"

say "SIGKILL of netd: the kernel removes the table"
kill -9 "$NETD_PID"
table_gone() { ! laptop nft list tables | grep -q "$TABLE"; }
wait_for 5 table_gone
laptop nft list tables | grep -q "$TABLE" && fail "$TABLE left behind after SIGKILL of netd"
laptop "$CTL" disconnect >/dev/null || fail "disconnect after SIGKILL"
echo ok
