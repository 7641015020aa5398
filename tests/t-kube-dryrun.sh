#!/usr/bin/env bash
# Kubernetes targets without a cluster: for every target kind (pod,
# pod/container, deployment, statefulset), both agent modes (ephemeral
# container, job) and with/without -n, --context and --rw, the plan that
# "mirrorctl mount --dry-run" prints is what a cluster must be sent:
# only the agent's capabilities, the idle TTL from the configuration,
# clean-up labels on the job, a port-forward to the port the agent
# listens on, and the token nowhere (only its SHA-256). Then the errors
# a user meets without a reachable cluster: each one line naming the
# cause. (t-kube-podman runs these very manifests in podman.)
. "$(dirname "$0")/lib.sh"

need_cmd python3
need_cmd kubectl kubectl

TOKEN=$T/token
make_token "$TOKEN"
cat >"$T/eph.conf" <<'EOF'
agent = { image = "registry.example/mirror-agent:1.2"; idle_ttl = 123.0; port = 41234; };
EOF
cat >"$T/job.conf" <<'EOF'
agent = { mode = "job"; image = "registry.example/mirror-agent:1.2"; idle_ttl = 45.5; };
EOF

n=0
for mode in eph job; do
	for tgt in pod/web-0 pod/web-0/container/app deployment/orders statefulset/db; do
		for opts in "" "-n shop" "-n shop --context kind-dev --rw"; do
			n=$((n + 1))
			# shellcheck disable=SC2086
			"$CTL" mount --dry-run --config "$T/$mode.conf" --token-file "$TOKEN" \
				$opts "$tgt" "$T/unused" >"$T/plan.$n.json" 2>"$T/plan.err" ||
				fail "dry-run $mode $tgt $opts: $(cat "$T/plan.err")"
			[ -s "$T/plan.err" ] && fail "dry-run $mode $tgt $opts wrote to stderr: $(cat "$T/plan.err")"
			python3 - "$T/plan.$n.json" "$TOKEN" "$mode" "$tgt" "$opts" <<'EOF' ||
import hashlib, json, sys
path, tokfile, mode, tgt, opts = sys.argv[1:]
raw = open(path).read()
tok = open(tokfile).read().strip()
p = json.loads(raw)
opts = opts.split()
ns = opts[opts.index("-n") + 1] if "-n" in opts else None
ctx = opts[opts.index("--context") + 1] if "--context" in opts else None
rw = "--rw" in opts
job = mode == "job"

def check(cond, what):
    if not cond:
        sys.exit("%s %s %s: %s\n%s" % (mode, tgt, " ".join(opts), what, raw))

# The token is nowhere; its hash is what the agent gets.
h = hashlib.sha256(tok.encode()).hexdigest()
check(tok not in raw, "the token appears in the plan")
check(p["token_sha256"] == h, "token_sha256 is not the token's SHA-256")
check(p["target"] == tgt and p["namespace"] == ns and p["context"] == ctx,
      "target/namespace/context")
check(p["mode"] == ("job" if job else "ephemeral"), "mode")
check(p["image"] == "registry.example/mirror-agent:1.2", "image from agent.image")

# Every kubectl command carries the context and namespace, in that order.
def kubectl(argv, what):
    check(argv[0] == "kubectl", what + ": not kubectl")
    pre = []
    if ctx: pre += ["--context", ctx]
    if ns: pre += ["-n", ns]
    check(argv[1:1 + len(pre)] == pre, what + ": context/namespace " + str(argv))
    return argv[1 + len(pre):]

kind, name = tgt.split("/")[0], tgt.split("/")[1]
res = [kubectl(a, "resolve") for a in p["resolve"]]
if kind == "pod":
    check(len(res) == 1 and res[0][:3] == ["get", "pod", name], "resolve a pod")
    check(p["pod"] == name, "pod name")
else:
    check(len(res) == 2 and res[0][:3] == ["get", kind, name], "resolve the " + kind)
    check(res[1][:3] == ["get", "pods", "-l"], "list the pods by selector")
    check(p["pod"] == "${POD}", "pod placeholder")
