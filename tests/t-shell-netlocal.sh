#!/usr/bin/env bash
# net.local in a shell (issue 12): destinations net.local names leave
# from the laptop's namespace, not the pod. tests/net.sh's topology plus
# a "lan" namespace that only the laptop reaches (10.79.0.0/24, and
# 10.77.0.2, the pod's own address, routed there by the laptop), with a
# server that answers with its peer's address, a UDP echo and a sink.
# The laptop has a hosts file of its own (lapweb.test) and a resolver
# that answers NXDOMAIN for other .test names. mirror-netd --netns takes
# net.local from a config file (and --local).
# Checked in the shell: by address, the lan server answers and sees the
# laptop's address; by CIDR:PORT, 10.77.0.2:8080 is the lan's while
# 10.77.0.2:80 stays the pod's; 10.79.0.5, not listed, is not reached
# until its name lapweb.test (listed) resolves through the laptop's hosts
# file, then it is, by name and by address; "web", listed, is the
# laptop's also when asked with the pod's search domains (the pod has a
# web.demo.svc.cluster.local); a listed name the laptop
# cannot resolve gets NXDOMAIN and one log line; UDP echo; 64 MiB each
# way through the local relay, checked; when the shell's sleep dies
# netd exits. Then mirrorctl connect's side: without
# --netns a --local address is left out of the routes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"

need_net
need_cmd nsenter util-linux
need_cmd getent libc-bin
LAN_NS=mtp-lan-$$
LAN_ADDR=10.79.0.1
LAN_NAMED=10.79.0.5	# reached by its name only
LAPTOP_LAN=10.79.0.2

# The laptop's own hosts file and resolver, before its namespace is
# first entered (ip netns exec binds /etc/netns/NS/* over /etc).
net_topology_laptop_files() {
	mkdir -p "/etc/netns/$1"
	printf '127.0.0.1 localhost\n%s lapweb.test web\n' "$LAN_NAMED" >"/etc/netns/$1/hosts"
	printf 'nameserver %s\noptions timeout:2 attempts:1\n' "$LAN_ADDR" >"/etc/netns/$1/resolv.conf"
}
# net_topology makes LAPTOP_NS; its name is known before.
net_topology_laptop_files "mtp-lap-$$"
on_exit "rm -rf /etc/netns/mtp-lap-$$"
net_topology

