#!/usr/bin/env bash
# mirrorctl connect over wss:// (tests/net.sh's topology, the agent on the
# host's veth address started with --tls): a wrong fingerprint is refused
# with one line and leaves no device; the right one connects, and curl,
# UDP echo and 64 MiB each way cross the tunnel intact.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"

need_net
NET_AGENT_ARGS=--tls net_topology
P=$SRC/tests/netpeer.py
read -r URL FP rest <<<"$AGENT_URL"
[[ "$URL" =~ ^wss://$AGENT_ADDR:[0-9]+$ ]] || fail "ready line: $AGENT_URL"
FP=${FP#sha256=}
[[ "$FP" =~ ^[0-9a-f]{64}$ ]] || fail "no fingerprint on the ready line: $AGENT_URL"

wrong=$(printf '%s' "$FP" | tr '0-9a-f' 'f0-9a-e')
must_fail "connect with a wrong fingerprint" "not the pinned" -- \
	ip netns exec "$LAPTOP_NS" "$CTL" connect --token-file "$T/token" --fingerprint "$wrong" "$URL"
laptop ip link show mirror0 >/dev/null 2>&1 && fail "a device is left after the refused connect"

laptop "$CTL" connect --token-file "$T/token" --fingerprint "$FP" "$URL" >"$T/connect.out" 2>&1 ||
	fail "connect over wss://: $(cat "$T/connect.out")"
on_exit "ip netns exec $LAPTOP_NS '$CTL' disconnect"
cat "$T/connect.out"
laptop curl -sf --max-time 10 "http://$POD_ADDR/" >"$T/page" || fail "curl through the wss:// tunnel"
cmp -s "$T/page" "$T/www/index.html" || fail "the page differs"
laptop python3 "$P" udp "$POD_ADDR" 7 || fail "UDP echo through the wss:// tunnel"
both_ways $((64 << 20))
say "over wss://: curl, UDP echo and 64 MiB each way"
laptop "$CTL" disconnect >/dev/null || fail "disconnect"
echo "ok"
