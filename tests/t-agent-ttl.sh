#!/usr/bin/env bash
# The agent's idle exit and its hashed token. With --idle-ttl 2 it exits
# by itself (status 0) about 2 s after the start when nobody connects,
# and 2 s after the last authenticated client left; a mount keeps it up
# as long as it is mounted; a connection that never said hello does not.
# With --token-sha256 it serves the token whose hash it was given and
# refuses others, and logs neither. The command line's mistakes (two
# tokens, two targets, a bad hash, a bad or unknown container ID) are
# clear errors. A local agent (pid/N) mirrorctl starts gets agent.idle_ttl
# from the configuration too.
. "$(dirname "$0")/lib.sh"

need_mount
need_cmd python3

mkdir -p "$T/root/dir" "$T/mnt"
head -c 70000 /dev/urandom >"$T/root/dir/data"
make_token "$T/token"
token=$(cat "$T/token")
hash=$(printf %s "$token" | sha256sum | cut -d' ' -f1)

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# wait_gone PID SECONDS: 0 once PID has exited, 1 if it is still there.
wait_gone() { wait_for "$2" eval "! kill -0 $1 2>/dev/null"; }

# The agent's exit status (it is this shell's child).
agent_status() {
	local rc=0
	wait "$1" || rc=$?
	echo "$rc"
}

agent_err() { cat "$(ls -t "$T"/agent.*.err | head -n 1)"; }
# The newest agent's log, for grep (a pipe into grep -q can fail on
# SIGPIPE under pipefail).
agent_errfile() { ls -t "$T"/agent.*.err | head -n 1; }

# 1. Nobody connects: gone ~2 s after the start, status 0.
t0=$(now_ms)
start_agent "$T/root" --idle-ttl 2
wait_gone "$AGENT_PID" 5 || fail "the idle agent is still running 5 s after the start"
ms=$(( $(now_ms) - t0 ))
rc=$(agent_status "$AGENT_PID")
assert_eq 0 "$rc" "exit status of the idle agent"
[ "$ms" -ge 1800 ] || fail "the idle agent exited after $ms ms, before its 2 s"
grep -q 'no client for 2 s; exiting' "$(agent_errfile)" ||
	fail "no 'no client for 2 s; exiting' in the log: $(agent_err)"
say "no client: exited by itself after $ms ms, status 0"

# 2. A mount keeps it up; after the umount it goes within ~2-4 s.
start_agent "$T/root" --idle-ttl 2
mount_url "$AGENT_URL" "$T/mnt"
sleep 5		# past its 2 s TTL: the wait is the test
kill -0 "$AGENT_PID" 2>/dev/null || fail "the agent exited while mounted"
cmp -s "$T/mnt/dir/data" "$T/root/dir/data" || fail "read through the mount after 5 s"
"$CTL" umount "$T/mnt" >/dev/null || fail "mirrorctl umount failed"
t0=$(now_ms)
wait_gone "$AGENT_PID" 6 || fail "the agent is still running 6 s after the umount"
ms=$(( $(now_ms) - t0 ))
rc=$(agent_status "$AGENT_PID")
assert_eq 0 "$rc" "exit status after the umount"
[ "$ms" -ge 1500 ] || fail "the agent exited $ms ms after the umount, before its 2 s"
[ "$ms" -le 4500 ] || fail "the agent took $ms ms after the umount"
say "mount: up for 5 s while mounted, gone $ms ms after the umount"

# 3. A connection without a hello does not keep it alive; an
# authenticated client restarts the count when it leaves.
start_agent "$T/root" --idle-ttl 2
python3 - "$SRC/tests" "$AGENT_URL" <<'EOF' &
import sys, time
sys.path.insert(0, sys.argv[1])
import wsclient
ws = wsclient.WebSocket(sys.argv[2], timeout=10)
time.sleep(8)
EOF
holder=$!
on_exit "kill $holder"
t0=$(now_ms)
wait_gone "$AGENT_PID" 5 ||
	fail "a connection without a hello kept the agent running past 5 s"
rc=$(agent_status "$AGENT_PID")
assert_eq 0 "$rc" "exit status with an unauthenticated connection open"
kill "$holder" 2>/dev/null
say "a connection that never said hello: the agent still went after $(( $(now_ms) - t0 )) ms"

