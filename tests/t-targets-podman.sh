#!/usr/bin/env bash
# podman/NAME and docker/NAME end to end, against the sample app's pod
# run by "podman kube play" (tests/podman/py-serv.yaml): mirrorctl ls
# lists its container with the TARGET to copy (table and -o json); mount
# podman/py-serv-py-serv shows that container's own files (a marker only
# its image holds) and, with --rw, writes land in the container; the
# docker CLI, talking to podman's Docker-compatible API, resolves
# docker/NAME the same way; unknown, stopped and unprivileged cases fail
# with one clear line; umount and "kube down" leave nothing behind.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/podman.sh"

need_mount
need_podman
need_cmd python3
need_cmd setpriv util-linux

M=$T/m
mkdir -p "$M"
pyserv_image
pyserv_up
say "py-serv runs: container $PYSERV_CTR, pid $PYSERV_PID, address $PYSERV_IP"
need_cmd curl
curl -sf --max-time 5 "http://$PYSERV_IP:80/" >"$T/index.html"
grep -q "py-serv" "$T/index.html" || fail "py-serv does not serve HTTP on port 80"

say "mirrorctl ls"
"$CTL" ls >"$T/ls" 2>"$T/ls.err" || fail "mirrorctl ls: $(cat "$T/ls.err")"
cat "$T/ls"
grep -q "^TARGET " "$T/ls" || fail "ls has no header: $(cat "$T/ls")"
grep -qE "^podman/$PYSERV_CTR +podman +py-serv " "$T/ls" ||
	fail "ls does not list podman/$PYSERV_CTR in pod py-serv"
grep -q -- "-infra" "$T/ls" && fail "ls lists the pod's infra container"
"$CTL" ls -o json >"$T/ls.json" 2>/dev/null || fail "mirrorctl ls -o json failed"
python3 - "$T/ls.json" "$PYSERV_CTR" "$PYSERV_IMAGE" <<'EOF' || fail "ls -o json"
import json, sys
items = json.load(open(sys.argv[1]))
mine = [i for i in items if i["target"] == "podman/" + sys.argv[2]]
assert len(mine) == 1, items
i = mine[0]
assert i["source"] == "podman" and i["name"] == sys.argv[2], i
assert i["pod"] == "py-serv" and i["image"] == sys.argv[3], i
assert set(i) == {"target", "source", "name", "status", "image", "pod",
                  "namespace"}, i
EOF

say "mount podman/$PYSERV_CTR (read-only)"
"$CTL" mount "podman/$PYSERV_CTR" "$M" >"$T/out" 2>&1 || fail "mount: $(cat "$T/out")"
on_exit "'$CTL' umount '$M'; umount -l '$M'"
grep -q "mounted podman/$PYSERV_CTR on " "$T/out" || fail "mount said: $(cat "$T/out")"
assert_eq "$PYSERV_MARKER" "$(cat "$M/app/MARKER")" "the container's marker through the mount"
assert_eq "$(ls /proc/"$PYSERV_PID"/root/app/www)" "$(ls "$M/app/www")" "app/www listing"
cmp "$(command -v busybox)" "$M/bin/busybox" || fail "bin/busybox differs"
"$CTL" status >"$T/st" || fail "status"
grep -q "^podman/$PYSERV_CTR " "$T/st" || fail "status does not show the target: $(cat "$T/st")"
(echo x >"$M/app/new") 2>/dev/null && fail "a read-only mount took a write"
"$CTL" umount "$M" >/dev/null || fail "umount"
is_mounted "$M" && fail "still mounted after umount"

say "mount --rw: a file written through the mount is in the container"
"$CTL" mount --rw "podman/$PYSERV_CTR" "$M" >/dev/null || fail "mount --rw"
head -c 300000 /dev/urandom >"$T/blob"
cp "$T/blob" "$M/app/blob" || fail "write through the mount"
mkdir "$M/app/newdir" || fail "mkdir through the mount"
sync
assert_eq "$(sha256sum <"$T/blob" | cut -d' ' -f1)" \
	"$(podman exec "$PYSERV_CTR" /bin/sha256sum /app/blob | cut -d' ' -f1)" \
	"the container's sha256 of a file written through the mount"
