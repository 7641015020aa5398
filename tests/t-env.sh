#!/usr/bin/env bash
# mirrorctl env and OP_TARGET_INFO against the real demo pod and a local
# process: the pod's variables (MIRRORD_FAKE_VAR_FIRST) merged over the
# local ones, PATH staying local, env.exclude keeping a local value,
# env.override winning; -o json parses, -o shell round-trips through
# eval with quotes and newlines in a value the target holds, -o dotenv
# escapes; the agent reports the pod's hostname and its service-account
# volume (a tmpfs, as the kubelet mounts it) but not /proc, /sys, /dev.
# The demo pod has fixed addresses: run under flock /tmp/mirror-net.lock.
. "$(dirname "$0")/lib.sh"

need_mount
need_cmd python3
need_cmd ip iproute2
[ -x /bin/busybox ] || missing "no /bin/busybox (apt-get install busybox-static)"
[ -x "$CTL" ] || fail "$CTL is not built"
QUERY=$B/mirror-query
[ -x "$QUERY" ] || fail "$QUERY is not built"
if ip link show mirror-demo0 >/dev/null 2>&1; then
	missing "a demo pod is already running here (mirror-demo0 exists)"
fi
on_exit "'$CTL' demo down --purge"
SA=/var/run/secrets/kubernetes.io/serviceaccount

say "help and usage"
"$CTL" env --help >"$T/help" || fail "env --help failed"
for w in shell json dotenv env.exclude env.override; do
	grep -q -- "$w" "$T/help" || fail "env --help does not mention $w"
done
"$CTL" --help | grep -q '^  env ' || fail "mirrorctl --help lists no env"
must_fail "-o yaml" "shell, json or dotenv" -- "$CTL" env -o yaml demo
must_fail "no TARGET" "usage: mirrorctl env" -- "$CTL" env

say "the demo pod"
"$CTL" demo up >"$T/up" 2>&1 || { cat "$T/up"; fail "demo up failed"; }
pid=$(sed -n 's/^pid \([0-9][0-9]*\)$/\1/p' "$T/up")
[ -n "$pid" ] || fail "no pid in: $(cat "$T/up")"
grep -q " $SA .* - tmpfs " "/proc/$pid/mountinfo" ||
	fail "the pod's service-account directory is not a tmpfs volume"
grep -qi fake "/proc/$pid/root$SA/token" || fail "no token in the volume"
[ -s "/proc/$pid/root$SA/ca.crt" ] && [ -s "/proc/$pid/root$SA/namespace" ] ||
	fail "ca.crt or namespace missing in the volume"

say "OP_TARGET_INFO through mirror-query"
start_agent --target-pid "$pid"
pod_agent=$AGENT_PID
"$QUERY" --agent "$AGENT_URL" --token-file "$T/token" target-info >"$T/info" ||
	fail "mirror-query failed"
grep -qx 'hostname py-serv' "$T/info" || fail "no pod hostname: $(cat "$T/info")"
grep -qx "volume $SA" "$T/info" || fail "no service-account volume: $(cat "$T/info")"
grep -Eq '^volume /(proc|sys|dev)(/|$)' "$T/info" &&
	fail "/proc, /sys or /dev reported as a volume: $(cat "$T/info")"
grep -qx 'volume /' "$T/info" && fail "the root reported as a volume"
grep -qx 'env MIRRORD_FAKE_VAR_FIRST=mirrord.is.running' "$T/info" ||
	fail "no pod variable: $(cat "$T/info")"
echo wrong >"$T/badtoken"
chmod 600 "$T/badtoken"
must_fail "mirror-query, wrong token" "refused|authenticat" -- \
	"$QUERY" --agent "$AGENT_URL" --token-file "$T/badtoken" target-info

say "OP_TARGET_INFO of a directory (--root): its /etc/hostname only"
mkdir -p "$T/rootdir/etc"
echo rootdir-host >"$T/rootdir/etc/hostname"
start_agent "$T/rootdir"
"$QUERY" --agent "$AGENT_URL" --token-file "$T/token" target-info >"$T/info2" ||
	fail "mirror-query on a --root agent failed"
assert_eq "hostname rootdir-host" "$(cat "$T/info2")" "a --root agent's answer"

say "env demo: merged, PATH local"
export MIRROR_TEST_LOCAL_ONLY=laptop
"$CTL" env demo >"$T/env.sh" 2>"$T/env.err" ||
	{ cat "$T/env.err"; fail "mirrorctl env demo failed"; }
grep -qx "export MIRRORD_FAKE_VAR_FIRST='mirrord.is.running'" "$T/env.sh" ||
	fail "no MIRRORD_FAKE_VAR_FIRST in: $(cat "$T/env.sh")"
grep -qx "export PATH='$PATH'" "$T/env.sh" || fail "PATH is not the local one"
grep -qx "export HOME='$HOME'" "$T/env.sh" || fail "HOME is not the local one"
grep -qx "export MIRROR_TEST_LOCAL_ONLY='laptop'" "$T/env.sh" ||
	fail "a local variable is missing"
