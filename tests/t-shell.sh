#!/usr/bin/env bash
# mirrorctl shell and exec against the real demo pod: the pod's token at
# its pod path (also read by a static busybox, which no LD_PRELOAD would
# reach), the pod's hostname, the local PATH, the invoking user under
# sudo, --chroot into the pod's image, exit statuses, a shell beside a
# "mirrorctl mount" of the same target, fs.remote with a hostile symlink,
# paths that must stay local, and nothing left behind after the shell
# exits or after SIGKILL of mirrorctl (no mount, namespace, agent).
# Run it under "flock /tmp/mirror-net.lock" (the demo pod's link and
# addresses are fixed: one demo pod per machine).
. "$(dirname "$0")/lib.sh"

need_mount
need_cmd nsenter util-linux
need_cmd ip iproute2
[ -x /bin/busybox ] || missing "no /bin/busybox (apt-get install busybox-static)"
use_built_layer
if ip link show mirror-demo0 >/dev/null 2>&1; then
	missing "a demo pod is already running here (mirror-demo0 exists)"
fi
on_exit "'$CTL' demo down --purge"

D=$MIRROR_STATE_DIR/demo/rootfs
TOK=/var/run/secrets/kubernetes.io/serviceaccount/token
SESS=$MIRROR_STATE_DIR/sessions

"$CTL" demo up >"$T/up" 2>&1 || { cat "$T/up"; fail "demo up failed"; }
# The service-account directory is a volume of the demo pod (a tmpfs over
# the image's empty directory), so the pod's own view is the reference.
"$CTL" demo status >"$T/dstatus" || fail "demo status"
dpid=$(sed -n 's/^pid //p' "$T/dstatus")
cat "/proc/$dpid/root$TOK" >"$T/pod-token" 2>/dev/null && [ -s "$T/pod-token" ] ||
	fail "the demo pod (pid '$dpid') has no token in its volume"

# sh_ok NAME CMD...: mirrorctl shell demo -- CMD..., stdout in $T/NAME.
sh_ok() {
	local n=$1; shift
	timeout 60 "$CTL" shell demo -- "$@" >"$T/$n" 2>"$T/$n.err" ||
		fail "shell -- $*: exit $? ($(cat "$T/$n.err"))"
}

# What is left of a shell, on stdout: a session, a mirror mount, an agent
# or mountd of ours, a process in the shell's network namespace NS; with
# KEEP_MOUNT set (a user's mount stays) only the shell's record and
# scratch directory, and the namespace.
left() {
	local ns=${1:-} p
	if [ -z "${KEEP_MOUNT:-}" ]; then
		[ -z "$(ls "$SESS" 2>/dev/null)" ] || echo "sessions: $(ls "$SESS")"
		grep "$SESS" /proc/mounts
		pgrep -af "$SESS"
	else	# the user's mount stays: only the shell's own things go
		ls -d "$SESS"/*/ns-* "$SESS"/*/shell-* 2>/dev/null
	fi
	[ -n "$ns" ] || return 0
	for p in /proc/[0-9]*; do
		[ "$(stat -Lc %i "$p/ns/net" 2>/dev/null)" = "$ns" ] &&
			echo "${p#/proc/} is in the shell's netns"
	done
	return 0
}
nothing_left() { # WHAT [NS]
	wait_for 10 eval '[ -z "$(left "${2:-}")" ]' ||
		fail "$1: left behind: $(left "${2:-}")"
}

say "help"
"$CTL" shell --help >"$T/help" || fail "shell --help"
grep -q -- --chroot "$T/help" || fail "shell --help has no --chroot"
"$CTL" exec --help >"$T/ehelp" || fail "exec --help"
"$CTL" --help 2>&1 | grep -qw shell || fail "mirrorctl --help lists no shell"
must_fail "exec without a command" "usage" -- "$CTL" exec demo
must_fail "not root" "needs root" -- setpriv --reuid=65534 --regid=65534 \
	--clear-groups "$CTL" shell demo -- true

say "the pod's token at its pod path"
sh_ok tok cat "$TOK"
cmp -s "$T/tok" "$T/pod-token" || fail "token differs: $(cat "$T/tok")"
[ ! -e "$TOK" ] || fail "this machine has $TOK itself: the test proves nothing"
sh_ok tokbb /bin/busybox cat "$TOK"
cmp -s "$T/tokbb" "$T/pod-token" || fail "static busybox cat read: $(cat "$T/tokbb")"
nothing_left "after a shell"

