#!/usr/bin/env bash
# Progress while an agent starts in a cluster: "mirrorctl mount pod/web"
# prints resolving target -> creating agent -> pulling image -> waiting
# for ready -> port-forward -> mounted, each with the elapsed time: as
# plain lines in order when stderr is not a terminal, as one line
# rewritten in place ("\r" and erase-to-end) on a terminal (run under
# script(1)), and not at all with -q. The cluster is tests/kubectl-fake.py
# (kube.kubectl): it starts the real mirror-agent from the manifest
# mirrorctl sends and relays its port as port-forward does, so each run
# ends in a real mount whose files are checked.
. "$(dirname "$0")/lib.sh"

need_mount
need_cmd python3
need_cmd script bsdutils

export FAKE_KUBE_ROOT=$T/root FAKE_KUBE_PULLS=3
mkdir -p "$FAKE_KUBE_ROOT" "$T/m"
echo "from the pod" >"$FAKE_KUBE_ROOT/hello"
cat >"$T/kube.conf" <<E
kube = { kubectl = "$SRC/tests/kubectl-fake.py"; };
agent = { image = "registry.example/mirror-agent:test"; idle_ttl = 60.0; };
E
# run NAME CMD...: a fresh fake cluster in $T/NAME; the mount is checked
# and unmounted.
run() {
	local name=$1; shift
	export FAKE_KUBE_DIR=$T/$name
	mkdir -p "$FAKE_KUBE_DIR"
	on_exit "kill \$(cat '$FAKE_KUBE_DIR/agent.pid')"
	"$@" || fail "$name: mount failed: $(cat "$T/$name.err" 2>/dev/null)"
	assert_eq "from the pod" "$(cat "$T/m/hello")" "$name: a file through the mount"
	"$CTL" umount "$T/m" >/dev/null || fail "$name: umount"
	kill "$(cat "$FAKE_KUBE_DIR/agent.pid")" 2>/dev/null
}

say "not a terminal: a plain line per step, in order"
run plain "$CTL" mount --config "$T/kube.conf" pod/web "$T/m" >"$T/plain.out" 2>"$T/plain.err"
cat "$T/plain.err"
grep -q "mounted pod/web on $T/m" "$T/plain.out" || fail "no mounted line on stdout"
grep -q $'\r' "$T/plain.err" && fail "carriage returns in non-terminal progress"
python3 - "$T/plain.err" "$T/m" <<'PY' || fail "progress lines"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
steps = [r"resolving target pod/web$",
         r"creating agent \(ephemeral container mirror-agent-[0-9a-f]+ for pod/web, container app\)$",
         r"pulling image registry\.example/mirror-agent:test \(pod/web\)$",
         r"waiting for ready \(pod/web: running\)$",
         r"port-forward to pod/web:[0-9]+$",
         r"mounting pod/web on " + re.escape(sys.argv[2]) + "$",
         r"mounted pod/web on " + re.escape(sys.argv[2]) + "$"]
last = -1.0
assert len(lines) == len(steps), "want %d lines, got %d: %r" % (len(steps), len(lines), lines)
for line, step in zip(lines, steps):
    m = re.match(r"mirrorctl: \[([0-9]+\.[0-9])s\] (.*)$", line)
    assert m, "not a progress line: %r" % line
    assert re.match(step, m.group(2)), "%r is not %r" % (m.group(2), step)
    t = float(m.group(1))
    assert t >= last, "time goes back: %r" % line
    last = t
# Three looks at ContainerCreating (0.5 s apart) passed before running.
assert last >= 1.0, "elapsed %.1f s" % last
PY
say "plain: $(wc -l <"$T/plain.err") lines, the last at $(tail -n 1 "$T/plain.err" | sed 's/.*\[\(.*\)\].*/\1/')"

say "-q: no progress, the mount still made"
run quiet "$CTL" mount -q --config "$T/kube.conf" pod/web "$T/m" >"$T/quiet.out" 2>"$T/quiet.err"
[ -s "$T/quiet.err" ] && fail "-q printed: $(cat "$T/quiet.err")"
grep -q "mounted pod/web" "$T/quiet.out" || fail "-q: no mounted line on stdout"

say "a terminal (script): one line, rewritten in place"
run tty script -qec "'$CTL' mount --config '$T/kube.conf' pod/web '$T/m'" "$T/typescript" >/dev/null
python3 - "$T/typescript" "$T/m" <<'PY' || fail "terminal progress"
import re, sys
raw = open(sys.argv[1], "rb").read().decode()
# Progress writes "\r\033[K" before each step and one newline at the end.
parts = raw.split("\r\x1b[K")
steps = [p for p in parts[1:]]
assert len(steps) >= 7, "want 7 or more rewrites, got %d: %r" % (len(steps), raw)
for s in steps[:-1]:
    assert "\n" not in s, "a step before the last ended its line: %r" % s
assert re.search(r"\[[0-9]+\.[0-9]s\] mounted pod/web on " + re.escape(sys.argv[2]), steps[-1]), steps[-1]
for w in ("resolving target", "creating agent", "pulling image", "waiting for ready", "port-forward", "mounting"):
    assert any(w in s for s in steps), "no %r step" % w
PY
say "terminal: $(grep -o $'\r\e\\[K' "$T/typescript" | wc -l) rewrites of one line"
say "a terminal, and the start fails: the error on a line of its own"
export FAKE_KUBE_DIR=$T/fail FAKE_KUBE_FORBID=1
mkdir -p "$FAKE_KUBE_DIR"
script -qec "'$CTL' mount --config '$T/kube.conf' pod/web '$T/m'" "$T/typescript.fail" >/dev/null &&
	fail "a refused patch mounted"
python3 - "$T/typescript.fail" <<'PY' || fail "terminal progress before an error"
import sys
raw = open(sys.argv[1], "rb").read().decode()
lines = raw.replace("\r\n", "\n").split("\n")
err = [l for l in lines if "may not" in l]
assert len(err) == 1 and err[0].startswith("mirrorctl: pod/web: kubectl may not"), repr(raw)
before = raw[:raw.index("mirrorctl: pod/web: kubectl may not")]
assert "creating agent" in before and before.endswith("\n"), repr(before)
PY
grep -q . /proc/mounts && ! grep -q " $T/m " /proc/mounts || fail "mounted after a failure"
say "the error after the progress line: $(grep -a 'may not' "$T/typescript.fail" | tr -d '\r')"
echo "PASS t-progress"
