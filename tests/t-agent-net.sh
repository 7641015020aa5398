#!/usr/bin/env bash
# The agent's network side, through its websocket (tests/netclient.py):
# a "pod" network namespace (lo + a veth pair, pod0 with 10.77.0.2/24;
# tests/net.sh builds it) with
# busybox httpd, TCP/UDP echo servers and dnsmasq inside, and a target
# process in it whose /etc/resolv.conf names that dnsmasq. Through an
# agent started on the host with --target-pid: OP_NET_INFO, TCP streams
# (HTTP, refused and unreachable ports, 16 MiB echoed under credits, a
# stalled reader), UDP, ICMP echo, OP_DNS, malformed stream messages;
# then an agent with --root (no namespace change) to 127.0.0.1.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"

need_netns
need_cmd python3
need_cmd unshare util-linux
need_cmd busybox busybox-static
need_cmd dnsmasq dnsmasq-base
[ -x "$AGENT" ] || fail "build first (make mirror-agent)"
busybox --list | grep -qx httpd || missing "busybox has no httpd"

NC=(python3 "$SRC/tests/netclient.py" --timeout 20)
POD=mirror-net-$$
VETHP=pod0

netns_add "$POD"
pod_links "$POD"
# Ping sockets for every group (the setting is the namespace's own).
ip netns exec "$POD" sysctl -qw net.ipv4.ping_group_range="0 2147483647"

# The pod's servers.
mkdir -p "$T/www" "$T/root/etc"
echo "hello from the pod $$" >"$T/www/index.html"
ip netns exec "$POD" busybox httpd -f -p 10.77.0.2:80 -h "$T/www" &
on_exit "kill $!"
cat >"$T/servers.py" <<'EOF'
import socket, sys, threading
addr = sys.argv[1]

def echo_conn(c):
    with c:
        while True:
            b = c.recv(1 << 20)
            if not b:
                return
            c.sendall(b)

def source_conn(c):
    z = b"\0" * (1 << 20)
    try:
        while True:
            c.sendall(z)
    except OSError:
        pass
    c.close()

def tcp(port, handler):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(128)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handler, args=(c,), daemon=True).start()

def udp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    while True:
        b, a = s.recvfrom(65536)
        s.sendto(b, a)

