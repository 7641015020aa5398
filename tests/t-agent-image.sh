#!/usr/bin/env bash
# The agent's container image against the py-serv pod, the two ways
# mirrorctl runs it in Kubernetes, with only the capabilities it needs:
#  - in the pod's PID and network namespaces (an ephemeral container):
#    --target-pid 1, a --rw mount from the host that shows the
#    container's own files, writes that land in the container with the
#    writer's uid, mkdir/rename/unlink, a wrong token refused, and the
#    token nowhere in "podman inspect" (only its hash);
#  - in the host's PID namespace (a job on the node): the container
#    found by --target-container-id, and the agent gone by itself
#    (status 0) once the mount is.
# Also the local agent finding the container by ID. Nothing is left.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/podman.sh"

need_mount
need_podman
need_cmd python3
need_cmd setpriv util-linux
need_cmd strip binutils
# AddressSanitizer cannot link statically.
if grep -q -e '--enable-asan' "$B/config.status" 2>/dev/null; then
	echo "skipped: the static agent cannot be built with --enable-asan"
	exit 77
fi

IMAGE=localhost/mirror-agent:test
POD_CTR=mirror-agent-test
JOB_CTR=mirror-agent-test-job
# What the agent needs: read the target's root (SYS_PTRACE), serve every
# file whoever owns it (DAC_OVERRIDE), make a new file as its writer
# (SETUID, SETGID: a per-thread fsuid) or give it to them (CHOWN),
# chmod and utimes as the owner's stand-in (FOWNER) without losing a
# setgid bit (FSETID). The list mirrorctl puts in pod specs.
CAPS=CHOWN,DAC_OVERRIDE,FOWNER,FSETID,SETGID,SETUID,SYS_PTRACE
WRITER=4321

# 1. The image: only the agent and /tmp.
on_exit "podman rmi -f $IMAGE"
MIRROR_BUILDDIR=$B "$SRC/scripts/agent-image.sh" "$IMAGE" >"$T/image.out" 2>&1 ||
	{ cat "$T/image.out" >&2; fail "scripts/agent-image.sh failed"; }
grep -q "built $IMAGE" "$T/image.out" || fail "agent-image.sh did not say what it built"
cid=$(podman create "$IMAGE" --help) || fail "podman create $IMAGE failed"
podman export "$cid" | tar -t | sed 's|/$||' | sort >"$T/files"
podman rm -f "$cid" >/dev/null
printf '%s\n' tmp usr usr/bin usr/bin/mirror-agent >"$T/want"
diff -u "$T/want" "$T/files" >&2 || fail "the image holds more than the agent and /tmp"
podman run --rm "$IMAGE" --help >"$T/help" 2>&1
grep -q -- --token-sha256 "$T/help" || fail "the image's agent does not run: $(cat "$T/help")"
say "image: $(tail -n 1 "$T/image.out" | sed 's/^agent-image: //')"

# 2. The pod, and the agent in its namespaces.
pyserv_image
pyserv_up
PYSERV_POD=$(podman inspect --format '{{.Pod}}' "$PYSERV_CTR") ||
	fail "podman inspect $PYSERV_CTR failed"
say "py-serv: process $PYSERV_PID at $PYSERV_IP"
make_token "$T/token"
token=$(cat "$T/token")
hash=$(printf %s "$token" | sha256sum | cut -d' ' -f1)

# wait_ready CONTAINER: until the agent in it printed ready.
wait_ready() {
	local i
	for i in $(seq 100); do
		podman logs "$1" >"$T/ready.log" 2>/dev/null
		grep -q '^ready ws://0.0.0.0:' "$T/ready.log" && return 0
		[ "$(podman inspect --format '{{.State.Running}}' "$1" 2>/dev/null)" = true ] ||
			{ podman logs "$1" >&2; fail "the agent in $1 exited"; }
		sleep 0.1
	done
	podman logs "$1" >&2
	fail "the agent in $1 did not print ready"
}

