#!/usr/bin/env bash
# Messages name what the user can type: every flag a daemon's message
# suggests ("pick another with --tun-range", "leave it out with
# --never-route", "--route X routes it", "check --token-file", ...) is
# one the mirrorctl command that starts that daemon accepts (mirror-netd:
# connect; mirror-mountd and the client library: mount), and every
# mirror.conf key such a message names is a real setting ("mirrorctl
# config show" lists it). Usage text (--help) and flags of other
# programs (docker's --device) are left out. Then one such message as a
# user meets it: mirrorctl connect refusing a route that would shadow
# one of the laptop's (tests/t-netd-routes.sh runs that one end to end).
. "$(dirname "$0")/lib.sh"

need_cmd python3
[ -x "$CTL" ] || fail "build first (make)"
"$CTL" config show >"$T/show" 2>/dev/null || fail "config show"
python3 - "$SRC" "$CTL" "$T/show" <<'PY' || fail "a daemon message names what mirrorctl does not take"
import re, subprocess, sys
src, ctl, show = sys.argv[1:]
keys = {l.split(" = ")[0] for l in open(show) if " = " in l}
help_of = {c: subprocess.run([ctl, c, "--help"], capture_output=True, text=True).stdout
           for c in ("connect", "mount", "shell", "env", "port-forward")}
# daemon source -> the mirrorctl commands whose options the hint must be
files = {"netd/main.c": ["connect"], "netd/netns.c": ["connect"],
         "mountd/main.c": ["mount"], "lib/client.c": ["mount", "connect", "shell", "env", "port-forward"],
         "lib/agentconn.c": ["mount", "connect", "shell", "env", "port-forward"]}
not_ours = {"--device"}			# docker's and podman's
# netd's own usage errors about flags mirrorctl always passes itself
internal = {"--netns", "--exit-with", "--resolv-out"}
hint = re.compile(r'(?:with|use|check|out with|\(|; ) ?(--[a-z][a-z-]+)')
n = bad = 0
for f, cmds in files.items():
    text = open("%s/%s" % (src, f)).read()
    # message strings only: drop the usage text (lines with \n inside a
    # string literal start with two blanks and a flag, or "usage")
    for lit in re.findall(r'"((?:[^"\\]|\\.)*)"', text):
        if lit.lstrip().startswith("-") or "\\n" in lit:
            continue
        for flag in hint.findall(lit):
            if flag in not_ours or flag in internal:
                continue
            n += 1
            for c in cmds:
                if not re.search(r'(^|[\s,\[])' + re.escape(flag) + r'\b', help_of[c]):
                    print("%s: \"%s\" suggests %s, which mirrorctl %s does not take" % (f, lit, flag, c))
                    bad += 1
        if lit.endswith(".h"):
            continue	# an #include
        # (a sysctl such as net.ipv4.ping_group_range has more dots)
        for key in re.findall(r'(?<![\w.-])((?:net|fs|agent|env|incoming|kube|log)\.[a-z_0-9]+)(?![\w.])', lit):
            if key not in keys:
                print("%s: \"%s\" names %s, not a setting" % (f, lit, key))
                bad += 1
print("# %d flag hints checked" % n)
sys.exit(1 if bad else 0)
PY
echo "PASS t-config-hints"