say "lan: a network only the laptop reaches"
netns_add "$LAN_NS"
ip -n "$LAN_NS" link add lan0 type veth peer name lap1 netns "$LAPTOP_NS" || fail "veth lan-laptop"
ip -n "$LAN_NS" addr add "$LAN_ADDR/24" dev lan0
ip -n "$LAN_NS" addr add "$LAN_NAMED/32" dev lo
ip -n "$LAN_NS" addr add "$POD_ADDR/32" dev lo
ip -n "$LAN_NS" link set lan0 up
ip -n "$LAPTOP_NS" addr add "$LAPTOP_LAN/24" dev lap1
ip -n "$LAPTOP_NS" link set lap1 up
ip -n "$LAPTOP_NS" route add "$POD_ADDR/32" via "$LAN_ADDR"
lan_run() {
	ip netns exec "$LAN_NS" "$@" >>"$T/lan.log" 2>&1 &
	on_exit "kill $!"
}
lan_run python3 -c '
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = ("lan, peer " + self.client_address[0] + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
http.server.HTTPServer(("0.0.0.0", 8080), H).serve_forever()
'
lan_run python3 "$SRC/tests/netpeer.py" udp-echo "$LAN_ADDR" 7
lan_run python3 "$SRC/tests/netpeer.py" sink "$LAN_ADDR" 9000
SOURCE_LOG=$T/lan-source.log lan_run python3 "$SRC/tests/netpeer.py" source "$LAN_ADDR" 9001
lan_run dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces \
	--listen-address="$LAN_ADDR" --port 53 --pid-file="$T/dnsmasq-lan.pid" \
	--address=/test/ --log-facility=-
lan_up() { laptop curl -sf --max-time 1 "http://$LAN_ADDR:8080/" >/dev/null; }
wait_for 10 lan_up || fail "the laptop does not reach the lan server: $(cat "$T/lan.log")"
got=$(laptop curl -sf --max-time 5 "http://$POD_ADDR:8080/") || fail "the laptop's route to 10.77.0.2 in the lan"
assert_eq "lan, peer $LAPTOP_LAN" "$got" "the laptop's own 10.77.0.2:8080"
laptop getent hosts lapweb.test | grep -q "^$LAN_NAMED " || fail "the laptop's hosts file does not name lapweb.test"
laptop getent hosts missing.test && fail "the laptop resolves missing.test"

cat >"$T/mirror.conf" <<EOF
net = {
  local = [ "$LAN_ADDR", "10.77.0.0/24:8080", "lapweb.test", "missing.test", "web" ];
};
EOF

# A fresh network namespace holding a sleep (the shell), and netd for it.
unshare --net sleep 100000 &
SH=$!
on_exit "kill $SH"
wait_for 5 eval "[ \"\$(readlink /proc/$SH/ns/net)\" != \"\$(readlink /proc/self/ns/net)\" ]" ||
	fail "unshare --net did not start"
laptop "$NETD" --agent "$AGENT_URL" --token-file "$T/token" --config "$T/mirror.conf" \
	--local ":9001" \
	--netns "/proc/$SH/ns/net" --exit-with "$SH" --resolv-out "$T/sh.resolv" \
	--status-file "$T/sh.status" --pid-file "$T/sh.pid" --log-file "$T/sh.log" \
	--log-level debug >"$T/sh.ready" 2>"$T/sh.err" || fail "netd: $(cat "$T/sh.err")"
NETD_PID=$(cat "$T/sh.pid")
on_exit "kill $NETD_PID"
grep -q "^ready mirror0 " "$T/sh.ready" || fail "netd printed: $(cat "$T/sh.ready")"
in_shell() {
	nsenter --net="/proc/$SH/ns/net" unshare -m sh -c \
		'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$T/sh.resolv" "$@"
}

say "by address: the lan server answers, and sees the laptop's address"
got=$(in_shell curl -sf --max-time 10 "http://$LAN_ADDR:8080/") || fail "curl $LAN_ADDR:8080 in the shell: $(tail -n 20 "$T/sh.log")"
assert_eq "lan, peer $LAPTOP_LAN" "$got" "the lan server's peer"

say "by CIDR:PORT: 10.77.0.2:8080 is the laptop's, 10.77.0.2:80 still the pod's"
got=$(in_shell curl -sf --max-time 10 "http://$POD_ADDR:8080/") || fail "curl $POD_ADDR:8080 in the shell"
assert_eq "lan, peer $LAPTOP_LAN" "$got" "10.77.0.2:8080 from the shell"
in_shell curl -sf --max-time 10 "http://$POD_ADDR/" >"$T/p80" || fail "curl $POD_ADDR:80 in the shell"
cmp -s "$T/p80" "$T/www/index.html" || fail "10.77.0.2:80 is not the pod's page: $(cat "$T/p80")"

say "not listed: $LAN_NAMED goes to the pod, where nothing answers"
in_shell curl -s --max-time 5 "http://$LAN_NAMED:8080/" >"$T/unlisted" &&
	fail "the shell reached $LAN_NAMED without net.local: $(cat "$T/unlisted")"

say "by name: lapweb.test from the laptop's hosts file; then its address is local"
assert_eq "$LAN_NAMED" "$(in_shell python3 "$SRC/tests/netpeer.py" dns 198.18.0.1 lapweb.test udp)" "the stub's A for lapweb.test (UDP)"
assert_eq "$LAN_NAMED" "$(in_shell python3 "$SRC/tests/netpeer.py" dns 198.18.0.1 lapweb.test tcp)" "the stub's A for lapweb.test (TCP)"
got=$(in_shell curl -sf --max-time 10 "http://lapweb.test:8080/") || fail "curl lapweb.test:8080 in the shell: $(tail -n 20 "$T/sh.log")"
assert_eq "lan, peer $LAPTOP_LAN" "$got" "lapweb.test:8080 from the shell"
got=$(in_shell curl -sf --max-time 10 "http://$LAN_NAMED:8080/") || fail "curl $LAN_NAMED:8080 after its name resolved"
assert_eq "lan, peer $LAPTOP_LAN" "$got" "$LAN_NAMED:8080 after its name"

say "a short name the pod also has: the laptop's, with the pod's search domains too"
assert_eq "$LAN_NAMED" "$(in_shell python3 "$SRC/tests/netpeer.py" dns 198.18.0.1 "$WEB_NAME" udp)" "the stub's A for $WEB_NAME (web + a search domain)"
in_shell getent ahostsv4 web >"$T/web.hosts" || fail "web does not resolve in the shell"
grep -q "^$LAN_NAMED " "$T/web.hosts" || fail "web in the shell is not the laptop's: $(cat "$T/web.hosts")"

say "a listed name the laptop cannot resolve: NXDOMAIN, one log line"
rcode=$(in_shell python3 -c '
import random, socket, struct, sys
q = struct.pack(">HHHHHH", random.randrange(65536), 0x0100, 1, 0, 0, 0)
q += b"\x07missing\x04test\x00" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
s.sendto(q, ("198.18.0.1", 53))
a = s.recv(4096)
print(a[3] & 15, struct.unpack(">H", a[6:8])[0])
') || fail "no answer for missing.test"
assert_eq "3 0" "$rcode" "rcode and answers for missing.test"
in_shell getent hosts missing.test && fail "missing.test resolves in the shell"
grep -q "net.local missing.test: this machine's resolver has no address for it; answering NXDOMAIN" "$T/sh.log" ||
	fail "netd's log does not say why: $(tail -n 20 "$T/sh.log")"

say "UDP: an echo in the lan, through net.local"
in_shell python3 "$SRC/tests/netpeer.py" udp "$LAN_ADDR" 7 || fail "no UDP echo from $LAN_ADDR:7"

say "64 MiB each way through the local relay"
# ms CMD...: runs CMD, prints its wall time in ms.
ms() {
	local s0
	s0=$(date +%s%N)
	"$@" || return 1
	echo $((($(date +%s%N) - s0) / 1000000)) >&2
}
ms in_shell python3 "$SRC/tests/netpeer.py" send "$LAN_ADDR" 9000 $((64 << 20)) >"$T/up" 2>"$T/ms.up" ||
	fail "64 MiB shell -> lan"
read -r sent got <"$T/up"
assert_eq "$sent" "$got" "sha256 of 64 MiB shell -> lan"
ms in_shell python3 "$SRC/tests/netpeer.py" fetch "$LAN_ADDR" 9001 $((64 << 20)) >"$T/down" 2>"$T/ms.down" ||
	fail "64 MiB lan -> shell"
read -r sum n <"$T/down"
assert_eq $((64 << 20)) "$n" "bytes lan -> shell"
assert_eq "$(tail -n 1 "$T/lan-source.log")" "$sum" "sha256 of 64 MiB lan -> shell"
ms laptop python3 "$SRC/tests/netpeer.py" send "$LAN_ADDR" 9000 $((64 << 20)) >"$T/direct" 2>"$T/ms.direct" ||
	fail "64 MiB laptop -> lan"
read -r sent got <"$T/direct"
assert_eq "$sent" "$got" "sha256 of 64 MiB laptop -> lan"
say "64 MiB shell -> lan $(tail -n 1 "$T/ms.up") ms, lan -> shell $(tail -n 1 "$T/ms.down") ms; laptop -> lan directly $(tail -n 1 "$T/ms.direct") ms"

say "the shell's sleep dies: netd exits"
kill "$SH"
wait_for 5 pid_gone "$NETD_PID" || fail "netd still runs after its shell exited"
grep -q "exited: stopping" "$T/sh.log" || fail "netd's log does not say why it stopped"

say "mirrorctl connect's netd: a --local address is not routed"
laptop "$NETD" --agent "$AGENT_URL" --token-file "$T/token" --tun mirrorl0 \
	--local "$POD_ADDR" --local "lapweb.test" --status-file "$T/c.status" \
	--pid-file "$T/c.pid" --log-file "$T/c.log" >"$T/c.ready" 2>"$T/c.err" ||
	fail "netd without --netns: $(cat "$T/c.err")"
CPID=$(cat "$T/c.pid")
on_exit "kill $CPID"
laptop ip route show dev mirrorl0 >"$T/c.routes"
cat "$T/c.routes"
grep -q "^10.77.0.0/31 " "$T/c.routes" || fail "10.77.0.0/24 less 10.77.0.2 is not routed"
laptop ip route get "$POD_ADDR" | grep -q "dev mirrorl0" && fail "10.77.0.2 is routed through the tunnel"
grep -q "net.local: host names and ports apply in a shell only" "$T/c.err" ||
	fail "netd does not say what net.local does without --netns: $(cat "$T/c.err")"
kill "$CPID"
wait_for 5 pid_gone "$CPID" || fail "netd without --netns did not stop"
echo ok
