#!/usr/bin/env bash
# A 512 MiB file of random bytes reads back exactly through the mount:
# once, then by 8 whole-file readers and several readers of odd offsets
# at the same time on a cold cache, then again after the kernel's caches
# were dropped.
. "$(dirname "$0")/lib.sh"

need_mount
need_cmd python3
need_cmd sha256sum coreutils
need_cmd fincore util-linux

SIZE=$((512 * 1024 * 1024))
avail=$(df -Pk "$T" | awk 'NR == 2 { print $4 }')
[ "$avail" -gt $((SIZE / 1024 + 262144)) ] || missing "not enough space in $T for 512 MiB"

R=$T/root M=$T/mnt
mkdir -p "$R/d" "$M"
say "writing 512 MiB of random bytes"
head -c 512M /dev/urandom >"$R/d/big" || fail "cannot write the big file"
assert_eq $SIZE "$(stat -c %s "$R/d/big")" "size of the original"
want=$(sha256sum <"$R/d/big" | cut -d' ' -f1)

# Pieces at odd offsets and lengths (bytes), and their sums in the original.
pieces=("0 1" "1 4095" "4095 2" "131071 131074" "1048575 3000001"
	"123456789 10000000" "268435455 1048577" "$((SIZE - 5000000)) 5000000"
	"$((SIZE - 1)) 1")
piece() { # file offset length
	dd if="$1" iflag=skip_bytes,count_bytes skip="$2" count="$3" bs=1M status=none |
		sha256sum | cut -d' ' -f1
}
for i in "${!pieces[@]}"; do
	piece "$R/d/big" ${pieces[$i]} >"$T/piece.$i.want"
done

# The mount's copy of the file out of the page cache (only this file:
# other work on this machine keeps its caches).
evict() {
	python3 - "$1" <<'EOF' || fail "cannot evict $1 from the page cache"
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
os.close(fd)
EOF
}
cached_pages() { fincore -n -b -o PAGES "$1" 2>/dev/null | tr -d ' '; }

start_agent "$R"
mount_url "$AGENT_URL" "$M"
B=$M/d/big

say "stat through the mount"
assert_eq $SIZE "$(stat -c %s "$B")" "size through the mount"
assert_eq "$(stat -c %i "$R/d/big")" "$(stat -c %i "$B")" "inode through the mount"

say "one reader"
s=$(date +%s%N)
got=$(sha256sum <"$B" | cut -d' ' -f1) || fail "reading $B failed"
ms=$((($(date +%s%N) - s) / 1000000))
assert_eq "$want" "$got" "sha256 of the big file through the mount"
say "read 512 MiB in $ms ms"

say "8 whole-file readers and ${#pieces[@]} piece readers at once, cold"
evict "$B"
p=$(cached_pages "$B")
[ "${p:-0}" -lt 1024 ] || say "note: $p pages still cached after eviction"
pids=()
for i in $(seq 1 8); do
	(sha256sum <"$B" | cut -d' ' -f1 >"$T/whole.$i") 2>"$T/whole.$i.err" &
	pids+=($!)
done
for i in "${!pieces[@]}"; do
	piece "$B" ${pieces[$i]} >"$T/piece.$i.got" 2>"$T/piece.$i.err" &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || fail "a concurrent reader failed"
done
for i in $(seq 1 8); do
	[ -s "$T/whole.$i.err" ] && fail "reader $i: $(cat "$T/whole.$i.err")"
	assert_eq "$want" "$(cat "$T/whole.$i")" "concurrent whole-file reader $i"
done
for i in "${!pieces[@]}"; do
	[ -s "$T/piece.$i.err" ] && fail "piece reader ${pieces[$i]}: $(cat "$T/piece.$i.err")"
	assert_eq "$(cat "$T/piece.$i.want")" "$(cat "$T/piece.$i.got")" \
		"bytes at offset/length ${pieces[$i]}"
done

say "drop caches, read again"
sync
echo 3 >/proc/sys/vm/drop_caches || fail "cannot drop caches"
p=$(cached_pages "$B")
[ "${p:-0}" -lt 1024 ] || say "note: $p pages still cached after drop_caches"
got=$(sha256sum <"$B" | cut -d' ' -f1) || fail "reading $B after drop_caches failed"
assert_eq "$want" "$got" "sha256 after drop_caches"
for i in "${!pieces[@]}"; do
	assert_eq "$(cat "$T/piece.$i.want")" "$(piece "$B" ${pieces[$i]})" \
		"bytes at ${pieces[$i]} after drop_caches"
done

# Same file opened and read while another process holds it open.
exec 7<"$B" || fail "cannot open $B"
got=$(sha256sum <"$B" | cut -d' ' -f1)
exec 7<&-
assert_eq "$want" "$got" "sha256 with a second open file"

"$CTL" umount "$M" >"$T/umount.out" 2>&1 || fail "mirrorctl umount: $(cat "$T/umount.out")"
is_mounted "$M" && fail "$M still mounted after umount"
echo "ok"
