#!/usr/bin/env bash
# An ordinary user (nobody, through setpriv) mounts without root:
# ws://, wss:// and a Kubernetes target (tests/kubectl-fake.py as the
# cluster, starting the real agent as that user). FUSE goes through
# fusermount3; the session state is under the user's $XDG_RUNTIME_DIR
# (0700, theirs), nothing under /run/mirror; the mount is private to the
# user (root and a third user get "Permission denied"). status (and -o
# json), env, ls, doctor and umount work as that user. What needs root
# says so in one line that names the reason: connect and shell/exec
# (devices and namespaces), pid/, podman/, docker/ and demo targets
# (another user's processes).
. "$(dirname "$0")/lib.sh"

need_root
need_mount
need_cmd setpriv util-linux
need_cmd python3
NOBODY=65534
getent passwd $NOBODY >/dev/null || missing "no passwd entry for uid $NOBODY (fusermount3 needs one)"
[ -u /usr/bin/fusermount3 ] || missing "fusermount3 is not set-uid root"
# Debian's udev makes /dev/fuse 0666; a container may not. libfuse opens
# it before it falls back to fusermount3, so it must be open to users.
mode=$(stat -c %a /dev/fuse)
if [ "$mode" != 666 ]; then
	say "/dev/fuse is $mode here; 0666 (Debian's) for this test"
	chmod 0666 /dev/fuse || missing "cannot chmod /dev/fuse"
	on_exit "chmod $mode /dev/fuse"
fi

chmod 755 "$T"
U=$T/user
mkdir -p "$U/home" "$U/run" "$U/m" "$U/m2" "$U/m3" "$U/kube"
chmod 700 "$U/run"
chown -R $NOBODY:$NOBODY "$U"
R=$T/root
mkdir -p "$R/etc"
echo "from the agent" >"$R/hello"
start_agent "$R"
install -o $NOBODY -m 600 "$T/token" "$U/token"
# as CMD...: CMD as nobody, with that user's environment (a script, so
# that must_fail's timeout can run it too).
cat >"$T/as" <<E
#!/bin/sh
exec setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups \\
	env -i PATH=/usr/bin:/bin HOME="$U/home" XDG_RUNTIME_DIR="$U/run" \\
	MIRROR_MOUNTD="$MOUNTD" MIRROR_AGENT="$AGENT" "\$@"
E
chmod 755 "$T/as"
as() { "$T/as" "$@"; }
on_exit "as fusermount3 -uz '$U/m'; as fusermount3 -uz '$U/m2'; as fusermount3 -uz '$U/m3'"
before=$(ls /run/mirror/sessions 2>/dev/null | sort)

say "ws:// as nobody"
as "$CTL" mount --token-file "$U/token" "$AGENT_URL" "$U/m" >"$T/out" 2>&1 ||
	fail "mount as nobody: $(cat "$T/out")"
assert_eq "from the agent" "$(as cat "$U/m/hello")" "nobody reads through the mount"
grep " $U/m fuse.mirror " /proc/mounts >"$T/mnt" || fail "not in /proc/mounts"
grep -q "user_id=$NOBODY," "$T/mnt" || fail "the mount is not nobody's: $(cat "$T/mnt")"
grep -q allow_other "$T/mnt" && fail "an ordinary user's mount has allow_other: $(cat "$T/mnt")"
cat "$U/m/hello" >/dev/null 2>"$T/err" && fail "root reads nobody's mount"
grep -q "Permission denied" "$T/err" || fail "root: $(cat "$T/err")"
setpriv --reuid=65533 --regid=65533 --clear-groups cat "$U/m/hello" >/dev/null 2>&1 &&
	fail "a third user reads nobody's mount"
say "private: root and uid 65533 get Permission denied"
sess=$(ls -d "$U/run/mirror/sessions/"*) || fail "no session under \$XDG_RUNTIME_DIR/mirror"
assert_eq "$NOBODY 700" "$(stat -c '%u %a' "$U/run/mirror")" "the state directory's owner and mode"
assert_eq "$before" "$(ls /run/mirror/sessions 2>/dev/null | sort)" "nothing new under /run/mirror"
mountd=$(cat "$sess/mountd.pid")
assert_eq $NOBODY "$(stat -c %u "/proc/$mountd")" "mountd runs as nobody"

