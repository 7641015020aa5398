#!/usr/bin/env bash
# mirrorctl port-forward -L and -R against the real demo pod (issue 13):
# local ports reach what only the pod reaches, and the pod's ports reach
# servers here. Servers listen on the pod's own
# 127.0.0.1 (its network namespace's loopback, which the laptop cannot
# reach), and a name is resolved by a dnsmasq in the pod at the address
# its resolv.conf names, through the pod's search list. Checked:
#  - bad specs (-L and -R), a taken port: one clear error, before any
#    agent;
#    an agent that is not there: one clear error;
#  - seven forwards at once (four -L, three -R), one line each, free
#    ports picked (LPORT 0);
#  - curl through a local port gets the pod's httpd page (127.0.0.1:80);
#  - 64 MiB each way at the same time, sha256 equal on both ends; the
#    upload's answer comes after the client's half-close (the sink
#    answers on EOF), so half-close crosses the forward;
#  - a HOST name ("db") resolved as the pod resolves it (OP_DNS, search
#    list default.svc.cluster.local, ndots 5);
#  - -R: from inside the pod's netns, to its 127.0.0.1:9101 and to its own
#    address 203.0.113.2:9101, 64 MiB up to a sink here intact (sha256),
#    and 64 MiB down from a source here (9102) intact; a -R whose local
#    server is not there (9103): the pod's client is reset;
#  - a pod port nobody listens on: the local connection is reset;
#  - SIGINT: mirrorctl and mirror-forward exit 0, an open connection is
#    reset, no port is left listening, no agent of the command is left,
#    the pod's 9101..9103 are refused again and its nft ruleset is as
#    before.
# The demo pod has fixed addresses: run under flock /tmp/mirror-net.lock.
. "$(dirname "$0")/lib.sh"

need_mount
need_cmd python3
need_cmd curl
need_cmd ss iproute2
need_cmd nsenter util-linux
need_cmd dnsmasq dnsmasq-base
need_cmd nft nftables
[ -x /bin/busybox ] || missing "no /bin/busybox (apt-get install busybox-static)"
FWD=$B/mirror-forward
[ -x "$FWD" ] || fail "$FWD is not built"
export MIRROR_FORWARD=$FWD
if ip link show mirror-demo0 >/dev/null 2>&1; then
	missing "a demo pod is already running here (mirror-demo0 exists)"
fi
on_exit "'$CTL' demo down --purge"
PEER=$SRC/tests/netpeer.py
# reset.py ADDR PORT: exit 0 if a connection there is reset (or closed
# at once), here and in the pod. With a timeout Python connects without
# blocking and reads SO_ERROR later: a reset that comes first is the
# connect's error.
cat >"$T/reset.py" <<'EOF'
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
    d = s.recv(1)
    sys.exit(0 if d == b"" else 1)
except ConnectionResetError:
    sys.exit(0)
EOF
BIG=$((64 << 20))

say "help and usage"
"$CTL" port-forward --help >"$T/help" || fail "port-forward --help failed"
for w in -L LADDR LPORT RPORT Ctrl-C; do
	grep -q -- "$w" "$T/help" || fail "port-forward --help does not mention $w"
done
"$CTL" --help | grep -q '^  port-forward ' || fail "mirrorctl --help lists no port-forward"
must_fail "no -L" "usage: mirrorctl port-forward" -- "$CTL" port-forward demo
must_fail "a bad spec" "-L 8080:" "want" -- "$CTL" port-forward demo -L 8080
must_fail "a bad port" "remote port" -- "$CTL" port-forward demo -L 8080:db:99999
must_fail "a bad host" "neither an address nor a DNS name" -- \
	"$CTL" port-forward demo -L '8080:a/b:80'
must_fail "a bad -R" "-R 9101:db:80" "numeric address or localhost" -- \
	"$CTL" port-forward demo -R 9101:db:80
must_fail "a -R on one pod address" "every address" -- \
	"$CTL" port-forward demo -R 127.0.0.1:9101:127.0.0.1:80
