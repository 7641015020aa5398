#!/usr/bin/env bash
# docs/ide.md, run as written against the demo pod: the VS Code task's
# command line (tasks.json, extracted from the page) starts a program
# under "mirrorctl exec" with node's debugger waiting; the launch.json
# attach configuration's address and port reach it from the laptop, and
# a debugger client (tests/inspector.py, the protocol VS Code and
# JetBrains speak) attached there sees the pod: its environment and
# hostname. The same for the JetBrains Shell Script configuration's
# SCRIPT_TEXT and the attach configuration's port. Then the page's
# "mirrorctl env -o json" and "-o dotenv" lines: the pod's variable is
# there. (sudo -E is dropped when the test runs as root.)
. "$(dirname "$0")/lib.sh"

need_root
need_fuse
need_cmd python3
need_cmd node nodejs
need_cmd nsenter util-linux
[ -x /bin/busybox ] || missing "no /bin/busybox (apt-get install busybox-static)"
if ip link show mirror-demo0 >/dev/null 2>&1; then
	missing "a demo pod is already running here (mirror-demo0 exists)"
fi
use_built_layer
on_exit "'$CTL' demo down --purge"
"$CTL" demo up -q || fail "demo up"

DOC=$SRC/docs/ide.md
WS=$T/ws
mkdir -p "$WS"
chmod 755 "$T" "$WS"
cat >"$WS/app.js" <<'JS'
const os = require('os');
const fs = require('fs');
const where = { env: process.env.MIRRORD_FAKE_VAR_FIRST, host: os.hostname() };
console.log('app: ' + JSON.stringify(where));
JS

# block LANG N: the Nth fenced block of that language in the page.
block() {
	awk -v lang="$1" -v want="$2" '
		/^```/ { if (inb) { inb = 0; next } if ($0 == "```" lang) { n++; if (n == want) { inb = 1; next } } }
		inb { print }' "$DOC"
}
# The doc's command as argv lines (python), sudo -E dropped when root.
strip_sudo() { python3 -c '
import json, sys
argv = json.load(sys.stdin)
if argv[:2] == ["sudo", "-E"]:
    argv = argv[2:]
print("\0".join(argv), end="")'; }

# attach NAME PORT CMD...: runs CMD (the doc's) in the background, waits
# for the debugger, attaches at 127.0.0.1:PORT and checks what the
# paused program sees.
attach() {
	local name=$1 port=$2 pid; shift 2
	"$@" >"$T/$name.out" 2>&1 &
	pid=$!
	on_exit "kill $pid"
	wait_for 60 grep -q "Debugger listening on ws://127.0.0.1:$port/" "$T/$name.out" ||
		fail "$name: no debugger listening: $(cat "$T/$name.out")"
	python3 "$SRC/tests/inspector.py" 127.0.0.1 "$port" \
		'process.env.MIRRORD_FAKE_VAR_FIRST' 'require("os").hostname()' \
		'require("fs").readFileSync("/etc/hostname", "utf8").trim()' >"$T/$name.seen" ||
		fail "$name: cannot attach at 127.0.0.1:$port: $(cat "$T/$name.out")"
	assert_eq "mirrord.is.running
py-serv
py-serv" "$(cat "$T/$name.seen")" "$name: what the debugger sees in the program"
	wait_for 30 pid_gone "$pid" || fail "$name: the program did not finish after resume"
	wait "$pid" || fail "$name: exit status $?: $(cat "$T/$name.out")"
	grep -q 'app: {"env":"mirrord.is.running","host":"py-serv"}' "$T/$name.out" ||
		fail "$name: the program's own output: $(cat "$T/$name.out")"
	say "$name: attached at 127.0.0.1:$port; the program saw $(grep '^app:' "$T/$name.out")"
}

say "VS Code: tasks.json's command, launch.json's attach"
block json 1 >"$T/tasks.json"
block json 2 >"$T/launch.json"
python3 - "$T/tasks.json" "$WS" >"$T/vscode.argv" <<'PY' || fail "tasks.json from the page does not parse"
import json, sys
t = json.load(open(sys.argv[1]))["tasks"][0]
argv = [t["command"]] + [a.replace("${workspaceFolder}", sys.argv[2]) for a in t["args"]]
print(json.dumps(argv))
PY
port=$(python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))["configurations"][0]
assert c["request"] == "attach" and c["address"] == "127.0.0.1", c
t = json.load(open(sys.argv[2]))["tasks"][0]
assert c["preLaunchTask"] == t["label"], "preLaunchTask is not the task"
assert "--inspect-brk=127.0.0.1:%d" % c["port"] in t["args"], "the task and the attach differ in port"
print(c["port"])' "$T/launch.json" "$T/tasks.json") || fail "launch.json from the page"
mapfile -d '' ARGV < <(strip_sudo <"$T/vscode.argv")
ARGV[0]=$([ "${ARGV[0]}" = mirrorctl ] && echo "$CTL" || echo "${ARGV[0]}")
say "running: ${ARGV[*]}"
(cd "$WS" && attach vscode "$port" "${ARGV[@]}")

