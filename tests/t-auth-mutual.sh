#!/usr/bin/env bash
# Mutual authentication: the token never crosses the wire. A fake agent
# on the port (a websocket server without the token) is refused by
# mountd with a clear message and records neither the token nor its
# SHA-256; a real session recorded by a man in the middle and replayed
# to the agent is refused, nothing served; a wrong token is refused; the
# right one is served; a second hello on an authenticated connection
# closes it (issue 10, items 2 and 8).
. "$(dirname "$0")/lib.sh"

need_mount
need_cmd python3

mkdir -p "$T/root/sub"
echo "pod secret $$" >"$T/root/sub/file"
start_agent "$T/root"
token=$(cat "$T/token")
hash=$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)
agent_hostport=${AGENT_URL#ws://}

wait_port() { # file
	local i
	for i in $(seq 100); do
		[ -s "$1" ] && { cat "$1"; return 0; }
		sleep 0.1
	done
	fail "no port in $1"
}

# 1. A fake agent: mountd refuses it before it serves a thing, and the
# bytes it got hold neither the token nor its hash.
python3 "$SRC/tests/authpeer.py" fake-agent "$T/fake.port" "$T/fake.rec" &
on_exit "kill $!"
fport=$(wait_port "$T/fake.port")
mkdir -p "$T/m"
must_fail "mount from a fake agent" "did not prove it knows the session token" \
	"not our agent" -- "$CTL" mount --token-file "$T/token" \
	"ws://127.0.0.1:$fport" "$T/m"
is_mounted "$T/m" && fail "mounted from the fake agent"
[ -s "$T/fake.rec" ] || fail "the fake agent recorded nothing (did mountd reach it?)"
grep -qF "$token" "$T/fake.rec" && fail "the fake agent got the token"
grep -qiF "$hash" "$T/fake.rec" && fail "the fake agent got the token's SHA-256 (hex)"
python3 - "$T/fake.rec" "$hash" "$token" "$SRC/tests" <<'EOF' || fail "the fake agent got the token or its SHA-256 (binary, in unmasked frames)"
import sys
sys.path.insert(0, sys.argv[4])
import authpeer
data = open(sys.argv[1], "rb").read()
h = bytes.fromhex(sys.argv[2])
# The frames are masked; unmask them and look again.
body = data.split(b"\r\n\r\n", 1)[-1]
frames, _ = authpeer.read_frames(body)
plain = b"".join(p for _, p in frames)
sys.exit(1 if h in data or h in plain or sys.argv[3].encode() in plain else 0)
EOF
say "fake agent: refused, got $(wc -c <"$T/fake.rec") bytes without the token or its hash"

# 2. A real session through a recording relay, then replayed.
mkdir -p "$T/rec"
python3 "$SRC/tests/authpeer.py" relay "$T/relay.port" "$agent_hostport" "$T/rec" &
on_exit "kill $!"
rport=$(wait_port "$T/relay.port")
mount_url "ws://127.0.0.1:$rport" "$T/m"
assert_eq "pod secret $$" "$(cat "$T/m/sub/file")" "a file through the relay"
ls -l "$T/m/sub" >/dev/null
"$CTL" umount "$T/m" || fail "umount"
rec=$(ls "$T"/rec/conn.* | head -n 1)
[ -s "$rec" ] || fail "the relay recorded nothing"
grep -qF "$token" "$rec" && fail "the token crossed the wire to the real agent"
# The hello and the proof alone: the proof is refused (the agent's
# nonce is new). Then the whole session: nothing is served.
out=$(python3 "$SRC/tests/authpeer.py" replay "$agent_hostport" "$rec" 2) ||
	fail "replay failed: $out"
say "replayed hello and proof: $(echo $out)"
grep -q "hello step 2 status 0" <<<"$out" || fail "no challenge to the replay: $out"
grep -q "hello step 4 status 13" <<<"$out" || fail "the replayed proof was not refused: $out"
out=$(python3 "$SRC/tests/authpeer.py" replay "$agent_hostport" "$rec") ||
	fail "replay failed: $out"
say "replayed session: $(echo $out)"
grep -qE "^(reply|stream)" <<<"$out" && fail "the agent served a replayed session: $out"
grep -q "hello step 4 status 0" <<<"$out" && fail "the agent welcomed a replayed session: $out"
grep -q "closed" <<<"$out" || fail "the replayed session was not closed: $out"
say "recorded handshake replayed: refused, nothing served"

# 3. Wrong token refused (by both sides), right token served.
make_token "$T/wrong"
must_fail "mount with a wrong token" "authentication failed" -- \
	"$CTL" mount --token-file "$T/wrong" "$AGENT_URL" "$T/m"
# The daemons run by hand say the same and exit 3 (DAEMON_EXIT_AUTH),
# in the foreground as well as detached: one start-up path for both
# (lib/agentconn.c); mountd -f used to exit 1 here.
for fg in "" -f; do
	for d in mountd netd; do
		rc=0
		case $d in
		mountd) timeout 60 "$MOUNTD" $fg --token-file "$T/wrong" \
			"$AGENT_URL" "$T/m" >"$T/d.out" 2>"$T/d.err" || rc=$? ;;
		netd) timeout 60 "$NETD" $fg --agent "$AGENT_URL" \
			--token-file "$T/wrong" --no-dns >"$T/d.out" \
			2>"$T/d.err" || rc=$? ;;
		esac
		[ "$rc" = 3 ] || fail "$d ${fg:-detached}, wrong token: exit $rc, not 3: $(cat "$T/d.err")"
		grep -q "^mirror-$d: authentication failed: .*(check --token-file)$" \
			"$T/d.err" || fail "$d ${fg:-detached}: no 'authentication failed' line: $(cat "$T/d.err")"
		is_mounted "$T/m" && fail "mountd mounted with a wrong token"
		say "$d ${fg:-detached}, wrong token: exit 3, $(grep -c . "$T/d.err") line(s)"
	done