must_fail "a -R port 0" "pod's port" -- "$CTL" port-forward demo -R 0:127.0.0.1:80

make_token "$T/token"
must_fail "no agent there" "cannot reach the agent at 127.0.0.1:1" -- \
	"$CTL" port-forward --token-file "$T/token" ws://127.0.0.1:1 -L 0:127.0.0.1:80

say "the demo pod, and servers only it reaches"
"$CTL" demo up >"$T/up" 2>&1 || { cat "$T/up"; fail "demo up failed"; }
pid=$(sed -n 's/^pid \([0-9][0-9]*\)$/\1/p' "$T/up")
[ -n "$pid" ] || fail "no pid in: $(cat "$T/up")"
POD_ADDR=203.0.113.2
in_pod() { nsenter -t "$pid" -n "$@"; }
# Background servers are started by nsenter itself, not through in_pod:
# "func &" backgrounds a subshell, and killing it would leave the server.
nsenter -t "$pid" -n python3 "$PEER" sink 127.0.0.1 9001 >"$T/sink.log" 2>&1 &
on_exit "kill $!"
SOURCE_LOG=$T/source.log nsenter -t "$pid" -n python3 "$PEER" source 127.0.0.1 9002 >"$T/source.out" 2>&1 &
on_exit "kill $!"
nsenter -t "$pid" -n dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces \
	--listen-address="$POD_ADDR" --port 53 --pid-file="$T/dnsmasq.pid" \
	--address=/db.default.svc.cluster.local/127.0.0.1 --log-facility=- \
	>"$T/dnsmasq.log" 2>&1 &
on_exit "kill $!"
pod_listens() { in_pod ss -Hltn "sport = :$1" | grep -q .; }
wait_for 10 pod_listens 9001 && wait_for 10 pod_listens 9002 &&
	wait_for 10 pod_listens 53 || fail "the pod's servers did not start"
# What the laptop cannot do: the pod's 127.0.0.1:9001 is not ours.
python3 "$PEER" refused 127.0.0.1 9001 >/dev/null ||
	fail "something on the laptop listens on 9001: the test proves nothing"
# For -R: a sink and a source here, on free ports; nothing on the pod's
# 9101, 9102 and 9103 yet; its ruleset as it is without us.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
L_SINK=$(free_port)
L_SRC=$(free_port)
L_NONE=$(free_port)
python3 "$PEER" sink 127.0.0.1 "$L_SINK" >"$T/lsink.log" 2>&1 &
on_exit "kill $!"
SOURCE_LOG=$T/lsource.log python3 "$PEER" source 127.0.0.1 "$L_SRC" >"$T/lsource.out" 2>&1 &
on_exit "kill $!"
here_listens() { ss -Hltn "sport = :$1" | grep -q .; }
wait_for 10 here_listens "$L_SINK" && wait_for 10 here_listens "$L_SRC" ||
	fail "the local servers did not start"
# The pod's ports the -R forwards take: nobody answers there (else the
# test proves nothing), and again once they are given back.
pod_refuses_r() {
	local p
	for p in 9101 9102 9103; do
		in_pod python3 "$PEER" refused 127.0.0.1 "$p" >/dev/null ||
			{ echo "$p"; return 1; }
	done
}
pod_refuses_r >"$T/open" || fail "something in the pod listens on $(cat "$T/open")"
in_pod nft list ruleset >"$T/nft.before" || fail "nft list ruleset in the pod"

say "a taken port: refused before any agent starts"
python3 -c 'import socket,time
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(1)
print(s.getsockname()[1], flush=True); time.sleep(600)' >"$T/taken" &
on_exit "kill $!"
wait_for 5 test -s "$T/taken" || fail "no taken port"
taken=$(cat "$T/taken")
must_fail "a taken port" "127.0.0.1:$taken" "in use" "taken" -- \
	"$CTL" port-forward demo -L "$taken:127.0.0.1:80"
