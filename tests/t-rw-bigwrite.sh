#!/usr/bin/env bash
# Nothing lost in large writes: 1 GiB of random bytes written through a
# --rw mount with dd (1 MiB writes, write-behind in play) equals, once
# dd has closed it, the file on the agent's side, byte for byte; so do
# 4 files of 64 MiB written at the same time by 4 writers, and files of
# 0 and 1 bytes. Read back through the mount after the caches were
# dropped, the big file is the same again.
. "$(dirname "$0")/lib.sh"

need_mount
need_cmd sha256sum coreutils
need_cmd dd coreutils

R=$T/root M=$T/mnt
mkdir -p "$R" "$M"
avail=$(df -Pk "$T" | awk 'NR == 2 { print $4 }')
[ "$avail" -gt $((3 * 1024 * 1024 + 262144)) ] || missing "not enough space in $T for 3 GiB"

say "1 GiB of random bytes, and 4 x 64 MiB"
head -c 1G /dev/urandom >"$T/big.src" || fail "cannot make the source"
want=$(sha256sum <"$T/big.src" | cut -d' ' -f1)
for i in 1 2 3 4; do
	head -c 64M /dev/urandom >"$T/w$i.src" || fail "cannot make source $i"
done

start_agent "$R" --rw
mount_url "$AGENT_URL" "$M" --rw

say "dd bs=1M of 1 GiB through the mount"
s=$(date +%s%N)
dd if="$T/big.src" of="$M/big" bs=1M status=none || fail "dd through the mount failed"
ms=$((($(date +%s%N) - s) / 1000000))
say "wrote 1 GiB in $ms ms (closed, not fsynced)"
assert_eq $((1024 * 1024 * 1024)) "$(stat -c %s "$R/big")" "size on the agent's side"
assert_eq "$want" "$(sha256sum <"$R/big" | cut -d' ' -f1)" "sha256 on the agent's side"

say "4 writers at once"
pids=()
for i in 1 2 3 4; do
	dd if="$T/w$i.src" of="$M/w$i" bs=256k status=none 2>"$T/w$i.err" &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || fail "a concurrent writer failed"
done
for i in 1 2 3 4; do
	cmp "$T/w$i.src" "$R/w$i" || fail "writer $i: the agent's copy differs"
done

say "0 and 1 byte files"
: >"$M/empty" || fail "creating an empty file"
printf x >"$M/one" || fail "writing one byte"
assert_eq 0 "$(stat -c %s "$R/empty")" "empty file on the agent's side"
assert_eq x "$(cat "$R/one")" "one-byte file on the agent's side"

say "read back through the mount, caches dropped"
sync
echo 3 >/proc/sys/vm/drop_caches || fail "cannot drop caches"
assert_eq "$want" "$(sha256sum <"$M/big" | cut -d' ' -f1)" "sha256 read back through the mount"

"$CTL" umount "$M" >"$T/umount.out" 2>&1 || fail "mirrorctl umount: $(cat "$T/umount.out")"
echo ok
