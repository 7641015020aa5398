#!/usr/bin/env bash
# A pod's deep tree against the symlink-confining code: a directory path
# of ~16,000 bytes holding links whose targets cannot be kept as they
# are ("x/../AAAA…", absolute, climbing), so the agent rewrites them
# from a directory deeper than its rewrite buffer. The laptop reads the
# tree through a real mount (ls -lR, tar, cp -a). Every readlink answer
# is an errno (ENAMETOOLONG) or a target that stays in the root; the
# agent stays up, keeps serving, and (under --enable-asan) reports
# nothing.
. "$(dirname "$0")/lib.sh"

need_mount
need_cmd python3
need_cmd tar

R=$T/root M=$T/mnt
mkdir -p "$R/etc"
echo "root-hostname" >"$R/etc/hostname"
# 63 directories of 250 bytes: a 15,813-byte path under the root,
# deeper than PATH_MAX, so it is made with fd-relative calls.
python3 - "$R" <<'PY' || fail "could not build the deep tree"
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
for i in range(63):
    name = ("%02d" % i) + "D" * 248
    os.mkdir(name, dir_fd=fd)
    nfd = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
    os.close(fd)
    fd = nfd
links = {
    "l": "x/../" + "A" * 4000,              # ".." after a name: rewritten
    "lb": "x/../" + "A" * 3000 + "/b" * 400,  # more names past the cut
}
# Names after the one that passes the 16 KiB mark, cut at a few offsets
# (just past the end, where a sanitizer's red zone is, and further).
for k in (572, 580, 600, 700, 1000, 2000):
    links["cut%d" % k] = "x/../" + "A" * k + "/b" * 300
links.update({
    "abs": "/" + "B" * 4000,                # absolute: rewritten
    "up": "../" * 70 + "C" * 3000,          # climbs past the root
    "dots": "x/../" * 700 + "E",            # many components
    "ok": "../" + "F" * 200,                # already safe: kept
})
for name, target in links.items():
    os.symlink(target, name, dir_fd=fd)
with open(os.open("file", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as f:
    f.write("deep-file\n")
PY
deep=$(python3 -c 'print("/" + "/".join(("%02d" % i) + "D" * 248 for i in range(63)))')
say "deep directory: ${#deep} bytes"

start_agent "$R"
agent_err=$(ls "$T"/agent.*.err)
say "agent at $AGENT_URL serving $R"

# Straight to the agent: every link of the deep directory.
python3 - "$SRC/tests" "$AGENT_URL" "$T/token" "$deep" <<'PY' || fail "readlink answers (above)"
import posixpath, sys
sys.path.insert(0, sys.argv[1])
import wsclient as w
url, tokfile, deep = sys.argv[2:5]
c = w.Client(url)
c.hello(w.read_token(tokfile))
bad = []
names = ["l", "lb", "abs", "up", "dots", "ok"]
names += ["cut%d" % k for k in (572, 580, 600, 700, 1000, 2000)]
for name in names:
    path = deep + "/" + name
    try:
        t = c.readlink(path)
    except w.RemoteError as e:
        print("# readlink .../%s: %s" % (name, w.errno_name(e.errno)))
        if w.errno_name(e.errno) != "ENAMETOOLONG":
            bad.append("%s: %s, want ENAMETOOLONG or a confined target" %
                       (name, w.errno_name(e.errno)))
        continue
    # A confined answer: relative, never above the root.
    parts = [p for p in deep.split("/") if p]
    for comp in t.split("/"):
        if comp in ("", "."):
            continue
        if comp == "..":
            if not parts:
                bad.append("%s: %r climbs above the root" % (name, t[:80]))
                break
            parts.pop()
        else:
            parts.append(comp)
    if t.startswith("/"):
        bad.append("%s: absolute target %r" % (name, t[:80]))
    print("# readlink .../%s: %d-byte target" % (name, len(t)))
if bad:
    sys.exit("\n".join(bad))
PY
kill -0 "$AGENT_PID" 2>/dev/null || fail "agent died on readlink of the deep links"

mount_url "$AGENT_URL" "$M"
# The laptop's tools walk the tree; their exit status is theirs (names
# past PATH_MAX fail locally), the agent must survive whatever they ask.
timeout 300 ls -lR "$M" >"$T/ls.out" 2>"$T/ls.err" || true
say "ls -lR: $(wc -l <"$T/ls.out") lines, $(wc -l <"$T/ls.err") errors"
kill -0 "$AGENT_PID" 2>/dev/null || fail "agent died during ls -lR"
timeout 300 tar -C "$M" -cf "$T/tree.tar" . 2>"$T/tar.err" || true
say "tar: $(tar -tf "$T/tree.tar" 2>/dev/null | wc -l) members, $(wc -l <"$T/tar.err") errors"
kill -0 "$AGENT_PID" 2>/dev/null || fail "agent died during tar"
timeout 300 cp -a "$M" "$T/copy" 2>"$T/cp.err" || true
say "cp -a: $(wc -l <"$T/cp.err") errors"
kill -0 "$AGENT_PID" 2>/dev/null || fail "agent died during cp -a"

# tar and cp reach the deep directory with fd-relative calls: the deep
# file came through, so the deep links were asked for.
tar -xOf "$T/tree.tar" "./${deep#/}/file" 2>/dev/null | grep -qx deep-file ||
	fail "tar did not reach the deep directory: $(head -n 3 "$T/tar.err")"

# Still serving, within a normal deadline.
[ "$(timeout 20 cat "$M/etc/hostname")" = root-hostname ] ||
	fail "the mount no longer serves after the deep tree"
! grep -E "AddressSanitizer|runtime error|stack smashing|buffer overflow" "$agent_err" ||
	fail "the agent reported memory errors (above)"
say "agent alive and serving; no sanitizer report"
exit 0