[ "$MS" -lt 2000 ] || fail "the taken port was found only after $MS ms"
# The agents mirrorctl starts for the demo pod (not a test's own).
pod_agents() { pgrep -f "^$AGENT .*--target-pid $pid( |\$)"; }
pod_agents >/dev/null && fail "an agent runs after the failed forward"

say "seven forwards at once: four -L, three -R"
"$CTL" port-forward demo -L 0:127.0.0.1:80 -R "9101:127.0.0.1:$L_SINK" \
	-L 0:db:9001 -L 127.0.0.1:0:localhost:9002 -L 0:127.0.0.1:9009 \
	-R "*:9102:localhost:$L_SRC" -R "9103:127.0.0.1:$L_NONE" \
	>"$T/fwd.out" 2>"$T/fwd.err" &
CTL_PID=$!
on_exit "kill $CTL_PID"
lines() { [ "$(grep -c '^forwarding ' "$T/fwd.out")" = 7 ]; }
wait_for 30 lines || fail "no forwarding lines: $(cat "$T/fwd.out" "$T/fwd.err")"
cat "$T/fwd.out"
port_of() { sed -n "s/^forwarding 127\.0\.0\.1:\([0-9]*\) -> $1 (from the pod)\$/\1/p" "$T/fwd.out"; }
P_HTTP=$(port_of '127\.0\.0\.1:80')
P_SINK=$(port_of 'db:9001')
P_SRC=$(port_of 'localhost:9002')
P_NONE=$(port_of '127\.0\.0\.1:9009')
[ -n "$P_HTTP" ] && [ -n "$P_SINK" ] && [ -n "$P_SRC" ] && [ -n "$P_NONE" ] ||
	fail "unexpected forwarding lines: $(cat "$T/fwd.out")"
for r in "9101 -> 127\.0\.0\.1:$L_SINK" "9102 -> 127\.0\.0\.1:$L_SRC" \
	"9103 -> 127\.0\.0\.1:$L_NONE"; do
	grep -q "^forwarding the pod's :$r (to this machine)\$" "$T/fwd.out" ||
		fail "no line for -R $r: $(cat "$T/fwd.out")"
done
FWD_PID=$(pgrep -P "$CTL_PID" -f mirror-forward)
[ -n "$FWD_PID" ] || fail "no mirror-forward under mirrorctl"

say "curl through the forward: the pod's own httpd"
curl -sf --max-time 10 "http://127.0.0.1:$P_HTTP/" >"$T/page" || fail "curl through the forward"
cmp -s "$T/page" "/proc/$pid/root/www/index.html" ||
	fail "the page differs from the pod's: $(head -c 200 "$T/page")"
curl -sf --max-time 10 "http://127.0.0.1:$P_HTTP/healthz" >"$T/hz" || fail "curl healthz"
assert_eq ok "$(cat "$T/hz")" "the pod's /healthz"

say "64 MiB each way at once, through a name the pod resolves and its localhost"
s=$(date +%s%N)
python3 "$PEER" send 127.0.0.1 "$P_SINK" "$BIG" >"$T/up.sha" &
up=$!
python3 "$PEER" fetch 127.0.0.1 "$P_SRC" "$BIG" >"$T/down.sha" &
down=$!
wait $up || fail "the upload failed: $(cat "$T/up.sha")"
wait $down || fail "the download failed: $(cat "$T/down.sha")"
ms=$((($(date +%s%N) - s) / 1000000))
read -r sent received <"$T/up.sha"
[ -n "$sent" ] && [ "$sent" = "$received" ] ||
	fail "upload: sent $sent, the pod's sink got $received"
wait_for 5 test -s "$T/source.log" || fail "the source logged nothing"
read -r got _ <"$T/down.sha"
assert_eq "$(tail -n1 "$T/source.log")" "$got" "download sha256"
say "128 MiB in $ms ms; the sink's answer came after our half-close"

