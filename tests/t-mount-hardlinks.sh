#!/usr/bin/env bash
# A file with more names than mountd remembers per node (twelve hard
# links; it keeps the eight looked up last, the rest of the node's state
# made on first use): through a writable mount every name is the same
# file (inode, link count, bytes), a directory rename, a file rename and
# unlinks of some names keep the others right, and a file held open
# still reads right once every name is gone.
. "$(dirname "$0")/lib.sh"

need_mount

R=$T/root M=$T/m
NAMES=12
mkdir -p "$R" "$M"
for i in $(seq 0 $((NAMES - 1))); do mkdir "$R/d$i"; done
echo "one file, twelve names" >"$R/d0/f"
for i in $(seq 1 $((NAMES - 1))); do ln "$R/d0/f" "$R/d$i/f"; done
assert_eq "$NAMES" "$(stat -c %h "$R/d0/f")" "link count on the agent's side"

start_agent "$R" --rw
mount_url "$AGENT_URL" "$M" --rw

say "every name is the same file"
ino=$(stat -c %i "$M/d0/f") || fail "stat $M/d0/f"
for round in 1 2; do
	for i in $(seq 0 $((NAMES - 1))); do
		assert_eq "$ino" "$(stat -c %i "$M/d$i/f")" "round $round: inode of d$i/f"
		assert_eq "$NAMES" "$(stat -c %h "$M/d$i/f")" "round $round: link count of d$i/f"
		assert_eq "one file, twelve names" "$(cat "$M/d$i/f")" "round $round: d$i/f"
	done
done

exec 3<"$M/d0/f" || fail "open $M/d0/f"
on_exit "exec 3<&-"

say "renames and unlinks through the mount"
mv "$M/d5" "$M/d5b" || fail "rename of d5"
mv "$M/d6/f" "$M/d6/g" || fail "rename of d6/f"
for i in 1 2 3 4; do rm "$M/d$i/f" || fail "unlink of d$i/f"; done
[ ! -e "$M/d1/f" ] || fail "d1/f is still there after its unlink"
[ ! -e "$M/d5/f" ] || fail "d5/f is still there after the rename of d5"
[ ! -e "$M/d6/f" ] || fail "d6/f is still there after its rename"
for p in d0/f d5b/f d6/g d7/f d11/f; do
	assert_eq "$ino" "$(stat -c %i "$M/$p")" "inode of $p"
	assert_eq $((NAMES - 4)) "$(stat -c %h "$M/$p")" "link count of $p"
	assert_eq "one file, twelve names" "$(cat "$M/$p")" "$p"
done
assert_eq "$ino" "$(stat -c %i "$R/d5b/f")" "d5b/f on the agent's side"
assert_eq $((NAMES - 4)) "$(stat -c %h "$R/d0/f")" "link count on the agent's side"

say "every name gone, the file held open still reads"
rm "$M"/d0/f "$M"/d5b/f "$M"/d6/g || fail "unlink of the last names"
for i in 7 8 9 10 11; do rm "$M/d$i/f" || fail "unlink of d$i/f"; done
for i in $(seq 0 $((NAMES - 1))); do
	[ ! -e "$M/d$i/f" ] || fail "d$i/f is still there"
done
assert_eq "one file, twelve names" "$(cat <&3)" "the file held open"
exec 3<&-
echo "ok"
