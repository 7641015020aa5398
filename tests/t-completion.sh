#!/usr/bin/env bash
# Completion in real bash (the function "complete -p mirrorctl" names,
# driven through COMP_WORDS as bash drives it) and real zsh (zsh -f with
# compinit in a pseudo-terminal, a TAB-listing read back): subcommands
# are those of "mirrorctl --help"; every flag each subcommand's --help
# shows (usage line and option lines, read here by a parser of the
# test's own) is offered; flag arguments with choices; TARGETs from what
# "mirrorctl ls" prints (kubectl against tests/kubeapi.py), asked once
# per 10 s and then anew; mount points to unmount from "mirrorctl status"
# (a real mount of a local agent); the same for kubectl-mirror.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/kubeapi.sh"

need_root
need_fuse
need_cmd zsh zsh
need_cmd kubectl kubectl
need_cmd python3
[ -x "$CTL" ] || fail "$CTL is not built"
make -s -C "$B" completions/mirrorctl completions/_mirrorctl >/dev/null ||
	fail "make completions"

mkdir -p "$T/bin" "$T/home" "$T/xdg" "$T/zfunc"
chmod 700 "$T/xdg"
ln -s "$(realpath "$CTL")" "$T/bin/mirrorctl"
ln -s "$SRC/kubectl-mirror" "$T/bin/kubectl-mirror"
cp "$B/completions/_mirrorctl" "$T/zfunc/"
export PATH=$T/bin:$PATH HOME=$T/home XDG_RUNTIME_DIR=$T/xdg

start_kubeapi "$T/api"
cat >"$T/api/pods.json" <<'JSON'
[{"namespace": "shop", "name": "web-0", "containers": ["app"]},
 {"namespace": "team-b", "name": "api-1", "containers": ["api", "sidecar"]}]
JSON
export KUBECONFIG=$T/api/kubeconfig
kubectl config use-context fake >/dev/null || fail "kubectl config use-context"

# complete WORD... : what bash's completion of mirrorctl offers for the
# last WORD (empty: a new word), one per line.
cat >"$T/drive.bash" <<'EOF2'
. "$1"; shift
fn=$(complete -p "$1" | sed -n 's/.* -F \([^ ]*\) .*/\1/p')
[ -n "$fn" ] || { echo "no completion for $1" >&2; exit 1; }
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}"
EOF2
complete() { bash "$T/drive.bash" "$B/completions/mirrorctl" "$@"; }
offers() { # what WORD... : each of what is offered
	local what=$1 w
	shift
	complete "$@" >"$T/c.out" 2>"$T/c.err" || fail "complete $*: $(cat "$T/c.err")"
	for w in $what; do
		grep -qxF -- "$w" "$T/c.out" || fail "bash: '$*' does not offer $w: $(tr '\n' ' ' <"$T/c.out")"
	done
}

say "bash: subcommands"
"$CTL" --help | python3 -c '
import re, sys
t = sys.stdin.read().split("Commands:\n")[1].split("\n\n")[0]
print(" ".join(l.split()[0] for l in t.splitlines()))' >"$T/cmds"
cmds=$(cat "$T/cmds")
[ "$(wc -w <"$T/cmds")" -ge 10 ] || fail "few commands in --help: $cmds"
complete mirrorctl "" >"$T/c.out"
assert_eq "$cmds" "$(tr '\n' ' ' <"$T/c.out" | sed 's/ $//')" "the subcommands offered"
offers "mount" mirrorctl mo
offers "port-forward" mirrorctl port

say "bash: every flag of every subcommand's --help"
# The test's own reading of --help: flags on the usage line and at the
# start of the option lines.
helpflags() {
	"$CTL" "$1" --help | python3 -c '
import re, sys
flags = set()
for l in sys.stdin:
    if l.startswith("usage: "):
        flags.update(re.findall(r"(?<=[\s\[|])(--?[A-Za-z][\w-]*)", l))
    elif l.startswith("  -"):
        for w in l.split():
            w = w.rstrip(",")
            if re.fullmatch(r"--?[A-Za-z][\w-]*", w): flags.add(w)
            elif not re.fullmatch(r"[A-Z_]+|[a-z|]+", w): break
print(" ".join(sorted(flags)))'
}
total=0
for c in $cmds; do
	f=$(helpflags "$c")
	offers "$f --help" mirrorctl "$c" -
	total=$((total + $(wc -w <<<"$f")))
done
say "  $total flags checked"
[ "$total" -ge 40 ] || fail "only $total flags found in --help"

say "bash: flag arguments"
offers "shell json dotenv" mirrorctl env -o ""
offers "json" mirrorctl ls -o ""
offers "fake dead" mirrorctl mount --context ""
offers "shop team-b" mirrorctl ls --context fake -n ""
touch "$T/conf-a.conf"
offers "$T/conf-a.conf" mirrorctl mount --config "$T/conf-"
offers "up down status" mirrorctl demo ""