say "hostname, hosts, environment"
sh_ok host hostname
assert_eq py-serv "$(cat "$T/host")" "hostname in the shell"
[ "$(hostname)" != py-serv ] || fail "the laptop's hostname changed"
sh_ok hostf cat /etc/hostname
assert_eq py-serv "$(cat "$T/hostf")" "/etc/hostname in the shell"
sh_ok hosts cat /etc/hosts
cmp -s "$T/hosts" "$D/etc/hosts" || fail "/etc/hosts is not the pod's"
sh_ok env env
grep -qx "PATH=$PATH" "$T/env" || fail "the local PATH is not in: $(cat "$T/env")"
grep -qx "MIRROR_TARGET=demo" "$T/env" || fail "no MIRROR_TARGET=demo"
root=$(sed -n 's/^MIRROR_ROOT=//p' "$T/env")
[ -n "$root" ] || fail "no MIRROR_ROOT"
sh_ok cfg sh -c 'cat "$MIRROR_ROOT/app/config.yaml"'
cmp -s "$T/cfg" "$D/app/config.yaml" || fail "\$MIRROR_ROOT is not the pod's root"
# The pod's own variables come with the target's info (OP_TARGET_INFO);
# checked once "mirrorctl env" (its other user) is there.
if "$CTL" env --help >/dev/null 2>&1; then
	grep -qx 'MIRRORD_FAKE_VAR_FIRST=mirrord.is.running' "$T/env" ||
		fail "the pod's MIRRORD_FAKE_VAR_FIRST is not in the shell"
fi
sh_ok uts sh -c 'readlink /proc/self/ns/uts /proc/self/ns/net /proc/self/ns/mnt'
for ns in uts net mnt; do
	grep -qx "$(readlink /proc/self/ns/$ns)" "$T/uts" &&
		fail "the shell shares the laptop's $ns namespace"
done

say "the user behind sudo"
SUDO_UID=65534 SUDO_GID=65534 SUDO_USER=nobody timeout 60 "$CTL" shell demo -- \
	sh -c 'id -u; id -g; cat '"$TOK"'; echo; head -c 5 "$MIRROR_ROOT/app/config.yaml"; echo; echo "$HOME"' >"$T/id" 2>"$T/id.err" ||
	fail "shell as nobody: $(cat "$T/id.err")"
assert_eq 65534 "$(sed -n 1p "$T/id")" "id -u under SUDO_UID"
assert_eq 65534 "$(sed -n 2p "$T/id")" "id -g under SUDO_GID"
grep -q FAKE-TOKEN "$T/id" || fail "nobody cannot read the pod's token: $(cat "$T/id")"
assert_eq "$(head -c 5 "$D/app/config.yaml")" "$(sed -n 4p "$T/id")" \
	"nobody reads \$MIRROR_ROOT/app/config.yaml ($(cat "$T/id.err"))"
assert_eq "$(getent passwd nobody | cut -d: -f6)" "$(tail -n 1 "$T/id")" "HOME of nobody"
SUDO_UID=65534 SUDO_GID=65534 SUDO_USER=nobody timeout 60 "$CTL" shell demo -- \
	sh -c 'grep NoNewPrivs /proc/self/status' >"$T/nnp" 2>&1
grep -q 'NoNewPrivs:[[:space:]]*1' "$T/nnp" || fail "the shell can gain privileges: $(cat "$T/nnp")"

say "exit status"
rc=0; timeout 60 "$CTL" shell demo -- sh -c 'exit 7' || rc=$?
assert_eq 7 "$rc" "exit 7"
rc=0; timeout 60 "$CTL" shell demo -- sh -c 'kill -TERM $$' || rc=$?
assert_eq 143 "$rc" "a command killed by SIGTERM"
rc=0; timeout 60 "$CTL" shell demo -- /nonexistent/cmd 2>"$T/nx" || rc=$?
assert_eq 127 "$rc" "a command that is not there"
grep -q "cannot run /nonexistent/cmd" "$T/nx" || fail "no reason: $(cat "$T/nx")"

say "--chroot: the pod's image"
timeout 60 "$CTL" shell --chroot demo -- cat /etc/os-release >"$T/osr" 2>"$T/osr.err" ||
	fail "--chroot: $(cat "$T/osr.err")"
