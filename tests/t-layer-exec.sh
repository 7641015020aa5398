#!/usr/bin/env bash
# The layer of `mirrorctl exec` over a real --rw FUSE mount of the demo
# pod, with the rules ctx_layer_env writes (tests/layer-exec runs a
# command the way exec will): with fs.mode "read" an unmodified
# `python3 app.py` opens the pod's /app/config.yaml by its pod path and
# reads the pod's bytes, while /usr/lib/... and relative paths read the
# laptop's, /etc/hostname is the pod's, ~/.kube is "no such file", and a
# write to a pod path is refused with EROFS (the mount itself would take
# it); fs.not_found, fs.read_only, fs.local and fs.mapping (a prefix and
# a regex with capture groups) with mirrord's precedence; "write" mode
# writes into the pod; a dead mount is EIO with one line; no rules
# variable, no effect; a bad pattern is one error naming its setting;
# the lists' regexes ignore case; the calls that reach paths inside
# glibc (scandir, nftw, ftw, glob, posix_spawn, execl...) see the pod.
# Needs the demo pod: run it under flock /tmp/mirror-net.lock.
. "$(dirname "$0")/lib.sh"

need_mount
need_cmd python3
need_cmd nsenter util-linux
need_cmd ip iproute2
[ -x /bin/busybox ] || missing "no /bin/busybox (apt-get install busybox-static)"
LX=$B/tests/layer-exec
[ -x "$LX" ] || fail "build first (make)"
use_built_layer
PY=$(command -v python3)
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
if ip link show mirror-demo0 >/dev/null 2>&1; then
	missing "a demo pod is already running here (mirror-demo0 exists)"
fi
for p in /app/config.yaml /cfg /sa /www; do
	[ ! -e "$p" ] || fail "$p exists on this machine; the test would prove nothing"
done

on_exit "'$CTL' demo down --purge"
DM=$T/demo-mnt
mkdir -p "$DM"
"$CTL" mount --rw demo "$DM" >"$T/dmount.out" 2>&1 ||
	fail "mirrorctl mount --rw demo failed: $(cat "$T/dmount.out")"
on_exit "'$CTL' umount '$DM'; umount -l '$DM'"
"$CTL" demo status >"$T/dstatus" || fail "demo status failed after mount demo"
DR=$(sed -n 's/^rootfs //p' "$T/dstatus")
dpid=$(sed -n 's/^pid //p' "$T/dstatus")
[ -n "$DR" ] && [ -d "$DR" ] && [ -n "$dpid" ] || fail "demo status: $(cat "$T/dstatus")"
pod() { nsenter -t "$dpid" -m -r "$@"; }

# The app and its user: a home of the test's own, with cloud
# credentials the app must not see and a file it may.
W=$T/work
H=$T/home
mkdir -p "$W" "$H/.kube" "$T/state"
echo "kube credentials" >"$H/.kube/config"
echo "my notes" >"$H/notes"
echo "a local file, by a relative path" >"$W/rel.txt"
export HOME=$H
cat >"$W/app.py" <<'EOF'
# Opens files by the paths it would use in the pod; prints what it got
# (or the error's name) as one JSON object.
import errno, json, os, sys

def attempt(f):
    try:
        return f()
    except OSError as e:
        return errno.errorcode[e.errno]

def read(p):
    return attempt(lambda: open(p).read())

def write(p):
    def w():
        with open(p, "w") as f:
            f.write("written by the app\n")
        return "ok"
    return attempt(w)

out = {p: read(p) for p in sys.argv[1:]}
out["listdir /app"] = attempt(lambda: sorted(os.listdir("/app")))
out["stat /app/config.yaml"] = attempt(lambda: os.stat("/app/config.yaml").st_size)
out["isdir /www"] = os.path.isdir("/www")
out["realpath"] = os.path.realpath("/app/config.yaml")
def cwd():
    os.chdir("/app")
    here = os.getcwd()
    text = open("config.yaml").read()
    os.chdir(sys.path[0])
    return [here, text]
