#!/usr/bin/env bash
# mirrorctl connect survives its agent (tests/net.sh's topology): with
# netd connected, the agent is SIGKILLed. While it is gone the device and
# routes stay, an open connection is reset (the local side sees it end,
# never a hang), a new connection is refused at once (no blackhole) and
# status says "reconnecting since"; when an agent is back on the same
# address with the same token, curl works again within 2 s, by itself.
# SIGSTOP of the agent for 10 s: nothing needs to come back, curl works
# once it runs again. Breaking the path between laptop and agent (the
# veth down) and restoring it: curl works within 2 s of the path's
# return; three more restarts. netd is the same process throughout, its
# memory after all that no larger (within 1 MiB) than after the first
# return.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"

need_net
net_topology
P=$SRC/tests/netpeer.py
port=${AGENT_URL##*:}

laptop "$CTL" connect --token-file "$T/token" "$AGENT_URL" >"$T/connect.out" 2>&1 ||
	fail "connect: $(cat "$T/connect.out")"
on_exit "ip netns exec $LAPTOP_NS '$CTL' disconnect"
laptop curl -sf --max-time 10 "http://$POD_ADDR/" >/dev/null || fail "curl through the tunnel"
NETD=$(for p in $(ip netns pids "$LAPTOP_NS"); do
	[ "$(cat /proc/$p/comm)" = mirror-netd ] && echo $p; done | head -n 1)
[ -n "$NETD" ] || fail "no mirror-netd in the laptop's namespace"
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$NETD/status"; }
rss0=$(rss)

# curl_back: ms until a curl gets the page (polling every 100 ms), or
# fails after 30 s.
curl_back() {
	local s=$(date +%s%N) i
	for i in $(seq 300); do
		if laptop curl -sf --max-time 2 -o "$T/page" "http://$POD_ADDR/" 2>/dev/null; then
			cmp -s "$T/page" "$T/www/index.html" || fail "the page differs"
			echo $((($(date +%s%N) - s) / 1000000))
			return 0
		fi
		sleep 0.1
	done
	fail "curl did not come back within 30 s: $("$CTL" status)"
}
status_has() { local st; st=$("$CTL" status 2>/dev/null) && grep -q "$1" <<<"$st"; }

say "the agent is SIGKILLed"
# An open connection (the pod's source sends until told to stop).
ip netns exec "$LAPTOP_NS" python3 -c 'import socket, sys
s = socket.create_connection((sys.argv[1], 9001), 10)
s.sendall(b"100000000000\n")
s.recv(65536)
print("connected", flush=True)
s.settimeout(30)
try:
    while s.recv(65536):
        pass
    print("eof")
except socket.timeout:
    print("hung")
except OSError as e:
    print("reset")' "$POD_ADDR" >"$T/open.out" 2>&1 &
OPEN=$!
wait_for 10 grep -q connected "$T/open.out" || fail "no connection to the pod's source: $(cat "$T/open.out")"
kill -9 "$AGENT_PID"
wait "$OPEN"
case $(sed 1d "$T/open.out") in
eof | reset) say "an open connection when the agent died: $(sed 1d "$T/open.out")" ;;
*) fail "an open connection when the agent died: $(cat "$T/open.out")" ;;
esac
wait_for 5 status_has "reconnecting since" || fail "status: $("$CTL" status)"
"$CTL" status | grep "state" | sed 's/^/# /'
laptop ip link show mirror0 >/dev/null || fail "mirror0 gone while the agent is away"
# Read whole first: grep -q in a pipe may end ip early (pipefail).
routes=$(laptop ip route)
grep -q "^10.77.0.0/24 dev mirror0" <<<"$routes" ||
	fail "routes gone while the agent is away: $(tr '\n' ';' <<<"$routes")"
ms=$(laptop python3 "$P" refused "$POD_ADDR" 80) ||
	fail "a new connection while the agent is away is not refused: $ms"
say "a new connection while the agent is away: refused in $ms ms"
[ "$ms" -lt 1000 ] || fail "refused only after $ms ms"

say "an agent back on the same address with the same token"
AGENT_LISTEN=$AGENT_ADDR:$port start_agent --target-pid "$TARGET_PID" --insecure-plaintext
ms=$(curl_back)
say "curl works again $ms ms after the agent's ready line"
[ "$ms" -le 2000 ] || fail "curl came back only after $ms ms"
wait_for 5 status_has "state  *up" || fail "status: $("$CTL" status)"
# After one loss and return every path of it has run once (the first
# use of a code path grows the heap once): memory is compared from here.
rss_warm=$(rss)

say "the agent stopped (SIGSTOP) for 10 s"
kill -STOP "$AGENT_PID"
sleep 10	# the span under test: an agent that does not answer
kill -CONT "$AGENT_PID"
ms=$(curl_back)
say "curl works $ms ms after SIGCONT"
[ "$ms" -le 2000 ] || fail "curl came back only after $ms ms"

say "the path to the agent broken and restored"
ip link set "$HOST_VETH" down
laptop curl -s --max-time 3 "http://$POD_ADDR/" >/dev/null &&
	fail "curl worked with the path to the agent down"
sleep 5
ip link set "$HOST_VETH" up
ms=$(curl_back)
say "curl works $ms ms after the path came back"
[ "$ms" -le 2000 ] || fail "curl came back only after $ms ms"
kill -0 "$NETD" || fail "mirror-netd is gone"

say "three more agent restarts"
for i in 1 2 3; do
	kill -9 "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null
	wait_for 5 status_has "reconnecting since" || fail "status: $("$CTL" status)"
	AGENT_LISTEN=$AGENT_ADDR:$port start_agent --target-pid "$TARGET_PID" --insecure-plaintext
	ms=$(curl_back)
	[ "$ms" -le 2000 ] || fail "curl came back only after $ms ms (restart $i)"
done
rss1=$(rss)
say "mirror-netd's resident memory: $rss0 KiB at the start, $rss_warm KiB after the first return, $rss1 KiB after the SIGSTOP, the cut path and three more restarts"
# An AddressSanitizer build keeps freed memory in quarantine on purpose:
# its size says nothing there.
libs=$(ldd "$(readlink -f "/proc/$NETD/exe")")
if grep -q libasan <<<"$libs"; then
	say "(an ASan build: memory not compared)"
else
	[ "$rss1" -le $((rss_warm + 1024)) ] || fail "mirror-netd grew from $rss_warm to $rss1 KiB"
fi
echo ok