podman exec "$PYSERV_CTR" /bin/ls -d /app/newdir >/dev/null || fail "the container does not see newdir"
podman exec "$PYSERV_CTR" /bin/sh -c 'echo from-pod >/app/www/pod.txt'
for i in $(seq 30); do
	[ "$(cat "$M/app/www/pod.txt" 2>/dev/null)" = from-pod ] && break
	sleep 0.1
done
assert_eq from-pod "$(cat "$M/app/www/pod.txt")" "a file the container wrote, read through the mount"
"$CTL" umount "$M" >/dev/null || fail "umount"

say "docker/NAME: the docker CLI against podman's Docker-compatible API"
need_cmd docker podman-docker
podman system service --time=0 "unix://$T/podman.sock" >"$T/service.log" 2>&1 &
SVC=$!
on_exit "kill $SVC"
for i in $(seq 100); do [ -S "$T/podman.sock" ] && break; sleep 0.1; done
[ -S "$T/podman.sock" ] || fail "podman system service did not start: $(cat "$T/service.log")"
export DOCKER_HOST=unix://$T/podman.sock
"$CTL" ls >"$T/ls" 2>"$T/ls.err" || fail "ls with docker: $(cat "$T/ls.err")"
grep -qE "^docker/$PYSERV_CTR +docker " "$T/ls" || fail "ls does not list docker/$PYSERV_CTR: $(cat "$T/ls" "$T/ls.err")"
"$CTL" mount "docker/$PYSERV_CTR" "$M" >/dev/null || fail "mount docker/$PYSERV_CTR"
assert_eq "$PYSERV_MARKER" "$(cat "$M/app/MARKER")" "the marker through docker/NAME"
"$CTL" umount "$M" >/dev/null || fail "umount docker"
# An engine that does not answer: only the Docker CLI has one to miss
# (podman-docker's "docker", on a machine without it, runs podman itself
# and ignores DOCKER_HOST).
if docker --version 2>/dev/null | grep -q '^Docker version'; then
	export DOCKER_HOST=unix://$T/nothing-listens-here.sock
	must_fail "docker engine unreachable" "docker/$PYSERV_CTR" "docker" -- "$CTL" mount "docker/$PYSERV_CTR" "$M"
else
	say "docker is podman-docker's wrapper: no engine to be unreachable"
fi
unset DOCKER_HOST

say "errors"
must_fail "unknown container" "no container named nope" "mirrorctl ls" -- \
	"$CTL" mount podman/nope "$M"
podman create -q --name mirror-test-stopped "$PYSERV_IMAGE" /bin/sleep 1 >/dev/null || fail "podman create"
on_exit "podman rm -f mirror-test-stopped"
must_fail "stopped container" "not running" "podman start mirror-test-stopped" -- \
	"$CTL" mount podman/mirror-test-stopped "$M"
must_fail "not root" "needs root" -- \
	setpriv --reuid 65534 --regid 65534 --clear-groups env MIRROR_STATE_DIR="$T/nobody" "$CTL" mount "podman/$PYSERV_CTR" "$M"
must_fail "empty name" "podman/NAME" -- "$CTL" mount podman/ "$M"
must_fail "-n on a local target" "Kubernetes" -- "$CTL" mount -n x "podman/$PYSERV_CTR" "$M"
must_fail "unknown form" "unknown target" "podman/NAME" "deployment/NAME" -- "$CTL" mount lxc/x "$M"

say "nothing left behind"
pyserv_down
podman pod exists py-serv && fail "the pod is still there after kube down"
podman ps -a --format '{{.Names}}' | grep -q "^$PYSERV_CTR\$" && fail "the container is still there"
grep -F "$T/" /proc/mounts && fail "a mount is left"
ls "$MIRROR_STATE_DIR/sessions" 2>/dev/null | grep -q . && fail "session state left: $(ls "$MIRROR_STATE_DIR/sessions")"
pgrep -f "mirror-agent.*--target-pid $PYSERV_PID\$" && fail "an agent is still running"
say "ok"
