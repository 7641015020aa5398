#!/usr/bin/env bash
# A full disk behind a writable mount: the agent serves a 16 MiB tmpfs.
# - dd of 32 MiB through the mount fails with "No space left on device";
# - a writer doing os.write in a loop gets ENOSPC (not EIO, not a silent
#   success) from write, fsync or close (which one is printed);
# - afterwards the file system is consistent: the partial files have the
#   same size through the mount as on the agent side, removing them gives
#   the space back (df on the tmpfs), a new 1 MiB file writes and reads
#   back byte-identical, and a 1 MiB file written and fsynced before the
#   disk filled is intact.
. "$(dirname "$0")/lib.sh"

need_mount
need_cmd python3
need_cmd dd coreutils
need_cmd mount mount

R=$T/root M=$T/mnt
mkdir -p "$R" "$M"
mount -t tmpfs -o size=16m,mode=0755 mirror-test-enospc "$R" || missing "cannot mount a tmpfs"
# Registered first, so it runs last (after the mount and the agent are gone).
on_exit "umount '$R' || umount -l '$R'"

used() { df -P -B1 "$R" | awk 'NR == 2 { print $3 }'; }
# Waits up to 3 s for the tmpfs's use to drop to within 64 KiB of $1.
space_back() { # bytes what
	local i u
	for i in $(seq 1 30); do
		u=$(used)
		[ "$u" -le $(($1 + 65536)) ] && return 0
		sleep 0.1
	done
	fail "$2: the tmpfs uses $u bytes, $1 before (df: $(df -P -B1 "$R" | tail -n 1))"
}
# Waits up to 3 s (the attr timeout is 1 s) for the size through the
# mount to agree with the size on the agent side.
same_size() { # name
	local i a b
	for i in $(seq 1 30); do
		a=$(stat -c %s "$M/$1" 2>&1) b=$(stat -c %s "$R/$1" 2>&1)
		[ "$a" = "$b" ] && { say "$1: $a bytes on both sides"; return 0; }
		sleep 0.1
	done
	fail "$1: size through the mount $a, on the agent side $b (after 3 s)"
}

head -c 1M /dev/urandom >"$T/before.src"
head -c 1M /dev/urandom >"$T/after.src"

start_agent "$R" --rw
mount_url "$AGENT_URL" "$M" --rw

say "1 MiB written and fsynced before the disk fills"
dd if="$T/before.src" of="$M/before" bs=64k conv=fsync status=none 2>"$T/dd.err" ||
	fail "writing the first file: $(cat "$T/dd.err")"
cmp "$T/before.src" "$R/before" || fail "the first file on the agent side differs"
sync -f "$R"
used0=$(used)
say "tmpfs: $used0 bytes used"

say "dd of 32 MiB through the mount"
timeout 60 dd if=/dev/zero of="$M/big" bs=1M count=32 status=none 2>"$T/dd.err"
rc=$?
[ $rc != 124 ] || fail "dd into a full disk hung (killed after 60 s)"
[ $rc != 0 ] || fail "dd of 32 MiB into a 16 MiB file system succeeded (stderr: $(cat "$T/dd.err"))"
grep -q "No space left on device" "$T/dd.err" ||
	fail "dd failed (exit $rc) but not with ENOSPC: $(cat "$T/dd.err")"
say "dd: $(head -n 1 "$T/dd.err")"
same_size big
out=$(echo "a few bytes" 2>&1 >"$M/small") &&
	fail "writing a small file into the full file system succeeded"
case $out in
*"No space left on device"*) say "a small file while full: ENOSPC" ;;
*) fail "writing a small file into the full file system: want ENOSPC, got: $out" ;;
esac
rm -f "$M/small" || fail "rm of the small file through the mount"
rm "$M/big" || fail "rm of the partial file through the mount"
[ -e "$R/big" ] && fail "$R/big still exists after rm through the mount"
space_back "$used0" "after rm of dd's file"

say "a writer doing os.write in a loop"
timeout 60 python3 - "$M/big2" >"$T/writer.out" 2>&1 <<'EOF'
import errno, os, sys
path = sys.argv[1]
chunk = b'\xa5' * (1 << 20)
def report(op, e, written):
    print('%s %s %d' % (op, errno.errorcode.get(e.errno, e.errno), written))
    sys.stdout.flush()
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
written = 0
err = None
while written < 32 << 20:
    try:
        n = os.write(fd, chunk[:min(len(chunk), (32 << 20) - written)])
    except OSError as e:
        err = ('write', e)
        break
    if n == 0:
        print('write returned 0 at %d' % written)
        break
    written += n
if err is None:
    try:
        os.fsync(fd)
    except OSError as e:
        err = ('fsync', e)
try:
    os.close(fd)
except OSError as e:
    if err is None:
        err = ('close', e)
    else:
        print('close after the error: %s' % errno.errorcode.get(e.errno, e.errno))
if err is None:
    print('no error %d' % written)
else:
    report(err[0], err[1], written)
EOF
rc=$?
[ $rc != 124 ] || fail "the python writer hung (killed after 60 s): $(cat "$T/writer.out")"
[ $rc = 0 ] || fail "the python writer crashed (exit $rc): $(cat "$T/writer.out")"
res=$(tail -n 1 "$T/writer.out")
case $res in
"write ENOSPC "* | "fsync ENOSPC "* | "close ENOSPC "*) ;;
"no error "*) fail "writing 32 MiB into a 16 MiB file system: no error from write, fsync or close" ;;
*) fail "the python writer: want ENOSPC, got: $(cat "$T/writer.out")" ;;
esac
set -- $res
say "the writer got ENOSPC from $1 after $3 bytes were accepted"
[ "$(wc -l <"$T/writer.out")" = 1 ] && say "(close after the error: no error)" ||
	say "($(head -n 1 "$T/writer.out"))"
same_size big2
rm "$M/big2" || fail "rm of the writer's file through the mount"
space_back "$used0" "after rm of the writer's file"

say "a new 1 MiB file after the disk was full"
dd if="$T/after.src" of="$M/after" bs=128k status=none 2>"$T/dd.err" ||
	fail "writing a new file after the space came back: $(cat "$T/dd.err")"
cmp "$T/after.src" "$R/after" || fail "the new file on the agent side differs"
cmp "$T/after.src" "$M/after" || fail "the new file read through the mount differs"
# Once more from the agent rather than the page cache.
python3 -c 'import os,sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)' "$M/after"
cmp "$T/after.src" "$M/after" || fail "the new file read through the mount (cache dropped) differs"

say "the file written before the disk filled"
cmp "$T/before.src" "$R/before" || fail "the first file on the agent side changed"
python3 -c 'import os,sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)' "$M/before"
cmp "$T/before.src" "$M/before" || fail "the first file through the mount changed"
assert_eq "after before" "$(ls "$M" | tr '\n' ' ' | sed 's/ $//')" "ls of the mount at the end"

"$CTL" umount "$M" >"$T/umount.out" 2>&1 || fail "mirrorctl umount: $(cat "$T/umount.out")"
is_mounted "$M" && fail "$M still mounted after umount"
echo "ok"