out["chdir /app"] = attempt(cwd)
out["write /app/new.txt"] = write("/app/new.txt")
out["write /www/from-app.txt"] = write("/www/from-app.txt")
out["mkdir /www/newdir"] = attempt(lambda: os.mkdir("/www/newdir") or "ok")
json.dump(out, sys.stdout)
EOF
# get FILE KEY: one answer of the app.
get() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]], end="")' "$1" "$2"; }
run_app() { # conf out
	local c=()
	[ -n "$1" ] && c=(-c "$1")
	(cd "$W" && "$LX" "${c[@]}" "$DM" "$T/state" -- "$PY" app.py "${@:3}") \
		>"$2" 2>"$2.err" || fail "the app failed: $(cat "$2.err")"
}

say "fs.mode read (the default): the pod's files by their pod paths"
run_app "" "$T/read.json" /app/config.yaml /etc/hostname /usr/lib/os-release \
	rel.txt "$H/notes" "$H/.kube/config" /www/healthz
assert_eq "$(cat "$DR/app/config.yaml")" "$(get "$T/read.json" /app/config.yaml)" \
	"/app/config.yaml is the pod's"
assert_eq py-serv "$(get "$T/read.json" /etc/hostname | tr -d '\n')" \
	"/etc/hostname is the pod's (default_remote)"
assert_eq "$(cat /usr/lib/os-release)" "$(get "$T/read.json" /usr/lib/os-release)" \
	"/usr/lib/os-release is the laptop's"
assert_eq "$(cat "$W/rel.txt")" "$(get "$T/read.json" rel.txt)" "a relative path is local"
assert_eq "my notes" "$(get "$T/read.json" "$H/notes" | tr -d '\n')" "the home is local"
assert_eq ENOENT "$(get "$T/read.json" "$H/.kube/config")" "~/.kube is not found"
assert_eq ok "$(get "$T/read.json" /www/healthz | tr -d '\n')" \
	"/www (in no list) is the pod's"
assert_eq "$(cd "$DR/app" && ls | python3 -c 'import sys; print(sorted(sys.stdin.read().split()))')" \
	"$(get "$T/read.json" "listdir /app")" "opendir /app lists the pod's"
assert_eq "$(stat -c %s "$DR/app/config.yaml")" "$(get "$T/read.json" "stat /app/config.yaml")" \
	"stat /app/config.yaml"
assert_eq True "$(get "$T/read.json" "isdir /www")" "/www is a directory"
assert_eq /app/config.yaml "$(get "$T/read.json" realpath)" \
	"realpath answers the pod's path, not the mount's"
assert_eq "['/app', $(python3 -c 'import sys; print(repr(open(sys.argv[1]).read()))' "$DR/app/config.yaml")]" \
	"$(get "$T/read.json" "chdir /app")" "chdir /app: getcwd says /app, a relative open reads the pod's"
assert_eq EROFS "$(get "$T/read.json" "write /app/new.txt")" "a write in read mode"
assert_eq EROFS "$(get "$T/read.json" "mkdir /www/newdir")" "a mkdir in read mode"
[ ! -e "$DR/app/new.txt" ] && [ ! -e "$DR/www/from-app.txt" ] ||
	fail "read mode wrote into the pod"
# The same for C programs (coreutils: openat, statx, opendir, readlink).
out=$("$LX" "$DM" "$T/state" -- cat /var/run/secrets/kubernetes.io/serviceaccount/token) ||
	fail "cat of the pod's token"
# The service-account directory is a volume of the demo pod (a tmpfs over
# the image's empty directory): the pod's own view is the reference.
assert_eq "$(pod cat /var/run/secrets/kubernetes.io/serviceaccount/token)" "$out" "cat the token"
assert_eq "$(readlink "$DR/app/static")" "$("$LX" "$DM" "$T/state" -- readlink /app/static)" \
	"readlink /app/static"
