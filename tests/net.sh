# The network test topology (sourced after lib.sh), made of network
# namespaces only:
#   pod     10.77.0.2/24 on a link of its own: busybox httpd :80, a UDP echo
#           :7, an HTTP server for bursts :8080, a sink :9000 and a source
#           :9001 (tests/netpeer.py), and
#           dnsmasq :53 answering web.demo.svc.cluster.local; a process
#           there ($TARGET_PID) whose /etc/resolv.conf names dnsmasq
#   host    the agent for that process, listening on 10.78.0.1 only
#   laptop  10.78.0.2/30 on a veth to the host: it reaches the agent's
#           port and nothing in the pod, except through the tunnel
POD_ADDR=10.77.0.2
AGENT_ADDR=10.78.0.1
WEB_NAME=web.demo.svc.cluster.local

# The pieces below build it; tests with another topology (t-agent-net,
# t-netd-tun, t-netd-routes) use the same pieces.

. "$(dirname "${BASH_SOURCE[0]}")/netreap.sh"

# need_netns: root, ip and network namespaces (a probe); then
# net_reap_stale.
need_netns() {
	need_root
	need_cmd ip iproute2
	ip netns add "mt-probe-$$" 2>/dev/null || missing "cannot create network namespaces"
	ip netns del "mt-probe-$$"
	net_reap_stale
}

need_net() {
	need_netns
	[ -c /dev/net/tun ] || missing "no /dev/net/tun"
	need_cmd unshare util-linux
	need_cmd busybox busybox-static
	need_cmd python3
	need_cmd curl
	need_cmd dnsmasq dnsmasq-base
	need_cmd ping iputils-ping
	[ -x "$NETD" ] && [ -x "$AGENT" ] && [ -x "$CTL" ] || fail "build first (make)"
}

# netns_add NS: a network namespace with lo up, deleted at exit with its
# /etc/netns/NS (where "ip netns exec" finds files to bind over /etc).
netns_add() {
	ip netns add "$1" || fail "ip netns add $1"
	on_exit "ip netns del $1; rm -rf /etc/netns/$1"
	ip -n "$1" link set lo up
}

# pod_links NS: the pod's link, a veth with both ends in NS (this kernel
# has no dummy driver): pod0 with $POD_ADDR/24, and pod1; both up.
pod_links() {
	ip -n "$1" link add pod0 type veth peer name pod1 || fail "veth in $1"
	ip -n "$1" addr add "$POD_ADDR/24" dev pod0
	ip -n "$1" link set pod0 up
	ip -n "$1" link set pod1 up
}

# pod_resolv FILE: a resolv.conf that names the pod's dnsmasq (pod_dns)
# with a cluster's search list.
pod_resolv() {
	printf 'nameserver %s\nsearch demo.svc.cluster.local svc.cluster.local\noptions ndots:5\n' \
		"$POD_ADDR" >"$1"
}

# pod_target NS [RESOLV_CONF]: a process in NS, the agent's target
# ($TARGET_PID); with RESOLV_CONF, that file is its /etc/resolv.conf.
# Returns once it runs there (ip netns exec enters the namespace after
# the fork: an agent started earlier might serve the wrong one).
pod_target() {
	local i
	if [ -n "${2:-}" ]; then
		ip netns exec "$1" unshare -m sh -c \
			"mount --bind '$2' /etc/resolv.conf && exec sleep 100000" &
	else
		ip netns exec "$1" sleep 100000 &
	fi
	TARGET_PID=$!
	on_exit "kill $TARGET_PID"
	for i in $(seq 100); do
		[ "$(cat "/proc/$TARGET_PID/comm" 2>/dev/null)" = sleep ] && return 0
		sleep 0.05
	done
	fail "the target process did not start"
}

# pod_dns NS: dnsmasq on $POD_ADDR:53 in NS, answering $WEB_NAME.
pod_dns() {
	POD_NS=$1 pod_run dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces \
		--listen-address="$POD_ADDR" --port 53 --pid-file="$T/dnsmasq.pid" \
		--address="/$WEB_NAME/$POD_ADDR" --log-facility=-
}

