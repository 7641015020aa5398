#!/usr/bin/env bash
# Both sides of a writable mount see each other's changes:
# (a) a write through the mount is on the agent's side ($R) as soon as
#     write+close returns, and after fsync for a file kept open (also
#     truncating overwrites, appends, mkdir, rename, rm, chmod, the
#     size fstat gives right after 3.5 MiB of writes, and a shared mmap
#     after msync);
# (b) a change made in the pod ($R: overwrite with another size, same
#     size, append, new file, deleted file, chmod, new name in a listed
#     dir, a file kept open on the mount while the pod rewrites it) shows
#     on the mount within the attr/entry/negative timeouts (1 s, set in
#     the config): the mount is polled for 3 s, and the delay is printed.
. "$(dirname "$0")/lib.sh"

need_mount
need_cmd python3

R=$T/root M=$T/mnt
mkdir -p "$R/dir" "$M"
cat >"$T/mirror.conf" <<'EOF'
fs = {
  attr_timeout = 1.0;
  entry_timeout = 1.0;
  negative_timeout = 1.0;
};
EOF

start_agent "$R" --rw
mount_url "$AGENT_URL" "$M" --rw --config "$T/mirror.conf"

# ------------------------------------------- (a) mount -> agent's side
say "(a) writes through the mount, seen on the agent side"
printf 'written through the mount\n' >"$M/a" || fail "write through the mount"
assert_eq "written through the mount" "$(cat "$R/a")" "agent side right after write+close"
printf 'short\n' >"$M/a" || fail "overwrite through the mount"
assert_eq "short" "$(cat "$R/a")" "agent side after a truncating overwrite"
assert_eq 6 "$(stat -c %s "$R/a")" "size on the agent side after a truncating overwrite"
printf 'appended\n' >>"$M/a" || fail "append through the mount"
assert_eq "short appended" "$(tr '\n' ' ' <"$R/a" | sed 's/ $//')" "agent side after an append"
# The mount sees its own writes at once (no waiting for a timeout).
assert_eq "short appended" "$(tr '\n' ' ' <"$M/a" | sed 's/ $//')" "the mount right after its own append"
assert_eq 15 "$(stat -c %s "$M/a")" "size through the mount right after its own append"
mkdir "$M/newdir" || fail "mkdir through the mount"
[ -d "$R/newdir" ] || fail "mkdir through the mount: no $R/newdir"
mv "$M/a" "$M/newdir/a2" || fail "rename through the mount"
[ -e "$R/a" ] && fail "rename through the mount: $R/a still there"
assert_eq "short appended" "$(tr '\n' ' ' <"$R/newdir/a2" | sed 's/ $//')" "agent side after a rename"
chmod 0640 "$M/newdir/a2" || fail "chmod through the mount"
assert_eq 640 "$(stat -c %a "$R/newdir/a2")" "mode on the agent side after chmod"
rm "$M/newdir/a2" || fail "rm through the mount"
[ -e "$R/newdir/a2" ] && fail "rm through the mount: $R/newdir/a2 still there"
rmdir "$M/newdir" || fail "rmdir through the mount"
[ -e "$R/newdir" ] && fail "rmdir through the mount: $R/newdir still there"

say "(a) a file kept open: each fsync is on the agent side; fstat after 3.5 MiB; a shared mmap after msync"
python3 - "$M/kept" "$R/kept" <<'EOF' || fail "a file kept open through the mount (see above)"
import mmap, os, sys
m, r = sys.argv[1], sys.argv[2]
def agent_side():
    with open(r, 'rb') as f:
        return f.read()
