#!/usr/bin/env bash
# mirrorctl mount/umount/status/doctor as a user meets them: every error
# is one line that names the cause and the fix, with a non-zero exit and
# nothing left mounted; --help works for every command; status lists a
# mount; pid/N serves the process's own root (its mount namespace) and
# umount stops the agent mount started; the session token shows neither
# in ps nor in any log.
. "$(dirname "$0")/lib.sh"

need_mount
need_cmd python3
need_cmd unshare util-linux

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
no_mirror_mounts() { # description
	grep -q " fuse.mirror " /proc/mounts &&
		grep " fuse.mirror " /proc/mounts | grep -qF "$T/" &&
		fail "$1: a mirror mount was left: $(grep -F "$T/" /proc/mounts)"
	"$CTL" status >"$T/st" 2>&1 || fail "$1: status failed: $(cat "$T/st")"
	grep -q "no active mounts" "$T/st" || fail "$1: status lists: $(cat "$T/st")"
}

R=$T/root
mkdir -p "$R/sub" "$T/m1" "$T/m2" "$T/m3"
echo hello >"$R/sub/hello"

say "--help"
for c in mount umount status doctor demo ls connect disconnect; do
	rc=0
	"$CTL" "$c" --help >"$T/help.$c" 2>&1 || rc=$?
	[ $rc = 0 ] || fail "mirrorctl $c --help: exit $rc: $(cat "$T/help.$c")"
	grep -q "^usage: mirrorctl $c" "$T/help.$c" ||
		fail "mirrorctl $c --help prints no usage: $(head -n 3 "$T/help.$c")"
done
grep -q 'ws://' "$T/help.mount" && grep -q 'pid/' "$T/help.mount" &&
	grep -qw demo "$T/help.mount" || fail "mount --help does not list the target forms"
"$CTL" --help >"$T/help" 2>&1 || fail "mirrorctl --help: exit $?"
for c in mount umount status doctor demo ls connect disconnect; do
	grep -qw "$c" "$T/help" || fail "mirrorctl --help does not mention $c"
done

say "doctor"
"$CTL" doctor >"$T/doctor" 2>&1 || fail "mirrorctl doctor: exit $?: $(cat "$T/doctor")"
[ -s "$T/doctor" ] || fail "mirrorctl doctor printed nothing"

say "status with nothing mounted"
no_mirror_mounts "before any mount"

start_agent "$R"
say "agent at $AGENT_URL"

say "errors"
must_fail "mount point missing" "$T/nonexistent" "mkdir -p" -- \
	"$CTL" mount --token-file "$T/token" "$AGENT_URL" "$T/nonexistent"
[ ! -e "$T/nonexistent" ] || fail "mount created the missing mount point"
echo file >"$T/afile"
must_fail "mount point is a file" "$T/afile" "not a directory" -- \
	"$CTL" mount --token-file "$T/token" "$AGENT_URL" "$T/afile"
must_fail "unknown target form" "unknown target|not supported" "ws://" "pid/" -- \
	"$CTL" mount --token-file "$T/token" "nonsense:target" "$T/m1"
must_fail "ws:// without --token-file" "token-file" -- \
	"$CTL" mount "$AGENT_URL" "$T/m1"
must_fail "a token file that is not there" "$T/no-token" -- \
	"$CTL" mount --token-file "$T/no-token" "$AGENT_URL" "$T/m1"
must_fail "pid/abc" "pid/" -- "$CTL" mount "pid/abc" "$T/m1"
bad=999999
while [ -e "/proc/$bad" ]; do bad=$((bad + 1)); done
must_fail "pid/$bad (no such process)" "gone" "$bad" -- "$CTL" mount "pid/$bad" "$T/m1"
no_mirror_mounts "after argument errors"

make_token "$T/wrong-token"
must_fail "wrong token" "authentication failed" "token" -- \
	"$CTL" mount --token-file "$T/wrong-token" "$AGENT_URL" "$T/m1"
no_mirror_mounts "after the wrong token"
is_mounted "$T/m1" && fail "$T/m1 is mounted after the wrong token"

port=$(free_port) || fail "no free port"
printf 'agent = { connect_timeout = 2.0; };\n' >"$T/fast.conf"
must_fail "agent unreachable" "unreachable" "127.0.0.1:$port|$port" -- \
	"$CTL" mount --config "$T/fast.conf" --token-file "$T/token" "ws://127.0.0.1:$port" "$T/m1"
[ "$MS" -le 10000 ] || fail "agent unreachable: took $MS ms with connect_timeout = 2"
no_mirror_mounts "after the unreachable agent"

must_fail "umount of a plain directory" "not a mirror mount" -- "$CTL" umount "$T/m2"

say "--rw against an agent that serves read-only"
mkdir -p "$T/m1"
must_fail "mount --rw, agent without --rw" "serves read-only" "--rw" -- \
	"$CTL" mount --rw --token-file "$T/token" "$AGENT_URL" "$T/m1"
no_mirror_mounts "after a refused --rw mount"

say "mount, status, mount twice"
mount_url "$AGENT_URL" "$T/m1"
assert_eq hello "$(cat "$T/m1/sub/hello")" "a file through the mount"
"$CTL" status >"$T/st" 2>&1 || fail "status: $(cat "$T/st")"
grep -F "$AGENT_URL" "$T/st" | grep -qF " $T/m1 " ||
	fail "status does not list $AGENT_URL on $T/m1: $(cat "$T/st")"
