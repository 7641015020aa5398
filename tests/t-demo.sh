#!/usr/bin/env bash
# The bundled demo pod: "mirrorctl demo up" starts a pod in its own
# namespaces with the sample app's environment, hostname py-serv, an HTTP
# server on port 80, fake service-account secrets and a few hundred
# files; "up" is idempotent, "status" finds it, "down" leaves nothing.
. "$(dirname "$0")/lib.sh"

need_root
need_cmd nsenter util-linux
need_cmd ip iproute2
[ -x /bin/busybox ] || missing "no /bin/busybox (apt-get install busybox-static)"
[ -x "$CTL" ] || fail "$CTL is not built"
# One demo pod per machine: its link name and addresses are fixed.
if ip link show mirror-demo0 >/dev/null 2>&1; then
	missing "a demo pod is already running here (mirror-demo0 exists)"
fi
on_exit "'$CTL' demo down --purge"

BB=/bin/busybox
D=$MIRROR_STATE_DIR/demo

# Gone, or a zombie its new parent has not reaped yet.
gone() {
	[ ! -e "/proc/$1" ] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

say "help"
"$CTL" demo --help >"$T/help" || fail "demo --help failed"
for w in up down status; do
	grep -qw "$w" "$T/help" || fail "demo --help does not mention $w"
done

say "status before up"
if "$CTL" demo status >"$T/st0" 2>"$T/st0.err"; then
	fail "demo status succeeded with no pod: $(cat "$T/st0")"
fi
grep -q "demo pod is not running" "$T/st0.err" ||
	fail "demo status did not say why: $(cat "$T/st0.err")"
grep -q '^pid ' "$T/st0" && fail "demo status printed a pid with no pod"

say "up"
"$CTL" demo up >"$T/up" 2>&1 || { cat "$T/up"; fail "demo up failed"; }
grep -q "^building demo rootfs in $D/rootfs" "$T/up" ||
	fail "demo up did not build the rootfs: $(cat "$T/up")"

say "status"
"$CTL" demo status >"$T/st" || fail "demo status failed after up"
pid=$(sed -n 's/^pid \([0-9][0-9]*\)$/\1/p' "$T/st")
addr=$(sed -n 's/^address \([0-9.]*\)$/\1/p' "$T/st")
[ -n "$pid" ] || fail "no 'pid N' line in: $(cat "$T/st")"
[ -n "$addr" ] || fail "no 'address A' line in: $(cat "$T/st")"
assert_eq "pid $pid" "$(grep '^pid' "$T/up")" "demo up's pid line"
assert_eq "$D/rootfs" "$(sed -n 's/^rootfs //p' "$T/st")" "rootfs line"
assert_eq py-serv "$(sed -n 's/^hostname //p' "$T/st")" "hostname line"
[ -d "/proc/$pid" ] && ! gone "$pid" || fail "pid $pid is not a live process"
assert_eq "$pid" "$(cat "$D/pid")" "pid file"

say "namespaces and environment"
for ns in mnt pid net uts; do
	[ "$(readlink "/proc/$pid/ns/$ns")" != "$(readlink /proc/self/ns/$ns)" ] ||
		fail "the pod shares the host's $ns namespace"
done
assert_eq 1 "$(awk '/^NSpid:/ { print $NF }' "/proc/$pid/status")" \
	"the pod's PID inside its namespace"
tr '\0' '\n' <"/proc/$pid/environ" >"$T/environ"
grep -qx 'MIRRORD_FAKE_VAR_FIRST=mirrord.is.running' "$T/environ" ||
	fail "MIRRORD_FAKE_VAR_FIRST missing: $(cat "$T/environ")"
grep -qx 'MIRRORD_FAKE_VAR_SECOND=7777' "$T/environ" ||
	fail "MIRRORD_FAKE_VAR_SECOND missing: $(cat "$T/environ")"
grep -q '^LD_PRELOAD=\|^MIRROR_STATE_DIR=' "$T/environ" &&
	fail "the host's environment leaked into the pod"
assert_eq py-serv "$(nsenter -t "$pid" -u hostname)" "the pod's hostname"
[ "$(hostname)" != py-serv ] || fail "the host's hostname was changed"

say "HTTP on port 80"
r=/proc/$pid/root
timeout 10 $BB wget -q -O "$T/page" "http://$addr/" ||
	fail "no answer from http://$addr/ on the host"
grep -q "mirror demo pod" "$T/page" || fail "unexpected page: $(cat "$T/page")"
cmp -s "$T/page" "$r/www/index.html" || fail "the page is not www/index.html"
nsenter -t "$pid" -n timeout 10 $BB wget -q -O "$T/page2" http://127.0.0.1:80/ ||
	fail "no answer on 127.0.0.1:80 inside the pod"
cmp -s "$T/page2" "$r/www/index.html" || fail "the pod's own page differs"
nsenter -t "$pid" -n ip -4 -o addr show dev eth0 | grep -q " inet $addr/" ||
	fail "the pod's eth0 does not have $addr"
ip link show mirror-demo0 >/dev/null 2>&1 || fail "no host link mirror-demo0"

say "files"
sa=$r/var/run/secrets/kubernetes.io/serviceaccount
for f in token namespace ca.crt; do
	[ -f "$sa/$f" ] && [ -s "$sa/$f" ] || fail "no $sa/$f"
done
grep -qi fake "$sa/token" || fail "the token does not say it is fake"
assert_eq default "$(cat "$sa/namespace")" "serviceaccount namespace"
[ -s "$r/app/config.yaml" ] || fail "no /app/config.yaml"
grep -qx 'search default.svc.cluster.local svc.cluster.local cluster.local' \
	"$r/etc/resolv.conf" || fail "resolv.conf has no cluster search list"
grep -qx 'options ndots:5' "$r/etc/resolv.conf" || fail "resolv.conf: no ndots:5"
n=$(find "$r/" -xdev -type f | wc -l)
[ "$n" -gt 200 ] || fail "only $n files in the pod's root"
[ "$(find "$D/rootfs" -type f -links +1 | wc -l)" -ge 2 ] || fail "no hard links"
[ -d "$D/rootfs/usr/share/demo/empty" ] &&
	[ -z "$(ls -A "$D/rootfs/usr/share/demo/empty")" ] || fail "no empty dir"
find "$D/rootfs" -name '* *' | grep -q . || fail "no name with a space"
find "$D/rootfs" -name '*日本*' | grep -q . || fail "no UTF-8 name"
abs=$(find "$D/rootfs" -type l -lname '/*')
[ -z "$abs" ] || fail "absolute symlinks in the rootfs: $abs"
[ "$(readlink "$D/rootfs/bin/ls")" = busybox ] || fail "bin/ls is not -> busybox"
cmp -s "$D/rootfs/bin/busybox" /bin/busybox || fail "bin/busybox is not a copy"
[ -c "$r/dev/null" ] || fail "/dev/null in the pod is not a device"
[ -z "$(ls -A "$D/rootfs/dev")" ] || fail "the rootfs's own dev/ is not empty"
[ -z "$(ls -A "$D/rootfs/proc")" ] || fail "the host sees the pod's /proc"

say "orphans in the pod are reaped"
nsenter -t "$pid" -a -r -w /bin/sh -c 'sleep 0.2 & sleep 0.1 & exit 0' ||
	fail "cannot run a shell in the pod"
sleep 1
for c in $(cat "/proc/$pid/task/$pid/children"); do
	gone "$c" && fail "zombie $c under the pod's init"
done
kids=$(cat "/proc/$pid/task/$pid/children")
[ -n "$kids" ] || fail "the pod's init has no children (httpd?)"

say "up again is idempotent"
"$CTL" demo up >"$T/up2" 2>&1 || { cat "$T/up2"; fail "second demo up failed"; }
assert_eq "pid $pid" "$(grep '^pid' "$T/up2")" "second demo up"
grep -q building "$T/up2" && fail "second demo up rebuilt the rootfs"
grep -q starting "$T/up2" && fail "second demo up started another pod"
"$CTL" demo status | grep -qx "pid $pid" || fail "status changed after up"

say "down"
# Something else inside the pod's network namespace (an agent, a shell)
# keeps it, and the pod's link, alive after the pod: down must remove it.
nsenter -t "$pid" -n sleep 60 &
holder=$!
on_exit "kill $holder"
sleep 0.2
start=$(date +%s%N)
"$CTL" demo down >"$T/down" 2>&1 || { cat "$T/down"; fail "demo down failed"; }
ms=$((($(date +%s%N) - start) / 1000000))
# Well under the SIGKILL fallback: the pod's init obeys SIGTERM.
[ "$ms" -lt 3000 ] || fail "demo down took $ms ms: SIGTERM ignored?"
gone "$pid" || fail "pod init $pid still runs after down"
for c in $kids; do
	gone "$c" || fail "pod process $c still runs after down"
done
ip link show mirror-demo0 >/dev/null 2>&1 && fail "mirror-demo0 left behind"
[ ! -e "$D/pid" ] || fail "pid file left behind"
if "$CTL" demo status >/dev/null 2>&1; then fail "status exits 0 after down"; fi
"$CTL" demo down >/dev/null 2>&1 || fail "second demo down failed"
[ -x "$D/rootfs/bin/busybox" ] || fail "down without --purge removed the rootfs"

kill $holder

say "a stale pid file is not the pod"
echo $$ >"$D/pid"
if "$CTL" demo status >"$T/st3" 2>&1; then
	fail "status took pid $$ (this shell) for the pod: $(cat "$T/st3")"
fi
[ ! -e "$D/pid" ] || fail "stale pid file not removed"
# The pod's environment alone does not make a process the pod.
env MIRRORD_FAKE_VAR_FIRST=mirrord.is.running sleep 60 &
impostor=$!
on_exit "kill $impostor"
sleep 0.2
echo $impostor >"$D/pid"
if "$CTL" demo status >"$T/st4" 2>&1; then
	fail "status took an impostor for the pod: $(cat "$T/st4")"
fi
"$CTL" demo down >/dev/null 2>&1 || fail "demo down with a stale pid file failed"
kill -0 $impostor 2>/dev/null || fail "demo down killed a process that is not the pod"
kill $impostor

say "up reuses the rootfs, down --purge removes it"
"$CTL" demo up >"$T/up3" 2>&1 || { cat "$T/up3"; fail "third demo up failed"; }
grep -q building "$T/up3" && fail "demo up rebuilt an existing rootfs"
pid3=$(sed -n 's/^pid //p' "$T/up3")
[ -n "$pid3" ] && [ "$pid3" != "$pid" ] || fail "no new pod: '$pid3'"
"$CTL" demo down --purge >/dev/null 2>&1 || fail "demo down --purge failed"
gone "$pid3" || fail "pod $pid3 still runs after down --purge"
[ ! -e "$D/rootfs" ] || fail "--purge left the rootfs"
ip link show mirror-demo0 >/dev/null 2>&1 && fail "mirror-demo0 left behind"

say "not root"
if command -v setpriv >/dev/null; then
	if setpriv --reuid=65534 --regid=65534 --clear-groups \
	    "$CTL" demo up >"$T/nr" 2>&1; then
		fail "demo up succeeded without root"
	fi
	# Judge only what mirrorctl said: nobody may not reach the build tree.
	if grep -q 'mirrorctl:' "$T/nr"; then
		grep -q "needs root" "$T/nr" || fail "not-root message: $(cat "$T/nr")"
	fi
fi
echo "ok"