# netns_agent NS ARGS...: start_agent, with the agent inside NS (its
# 127.0.0.1 is NS's own).
netns_agent() {
	local ns=$1; shift
	printf '#!/bin/sh\nexec ip netns exec %s "%s" "$@"\n' "$ns" "$AGENT" >"$T/agent-in-$ns"
	chmod +x "$T/agent-in-$ns"
	AGENT=$T/agent-in-$ns start_agent "$@"
}

# pod_run CMD...: CMD in the background in the pod's namespace.
pod_run() {
	ip netns exec "$POD_NS" "$@" >>"$T/pod.log" 2>&1 &
	on_exit "kill $!"
}

net_topology() {
	local i
	POD_NS=mtp-pod-$$
	LAPTOP_NS=mtp-lap-$$
	HOST_VETH=mtl$$
	netns_add "$POD_NS"
	netns_add "$LAPTOP_NS"
	# The agent may open ping sockets in the pod (ICMP echo).
	ip netns exec "$POD_NS" sysctl -qw net.ipv4.ping_group_range="0 2147483647"
	pod_links "$POD_NS"
	ip link add "$HOST_VETH" type veth peer name lap0 netns "$LAPTOP_NS" ||
		fail "veth"
	on_exit "ip link del $HOST_VETH"
	ip addr add "$AGENT_ADDR/30" dev "$HOST_VETH"
	ip link set "$HOST_VETH" up
	ip -n "$LAPTOP_NS" addr add 10.78.0.2/30 dev lap0
	ip -n "$LAPTOP_NS" link set lap0 up

	mkdir -p "$T/www"
	echo "<h1>the web server of the pod</h1>" >"$T/www/index.html"
	pod_run busybox httpd -f -p "$POD_ADDR:80" -h "$T/www"
	pod_run python3 "$SRC/tests/netpeer.py" udp-echo "$POD_ADDR" 7
	pod_run python3 "$SRC/tests/netpeer.py" http "$POD_ADDR" 8080
	pod_run python3 "$SRC/tests/netpeer.py" sink "$POD_ADDR" 9000
	SOURCE_LOG=$T/source.log pod_run python3 "$SRC/tests/netpeer.py" source "$POD_ADDR" 9001
	pod_dns "$POD_NS"
	pod_resolv "$T/pod-resolv.conf"
	pod_target "$POD_NS" "$T/pod-resolv.conf"
	for i in $(seq 50); do
		ip netns exec "$POD_NS" bash -c "echo >/dev/tcp/$POD_ADDR/80" 2>/dev/null && break
		sleep 0.1
	done
	# The agent's "network" is a veth inside this machine: plaintext is
	# allowed there on purpose, unless the test asks for --tls.
	local plain=--insecure-plaintext
	[[ " ${NET_AGENT_ARGS:-} " == *" --tls "* ]] && plain=
	AGENT_LISTEN=$AGENT_ADDR:0 start_agent --target-pid "$TARGET_PID" \
		$plain ${NET_AGENT_ARGS:-}
}

# both_ways BYTES: BYTES from the laptop to the pod's sink and as many
# back from its source, through whatever routes the laptop has; sha256s
# compared at both ends.
both_ways() {
	local sent got sum n
	read -r sent got < <(laptop python3 "$SRC/tests/netpeer.py" send "$POD_ADDR" 9000 "$1")
	assert_eq "$sent" "$got" "sha256 of $1 bytes laptop -> pod"
	read -r sum n < <(laptop python3 "$SRC/tests/netpeer.py" fetch "$POD_ADDR" 9001 "$1")
	assert_eq "$1" "$n" "bytes pod -> laptop"
	assert_eq "$(tail -n 1 "$T/source.log")" "$sum" "sha256 of $1 bytes pod -> laptop"
}

# laptop CMD...: CMD in the laptop's namespace.
laptop() {
	ip netns exec "$LAPTOP_NS" "$@"
}