grep -F " $T/m1 " "$T/st" | grep -qE " ro +ok" ||
	fail "status does not say ro for $T/m1: $(cat "$T/st")"
must_fail "mount twice on the same mount point" "already" "$T/m1" "umount" -- \
	"$CTL" mount --token-file "$T/token" "$AGENT_URL" "$T/m1"
assert_eq hello "$(cat "$T/m1/sub/hello")" "the first mount after a refused second one"
assert_eq 1 "$(grep -cF " $T/m1 " /proc/mounts)" "mounts on $T/m1"
ps -eo args >"$T/ps"
grep -qF -- "$(cat "$T/token")" "$T/ps" && fail "the agent token appears in ps -eo args"

say "mount pid/N of a process with its own mount namespace"
unshare --mount --propagation private --fork sh -c '
	echo $$ >"$1"
	mount -t tmpfs mirror-test /tmp || exit 1
	echo "only in the namespace $2" >/tmp/mirror-marker
	exec sleep 300' _ "$T/target.pid" "$$" &
ushare=$!
on_exit "kill $ushare"
for i in $(seq 50); do
	[ -s "$T/target.pid" ] && [ -e "/proc/$(cat "$T/target.pid")/root/tmp/mirror-marker" ] && break
	sleep 0.1
done
tpid=$(cat "$T/target.pid")
on_exit "kill $tpid"
[ -e "/proc/$tpid/root/tmp/mirror-marker" ] || fail "the target process did not set up its /tmp"
[ ! -e /tmp/mirror-marker ] || fail "/tmp/mirror-marker exists on the host (test setup)"
"$CTL" mount "pid/$tpid" "$T/m3" >"$T/pmount.out" 2>&1 ||
	fail "mirrorctl mount pid/$tpid: $(cat "$T/pmount.out")"
on_exit "'$CTL' umount '$T/m3'; umount -l '$T/m3'"
is_mounted "$T/m3" || fail "pid/$tpid: nothing mounted on $T/m3"
assert_eq "only in the namespace $$" "$(cat "$T/m3/tmp/mirror-marker" 2>&1)" \
	"the process's own /tmp through the mount"
assert_eq "$(stat -c %i /etc/hostname)" "$(stat -c %i "$T/m3/etc/hostname")" \
	"/etc/hostname's inode (same root file system)"
"$CTL" status >"$T/st" 2>&1 || fail "status: $(cat "$T/st")"
grep -F "pid/$tpid" "$T/st" | grep -qF " $T/m3 " ||
	fail "status does not list pid/$tpid on $T/m3: $(cat "$T/st")"
apid=$(pgrep -f "target-pid $tpid")
[ -n "$apid" ] || fail "no mirror-agent with --target-pid $tpid is running"
grep -F "pid/$tpid" "$T/st" | grep -qw "$apid" ||
	fail "status does not show the agent pid $apid: $(cat "$T/st")"

say "the session token is nowhere"
tokfiles=("$MIRROR_STATE_DIR"/sessions/*/token)
[ -f "${tokfiles[0]}" ] || fail "no token under $MIRROR_STATE_DIR/sessions: $(find "$MIRROR_STATE_DIR" | head)"
ps -eo args >"$T/ps"
for tf in "${tokfiles[@]}"; do
	tok=$(cat "$tf")
	[ ${#tok} -ge 16 ] || fail "$tf holds a short token (${#tok} chars)"
	[ "$(stat -c %a "$tf")" = 600 ] || fail "$tf is mode $(stat -c %a "$tf"), want 600"
	grep -qF -- "$tok" "$T/ps" && fail "the session token appears in ps -eo args"
	hits=$(grep -rlF --exclude=token -- "$tok" "$MIRROR_STATE_DIR" 2>/dev/null)
	[ -z "$hits" ] || fail "the session token appears in: $hits"
	tr '\0' '\n' <"/proc/$apid/environ" | grep -qF -- "$tok" &&
		fail "the session token is in the agent's environment"
done
find "$MIRROR_STATE_DIR" -name '*.log' | grep -q . ||
	fail "no logs under $MIRROR_STATE_DIR to check"

say "umount stops the agent mount started"
"$CTL" umount "$T/m3" >"$T/um3" 2>&1 || fail "mirrorctl umount $T/m3: $(cat "$T/um3")"
is_mounted "$T/m3" && fail "$T/m3 still mounted after umount"
wait_for 5 pid_gone "$apid" || fail "the agent $apid for pid/$tpid still runs 5 s after umount"
left=$(pgrep -f "target-pid $tpid")
for p in $left; do pid_gone "$p" || fail "a mirror-agent for pid/$tpid is left: $p"; done
kill -0 "$tpid" 2>/dev/null || fail "umount killed the target process"
grep -qF "pid/$tpid" <("$CTL" status) && fail "status still lists pid/$tpid"

say "umount the ws:// mount"
"$CTL" umount "$T/m1" >"$T/um1" 2>&1 || fail "mirrorctl umount $T/m1: $(cat "$T/um1")"
is_mounted "$T/m1" && fail "$T/m1 still mounted after umount"
kill -0 "$AGENT_PID" 2>/dev/null || fail "umount of a ws:// mount stopped an agent it did not start"
no_mirror_mounts "after umount"
must_fail "umount again" "not a mirror mount" -- "$CTL" umount "$T/m1"
echo "ok"
