#!/usr/bin/env bash
# A mount shows the served tree exactly as it is: every name (spaces,
# UTF-8, 255 bytes), type (files, dirs, symlinks, hard links, fifos, a
# socket, a device node), size, mode (setuid, setgid, sticky), owner,
# mtime to the nanosecond, link target, link count and inode number, and
# every file's bytes. ls -la and stat -f work; every write fails with
# EROFS and leaves the original alone. Then the same for the demo pod:
# its mount shows its rootfs, and its /proc is the pod's own; a --rw
# mount of it writes into the pod, as the pod itself sees.
. "$(dirname "$0")/lib.sh"

need_mount
need_cmd python3
need_cmd sha256sum coreutils

R=$T/root		# the original
M=$T/mnt		# its mount
mkdir -p "$R" "$M"

say "building the tree in $R"
(
	set -e
	cd "$R"
	mkdir -p a/b/c/d/e/f/g/h empty "with space" "é" "日本語/サブ" big many
	# Sizes.
	: >a/zero
	printf x >a/one
	head -c 4095 /dev/urandom >a/b/s4095
	head -c 4096 /dev/urandom >a/b/s4096
	head -c 4097 /dev/urandom >a/b/s4097
	head -c 131073 /dev/urandom >a/b/c/s128k1
	head -c $((1048576 + 3)) /dev/urandom >big/mib3
	head -c $((3 * 1048576 + 12345)) /dev/urandom >big/mib3x
	truncate -s 10M big/sparse
	printf 'in the middle' | dd of=big/sparse bs=1 seek=5000000 conv=notrunc status=none
	echo deep >a/b/c/d/e/f/g/h/deep.txt
	# A few hundred small files, each with its own content.
	for i in $(seq 1 400); do
		echo "file $i $RANDOM" >"many/f$i"
	done
	# Names.
	echo space >"with space/a file with spaces"
	echo accent >"é/café"
	echo nihongo >"日本語/サブ/ファイル.txt"
	echo tab >"$(printf 'tab\there')"
	echo dash >"-leading-dash"
	long=$(printf 'L%.0s' $(seq 255))
	echo long >"$long"
	mkdir "d$(printf 'D%.0s' $(seq 254))"
	echo inlongdir >"d$(printf 'D%.0s' $(seq 254))/x"
	# 85 x 3-byte UTF-8 character = 255 bytes.
	echo longutf8 >"$(printf '日%.0s' $(seq 85))"
	# Modes and owners.
	echo 600 >m600; chmod 0600 m600
	echo 755 >m755; chmod 0755 m755
	echo 444 >m444; chmod 0444 m444
	echo 000 >m000; chmod 0000 m000
	echo 4755 >suid; chmod 4755 suid
	mkdir sgid; chmod 2775 sgid; echo in-sgid >sgid/f
	mkdir sticky; chmod 1777 sticky
	mkdir private; chmod 0700 private; echo secret >private/f
	echo owned >owned; chown 1234:5678 owned
	mkdir owneddir; chown 4321:8765 owneddir
	# Hard links: three names, two directories.
	echo "hard linked" >a/hl1
	ln a/hl1 a/hl2
	ln a/hl1 "with space/hl3"
	# Relative symlinks (kept as they are): file, dir, up-and-down,
	# chain, dangling, with spaces.
	ln -s one a/l-file
	ln -s b a/l-dir
	ln -s ../../a/zero a/b/l-up
	ln -s l-file a/l-chain
	ln -s does/not/exist a/l-dangling
	ln -s "a file with spaces" "with space/l to spaces"
	ln -s "../日本語/サブ/ファイル.txt" "é/l-utf8"
	# Special files.
	mkfifo fifo a/b/fifo2
	python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' sock
	mknod chardev c 1 3
)
[ $? = 0 ] || fail "could not build the tree"
[ -S "$R/sock" ] || fail "no socket was created"

# mtimes last (children before their directory), all different, with
# nanoseconds, one before 1970 and one far ahead.
i=0
while IFS= read -r -d '' p; do
	i=$((i + 1))
	touch -h -d "2001-02-03 04:05:06.$(printf '%09d' $((i * 7919)))" "$R/$p" ||
		fail "touch $p"
done < <(cd "$R" && find . -depth -mindepth 1 -print0)
touch -d '1969-07-20 20:17:40.5' "$R/a/one"
touch -d '2100-01-01 00:00:00.999999999' "$R/a/b/s4096"
touch -d '2010-10-10 10:10:10.101010101' "$R"