"$LX" "$DM" "$T/state" -- test -f /www/index.html || fail "test -f /www/index.html"
"$LX" "$DM" "$T/state" -- test -w /app/config.yaml && fail "test -w on a read-only remote path"
say "read mode: pod paths read the pod, local ones the laptop, writes EROFS"

say "the user's lists and fs.mapping"
cat >"$T/lists.conf" <<'EOF'
fs = {
  mode = "write";
  mapping = ( [ "/cfg", "/app" ],
    [ "^/sa/([a-z]+)/([a-z.]+)$", "/var/run/secrets/kubernetes.io/\\1/\\2" ],
    [ "^/laptop-etc/(.*)$", "/etc/\\1" ] );
  not_found = [ "^/www/.*\\.html$" ];
  read_only = [ "/app" ];
  local = [ "/etc/hostname" ];
};
EOF
run_app "$T/lists.conf" "$T/lists.json" /cfg/config.yaml /sa/serviceaccount/namespace \
	/www/index.html /www/healthz /etc/hostname /laptop-etc/os-release
assert_eq "$(cat "$DR/app/config.yaml")" "$(get "$T/lists.json" /cfg/config.yaml)" \
	"prefix mapping /cfg -> /app"
assert_eq default "$(get "$T/lists.json" /sa/serviceaccount/namespace)" \
	"regex mapping with two capture groups"
assert_eq ENOENT "$(get "$T/lists.json" /www/index.html)" "not_found beats write mode"
assert_eq ok "$(get "$T/lists.json" /www/healthz | tr -d '\n')" "write mode reads the pod"
assert_eq "$(cat /etc/hostname)" "$(get "$T/lists.json" /etc/hostname)" \
	"local beats default_remote"
assert_eq "$(cat /etc/os-release)" "$(get "$T/lists.json" /laptop-etc/os-release)" \
	"a mapping into a local path reads the local file"
assert_eq EROFS "$(get "$T/lists.json" "write /app/new.txt")" "read_only beats write mode"
assert_eq ok "$(get "$T/lists.json" "write /www/from-app.txt")" "write mode writes"
assert_eq "written by the app" "$(pod cat /www/from-app.txt)" \
	"the pod's own view of the file the app wrote"
assert_eq ok "$(get "$T/lists.json" "mkdir /www/newdir")" "mkdir in write mode"
pod test -d /www/newdir || fail "the pod does not see /www/newdir"
"$LX" -c "$T/lists.conf" "$DM" "$T/state" -- rm /www/from-app.txt ||
	fail "rm in write mode"
pod test -e /www/from-app.txt && fail "the pod still sees /www/from-app.txt"
"$LX" -c "$T/lists.conf" "$DM" "$T/state" -- rmdir /www/newdir || fail "rmdir in write mode"
"$LX" -c "$T/lists.conf" "$DM" "$T/state" -- mv /www/healthz /www/healthz2 ||
	fail "rename in write mode"
pod test -e /www/healthz2 || fail "the pod does not see the renamed file"
"$LX" -c "$T/lists.conf" "$DM" "$T/state" -- mv /www/healthz2 /www/healthz
say "precedence, mappings and write mode as configured"

say "the lists' regexes ignore case, fs.mapping's do not (as mirrord's)"
cat >"$T/case.conf" <<'EOF'
fs = {
  mapping = ( [ "^/CFG/(.*)$", "/app/\\1" ] );
  not_found = [ "^/WWW/.*\\.HTML$" ];
};
EOF
run_app "$T/case.conf" "$T/case.json" /www/index.html /www/healthz \
	/cfg/config.yaml /CFG/config.yaml
assert_eq ENOENT "$(get "$T/case.json" /www/index.html)" \
	"not_found \"^/WWW/.*\\.HTML$\" hides /www/index.html"
