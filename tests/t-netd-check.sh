# mirror-netd --check creates a TUN device, sees it through libnl, and
# leaves nothing behind.
. "$(dirname "$0")/lib.sh"
need_root
[ -c /dev/net/tun ] || missing "no /dev/net/tun"
out=$("$NETD" --check) || fail "mirror-netd --check failed: $out"
echo "$out"
case $out in ok:*"created and removed"*) ;; *) fail "unexpected output: $out" ;; esac
dev=$(echo "$out" | sed -n 's/.*TUN device \([^ ]*\) .*/\1/p')
[ -n "$dev" ] || fail "no device name in output"
if ip link show "$dev" >/dev/null 2>&1; then fail "TUN device $dev left behind"; fi
"$NETD" --help | grep -q "usage: mirror-netd" || fail "--help"