# type size mode owner mtime target nlink inode path
listing() { # dir [find args]
	local d=$1; shift
	(cd "$d" && find . "$@" -printf '%y %s %m %U:%G %T@ [%l] %n %i %P\n' | LC_ALL=C sort)
}
sums() { # dir [find args]
	local d=$1; shift
	(cd "$d" && find . "$@" -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}
listing "$R" >"$T/orig.list" || fail "find in the original"
sums "$R" >"$T/orig.sums" || fail "sha256sum in the original"
n=$(wc -l <"$T/orig.list")
[ "$n" -gt 450 ] || fail "the tree has only $n entries"

start_agent "$R"
say "agent at $AGENT_URL"
mount_url "$AGENT_URL" "$M"
is_mounted "$M" || fail "$M is not in /proc/mounts after mount"

say "tree listing through the mount ($n entries)"
listing "$M" >"$T/mnt.list" 2>"$T/mnt.list.err" ||
	fail "find through the mount failed: $(head -n 5 "$T/mnt.list.err")"
diff -u "$T/orig.list" "$T/mnt.list" >"$T/list.diff" ||
	fail "the mount's listing differs from the original: $(head -n 40 "$T/list.diff")"

say "file contents through the mount"
sums "$M" >"$T/mnt.sums" 2>"$T/mnt.sums.err" ||
	fail "sha256sum through the mount failed: $(head -n 5 "$T/mnt.sums.err")"
diff -u "$T/orig.sums" "$T/mnt.sums" >"$T/sums.diff" ||
	fail "file contents differ: $(head -n 20 "$T/sums.diff")"
[ "$(wc -l <"$T/mnt.sums")" -ge 420 ] || fail "too few files were summed"

say "hard links and inode numbers"
i1=$(stat -c %i "$M/a/hl1") && i2=$(stat -c %i "$M/a/hl2") &&
	i3=$(stat -c %i "$M/with space/hl3") || fail "stat of the hard links"
[ "$i1" = "$i2" ] && [ "$i1" = "$i3" ] ||
	fail "hard links have different inodes through the mount: $i1 $i2 $i3"
assert_eq "$(stat -c %i "$R/a/hl1")" "$i1" "hard link inode vs the original"
assert_eq 3 "$(stat -c %h "$M/a/hl2")" "hard link count"
assert_eq "$(stat -c %i "$R")" "$(stat -c %i "$M")" "the root's inode"
assert_eq "$(stat -c %i "$R/big/mib3x")" "$(stat -c %i "$M/big/mib3x")" "a file's inode"

say "special files"
assert_eq "fifo" "$(stat -c %F "$M/fifo")" "fifo type"
assert_eq "socket" "$(stat -c %F "$M/sock")" "socket type"
assert_eq "$(stat -c '%F %t:%T' "$R/chardev")" "$(stat -c '%F %t:%T' "$M/chardev")" \
	"device node type and numbers"
assert_eq one "$(readlink "$M/a/l-file")" "readlink"
assert_eq x "$(cat "$M/a/l-file")" "reading through a symlink"
assert_eq deep "$(cat "$M/a/l-dir/c/d/e/f/g/h/deep.txt")" "a path through a dir symlink"
assert_eq nihongo "$(cat "$M/é/l-utf8")" "a UTF-8 symlink"
[ -z "$(ls -A "$M/empty")" ] || fail "the empty dir is not empty through the mount"
err=$(cat "$M/a/l-dangling" 2>&1) && fail "reading a dangling symlink succeeded"
case $err in *"No such file or directory"*) ;; *) fail "dangling symlink: $err" ;; esac
err=$(cat "$M/no-such-file" 2>&1) && fail "reading a missing file succeeded"
case $err in *"No such file or directory"*) ;; *) fail "missing file: $err" ;; esac
assert_eq "in the middle" "$(dd if="$M/big/sparse" bs=1 skip=5000000 count=13 status=none)" \
	"bytes in the middle of a sparse file"

say "ls -la"
ls -la "$M" >"$T/ls.out" 2>"$T/ls.err" || fail "ls -la failed: $(cat "$T/ls.err")"
grep -q ' many$' "$T/ls.out" || fail "ls -la does not list 'many': $(cat "$T/ls.out")"
grep -q ' sock$' "$T/ls.out" || fail "ls -la does not list the socket"
[ ! -s "$T/ls.err" ] || fail "ls -la complained: $(cat "$T/ls.err")"
# ls -laR in the same time style as the original (sizes, modes, owners,
# link counts, names, targets): identical.
# The top's ".." is outside the tree (the mount's parent differs): dropped.
lsR() { (cd "$1" && ls -laR --time-style=full-iso .) 2>&1 |
	awk '!done && / \.\.$/ { done = 1; next } { print }'; }
