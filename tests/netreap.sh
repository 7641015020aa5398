# Sourced by tests/net.sh and bench/net: nothing here but net_reap_stale,
# so that the bench can use it without the test library.

# net_reap_stale: the namespaces and host-side veths that a test or bench
# killed before its clean-up left behind. Each is named after the PID of
# the script that made it (mtp-pod-PID, mtl PID, ...); one whose script is
# gone is deleted, since a stale veth holding $AGENT_ADDR (10.78.0.1/30)
# on the host would take this run's traffic. Names of live scripts (a
# test running beside this one) are left alone.
net_reap_stale() {
	local n pid
	for n in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		case $n in
		mtp-*-[0-9]* | mtr-*-[0-9]* | mtn-*-[0-9]* | mnb-*-[0-9]* | \
			mtls-[0-9]* | mirror-net-[0-9]* | mt-probe-[0-9]*) pid=${n##*-} ;;
		*) continue ;;
		esac
		[[ $pid =~ ^[0-9]+$ ]] && [ ! -d "/proc/$pid" ] || continue
		echo "# removing the namespace $n a killed run left" >&2
		ip netns del "$n" 2>/dev/null
		rm -rf "/etc/netns/$n"
	done
	for n in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
		case $n in
		mtls[0-9]*) pid=${n#mtls} ;;
		mtl[0-9]*) pid=${n#mtl} ;;
		mnbh[0-9]*) pid=${n#mnbh} ;;
		mtn[0-9]*) pid=${n#mtn} ;;
		*) continue ;;
		esac
		[[ $pid =~ ^[0-9]+$ ]] && [ ! -d "/proc/$pid" ] || continue
		echo "# removing the link $n a killed run left" >&2
		ip link del "$n" 2>/dev/null
	done
	return 0
}