say "bash: TARGETs from mirrorctl ls, cached"
: >"$T/api/requests"
offers "demo pod/web-0" mirrorctl mount ""
grep -q "api-1" "$T/c.out" && fail "pods of another namespace offered: $(cat "$T/c.out")"
offers "pod/api-1/container/api pod/api-1/container/sidecar" mirrorctl mount -n team-b ""
offers "pod/web-0" mirrorctl shell --rw ""
podgets() { grep -c '/pods?' "$T/api/requests"; }
assert_eq 2 "$(podgets)" "pod lists asked (one per namespace)"
cat >"$T/api/pods.json" <<'JSON'
[{"namespace": "shop", "name": "web-1", "containers": ["app"]}]
JSON
offers "pod/web-0" mirrorctl connect ""
assert_eq 2 "$(podgets)" "pod lists asked within 10 s"
cache=$(ls "$T/xdg"/mirrorctl-complete."$(id -u)".ls.* | head -n 1)
[ -f "$cache" ] || fail "no cache file in $T/xdg: $(ls -la "$T/xdg")"
for f in "$T/xdg"/mirrorctl-complete.*; do touch -d '-11 seconds' "$f"; done
offers "pod/web-1" mirrorctl mount ""
grep -qx "pod/web-0" "$T/c.out" && fail "a stale target after 10 s: $(cat "$T/c.out")"
assert_eq 3 "$(podgets)" "pod lists asked after 10 s"

say "bash: names from the cluster are offered, never expanded"
python3 -c '
import json, sys
t = sys.argv[1]
json.dump([{"namespace": "evil", "name": "$(touch ${IFS}%s/pwned)x" % t, "containers": ["a"]},
           {"namespace": "evil", "name": "`touch ${IFS}%s/pwned2`" % t, "containers": ["a"]}],
          open(t + "/api/pods.json", "w"))' "$T"
complete mirrorctl mount -n evil "" >"$T/c.out" 2>&1 || fail "complete: $(cat "$T/c.out")"
grep -qF 'pod/$(touch' "$T/c.out" && grep -qF 'pod/`touch' "$T/c.out" || fail "the odd pod name is not offered as it is: $(cat "$T/c.out")"
[ -e "$T/pwned" ] || [ -e "$T/pwned2" ] && fail "a pod name was run by the completion"
echo '[{"namespace": "shop", "name": "web-1", "containers": ["app"]}]' >"$T/api/pods.json"

say "bash: mount points from mirrorctl status"
mkdir -p "$T/tree/sub"
start_agent "$T/tree"
mount_url "$AGENT_URL" "$T/mnt"
offers "$T/mnt" mirrorctl umount ""
offers "$T/mnt" mirrorctl umount -l ""

say "bash: kubectl-mirror"
offers "mount" kubectl-mirror mo
offers "--kubeconfig --context" kubectl-mirror --
offers "pod/web-1" kubectl-mirror -n shop mount --context fake ""

say "zsh: the same through compinit"
cat >"$T/drive.zsh" <<'EOF2'
# zsh -f DRIVE.zsh FPATHDIR LINE...: each LINE typed into an interactive
# zsh -f (compinit from FPATHDIR) in a pseudo-terminal and TAB-listed;
# prints "LINE => the words listed".
zmodload zsh/zpty
setopt extendedglob
dir=$1; shift
zpty -b z "zsh -f -i"
# (the markers are typed split by quotes, so that only their output matches)
zpty -w z "PS1='%% '; fpath=($dir \$fpath); autoload -Uz compinit; compinit -u -D; zstyle ':completion:*' list-separator '@'; LISTMAX=1000; COLUMNS=400; LINES=1000; bindkey '^T' list-choices; echo RE''ADY"
zpty -r z out '*READY*' || { echo "zsh did not start" >&2; exit 1; }
n=0
for line in "$@"; do
	n=$((n + 1))
	zpty -w -n z "$line"$'\x14'
	zpty -w -n z $'\x15'"echo EN''D$n-x"$'\r'
	out=
	zpty -r z out "*END$n-x*" || { echo "no END$n" >&2; exit 1; }
	# each terminal control sequence ends a line: the listing's lines
	# apart from the redrawn prompt
	out=${out//$'\e'\[[0-9;?]#[a-zA-Z]/$'\n'}
	out=${out//$'\e'[^a-zA-Z]#[a-zA-Z]/$'\n'}
	out=${out//$'\r'/$'\n'}
	words=()
	for l in ${(f)out}; do
		[[ $l == *EN* || $l == *"${line% }"* || $l == '% '* ]] && continue
		l=${l%%@*}
		words+=(${=l})
	done
	print -r -- "$line => ${words[*]}"
done
zpty -d z
EOF2
zsh -f "$T/drive.zsh" "$T/zfunc" \
	"mirrorctl mo" \
	"mirrorctl env -o " \
	"mirrorctl ls -" \
	"mirrorctl demo " \
	"mirrorctl mount --context fake -n shop " \
	"mirrorctl umount " \
	"kubectl-mirror -n shop mount --context fake " \
	>"$T/zsh.out" 2>"$T/zsh.err" || fail "zsh: $(cat "$T/zsh.err") $(cat "$T/zsh.out")"
cat "$T/zsh.out"
zoffers() { # line what...
	local line=$1 w got
	shift
	got=$(grep -F -- "$line =>" "$T/zsh.out") || fail "zsh: no result for '$line'"
	for w in "$@"; do
		[[ " ${got#*=> } " == *" $w "* ]] || fail "zsh: '$line' does not offer $w: $got"
	done
}
zoffers "mirrorctl mo" mount
zoffers "mirrorctl env -o " shell json dotenv
zoffers "mirrorctl ls -" $(helpflags ls)
zoffers "mirrorctl demo " up down status
zoffers "mirrorctl mount --context fake -n shop " demo pod/web-1
zoffers "mirrorctl umount " "$T/mnt"
zoffers "kubectl-mirror -n shop mount --context fake " pod/web-1
say "ok"
