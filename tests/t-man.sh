#!/usr/bin/env bash
# The man pages (man/*.[158]) match the programs: every subcommand and
# every option a program's --help prints (mirrorctl's and each of its
# subcommands') appears in the program's rendered page, and groff (or
# mandoc, if installed) renders every page without a warning.
. "$(dirname "$0")/lib.sh"

command -v groff >/dev/null || missing "no groff (apt-get install groff-base)"
command -v python3 >/dev/null || missing "no python3"
[ -x "$CTL" ] && [ -x "$AGENT" ] && [ -x "$MOUNTD" ] && [ -x "$NETD" ] ||
	fail "build first (make)"

# A page as plain text, one long line per paragraph (no hyphenation or
# breaks inside an option's name); groff's warnings fail the test.
render() {
	local page=$1 out=$2
	groff -mandoc -Tascii -ww -rLL=300n -rHY=0 "$page" 2>"$T/warn" |
		col -bx >"$out"
	[ -s "$T/warn" ] && { cat "$T/warn" >&2; fail "groff warns about $page"; }
	if command -v mandoc >/dev/null; then
		mandoc -Tlint -Wwarning "$page" >&2 || fail "mandoc -Tlint: $page"
	fi
	return 0
}

# The subcommands and options of help text (stdin): the words under
# "Commands:", the options in usage lines and the first column of option
# lines (lines that start with blanks and a '-').
cat >"$T/words.py" <<'EOF'
import re, sys
flag = re.compile(r'(?<![A-Za-z0-9_/$-])--?[A-Za-z][A-Za-z0-9-]*')
words, in_cmds, in_usage = set(), False, False
for line in sys.stdin.read().splitlines():
    if line.startswith('usage:'):
        in_usage = True
    elif not line.strip():
        in_usage = in_cmds = False
    if line.startswith('Commands:'):
        in_cmds = True
        continue
    if in_cmds:
        m = re.match(r'\s+([a-z][a-z-]*)\s', line)
        if m:
            words.add(m.group(1))
        continue
    if in_usage:
        words.update(flag.findall(line))
    elif re.match(r'\s+-', line):
        words.update(flag.findall(re.split(r'\s{2,}', line.strip(), 1)[0]))
for w in sorted(words):
    print(w)
EOF

# check PAGE HELP-TEXT-FILE...: each word of the help is in the page.
check() {
	local page=$1 txt=$T/$(basename "$1").txt w n=0
	shift
	[ -f "$page" ] || fail "no $page"
	render "$page" "$txt"
	cat "$@" | python3 "$T/words.py" >"$T/words"
	[ -s "$T/words" ] || fail "no options found in the help for $page"
	while read -r w; do
		n=$((n + 1))
		grep -qE -- "(^|[^A-Za-z0-9-])$w([^A-Za-z0-9-]|\$)" "$txt" ||
			fail "$(basename "$page") does not mention $w (from --help)"
	done <"$T/words"
	say "$(basename "$page"): all $n subcommands and options of --help"
}

M=$SRC/man
"$CTL" --help >"$T/ctl.help" 2>&1
cmds=$(python3 "$T/words.py" <"$T/ctl.help" | grep -v '^-')
[ -n "$cmds" ] || fail "mirrorctl --help lists no commands"
helps=("$T/ctl.help")
for c in $cmds; do
	"$CTL" "$c" --help >"$T/ctl-$c.help" 2>&1
	helps+=("$T/ctl-$c.help")
done
check "$M/mirrorctl.1" "${helps[@]}"
"$AGENT" --help >"$T/agent.help" 2>&1
check "$M/mirror-agent.8" "$T/agent.help"
"$MOUNTD" --help >"$T/mountd.help" 2>&1
check "$M/mirror-mountd.8" "$T/mountd.help"
"$NETD" --help >"$T/netd.help" 2>&1
check "$M/mirror-netd.8" "$T/netd.help"

# mirror.conf(5) names every setting of the shipped file.
conf=$B/conf/mirror.conf
[ -f "$conf" ] || fail "no $conf (run configure)"
render "$M/mirror.conf.5" "$T/conf.txt"
python3 - "$conf" >"$T/settings" <<'EOF'
import re, sys
group = None
for line in open(sys.argv[1]):
    line = line.split('#', 1)[0]
    m = re.match(r'\s*([a-z_]+)\s*=\s*\{', line)
    if m:
        group = m.group(1)
        continue
    m = re.match(r'\s*([a-z_]+)\s*=', line)
    if m and group:
        print(group + '.' + m.group(1))
EOF
[ -s "$T/settings" ] || fail "no settings found in $conf"
while read -r s; do
	key=${s#*.}
	grep -qE "(^|[^a-z_.])$s([^a-z_]|\$)|(^|[^a-z_])$key([^a-z_]|\$)" "$T/conf.txt" ||
		fail "mirror.conf.5 does not mention $s"
done <"$T/settings"
say "mirror.conf.5: all $(wc -l <"$T/settings") settings"
echo "ok"