# The client is started first (python's start-up takes seconds on a
# loaded machine) and reads when the agent is 3 s old (of a 5 s TTL:
# room for a slow start); times are on the clock of /proc/uptime, from
# the agent's own start time.
uptime_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
fifo=$T/go
mkfifo "$fifo"
python3 - "$SRC/tests" "$fifo" "$T/token" >"$T/got" 2>"$T/reader.err" <<'EOF' &
import os, sys, time
sys.path.insert(0, sys.argv[1])
import wsclient
url, pid = open(sys.argv[2]).read().split()
stat = open("/proc/%s/stat" % pid).read()
start = int(stat.rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
up = float(open("/proc/uptime").read().split()[0])
time.sleep(max(0.0, start + 3 - up))
sys.exit(wsclient.main(["--url", url, "--token-file", sys.argv[3], "read",
                        "/dir/data"]))
EOF
reader=$!
start_agent "$T/root" --idle-ttl 5
t0=$(( $(cut -d' ' -f22 "/proc/$AGENT_PID/stat") * 1000 / $(getconf CLK_TCK) ))
echo "$AGENT_URL $AGENT_PID" >"$fifo"
wait "$reader" || fail "read with the right token failed: $(cat "$T/reader.err")"
cmp -s "$T/got" "$T/root/dir/data" || fail "read returned the wrong bytes"
wait_gone "$AGENT_PID" 10 || fail "the agent is still running 10 s after its last client"
ms=$(( $(uptime_ms) - t0 ))
[ "$ms" -ge 7000 ] ||
	fail "the agent exited $ms ms after the start: its client at 3 s did not restart the count"
assert_eq 0 "$(agent_status "$AGENT_PID")" "exit status after a client"
say "a client at 3 s: the agent (TTL 5 s) went after $ms ms"

# 4. --token-sha256: only the hash on the command line.
out=$T/agent.hash
"$AGENT" --listen 127.0.0.1:0 --token-sha256 "$hash" --root "$T/root" \
	--log-level debug >"$out" 2>"$out.err" &
hpid=$!
on_exit "kill $hpid"
for _ in $(seq 100); do
	url=$(sed -n 's/^ready //p' "$out")
	[ -n "$url" ] && break
	kill -0 $hpid 2>/dev/null || fail "the agent with --token-sha256 exited: $(cat "$out.err")"
	sleep 0.1
done
[ -n "$url" ] || fail "the agent with --token-sha256 did not print ready"
mount_url "$url" "$T/mnt"
cmp -s "$T/mnt/dir/data" "$T/root/dir/data" || fail "--token-sha256: read through the mount"
"$CTL" umount "$T/mnt" >/dev/null || fail "mirrorctl umount failed"
printf '%s\n' "${token%?}$([ "${token: -1}" = 0 ] && echo 1 || echo 0)" >"$T/wrong"
printf '%s\n' "$hash" >"$T/wrong.hash"	# the hash is not the token
chmod 600 "$T/wrong" "$T/wrong.hash"
for w in "$T/wrong" "$T/wrong.hash"; do
	"$CTL" mount --token-file "$w" "$url" "$T/mnt" >/dev/null 2>&1 &&
		fail "--token-sha256: mount with a wrong token (${w##*/}) worked"
	is_mounted "$T/mnt" && fail "--token-sha256: mounted with a wrong token"
	rc=0
	python3 "$SRC/tests/wsclient.py" --url "$url" --token-file "$w" \
		read /dir/data >"$T/got" 2>"$T/err" || rc=$?
	assert_eq 3 "$rc" "--token-sha256: wsclient with a wrong token (${w##*/})"
	[ ! -s "$T/got" ] || fail "--token-sha256: data served for a wrong token"
done
kill -0 $hpid 2>/dev/null || fail "the agent with --token-sha256 died"
grep -qF -- "$token" "$out.err" "$out" && fail "the token is in the agent's log"
grep -qiF -- "$hash" "$out.err" "$out" && fail "the hash is in the agent's log"
grep -q 'authentication failed' "$out.err" || fail "no failed authentication logged"
say "--token-sha256: right token mounts, wrong ones refused, neither logged"

# 5. Mistakes on the command line.
expect_error() { # status pattern args...
	local want=$1 pat=$2 rc=0
	shift 2
	"$AGENT" "$@" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" = "$want" ] || fail "mirror-agent $*: status $rc, expected $want: $(cat "$T/err")"
	grep -q -- "$pat" "$T/err" || fail "mirror-agent $*: no '$pat' in: $(cat "$T/err")"
	grep -q ready "$T/out" && fail "mirror-agent $*: printed ready"
	return 0
}
L=(--listen 127.0.0.1:0)
expect_error 2 'exactly one of --token-file and --token-sha256' \
	"${L[@]}" --token-file "$T/token" --token-sha256 "$hash" --root "$T/root"
expect_error 2 'exactly one of --token-file and --token-sha256' \
	"${L[@]}" --root "$T/root"
expect_error 2 'exactly one of --target-pid, --target-container-id and --root' \
	"${L[@]}" --token-file "$T/token" --root "$T/root" --target-pid $$
expect_error 2 'exactly one of --target-pid, --target-container-id and --root' \
	"${L[@]}" --token-file "$T/token"
expect_error 2 '64 hex digits' "${L[@]}" --token-sha256 "${hash:1}" --root "$T/root"
expect_error 2 '64 hex digits' "${L[@]}" --token-sha256 "${hash%?}g" --root "$T/root"
grep -qF -- "${hash:1}" "$T/err" && fail "a bad hash was echoed"
expect_error 2 'idle-ttl' "${L[@]}" --token-file "$T/token" --root "$T/root" --idle-ttl -1
expect_error 2 'idle-ttl' "${L[@]}" --token-file "$T/token" --root "$T/root" --idle-ttl 2x
expect_error 2 'hex digits' "${L[@]}" --token-file "$T/token" --target-container-id abc
expect_error 2 'hex digits' "${L[@]}" --token-file "$T/token" --target-container-id podman://xyz0123456789
unknown=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
for id in "$unknown" "containerd://$unknown" "cri-o://${unknown:0:12}" "docker://$unknown"; do
	expect_error 1 "hostPID" "${L[@]}" --token-file "$T/token" --target-container-id "$id"
	grep -q 'container must be running' "$T/err" ||
		fail "unknown container: the error does not say it must be running: $(cat "$T/err")"
done
say "command-line mistakes: clear errors ($(head -n 1 "$T/err"))"

# 6. A local agent (pid/N) mirrorctl starts gets agent.idle_ttl as a
# cluster's agent does: while mounted it stays; when its mountd dies
# without an umount it goes by itself, and umount still cleans up.
echo 'agent = { idle_ttl = 2.0; };' >"$T/ttl.conf"
sleep 600 &
tpid=$!
on_exit "kill $tpid"
mkdir -p "$T/lmnt"
"$CTL" mount --config "$T/ttl.conf" "pid/$tpid" "$T/lmnt" >"$T/lmount.out" 2>&1 ||
	fail "mirrorctl mount pid/$tpid: $(cat "$T/lmount.out")"
on_exit "'$CTL' umount '$T/lmnt'; umount -l '$T/lmnt'"
state=$(grep -lxF "mountpoint=$T/lmnt" "$MIRROR_STATE_DIR"/sessions/*/state) ||
	fail "no session for $T/lmnt"
lapid=$(sed -n 's/^agent_pid=//p' "$state")
lmpid=$(sed -n 's/^mountd_pid=//p' "$state")
[ "${lapid:-0}" -gt 0 ] && [ "${lmpid:-0}" -gt 0 ] || fail "no agent or mountd PID in $state"
tr '\0' ' ' <"/proc/$lapid/cmdline" | grep -q -- "--idle-ttl 2 " ||
	fail "the local agent has no --idle-ttl 2: $(tr '\0' ' ' <"/proc/$lapid/cmdline")"
sleep 4		# past its 2 s TTL: the wait is the test
kill -0 "$lapid" 2>/dev/null || fail "the local agent exited while mounted"
stat "$T/lmnt/etc/hostname" >/dev/null || fail "the local mount does not serve after 4 s"
t0=$(now_ms)
kill -9 "$lmpid"
wait_gone "$lapid" 8 || fail "the local agent is still running 8 s after its mountd died"
ms=$(( $(now_ms) - t0 ))
[ "$ms" -ge 1500 ] || fail "the local agent went $ms ms after its client, before its 2 s"
"$CTL" umount "$T/lmnt" >"$T/lum" 2>&1 || fail "umount after the agent left: $(cat "$T/lum")"
is_mounted "$T/lmnt" && fail "$T/lmnt still mounted"
kill -0 "$tpid" 2>/dev/null || fail "the target process died"
say "local agent: up while mounted, gone $ms ms after its mountd died (agent.idle_ttl 2)"
exit 0
