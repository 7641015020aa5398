#!/usr/bin/env bash
# Confinement of writes at the protocol level: with symlinks in the root
# that would escape if followed on the host (absolute, "..", "/"), every
# writing request (create, mkdir, mknod, symlink, link, rename, unlink,
# rmdir, setattr, setxattr) either lands inside the root, where the pod
# itself would put it, or fails; nothing outside the root is created,
# changed or removed. A read-only agent answers every write with EROFS.
. "$(dirname "$0")/lib.sh"

need_cmd python3
[ -x "$AGENT" ] || missing "no $AGENT (build it first)"

R=$T/root O=$T/outside
mkdir -p "$R/etc" "$R/d" "$O/keep"
echo "root-hostname" >"$R/etc/hostname"
echo "outside" >"$O/victim"
chmod 644 "$O/victim"
ln -s "$O" "$R/abs"			# absolute: inside the root it is missing
ln -s ../../../../../.. "$R/up"		# climbs: stops at the root
ln -s / "$R/rootlink"
ln -s "$O/victim" "$R/dang"		# final symlink to a host file
ln -s "$O/victim" "$R/d/victimlink"
snapshot() { (cd "$O" && find . -printf '%p %y %m %s %n %T@\n' | sort); }
before=$(snapshot)

start_agent "$R" --rw
say "agent at $AGENT_URL serving $R read-write"

python3 - "$SRC/tests" "$AGENT_URL" "$T/token" "$O" <<'PY' || fail "write requests escaped or misbehaved (above)"
import errno, os, sys
sys.path.insert(0, sys.argv[1])
import wsclient as w

url, tokfile, outside = sys.argv[2], sys.argv[3], sys.argv[4]
c = w.Client(url)
c.hello(w.read_token(tokfile))
bad = []

def expect(what, fn, ok=True, err=None):
    try:
        r = fn()
        res = "ok"
    except w.RemoteError as e:
        r, res = None, w.errno_name(e.errno)
    want = "ok" if ok else (err or "an error")
    good = (res == "ok") if ok else (res != "ok" and (err is None or res == err))
    print("# %-48s %s" % (what, res))
    if not good:
        bad.append("%s: got %s, want %s" % (what, res, want))
    return r

# Through the absolute link: its target does not exist inside the root.
expect("create /abs/x", lambda: c.create("/abs/x", os.O_WRONLY), ok=False)
expect("mkdir /abs/keep/y", lambda: c.mkdir("/abs/keep/y"), ok=False)
expect("rename /etc/hostname -> /abs/victim",
       lambda: c.rename("/etc/hostname", "/abs/victim"), ok=False)
# The final component a symlink to a host file: never followed.
expect("create O_CREAT /dang", lambda: c.create("/dang", os.O_WRONLY), ok=False)
expect("open O_WRONLY|O_TRUNC /dang",
       lambda: c.open("/dang", os.O_WRONLY | os.O_TRUNC), ok=False)
expect("setattr size=0 /dang",
       lambda: c.setattr("/dang", set_=w.SETATTR_SIZE, size=0), ok=False)
expect("setattr chmod 0777 /d/victimlink",
       lambda: c.setattr("/d/victimlink", set_=w.SETATTR_MODE, mode=0o777),
       ok=False)
expect("setxattr /dang", lambda: c.setxattr("/dang", "user.x", b"1"), ok=False)
expect("unlink /dang", lambda: c.unlink("/dang"))
# Climbing links and ".." stop at the root: these land inside it.
fh, _ = expect("create /up/x", lambda: c.create("/up/x", os.O_WRONLY))
c.write(fh, 0, b"inside\n")
c.release(fh)
expect("mkdir /rootlink/newdir", lambda: c.mkdir("/rootlink/newdir"))
expect("mknod fifo /up/../../fifo",
       lambda: c.mknod("/up/../../fifo", 0o10644))
expect("symlink /up/s -> /etc/hostname",
       lambda: c.symlink("/up/s", "/etc/hostname"))
expect("link /rootlink/../../etc/hostname -> /up/../../linked",
       lambda: c.link("/rootlink/../../etc/hostname", "/up/../../linked"))
expect("rename /up/x -> /rootlink/../moved",
       lambda: c.rename("/up/x", "/rootlink/../moved"))
expect("rmdir /up/../../../newdir", lambda: c.rmdir("/up/../../../newdir"))
# Bad names are refused, not resolved.
for p in ("/d/..", "/d/.", "/"):
    expect("mkdir %s" % p, lambda p=p: c.mkdir(p), ok=False)
c.close()
if bad:
    for b in bad:
        print("FAIL: " + b)
    sys.exit(1)
PY

