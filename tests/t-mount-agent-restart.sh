#!/usr/bin/env bash
# What a user sees when the parts behind a mount die:
# - the agent is killed: operations the kernel cannot answer from its
#   caches fail with EIO within the request timeout (no hang); when an
#   agent is back on the same address with the same token, the mount
#   works again by itself (files opened before give EIO, new opens
#   work); mirrorctl umount works, also while the agent is dead;
# - mountd is killed: the mount is dead ("Transport endpoint is not
#   connected") and mirrorctl umount clears it, leaving a plain dir.
. "$(dirname "$0")/lib.sh"

need_mount
need_cmd python3

R=$T/root M=$T/mnt
mkdir -p "$R/seen" "$R/somedir/inner" "$R/other" "$R/stopdir/x" "$M"
echo "seen file" >"$R/seen/f"
echo "unread file" >"$R/unread"
echo "in somedir" >"$R/somedir/a"
echo "second unread" >"$R/unread2"
head -c 3000000 /dev/urandom >"$R/opened-before"
for i in 1 2 3; do echo "other $i" >"$R/other/o$i"; done

cat >"$T/fast.conf" <<'EOF'
fs = { request_timeout = 2.0; };
agent = { connect_timeout = 2.0; };
EOF

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') ||
	fail "cannot pick a free port"
export AGENT_LISTEN=127.0.0.1:$port

# Runs a command; prints "rc seconds output" style results in globals.
timed() { # command...
	local s=$(date +%s%N)
	OUT=$(timeout 60 "$@" 2>&1)
	RC=$?
	MS=$((($(date +%s%N) - s) / 1000000))
}
expect_eio() { # description command...
	local d=$1; shift
	timed "$@"
	[ "$RC" != 0 ] || fail "$d succeeded with the agent dead: $OUT"
	[ "$RC" != 124 ] || fail "$d hung (killed after 60 s)"
	case $OUT in
	*"Input/output error"*) ;;
	*) fail "$d: want 'Input/output error', got (exit $RC): $OUT" ;;
	esac
	[ "$MS" -le 10000 ] || fail "$d took $MS ms to fail (request timeout is 2 s)"
	say "$d: EIO after $MS ms"
}
mountd_pid_of() { # mountpoint
	"$CTL" status | awk -v m="$(realpath -m "$1")" '$2 == m { print $3 }'
}

# ------------------------------------------------------------ agent dies
start_agent "$R"
assert_eq "ws://127.0.0.1:$port" "$AGENT_URL" "the agent's address"
agent1=$AGENT_PID
mount_url "$AGENT_URL" "$M" --config "$T/fast.conf"
assert_eq "seen file" "$(cat "$M/seen/f")" "a file before the outage"
ls "$M" >/dev/null || fail "ls before the outage"
exec 7<"$M/opened-before" || fail "cannot open a file before the outage"
on_exit "exec 7<&-"
mpid=$(mountd_pid_of "$M")
[ -n "$mpid" ] && kill -0 "$mpid" 2>/dev/null || fail "no live mountd in: $("$CTL" status)"

