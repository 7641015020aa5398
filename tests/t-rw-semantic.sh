#!/usr/bin/env bash
# A writable mount behaves like a local directory, operation by
# operation: tests/semantic.py runs the same fixed sequence (create with
# O_CREAT/O_EXCL/O_TRUNC/O_APPEND, writes and pwrites of 0 B to 5 MiB,
# truncate, sparse files, fallocate and punched holes, fsync, unlink,
# rename in all its forms including renameat2 NOREPLACE/EXCHANGE and
# renames of open files and of directories full of files, mkdir, rmdir,
# relative symlinks, hard links, fifos, chmod with setuid/sticky bits,
# chown, nanosecond utimens, user.* xattrs, files used after unlink, 500
# small files, 8 concurrent writers, fcntl and flock locks against a
# process on the agent's side) once in a plain local directory and once
# in the mount; the two transcripts must be identical, and so must the
# tree it leaves in the local directory and the one the agent's side
# holds afterwards.
. "$(dirname "$0")/lib.sh"

need_mount
need_cmd python3

SEM=$SRC/tests/semantic.py
L=$T/local R=$T/root M=$T/mnt
mkdir -p "$L" "$R/w" "$M"
# The uid-1234 steps reach both directories through $T.
chmod 0755 "$T"

say "the sequence in a local directory"
timeout 120 python3 "$SEM" "$L" >"$T/local.out" 2>"$T/local.err" ||
	fail "semantic.py in $L failed: $(tail -n 20 "$T/local.err")"

start_agent "$R" --rw
# uid 1234 below is the mount's user (a mount serves root and the user
# behind sudo only).
SUDO_UID=1234 mount_url "$AGENT_URL" "$M" --rw
is_mounted "$M" || fail "$M is not in /proc/mounts after mount"

say "the sequence in the mount"
timeout 120 python3 "$SEM" --pod-root "$R/w" "$M/w" >"$T/mnt.out" 2>"$T/mnt.err" ||
	fail "semantic.py in $M/w failed (exit $?): $(tail -n 20 "$T/mnt.err")
last lines of its transcript:
$(tail -n 5 "$T/mnt.out")"

# Steps printed "K ..." differ on the mount for documented reasons
# (README, "Writable mounts"); each side must do what it is known to.
known_local=(
	'^K O_TMPFILE, write, link it in by /proc/self/fd: \[nlink=0 size=22'
	'^K F_SETLKW F_WRLCK byte 1 \(a deadlock\): EDEADLOCK$'
	'^K 20 x \(flock LOCK_EX, close without LOCK_UN\); pod at once: flock LOCK_EX\|LOCK_NB: ok x20$'
)
known_mount=(
	# libfuse 3.14 (Debian 12) has no tmpfile operation.
	'^K O_TMPFILE, write, link it in by /proc/self/fd: (ENOTSUP|EOPNOTSUPP|\[nlink=0 size=22)'
	# The agent holds OFD locks; the kernel finds no deadlock among them.
	'^K F_SETLKW F_WRLCK byte 1 \(a deadlock\): no EDEADLK: still waiting after 3 s$'
	# FUSE drops a flock in the RELEASE it sends after close() returned.
	'^K 20 x \(flock LOCK_EX, close without LOCK_UN\); pod at once: flock LOCK_EX\|LOCK_NB: (conflict x[0-9]+ ?)?(ok x[0-9]+)?$'
)
check_known() { # transcript side patterns...
	local file=$1 side=$2 pat n
	shift 2
	n=$(grep -ac '^K ' "$file")
	[ "$n" = $# ] || fail "$side: $n known-difference lines, want $#:
$(grep -a '^K ' "$file")"
	for pat in "$@"; do
		grep -aEq "$pat" "$file" || fail "$side: no line matches $pat:
$(grep -a '^K ' "$file")"
	done
}
check_known "$T/local.out" "local directory" "${known_local[@]}"
check_known "$T/mnt.out" "mount" "${known_mount[@]}"
say "known differences: $(grep -ac '^K ' "$T/mnt.out"), as documented"
grep -av '^K ' "$T/local.out" >"$T/local.cmp"
grep -av '^K ' "$T/mnt.out" >"$T/mnt.cmp"
diff -u "$T/local.cmp" "$T/mnt.cmp" >"$T/sem.diff" ||
	fail "the mount's transcript differs from the local one ($(grep -ac '^[-+][0-9]' "$T/sem.diff") step lines):
$(head -n 150 "$T/sem.diff")"

say "the tree left behind, as the agent's side holds it"
python3 "$SEM" --dump "$L" >"$T/local.dump" || fail "dump of $L"
python3 "$SEM" --dump "$R/w" >"$T/root.dump" 2>"$T/root.dump.err" ||
	fail "dump of $R/w: $(tail -n 5 "$T/root.dump.err")"
diff -u "$T/local.dump" "$T/root.dump" >"$T/dump.diff" ||
	fail "the agent side's tree differs from the local one:
$(head -n 80 "$T/dump.diff")"

"$CTL" umount "$M" >"$T/umount.out" 2>&1 || fail "mirrorctl umount: $(cat "$T/umount.out")"
is_mounted "$M" && fail "$M still mounted after umount"
echo "ok"
