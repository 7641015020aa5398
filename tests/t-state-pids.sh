#!/usr/bin/env bash
# A PID in a session's state file may name another process by the time
# umount or disconnect reads it (the daemon died, the PID was reused).
# Each PID is saved with its process's start time, and mirrorctl signals
# it only while it is still that process and the program it started;
# otherwise it is gone. Here mountd and the agent of a pid/N mount are
# killed, the state file is pointed at unrelated live processes (the old
# start times kept; or their own start time, but not a mirror program;
# or a state file without start times): umount and disconnect leave
# them running and still clean up.
. "$(dirname "$0")/lib.sh"

need_mount

# field 22 of /proc/PID/stat (the names here hold no spaces)
start_of() { cut -d' ' -f22 "/proc/$1/stat"; }
state_get() { sed -n "s/^$1=//p" "$2"; }
# state_set FILE KEY VALUE: replaces or adds the line
state_set() {
	grep -v "^$2=" "$1" >"$1.new"
	echo "$2=$3" >>"$1.new"
	mv "$1.new" "$1"
}
alive() { kill -0 "$1" 2>/dev/null && ! pid_gone "$1"; }
daemons_gone() { pid_gone "$mpid" && pid_gone "$apid"; }
mount_pid() { # DIR: mounts pid/$TPID on DIR; sets STATE
	mkdir -p "$1"
	"$CTL" mount "pid/$TPID" "$1" >"$T/mount.out" 2>&1 ||
		fail "mirrorctl mount pid/$TPID: $(cat "$T/mount.out")"
	on_exit "'$CTL' umount '$1'; umount -l '$1'"
	STATE=$(grep -lxF "mountpoint=$1" "$MIRROR_STATE_DIR"/sessions/*/state) ||
		fail "no state file for $1"
}

sleep 600 &
TPID=$!
on_exit "kill $TPID"

say "a session records each PID with its start time"
mount_pid "$T/m"
mpid=$(state_get mountd_pid "$STATE")
apid=$(state_get agent_pid "$STATE")
[ "$mpid" -gt 0 ] && [ "$apid" -gt 0 ] || fail "no mountd or agent PID in $(cat "$STATE")"
assert_eq "$(start_of "$mpid")" "$(state_get mountd_start "$STATE")" "mountd's start time"
assert_eq "$(start_of "$apid")" "$(state_get agent_start "$STATE")" "the agent's start time"
assert_eq "$(stat -c %i /etc/hostname)" "$(stat -c %i "$T/m/etc/hostname")" \
	"/etc/hostname through the mount"

say "mountd and the agent die; their PIDs now name other processes"
kill -9 "$mpid" "$apid"
wait_for 5 daemons_gone || fail "mountd or the agent survived kill -9"
sleep 1000 &
v1=$!
on_exit "kill $v1"
sleep 1000 &
v2=$!
on_exit "kill $v2"
# v1 stands where mountd and the agent were, with their old start
# times; v2 has its own start time but is not mirrorctl's keeper.
state_set "$STATE" mountd_pid "$v1"
state_set "$STATE" agent_pid "$v1"
state_set "$STATE" pf_pid "$v2"
state_set "$STATE" pf_start "$(start_of "$v2")"
"$CTL" status >"$T/st" 2>&1 || fail "status: $(cat "$T/st")"
grep -F " $T/m " "$T/st" | grep -q "mountd dead" ||
	fail "status takes another process for mountd: $(cat "$T/st")"
"$CTL" umount "$T/m" >"$T/um" 2>&1 || fail "umount after the daemons died: $(cat "$T/um")"
sleep 0.3	# a wrong signal would land by now: a span with nothing to poll for
alive "$v1" || fail "umount killed process $v1, which only has mountd's and the agent's old PID"
alive "$v2" || fail "umount killed process $v2 (not the port-forward keeper)"
is_mounted "$T/m" && fail "$T/m is still mounted"
[ -e "$STATE" ] && fail "the session state is left: $STATE"
alive "$TPID" || fail "the target process died"
say "umount left $v1 and $v2 running and cleaned up"

say "a state file without start times (an older mirrorctl): the program decides"
mount_pid "$T/m2"
mpid=$(state_get mountd_pid "$STATE")
apid=$(state_get agent_pid "$STATE")
kill -9 "$mpid" "$apid"
wait_for 5 daemons_gone || fail "mountd or the agent survived kill -9"
grep -v '_start=' "$STATE" >"$STATE.new" && mv "$STATE.new" "$STATE"
state_set "$STATE" mountd_pid "$v1"
state_set "$STATE" agent_pid "$v2"
"$CTL" umount "$T/m2" >"$T/um" 2>&1 || fail "umount (old state file): $(cat "$T/um")"
sleep 0.3	# a wrong signal would land by now: a span with nothing to poll for
alive "$v1" && alive "$v2" || fail "umount of an old state file killed a sleep"
is_mounted "$T/m2" && fail "$T/m2 is still mounted"

say "disconnect: a connect session whose netd PID is now a sleep"
d="$MIRROR_STATE_DIR/sessions/fake-net"
mkdir -p "$d"
cat >"$d/state" <<EOS
target=pid/$TPID
mountpoint=
url=ws://127.0.0.1:1
mountd_pid=0
agent_pid=$v1
started=$(date +%s)
mode=ro
pf_pid=0
net=1
netd_pid=$v2
dev=
token_file=
netd_start=$(start_of "$v2")
agent_start=12345
EOS
"$CTL" disconnect "pid/$TPID" >"$T/dc" 2>&1 || fail "disconnect: $(cat "$T/dc")"
sleep 0.3	# a wrong signal would land by now: a span with nothing to poll for
alive "$v1" && alive "$v2" || fail "disconnect killed a sleep"
[ -e "$d/state" ] && fail "disconnect left the session"

say "a live session still stops what it started"
mount_pid "$T/m3"
mpid=$(state_get mountd_pid "$STATE")
apid=$(state_get agent_pid "$STATE")
"$CTL" umount "$T/m3" >"$T/um" 2>&1 || fail "umount: $(cat "$T/um")"
wait_for 5 daemons_gone
pid_gone "$mpid" || fail "umount left mountd $mpid running"
pid_gone "$apid" || fail "umount left the agent $apid running"
alive "$v1" && alive "$v2" || fail "a sleep died"
echo ok