say "-R: the pod's clients reach the servers here"
s=$(date +%s%N)
in_pod python3 "$PEER" send 127.0.0.1 9101 "$BIG" >"$T/rup.sha" ||
	fail "the pod's upload to its 127.0.0.1:9101 failed: $(cat "$T/rup.sha" "$T/fwd.err")"
read -r sent received <"$T/rup.sha"
[ -n "$sent" ] && [ "$sent" = "$received" ] ||
	fail "-R upload via 127.0.0.1: the pod sent $sent, the sink here got $received"
in_pod python3 "$PEER" send "$POD_ADDR" 9101 "$BIG" >"$T/rup2.sha" ||
	fail "the pod's upload to $POD_ADDR:9101 failed: $(cat "$T/rup2.sha" "$T/fwd.err")"
read -r sent received <"$T/rup2.sha"
[ -n "$sent" ] && [ "$sent" = "$received" ] ||
	fail "-R upload via $POD_ADDR: the pod sent $sent, the sink here got $received"
in_pod python3 "$PEER" fetch 127.0.0.1 9102 "$BIG" >"$T/rdown.sha" ||
	fail "the pod's download from its 9102 failed: $(cat "$T/rdown.sha" "$T/fwd.err")"
wait_for 5 test -s "$T/lsource.log" || fail "the source here logged nothing"
read -r got _ <"$T/rdown.sha"
assert_eq "$(tail -n1 "$T/lsource.log")" "$got" "-R download sha256"
ms=$((($(date +%s%N) - s) / 1000000))
say "-R: 192 MiB in $ms ms"
in_pod python3 "$T/reset.py" 127.0.0.1 9103 ||
	fail "-R to a local port nobody listens on: not a reset"
grep -q ":9103 -> 127.0.0.1:$L_NONE: Connection refused" "$T/fwd.err" ||
	fail "no message for the refused local connect: $(cat "$T/fwd.err")"

say "a pod port nobody listens on: reset"
python3 "$T/reset.py" 127.0.0.1 "$P_NONE" || fail "a refused pod port was not a reset"
grep -q "127.0.0.1:9009.*Connection refused" "$T/fwd.err" ||
	fail "no message for the refused connect: $(cat "$T/fwd.err")"

say "SIGINT: clean exit, open connections reset, nothing left"
python3 - "$P_SINK" >"$T/held" 2>&1 <<'EOF' &
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
s.sendall(b"x" * 1000)
print("connected", flush=True)
try:
    d = s.recv(100)
    print("eof" if d == b"" else "data")
except ConnectionResetError:
    print("reset")
except socket.timeout:
    print("timeout")
EOF
held=$!
wait_for 10 grep -q connected "$T/held" || fail "the held connection did not connect"
agents_before=$(pod_agents | wc -l)
kill -INT "$CTL_PID"
wait_for 10 pid_gone "$CTL_PID" || fail "mirrorctl port-forward ignored SIGINT"
rc=0
wait "$CTL_PID" || rc=$?
assert_eq 0 "$rc" "port-forward's exit status after SIGINT"
pid_gone "$FWD_PID" || fail "mirror-forward is still running"
wait $held
assert_eq reset "$(tail -n1 "$T/held")" "the held connection after SIGINT"
for p in "$P_HTTP" "$P_SINK" "$P_SRC" "$P_NONE"; do
	ss -Hltn "sport = :$p" | grep -q . && fail "port $p still listens"
done
[ "$agents_before" -ge 1 ] || fail "no agent ran for the forward"
wait_for 10 eval '! pod_agents >/dev/null' ||
	fail "the agent started for the forward is still running"
pod_refuses_r >"$T/open" || fail "the pod's $(cat "$T/open") is not refused after SIGINT"
in_pod nft list ruleset >"$T/nft.after" || fail "nft list ruleset in the pod"
diff -u "$T/nft.before" "$T/nft.after" || fail "the pod's ruleset changed"
[ -z "$(ls -A "$MIRROR_STATE_DIR/sessions" 2>/dev/null)" ] ||
	fail "a session was left: $(ls "$MIRROR_STATE_DIR/sessions")"
echo "ok"