fd = os.open(m, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
want = b''
for i in range(5):
    piece = (b'%d' % i) * (1000 * (i + 1)) + b'\n'
    assert os.write(fd, piece) == len(piece)
    want += piece
    os.fsync(fd)
    got = agent_side()
    if got != want:
        sys.exit('after fsync %d: agent side has %d bytes, want %d' % (i, len(got), len(want)))
# Overwrite in the middle with pwrite, then fdatasync.
os.pwrite(fd, b'MIDDLE', 100)
want = want[:100] + b'MIDDLE' + want[106:]
os.fdatasync(fd)
if agent_side() != want:
    sys.exit('after pwrite + fdatasync: agent side differs')
# ftruncate down, fsync.
os.ftruncate(fd, 4000)
want = want[:4000]
os.fsync(fd)
if agent_side() != want:
    sys.exit('after ftruncate + fsync: agent side has %d bytes, want 4000' % len(agent_side()))
# More than a MiB (past any write-behind threshold): fstat right after
# the writes says the whole size (git records it in its index), and
# close leaves every byte on the agent side.
big = os.open(m + '-big', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
bwant = b''
for i in range(7):
    piece = bytes([65 + i]) * (512 * 1024 + i)
    assert os.write(big, piece) == len(piece)
    bwant += piece
    st = os.fstat(big)
    if st.st_size != len(bwant):
        sys.exit('fstat after writing %d bytes says %d' % (len(bwant), st.st_size))
os.close(big)
if os.stat(m + '-big').st_size != len(bwant):
    sys.exit('stat after close: %d, want %d' % (os.stat(m + '-big').st_size, len(bwant)))
with open(r + '-big', 'rb') as f:
    got = f.read()
if got != bwant:
    sys.exit('%d bytes written and closed: agent side has %d bytes%s' %
             (len(bwant), len(got), ' (same size, other bytes)' if len(got) == len(bwant) else ''))
# A shared writable mapping, flushed with msync.
mm = mmap.mmap(fd, 4000)
mm[0:7] = b'MMAPPED'
mm.flush()
want = b'MMAPPED' + want[7:]
got = agent_side()
mm.close()
os.close(fd)
if got != want:
    sys.exit('after mmap write + msync: agent side differs (first bytes %r)' % got[:10])
EOF

# ------------------------------------------- (b) agent's side -> mount
# poll DESC COMMAND...: runs COMMAND until it succeeds, for up to 3 s
# after the pod's changes were made (at $changed, date +%s%N).
poll() {
	local d=$1; shift
	local ms
	while :; do
		"$@" >/dev/null 2>&1 && break
		ms=$((($(date +%s%N) - changed) / 1000000))
		[ $ms -le 3000 ] || fail "$d: not seen on the mount $ms ms after the change (timeouts are 1 s)"
		sleep 0.05
	done
	say "$d: seen after $((($(date +%s%N) - changed) / 1000000)) ms"
}
content_is() { [ "$(cat "$1")" = "$2" ]; }
mode_is() { [ "$(stat -c %a "$1")" = "$2" ]; }
size_is() { [ "$(stat -c %s "$1")" = "$2" ]; }
listed() { ls "$1" | grep -qxF "$2"; }
not_listed() { ! ls "$1" | grep -qxF "$2"; }

say "(b) changes made in the pod, seen on the mount"
printf 'old content, fairly long\n' >"$R/p-size"
printf 'same size A\n' >"$R/p-same"
printf 'line 1\n' >"$R/p-append"
printf 'to be deleted\n' >"$R/p-gone"
printf 'mode\n' >"$R/p-mode"
chmod 0644 "$R/p-mode"
printf 'x\n' >"$R/dir/old"
printf 'written by the mount\n' >"$M/p-ours" || fail "write of p-ours through the mount"
# Everything read once through the mount, so the kernel caches it.
assert_eq "old content, fairly long" "$(cat "$M/p-size")" "p-size through the mount"
assert_eq "same size A" "$(cat "$M/p-same")" "p-same through the mount"
assert_eq "written by the mount" "$(cat "$M/p-ours")" "p-ours through the mount"
assert_eq "line 1" "$(cat "$M/p-append")" "p-append through the mount"
assert_eq "to be deleted" "$(cat "$M/p-gone")" "p-gone through the mount"
assert_eq 644 "$(stat -c %a "$M/p-mode")" "p-mode through the mount"
[ -e "$M/p-new" ] && fail "p-new exists before it was made"
assert_eq old "$(ls "$M/dir")" "ls of dir through the mount"

# All at once, then each polled: in place (same inode) with another
# size, in place with the same size (only the mtime tells), append, new
# file (after a negative lookup), deleted file, chmod, new and removed
# names in a listed dir, and a file the mount itself wrote (its pages
# came from the mount's writes) rewritten in the pod with the same size.
changed=$(date +%s%N)
printf 'new\n' >"$R/p-size"
printf 'same size B\n' >"$R/p-same"
printf 'WRITTEN IN THE POD!\n' >"$R/p-ours"
printf 'line 2\n' >>"$R/p-append"
printf 'brand new\n' >"$R/p-new"
rm "$R/p-gone"
chmod 0600 "$R/p-mode"
printf 'y\n' >"$R/dir/new"
rm "$R/dir/old"
poll "overwrite with another size" content_is "$M/p-size" new
poll "overwrite with the same size" content_is "$M/p-same" "same size B"
poll "same size, over a file the mount wrote" content_is "$M/p-ours" "WRITTEN IN THE POD!"
poll "append" content_is "$M/p-append" "$(printf 'line 1\nline 2')"
poll "append (size)" size_is "$M/p-append" 14
poll "a new file (after a negative lookup)" content_is "$M/p-new" "brand new"
poll "a deleted file" test ! -e "$M/p-gone"
poll "chmod" mode_is "$M/p-mode" 600
poll "a new name in a listed dir" listed "$M/dir" new
poll "a name removed from a listed dir" not_listed "$M/dir" old

say "(b) in a directory and on a file the mount made (answered by mountd)"
mkdir "$M/made" || fail "mkdir through the mount"
printf 'made here\n' >"$M/made/f" || fail "a file in it through the mount"
[ -e "$M/made/pod-file" ] && fail "pod-file exists before it was made"
stat -c %s "$M/made/f" >/dev/null || fail "stat of a file the mount made"
changed=$(date +%s%N)
printf 'from the pod\n' >"$R/made/pod-file"
chmod 0600 "$R/made/f"
printf 'longer, rewritten in the pod\n' >"$R/made/f"
poll "a pod-made name in a mount-made directory" content_is "$M/made/pod-file" "from the pod"
poll "chmod in the pod of a file the mount made" mode_is "$M/made/f" 600
poll "size from the pod of a file the mount made" size_is "$M/made/f" 29

say "(b) a file kept open on the mount while the pod rewrites it"
printf 'the first version of the held file\n' >"$R/held"
python3 - "$M/held" "$R/held" <<'EOF' || fail "a file kept open while the pod rewrites it (see above)"
import os, sys, time
m, r = sys.argv[1], sys.argv[2]
old = b'the first version of the held file\n'
new = b'second, shorter\n'
fd = os.open(m, os.O_RDONLY)
got = os.pread(fd, 4096, 0)
if got != old:
    sys.exit('held file before the change: %r' % got)
# The pod rewrites it in place (same inode), another size.
with open(r, 'r+b') as f:
    f.truncate(0)
    f.write(new)
t0 = time.monotonic()
while True:
    fd2 = os.open(m, os.O_RDONLY)
    got = os.pread(fd2, 4096, 0)
    os.close(fd2)
    if got == new:
        break
    if time.monotonic() - t0 > 3:
        sys.exit('held file: a new open still reads %r after 3 s' % got)
    time.sleep(0.05)
print('# reopened while held: new bytes after %d ms' % ((time.monotonic() - t0) * 1000))
print('# (the fd opened before reads %r)' % os.pread(fd, 4096, 0))
os.close(fd)
EOF

"$CTL" umount "$M" >"$T/umount.out" 2>&1 || fail "mirrorctl umount: $(cat "$T/umount.out")"
is_mounted "$M" && fail "$M still mounted after umount"
echo "ok"