assert_eq ok "$(get "$T/case.json" /www/healthz | tr -d '\n')" \
	"/www/healthz is not matched"
assert_eq ENOENT "$(get "$T/case.json" /cfg/config.yaml)" \
	"the mapping ^/CFG/ does not map /cfg/ (the pod has no /cfg)"
assert_eq "$(cat "$DR/app/config.yaml")" "$(get "$T/case.json" /CFG/config.yaml)" \
	"the mapping ^/CFG/ maps /CFG/"

say "fs.mode local: nothing remote but what read_only names"
cat >"$T/local.conf" <<'EOF'
fs = { mode = "local"; read_only = [ "/www" ]; };
EOF
run_app "$T/local.conf" "$T/local.json" /app/config.yaml /www/healthz
assert_eq ENOENT "$(get "$T/local.json" /app/config.yaml)" "local mode: /app is the laptop's"
assert_eq ok "$(get "$T/local.json" /www/healthz | tr -d '\n')" "local mode: read_only is remote"

say "calls that reach paths inside glibc: scandir, nftw, glob, posix_spawn, execl..."
# glibc calls its internal opendir, lstat and execve there, which no
# preload reaches; each entry point is hooked itself (hooks-inner.c),
# and the paths it answers with are the pod's, not the mount's.
LC=$B/tests/layer-calls
[ -x "$LC" ] || fail "build first (make)"
[ ! -e /srv/tree ] && [ ! -e /srv/tool.sh ] || fail "/srv/tree or /srv/tool.sh exist here"
mkdir -p "$DR/srv/tree/sub/deep"
echo a >"$DR/srv/tree/a.txt"
echo b >"$DR/srv/tree/sub/b.txt"
echo c >"$DR/srv/tree/sub/deep/c.yaml"
printf '#!/bin/sh\necho "pod tool $*"\n' >"$DR/srv/tool.sh"
chmod 755 "$DR/srv/tool.sh"
lc() { "$LX" "$DM" "$T/state" -- "$LC" "$@"; }
tree=$(cd "$DR" && find srv/tree | sed 's|^|/|' | LC_ALL=C sort)
assert_eq "$(LC_ALL=C ls -A "$DR/srv/tree")" "$(lc scandir /srv/tree)" "scandir"
assert_eq "$(LC_ALL=C ls -A "$DR/srv/tree")" "$(lc scandirat /srv/tree)" "scandirat"
assert_eq "$tree" "$(lc nftw /srv/tree | cut -d' ' -f1 | LC_ALL=C sort)" \
	"nftw walks the pod's tree and names its pod paths"
assert_eq "" "$(lc nftw /srv/tree/ | awk '{ n = split($1, a, "/"); if (a[n] != $2) print }')" \
	"nftw's base points at each name"
assert_eq "$tree" "$(lc ftw /srv/tree | LC_ALL=C sort)" "ftw"
assert_eq /srv/tree/sub/b.txt "$(lc glob '/srv/tree/s*/*.txt')" "glob"
assert_eq /srv/tree/sub/deep/c.yaml "$(lc glob /srv/tree/sub/deep/c.yaml)" \
	"glob without a wildcard"
assert_eq "glob: NOMATCH" "$(lc glob '/srv/tree/*.none')" "glob without a match"
assert_eq "pod tool x
exit 0" "$(lc spawn /srv/tool.sh x)" "posix_spawn of a pod path"
assert_eq "pod tool y
exit 0" "$(lc spawnp /srv/tool.sh y)" "posix_spawnp of a pod path"
assert_eq "$(cat "$DR/app/config.yaml")
exit 0" "$(lc spawn-open /bin/cat /app/config.yaml)" \
	"posix_spawn_file_actions_addopen of a pod path"