done
rc=0
python3 "$SRC/tests/wsclient.py" --url "$AGENT_URL" --token-file "$T/wrong" \
	--eager getattr /sub/file >"$T/got" 2>"$T/err" || rc=$?
[ "$rc" = 3 ] || fail "a wrong proof (client ignoring the agent's): exit $rc: $(cat "$T/err")"
[ ! -s "$T/got" ] || fail "data for a wrong proof"
mount_url "$AGENT_URL" "$T/m"
assert_eq "pod secret $$" "$(cat "$T/m/sub/file")" "the right token"
say "wrong token refused, right token served"

# 4. A second hello closes the connection; a proof without a hello too.
for c in second-hello proof-before-challenge; do
	out=$(python3 "$SRC/tests/wsclient.py" --url "$AGENT_URL" \
		--token-file "$T/token" --bad $c --wait 5 2>&1) ||
		fail "$c: the connection stayed open: $out"
	case $out in *"received: reply"*|*"step 4"*) fail "$c: answered: $out" ;; esac
done
say "second hello and early proof: closed"

# The client side: an agent that knows the token (hostile, but
# authenticated) sends a second hello; mountd hangs up on it.
python3 "$SRC/tests/authpeer.py" evil-agent "$T/evil.port" "$T/token" "$T/evil.rec" &
on_exit "kill $!"
eport=$(wait_port "$T/evil.port")
mkdir -p "$T/m2"
timeout 30 "$CTL" mount --token-file "$T/token" "ws://127.0.0.1:$eport" "$T/m2" \
	>/dev/null 2>&1 && on_exit "'$CTL' umount '$T/m2'; umount -l '$T/m2'"
wait_for 10 test -s "$T/evil.rec"
grep -q "client hung up at step 2" "$T/evil.rec" ||
	fail "mountd did not hang up on a second hello: $(cat "$T/evil.rec" 2>/dev/null)"
say "mountd hung up on the agent's second hello"
kill -0 "$AGENT_PID" || fail "the agent died"
assert_eq "pod secret $$" "$(cat "$T/m/sub/file")" "the mount after the attacks"
exit 0
