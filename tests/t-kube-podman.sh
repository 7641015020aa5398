#!/usr/bin/env bash
# The agents mirrorctl would start in Kubernetes, run for real: the
# plans of "mirrorctl mount --dry-run" (both modes) are turned into
# podman containers next to the py-serv pod, with nothing taken from
# elsewhere: the image (agent/Containerfile, built by
# scripts/agent-image.sh), the command line, the capabilities and the
# security context all come from the plan.
#  - ephemeral: the container joins the target container's PID and
#    network namespaces (what targetContainerName does) and serves
#    /proc/1/root;
#  - job: the plan's pod spec (hostPID, its container) runs in a
#    network namespace of its own with the host's PID namespace ("podman
#    kube play" of this podman ignores hostPID, so "podman run --pid
#    host") and finds py-serv's process by container ID.
# The mount reaches each agent where port-forward would: 127.0.0.1:PORT
# in the agent pod's network namespace. Each serves py-serv's files
# (read and write), exits by itself after its idle TTL, and nothing is
# left behind.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/podman.sh"

need_mount
need_podman
need_cmd python3
need_cmd nsenter util-linux

IMAGE=localhost/mirror-agent:kubetest
M=$T/m
mkdir -p "$M"
say "build the agent image"
"$SRC/scripts/agent-image.sh" "$IMAGE" >"$T/image.out" 2>&1 ||
	fail "scripts/agent-image.sh: $(tail -n 5 "$T/image.out")"
on_exit "podman rmi -f $IMAGE"
tail -n 1 "$T/image.out"
pyserv_image
pyserv_up
CID=$(podman inspect --format '{{.Id}}' "$PYSERV_CTR")
TOKEN=$T/token
make_token "$TOKEN"

# plan MODE TARGET: the dry-run plan as JSON in $T/plan.json.
plan() {
	cat >"$T/kube.conf" <<EOF
agent = { mode = "$1"; image = "$IMAGE"; idle_ttl = 6.0; };
EOF
	"$CTL" mount --dry-run --rw --config "$T/kube.conf" --token-file "$TOKEN" \
		"$2" >"$T/plan.json" || fail "dry-run $1 $2"
	PORT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["agent_port"])' "$T/plan.json")
}

# mount_in PID: mounts ws://127.0.0.1:$PORT as seen in PID's network
# namespace (where kubectl port-forward connects), --rw.
mount_in() {
	local i
	for i in $(seq 50); do
		nsenter --net="/proc/$1/ns/net" "$CTL" mount --rw --token-file "$TOKEN" \
			"ws://127.0.0.1:$PORT" "$M" >"$T/mount.out" 2>&1 && return 0
		sleep 0.2
	done
	fail "mount through the agent's network namespace: $(cat "$T/mount.out")"
}

# serves WHAT: the mount shows py-serv's files and takes a write.
serves() {
	assert_eq "$PYSERV_MARKER" "$(cat "$M/app/MARKER")" "$1: py-serv's marker"
	echo "written by $1" >"$M/app/from-$1" || fail "$1: write through the mount"
	sync
	assert_eq "written by $1" "$(podman exec "$PYSERV_CTR" /bin/cat "/app/from-$1")" \
		"$1: the pod reads the file written through the mount"
	assert_eq 0 "$(stat -c %u "/proc/$PYSERV_PID/root/app/from-$1")" "$1: owner"
	"$CTL" umount "$M" >/dev/null || fail "$1: umount"
}

# gone_within S CMD...: CMD succeeds within S seconds.
gone_within() {
	local s=$1 i
	shift
	for i in $(seq $((s * 10))); do "$@" && return 0; sleep 0.1; done
	return 1
}