cmp -s "$T/osr" "$D/etc/os-release" || fail "--chroot os-release: $(cat "$T/osr")"
cmp -s "$T/osr" /etc/os-release && fail "--chroot shows the laptop's os-release"
echo "local-$$" >"$T/mark"
HOME=$T timeout 60 "$CTL" shell --chroot demo -- /bin/sh -c \
	'readlink /bin/ls; cat "$MIRROR_LOCAL/mark"; ls /proc/self/fd >/dev/null && echo proc' \
	>"$T/chr" 2>"$T/chr.err" || fail "--chroot sh: $(cat "$T/chr.err")"
assert_eq "busybox
local-$$
proc" "$(cat "$T/chr")" "--chroot: the pod's /bin, the home at MIRROR_LOCAL, /proc"

say "exec"
timeout 60 "$CTL" exec demo -- cat "$TOK" >"$T/ex" 2>"$T/ex.err" ||
	fail "exec: $(cat "$T/ex.err")"
cmp -s "$T/ex" "$T/pod-token" || fail "exec read: $(cat "$T/ex")"
nothing_left "after exec and --chroot"

say "fs.remote, a hostile symlink, paths that stay local"
# The pod's /srv/link leads to /etc "far above" its root: inside the pod
# that is the pod's /etc, and so it must be in the shell.
mkdir -p "$D/srv"
ln -s ../../../../../../etc "$D/srv/link"
cat >"$T/conf" <<EOF
fs = { remote = [ "/srv/link", "/usr", "/proc/1", "/srv/link/x/y" ]; };
EOF
timeout 60 "$CTL" shell --config "$T/conf" demo -- sh -c \
	'cat /srv/link/hostname; /usr/bin/env true && echo usr-local' \
	>"$T/rem" 2>"$T/rem.err" || fail "fs.remote: $(cat "$T/rem.err")"
