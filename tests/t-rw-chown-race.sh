#!/usr/bin/env bash
# A node a client makes (mknod, mkdir, symlink) belongs to the client's
# uid and gid from the start; the agent never chowns it by name, so a
# pod that swaps the new name for a hard link to one of its files or a
# symlink to a file outside the root cannot get that file given away.
# The pod swaps the names as fast as it can while the client makes them
# as uid 1234:5678; afterwards the victims are still root's, and every
# node the client made is 1234:5678.
. "$(dirname "$0")/lib.sh"

need_root
need_cmd python3
[ -x "$AGENT" ] || fail "build first (make)"

R=$T/root O=$T/outside
mkdir -p "$R/d" "$O"
echo "pod secret" >"$R/victim"
echo "host file" >"$O/victim"
chmod 600 "$R/victim" "$O/victim"
chmod 777 "$R/d"
cat >"$T/race.py" <<'PY'
import os, stat, subprocess, sys, threading, time
UID, GID = 1234, 5678
names = ["n%d" % i for i in range(4)]

def pod(root, outside, stop, swaps):
    # Replace each name, as soon as it exists, with a hard link to the
    # pod's victim or a symlink to a host file.
    fd = os.open(os.path.join(root, "d"), os.O_RDONLY | os.O_DIRECTORY)
    k = 0
    while not stop():
        for n in names:
            k += 1
            try:
                if k % 2:
                    os.link(os.path.join(root, "victim"), n + ".t", dst_dir_fd=fd)
                else:
                    os.symlink(os.path.join(outside, "victim"), n + ".t",
                               dir_fd=fd)
                os.rename(n + ".t", n, src_dir_fd=fd, dst_dir_fd=fd)
                swaps[0] += 1
            except OSError:
                try:
                    os.unlink(n + ".t", dir_fd=fd)
                except OSError:
                    pass
            try:
                # Make room for the client's next try.
                if os.stat(n, dir_fd=fd, follow_symlinks=False).st_nlink > 1 \
                        or os.path.islink(os.path.join(root, "d", n)):
                    os.unlink(n, dir_fd=fd)
            except OSError:
                pass

if sys.argv[1] == "pod":
    # The pod as an unprivileged user of its own, until stdin closes.
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()),
                     daemon=True).start()
    swaps = [0]
    pod(sys.argv[2], sys.argv[3], done.is_set, swaps)
    print(swaps[0])
    sys.exit(0)

sys.path.insert(0, sys.argv[1])
import wsclient as w
url, tokfile, root, outside, pod_as = sys.argv[2:7]
c = w.Client(url, timeout=10)
c.hello(w.read_token(tokfile))
stop = threading.Event()
swaps = [0]
if pod_as == "root":
    th = threading.Thread(target=pod, args=(root, outside, stop.is_set, swaps))
else:
    pp = subprocess.Popen(["setpriv", "--reuid", pod_as, "--regid", pod_as,
                           "--clear-groups", "/usr/bin/python3", __file__, "pod",
                           root, outside], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True)
    def collect():
        out, _ = pp.communicate("")
        swaps[0] = int(out.strip() or 0)
    th = threading.Thread(target=lambda: (stop.wait(), collect()))
th.start()
made, errs = 0, {}
end = time.time() + 8
try:
    while time.time() < end:
        for n in names:
            p = "/d/" + n
            for op in ("mknod", "mkdir", "symlink"):
                try:
                    if op == "mknod":
                        c.mknod(p, stat.S_IFREG | 0o600, 0, UID, GID)
                    elif op == "mkdir":
                        c.mkdir(p, 0o700, UID, GID)
                    else:
                        c.symlink(p, "somewhere", UID, GID)
                    made += 1
                except w.RemoteError as e:
                    errs[w.errno_name(e.errno)] = errs.get(
                        w.errno_name(e.errno), 0) + 1
                # Check what the client made, then clear it.
                try:
                    st = os.stat(os.path.join(root, "d", n),
                                 follow_symlinks=False)
                    # (The pod's own nodes are its uid's and gid's.)
                    if st.st_uid == UID and st.st_gid != GID and \
                            str(st.st_gid) != pod_as:
                        sys.exit("%s %s: owner %d:%d" % (op, p, st.st_uid,
                                                          st.st_gid))
                    if stat.S_ISDIR(st.st_mode):
                        os.rmdir(os.path.join(root, "d", n))
                    else:
                        os.unlink(os.path.join(root, "d", n))
                except OSError:
                    pass