# run_args MODE PLAN [CONTAINER-ID]: "podman run" arguments, one per line,
# for the agent container the plan describes; each comes from the plan.
run_args() {
	python3 - "$@" <<'EOF'
import json, sys
mode, path = sys.argv[1:3]
p = json.load(open(path))
m = p["apply"]["manifest"]
if mode == "job":
    spec = m["spec"]["template"]["spec"]
    (c,) = spec["containers"]
    name = m["metadata"]["name"]
    assert spec["hostPID"] is True and spec["nodeName"] == "${NODE}"
    a = ["--name", name, "--pid", "host"]
    a += ["--label=%s=%s" % kv for kv in m["spec"]["template"]["metadata"]["labels"].items()]
    a += ["--memory", c["resources"]["limits"]["memory"].replace("Mi", "m")]
    c["args"] = [sys.argv[3] if x == "${CONTAINER_ID}" else x for x in c["args"]]
else:
    (c,) = m["spec"]["ephemeralContainers"]
    a = ["--name", c["name"]]
sc = c["securityContext"]
a += ["--user", str(sc["runAsUser"])]
a += ["--cap-drop=" + x for x in sc["capabilities"]["drop"]]
a += ["--cap-add=" + x for x in sc["capabilities"]["add"]]
if sc["readOnlyRootFilesystem"]: a.append("--read-only")
if not sc["allowPrivilegeEscalation"]: a += ["--security-opt", "no-new-privileges"]
assert not sc["privileged"]
a += ["--entrypoint", c["command"][0], c["image"]] + c["args"]
print("\n".join(a))
EOF
}

say "ephemeral container (pod/py-serv/container/py-serv)"
plan ephemeral pod/py-serv/container/py-serv
run_args ephemeral "$T/plan.json" >"$T/run.args" || fail "plan to podman run"
mapfile -t RUNARGS <"$T/run.args"
AGENT_CTR=${RUNARGS[1]}
podman run -d --rm --pod py-serv --pid "container:$PYSERV_CTR" \
	"${RUNARGS[@]}" >/dev/null 2>"$T/run.err" || fail "podman run: $(cat "$T/run.err")"
on_exit "podman rm -f $AGENT_CTR"
gone_within 10 sh -c "podman logs $AGENT_CTR 2>&1 | grep -q 'ready ws://127.0.0.1:$PORT'" ||
	fail "the ephemeral agent did not start: $(podman logs "$AGENT_CTR" 2>&1 | tail -n 5)"
podman inspect "$AGENT_CTR" >"$T/inspect.json"
grep -qF "$(cat "$TOKEN")" "$T/inspect.json" && fail "the token is in the container's spec"
mount_in "$PYSERV_PID"
serves ephemeral
say "after umount the agent exits by itself (idle_ttl 6 s)"
gone_within 15 sh -c "! podman container exists $AGENT_CTR" ||
	fail "the ephemeral agent still runs 15 s after umount"

say "job (pod/py-serv, agent.mode = job)"
plan job pod/py-serv
run_args job "$T/plan.json" "podman://$CID" >"$T/run.args" || fail "plan to podman run"
mapfile -t RUNARGS <"$T/run.args"
JOB_CTR=${RUNARGS[1]}
podman run -d --rm "${RUNARGS[@]}" >/dev/null 2>"$T/run.err" || fail "podman run: $(cat "$T/run.err")"
on_exit "podman rm -f $JOB_CTR"
gone_within 10 sh -c "podman logs $JOB_CTR 2>&1 | grep -q 'ready ws://127.0.0.1:$PORT'" ||
	fail "the job's agent did not start: $(podman logs "$JOB_CTR" 2>&1 | tail -n 5)"
podman logs "$JOB_CTR" >"$T/job.log" 2>&1
grep -q "is process $PYSERV_PID" "$T/job.log" ||
	fail "the job's agent did not find py-serv's process $PYSERV_PID: $(podman logs "$JOB_CTR" 2>&1 | tail -n 5)"
[ "$(podman inspect --format '{{.HostConfig.PidMode}}' "$JOB_CTR")" = host ] ||
	fail "the job's agent is not in the host's PID namespace"
JOB_PID=$(podman inspect --format '{{.State.Pid}}' "$JOB_CTR")
[ "$(readlink "/proc/$JOB_PID/ns/net")" != "$(readlink "/proc/$PYSERV_PID/ns/net")" ] ||
	fail "the job's agent shares the target's network namespace"
mount_in "$JOB_PID"
serves job
say "after umount the job's agent exits by itself"
gone_within 15 sh -c "! podman container exists $JOB_CTR" ||
	fail "the job's agent still runs 15 s after umount"

say "nothing left behind"
pyserv_down
podman ps -a --format '{{.Names}}' | grep -E "mirror-agent|py-serv" && fail "containers left"
grep -F "$T/" /proc/mounts && fail "a mount is left"
say "ok"
