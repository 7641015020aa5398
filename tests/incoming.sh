# Pieces for the incoming-traffic scripts (sourced after lib.sh and
# net.sh, once net_topology has run): t-incoming-steal.sh,
# t-incoming-mirror.sh, t-incoming-filter.sh and bench/incoming.
#   client  10.82.0.2/30 on a veth to the pod's namespace (10.82.0.1),
#           routed through it: it reaches the pod's address the way
#           another pod would
# and shells as mirrorctl makes them: a network namespace of their own
# with mirror-netd --netns ... --incoming MODE in it.

# client_ns: the client namespace ($CLIENT_NS); client CMD... runs
# there, pod CMD... in the pod's.
client_ns() {
	CLIENT_NS=mtp-cli-$$
	netns_add "$CLIENT_NS"
	ip -n "$POD_NS" link add podcli0 type veth peer name podcli1 netns "$CLIENT_NS" ||
		fail "veth pod-client"
	ip -n "$POD_NS" addr add 10.82.0.1/30 dev podcli0
	ip -n "$POD_NS" link set podcli0 up
	ip -n "$CLIENT_NS" addr add 10.82.0.2/30 dev podcli1
	ip -n "$CLIENT_NS" link set podcli1 up
	ip -n "$CLIENT_NS" route add default via 10.82.0.1
}
client() { ip netns exec "$CLIENT_NS" "$@"; }
pod() { ip netns exec "$POD_NS" "$@"; }
# table: the agent's nftables table in the pod, if any.
table() { pod nft list tables | sed -n 's/^table inet \(mirror_agent_[0-9]*\)$/\1/p'; }

# shell_ns VAR: a fresh network namespace holding a sleep; its PID in VAR.
shell_ns() {
	unshare --net sleep 100000 &
	local pid=$!
	on_exit "kill $pid 2>/dev/null"
	wait_for 5 eval "[ \"\$(readlink /proc/$pid/ns/net)\" != \"\$(readlink /proc/self/ns/net)\" ]" ||
		fail "unshare --net did not start"
	printf -v "$1" %s "$pid"
}
# netd_for SHELLPID NAME MODE [ARGS]: mirror-netd for that shell with
# --incoming MODE, as mirrorctl starts it; NAME.* files under $T. Sets
# NETD_PID.
netd_for() {
	local sh=$1 name=$2 mode=$3; shift 3
	laptop "$NETD" --agent "$AGENT_URL" --token-file "$T/token" \
		--netns "/proc/$sh/ns/net" --exit-with "$sh" --incoming "$mode" \
		--status-file "$T/$name.status" --pid-file "$T/$name.pid" \
		--log-file "$T/$name.log" --log-level debug "$@" \
		>"$T/$name.ready" 2>"$T/$name.err" ||
		fail "netd for $name: $(cat "$T/$name.err")"
	NETD_PID=$(cat "$T/$name.pid")
	on_exit "kill $NETD_PID 2>/dev/null"
}