want_c = tgt.split("/")[3] if "/container/" in tgt else "${CONTAINER}"
check(p["container"] == want_c, "container")

m = p["apply"]["manifest"]
apply = kubectl(p["apply"]["argv"], "apply")
if job:
    check(apply == ["create", "-f", "-"] and p["apply"]["stdin"] == "manifest",
          "a job is created from stdin")
    check(m["apiVersion"] == "batch/v1" and m["kind"] == "Job", "a Job")
    labels = m["metadata"]["labels"]
    for l in (labels, m["spec"]["template"]["metadata"]["labels"]):
        check(l.get("app.kubernetes.io/managed-by") == "mirrorctl" and
              l.get("mirror.dev/session") == p["session"] and
              l.get("app.kubernetes.io/name") == "mirror-agent",
              "clean-up labels on the job and its pod")
    check(m["metadata"]["name"] == p["agent"], "job name")
    check(m["metadata"]["annotations"]["mirror.dev/target"] == p["pod"], "target annotation")
    check(m["spec"]["backoffLimit"] == 0 and m["spec"]["ttlSecondsAfterFinished"] > 0,
          "no retries; removed after it finishes")
    spec = m["spec"]["template"]["spec"]
    check(spec["hostPID"] is True and spec["restartPolicy"] == "Never", "hostPID, Never")
    check(spec["nodeName"] == "${NODE}", "the target's node")
    check(spec["automountServiceAccountToken"] is False, "no service account token")
    check("hostNetwork" not in spec and "volumes" not in spec, "no host network, no volumes")
    (c,) = spec["containers"]
    args = c["args"]
    check(args[args.index("--target-container-id") + 1] == "${CONTAINER_ID}",
          "the agent finds the container by its ID")
    check("--target-pid" not in args, "no --target-pid in job mode")
    cleanup = [kubectl(a, "cleanup") for a in p["cleanup"]]
    check(len(cleanup) == 1 and cleanup[0][:3] == ["delete", "job", p["agent"]],
          "umount deletes the job")
    check("--cascade=background" in cleanup[0], "its pod too")
    check(p["wait"][-1].startswith("go-template=") and
          "mirror.dev/session=" + p["session"] in p["wait"], "wait by session label")
else:
    check(apply[:3] == ["patch", "pod", p["pod"]] and
          "--subresource=ephemeralcontainers" in apply, "patch ephemeralcontainers")
    check(json.loads(apply[apply.index("-p") + 1]) == m, "the patch is the manifest")
    check(p["apply"]["stdin"] is None, "no stdin")
    (c,) = m["spec"]["ephemeralContainers"]
    check(c["name"] == p["agent"] and c["name"].startswith("mirror-agent-"), "container name")
    check(c["targetContainerName"] == want_c, "targets the container's process namespace")
    args = c["args"]
    check(args[args.index("--target-pid") + 1] == "1", "the target is PID 1 of its namespace")
    check(p["cleanup"] == [], "nothing to delete (the TTL ends it)")
    check(kubectl(p["wait"], "wait")[:3] == ["get", "pod", p["pod"]], "wait on the pod")
check(c["image"] == p["image"] and c["command"] == ["/usr/bin/mirror-agent"], "image and command")

# Only the capabilities the agent needs; nothing privileged.
sc = c["securityContext"]
check(sc["capabilities"]["drop"] == ["ALL"], "drops ALL")
check(sorted(sc["capabilities"]["add"]) == sorted(["CHOWN", "DAC_OVERRIDE",
      "FOWNER", "FSETID", "NET_ADMIN", "SETGID", "SETUID", "SYS_PTRACE"] + (["SYS_ADMIN"] if job else [])),
      "capabilities (NET_ADMIN for steal's nftables table; job mode: SYS_ADMIN to enter the target's netns)")
check(sc["privileged"] is False and sc["allowPrivilegeEscalation"] is False,
      "not privileged")
check(sc["readOnlyRootFilesystem"] is True, "read-only root")

