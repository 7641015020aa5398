# shellcheck shell=bash
# Sourced after lib.sh: start_kubeapi DIR starts tests/kubeapi.py (a
# Kubernetes API server that knows pods only) on a free port of
# 127.0.0.1, with its pods in DIR/pods.json and its request log in
# DIR/requests, and writes DIR/kubeconfig: context "fake" (namespace
# "shop") reaches it, context "dead" (the current one) reaches nothing.
start_kubeapi() {
	local d=$1 port _
	mkdir -p "$d"
	[ -e "$d/pods.json" ] || echo '[]' >"$d/pods.json"
	: >"$d/requests"
	python3 "$SRC/tests/kubeapi.py" "$d/port" "$d/requests" "$d/pods.json" \
		2>"$d/kubeapi.err" &
	KUBEAPI_PID=$!
	on_exit "kill $KUBEAPI_PID"
	for _ in $(seq 100); do
		[ -s "$d/port" ] && break
		sleep 0.1
	done
	[ -s "$d/port" ] || fail "kubeapi.py did not start: $(cat "$d/kubeapi.err")"
	port=$(cat "$d/port")
	cat >"$d/kubeconfig" <<EOC
apiVersion: v1
kind: Config
clusters:
- cluster: {server: "http://127.0.0.1:$port"}
  name: fake
- cluster: {server: "https://127.0.0.1:1"}
  name: dead
contexts:
- context: {cluster: fake, user: u, namespace: shop}
  name: fake
- context: {cluster: dead, user: u}
  name: dead
current-context: dead
users:
- name: u
  user: {token: not-a-real-token}
EOC
}