threading.Thread(target=tcp, args=(int(sys.argv[2]), echo_conn), daemon=True).start()
threading.Thread(target=tcp, args=(int(sys.argv[3]), source_conn), daemon=True).start()
threading.Thread(target=udp, args=(int(sys.argv[2]),), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
EOF
ip netns exec "$POD" python3 "$T/servers.py" 10.77.0.2 7 9000 >"$T/servers.out" 2>&1 &
on_exit "kill $!"
pod_dns "$POD"

# The target: a process in the pod's netns with the pod's resolv.conf.
pod_resolv "$T/resolv.conf"
pod_target "$POD" "$T/resolv.conf"
TPID=$TARGET_PID
for i in $(seq 50); do
	grep -q ready "$T/servers.out" 2>/dev/null && break
	sleep 0.1
done
grep -q ready "$T/servers.out" || fail "the pod's servers did not start: $(cat "$T/servers.out")"

start_agent --target-pid "$TPID"
say "agent at $AGENT_URL (pid $AGENT_PID) for process $TPID in netns $POD"
nc() { "${NC[@]}" --url "$AGENT_URL" --token-file "$T/token" "$@"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$AGENT_PID/status"; }
# AddressSanitizer's quarantine keeps freed memory for a while.
rss_slack=1
ldd "$AGENT" 2>/dev/null | grep -q libasan && rss_slack=3
AGENT1_PID=$AGENT_PID

# OP_NET_INFO: the target's resolv.conf, addresses and routes.
out=$(nc info 2>&1) || fail "net_info: $out"
echo "$out" | sed 's/^/#   /'
grep -qx 'nameserver 10.77.0.2' <<<"$out" || fail "net_info: no nameserver line"
grep -qx 'search demo.svc.cluster.local svc.cluster.local' <<<"$out" ||
	fail "net_info: not the target's search line"
grep -qx "addr 10.77.0.2/24 $VETHP" <<<"$out" || fail "net_info: no 10.77.0.2/24 on $VETHP"
grep -qx "route 10.77.0.0/24 $VETHP" <<<"$out" || fail "net_info: no route 10.77.0.0/24"
grep -q '^addr 127\.' <<<"$out" && fail "net_info: loopback listed"
say "net_info: resolv.conf, 10.77.0.2/24 and its route"

# TCP: an HTTP page.
out=$(nc get 10.77.0.2 80 2>&1) || fail "GET through the agent: $out"
grep -q "hello from the pod $$" <<<"$out" || fail "GET: wrong page: $out"
grep -q '^HTTP/1.[01] 200' <<<"$out" || fail "GET: no 200: $out"
say "TCP: HTTP GET from the pod's httpd"

# Refused at once; unroutable and unreachable as the kernel says. What
# a request costs the client (python's start-up, the handshake) is not
# the refusal's: measured first, on net_info, and allowed on top.
s=$(date +%s%N)
nc info >/dev/null 2>&1
base_ms=$((($(date +%s%N) - s) / 1000000))
s=$(date +%s%N)
out=$(nc connect 10.77.0.2 81 2>&1) && fail "connect to a closed port: $out"
ms=$((($(date +%s%N) - s) / 1000000))
[ "$out" = "error: ECONNREFUSED" ] || fail "closed port: $out"
[ $ms -lt $((base_ms + 2000)) ] || fail "ECONNREFUSED took $ms ms (a request $base_ms ms)"
out=$(nc connect 10.99.0.1 80 2>&1) && fail "connect off every route: $out"
[ "$out" = "error: ENETUNREACH" ] || fail "no route: $out"
say "TCP: closed port ECONNREFUSED ($ms ms incl. python), no route ENETUNREACH"

# Silence: a SYN that nobody answers (a neighbour that exists only in the
# pod's ARP table) times out after the agent's 20 s; an address nobody
# answers ARP for is EHOSTUNREACH when the kernel gives up. In the
# background, while the rest runs.
ip -n "$POD" neigh add 10.77.0.99 lladdr 02:00:00:00:00:99 dev "$VETHP" nud permanent
( s=$(date +%s); out=$(nc connect 10.77.0.99 80 2>&1); echo "$(( $(date +%s) - s )) $out" >"$T/silent" ) &
silent_pid=$!
( out=$(nc connect 10.77.0.98 80 2>&1); echo "$out" >"$T/unreach" ) &
unreach_pid=$!

# 16 MiB through the echo server, credits respected both ways (the
# client checks the agent's side, the agent the client's).
out=$(nc echo 10.77.0.2 7 --bytes $((16 << 20)) 2>&1) || fail "echo: $out"
sent=$(sed -n 's/^sent //p' <<<"$out")
got=$(sed -n 's/^got //p' <<<"$out")
[ -n "$sent" ] && [ "$sent" = "$got" ] || fail "echo: sent $sent, got $got"
say "TCP: 16 MiB echoed, same sha256 ($(tail -n 1 <<<"$out"))"

# A reader that stops crediting: the agent sends one window, then stops,
# and its memory does not grow while the source keeps pushing.
rss0=$(rss_kb)
out=$(nc stall 10.77.0.2 9000 --window $((1 << 20)) --wait 3 2>&1) ||
	fail "stall: $out"
read -r _ got _ win <<<"$(head -n 1 <<<"$out")"
[ "$got" = "$win" ] || fail "stalled reader: agent sent $got for a window of $win"
grep -q '^resumed [1-9]' <<<"$out" || fail "no data after the credit: $out"
rss1=$(rss_kb)
[ $((rss1 - rss0)) -lt $((65536 * rss_slack)) ] || fail "agent RSS grew from $rss0 to $rss1 kB"
say "TCP: stalled reader got exactly one window ($got bytes), resumed on credit; RSS $rss0 -> $rss1 kB"

# Eight stalled readers at once, 4 MiB windows: RSS stays bounded.
for i in 1 2 3 4 5 6 7 8; do
	nc stall 10.77.0.2 9000 --window $((4 << 20)) --wait 3 >"$T/stall.$i" 2>&1 &
done
wait_ok=1
for i in 1 2 3 4 5 6 7 8; do wait -n || wait_ok=0; done
rss2=$(rss_kb)
[ $wait_ok = 1 ] || fail "parallel stalls: $(cat "$T"/stall.*)"
[ $((rss2 - rss0)) -lt $((131072 * rss_slack)) ] || fail "agent RSS grew from $rss0 to $rss2 kB"
say "TCP: 8 stalled readers at once; RSS $rss0 -> $rss2 kB"

# Throughput, agent to client (the Python client is the limit).
out=$(nc sink 10.77.0.2 9000 --bytes $((256 << 20)) 2>&1) || fail "sink: $out"
say "TCP: 256 MiB from the pod: $out"

# UDP and ICMP.
out=$(nc udp 10.77.0.2 7 --count 20 2>&1) || fail "UDP: $out"
[ "$out" = "udp 20 echoed" ] || fail "UDP: $out"
out=$(nc ping 10.77.0.2 2>&1) || fail "ICMP: $out"
case $out in "icmp type 0 "*"data ok") ;; *) fail "ICMP: $out" ;; esac
say "UDP: 20 datagrams echoed; ICMP: $out"

# DNS: the target's nameserver, from the target's netns.
out=$(nc dns web.demo.svc.cluster.local 2>&1) || fail "DNS: $out"
grep -qx '10.77.0.2' <<<"$out" || fail "DNS: no 10.77.0.2 in: $out"
out=$(nc dns nothing.invalid 2>&1) || fail "DNS (NXDOMAIN): $out"
grep -qx 'rcode [35]' <<<"$out" || fail "DNS: want NXDOMAIN/REFUSED, got: $out"
say "DNS: web.demo.svc.cluster.local is 10.77.0.2; nothing.invalid: $(head -n 1 <<<"$out")"

