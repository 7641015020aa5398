#!/usr/bin/env bash
# mirrorctl status -o json, as a script or an IDE reads it (python3's
# json): with nothing running, the empty lists and zero counters; then a
# mount, a "mirrorctl connect" that carried an HTTP request, and a
# "mirrorctl shell --steal" whose web server is subscribed to the pod's
# port 80 and got a client's request. Each shows up with the fields
# mirrorctl(1) documents, and the counters count what happened.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"

need_net
need_fuse
need_cmd python3
need_cmd nft nftables
net_topology
. "$(dirname "$0")/incoming.sh"
client_ns

# js EXPR: EXPR (python, over the parsed status as S) printed.
js() {
	"$CTL" status -o json >"$T/status.json" || fail "status -o json failed"
	python3 -c '
import json, sys
S = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$T/status.json" "$1" ||
		fail "status -o json: $1: $(cat "$T/status.json")"
}
check() { # EXPR DESC: EXPR is True
	[ "$(js "$1")" = True ] || fail "$2: $1 is not true in: $(python3 -m json.tool "$T/status.json")"
}

check 'S["version"] == 1 and S["mounts"] == [] and S["connections"] == [] and S["shells"] == [] and S["subscriptions"] == []' "empty status"
check 'all(v == 0 for v in S["counters"].values()) and len(S["counters"]) >= 10' "zero counters"

say "a mount"
mount_url "$AGENT_URL" "$T/m"
check 'len(S["mounts"]) == 1' "one mount"
check 'S["mounts"][0]["mountpoint"] == "'"$T/m"'" and S["mounts"][0]["target"] == "'"$AGENT_URL"'" and S["mounts"][0]["agent_url"] == "'"$AGENT_URL"'"' "mount fields"
check 'S["mounts"][0]["mode"] == "ro" and S["mounts"][0]["state"] == "ok" and isinstance(S["mounts"][0]["mountd_pid"], int) and S["mounts"][0]["agent_pid"] is None' "mount mode, state, pids"
check 'S["mounts"][0]["uptime_s"] >= 0 and isinstance(S["mounts"][0]["started"], int) and S["mounts"][0]["by_shell"] is False' "mount times"
pid=$(js 'S["mounts"][0]["mountd_pid"]')
grep -q mirror-mountd "/proc/$pid/cmdline" || fail "mountd_pid $pid is not mirror-mountd"

say "a connection that carried a request"
laptop "$CTL" connect --token-file "$T/token" "$AGENT_URL" >"$T/connect.out" 2>&1 ||
	fail "connect: $(cat "$T/connect.out")"
on_exit "ip netns exec $LAPTOP_NS '$CTL' disconnect"
laptop curl -s --max-time 5 "http://$POD_ADDR/" | grep -q "web server of the pod" ||
	fail "no page through the tunnel"
tcp_counted() { [ "$(js 'S["connections"][0]["counters"].get("tcp_total", 0) >= 1')" = True ]; }
wait_for 5 tcp_counted || fail "the request is not counted: $(cat "$T/status.json")"
check 'len(S["connections"]) == 1 and S["connections"][0]["alive"] is True' "one live connection"
check 'S["connections"][0]["target"] == "'"$AGENT_URL"'" and S["connections"][0]["device"] != ""' "connection fields"
check 'any(r.startswith("'"${POD_ADDR%.*}"'") for r in S["connections"][0]["routes"])' "the pod's subnet routed"
check 'S["connections"][0]["counters"]["tcp_total"] >= 1 and S["counters"]["tcp_total"] >= 1' "tcp counted"
check 'S["counters"]["connections"] == 1 and S["counters"]["mounts"] == 1' "top-level counts"

say "a shell stealing port 80"
mkdir -p "$T/www-local"
echo "<h1>the shell's page</h1>" >"$T/www-local/index.html"
timeout 300 "$CTL" shell --steal --token-file "$T/token" "$AGENT_URL" -- sh -c '
	busybox httpd -f -p 80 -h "$1/www-local" & a=$!
	while [ ! -e "$1/stop" ]; do sleep 0.1; done
	kill $a' sh "$T" >"$T/shell.out" 2>&1 &
SHELL_CTL=$!
on_exit "touch $T/stop; kill $SHELL_CTL 2>/dev/null"
stolen() { [ "$(js '[s["state"] for s in S["subscriptions"] if s["remote_port"] == 80]')" = "['stolen']" ]; }
wait_for 20 stolen || fail "no stolen subscription: $(cat "$T/status.json"; cat "$T/shell.out")"
client curl -s --max-time 5 "http://$POD_ADDR/" | grep -q "the shell's page" ||
	fail "the client did not reach the shell"
counted() { [ "$(js '[s["conns"] for s in S["subscriptions"] if s["remote_port"] == 80][0] >= 1')" = True ]; }
wait_for 5 counted || fail "the stolen request is not counted: $(cat "$T/status.json")"
check 'len(S["shells"]) == 1 and S["shells"][0]["incoming"] == "steal" and isinstance(S["shells"][0]["pid"], int)' "one shell, stealing"
check 'S["shells"][0]["user"] is not None and S["shells"][0]["mountpoint"] != "" and isinstance(S["shells"][0]["placed"], list)' "shell fields"
check '[(s["mode"], s["proto"], s["local_port"], s["error"], s["shell_pid"] == S["shells"][0]["pid"]) for s in S["subscriptions"]] == [("steal", "tcp", 80, None, True)]' "subscription fields"
check 'S["counters"]["shells"] == 1 and S["counters"]["subscriptions"] == 1' "shells and subscriptions counted"
python3 -m json.tool "$T/status.json" | head -80
touch "$T/stop"
wait "$SHELL_CTL" 2>/dev/null
laptop "$CTL" disconnect >/dev/null 2>&1
"$CTL" umount "$T/m" >/dev/null 2>&1
check 'S["mounts"] == [] and S["connections"] == [] and S["shells"] == []' "all gone after the end"
echo "PASS t-status-json"
