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

need_net() {
	need_root
	[ -c /dev/net/tun ] || missing "no /dev/net/tun"
	need_cmd ip iproute2
	need_cmd unshare util-linux
	need_cmd busybox busybox-static
	need_cmd python3
	need_cmd curl
	need_cmd dnsmasq dnsmasq-base
	need_cmd ping iputils-ping
	[ -x "$NETD" ] && [ -x "$AGENT" ] && [ -x "$CTL" ] || fail "build first (make)"
	ip netns add "mtp-probe-$$" 2>/dev/null || missing "cannot create network namespaces"
	ip netns del "mtp-probe-$$"
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
	ip netns add "$POD_NS" || fail "ip netns add"
	on_exit "ip netns del $POD_NS"
	ip netns add "$LAPTOP_NS" || fail "ip netns add"
	on_exit "ip netns del $LAPTOP_NS; rm -rf /etc/netns/$LAPTOP_NS"
	ip -n "$POD_NS" link set lo up
	# The agent may open ping sockets in the pod (ICMP echo).
	ip netns exec "$POD_NS" sysctl -qw net.ipv4.ping_group_range="0 2147483647"
	# A veth with both ends in the pod (this kernel has no dummy driver).
	ip -n "$POD_NS" link add pod0 type veth peer name pod1
	ip -n "$POD_NS" addr add "$POD_ADDR/24" dev pod0
	ip -n "$POD_NS" link set pod0 up
	ip -n "$POD_NS" link set pod1 up
	ip link add "$HOST_VETH" type veth peer name lap0 netns "$LAPTOP_NS" ||
		fail "veth"
	on_exit "ip link del $HOST_VETH"
	ip addr add "$AGENT_ADDR/30" dev "$HOST_VETH"
	ip link set "$HOST_VETH" up
	ip -n "$LAPTOP_NS" link set lo up
	ip -n "$LAPTOP_NS" addr add 10.78.0.2/30 dev lap0
	ip -n "$LAPTOP_NS" link set lap0 up

	mkdir -p "$T/www"
	echo "<h1>the web server of the pod</h1>" >"$T/www/index.html"
	pod_run busybox httpd -f -p "$POD_ADDR:80" -h "$T/www"
	pod_run python3 "$SRC/tests/netpeer.py" udp-echo "$POD_ADDR" 7
	pod_run python3 "$SRC/tests/netpeer.py" http "$POD_ADDR" 8080
	pod_run python3 "$SRC/tests/netpeer.py" sink "$POD_ADDR" 9000
	SOURCE_LOG=$T/source.log pod_run python3 "$SRC/tests/netpeer.py" source "$POD_ADDR" 9001
	pod_run dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces \
		--listen-address="$POD_ADDR" --port 53 --pid-file="$T/dnsmasq.pid" \
		--address="/$WEB_NAME/$POD_ADDR" --log-facility=-
	printf 'nameserver %s\nsearch demo.svc.cluster.local svc.cluster.local\noptions ndots:5\n' \
		"$POD_ADDR" >"$T/pod-resolv.conf"
	ip netns exec "$POD_NS" unshare -m sh -c \
		"mount --bind '$T/pod-resolv.conf' /etc/resolv.conf && exec sleep 100000" &
	TARGET_PID=$!
	on_exit "kill $TARGET_PID"
	for i in $(seq 50); do
		ip netns exec "$POD_NS" bash -c "echo >/dev/tcp/$POD_ADDR/80" 2>/dev/null &&
			grep -q /etc/resolv.conf "/proc/$TARGET_PID/mountinfo" 2>/dev/null && break
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