grep -qx "export MIRROR_TARGET='demo'" "$T/env.sh" || fail "no MIRROR_TARGET"
[ ! -s "$T/env.err" ] || fail "env printed on stderr: $(cat "$T/env.err")"
grep -q '^pid [0-9]' "$T/env.sh" && fail "progress on stdout: $(cat "$T/env.sh")"
n=$(ls "$MIRROR_STATE_DIR/sessions" 2>/dev/null | wc -l)
assert_eq 0 "$n" "sessions left behind by env"
pgrep -f "mirror-agent .*--target-pid $pid " | grep -vx "$pod_agent" |
	grep -q . && fail "an agent env started is still running"

say "env.exclude, env.override (config)"
export MIRRORD_FAKE_VAR_SECOND=local-second
cat >"$T/mirror.conf" <<'EOF'
env = {
  exclude = [ "MIRRORD_FAKE_VAR_SEC*" ];
  override = { OVERRIDDEN = "it's \"quoted\"\nand on two lines"; HOSTNAME = "over"; };
};
EOF
"$CTL" env --config "$T/mirror.conf" demo >"$T/env2.sh" ||
	fail "env with a config failed"
grep -qx "export MIRRORD_FAKE_VAR_SECOND='local-second'" "$T/env2.sh" ||
	fail "an excluded variable did not stay local: $(grep SECOND "$T/env2.sh")"
grep -qx "export HOSTNAME='over'" "$T/env2.sh" ||
	fail "env.override did not win over the pod's HOSTNAME"
grep -qx "export MIRRORD_FAKE_VAR_FIRST='mirrord.is.running'" "$T/env2.sh" ||
	fail "exclude took too much"
(
	eval "$(cat "$T/env2.sh")"
	[ "$OVERRIDDEN" = "it's \"quoted\""$'\n'"and on two lines" ] ||
		fail "eval gave OVERRIDDEN='$OVERRIDDEN'"
	[ "$MIRRORD_FAKE_VAR_FIRST" = mirrord.is.running ] || fail "eval lost FIRST"
) || exit 1

say "-o json and -o dotenv"
"$CTL" env -o json --config "$T/mirror.conf" demo >"$T/env.json" ||
	fail "env -o json failed"
python3 - "$T/env.json" "$PATH" <<'EOF' || fail "the JSON is wrong: $(cat "$T/env.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["MIRRORD_FAKE_VAR_FIRST"] == "mirrord.is.running", d
assert d["PATH"] == sys.argv[2], d["PATH"]
assert d["OVERRIDDEN"] == "it's \"quoted\"\nand on two lines", d["OVERRIDDEN"]
assert d["MIRRORD_FAKE_VAR_SECOND"] == "local-second"
EOF
"$CTL" env -o dotenv --config "$T/mirror.conf" demo >"$T/env.dotenv" ||
	fail "env -o dotenv failed"
grep -qx 'OVERRIDDEN="it'"'"'s \\"quoted\\"\\nand on two lines"' "$T/env.dotenv" ||
	fail "dotenv escapes: $(grep OVERRIDDEN "$T/env.dotenv")"
grep -qx 'MIRRORD_FAKE_VAR_FIRST="mirrord.is.running"' "$T/env.dotenv" ||
	fail "dotenv has no MIRRORD_FAKE_VAR_FIRST"

say "a target whose own value holds quotes and newlines (pid/N)"
env -i "WEIRD=a 'single' \"double\" \$HOME \`id\`
second line" "PATH=/target/bin" /bin/busybox sleep 300 &
tpid=$!
on_exit "kill $tpid"
"$CTL" env "pid/$tpid" >"$T/env3.sh" || fail "env pid/$tpid failed"
(
	eval "$(cat "$T/env3.sh")"
	[ "$WEIRD" = "a 'single' \"double\" \$HOME \`id\`"$'\n'"second line" ] ||
		fail "eval gave WEIRD='$WEIRD'"
	[ "$PATH" != /target/bin ] || fail "the target's PATH was taken"
) || exit 1

say "a running mount's agent is borrowed"
mkdir -p "$T/mnt"
"$CTL" mount demo "$T/mnt" >/dev/null || fail "mount demo failed"
on_exit "'$CTL' umount '$T/mnt'"
log=$(ls "$MIRROR_STATE_DIR"/sessions/*/agent.log)
before=$(grep -c authenticated "$log")
"$CTL" env demo >"$T/env4.sh" || fail "env demo next to a mount failed"
grep -q MIRRORD_FAKE_VAR_FIRST "$T/env4.sh" || fail "no pod variable"
[ "$(grep -c authenticated "$log")" -gt "$before" ] ||
	fail "env did not use the mount's agent"
# mirror-query says goodbye with a close frame: the agent logs an
# ordinary disconnect, not a lost connection.
grep -q "peer closed the connection (code 1000)" "$log" ||
	fail "no close frame from mirror-query: $(cat "$log")"
! grep -q "dropped" "$log" || fail "the agent logged a dropped connection: $(cat "$log")"
assert_eq 1 "$(ls "$MIRROR_STATE_DIR/sessions" | wc -l)" "sessions next to the mount"
"$CTL" umount "$T/mnt" || fail "umount failed"
say "ok"
exit 0