say "kill -9 the agent ($agent1)"
kill -9 "$agent1"
wait "$agent1" 2>/dev/null
wait_for 5 grep -q "lost the agent" "$MIRROR_STATE_DIR"/sessions/*/mountd.log ||
	fail "mountd did not notice the agent's death within 5 s"
expect_eio "ls of a directory not looked up before" ls "$M/somedir"
expect_eio "cat of a file not read before" cat "$M/unread"
# (cat <&7 reads the open file; cat /dev/fd/7 would open it anew)
expect_eio "reading a file opened before the outage" sh -c 'cat <&7 >/dev/null'
pid_gone "$mpid" && fail "mountd died with the agent"
is_mounted "$M" || fail "the mount went away with the agent"

say "agent back on the same address, same token"
start_agent "$R" 7<&-	# the agent must not hold our open file
assert_eq "ws://127.0.0.1:$port" "$AGENT_URL" "the new agent's address"
ok=0
for i in $(seq 1 100); do
	if ls "$M/somedir" >"$T/ls.out" 2>/dev/null; then
		ok=1
		break
	fi
	sleep 0.1
done
[ $ok = 1 ] || fail "the mount did not work again within 10 s of the agent's return"
say "the mount works again after $((i / 10)).$((i % 10)) s"
# Before any new open of it fills the page cache: its old handle is gone.
timed sh -c 'cat <&7 >/dev/null'
[ "$RC" != 0 ] && case $OUT in *"Input/output error"*) true ;; *) false ;; esac ||
	fail "a file opened before the outage: want EIO, got (exit $RC): $OUT"
exec 7<&-
assert_eq "a inner" "$(tr '\n' ' ' <"$T/ls.out" | sed 's/ $//')" "ls of somedir after the return"
assert_eq "in somedir" "$(cat "$M/somedir/a")" "a file in somedir after the return"
assert_eq "unread file" "$(cat "$M/unread")" "cat after the return"
assert_eq "seen file" "$(cat "$M/seen/f")" "a file read before the outage"
cmp -s "$R/opened-before" "$M/opened-before" || fail "a new open of opened-before: wrong bytes"
assert_eq "$mpid" "$(mountd_pid_of "$M")" "the mountd pid (the same daemon reconnected)"

say "agent stopped (SIGSTOP): requests time out after fs.request_timeout"
kill -STOP "$AGENT_PID"
on_exit "kill -CONT $AGENT_PID"
timed ls "$M/stopdir"
kill -CONT "$AGENT_PID"
[ "$RC" != 0 ] || fail "ls with the agent stopped succeeded: $OUT"
[ "$RC" != 124 ] || fail "ls with the agent stopped hung (killed after 60 s)"
case $OUT in
*"Input/output error"*) ;;
*) fail "ls with the agent stopped: want 'Input/output error', got (exit $RC): $OUT" ;;
esac
# 2 s from the config, not the 10 s default.
[ "$MS" -le 6000 ] || fail "ls with the agent stopped took $MS ms to fail (request_timeout = 2)"
say "EIO after $MS ms"
ok=0
for i in $(seq 1 100); do
	ls "$M/stopdir" >"$T/ls.out" 2>/dev/null && { ok=1; break; }
	sleep 0.1
done
[ $ok = 1 ] || fail "the mount did not work again within 10 s of SIGCONT"
assert_eq x "$(cat "$T/ls.out")" "ls of stopdir after SIGCONT"

say "mirrorctl umount"
"$CTL" umount "$M" >"$T/umount.out" 2>&1 || fail "mirrorctl umount: $(cat "$T/umount.out")"
is_mounted "$M" && fail "$M still mounted after umount"
wait_for 5 pid_gone "$mpid" || fail "mountd $mpid still runs 5 s after umount"
[ -z "$(ls -A "$M")" ] || fail "$M is not an empty dir after umount"

say "mirrorctl umount while the agent is dead"
mount_url "$AGENT_URL" "$M" --config "$T/fast.conf"
assert_eq "seen file" "$(cat "$M/seen/f")" "a file on the second mount"
mpid=$(mountd_pid_of "$M")
[ -n "$mpid" ] || fail "no mountd for the second mount"
kill -9 "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
expect_eio "cat of an unread file (second mount)" cat "$M/unread2"
timed "$CTL" umount "$M"
[ "$RC" = 0 ] || fail "mirrorctl umount with the agent dead: $OUT"
[ "$MS" -le 10000 ] || fail "mirrorctl umount with the agent dead took $MS ms"
is_mounted "$M" && fail "$M still mounted after umount (agent dead)"
wait_for 5 pid_gone "$mpid" || fail "mountd $mpid still runs 5 s after umount (agent dead)"
"$CTL" status | grep -qF " $(realpath "$M") " && fail "status still lists $M: $("$CTL" status)"

# ----------------------------------------------------------- mountd dies
say "kill -9 mountd"
start_agent "$R"
mount_url "$AGENT_URL" "$M" --config "$T/fast.conf"
assert_eq "seen file" "$(cat "$M/seen/f")" "a file on the third mount"
mpid=$(mountd_pid_of "$M")
[ -n "$mpid" ] || fail "no MOUNTD column for $M in: $("$CTL" status)"
pg=$(pgrep -f "mirror-mountd.*$M")
assert_eq "$mpid" "$pg" "mountd pid from status vs pgrep"
kill -9 "$mpid"
# The kernel aborts the connection once mountd's /dev/fuse is closed.
wait_for 5 pid_gone "$mpid" || fail "mountd $mpid survived kill -9"
timed ls "$M"
[ "$RC" != 0 ] || fail "ls of a mount whose mountd died succeeded: $OUT"
case $OUT in
*"Transport endpoint is not connected"*) ;;
*) fail "ls after mountd died: want ENOTCONN, got: $OUT" ;;
esac
"$CTL" status >"$T/status.dead" 2>&1 || fail "mirrorctl status failed: $(cat "$T/status.dead")"
grep -qF "$(realpath -m "$M")" "$T/status.dead" ||
	fail "status does not list the dead mount: $(cat "$T/status.dead")"
timed "$CTL" umount "$M"
[ "$RC" = 0 ] || fail "mirrorctl umount after mountd died: $OUT"
grep -qF " $(realpath -m "$M") " /proc/mounts && fail "$M still in /proc/mounts"
timed ls -A "$M"
[ "$RC" = 0 ] || fail "ls $M after umount: $OUT"
[ -z "$OUT" ] || fail "$M is not an empty dir after umount: $OUT"
"$CTL" status | grep -qF " $(realpath "$M") " && fail "status still lists $M after umount"
pgrep -f "mirror-mountd.*$M" >/dev/null && fail "a mountd for $M is still running"
echo "ok"