as "$CTL" status >"$T/status" 2>&1 || fail "status: $(cat "$T/status")"
grep -q "$U/m" "$T/status" || fail "status does not list the mount: $(cat "$T/status")"
as "$CTL" status -o json | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert [m["mountpoint"] for m in s["mounts"]] == [sys.argv[1]], s' "$U/m" ||
	fail "status -o json as nobody"
as "$CTL" env --token-file "$U/token" -o json "$AGENT_URL" | python3 -c '
import json, sys
e = json.load(sys.stdin)
assert e["MIRROR_TARGET"] == sys.argv[1], e' "$AGENT_URL" || fail "env as nobody"
as "$CTL" doctor >"$T/doctor" 2>&1 || fail "doctor as nobody fails: $(cat "$T/doctor")"
grep -q "^ok *fusermount3" "$T/doctor" || fail "doctor: $(cat "$T/doctor")"
as env KUBECONFIG="$U/none" "$CTL" ls >"$T/ls" 2>&1
grep -qi "root\|permission" "$T/ls" && fail "ls as nobody: $(cat "$T/ls")"
as "$CTL" umount "$U/m" >"$T/out" 2>&1 || fail "umount as nobody: $(cat "$T/out")"
grep -q " $U/m " /proc/mounts && fail "still mounted after umount"
[ -e "$sess" ] && fail "the session is left after umount"
wait_for 5 pid_gone "$mountd" || fail "mountd still runs"
say "status, status -o json, env, doctor, ls and umount as nobody"

say "wss:// as nobody"
AGENT_LISTEN=127.0.0.1:0 start_agent "$R" --tls
url=${AGENT_URL%% *}
fp=${AGENT_URL##*sha256=}
as "$CTL" mount --token-file "$U/token" --fingerprint "$fp" "$url" "$U/m2" >"$T/out" 2>&1 ||
	fail "wss:// mount as nobody: $(cat "$T/out")"
assert_eq "from the agent" "$(as cat "$U/m2/hello")" "wss:// read"
as "$CTL" umount "$U/m2" >/dev/null || fail "wss:// umount"

say "Kubernetes (tests/kubectl-fake.py) as nobody"
cat >"$U/kube.conf" <<E
kube = { kubectl = "$SRC/tests/kubectl-fake.py"; };
E
chown $NOBODY "$U/kube.conf"
chmod 644 "$U/kube.conf"
on_exit "kill \$(cat '$U/kube/agent.pid')"
as env FAKE_KUBE_DIR="$U/kube" FAKE_KUBE_ROOT="$R" FAKE_KUBE_PULLS=1 \
	"$CTL" mount -q --config "$U/kube.conf" pod/web "$U/m3" >"$T/out" 2>&1 ||
	fail "pod/web as nobody: $(cat "$T/out"; cat "$U/kube/agent.log")"
assert_eq "from the agent" "$(as cat "$U/m3/hello")" "pod/web read"
as "$CTL" umount "$U/m3" >/dev/null || fail "pod/web umount"

say "what needs root says why, in one line"
must_fail "connect" "needs root" "TUN device" -- "$T/as" "$CTL" connect --token-file "$U/token" "$url"
must_fail "shell" "needs root" "namespaces" -- "$T/as" "$CTL" shell --token-file "$U/token" "$url" -- true
must_fail "exec" "needs root" "namespaces" -- "$T/as" "$CTL" exec --token-file "$U/token" "$url" -- true
must_fail "pid/1" "pid/1 needs root" "another user" -- "$T/as" "$CTL" mount pid/1 "$U/m"
must_fail "podman/x" "podman/x needs root" "another user" -- "$T/as" "$CTL" mount podman/x "$U/m"
must_fail "docker/x" "docker/x needs root" "another user" -- "$T/as" "$CTL" env docker/x
must_fail "demo" "demo needs root" "namespaces" -- "$T/as" "$CTL" mount demo "$U/m"
echo "PASS t-nonroot"
