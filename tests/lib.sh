# Shared helpers for the integration scripts (sourced, bash).
# Every script builds what it needs under a fresh $T and removes it on exit.
set -u
set -o pipefail
# grep -q leaves at its first match; under pipefail, a writer still
# writing into the pipe (busybox --list, ldd, nft, status) then dies of
# SIGPIPE and the whole "... | grep -q X" fails although X was there. So
# in these scripts grep -q reads all its input and only its status
# counts: -q (alone or in a cluster of flag letters, before the pattern)
# becomes an output to /dev/null.
grep() {
	local a args=() quiet=0 opts=1
	for a in "$@"; do
		if [ $opts = 1 ] && [[ $a =~ ^-[a-zA-Z]*q[a-zA-Z]*$ ]] &&
			[[ ! $a =~ [efmABCdD] ]]; then
			quiet=1
			a=${a//q/}
			[ "$a" = - ] && continue
		elif [ $opts = 1 ] && { [ "$a" = --quiet ] || [ "$a" = --silent ]; }; then
			quiet=1
			continue
		elif [ "$a" = -- ] || [[ $a != -* ]]; then
			opts=0
		fi
		args+=("$a")
	done
	if [ $quiet = 1 ]; then
		command grep "${args[@]}" >/dev/null
	else
		command grep "$@"
	fi
}
SRC=${MIRROR_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
B=${MIRROR_BUILDDIR:-$SRC}
AGENT=$B/mirror-agent
MOUNTD=$B/mirror-mountd
CTL=$B/mirrorctl/mirrorctl
NETD=$B/mirror-netd
export MIRROR_MOUNTD=$MOUNTD MIRROR_AGENT=$AGENT MIRROR_NETD=$NETD
# The layer mirrorctl exec preloads (ctx_layer_env): the build tree's.
export MIRROR_LAYER=${MIRROR_LAYER:-$B/.libs/libmirror-layer.so}
export PYTHONDONTWRITEBYTECODE=1
# Sessions of tests live apart from a user's own.
export MIRROR_STATE_DIR=${MIRROR_STATE_DIR:-/run/mirror-test-$$}

T=$(mktemp -d /tmp/mirror-test.XXXXXX)
_cleanups=()
on_exit() { _cleanups+=("$*"); }
_run_cleanups() {
	local i
	for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${_cleanups[$i]}" >/dev/null 2>&1 || true
	done
	rm -rf "$T" "$MIRROR_STATE_DIR" 2>/dev/null || true
}
trap _run_cleanups EXIT
trap 'exit 130' INT TERM

say() { echo "# $*"; }
# The ends of mountd's and the agents' logs, shown on failure (the state
# directory goes with the test).
dump_logs() {
	local f
	for f in "$MIRROR_STATE_DIR"/sessions/*/*.log "$T"/agent.*.err; do
		[ -s "$f" ] && { echo "--- $f" >&2; tail -n 40 "$f" >&2; }
	done
	return 0
}
fail() { dump_logs; echo "FAIL: $*" >&2; exit 1; }

# A missing privilege or device: skip on a developer machine, fail
# loudly under CI (CI=true), where it must be there.
missing() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL (CI): $*" >&2
		exit 1
	fi
	echo "skipped: $*"
	exit 77
}
need_root() { [ "$(id -u)" = 0 ] || missing "needs root"; }
need_fuse() {
	[ -c /dev/fuse ] || missing "no /dev/fuse"
	command -v fusermount3 >/dev/null || missing "no fusermount3 (apt-get install fuse3)"
}
# A test that mounts: root, FUSE and the built programs.
need_mount() {
	need_root
	need_fuse
	[ -x "$CTL" ] && [ -x "$AGENT" ] && [ -x "$MOUNTD" ] || fail "build first (make)"
}
# need_cmd CMD [PACKAGE]: the test (or a part of it) needs CMD, from the
# Debian package PACKAGE (CMD by default). Skips without it; fails under
# CI. Never test for a tool with "command -v" and quietly leave out
# what needs it: call need_cmd at the top.
need_cmd() { command -v "$1" >/dev/null || missing "no $1 (apt-get install ${2:-$1})"; }

# wait_for SECONDS COMMAND...: runs COMMAND (a program or a function)
# every 0.1 s until it succeeds; returns 0 then, or 1 once SECONDS
# (whole seconds) have passed. For a state to come about: a file, a
# line in a log, a process gone. A sleep stays only where the wait
# itself is under test (a timeout or TTL that must pass, or a span in
# which something must NOT happen), and says so.
wait_for() {
	local end=$(($(date +%s%N) / 1000000 + $1 * 1000))
	shift
	until "$@"; do
		[ $(($(date +%s%N) / 1000000)) -lt $end ] || return 1
		sleep 0.1
	done
}

# wait_rewritten SECONDS FILE: waits until FILE (a status a daemon
# rewrites on a timer, by rename) has been written twice since the call,
# so that what it shows was computed after the call. 0, or 1 at the
# deadline.
wait_rewritten() {
	local secs=$1 f=$2 n
	for n in 1 2; do
		local was
		was=$(stat -c '%i %y' "$f" 2>/dev/null)
		wait_for "$secs" eval '[ "$(stat -c "%i %y" "$f" 2>/dev/null)" != "$was" ]' ||
			return 1
	done
}

# pid_gone PID: PID has exited (a zombie counts as gone).
pid_gone() {
	[ ! -e "/proc/$1" ] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# must_fail DESC PATTERN... -- COMMAND...: non-zero exit, one line on
# stderr that matches every (extended, case-insensitive) PATTERN.
must_fail() {
	local d=$1 pats=() p rc=0 s
	shift
	while [ "$1" != -- ]; do pats+=("$1"); shift; done
	shift
	s=$(date +%s%N)
	timeout 60 "$@" >"$T/mf.out" 2>"$T/mf.err" || rc=$?
	MS=$((($(date +%s%N) - s) / 1000000))
	[ $rc != 0 ] || fail "$d: exit 0 (stdout: $(cat "$T/mf.out"))"
	[ $rc != 124 ] || fail "$d: hung (killed after 60 s)"
	[ "$(wc -l <"$T/mf.err")" = 1 ] ||
		fail "$d: want one line on stderr, got: $(cat "$T/mf.err")"
	for p in "${pats[@]}"; do
		grep -qiE -- "$p" "$T/mf.err" || fail "$d: '$p' not in: $(cat "$T/mf.err")"
	done
	say "$d: exit $rc in $MS ms: $(cat "$T/mf.err")"
}

assert_eq() { # expected actual message
	[ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"
}

# A token file for a test agent.
make_token() { # file
	head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$1"
	chmod 600 "$1"
}

# start_agent ROOT|--target-pid PID [args]: sets AGENT_PID and AGENT_URL.
start_agent() {
	local out=$T/agent.$RANDOM
	[ -f "$T/token" ] || make_token "$T/token"
	if [ "${1:0:2}" = "--" ]; then
		"$AGENT" --listen "${AGENT_LISTEN:-127.0.0.1:0}" --token-file "$T/token" "$@" >"$out" 2>"$out.err" &
	else
		local root=$1; shift
		"$AGENT" --listen "${AGENT_LISTEN:-127.0.0.1:0}" --token-file "$T/token" --root "$root" "$@" >"$out" 2>"$out.err" &
	fi
	AGENT_PID=$!
	on_exit "kill $AGENT_PID"
	local i
	for i in $(seq 100); do
		AGENT_URL=$(sed -n 's/^ready //p' "$out")
		[ -n "$AGENT_URL" ] && return 0
		kill -0 $AGENT_PID 2>/dev/null || { cat "$out.err" >&2; fail "agent exited"; }
		sleep 0.1
	done
	fail "agent did not print ready"
}

# mount_url URL DIR [args]: mounts through mirrorctl; unmounted at exit.
mount_url() {
	local url=$1 dir=$2; shift 2
	mkdir -p "$dir"
	"$CTL" mount --token-file "$T/token" "$@" "$url" "$dir" || fail "mirrorctl mount $url $dir failed"
	on_exit "'$CTL' umount '$dir'; umount -l '$dir'"
}

# The built layer as LD_PRELOAD wants it: an ASan build's layer needs the
# sanitizers' runtimes loaded first (and leak reports off, since every
# program it is preloaded into would report its own). Sets LAYER and
# exports MIRROR_LAYER, which mirrorctl exec preloads; LAYER_SAN lists
# the runtimes (empty for an ordinary build).
use_built_layer() {
	LAYER=$B/.libs/libmirror-layer.so
	[ -f "$LAYER" ] || fail "no $LAYER (make)"
	LAYER_SAN=$(ldd "$LAYER" | awk '/lib(asan|ubsan)\.so/ { print $3 }' | tr '\n' ' ')
	export MIRROR_LAYER="$LAYER_SAN$LAYER"
	[ -z "$LAYER_SAN" ] || export ASAN_OPTIONS=detect_leaks=0
}
is_mounted() { grep -q " $(realpath "$1") fuse" /proc/mounts; }
