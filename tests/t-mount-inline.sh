#!/usr/bin/env bash
# The agent serves metadata (lookup, getattr, xattrs) on its service
# thread when the root's file system does not block, and only on the
# root's own mount: a name on another mount inside the root (a tmpfs
# here, as a pod's volumes are), reached directly, through a symlink or
# by "..", is served by a worker, and every answer is right.
# (a) the agent says at start that it serves metadata itself;
# (b) with attribute timeouts 0 (every stat reaches the agent), stat,
#     getxattr and reads of names on the root's mount, on the inner
#     mount, through a symlink into it and out of it by "..", all agree
#     with the original;
# (c) the root's mount point of the inner mount: its attributes are the
#     mounted tmpfs root's, as on the original;
# (d) MIRROR_AGENT_INLINE=0: the agent does not say so, and the same
#     answers come from its workers.
. "$(dirname "$0")/lib.sh"

need_mount
need_cmd python3

[ "$(stat -f -c %T "$T")" != tmpfs ] || fail "$T is on tmpfs; the test needs a root on another file system"
R=$T/root M=$T/mnt
mkdir -p "$R/top/sub" "$R/vol" "$M"
mount -t tmpfs -o size=4m tmpfs "$R/vol" || fail "cannot mount a tmpfs (needs root)"
on_exit "umount -l '$R/vol'"
echo "on the root" >"$R/top/sub/f"
mkdir -p "$R/vol/d"
echo "on the volume" >"$R/vol/d/g"
chmod 0711 "$R/vol"
xattr() { python3 -c 'import os, sys
try: print(os.getxattr(sys.argv[1], "user.k").decode())
except OSError as e: print("err", e.errno)' "$1"; }
python3 -c 'import os; os.setxattr("'"$R"'/top/sub/f", "user.k", b"rootval")' || fail "setxattr on the root's file system"
python3 -c 'import os; os.setxattr("'"$R"'/vol/d/g", "user.k", b"volval")' || fail "setxattr on tmpfs"
ln -s ../vol/d "$R/top/tovol"
ln -s ../../top/sub "$R/vol/d/back"

printf 'fs = {\n  attr_timeout = 0.0;\n  entry_timeout = 0.0;\n  negative_timeout = 0.0;\n  watched_timeout = 0.0;\n};\n' >"$T/zero.conf"

# what a user checks, for names under dir
look() { # dir
	local d=$1 p
	for p in top/sub/f vol vol/d/g top/tovol/g vol/d/back/f top/tovol/back/f vol/d/../d/g; do
		printf '%s %s %s %s ' "$p" "$(stat -c '%s %a %i %h' "$d/$p")" \
			"$(xattr "$d/$p")" "$(cat "$d/$p" 2>/dev/null)"
		[ -d "$d/$p" ] && ls "$d/$p" | tr '\n' ,
		echo
	done
}
look "$R" >"$T/orig" || fail "looking at the original"

for mode in inline pool; do
	if [ $mode = pool ]; then
		MIRROR_AGENT_INLINE=0 start_agent "$R"
	else
		start_agent "$R"
	fi
	errf=$(ls -t "$T"/agent.*.err | head -1)
	if [ $mode = inline ]; then
		grep -q "served on the service thread" "$errf" ||
			fail "the agent does not serve metadata itself on $(stat -f -c %T "$R"): $(head -3 "$errf")"
	else
		! grep -q "served on the service thread" "$errf" ||
			fail "MIRROR_AGENT_INLINE=0: the agent still serves metadata itself"
	fi
	mount_url "$AGENT_URL" "$M" --config "$T/zero.conf"
	for pass in 1 2; do
		look "$M" >"$T/got" 2>"$T/got.err" || fail "$mode: looking through the mount failed: $(head -3 "$T/got.err")"
		diff -u "$T/orig" "$T/got" >"$T/diff" ||
			fail "$mode pass $pass: the mount differs from the original: $(cat "$T/diff")"
	done
	say "$mode: every answer agrees with the original ($(wc -l <"$T/orig") names, on the root's mount, a tmpfs inside it and across)"
	"$CTL" umount "$M" || fail "umount"
	kill "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null
done