# The agent: TTL from the config, token hash, listens where port-forward goes.
ttl = args[args.index("--idle-ttl") + 1]
check(float(ttl) == (45.5 if job else 123.0), "idle TTL from agent.idle_ttl")
check(args[args.index("--token-sha256") + 1] == h, "the agent gets the hash")
check("--token-file" not in args, "no token file")
listen = args[args.index("--listen") + 1]
check(listen == "127.0.0.1:%d" % p["agent_port"], "listens on loopback in the pod")
if not job:
    check(p["agent_port"] == 41234, "agent.port")
else:
    check(40000 <= p["agent_port"] < 60000, "a picked port")
check(("--rw" in args) == rw, "--rw passed on")
pf = kubectl(p["port_forward"], "port-forward")
check(pf == ["port-forward", "--address", "127.0.0.1",
             "pod/" + ("${AGENT_POD}" if job else p["pod"]),
             "${LOCAL_PORT}:%d" % p["agent_port"]], "port-forward arguments")
EOF
				fail "plan check"
		done
	done
done
say "$n plans checked"

# Two dry runs never share a session name or (with port 0) a fixed port.
a=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["session"])' "$T/plan.1.json")
b=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["session"])' "$T/plan.2.json")
[ "$a" != "$b" ] || fail "two plans share the session name $a"
# Without --token-file the plan holds a fresh token's hash, never a token.
"$CTL" mount --dry-run pod/x >"$T/p0.json" || fail "dry-run without a token file"
python3 -c 'import json,sys; p = json.load(open(sys.argv[1])); assert len(p["token_sha256"]) == 64' "$T/p0.json" ||
	fail "dry-run without a token file has no hash"

say "errors without a cluster (-q: the error alone, without the progress lines before it)"
cat >"$T/kubeconfig" <<'EOF'
apiVersion: v1
kind: Config
clusters:
- cluster: {server: "https://127.0.0.1:1"}
  name: dead
contexts:
- context: {cluster: dead, user: u}
  name: dead
current-context: dead
users:
- name: u
  user: {token: not-a-real-token}
EOF
mkdir -p "$T/m"
export KUBECONFIG=$T/kubeconfig
must_fail "cluster unreachable" "no reachable cluster" "127.0.0.1:1" "cluster-info" -- \
	"$CTL" mount -q pod/web "$T/m"
must_fail "cluster unreachable (deployment)" "no reachable cluster" -- \
	"$CTL" mount -q -n shop deployment/orders "$T/m"
must_fail "unknown context" "no reachable cluster in context nope" -- \
	"$CTL" mount -q --context nope pod/web "$T/m"
export KUBECONFIG=$T/no-such-kubeconfig
must_fail "no kubeconfig" "no reachable cluster" -- "$CTL" mount -q statefulset/db "$T/m"
echo 'kube = { kubectl = "/nonexistent/kubectl"; };' >"$T/nokubectl.conf"
must_fail "no kubectl" "cannot run kubectl" "kube.kubectl" -- \
	"$CTL" mount -q --config "$T/nokubectl.conf" pod/web "$T/m"
echo 'agent = { mode = "daemonset"; };' >"$T/badmode.conf"
must_fail "bad agent.mode" "agent.mode" -- "$CTL" mount --config "$T/badmode.conf" --dry-run pod/web
must_fail "dry-run of a local target" "local" -- "$CTL" mount --dry-run pid/1 "$T/m"
for bad in pod/ pod/a/b pod/a/container/ deployment/a/container/b statefulset/; do
	must_fail "bad target $bad" "want" -- "$CTL" mount --dry-run "$bad"
done
ls "$MIRROR_STATE_DIR/sessions" 2>/dev/null | grep -q . &&
	fail "a failed mount left session state: $(ls "$MIRROR_STATE_DIR/sessions")"
grep -qF "$T/m" /proc/mounts && fail "a mount was left"

say "ls without a cluster says so and still lists"
"$CTL" ls -o json >"$T/ls.json" 2>"$T/ls.err" || fail "ls: $(cat "$T/ls.err")"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/ls.json" || fail "ls -o json is not JSON"
grep -q "kubernetes: no reachable cluster" "$T/ls.err" || fail "ls does not say the cluster is unreachable: $(cat "$T/ls.err")"
say "ok"