on_exit "podman rm -f $POD_CTR"
# podman lets only a container of the pod join a pod container's
# namespaces: --pod gives the pod's network, --pid the container's
# processes, as an ephemeral container would have in Kubernetes.
podman run -d --rm --name "$POD_CTR" \
	--pod "$PYSERV_POD" --pid container:$PYSERV_CTR \
	--cap-drop ALL --cap-add "$CAPS" \
	"$IMAGE" --listen 0.0.0.0:7681 --insecure-plaintext --target-pid 1 \
	--token-sha256 "$hash" --idle-ttl 30 --rw >/dev/null || fail "podman run of the agent failed"
wait_ready "$POD_CTR"

M=$T/mnt
R=/proc/$PYSERV_PID/root
mkdir -p "$M"
chmod 711 "$T"		# the writer below reaches the mount through $T
on_exit "'$CTL' umount '$M'; umount -l '$M'"
# The mount is the writer's (a mount serves root and the user behind sudo).
SUDO_UID=$WRITER "$CTL" mount --rw --token-file "$T/token" "ws://$PYSERV_IP:7681" "$M" >/dev/null ||
	fail "mirrorctl mount of the agent in the pod failed"
assert_eq "$PYSERV_MARKER" "$(cat "$M/app/MARKER")" "the container's MARKER through the mount"
ls "$M/app/www" >"$T/ls" || fail "ls app/www failed"
grep -qx index.html "$T/ls" || fail "ls app/www: no index.html: $(cat "$T/ls")"
say "pod namespaces: the mount shows the container's files"

# Writes as an unprivileged user, in a directory it may write to.
mkdir "$M/tmp/shared" && chmod 1777 "$M/tmp/shared" || fail "mkdir/chmod as root"
U() { setpriv --reuid $WRITER --regid $WRITER --clear-groups "$@"; }
head -c 300000 /dev/urandom >"$T/payload"
U dd of="$M/tmp/shared/file" bs=64k status=none <"$T/payload" || fail "write as uid $WRITER through the mount"
cmp -s "$T/payload" "$R/tmp/shared/file" || fail "the written file differs in the container"
assert_eq "$WRITER:$WRITER" "$(stat -c %u:%g "$R/tmp/shared/file")" "owner of the written file"
U mkdir "$M/tmp/shared/d" || fail "mkdir as uid $WRITER"
assert_eq "$WRITER" "$(stat -c %u "$R/tmp/shared/d")" "owner of the new directory"
U mv "$M/tmp/shared/file" "$M/tmp/shared/d/moved" || fail "rename as uid $WRITER"
[ -f "$R/tmp/shared/d/moved" ] && [ ! -e "$R/tmp/shared/file" ] ||
	fail "the rename did not happen in the container"
U chmod 640 "$M/tmp/shared/d/moved" || fail "chmod as uid $WRITER"
assert_eq 640 "$(stat -c %a "$R/tmp/shared/d/moved")" "mode after chmod"
U touch -d 2020-02-02 "$M/tmp/shared/d/moved" || fail "utimes as uid $WRITER"
U chmod g+s "$M/tmp/shared/d" || fail "chmod g+s as uid $WRITER"
[ -g "$R/tmp/shared/d" ] || fail "the setgid bit was lost"
U rm "$M/tmp/shared/d/moved" || fail "unlink as uid $WRITER"
[ ! -e "$R/tmp/shared/d/moved" ] || fail "the unlink did not happen in the container"
U rmdir "$M/tmp/shared/d" || fail "rmdir as uid $WRITER"
rmdir "$M/tmp/shared" || fail "rmdir as root"
[ ! -e "$R/tmp/shared" ] || fail "tmp/shared is still in the container"
say "writes as uid $WRITER: bytes, owner, mkdir, rename, chmod, utimes, setgid, unlink"

# A wrong token gets nothing.
printf 'x%s\n' "$token" >"$T/wrong"
chmod 600 "$T/wrong"
mkdir -p "$T/mnt2"
"$CTL" mount --token-file "$T/wrong" "ws://$PYSERV_IP:7681" "$T/mnt2" >/dev/null 2>&1 &&
	{ "$CTL" umount "$T/mnt2"; fail "a wrong token mounted"; }
rc=0
python3 "$SRC/tests/wsclient.py" --url "ws://$PYSERV_IP:7681" --token-file "$T/wrong" \
	read /app/MARKER >"$T/got" 2>/dev/null || rc=$?
assert_eq 3 "$rc" "wsclient with a wrong token"
[ ! -s "$T/got" ] || fail "data served for a wrong token"

