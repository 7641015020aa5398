#!/usr/bin/env bash
# The network of a shell (issue 12): mirror-netd --netns puts its TUN
# device, default route and DNS stub in a fresh network namespace (made
# with unshare --net, holding a sleep that stands in for the shell) and
# connects to the agent from the laptop's. tests/net.sh's topology, plus
# a second pod with the same subnet and address (its own agent) and a
# "far" namespace that only the pod's default route reaches.
# Checked: in the shell, curl reaches the pod's httpd by address, by its
# cluster name and by its short name (the stub, the pod's search list);
# the far server sees the connection come from the pod's address; the
# laptop's routes, links and nftables rules do not change; two shells on
# two agents whose pods share 10.77.0.0/24 each reach their own pod at
# once (the second through mirrorctl's ctx_net_start, driven by
# tests/ctx-net-driver, which records netd in the session and whose
# ctx_net_stop takes it down); a listener on port 80 in the shell, run as nobody, answers at the
# laptop's 127.0.0.1:80 and status says so; when the sleep dies, netd
# exits and nothing of it remains.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"

need_net
need_cmd nft nftables
need_cmd setpriv util-linux
need_cmd nsenter util-linux
[ -x /usr/bin/python3 ] || missing "no /usr/bin/python3 (the listener runs as nobody, who cannot use a python3 under /root)"
net_topology
AGENT1_URL=$AGENT_URL
FAR_ADDR=198.51.100.7	# only the pod's default route leads there

say "far: a server behind the pod that answers with its peer's address"
FAR_NS=mtp-far-$$
netns_add "$FAR_NS"
ip -n "$POD_NS" link add podfar0 type veth peer name podfar1 netns "$FAR_NS" ||
	fail "veth pod-far"
