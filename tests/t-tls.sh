#!/usr/bin/env bash
# wss:// beyond loopback. An agent on a veth address inside a network
# namespace made here (a "pod" across a link, not loopback): it refuses
# to serve in clear there unless told --insecure-plaintext, and serves
# TLS with --tls, printing its certificate's SHA-256 on the ready line.
# A mount over wss:// pinned to that fingerprint reads back the pod's
# bytes, and writes land in the pod's file (--rw); a wrong fingerprint
# is refused with one clear line before any websocket request reaches
# the agent; a relay between client and agent sees no byte of a known
# file in clear (and, as a control, sees it over --insecure-plaintext).
. "$(dirname "$0")/lib.sh"

need_mount
need_cmd ip iproute2
need_cmd python3
ip netns add "mtls-probe-$$" 2>/dev/null || missing "cannot create network namespaces"
ip netns del "mtls-probe-$$"

NS=mtls-$$
VETH=mtls$$
POD_ADDR=10.79.0.2
ip netns add "$NS" || fail "ip netns add"
on_exit "ip netns del $NS"
ip link add "$VETH" type veth peer name pod0 netns "$NS" || fail "veth"
on_exit "ip link del $VETH"
ip addr add 10.79.0.1/30 dev "$VETH"
ip link set "$VETH" up
ip -n "$NS" link set lo up
ip -n "$NS" addr add "$POD_ADDR/30" dev pod0
ip -n "$NS" link set pod0 up