[ "$(cat "$T/rem")" = "py-serv
usr-local" ] || fail "fs.remote /srv/link: the pod's /etc: got '$(cat "$T/rem")'; messages: $(cat "$T/rem.err")"
grep -q "/usr stays local" "$T/rem.err" || fail "/usr was not refused: $(cat "$T/rem.err")"
grep -q "/proc/1 stays local" "$T/rem.err" || fail "/proc/1 was not refused"
[ ! -e /srv/link ] || fail "/srv/link was made on the laptop's disk"
[ ! -e /run/secrets ] || fail "/run/secrets was made on the laptop"
[ ! -e /run/mirror-shell ] || fail "/run/mirror-shell was made on the laptop"

say "fs.local: never replaced by a bind from the target"
# A volume-like directory the laptop has too ($T/vol, placed through
# fs.remote), with a ConfigMap's shape in the pod (cfg.yaml a symlink
# through ..data); fs.local names files below it, a directory fs.remote
# places whole ($T/whole), and one by a regex of another case
# ($T/rx-vol: the lists ignore case, as mirrord's); the pod's
# real service-account volume loses its namespace file (the laptop has
# none there).
V=$T/vol
mkdir -p "$V" "$T/whole" "$T/rx-vol" "$D$V/..v1" "$D$T/whole" "$D$T/rx-vol"
echo laptop-keep >"$V/keep.txt"
echo laptop-cfg >"$V/cfg.yaml"
echo laptop-only >"$V/only-laptop.txt"
echo laptop-whole >"$T/whole/f"
echo laptop-rx >"$T/rx-vol/f"
echo pod-keep >"$D$V/keep.txt"
echo pod-other >"$D$V/other.txt"
echo pod-only >"$D$V/pod-only.txt"
echo pod-cfg >"$D$V/..v1/cfg.yaml"
ln -s ..v1 "$D$V/..data"
ln -s ..data/cfg.yaml "$D$V/cfg.yaml"
echo pod-whole >"$D$T/whole/f"
echo pod-rx >"$D$T/rx-vol/f"
SA=/var/run/secrets/kubernetes.io/serviceaccount
cat >"$T/lconf" <<EOF
fs = { remote = [ "$V", "$T/whole", "$T/rx-vol" ];
  local = [ "$V/keep.txt", "$V/cfg.yaml", "$V/only-laptop.txt",
    "$V/pod-only.txt", "$T/whole", "RX-VOL\$", "$SA/namespace" ]; };
EOF
timeout 60 "$CTL" shell --config "$T/lconf" demo -- sh -c "
	cd '$V' && cat keep.txt other.txt cfg.yaml only-laptop.txt ..v1/cfg.yaml
	test -e pod-only.txt && echo pod-only-shows
	cat '$T/whole/f' '$T/rx-vol/f' '$TOK'; echo
	test -e '$SA/namespace' && echo namespace-shows; true" \
	>"$T/loc" 2>"$T/loc.err" || fail "fs.local: $(cat "$T/loc.err")"
assert_eq "laptop-keep
pod-other
laptop-cfg
laptop-only
laptop-cfg
laptop-whole
laptop-rx
$(cat "$T/pod-token")" "$(cat "$T/loc")" \
	"fs.local below, at and by a regex over placed paths ($(cat "$T/loc.err"))"
[ ! -s "$T/loc.err" ] || fail "fs.local: messages: $(cat "$T/loc.err")"
assert_eq laptop-keep "$(cat "$V/keep.txt")" "the laptop's own file"
[ ! -e "$V/other.txt" ] || fail "the pod's file was made on the laptop"

say "a shell beside a mount of the same target; status"
mkdir "$T/mnt"
"$CTL" mount demo "$T/mnt" >/dev/null 2>&1 || fail "mount demo"
on_exit "'$CTL' umount -l '$T/mnt'"
"$CTL" shell demo -- sleep 30 >/dev/null 2>"$T/bg.err" &
ctl=$!
wait_for 20 eval '"$CTL" status | grep -q "^demo .*/var/run/secrets"' ||
	fail "status lists no shell: $("$CTL" status)"
"$CTL" status >"$T/st"
spid=$(awk '/^SHELL TARGET/ { getline; print $2 }' "$T/st")
assert_eq root "$(awk '/^SHELL TARGET/ { getline; print $3 }' "$T/st")" "status: user"
[ -n "$spid" ] && [ -d "/proc/$spid" ] || fail "status: no live shell pid: $(cat "$T/st")"
grep -q "$SESS" /proc/mounts &&
	fail "the shell made a mount of its own beside $T/mnt: $(grep "$SESS" /proc/mounts)"
ns=$(stat -Lc %i "/proc/$spid/ns/net")
[ "$ns" != "$(stat -Lc %i /proc/self/ns/net)" ] ||
	fail "shell pid $spid is in the laptop's network namespace"
kill -9 $ctl
wait $ctl 2>/dev/null
wait_for 10 pid_gone "$spid" || fail "the shell survived SIGKILL of mirrorctl"
KEEP_MOUNT=1 nothing_left "a shell on a user's mount, after SIGKILL" "$ns"
is_mounted "$T/mnt" || fail "the shell's end took the user's mount along"
cmp -s "$T/mnt$TOK" "$T/pod-token" || fail "the user's mount broke"
wait_for 10 eval '! "$CTL" status | grep -q "^SHELL TARGET"' ||
	fail "status still lists the shell: $("$CTL" status)"
# The shell's netd (and mirror-query) said goodbye to the mount's agent:
# stopped with SIGTERM, not killed with the shell's processes.
alog=$(ls "$SESS"/*/agent.log | head -1)
grep -q "peer closed the connection (code 1000)" "$alog" ||
	fail "no ordinary goodbye in the agent's log: $(cat "$alog")"
! grep -q "dropped" "$alog" || fail "the agent logged a dropped connection: $(cat "$alog")"
"$CTL" umount "$T/mnt" >/dev/null || fail "umount"

say "SIGKILL of mirrorctl: nothing of the shell is left"
"$CTL" shell demo -- sh -c "sleep 300 & sleep 300" >/dev/null 2>&1 &
ctl=$!
# The placed paths show once the child has its namespaces (before,
# its pid would still be in the laptop's).
wait_for 20 eval '"$CTL" status | grep -q "^demo .*/var/run/secrets"' ||
	fail "no shell in status: $("$CTL" status)"
spid=$(awk '/^SHELL TARGET/ { getline; print $2 }' <("$CTL" status))
ns=$(stat -Lc %i "/proc/$spid/ns/net")
[ "$ns" != "$(stat -Lc %i /proc/self/ns/net)" ] ||
	fail "shell pid $spid is in the laptop's network namespace"
grep -q "$SESS" /proc/mounts || fail "the shell made no mount of its own"
kill -9 $ctl
wait $ctl 2>/dev/null
nothing_left "after SIGKILL of mirrorctl" "$ns"
echo "ok"
