#!/usr/bin/env bash
# A name the user gives (a container, pod, deployment, container in a
# pod, namespace, context) never reaches kubectl, podman or docker as an
# option: one starting with '-' is refused with one line before any of
# them runs, and a container name goes after "--". Fake kubectl, podman
# and docker first in PATH (and kube.kubectl) record every argv they get.
. "$(dirname "$0")/lib.sh"

need_root
need_fuse
[ -x "$CTL" ] || fail "build first (make)"

mkdir -p "$T/bin" "$T/m"
for tool in kubectl podman docker; do
	cat >"$T/bin/$tool" <<EOS
#!/bin/sh
# Records its argv, one word a line, then fails as a tool would.
{ echo "== $tool"; for a in "\$@"; do printf '%s\n' "\$a"; done; } >>"$T/argv"
echo "Error: no such object" >&2
exit 1
EOS
	chmod +x "$T/bin/$tool"
done
export PATH=$T/bin:$PATH
echo "kube = { kubectl = \"$T/bin/kubectl\"; };" >"$T/kube.conf"
C=(--config "$T/kube.conf")

: >"$T/argv"
must_fail "podman/--help" "podman container" "--help" "starts with '-'" -- \
	"$CTL" mount podman/--help "$T/m"
must_fail "docker/-v" "docker container" "starts with '-'" -- \
	"$CTL" mount docker/-v "$T/m"
must_fail "pod/-x" "pod \"-x\"" "starts with '-'" -- \
	"$CTL" mount "${C[@]}" pod/-x "$T/m"
must_fail "deployment/--all" "deployment" "starts with '-'" -- \
	"$CTL" mount "${C[@]}" deployment/--all "$T/m"
must_fail "statefulset/-oyaml" "statefulset" "starts with '-'" -- \
	"$CTL" mount "${C[@]}" statefulset/-oyaml "$T/m"
must_fail "pod/web/container/--privileged" "container" "starts with '-'" -- \
	"$CTL" mount "${C[@]}" pod/web/container/--privileged "$T/m"
must_fail "-n -oyaml" "namespace \"-oyaml\"" "starts with '-'" -- \
	"$CTL" mount "${C[@]}" -n -oyaml pod/web "$T/m"
must_fail "--context -x" "context \"-x\"" "starts with '-'" -- \
	"$CTL" mount "${C[@]}" --context -x pod/web "$T/m"
must_fail "--context=--kubeconfig=/tmp/evil" "context" "starts with '-'" -- \
	"$CTL" mount "${C[@]}" --context=--kubeconfig=/tmp/evil pod/web "$T/m"
must_fail "--dry-run -n -oyaml" "namespace" "starts with '-'" -- \
	"$CTL" mount "${C[@]}" --dry-run -n -oyaml pod/web
must_fail "connect --context -x" "context" "starts with '-'" -- \
	"$CTL" connect "${C[@]}" --context -x pod/web
must_fail "connect pod/-x" "pod" "starts with '-'" -- \
	"$CTL" connect "${C[@]}" pod/-x
must_fail "ls -n -oyaml" "namespace" "starts with '-'" -- \
	"$CTL" ls "${C[@]}" -n -oyaml
must_fail "ls --context -x" "context" "starts with '-'" -- \
	"$CTL" ls "${C[@]}" --context -x
[ -s "$T/argv" ] && fail "a refused name reached a tool: $(tr '\n' ' ' <"$T/argv")"
grep -q " fuse.mirror " /proc/mounts && grep " fuse.mirror " /proc/mounts | grep -qF "$T/" &&
	fail "something was mounted"

# The fakes do run for good names (so the checks above saw them not
# run), and a container's name comes after "--".
for rt in podman docker; do
	: >"$T/argv"
	"$CTL" mount "$rt/web" "$T/m" >/dev/null 2>&1 && fail "$rt/web mounted with a fake $rt"
	[ "$(head -n 1 "$T/argv")" = "== $rt" ] || fail "$rt/web: the fake $rt did not run"
	[ "$(tail -n 2 "$T/argv" | tr '\n' ' ')" = "-- web " ] ||
		fail "$rt/web: the name is not after --: $(tr '\n' ' ' <"$T/argv")"
done
: >"$T/argv"
"$CTL" mount "${C[@]}" -n shop --context dev pod/web "$T/m" >/dev/null 2>&1 &&
	fail "pod/web mounted with a fake kubectl"
grep -qx web "$T/argv" && grep -qx shop "$T/argv" && grep -qx dev "$T/argv" ||
	fail "pod/web: kubectl did not get the pod, namespace and context: $(tr '\n' ' ' <"$T/argv")"
say "good names reach the tools; a podman/docker name after --"
echo ok