make_token "$T/token"
mkdir -p "$T/root"
# A file whose every 4 KiB carries a marker: one leaked record shows.
marker="mirror-tls-marker-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
python3 -c '
import sys
m = sys.argv[1].encode()
line = m + b" the secret line of the pod " + m + b"\n"
sys.stdout.buffer.write(line * (3 * 1024 * 1024 // len(line)))
' "$marker" >"$T/root/known"
head -c $((8 * 1024 * 1024 + 12345)) /dev/urandom >"$T/root/big"

# pod_agent NAME ARGS...: the agent in the namespace; $T/NAME.out, .err.
pod_agent() {
	local name=$1; shift
	ip netns exec "$NS" "$AGENT" --listen "$POD_ADDR:0" \
		--token-file "$T/token" --root "$T/root" "$@" \
		>"$T/$name.out" 2>"$T/agent.$name.err" &
	local pid=$!
	on_exit "kill $pid"
	eval "${name}_PID=$pid"
	local i
	for i in $(seq 100); do
		grep -q '^ready ' "$T/$name.out" && return 0
		kill -0 "$pid" 2>/dev/null || fail "agent $name exited: $(cat "$T/agent.$name.err")"
		sleep 0.1
	done
	fail "agent $name did not print ready"
}

# --- no TLS off loopback: refused, and the message names both ways out
must_fail "plaintext on $POD_ADDR" "not a loopback address" "--tls" \
	"--insecure-plaintext" -- ip netns exec "$NS" "$AGENT" \
	--listen "$POD_ADDR:0" --token-file "$T/token" --root "$T/root"

# --- with TLS it starts and prints the fingerprint
pod_agent tls --tls --rw
read -r word URL FP rest <"$T/tls.out"
[[ "$URL" =~ ^wss://$POD_ADDR:[0-9]+$ ]] || fail "ready line: $(cat "$T/tls.out")"
[[ "$FP" =~ ^sha256=[0-9a-f]{64}$ ]] || fail "no sha256= on the ready line: $(cat "$T/tls.out")"
FP=${FP#sha256=}
PORT=${URL##*:}
# The fingerprint is the SHA-256 of the certificate the agent serves,
# as an independent TLS client sees it.
seen=$(python3 - "$POD_ADDR" "$PORT" <<'EOF'
import hashlib, ssl, sys
pem = ssl.get_server_certificate((sys.argv[1], int(sys.argv[2])))
print(hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest())
EOF
) || fail "python could not fetch the agent's certificate"
assert_eq "$FP" "$seen" "fingerprint on the ready line vs. the served certificate"
say "TLS agent at $URL, sha256=${FP:0:16}..."

# --- a mount over wss:// with the right fingerprint
M=$T/mnt
mount_url "$URL" "$M" --fingerprint "$FP" --rw
cmp "$T/root/known" "$M/known" || fail "known file differs through wss://"
cmp "$T/root/big" "$M/big" || fail "8 MiB random file differs through wss://"
head -c $((3 * 1024 * 1024 + 7)) /dev/urandom >"$T/upload"
cp "$T/upload" "$M/uploaded" || fail "write through wss:// failed"
sync "$M/uploaded" 2>/dev/null || true
cmp "$T/upload" "$T/root/uploaded" || fail "written file differs in the pod"
grep -q "^fingerprint=$FP\$" "$MIRROR_STATE_DIR"/sessions/*/state ||
	fail "the session state does not keep the fingerprint"
"$CTL" status | grep -q "wss://$POD_ADDR:$PORT" || fail "status does not show the wss:// agent"
say "mount over wss://: reads (3 MiB text, 8 MiB random) and a 3 MiB write are exact"

# --- a wrong fingerprint is refused before anything reaches the agent
before=$(wc -l <"$T/agent.tls.err")
wrong=$(printf '%s' "$FP" | tr '0-9a-f' '1-9a-f0')
mkdir -p "$T/mnt2"
must_fail "wrong fingerprint" "not the pinned" "sha256=${wrong:0:16}" \
	-- "$CTL" mount --token-file "$T/token" --fingerprint "$wrong" "$URL" "$T/mnt2"
[ "$MS" -lt 10000 ] || fail "the refusal took $MS ms: it should not wait for a timeout"
is_mounted "$T/mnt2" && fail "mounted with a wrong fingerprint"
sleep 0.3	# a log line that must NOT come: nothing to poll for
# The agent logs every websocket client and every hello; none came.
tail -n +$((before + 1)) "$T/agent.tls.err" | grep -Ei "connected|authenticat|hello" &&
	fail "a websocket request or hello reached the agent for the wrong fingerprint"
must_fail "wss:// without a fingerprint" "needs --fingerprint" \
	-- "$CTL" mount --token-file "$T/token" "$URL" "$T/mnt2"
must_fail "mountd: wss:// without a fingerprint" "fingerprint" \
	-- "$MOUNTD" --token-file "$T/token" "$URL" "$T/mnt2"
must_fail "a fingerprint for ws://" "only" \
	-- "$CTL" mount --token-file "$T/token" --fingerprint "$FP" "ws://$POD_ADDR:$PORT" "$T/mnt2"
say "no fingerprint, or one for ws://: refused"

# --- the wire: a relay records both directions
cat >"$T/relay.py" <<'EOF'
# relay.py LISTEN_PORT_FILE DEST_HOST DEST_PORT RECORD: a TCP relay on
# 127.0.0.1 that appends every byte it passes, both ways, to RECORD.
import socket, sys, threading
pf, host, port, rec = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
out = open(rec, "ab", buffering=0)
lock = threading.Lock()
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(8)
open(pf, "w").write("%d\n" % ls.getsockname()[1])
def pump(a, b):
    while True:
        try:
            d = a.recv(65536)
        except OSError:
            d = b""
        if not d:
            break
        with lock:
            out.write(d)
        try:
            b.sendall(d)
        except OSError:
            break
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
while True:
    c, _ = ls.accept()
    u = socket.create_connection((host, port))
    threading.Thread(target=pump, args=(c, u), daemon=True).start()
    threading.Thread(target=pump, args=(u, c), daemon=True).start()
EOF
# relay NAME PORT: sets RELAY_PORT; records into $T/NAME.rec.
relay() {
	python3 "$T/relay.py" "$T/$1.port" "$POD_ADDR" "$2" "$T/$1.rec" &
	on_exit "kill $!"
	wait_for 5 test -s "$T/$1.port" || fail "the relay wrote no port"
	RELAY_PORT=$(cat "$T/$1.port")
}
leaks() { # record: how many markers are in clear
	python3 -c 'import sys; print(open(sys.argv[1], "rb").read().count(sys.argv[2].encode()))' "$1" "$marker"
}
recsize() { stat -c %s "$1"; }

relay tls "$PORT"
M3=$T/mnt3
mount_url "wss://127.0.0.1:$RELAY_PORT" "$M3" --fingerprint "$FP"
cmp "$T/root/known" "$M3/known" || fail "known file differs through the relay"
[ "$(recsize "$T/tls.rec")" -gt 3000000 ] ||
	fail "the relay saw only $(recsize "$T/tls.rec") bytes: the read did not go through it"
n=$(leaks "$T/tls.rec")
[ "$n" = 0 ] || fail "$n copies of the marker crossed the wire in clear over wss://"
grep -q "$(cat "$T/token")" "$T/tls.rec" && fail "the token crossed the wire in clear"
say "wss:// wire: $(recsize "$T/tls.rec") bytes, no marker and no token in clear"

# --- --insecure-plaintext: allowed, with a warning; the control
pod_agent plain --insecure-plaintext
grep -q "serving in clear on $POD_ADDR" "$T/agent.plain.err" ||
	fail "no warning for --insecure-plaintext: $(cat "$T/agent.plain.err")"
read -r word PURL rest <"$T/plain.out"
[[ "$PURL" =~ ^ws://$POD_ADDR:[0-9]+$ ]] && [ -z "$rest" ] ||
	fail "plaintext ready line changed: $(cat "$T/plain.out")"
relay plain "${PURL##*:}"
M4=$T/mnt4
mount_url "ws://127.0.0.1:$RELAY_PORT" "$M4"
cmp "$T/root/known" "$M4/known" || fail "known file differs over plaintext"
n=$(leaks "$T/plain.rec")
[ "$n" -gt 1000 ] || fail "control: only $n markers seen in clear over ws://; the check sees nothing"
say "--insecure-plaintext: warned, served, and the relay sees $n markers in clear (the check works)"
echo "ok"