lsR "$R" >"$T/lsR.orig"
lsR "$M" >"$T/lsR.mnt" ||
	fail "ls -laR through the mount failed: $(tail -n 5 "$T/lsR.mnt")"
diff -u "$T/lsR.orig" "$T/lsR.mnt" >"$T/lsR.diff" ||
	fail "ls -laR differs: $(head -n 30 "$T/lsR.diff")"
[ "$(ls "$M/many" | wc -l)" = 400 ] || fail "ls of a 400-file dir: $(ls "$M/many" | wc -l) names"

say "stat -f"
stat -f "$M" >"$T/statf" 2>&1 || fail "stat -f failed: $(cat "$T/statf")"
df "$M" >"$T/df" 2>&1 || fail "df failed: $(cat "$T/df")"
assert_eq "$(stat -f -c '%S %b' "$R")" "$(stat -f -c '%S %b' "$M")" \
	"stat -f block size and total blocks (the served file system's)"

say "writes fail with EROFS"
erofs() { # description command...
	local d=$1 out; shift
	if out=$("$@" 2>&1); then
		fail "$d succeeded on a read-only mount"
	fi
	case $out in
	*"Read-only file system"*) ;;
	*) fail "$d: want 'Read-only file system', got: $out" ;;
	esac
}
erofs "touch of a new file" touch "$M/newfile"
erofs "touch of an existing file" touch "$M/a/one"
erofs "echo > an existing file" sh -c "echo overwritten >'$M/a/b/s4096'"
erofs "echo >> an existing file" sh -c "echo appended >>'$M/m600'"
erofs "echo > a new file" sh -c "echo new >'$M/many/new'"
erofs "mkdir" mkdir "$M/newdir"
erofs "rm" rm -f "$M/a/zero"
erofs "rmdir" rmdir "$M/empty"
erofs "mv" mv "$M/m755" "$M/m755.moved"
erofs "chmod" chmod 777 "$M/m444"
erofs "ln -s" ln -s x "$M/newlink"
erofs "ln" ln "$M/a/one" "$M/a/one.hard"
erofs "truncate" truncate -s 0 "$M/big/mib3"
erofs "mkfifo" mkfifo "$M/newfifo"
listing "$R" >"$T/after.list"
sums "$R" >"$T/after.sums"
diff -u "$T/orig.list" "$T/after.list" >"$T/after.diff" ||
	fail "the original changed: $(head -n 20 "$T/after.diff")"
diff -u "$T/orig.sums" "$T/after.sums" >/dev/null ||
	fail "the original's contents changed"

say "umount"
"$CTL" umount "$M" >"$T/umount.out" 2>&1 || fail "mirrorctl umount: $(cat "$T/umount.out")"
is_mounted "$M" && fail "$M still mounted after umount"

# ---------------------------------------------------------------- demo
say "the demo pod"
need_cmd nsenter util-linux
need_cmd ip iproute2
[ -x /bin/busybox ] || missing "no /bin/busybox (apt-get install busybox-static)"
if ip link show mirror-demo0 >/dev/null 2>&1; then
	missing "a demo pod is already running here (mirror-demo0 exists)"
fi
on_exit "'$CTL' demo down --purge"
DM=$T/demo-mnt
mkdir -p "$DM"
"$CTL" mount demo "$DM" >"$T/dmount.out" 2>&1 ||
	fail "mirrorctl mount demo failed: $(cat "$T/dmount.out")"
on_exit "'$CTL' umount '$DM'; umount -l '$DM'"
is_mounted "$DM" || fail "$DM is not in /proc/mounts after mount demo"
"$CTL" demo status >"$T/dstatus" || fail "demo status failed after mount demo"
DR=$(sed -n 's/^rootfs //p' "$T/dstatus")
dpid=$(sed -n 's/^pid //p' "$T/dstatus")
[ -n "$DR" ] && [ -d "$DR" ] || fail "no rootfs line in: $(cat "$T/dstatus")"
[ -n "$dpid" ] || fail "no pid line in: $(cat "$T/dstatus")"

