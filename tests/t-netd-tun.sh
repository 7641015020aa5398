#!/bin/bash
# mirror-netd's own parts, with real pieces, in namespaces this test
# creates (the host's links and routes are never touched):
#   pod     10.77.0.2/24 on a veth pair of its own; a process there is
#           the agent's target, and its resolv.conf names 10.66.0.10
#   laptop  no links but lo: the agent runs here, on 127.0.0.1, and
#           reaches the pod only through its target's namespace; netd
#           runs here too
# Checked: the TUN device (vnet_hdr, non-persistent), its address, the
# routes added through libnl (the pod's subnet and nameserver, --route,
# minus --never-route), the status file, a route that would shadow one
# of the laptop's refused with nothing left behind, SIGTERM removing
# routes and device, SIGKILL leaving none. When the agent serves the
# network, also: HTTP through the tunnel (and a big download, checked),
# a refused port, DNS through the stub, UDP and ICMP.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"
need_netns
[ -c /dev/net/tun ] || missing "no /dev/net/tun"
[ -x "$NETD" ] && [ -x "$AGENT" ] || fail "build first (make)"

POD=mtn-pod-$$
LAP=mtn-lap-$$
TUN=mtn$$
netns_add "$POD"
netns_add "$LAP"
pod_links "$POD"
# ip netns exec bind-mounts /etc/netns/NAME/* over /etc for what it runs.
mkdir -p "/etc/netns/$POD"
printf 'search demo.svc.cluster.local\nnameserver 10.66.0.10\n' >"/etc/netns/$POD/resolv.conf"
pod_target "$POD"
netns_agent "$LAP" --target-pid "$TARGET_PID"

lap() { ip netns exec "$LAP" "$@"; }
NETD_CMD=(ip netns exec "$LAP" "$NETD" --agent "$AGENT_URL" --token-file "$T/token" --tun "$TUN")
netd() { timeout 60 "${NETD_CMD[@]}" "$@"; }
netd_routes() { lap ip -4 route show dev "$TUN" 2>/dev/null | grep -v 'proto kernel' | awk '{print $1}' | sort | tr '\n' ' '; }
no_device() { ! lap ip link show "$TUN" >/dev/null 2>&1; }
stop_netd() { # pid: SIGTERM, wait for the exit
	local i
	kill -TERM "$1"
	for i in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	fail "mirror-netd $1 did not exit on SIGTERM"
}

# -- up, detached --
out=$(netd --route 10.96.0.0/12 --route 10.200.0.0/16 --route 10.96.1.0/24 \
	--never-route 10.200.7.0/24 --status-file "$T/status" \
	--pid-file "$T/netd.pid" --log-file "$T/netd.log" --log-level debug) ||
	fail "mirror-netd did not start: $out"
say "$out"
assert_eq "ready $TUN 198.18.0.1" "$out" "ready line"
NETD_PID=$(cat "$T/netd.pid")
on_exit "kill -9 $NETD_PID"
kill -0 "$NETD_PID" || fail "mirror-netd not running after ready"
info=$(lap ip -d link show "$TUN") || fail "no device $TUN"
grep -q "tun type tun pi off vnet_hdr on" <<<"$info" || fail "not a vnet_hdr TUN: $info"
grep -q "persist off" <<<"$info" || fail "TUN persistent: $info"
grep -q "state UNKNOWN\|state UP\|,UP" <<<"$info" || fail "device not up: $info"
lap ip -4 addr show dev "$TUN" | grep -q "inet 198.18.0.1/28" || fail "address: $(lap ip addr show dev "$TUN")"
# 10.200.0.0/16 minus 10.200.7.0/24 is eight prefixes; 10.96.1.0/24 is
# inside 10.96.0.0/12 already.
want="10.200.0.0/22 10.200.128.0/17 10.200.16.0/20 10.200.32.0/19 10.200.4.0/23 10.200.6.0/24 10.200.64.0/18 10.200.8.0/21 10.66.0.10 10.77.0.0/24 10.96.0.0/12 "
assert_eq "$want" "$(netd_routes)" "routes through $TUN"
say "routes: $(netd_routes)"
sleep 1.5
grep -qx "device=$TUN" "$T/status" && grep -qx "address=198.18.0.1" "$T/status" &&
	grep -qx "dns=198.18.0.1:53" "$T/status" && grep -qx "route=10.96.0.0/12" "$T/status" &&
	grep -qx "state=up" "$T/status" && grep -qx "agent=$AGENT_URL" "$T/status" &&
	grep -q "^tcp_open=0$" "$T/status" || fail "status file: $(cat "$T/status")"