say "JetBrains: the Shell Script configuration, the attach configuration"
block xml 1 >"$T/sh.xml"
block xml 2 >"$T/attach.xml"
python3 - "$T/sh.xml" "$T/attach.xml" "$WS" >"$T/jb.argv" <<'PY' || fail "the JetBrains XML from the page"
import json, shlex, sys, xml.etree.ElementTree as ET
c = ET.parse(sys.argv[1]).getroot().find("configuration")
o = {e.get("name"): e.get("value") for e in c.findall("option")}
a = ET.parse(sys.argv[2]).getroot().find("configuration")
ao = {e.get("name"): e.get("value") for e in a.findall("option")}
task = a.find("method/option")
assert task.get("run_configuration_name") == c.get("name"), "attach does not run the script first"
text = o["SCRIPT_TEXT"].replace("$PROJECT_DIR$", sys.argv[3])
assert "--inspect-brk=%s:%s" % (ao["host"], ao["port"]) in text, "ports differ"
print(json.dumps(shlex.split(text)))
PY
mapfile -d '' ARGV < <(strip_sudo <"$T/jb.argv")
ARGV[0]=$([ "${ARGV[0]}" = mirrorctl ] && echo "$CTL" || echo "${ARGV[0]}")
(cd "$WS" && attach jetbrains "$port" "${ARGV[@]}")

say "mirrorctl env -o json and -o dotenv, as the page writes them"
for fmt in json dotenv; do
	line=$(block sh 1; block sh 2)
	line=$(grep -- "-o $fmt " <<<"$line") || fail "no env -o $fmt line in the page"
	cmd=${line%% >*}
	cmd=${cmd#sudo -E }
	read -ra ARGV <<<"$cmd"
	[ "${ARGV[0]}" = mirrorctl ] || fail "the env line does not start with mirrorctl: $line"
	ARGV[0]=$CTL
	"${ARGV[@]}" >"$T/env.$fmt" 2>"$T/env.err" || fail "$cmd: $(cat "$T/env.err")"
done
python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))
assert e["MIRRORD_FAKE_VAR_FIRST"] == "mirrord.is.running" and e["MIRRORD_FAKE_VAR_SECOND"] == "7777", e
assert e["MIRROR_TARGET"] == "demo", e["MIRROR_TARGET"]' "$T/env.json" || fail "env -o json: $(head -c 400 "$T/env.json")"
grep -qx 'MIRRORD_FAKE_VAR_FIRST="mirrord.is.running"' "$T/env.dotenv" ||
	fail "env -o dotenv: $(cat "$T/env.dotenv")"
say "env -o json: $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/env.json") variables, the pod's among them"
echo "PASS t-ide"