# The service-account directory is a volume (a tmpfs the pod's init
# mounts over the image's empty directory): compared with the pod's own
# view below, not with the image.
sa=var/run/secrets/kubernetes.io/serviceaccount
dx=(-path ./proc -prune -o -path ./dev -prune -o -path "./$sa" -prune -o)
(cd "$DR" && find . "${dx[@]}" -printf '%y %s %m %U:%G %T@ [%l] %n %i %P\n' |
	LC_ALL=C sort) >"$T/demo.orig"
(cd "$DM" && find . "${dx[@]}" -printf '%y %s %m %U:%G %T@ [%l] %n %i %P\n' |
	LC_ALL=C sort) >"$T/demo.mnt" 2>"$T/demo.err" ||
	fail "find through the demo mount failed: $(head -n 5 "$T/demo.err")"
# The pruned directories are printed once by find (-prune -o means
# "not printed"), so the lists hold neither proc nor dev.
dn=$(wc -l <"$T/demo.orig")
[ "$dn" -gt 200 ] || fail "the demo rootfs has only $dn entries"
diff -u "$T/demo.orig" "$T/demo.mnt" >"$T/demo.diff" ||
	fail "the demo mount differs from $DR: $(head -n 40 "$T/demo.diff")"
(cd "$DR" && find . "${dx[@]}" -type f -print0 | LC_ALL=C sort -z |
	xargs -0 -r sha256sum) >"$T/demo.sums.orig"
(cd "$DM" && find . "${dx[@]}" -type f -print0 | LC_ALL=C sort -z |
	xargs -0 -r sha256sum) >"$T/demo.sums.mnt" 2>"$T/demo.sums.err" ||
	fail "sha256sum through the demo mount: $(head -n 5 "$T/demo.sums.err")"
diff -u "$T/demo.sums.orig" "$T/demo.sums.mnt" >"$T/demo.sums.diff" ||
	fail "demo file contents differ: $(head -n 20 "$T/demo.sums.diff")"
say "demo: $dn entries identical"
for f in token namespace ca.crt; do
	cmp -s "/proc/$dpid/root/$sa/$f" "$DM/$sa/$f" ||
		fail "$sa/$f through the mount is not the pod's volume's"
done

say "the pod's /proc through the mount"
tr '\0' '\n' <"$DM/proc/1/environ" >"$T/environ" 2>"$T/environ.err" ||
	fail "cat $DM/proc/1/environ: $(cat "$T/environ.err")"
grep -qx 'MIRRORD_FAKE_VAR_FIRST=mirrord.is.running' "$T/environ" ||
	fail "MIRRORD_FAKE_VAR_FIRST missing from the pod's environ: $(head -c 300 "$T/environ")"
grep -qx 'HOSTNAME=py-serv' "$T/environ" ||
	fail "the environ through the mount is not the pod's init's"
[ -c "$DM/dev/null" ] || fail "the pod's /dev/null is not a device through the mount"

say "umount demo, demo down"
"$CTL" umount "$DM" >"$T/dumount.out" 2>&1 || fail "umount demo: $(cat "$T/dumount.out")"
is_mounted "$DM" && fail "$DM still mounted after umount"

say "mount --rw demo: an edit lands in the pod"
"$CTL" mount --rw demo "$DM" >"$T/dmount.out" 2>&1 ||
	fail "mirrorctl mount --rw demo failed: $(cat "$T/dmount.out")"
grep -q "read-write" "$T/dmount.out" || fail "mount --rw did not say read-write: $(cat "$T/dmount.out")"
"$CTL" status | grep -F " $DM " | grep -qE " rw +ok" ||
	fail "status does not say rw for $DM: $("$CTL" status)"
echo "edited from the laptop" >"$DM/tmp/from-laptop" || fail "writing through the --rw demo mount"
assert_eq "edited from the laptop" "$(nsenter -t "$dpid" -m -r cat /tmp/from-laptop)" \
	"the pod's own view of a file written through the mount"
rm "$DM/tmp/from-laptop" || fail "removing it through the mount"
nsenter -t "$dpid" -m -r test -e /tmp/from-laptop && fail "the pod still sees the removed file"
"$CTL" umount "$DM" >"$T/dumount.out" 2>&1 || fail "umount --rw demo: $(cat "$T/dumount.out")"
"$CTL" demo down >/dev/null 2>&1 || fail "demo down failed"
[ ! -e "/proc/$dpid" ] || grep -q '^State:[[:space:]]*Z' "/proc/$dpid/status" ||
	fail "the demo pod $dpid still runs after demo down"
echo "ok"