# The pod spec (here: the container's configuration) holds only the hash.
podman inspect "$POD_CTR" >"$T/inspect"
grep -qF -- "$hash" "$T/inspect" || fail "the hash is not in podman inspect (what was run?)"
grep -qF -- "$token" "$T/inspect" && fail "the token is in podman inspect"
podman logs "$POD_CTR" >"$T/pod.log" 2>&1
grep -qF -- "$token" "$T/pod.log" && fail "the token is in the agent's log"
grep -qF -- "$hash" "$T/pod.log" && fail "the hash is in the agent's log"
"$CTL" umount "$M" >/dev/null || fail "mirrorctl umount failed"
podman rm -f "$POD_CTR" >/dev/null 2>&1
say "wrong token refused; podman inspect holds the hash, not the token"

# 3. The job shape: the host's PID namespace, the container by its ID;
# no SYS_ADMIN (nothing enters the target's network namespace yet).
ID=$(podman inspect --format '{{.Id}}' "$PYSERV_CTR")
on_exit "podman rm -f $JOB_CTR"
podman run -d --name "$JOB_CTR" --pod "$PYSERV_POD" --pid host \
	--cap-drop ALL --cap-add "$CAPS" \
	"$IMAGE" --listen 0.0.0.0:7682 --insecure-plaintext \
	--target-container-id "podman://$ID" \
	--token-sha256 "$hash" --idle-ttl 3 >/dev/null || fail "podman run of the job agent failed"
wait_ready "$JOB_CTR"
podman logs "$JOB_CTR" >"$T/job.log" 2>&1
grep -q "container ${ID:0:12} is process $PYSERV_PID\$" "$T/job.log" ||
	{ cat "$T/job.log" >&2; fail "the job agent did not find process $PYSERV_PID"; }
"$CTL" mount --token-file "$T/token" "ws://$PYSERV_IP:7682" "$M" >/dev/null ||
	fail "mirrorctl mount of the job agent failed"
assert_eq "$PYSERV_MARKER" "$(cat "$M/app/MARKER")" "MARKER through the job agent"
"$CTL" umount "$M" >/dev/null || fail "mirrorctl umount failed"
for _ in $(seq 100); do
	[ "$(podman inspect --format '{{.State.Running}}' "$JOB_CTR")" = false ] && break
	sleep 0.1
done
assert_eq false "$(podman inspect --format '{{.State.Running}}' "$JOB_CTR")" \
	"the job agent stopped within 10 s of the umount"
assert_eq 0 "$(podman inspect --format '{{.State.ExitCode}}' "$JOB_CTR")" \
	"the job agent's exit status"
podman logs "$JOB_CTR" >"$T/job.log" 2>&1
grep -q 'no client for 3 s; exiting' "$T/job.log" ||
	{ cat "$T/job.log" >&2; fail "the job agent did not say why it exited"; }
podman rm -f "$JOB_CTR" >/dev/null
say "job shape: container ${ID:0:12} found as process $PYSERV_PID; exited by itself after the umount"

# 4. The local agent finds the container by ID too (any accepted form).
for spec in "${ID:0:12}" "podman://$ID" "containerd://${ID:0:20}"; do
	start_agent --target-container-id "$spec" --idle-ttl 30
	rc=0
	python3 "$SRC/tests/wsclient.py" --url "$AGENT_URL" --token-file "$T/token" \
		read /app/MARKER >"$T/got" 2>"$T/err" || rc=$?
	assert_eq 0 "$rc" "local agent, --target-container-id $spec: $(cat "$T/err")"
	assert_eq "$PYSERV_MARKER" "$(cat "$T/got")" "MARKER from the local agent ($spec)"
	grep -q "is process $PYSERV_PID\$" "$T"/agent.*.err ||
		fail "the local agent did not log the process it found"
	kill "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null
	rm -f "$T"/agent.*
done
say "local agent: --target-container-id finds process $PYSERV_PID"

# 5. Nothing is left once the pod goes.
pyserv_down
left=$(podman ps -a --format '{{.Names}}' | grep -e "^$POD_CTR\$" -e "^$JOB_CTR\$" || true)
[ -z "$left" ] || fail "agent containers left: $left"
is_mounted "$M" && fail "$M is still mounted"
exit 0