wait $unreach_pid $silent_pid
read -r secs out <<<"$(cat "$T/silent")"
[ "$out" = "error: ETIMEDOUT" ] || fail "unanswered SYN: $(cat "$T/silent")"
[ "$secs" -ge 19 ] && [ "$secs" -le $((25 + base_ms / 1000 + 1)) ] || fail "ETIMEDOUT after $secs s, want ~20 (a request $base_ms ms)"
[ "$(cat "$T/unreach")" = "error: EHOSTUNREACH" ] || fail "no ARP answer: $(cat "$T/unreach")"
say "TCP: unanswered SYN ETIMEDOUT after $secs s; no ARP answer EHOSTUNREACH"

# Malformed stream messages: closed or dropped, the agent keeps serving.
for c in $(python3 -c "
import sys; sys.path.insert(0, '$SRC/tests'); import netclient
print(' '.join(sorted(netclient.bad_cases())))"); do
	out=$(nc bad "$c" 2>&1) || fail "bad $c: $out"
	case $c in
	*-unknown-id) [ "$out" = open ] || fail "$c: the connection was closed" ;;
	*) [ "$out" = closed ] || fail "$c: the connection stayed open" ;;
	esac
	kill -0 "$AGENT_PID" 2>/dev/null || fail "the agent died on $c"
done
nc get 10.77.0.2 80 >/dev/null 2>&1 || fail "the agent stopped serving after bad messages"
say "malformed stream messages: connection closed (unknown ids: dropped); agent still serves"

# Files still work next to the network.
python3 "$SRC/tests/wsclient.py" --url "$AGENT_URL" --token-file "$T/token" \
	read /etc/resolv.conf | grep -q 'nameserver 10.77.0.2' ||
	fail "file read of the target's resolv.conf"

# Without CAP_SYS_ADMIN the agent cannot enter the netns: one warning,
# EPERM for every network request, files as before.
if command -v setpriv >/dev/null; then
	setpriv --bounding-set -sys_admin --inh-caps -sys_admin "$AGENT" \
		--listen 127.0.0.1:0 --token-file "$T/token" --target-pid "$TPID" \
		>"$T/agent.noadm" 2>"$T/agent.noadm.err" &
	p=$!
	on_exit "kill $p"
	for i in $(seq 50); do grep -q ready "$T/agent.noadm" && break; sleep 0.1; done
	url=$(sed -n 's/^ready //p' "$T/agent.noadm")
	[ -n "$url" ] || fail "the agent without CAP_SYS_ADMIN did not start"
	nc0() { "${NC[@]}" --url "$url" --token-file "$T/token" "$@"; }
	for req in info "connect 10.77.0.2 80" "dns web.demo.svc.cluster.local"; do
		out=$(nc0 $req 2>&1) && fail "without CAP_SYS_ADMIN, $req: $out"
		[ "$out" = "error: EPERM" ] || fail "without CAP_SYS_ADMIN, $req: $out"
	done
	python3 "$SRC/tests/wsclient.py" --url "$url" --token-file "$T/token" \
		read /etc/resolv.conf | grep -q 'nameserver 10.77.0.2' ||
		fail "without CAP_SYS_ADMIN: files no longer served"
	[ "$(grep -c 'cannot enter the network namespace' "$T/agent.noadm.err")" = 1 ] ||
		fail "want one warning about the netns: $(cat "$T/agent.noadm.err")"
	kill "$p"
	say "without CAP_SYS_ADMIN: one warning, EPERM for network requests, files served"
fi

# --root: the agent's own network namespace, TCP to 127.0.0.1.
python3 - "$T/port" <<'EOF' &
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
while True:
    c, _ = s.accept()
    while True:
        b = c.recv(65536)
        if not b:
            break
        c.sendall(b)
    c.close()
EOF
on_exit "kill $!"
for i in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
start_agent "$T/root"
out=$(nc echo 127.0.0.1 "$(cat "$T/port")" --bytes 1000000 2>&1) || fail "--root echo: $out"
sent=$(sed -n 's/^sent //p' <<<"$out")
[ -n "$sent" ] && [ "$sent" = "$(sed -n 's/^got //p' <<<"$out")" ] || fail "--root echo: $out"
say "--root agent: TCP echo to 127.0.0.1 in its own netns"

# Both agents stop cleanly on SIGTERM, with streams still open: nothing
# reported by the sanitizers (an --enable-asan build), exit status 0.
nc stall 10.77.0.2 9000 --window 65536 --wait 30 >/dev/null 2>&1 &
staller=$!
on_exit "kill $staller"
sleep 1
for p in "$AGENT1_PID" "$AGENT_PID"; do
	kill -TERM "$p"
	rc=0
	wait "$p" || rc=$?
	[ $rc = 0 ] || fail "agent $p exited with status $rc on SIGTERM"
done
if grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error' "$T"/agent.*.err; then
	fail "sanitizer reports in the agents' logs"
fi
say "agents stopped cleanly with streams open"
exit 0