after=$(snapshot)
[ "$before" = "$after" ] || fail "the outside directory changed:
$(diff <(echo "$before") <(echo "$after"))"
assert_eq "outside" "$(cat "$O/victim")" "host file content"
[ -e "$R/dang" ] && fail "/dang not removed"
assert_eq "inside" "$(cat "$R/moved")" "file created through /up lands in the root"
[ -p "$R/fifo" ] || fail "fifo not made in the root"
assert_eq "/etc/hostname" "$(readlink "$R/s")" "symlink stored as given"
assert_eq 2 "$(stat -c %h "$R/etc/hostname")" "link count of the root's hostname"
[ -e "$R/newdir" ] && fail "newdir not removed"
[ -e "$T/x" ] || [ -e "$T/moved" ] || [ -e /moved ] && fail "a file landed outside the root"

say "malformed writing requests: that connection closes, the agent serves on"
python3 - "$SRC/tests" "$AGENT_URL" "$T/token" <<'PY' || fail "malformed writing requests"
import sys
sys.path.insert(0, sys.argv[1])
import wsclient as w
url, tok = sys.argv[2], w.read_token(sys.argv[3])
good = {
    w.OP_CREATE: w.req_create("/m", 1, 0o644),
    w.OP_WRITE: w.req_write(1, 0, b"x"),
    w.OP_SETATTR: w.req_setattr("/m"),
    w.OP_FSYNC: w.Encoder().u64(0).u8(0).str("/").data(),
    w.OP_MKNOD: w.Encoder().str("/m").u32(0o10644).u64(0).u32(0).u32(0).data(),
    w.OP_MKDIR: w.Encoder().str("/m").u32(0o755).u32(0).u32(0).data(),
    w.OP_UNLINK: w.req_path("/m"),
    w.OP_RMDIR: w.req_path("/m"),
    w.OP_SYMLINK: w.Encoder().str("/m").str("x").u32(0).u32(0).data(),
    w.OP_RENAME: w.Encoder().str("/m").str("/n").u32(0).data(),
    w.OP_LINK: w.req_two_paths("/m", "/n"),
    w.OP_SETXATTR: w.Encoder().str("/m").u64(0).str("user.a").bytes(b"1").u32(0).data(),
    w.OP_REMOVEXATTR: w.Encoder().str("/m").u64(0).str("user.a").data(),
    w.OP_FGETXATTR: w.Encoder().u64(1).str("user.a").u32(10).data(),
    w.OP_FLISTXATTR: w.Encoder().u64(1).u32(10).data(),
    w.OP_FALLOCATE: w.Encoder().u64(1).u32(0).u64(0).u64(1).data(),
    w.OP_FGETATTR: w.Encoder().u64(1).data(),
    w.OP_LOCK: w.Encoder().u64(1).u64(7).u8(1).u8(2).u64(0).u64(0).data(),
    w.OP_FLOCK: w.Encoder().u64(1).u32(2).data(),
    w.OP_FLUSH: w.Encoder().u64(1).u64(7).data(),
}
bad = 0
for op, payload in sorted(good.items()):
    for what, data in (("truncated", payload[:len(payload) // 2]),
                       ("trailing byte", payload + b"\0"),
                       ("empty", b"")):
        c = w.Client(url, timeout=5)
        c.hello(tok)
        c.ws.send(w.encode_msg(w.MSG_REQUEST, op, 9, 0, data))
        try:
            while True:
                _, msg = c.ws.recv_message(5)
                print("FAIL: %s %s: answered instead of closed" %
                      (w.OP_NAMES[op], what))
                bad = 1
                break
        except w.ConnectionClosed:
            pass
        except TimeoutError:
            print("FAIL: %s %s: neither answered nor closed" %
                  (w.OP_NAMES[op], what))
            bad = 1
        c.close()
c = w.Client(url)
c.hello(tok)
c.getattr("/")
print("# %d malformed requests closed their connection; the agent serves on" %
      (3 * len(good)))
sys.exit(bad)
PY

say "read-only agent: writes answered EROFS"
kill "$AGENT_PID"
start_agent "$R"
python3 - "$SRC/tests" "$AGENT_URL" "$T/token" <<'PY' || fail "a read-only agent wrote"
import os, sys
sys.path.insert(0, sys.argv[1])
import wsclient as w
c = w.Client(sys.argv[2])
c.hello(w.read_token(sys.argv[3]))
bad = 0
for what, fn in (("create", lambda: c.create("/ro-new", os.O_WRONLY)),
                 ("mkdir", lambda: c.mkdir("/ro-dir")),
                 ("unlink", lambda: c.unlink("/moved")),
                 ("open O_WRONLY", lambda: c.open("/moved", os.O_WRONLY)),
                 ("setattr", lambda: c.setattr("/moved", set_=w.SETATTR_MODE,
                                               mode=0o600))):
    try:
        fn()
        print("FAIL: %s succeeded on a read-only agent" % what)
        bad = 1
    except w.RemoteError as e:
        print("# %-20s %s" % (what, w.errno_name(e.errno)))
        if w.errno_name(e.errno) != "EROFS":
            bad = 1
sys.exit(bad)
PY
[ -e "$R/ro-new" ] || [ -e "$R/ro-dir" ] && fail "read-only agent created a name"
[ -e "$R/moved" ] || fail "read-only agent removed a file"
echo ok
