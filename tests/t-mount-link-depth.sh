#!/usr/bin/env bash
# A symlink with two names at different depths (a hard link to the link
# itself, which a pod can make) never leads out of the mount. The agent
# leaves "../../outside" as it is for a name two directories deep, where
# it stays inside; followed by the kernel from the top-level name, the
# same target would climb above the mount point into the laptop's own
# files. Each name of a symlink is a node of its own in mountd, asked
# about by that name: from either name the link leads where it leads in
# the pod, whichever name was looked up last.
. "$(dirname "$0")/lib.sh"

need_mount

R=$T/root M=$T/x/m	# ../.. from the mount point is $T
mkdir -p "$R/deep/a" "$M"
echo "laptop file above the mount point" >"$T/outside"
echo "pod file" >"$R/outside"
ln -s ../../outside "$R/deep/a/l"
ln -P "$R/deep/a/l" "$R/l2" || missing "ln -P cannot hard-link a symlink here"
[ "$(stat -c %h "$R/l2")" = 2 ] || fail "l2 is not a hard link of deep/a/l"

start_agent "$R"
mount_url "$AGENT_URL" "$M"

check() { # what
	local got
	got=$(cat "$M/l2" 2>/dev/null) || true
	[ "$got" != "laptop file above the mount point" ] ||
		fail "$1: $M/l2 led out of the mount to $T/outside"
	assert_eq "pod file" "$got" "$1: l2 (-> ../../outside from /), in the pod"
	got=$(cat "$M/deep/a/l" 2>/dev/null) || true
	assert_eq "pod file" "$got" "$1: deep/a/l -> ../../outside, in the pod"
	readlink "$M/l2" >"$T/t" 2>/dev/null || true
	case $(cat "$T/t") in ../*) fail "$1: l2 reads back as $(cat "$T/t") at the top" ;; esac
}

# The top-level name first, then the deep one, then the top one again
# while the kernel still holds its entry (fs.entry_timeout).
for round in 1 2 3; do
	readlink "$M/l2" >/dev/null 2>&1 || true
	readlink "$M/deep/a/l" >/dev/null || fail "readlink deep/a/l"
	check "round $round"
	sleep 0.3	# within fs.entry_timeout, on purpose: the timing is the test
done
say "l2 reads back as '$(cat "$T/t")'; deep/a/l as '$(readlink "$M/deep/a/l")'"
echo ok
