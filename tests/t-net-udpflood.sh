#!/usr/bin/env bash
# UDP floods through the tunnel (tests/net.sh builds the topology) cost
# netd and the agent bounded memory, and TCP through the tunnel keeps
# working meanwhile. For 15 s at once: 8 laptop sockets send 1400-byte
# datagrams as fast as they can to a pod port nobody reads; 3,000 new
# flows open to that port; 4 pod servers flood laptop sockets that read
# nothing. Meanwhile (and after) curl fetches the pod's page and 32 MiB
# cross with the same sha256. netd, then the agent, stops reading for 6 s
# (SIGSTOP) meanwhile: the other side must drop what it cannot pass on,
# not buffer it. The resident memory of netd and the agent, sampled every
# half second, may grow by UDPFLOOD_RSS_MB (default 32) over what a TCP
# transfer left them, and both stay up.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"

need_net
# Under ASan, its quarantine of freed memory (256 MiB by default) would
# be measured as growth: keep it small, so the count is netd's own.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4
net_topology
P=$SRC/tests/netpeer.py
LIMIT_KB=$((${UDPFLOOD_RSS_MB:-32} * 1024))
# AddressSanitizer's quarantine keeps freed memory for a while.
ldd "$NETD" 2>/dev/null | grep -q libasan && LIMIT_KB=$((LIMIT_KB * 4))
SECS=20
pod_run python3 "$P" udp-blackhole "$POD_ADDR" 9999
pod_run python3 "$P" udp-flood-back "$POD_ADDR" 9998

laptop "$CTL" connect --token-file "$T/token" "$AGENT_URL" >"$T/connect.out" 2>&1 ||
	fail "connect: $(cat "$T/connect.out")"
on_exit "ip netns exec $LAPTOP_NS '$CTL' disconnect"
NETD_PID=$("$CTL" status | sed -n 's/.*, netd \([0-9]*\).*/\1/p')
[ -n "$NETD_PID" ] || fail "no netd pid in status"
rss() { awk '/^VmRSS/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
tcp_ok() { # one page and 32 MiB, checked
	local sent got
	laptop curl -sf --max-time 10 "http://$POD_ADDR/" >/dev/null || return 1
	read -r sent got < <(laptop timeout 60 python3 "$P" send "$POD_ADDR" 9000 $((32 << 20)))
	[ -n "$sent" ] && [ "$sent" = "$got" ]
}

tcp_ok || fail "TCP through the tunnel before the flood"
base_netd=$(rss "$NETD_PID")
base_agent=$(rss "$AGENT_PID")
say "before: netd $base_netd kB, agent $base_agent kB"

f3=()
for i in 1 2 3 4; do
	ip netns exec "$LAPTOP_NS" python3 "$P" udp-ask-flood "$POD_ADDR" 9998 $SECS &
	f3+=($!)
done
bytes_in() { "$CTL" status | sed -n 's/^ *bytes_in *//p'; }
b0=$(bytes_in)
for i in $(seq 40); do
	[ $(($(bytes_in) - b0)) -gt $((8 << 20)) ] && break
	sleep 0.5
done
[ $(($(bytes_in) - b0)) -gt $((8 << 20)) ] || fail "the pod's floods do not arrive"
laptop python3 "$P" udp-flood "$POD_ADDR" 9999 $SECS 8 >"$T/flood.out" 2>&1 &
f1=$!
laptop python3 "$P" udp-flows "$POD_ADDR" 9999 3000 >"$T/flows.out" 2>&1 &
f2=$!
on_exit "kill $f1 $f2 ${f3[*]}"

peak_netd=$base_netd peak_agent=$base_agent
sample() {
	local r
	r=$(rss "$NETD_PID"); [ "$r" -gt "$peak_netd" ] && peak_netd=$r
	r=$(rss "$AGENT_PID"); [ "$r" -gt "$peak_agent" ] && peak_agent=$r
	return 0
}
# stalled PID: PID stops reading for 6 s (SIGSTOP) while the other side
# goes on receiving the flood and may not buffer it.
stalled() {
	local k
	say "$2 stops reading for 6 s"
	kill -STOP "$1"
	on_exit "kill -CONT $1"
	for k in $(seq 12); do sleep 0.5; sample; done
	kill -CONT "$1"
}
sleep 1		# the floods run a while first: the timing is the test
stalled "$NETD_PID" netd	# the agent must not buffer the pod's floods for it
stalled "$AGENT_PID" "the agent"	# nor netd the laptop's for the agent
tcp_during=0 tcp_tries=0
end=$(($(date +%s) + SECS - 6))
while [ "$(date +%s)" -lt "$end" ] || [ "$tcp_tries" = 0 ]; do
	tcp_tries=$((tcp_tries + 1))
	tcp_ok && tcp_during=$((tcp_during + 1))
	sample
done
wait "$f1" "$f2" "${f3[@]}"
say "the flood sent $(cat "$T/flood.out") datagrams; $(cat "$T/flows.out") new flows"
say "TCP during the flood: $tcp_during of $tcp_tries rounds (a page and 32 MiB each)"
say "peak: netd $peak_netd kB (+$((peak_netd - base_netd))), agent $peak_agent kB (+$((peak_agent - base_agent)))"
wait_rewritten 5 "$(ls "$MIRROR_STATE_DIR"/sessions/*/netd.status)"
"$CTL" status | grep -E "udp_flows|dropped|bytes_" | sed 's/^/# /'
kill -0 "$NETD_PID" || fail "netd died"
kill -0 "$AGENT_PID" || fail "the agent died"
[ "$tcp_during" -ge 1 ] && [ "$tcp_during" -ge $((tcp_tries / 2)) ] ||
	fail "TCP through the tunnel during the flood: $tcp_during of $tcp_tries"
[ $((peak_netd - base_netd)) -le "$LIMIT_KB" ] ||
	fail "netd grew by $((peak_netd - base_netd)) kB during the flood (limit $LIMIT_KB)"
[ $((peak_agent - base_agent)) -le "$LIMIT_KB" ] ||
	fail "the agent grew by $((peak_agent - base_agent)) kB during the flood (limit $LIMIT_KB)"
tcp_ok || fail "TCP through the tunnel after the flood"
laptop python3 "$P" udp "$POD_ADDR" 7 || fail "UDP echo after the flood"
echo ok