assert_eq "pod tool z" "$(lc execl /srv/tool.sh z)" "execl"
assert_eq "pod tool w" "$(lc execlp /srv/tool.sh w)" "execlp"
assert_eq ok "$(lc handle /srv/tree/a.txt)" "name_to_handle_at"
assert_eq ok "$(lc pathconf /srv/tree)" "pathconf"
assert_eq "remove: EROFS" "$(lc remove /srv/tree/a.txt)" "remove in read mode"
[ -e "$DR/srv/tree/a.txt" ] || fail "remove in read mode removed the pod's file"
out=$("$LX" "$DM" "$T/state" -- "$PY" -c '
import glob, os, subprocess
print(sorted(e.name for e in os.scandir("/srv/tree")))
print(sorted(os.path.join(d, f) for d, _, fs in os.walk("/srv/tree") for f in fs))
print(glob.glob("/srv/tree/**/*.yaml", recursive=True))
pid = os.posix_spawn("/srv/tool.sh", ["/srv/tool.sh", "spawned"], os.environ)
print(os.waitpid(pid, 0)[1])
print(subprocess.run(["/srv/tool.sh", "sub"], capture_output=True, text=True).stdout, end="")
') || fail "python under the layer: $out"
assert_eq "['a.txt', 'sub']
['/srv/tree/a.txt', '/srv/tree/sub/b.txt', '/srv/tree/sub/deep/c.yaml']
['/srv/tree/sub/deep/c.yaml']
pod tool spawned
0
pod tool sub" "$out" "python: os.scandir, os.walk, glob.glob, os.posix_spawn, subprocess"

say "a pattern that does not compile: one error naming the setting"
printf 'fs = { not_found = [ "^/app/(x" ]; };\n' >"$T/bad.conf"
must_fail "bad pattern" 'fs\.not_found\[0\]' 'regex' -- \
	"$LX" -c "$T/bad.conf" "$DM" "$T/state" -- true
say "a rules file that does not parse stops the program"
printf 'mirror-layer-rules 1\nroot\t%s\nbogus\tx\nend\n' "$DM" >"$T/bad.rules"
must_fail "bad rules file" 'mirror-layer' 'bad\.rules:3: bad rules file' -- \
	env LD_PRELOAD="$MIRROR_LAYER" MIRROR_LAYER_RULES="$T/bad.rules" cat /etc/hostname

say "no rules variable: the layer does nothing"
LD_PRELOAD="$MIRROR_LAYER" cat /app/config.yaml >/dev/null 2>&1 &&
	fail "/app/config.yaml read without rules"
out=$(LD_PRELOAD="$MIRROR_LAYER" cat /etc/hostname) || fail "cat /etc/hostname"
assert_eq "$(cat /etc/hostname)" "$out" "/etc/hostname without rules"

say "the mount is gone: EIO and one line, not the laptop's files"
"$CTL" umount "$DM" >"$T/dumount.out" 2>&1 || fail "umount: $(cat "$T/dumount.out")"
mkdir -p "$DM/app"
echo "the laptop's, in the empty mount point" >"$DM/app/config.yaml"
"$LX" "$DM" "$T/state" -- "$PY" -c '
import errno
try:
    open("/app/config.yaml")
except OSError as e:
    print(errno.errorcode[e.errno])
try:
    open("/www/healthz")
except OSError as e:
    print(errno.errorcode[e.errno])
' >"$T/dead.out" 2>"$T/dead.err"
assert_eq "EIO EIO" "$(echo $(cat "$T/dead.out"))" "remote opens with the mount gone"
[ "$(wc -l <"$T/dead.err")" = 1 ] && grep -q "mirror-layer: $DM: the target's mount is gone" "$T/dead.err" ||
	fail "want one line saying the mount is gone, got: $(cat "$T/dead.err")"
rm -r "$DM/app"
out=$("$LX" "$DM" "$T/state" -- cat /usr/lib/os-release) || fail "a local path with the mount gone"
assert_eq "$(cat /usr/lib/os-release)" "$out" "local paths still work"
echo ok
