#!/usr/bin/env bash
# A mount is private to the user who made it. Root makes a read-write
# mount under sudo for user A (SUDO_UID=A, as "sudo mirrorctl mount" does);
# user B gets "Permission denied" on ls, cat, stat and on writes, even in
# a directory whose mode lets everyone write, before and after A used the
# mount; A and root are served; the refusal is logged once. With
# fs.allow_users = ( B, "nobody" ) in a config passed with --config, B and
# nobody are served and C still is not; an unknown user name in
# fs.allow_users fails the mount with one clear line.
. "$(dirname "$0")/lib.sh"

need_mount
need_cmd setpriv util-linux

# Numeric ids need no passwd entry; nobody is looked up by name.
A=4711 B=4712 C=4713
as() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --clear-groups "$@"; }
# refused UID DESC COMMAND...: fails, saying "Permission denied".
refused() {
	local u=$1 d=$2 rc=0
	shift 2
	as "$u" "$@" >"$T/out" 2>"$T/err" || rc=$?
	[ $rc != 0 ] || fail "uid $u: $d succeeded: $(cat "$T/out")"
	grep -q "Permission denied" "$T/err" ||
		fail "uid $u: $d: want Permission denied, got: $(cat "$T/err")"
}
served() {
	local u=$1 d=$2
	shift 2
	as "$u" "$@" >"$T/out" 2>"$T/err" || fail "uid $u: $d failed: $(cat "$T/err")"
}

chmod 711 "$T"		# the users reach the mount point through $T
R=$T/root M=$T/m
mkdir -p "$R/sub" "$R/shared" "$M"
echo "pod secret" >"$R/secret"
echo "in sub" >"$R/sub/file"
ln -s ../secret "$R/sub/link"
chmod 644 "$R/secret" "$R/sub/file"
chmod 1777 "$R/shared"		# modes would let anyone write here

start_agent "$R" --rw
say "agent at $AGENT_URL"

mount_as_a() { # extra mirrorctl args
	SUDO_UID=$A "$CTL" mount --rw --token-file "$T/token" "$@" "$AGENT_URL" "$M" ||
		fail "SUDO_UID=$A mirrorctl mount $*"
}
on_exit "'$CTL' umount '$M'; umount -l '$M'"
mount_as_a
grep " $M fuse" /proc/mounts | grep -q allow_other ||
	fail "a root mount without allow_other cannot serve its owner: $(grep " $M " /proc/mounts)"

say "B, before anyone used the mount (nothing cached by the kernel)"
refused $B "ls the root" ls "$M"
refused $B "stat a file" stat "$M/secret"
refused $B "cat a file" cat "$M/secret"
refused $B "ls a directory" ls "$M/sub"
refused $B "readlink" readlink -v "$M/sub/link"
refused $B "create in a 1777 directory" sh -c "echo x >'$M/shared/b-file'"
[ ! -e "$R/shared/b-file" ] || fail "uid $B created a file through the mount"

say "A, the owner"
served $A "ls the root" ls "$M"
grep -qx secret "$T/out" || fail "uid $A: ls shows no secret: $(cat "$T/out")"
served $A "cat a file" cat "$M/secret"
assert_eq "pod secret" "$(cat "$T/out")" "uid $A reads the file"
served $A "stat a file" stat -c %s "$M/secret"
assert_eq 11 "$(cat "$T/out")" "uid $A: size"
served $A "readlink" readlink "$M/sub/link"
assert_eq ../secret "$(cat "$T/out")" "uid $A: link target"
served $A "write in a 1777 directory" sh -c "echo a >'$M/shared/a-file'"
assert_eq "$A" "$(stat -c %u "$R/shared/a-file")" "owner of A's file in the pod"

say "root"
assert_eq "pod secret" "$(cat "$M/secret")" "root reads the file"
ls "$M/sub" >/dev/null || fail "root: ls sub"

say "B, while the kernel holds what A looked up"
refused $B "cat a file A read" cat "$M/secret"
refused $B "ls a directory A listed" ls "$M"
refused $B "write to A's file" sh -c "echo b >>'$M/shared/a-file'"
refused $B "remove A's file" rm -f "$M/shared/a-file"
assert_eq a "$(cat "$R/shared/a-file")" "A's file after B's attempts"
# Names and attributes the kernel caches are its own answer until
# fs.attr_timeout / fs.entry_timeout (1 s) pass; then mountd is asked.
sleep 1.5	# past the timeouts: the wait is the test
refused $B "stat once the cache expired" stat "$M/secret"
refused $C "stat" stat "$M/sub/file"

log=$(ls "$MIRROR_STATE_DIR"/sessions/*/mountd.log)
n=$(grep -c "refused uid $B " "$log") || true
assert_eq 1 "$n" "lines about uid $B in mountd's log (once per uid)"
"$CTL" umount "$M" || fail "umount"

say "fs.allow_users = ( $B, \"nobody\" )"
printf 'fs = { allow_users = ( %s, "nobody" ); };\n' $B >"$T/allow.conf"
mount_as_a --config "$T/allow.conf"
served $B "cat a file" cat "$M/secret"
assert_eq "pod secret" "$(cat "$T/out")" "uid $B reads the file when allowed"
served $B "ls a directory" ls "$M/sub"
served $B "stat a file" stat "$M/sub/file"
served 65534 "cat a file (nobody, by name)" cat "$M/sub/file"
served $A "cat a file (still the owner)" cat "$M/secret"
refused $C "cat a file (not listed)" cat "$M/secret"
"$CTL" umount "$M" || fail "umount"

printf 'fs = { allow_users = [ "no-such-user-%s" ]; };\n' $$ >"$T/bad.conf"
must_fail "an unknown user in fs.allow_users" "allow_users" "no such user" -- \
	"$CTL" mount --config "$T/bad.conf" --token-file "$T/token" "$AGENT_URL" "$M"
is_mounted "$M" && fail "mounted with a bad fs.allow_users"
printf 'fs = { allow_users = [ 1.5 ]; };\n' >"$T/bad2.conf"
must_fail "a number that is no uid in fs.allow_users" "allow_users" -- \
	"$CTL" mount --config "$T/bad2.conf" --token-file "$T/token" "$AGENT_URL" "$M"
echo ok
