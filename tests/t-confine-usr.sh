#!/usr/bin/env bash
# Link targets keep the pod's structure: every symlink of a copied
# Debian /usr (this machine's, ~6,000 links; files copied empty, with
# /etc and the merged-/usr links at the top) reads back through a mount
# as the pod's own target made relative to the link's directory
# (/usr/bin/aclocal -> /etc/alternatives/aclocal reads
# ../../etc/alternatives/aclocal), and resolves through the mount to the
# inode the link resolves to inside the pod's root. Targets with ".."
# after a name are resolved by the agent and only checked for the inode.
. "$(dirname "$0")/lib.sh"

need_mount
need_cmd python3
[ -d /usr/bin ] && [ -d /etc ] || missing "no /usr and /etc to copy"

R=$T/root M=$T/mnt
mkdir -p "$R"
cp -a --attributes-only /usr /etc "$R/" 2>"$T/cp.err" ||
	say "cp: $(wc -l <"$T/cp.err") files not copied (e.g. $(head -n 1 "$T/cp.err"))"
for l in bin lib lib32 lib64 sbin libx32; do
	[ -L "/$l" ] && cp -a "/$l" "$R/$l"
done
say "pod root: $(find "$R/usr" -type l | wc -l) links in its /usr"

start_agent "$R"
mount_url "$AGENT_URL" "$M"

python3 - "$R" "$M" <<'PY' || fail "links (above)"
import os, posixpath, sys
root, mnt = sys.argv[1:3]

links = []
for d, dirs, files in os.walk(os.path.join(root, "usr")):
    for n in dirs + files:
        p = os.path.join(d, n)
        if os.path.islink(p):
            links.append("/" + os.path.relpath(p, root))
links.sort()

# Inside the pod: each link resolved in a chrooted child.
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    os.chroot(root)
    out = []
    for l in links:
        try:
            out.append(str(os.stat(l).st_ino))
        except OSError as e:
            out.append("E")
    os.write(w, ("\n".join(out) + "\n").encode())
    os._exit(0)
os.close(w)
data = b""
while True:
    b = os.read(r, 1 << 16)
    if not b:
        break
    data += b
os.waitpid(pid, 0)
pod_ino = data.decode().split("\n")

def expected(link, t):
    """The target as the agent should give it, or None when the agent
    resolves it (a ".." after a name)."""
    comps = [c for c in t.split("/") if c not in ("", ".")]
    seen = False
    for c in comps:
        if c == "..":
            if seen:
                return None
        else:
            seen = True
    d = posixpath.dirname(link)
    depth = len([c for c in d.split("/") if c])
    lead = len([c for c in comps if c == ".."])
    if not t.startswith("/") and lead <= depth:
        return t
    full = posixpath.normpath(posixpath.join(d, t))
    return posixpath.relpath(full, d)

bad, same, resolved, absn = [], 0, 0, 0
for i, l in enumerate(links):
    t = os.readlink(root + l)
    absn += t.startswith("/")
    want = expected(l, t)
    try:
        got = os.readlink(mnt + l)
    except OSError as e:
        bad.append("%s -> %s: readlink: %s" % (l, t, e))
        continue
    if want is None:
        resolved += 1
    elif got != want:
        bad.append("%s -> %s: reads %s, want %s" % (l, t, got, want))
    else:
        same += 1
    try:
        ino = str(os.stat(mnt + l).st_ino)
    except OSError:
        ino = "E"
    if ino != pod_ino[i]:
        bad.append("%s -> %s (reads %s): inode %s through the mount, %s in "
                   "the pod" % (l, t, got, ino, pod_ino[i]))
print("# %d links (%d absolute): %d read back as the pod's target made "
      "relative, %d with '..' after a name resolved by the agent; "
      "%d problems" % (len(links), absn, same, resolved, len(bad)))
for b in bad[:20]:
    print("#   " + b)
if len(links) < 1000 or bad:
    sys.exit(1)
PY
kill -0 "$AGENT_PID" 2>/dev/null || fail "the agent died"
exit 0
