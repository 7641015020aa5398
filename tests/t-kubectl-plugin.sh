#!/usr/bin/env bash
# "kubectl mirror ..." is mirrorctl as a kubectl plugin: the real kubectl
# finds kubectl-mirror on PATH (kubectl plugin list) and runs it; the
# plugin hands kubectl's -n/--namespace and --context to the subcommand
# (before or after its name) and --kubeconfig to every kubectl call. A
# dry run shows -n and --context in every kubectl command line; runs
# against tests/kubeapi.py (an API server that knows pods only) show
# the namespace, context and kubeconfig reaching the server.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/kubeapi.sh"

need_cmd kubectl kubectl
need_cmd python3
[ -x "$CTL" ] || fail "$CTL is not built"

# Installed next to mirrorctl, as make install and the package put it.
mkdir -p "$T/bin" "$T/home" "$T/m"
ln -s "$SRC/kubectl-mirror" "$T/bin/kubectl-mirror"
ln -s "$(realpath "$CTL")" "$T/bin/mirrorctl"
export PATH=$T/bin:$PATH HOME=$T/home
unset KUBECONFIG

say "kubectl plugin list finds it"
kubectl plugin list >"$T/list" 2>"$T/list.err" ||
	fail "kubectl plugin list: $(cat "$T/list.err")"
grep -qx "$T/bin/kubectl-mirror" "$T/list" || fail "kubectl plugin list: $(cat "$T/list")"
grep -q "warning" "$T/list.err" && fail "kubectl plugin list warns: $(cat "$T/list.err")"

say "kubectl mirror --help is mirrorctl's"
kubectl mirror --help >"$T/help" 2>&1 || fail "kubectl mirror --help failed: $(cat "$T/help")"
grep -q "usage: kubectl mirror COMMAND" "$T/help" || fail "no plugin usage: $(cat "$T/help")"
grep -q "^  mount " "$T/help" || fail "no command list: $(cat "$T/help")"
kubectl mirror mount --help | grep -q "^usage: mirrorctl mount" || fail "mount --help"

say "dry runs: -n and --context reach every kubectl command"
check_plan() { # file ns ctx
	python3 - "$@" <<'PY'
import json, sys
path, ns, ctx = sys.argv[1:]
p = json.load(open(path))
assert p["namespace"] == ns and p["context"] == ctx, (p["namespace"], p["context"])
pre = ["kubectl", "--context", ctx, "-n", ns]
cmds = p["resolve"] + [p["apply"]["argv"], p["wait"], p["port_forward"]] + p["cleanup"]
for a in cmds:
    assert a[:5] == pre, a
print(len(cmds), "kubectl commands")
PY
}
n=0
while read -r args; do
	n=$((n + 1))
	# shellcheck disable=SC2086
	kubectl mirror $args >"$T/plan.$n" 2>"$T/plan.err" ||
		fail "kubectl mirror $args: $(cat "$T/plan.err")"
	check_plan "$T/plan.$n" shop kind-dev >"$T/check" 2>&1 ||
		fail "kubectl mirror $args: $(cat "$T/check")"
	say "  $args: $(cat "$T/check")"
done <<'ARGS'
mount --dry-run -n shop --context kind-dev pod/web-0
mount --dry-run pod/web-0 --namespace shop --context=kind-dev
-n shop --context kind-dev mount --dry-run pod/web-0
--namespace=shop --context=kind-dev mount --dry-run deployment/orders
--kubeconfig /nonexistent -n shop mount --context kind-dev --dry-run statefulset/db
ARGS

say "--kubeconfig reaches kubectl (a server only that file names)"
start_kubeapi "$T/api"
cat >"$T/api/pods.json" <<'JSON'
[{"namespace": "shop", "name": "web-0", "containers": ["app"]},
 {"namespace": "team-b", "name": "api-1", "containers": ["api", "sidecar"]}]
JSON
# The current context of that file reaches nothing: its address shows.
# (-q: the progress line would come before the error.)
must_fail "current context dead" "no reachable cluster" "127.0.0.1:1" -- \
	kubectl mirror mount -q --kubeconfig "$T/api/kubeconfig" pod/web-0 "$T/m"
: >"$T/api/requests"
must_fail "pod not in the fake cluster" "pod/web-9 not found in shop" -- \
	kubectl mirror mount -q --kubeconfig "$T/api/kubeconfig" --context fake -n shop pod/web-9 "$T/m"
grep -q "^GET /api/v1/namespaces/shop/pods/web-9" "$T/api/requests" ||
	fail "kubectl did not ask the server for shop/web-9: $(cat "$T/api/requests")"
: >"$T/api/requests"
must_fail "flags before the command" "pod/x not found in team-b" -- \
	kubectl mirror --kubeconfig="$T/api/kubeconfig" --context=fake -n team-b mount -q pod/x "$T/m"
grep -q "^GET /api/v1/namespaces/team-b/pods/x" "$T/api/requests" ||
	fail "kubectl did not ask for team-b/x: $(cat "$T/api/requests")"

say "kubectl mirror ls with the same flags"
kubectl mirror ls --kubeconfig "$T/api/kubeconfig" --context fake >"$T/ls" 2>"$T/ls.err" ||
	fail "ls: $(cat "$T/ls.err")"
grep -q "^pod/web-0 .*kubernetes" "$T/ls" || fail "ls in the context's namespace: $(cat "$T/ls")"
grep -q "api-1" "$T/ls" && fail "ls listed another namespace: $(cat "$T/ls")"
kubectl mirror -n team-b ls --kubeconfig "$T/api/kubeconfig" --context fake >"$T/ls2" 2>"$T/ls.err" ||
	fail "ls -n team-b: $(cat "$T/ls.err")"
grep -q "^pod/api-1/container/sidecar " "$T/ls2" || fail "ls -n team-b: $(cat "$T/ls2")"
ls "$MIRROR_STATE_DIR/sessions" 2>/dev/null | grep -q . &&
	fail "a failed mount left session state"

say "errors name the plugin's usage"
kubectl mirror >/dev/null 2>"$T/u.err" && fail "kubectl mirror with no command succeeded"
grep -q "^usage: kubectl mirror COMMAND" "$T/u.err" || fail "no usage: $(cat "$T/u.err")"
kubectl mirror --bogus mount >/dev/null 2>"$T/u.err" && fail "an unknown flag was taken"
grep -q "unknown flag --bogus before the command" "$T/u.err" || fail "unknown flag: $(cat "$T/u.err")"
must_fail "--kubeconfig without a file" "needs a file" -- kubectl mirror ls --kubeconfig
say "ok"