finally:
    stop.set()
    th.join()
print("# %d nodes made, %s refused, %d swaps by the pod" % (
    made, errs, swaps[0]))
bad = []
for v in (os.path.join(root, "victim"), os.path.join(outside, "victim")):
    st = os.stat(v)
    if (st.st_uid, st.st_gid) != (0, 0):
        bad.append("%s is now %d:%d" % (v, st.st_uid, st.st_gid))
# Without the pod: each kind of node is the caller's.
for op, fn in (("mknod", lambda p: c.mknod(p, stat.S_IFREG | 0o600, 0, UID, GID)),
               ("mkdir", lambda p: c.mkdir(p, 0o700, UID, GID)),
               ("symlink", lambda p: c.symlink(p, "x", UID, GID))):
    fn("/d/quiet-" + op)
    st = os.stat(os.path.join(root, "d", "quiet-" + op), follow_symlinks=False)
    if (st.st_uid, st.st_gid) != (UID, GID):
        bad.append("%s: owner %d:%d, want %d:%d" % (op, st.st_uid, st.st_gid,
                                                    UID, GID))
if made == 0 or swaps[0] == 0:
    bad.append("the race did not run (%d made, %d swaps)" % (made, swaps[0]))
if bad:
    sys.exit("\n".join(bad))
print("# victims still root:root; new nodes are %d:%d" % (UID, GID))
PY

# A root agent creates as the caller (per-thread fsuid/fsgid); the pod
# here is root itself, the strongest it can be.
start_agent "$R" --rw
say "agent at $AGENT_URL serving $R read-write"
python3 "$T/race.py" "$SRC/tests" "$AGENT_URL" "$T/token" "$R" "$O" root ||
	fail "chown race (above)"
kill -0 "$AGENT_PID" 2>/dev/null || fail "the agent died"

# An agent that cannot take the caller's fsuid (no CAP_SETUID/SETGID, or
# an id outside its user namespace) makes the node in a 0700 directory
# of its own, chowns it there and renames it into place. The pod is an
# ordinary user now, the caller's own uid (as a pod app often is): a
# root process in the pod could chown its files itself. The victim is
# one it may hard-link (fs.protected_hardlinks lets a user link a file
# it can read and write); its owner must stay root.
need_cmd setpriv util-linux
[ -x /usr/bin/python3 ] || missing "/usr/bin/python3 (the pod's interpreter, run as uid 1234)"
rm -rf "${R:?}/d"/*
chmod 666 "$R/victim"
chmod 755 "$T" "$R"
chmod 644 "$T/race.py"
REAL_AGENT=$AGENT
printf '#!/bin/sh\nexec setpriv --bounding-set=-setuid,-setgid "%s" "$@"\n' \
	"$REAL_AGENT" >"$T/agent-nosetuid"
chmod +x "$T/agent-nosetuid"
AGENT=$T/agent-nosetuid
start_agent "$R" --rw
AGENT=$REAL_AGENT
capeff=$(awk '/^CapEff/ {print $2}' "/proc/$AGENT_PID/status")
# CAP_SETGID is bit 6, CAP_SETUID bit 7.
[ $(( 0x$capeff & 0xc0 )) = 0 ] || fail "the agent still has CAP_SETUID/SETGID (CapEff $capeff)"
say "agent without CAP_SETUID/CAP_SETGID (CapEff $capeff)"
python3 "$T/race.py" "$SRC/tests" "$AGENT_URL" "$T/token" "$R" "$O" 1234 ||
	fail "chown race without CAP_SETUID (above)"
kill -0 "$AGENT_PID" 2>/dev/null || fail "the agent died"
left=$(find "$R/d" -maxdepth 1 -name '.mirror-new.*' | wc -l)
say "$left aside directories left behind by the pod's renames"
