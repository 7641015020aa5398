#!/usr/bin/env bash
# Errors through a --rw mount come back as the target's kernel gave them:
# a read-only volume inside the target (a ro bind mount) answers EROFS
# to create, open for writing, chmod, unlink and mkdir, and leaves its
# files alone; rename(2) across two file systems of the target is EXDEV,
# and mv falls back to copying as it does locally; a non-empty rmdir is
# ENOTEMPTY; unprivileged callers get EACCES and EPERM from the
# permission checks.
. "$(dirname "$0")/lib.sh"

need_mount
need_cmd python3
need_cmd mount mount

R=$T/root M=$T/mnt
mkdir -p "$R/ro" "$R/other" "$R/full/sub" "$M" "$T/rosrc"
echo "read-only content" >"$T/rosrc/keep"
mount --bind "$T/rosrc" "$R/ro" || missing "cannot bind-mount"
on_exit "umount -l '$R/ro'"
mount -o remount,bind,ro "$R/ro" || fail "cannot make $R/ro read-only"
mount -t tmpfs -o size=4m tmpfs "$R/other" || missing "cannot mount a tmpfs"
on_exit "umount -l '$R/other'"
echo "moving" >"$R/mv-me"
echo "x" >"$R/full/sub/f"
chmod 0755 "$T" "$R"
chmod 0700 "$R/full"

start_agent "$R" --rw
# uid 1234 below is the mount's user (a mount serves root and the user
# behind sudo only).
SUDO_UID=1234 mount_url "$AGENT_URL" "$M" --rw

python3 - "$M" <<'PY' || fail "errors through the mount (above)"
import errno, os, sys
M = sys.argv[1]
bad = 0

def expect(what, want, fn):
    global bad
    try:
        fn()
        got = "ok"
    except OSError as e:
        got = errno.errorcode.get(e.errno, str(e.errno))
    print("# %-44s %s" % (what, got))
    if got != want:
        print("FAIL: %s: want %s, got %s" % (what, want, got))
        bad = 1

p = lambda rel: os.path.join(M, rel)
expect("create in a read-only volume", "EROFS",
       lambda: os.close(os.open(p("ro/new"), os.O_WRONLY | os.O_CREAT, 0o644)))
expect("open O_WRONLY in a read-only volume", "EROFS",
       lambda: os.close(os.open(p("ro/keep"), os.O_WRONLY)))
expect("chmod in a read-only volume", "EROFS", lambda: os.chmod(p("ro/keep"), 0o600))
expect("unlink in a read-only volume", "EROFS", lambda: os.unlink(p("ro/keep")))
expect("mkdir in a read-only volume", "EROFS", lambda: os.mkdir(p("ro/d")))
expect("setxattr in a read-only volume", "EROFS",
       lambda: os.setxattr(p("ro/keep"), "user.x", b"1"))
expect("rename(2) to another file system", "EXDEV",
       lambda: os.rename(p("mv-me"), p("other/mv-me")))
expect("rmdir of a non-empty directory", "ENOTEMPTY", lambda: os.rmdir(p("full/sub")))
pid = os.fork()
if pid == 0:
    os.setgid(1234)
    os.setuid(1234)
    bad = 0
    expect("uid 1234: create in a 0700 root directory", "EACCES",
           lambda: os.close(os.open(p("full/x"), os.O_WRONLY | os.O_CREAT, 0o644)))
    expect("uid 1234: chmod of root's file", "EPERM", lambda: os.chmod(p("mv-me"), 0o777))
    expect("uid 1234: chown to itself", "EPERM", lambda: os.chown(p("mv-me"), 1234, 1234))
    os._exit(bad)
_, st = os.waitpid(pid, 0)
bad |= os.waitstatus_to_exitcode(st)
sys.exit(bad)
PY

assert_eq "read-only content" "$(cat "$R/ro/keep")" "the read-only volume's file"
[ -e "$R/ro/new" ] && fail "a file appeared in the read-only volume"
say "mv across the target's file systems copies"
mv "$M/mv-me" "$M/other/mv-me" || fail "mv to another file system through the mount"
assert_eq "moving" "$(cat "$R/other/mv-me")" "the moved file on the other file system"
[ -e "$R/mv-me" ] && fail "mv left the source behind"
echo ok