# -- through the tunnel, when the agent serves it --
if [ "${NETD_TUN_NO_E2E:-}" != 1 ] && command -v busybox >/dev/null && command -v curl >/dev/null; then
	mkdir -p "$T/www"
	echo "<h1>the web server of the pod</h1>" >"$T/www/index.html"
	head -c 64M /dev/urandom >"$T/www/big"
	ip netns exec "$POD" busybox httpd -f -p 10.77.0.2:80 -h "$T/www" &
	on_exit "kill $!"
	sleep 0.3
	got=$(lap curl -sS --max-time 10 http://10.77.0.2/) || fail "curl through the tunnel failed"
	assert_eq "<h1>the web server of the pod</h1>" "$got" "page through the tunnel"
	say "curl http://10.77.0.2/ through $TUN: ok"
	s=$(date +%s%N)
	lap curl -sS --max-time 60 -o "$T/big.got" http://10.77.0.2/big || fail "big download failed"
	ms=$((($(date +%s%N) - s) / 1000000))
	cmp -s "$T/www/big" "$T/big.got" || fail "big download differs"
	say "64 MiB download: $ms ms ($((64 * 1000 / (ms > 0 ? ms : 1))) MiB/s)"
	connect_err() { # HOST PORT: the errno name of a connect through the tunnel
		lap python3 -c 'import errno, socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), 10)
    print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e)))' "$1" "$2"
	}
	err=$(connect_err 10.77.0.2 81)
	assert_eq ECONNREFUSED "$err" "connect to a closed port"
	say "refused port: $err"
	# Ten connections at once, through the NAT.
	pids=()
	for i in $(seq 10); do
		lap curl -s --max-time 10 -o "$T/par.$i" http://10.77.0.2/ &
		pids+=($!)
	done
	wait "${pids[@]}"
	wait_fail=0
	for i in $(seq 10); do grep -q "web server" "$T/par.$i" || wait_fail=1; done
	[ $wait_fail = 0 ] || fail "parallel connections"
	if need_cmd dnsmasq dnsmasq-base; then
		ip -n "$POD" addr add 10.66.0.10/32 dev pod0
		ip netns exec "$POD" dnsmasq -k -p 53 --listen-address=10.66.0.10 \
			--bind-interfaces --no-resolv --no-hosts \
			--address=/web.demo.svc.cluster.local/10.77.0.2 \
			--pid-file="$T/dnsmasq.pid" 2>"$T/dnsmasq.err" &
		dnsmasq_pid=$!
		on_exit "kill $dnsmasq_pid"
		sleep 0.5
		a=$(lap busybox nslookup web.demo.svc.cluster.local 198.18.0.1 2>&1) || true
		echo "$a" | grep -q "10.77.0.2" || fail "DNS through the stub: $a"
		say "DNS through the stub: web.demo.svc.cluster.local is 10.77.0.2"
		a=$(lap python3 -c 'import socket, struct
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in "web.demo.svc.cluster.local".split(".")) + b"\0"
q += struct.pack(">HH", 1, 1)
s = socket.create_connection(("198.18.0.1", 53), 5)
s.sendall(struct.pack(">H", len(q)) + q)
n = struct.unpack(">H", s.recv(2, socket.MSG_WAITALL))[0]
a = s.recv(n, socket.MSG_WAITALL)
print(".".join(str(b) for b in a[-4:]))' 2>&1) || true
		assert_eq 10.77.0.2 "$a" "DNS over TCP through the stub"
		say "DNS over TCP through the stub: ok"
		a=$(lap busybox nslookup web.demo.svc.cluster.local 10.66.0.10 2>&1) || true
		echo "$a" | grep -q "10.77.0.2" || fail "DNS over UDP to the routed nameserver: $a"
		say "UDP to the pod's nameserver through the tunnel: ok"
		# The pod's nameserver gone: the agent's resolver is refused,
		# and the stub says SERVFAIL at once, over UDP and TCP, instead
		# of leaving the client to its retry timer.
		kill "$dnsmasq_pid"
		wait "$dnsmasq_pid" 2>/dev/null || true
		a=$(lap python3 -c 'import socket, struct, time
q = struct.pack(">HHHHHH", 0x4321, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in "web.demo.svc.cluster.local".split(".")) + b"\0"
q += struct.pack(">HH", 1, 1)
out = []
t = time.monotonic()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(3)
u.sendto(q, ("198.18.0.1", 53))
a = u.recv(4096)
out.append("udp id=%x rcode=%d qd=%d" % (struct.unpack(">H", a[:2])[0], a[3] & 15, struct.unpack(">H", a[4:6])[0]))
s = socket.create_connection(("198.18.0.1", 53), 3)
s.settimeout(3)
s.sendall(struct.pack(">H", len(q)) + q)
n = struct.unpack(">H", s.recv(2, socket.MSG_WAITALL))[0]
a = s.recv(n, socket.MSG_WAITALL)
out.append("tcp id=%x rcode=%d" % (struct.unpack(">H", a[:2])[0], a[3] & 15))
out.append("fast" if time.monotonic() - t < 2 else "slow %.1f s" % (time.monotonic() - t))
print(" ".join(out))' 2>&1) || true
		assert_eq "udp id=4321 rcode=2 qd=1 tcp id=4321 rcode=2 fast" "$a" \
			"SERVFAIL when the pod's nameserver is gone"
		say "pod's nameserver gone: SERVFAIL over UDP and TCP at once"
	fi
	# The agent pings with an ICMP datagram socket: the pod's
	# ping_group_range must admit it.
	ip netns exec "$POD" sysctl -qw net.ipv4.ping_group_range="0 2147483647"
	lap busybox ping -c 2 -W 3 10.77.0.2 >"$T/ping" 2>&1 ||
		fail "ICMP echo through the tunnel: $(cat "$T/ping")"
	say "ICMP echo through the tunnel: $(grep -o '[0-9]* packets received' "$T/ping")"
	sleep 1.2
	grep -q "^tcp_total=[1-9]" "$T/status" || fail "status counters: $(cat "$T/status")"
	say "status: $(grep -E '^(tcp_|udp_|dns_|bytes_)' "$T/status" | tr '\n' ' ')"
fi

# -- SIGTERM: routes and device gone --
stop_netd "$NETD_PID"
no_device || fail "$TUN left behind after SIGTERM"
lap ip route | grep -q "$TUN" && fail "routes left behind: $(lap ip route)"
[ ! -e "$T/status" ] || fail "status file left behind"
say "SIGTERM: device and routes removed"

# -- out of file descriptors: a connection netd cannot take is reset at
# once (not left hanging in its listener's backlog), the others work --
if [ "${NETD_TUN_NO_E2E:-}" != 1 ]; then
	# Without CAP_SYS_RESOURCE, so that netd cannot raise the limit.
	out=$(timeout 60 ip netns exec "$LAP" setpriv --bounding-set -sys_resource \
		prlimit --nofile=40:40 "$NETD" \
		--agent "$AGENT_URL" --token-file "$T/token" --tun "$TUN" \
		--status-file "$T/status" --pid-file "$T/netd3.pid") ||
		fail "mirror-netd with 40 descriptors did not start: $out"
	p3=$(cat "$T/netd3.pid")
	on_exit "kill -9 $p3"
	got=$(lap python3 -c 'import socket, time
socks, res = [], {"ok": 0, "reset": 0, "timeout": 0, "refused": 0}
for i in range(60):
    try:
        socks.append(socket.create_connection(("10.77.0.2", 80), 5))
    except ConnectionRefusedError:
        res["refused"] += 1
    except OSError:
        res["reset"] += 1
for s in socks:
    s.settimeout(8)
    try:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        a = b""
        while True:
            d = s.recv(4096)
            if not d:
                break
            a += d
        res["ok" if b"web server" in a else "reset"] += 1
    except socket.timeout:
        res["timeout"] += 1
    except OSError:
        res["reset"] += 1
print(res["ok"], res["reset"], res["timeout"], res["refused"])' 2>&1)
	read -r ok reset tmo refused <<<"$got"
	say "60 connections to a netd with 40 descriptors: $ok answered, $reset reset, $tmo hung, $refused refused"
	[ "${tmo:-x}" = 0 ] && [ "${ok:-0}" -gt 0 ] && [ "${reset:-0}" -gt 0 ] ||
		fail "out of descriptors: want some answered, some reset, none hung: $got"
	sleep 1.2
	grep -q "^fd_resets=[1-9]" "$T/status" && grep -qx "fd_limit=40" "$T/status" ||
		fail "status: $(grep '^fd_' "$T/status")"
	got=$(lap curl -sS --max-time 10 http://10.77.0.2/) || fail "curl after running out of descriptors"
	assert_eq "<h1>the web server of the pod</h1>" "$got" "a page after running out of descriptors"
	stop_netd "$p3"
	no_device || fail "$TUN left behind"
fi

# -- a route that would shadow one of the laptop's --
lap ip link add lapx type veth peer name lapy
lap ip addr add 10.99.0.1/16 dev lapx
lap ip link set lapx up
must_fail "shadowing route" "route 10.99.0.0/24 would shadow 10.99.0.0/16 dev lapx" \
	"--never-route 10.99.0.0/24" -- "${NETD_CMD[@]}" -f --route 10.99.0.0/24
no_device || fail "$TUN left behind after a refusal"
must_fail "shadowing route, detached" "would shadow 10.99.0.0/16" -- "${NETD_CMD[@]}" --route 10.99.5.0/24
no_device || fail "$TUN left behind after a refusal"
# Wider than the laptop's route is fine: the laptop's stays more specific.
out=$(netd --route 10.64.0.0/10 --pid-file "$T/netd2.pid") || fail "a wider route: $out"
p2=$(cat "$T/netd2.pid")
assert_eq "10.64.0.0/10 " "$(netd_routes)" "a route wider than the laptop's"
lap ip route get 10.99.1.1 | grep -q "dev lapx" || fail "10.99.1.1 no longer goes through lapx"

# -- SIGKILL: the kernel removes the device and its routes --
kill -9 "$p2"
for i in $(seq 50); do no_device && break; sleep 0.1; done
no_device || fail "$TUN left behind after SIGKILL"
lap ip route | grep -q "$TUN" && fail "routes left behind after SIGKILL"
say "SIGKILL: the kernel removed device and routes"

# -- bad input --
must_fail "bad URL" "ws://" -- "$NETD" --agent foo --token-file "$T/token" -f
echo wrong >"$T/badtoken"
chmod 600 "$T/badtoken"
must_fail "wrong token" "authentication failed" -- "${NETD_CMD[@]}" -f --token-file "$T/badtoken"
must_fail "too small range" "too small" -- "${NETD_CMD[@]}" -f --tun-range 198.18.0.0/30
echo ok