ip -n "$POD_NS" addr add 10.81.0.1/30 dev podfar0
ip -n "$POD_NS" link set podfar0 up
ip -n "$POD_NS" route add default via 10.81.0.2
ip -n "$FAR_NS" addr add 10.81.0.2/30 dev podfar1
ip -n "$FAR_NS" addr add "$FAR_ADDR/32" dev lo
ip -n "$FAR_NS" link set podfar1 up
ip netns exec "$FAR_NS" python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = ("peer " + self.client_address[0] + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
http.server.HTTPServer((sys.argv[1], 8080), H).serve_forever()
' "$FAR_ADDR" >>"$T/far.log" 2>&1 &
on_exit "kill $!"

say "pod 2: the same subnet and address, another page, its own agent"
POD2_NS=mtp-pod2-$$
netns_add "$POD2_NS"
pod_links "$POD2_NS"
mkdir -p "$T/www2"
echo "<h1>the second pod</h1>" >"$T/www2/index.html"
POD_NS=$POD2_NS pod_run busybox httpd -f -p "$POD_ADDR:80" -h "$T/www2"
POD_NS=$POD2_NS pod_run dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces \
	--listen-address="$POD_ADDR" --port 53 --pid-file="$T/dnsmasq2.pid" \
	--address="/$WEB_NAME/$POD_ADDR" --log-facility=-
pod_target "$POD2_NS" "$T/pod-resolv.conf"
AGENT_LISTEN=$AGENT_ADDR:0 start_agent --target-pid "$TARGET_PID" --insecure-plaintext
AGENT2_URL=$AGENT_URL

# The laptop before any shell, to compare with.
# (IPv6 link-local routes are left out: the kernel adds them to lap0 a
# moment after it comes up, whatever netd does.)
laptop_state() {
	laptop ip -o route show table all | grep -v ' fe80::'
	laptop ip -o link show | sed 's/^[0-9]*: //; s/ state .*//'
	laptop nft list ruleset
}
laptop_state >"$T/laptop.before" || fail "cannot read the laptop's state"

# shell_ns VAR: a fresh network namespace holding a sleep; its PID in VAR.
shell_ns() {
	unshare --net sleep 100000 &
	local pid=$!
	on_exit "kill $pid"
	wait_for 5 eval "[ \"\$(readlink /proc/$pid/ns/net)\" != \"\$(readlink /proc/self/ns/net)\" ]" ||
		fail "unshare --net did not start"
	printf -v "$1" %s "$pid"
}
# netd_for SHELLPID URL NAME: mirror-netd in the laptop's namespace with its
# device in the shell's; NAME_* files under $T. Sets NETD_PID.
netd_for() {
	laptop "$NETD" --agent "$2" --token-file "$T/token" \
		--netns "/proc/$1/ns/net" --exit-with "$1" \
		--resolv-out "$T/$3.resolv" --status-file "$T/$3.status" \
		--pid-file "$T/$3.pid" --log-file "$T/$3.log" --log-level debug \
		>"$T/$3.ready" 2>"$T/$3.err" ||
		fail "netd for $3: $(cat "$T/$3.err")"
	NETD_PID=$(cat "$T/$3.pid")
	on_exit "kill $NETD_PID"
	grep -q "^ready mirror0 " "$T/$3.ready" || fail "netd for $3 printed: $(cat "$T/$3.ready")"
}
# in_shell PID CMD...: CMD in that shell's network namespace, with the
# resolv.conf netd wrote ($RESOLV) over /etc/resolv.conf.
in_shell() {
	local pid=$1; shift
	nsenter --net="/proc/$pid/ns/net" unshare -m sh -c \
		'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$RESOLV" "$@"
}

say "shell 1 on agent 1"
shell_ns SH1
netd_for "$SH1" "$AGENT1_URL" sh1
NETD1=$NETD_PID
RESOLV=$T/sh1.resolv
cat "$RESOLV"
grep -qx "nameserver 198.18.0.1" "$RESOLV" || fail "resolv.conf does not name the stub"
grep -qx "search demo.svc.cluster.local svc.cluster.local" "$RESOLV" || fail "resolv.conf has not the pod's search list"
grep -qx "options ndots:5" "$RESOLV" || fail "resolv.conf has not the pod's ndots"
nsenter --net="/proc/$SH1/ns/net" ip route >"$T/sh1.routes"
cat "$T/sh1.routes"
grep -q "^default dev mirror0" "$T/sh1.routes" || fail "no default route in the shell"
grep -q "^10.77.0.0/24 dev mirror0" "$T/sh1.routes" || fail "no route to the pod's subnet in the shell"

say "in the shell: curl by address, by name, by short name; DNS over UDP and TCP"
in_shell "$SH1" curl -sf --max-time 10 "http://$POD_ADDR/" >"$T/p1" || fail "curl by address in the shell"
cmp -s "$T/p1" "$T/www/index.html" || fail "the page by address differs"
in_shell "$SH1" curl -sf --max-time 10 "http://$WEB_NAME/" >"$T/p2" || fail "curl by name in the shell"
cmp -s "$T/p2" "$T/www/index.html" || fail "the page by name differs"
in_shell "$SH1" curl -sf --max-time 10 "http://web/" >"$T/p3" || fail "curl by short name (search list) in the shell"
cmp -s "$T/p3" "$T/www/index.html" || fail "the page by short name differs"
assert_eq "$POD_ADDR" "$(in_shell "$SH1" python3 "$SRC/tests/netpeer.py" dns 198.18.0.1 "$WEB_NAME" tcp)" "DNS over TCP in the shell"

say "the far server sees the pod's address"
got=$(in_shell "$SH1" curl -sf --max-time 10 "http://$FAR_ADDR:8080/") || fail "curl to far in the shell"
assert_eq "peer 10.81.0.1" "$got" "far's peer"
ip netns exec "$LAPTOP_NS" curl -s --max-time 2 "http://$FAR_ADDR:8080/" >/dev/null &&
	fail "the laptop reaches far without a shell"

say "the laptop's namespace did not change"
laptop_state >"$T/laptop.during"
diff "$T/laptop.before" "$T/laptop.during" || fail "the laptop's routes, links or nftables changed"

say "shell 2 on agent 2, through mirrorctl's ctx_net_start: the same subnet, both at once"
shell_ns SH2
[ -x "$B/tests/ctx-net-driver" ] || fail "build first (make): no tests/ctx-net-driver"
mkfifo "$T/drv.in"
exec 7<>"$T/drv.in"
ip netns exec "$LAPTOP_NS" "$B/tests/ctx-net-driver" "$AGENT2_URL" "$T/token" "$SH2" \
	<"$T/drv.in" >"$T/drv.out" 2>"$T/drv.err" &
DRIVER=$!
on_exit "kill $DRIVER"
wait_for 20 grep -q "^session " "$T/drv.out" || fail "ctx_net_start: $(cat "$T/drv.err")"
cat "$T/drv.out"
read -r _ NETD2 NETD2_START SH2_RESOLV < <(grep "^netd " "$T/drv.out")
SH2_DIR=$(sed -n 's/^session //p' "$T/drv.out")
on_exit "kill $NETD2"
[ "$SH2_RESOLV" = "$SH2_DIR/resolv.conf" ] || fail "the resolv.conf is not in the session: $SH2_RESOLV"
grep -qx "nameserver 198.18.0.1" "$SH2_RESOLV" || fail "shell 2's resolv.conf: $(cat "$SH2_RESOLV")"
grep -qx "netd_pid=$NETD2" "$SH2_DIR/state" && grep -qx "netd_start=$NETD2_START" "$SH2_DIR/state" ||
	fail "the session does not record netd $NETD2 (start $NETD2_START): $(cat "$SH2_DIR/state")"
[ "$(awk '{print $22}' "/proc/$NETD2/stat")" = "$NETD2_START" ] || fail "netd's start time"
grep -q "^dev=$" "$SH2_DIR/state" || fail "the session names a device of the laptop's: $(grep ^dev= "$SH2_DIR/state")"
RESOLV=$SH2_RESOLV in_shell "$SH2" curl -sf --max-time 10 "http://$POD_ADDR/" >"$T/q2" || fail "curl in shell 2"
cmp -s "$T/q2" "$T/www2/index.html" || fail "shell 2 did not reach its own pod: $(cat "$T/q2")"
in_shell "$SH1" curl -sf --max-time 10 "http://$POD_ADDR/" >"$T/q1" || fail "curl in shell 1 next to shell 2"
cmp -s "$T/q1" "$T/www/index.html" || fail "shell 1 did not reach its own pod next to shell 2: $(cat "$T/q1")"
laptop_state >"$T/laptop.during2"
diff "$T/laptop.before" "$T/laptop.during2" || fail "the laptop changed with two shells"

say "a listener on port 80 in the shell, as nobody, at the laptop's 127.0.0.1:80"
mkdir -p "$T/pub"
echo "served from the shell" >"$T/pub/index.html"
chmod 755 "$T" "$T/pub"
nsenter --net="/proc/$SH1/ns/net" setpriv --reuid=65534 --regid=65534 --clear-groups \
	/usr/bin/python3 -m http.server 80 --directory "$T/pub" >"$T/listener.log" 2>&1 &
LISTENER=$!
on_exit "kill $LISTENER"
listening() { laptop curl -sf --max-time 2 http://127.0.0.1:80/ >"$T/l1" 2>/dev/null; }
wait_for 10 listening || fail "127.0.0.1:80 of the laptop does not answer: $(cat "$T/listener.log"; tail -n 20 "$T/sh1.log")"
cmp -s "$T/l1" "$T/pub/index.html" || fail "the laptop's 127.0.0.1:80 gave: $(cat "$T/l1")"
wait_rewritten 5 "$T/sh1.status" || fail "netd did not rewrite its status"
grep -q "^exposed=tcp 127.0.0.1:80 " "$T/sh1.status" || fail "status does not say port 80 is exposed: $(cat "$T/sh1.status")"
grep "^exposed=" "$T/sh1.status"
say "64 MiB into a sink in the shell through the laptop's 127.0.0.1:9000, half-closed, answered"
nsenter --net="/proc/$SH1/ns/net" python3 "$SRC/tests/netpeer.py" sink 127.0.0.1 9000 >"$T/sink.log" 2>&1 &
on_exit "kill $!"
sink_up() { grep -q "^exposed=tcp 127.0.0.1:9000 " "$T/sh1.status" 2>/dev/null; }
wait_for 5 sink_up || fail "port 9000 not exposed: $(cat "$T/sh1.status")"
# send_ms ADDR PORT: 64 MiB there from the laptop, checked; prints ms.
send_ms() {
	local s0 sent got
	s0=$(date +%s%N)
	read -r sent got < <(laptop python3 "$SRC/tests/netpeer.py" send "$1" "$2" $((64 << 20)))
	assert_eq "$sent" "$got" "sha256 of 64 MiB to $1:$2"
	echo $((($(date +%s%N) - s0) / 1000000))
}
ms=$(send_ms 127.0.0.1 9000) || exit 1
# The same client against a sink in the laptop itself: the forwarder's cost.
ip netns exec "$LAPTOP_NS" python3 "$SRC/tests/netpeer.py" sink 127.0.0.1 9002 >/dev/null 2>&1 &
on_exit "kill $!"
wait_for 5 laptop bash -c "echo >/dev/tcp/127.0.0.1/9002" 2>/dev/null || fail "the laptop's own sink"
base=$(send_ms 127.0.0.1 9002) || exit 1
say "64 MiB through the exposed port in $ms ms; to a sink in the laptop itself in $base ms"

say "a port already taken on the laptop is not exposed, and says so"
ip netns exec "$LAPTOP_NS" python3 -m http.server 8081 --bind 127.0.0.1 --directory "$T/www2" >/dev/null 2>&1 &
on_exit "kill $!"
wait_for 5 laptop curl -sf --max-time 1 http://127.0.0.1:8081/ -o /dev/null || fail "the laptop's own 8081"
nsenter --net="/proc/$SH1/ns/net" python3 -m http.server 8081 --bind 127.0.0.1 --directory "$T/pub" >/dev/null 2>&1 &
on_exit "kill $!"
busy_noted() { grep -q "^not_exposed=tcp 8081: 127.0.0.1:8081 here: in use" "$T/sh1.status" 2>/dev/null; }
wait_for 5 busy_noted || fail "status does not say 8081 is taken: $(cat "$T/sh1.status")"
laptop curl -sf --max-time 5 http://127.0.0.1:8081/index.html >"$T/own" || fail "the laptop's own 8081 after"
cmp -s "$T/own" "$T/www2/index.html" || fail "the laptop's own 8081 was taken over"

say "the listener stops: the laptop's port closes"
kill "$LISTENER"
closed() { ! laptop curl -s --max-time 2 http://127.0.0.1:80/ >/dev/null 2>&1; }
wait_for 5 closed || fail "127.0.0.1:80 still answers after the listener stopped"

say "the sleep of shell 1 dies: its netd exits, shell 2 goes on"
kill "$SH1"
wait_for 5 pid_gone "$NETD1" || fail "netd of shell 1 still runs after its shell exited"
[ ! -e "$T/sh1.status" ] || fail "netd of shell 1 left its status file"
grep -q "exited: stopping" "$T/sh1.log" || fail "netd's log does not say why it stopped"
RESOLV=$SH2_RESOLV in_shell "$SH2" curl -sf --max-time 10 "http://$POD_ADDR/" >/dev/null || fail "shell 2 lost its network when shell 1 went"
say "ctx_net_stop stops netd of shell 2"
echo stop >&7
wait_for 10 grep -q "^stopped" "$T/drv.out" || fail "ctx_net_stop did not return"
pid_gone "$NETD2" || fail "netd of shell 2 still runs after ctx_net_stop"
nsenter --net="/proc/$SH2/ns/net" ip link show mirror0 >/dev/null 2>&1 && fail "mirror0 stays in shell 2's namespace"
exec 7>&-
kill "$SH2"
laptop_state >"$T/laptop.after"
diff "$T/laptop.before" "$T/laptop.after" || fail "the laptop changed after the shells"
laptop ss -Hltn | grep -q "127.0.0.1:80 " && fail "a listener remains on the laptop"
echo ok
