#!/usr/bin/env bash
# Confinement at the protocol level: every path and every symlink is
# resolved inside the served root (RESOLVE_IN_ROOT), never on the host.
# The root holds its own /etc/passwd, /etc/shadow and /etc/hostname and
# symlinks that would escape if followed on the host (absolute, "..",
# /proc/self/root magic links). Reads give the root's files or an errno,
# never the host's; readlink answers are relative targets that stay in
# the root.
. "$(dirname "$0")/lib.sh"

need_cmd python3
[ -x "$AGENT" ] || missing "no $AGENT (build it first)"

R=$T/root
mkdir -p "$R/etc" "$R/d/e"
echo "root-local-passwd" >"$R/etc/passwd"
echo "root-local-shadow" >"$R/etc/shadow"
echo "root-local-hostname" >"$R/etc/hostname"
ln -s /etc/shadow "$R/abs"
ln -s ../../../../etc/passwd "$R/up"
ln -s /proc/self/root "$R/magic"
ln -s ../../../etc/hostname "$R/d/esc"
ln -s ../etc/passwd "$R/d/ok"			# already safe: kept as is
ln -s ../../../../../etc/shadow "$R/d/e/deep"
ln -s /etc/../etc/./passwd "$R/d/absdots"
ln -s / "$R/rootlink"
start_agent "$R"
say "agent at $AGENT_URL serving $R"

wsc() {
	python3 "$SRC/tests/wsclient.py" --url "$AGENT_URL" \
		--token-file "$T/token" "$@"
}

# Host content that must never come back.
host_files=(/etc/passwd /etc/shadow /etc/hostname)
never_host() { # what file
	local h
	for h in "${host_files[@]}"; do
		[ -s "$h" ] || continue
		cmp -s "$2" "$h" && fail "$1: returned the host's $h"
		head -n 1 "$h" >"$T/hostline"
		[ -s "$T/hostline" ] && grep -qxF -f "$T/hostline" "$2" &&
			fail "$1: returned a line of the host's $h"
	done
	return 0
}

# read PATH: either exactly the root's file, or an errno.
read_root_or_errno() { # path expected-content
	local rc=0
	wsc read "$1" >"$T/out" 2>"$T/err" || rc=$?
	never_host "read $1" "$T/out"
	case $rc in
	0) [ "$(cat "$T/out")" = "$2" ] ||
		fail "read $1: got '$(head -c 200 "$T/out")', want '$2' or an errno"
	   say "read $1: the root's own file" ;;
	2) say "read $1: $(cat "$T/err")" ;;
	*) fail "read $1: exit $rc: $(cat "$T/err")" ;;
	esac
}

# read PATH: must be the root's file.
read_root() { # path expected-content
	wsc read "$1" >"$T/out" 2>"$T/err" ||
		fail "read $1: $(cat "$T/err")"
	never_host "read $1" "$T/out"
	[ "$(cat "$T/out")" = "$2" ] ||
		fail "read $1: got '$(head -c 200 "$T/out")', want '$2'"
	say "read $1: $2"
}

read_root_or_errno /abs root-local-shadow
read_root_or_errno /up root-local-passwd
read_root_or_errno /d/esc root-local-hostname
read_root_or_errno /d/e/deep root-local-shadow
read_root /../../etc/passwd root-local-passwd
read_root /d/../../../etc/passwd root-local-passwd
read_root /../../../../../../../../etc/shadow root-local-shadow
read_root /d/e/../../../etc/hostname root-local-hostname

# Same inode as the root's file, not the host's.
ino_of() { wsc getattr "$1" 2>&1 | sed -n 's/.* ino=\([0-9]*\) .*/\1/p'; }
want=$(stat -c %i "$R/etc/passwd")
got=$(ino_of /../../etc/passwd)
[ "$got" = "$want" ] ||
	fail "getattr /../../etc/passwd: inode '$got', want the root's $want"

# readlink: a relative target that, taken from the link's directory
# inside the root, names the expected file and never climbs above the
# root on the way.
check_link() { # link expected-resolved-path [exact-target]
	local target rc=0
	target=$(wsc readlink "$1" 2>"$T/err") || rc=$?
	[ "$rc" = 0 ] || fail "readlink $1: exit $rc: $(cat "$T/err")"
	[ -z "${3:-}" ] || [ "$target" = "$3" ] ||
		fail "readlink $1: '$target', want exactly '$3'"
	python3 - "$1" "$target" "$2" <<'EOF' || fail "readlink $1: unsafe target '$target'"
import posixpath, sys
link, target, want = sys.argv[1:]
if target.startswith("/"):
    sys.exit("absolute target %r would be followed on the client's host" % target)
if target == "":
    sys.exit("empty target")
# Walk from the link's directory, component by component.
parts = [p for p in posixpath.dirname(link).split("/") if p]
for comp in target.split("/"):
    if comp in ("", "."):
        continue
    if comp == "..":
        if not parts:
            sys.exit("%r climbs above the root from %r" % (target, link))
        parts.pop()
    else:
        parts.append(comp)
got = "/" + "/".join(parts)
if got != want:
    sys.exit("%r from %r resolves to %r, want %r" % (target, link, got, want))
EOF
	say "readlink $1 -> $target (resolves to $2 inside the root)"
}

check_link /abs /etc/shadow
check_link /up /etc/passwd
check_link /d/esc /etc/hostname
check_link /d/ok /etc/passwd ../etc/passwd
check_link /d/e/deep /etc/shadow
check_link /d/absdots /etc/passwd
check_link /magic /proc/self/root
rc=0
target=$(wsc readlink /rootlink 2>"$T/err") || rc=$?
case "$rc:$target" in
0:.|0:./|0:) say "readlink /rootlink -> '$target'" ;;
0:*) fail "readlink /rootlink: '$target' (want the root itself: '.')" ;;
*) say "readlink /rootlink: $(cat "$T/err")" ;;
esac

# Magic links: no /proc in this root, so nothing behind /magic.
for p in /magic/etc /magic/etc/passwd /rootlink/../magic/etc; do
	rc=0
	out=$(wsc getattr "$p" 2>&1) || rc=$?
	case "$rc:$out" in
	"2:error: ENOENT"|"2:error: ELOOP") say "getattr $p: ${out#error: }" ;;
	*) fail "getattr $p: want ENOENT or ELOOP, got exit $rc: $out" ;;
	esac
done
rc=0
wsc read /magic/etc/passwd >"$T/out" 2>"$T/err" || rc=$?
never_host "read /magic/etc/passwd" "$T/out"
[ "$rc" = 2 ] || fail "read /magic/etc/passwd: exit $rc: $(head -c 200 "$T/out")"
rc=0
wsc readdir /magic >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 2 ] || fail "readdir /magic: exit $rc, listed: $(head -n 5 "$T/out" | tr '\n' ' ')"

# The root's own listing, through "..".
wsc readdir /../.. >"$T/out" 2>"$T/err" || fail "readdir /../..: $(cat "$T/err")"
sort "$T/out" | tr '\n' ' ' >"$T/names"
[ "$(cat "$T/names")" = "abs d etc magic rootlink up " ] ||
	fail "readdir /../..: '$(cat "$T/names")', want the root's entries"
exit 0
