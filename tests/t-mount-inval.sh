#!/usr/bin/env bash
# Pushed invalidation: the agent watches the directories it served and
# tells mountd of every change, so the kernel's caches may be long. The
# config here makes every timeout 60 s, so only the pushed events can
# make a change in the pod ($R) show on the mount ($M) in time:
# (a) after the mount has cached each name (stat, cat, ls, a negative
#     lookup), the pod writes, appends, renames, unlinks, makes a
#     directory, chmods, and makes a name a negative lookup cached:
#     each shows on the mount within 1 s (the delay is printed);
# (b) the same in a directory below one that was renamed in the pod;
# (c) an agent started with --watch-max 0 does not say it watches, and
#     mountd keeps to the short timeouts (1 s here): a change shows
#     within 2 s, not 60;
# (d) mirrorctl status says whether pushed invalidation is on;
# (e) an agent at its watch limit (--watch-max 1) says so in status, and
#     a change in a directory past the limit shows within the short
#     timeouts while one in the watched directory shows at once;
# (f) a file bound over a name of a watched directory (as a pod's
#     /etc/resolv.conf is) changes where no watch sees it: it keeps to
#     the short timeouts, and a change shows within them;
# (g) a directory listed ahead, once walked, is walked again without
#     the agent (the kernel kept its listing from the first walk, and
#     the names looked up while a listing was on its way).
. "$(dirname "$0")/lib.sh"

need_mount
need_cmd python3

R=$T/root M=$T/mnt
mkdir -p "$R/dir/sub" "$M"
# conf FILE SHORT: the short timeouts SHORT, the watched one 60 s.
conf() {
	printf 'fs = {\n  attr_timeout = %s;\n  entry_timeout = %s;\n  negative_timeout = %s;\n  watched_timeout = 60.0;\n};\n' \
		"$2" "$2" "$2" >"$1"
}
conf "$T/long.conf" 60.0
conf "$T/short.conf" 1.0

# poll DESC SECONDS COMMAND...: runs COMMAND until it succeeds, for up to
# SECONDS; prints the delay.
poll() {
	local d=$1 secs=$2 s e
	shift 2
	s=$(date +%s%N)
	until "$@" 2>/dev/null; do
		e=$((($(date +%s%N) - s) / 1000000))
		[ $e -lt $((secs * 1000)) ] || fail "$d: not seen on the mount after $e ms"
		sleep 0.01
	done
	say "$d: seen after $((($(date +%s%N) - s) / 1000000)) ms"
}
content_is() { [ "$(cat "$1")" = "$2" ]; }
size_is() { [ "$(stat -c %s "$1")" = "$2" ]; }
mode_is() { [ "$(stat -c %a "$1")" = "$2" ]; }
listed() { ls -1 "$1" | grep -qx "$2"; }
not_listed() { ! ls -1 "$1" | grep -qx "$2"; }

# Everything the mount will be asked about, made before it is mounted.
mk_tree() {
	printf 'old\n' >"$R/dir/w"
	printf 'line 1\n' >"$R/dir/app"
	printf 'to move\n' >"$R/dir/mv-from"
	printf 'to remove\n' >"$R/dir/gone"
	printf 'mode\n' >"$R/dir/mode"
	chmod 644 "$R/dir/mode"
	printf 'deep\n' >"$R/dir/sub/f"
}
# The mount caches each of them (and "no such name" for the new ones).
warm() {
	local f
	for f in w app mv-from gone mode; do cat "$M/dir/$f" >/dev/null || fail "read $M/dir/$f"; done
	ls -l "$M/dir" >/dev/null
	stat "$M/dir/sub/f" >/dev/null
	cat "$M/dir/sub/f" >/dev/null
	[ ! -e "$M/dir/new" ] || fail "$M/dir/new exists before it was made"
	[ ! -e "$M/dir/mv-to" ] || fail "$M/dir/mv-to exists before it was made"
	[ ! -e "$M/dir/newdir" ] || fail "$M/dir/newdir exists before it was made"
	# Cached now: with 60 s timeouts the kernel would not ask again.
	sleep 0.2
}
# The pod changes each, then each must show within $1 seconds.
change_and_check() {
	local secs=$1
	printf 'new content, longer\n' >"$R/dir/w"
	printf 'line 2\n' >>"$R/dir/app"
	mv "$R/dir/mv-from" "$R/dir/mv-to"
	rm "$R/dir/gone"
	mkdir "$R/dir/newdir"
	chmod 600 "$R/dir/mode"
	printf 'brand new\n' >"$R/dir/new"
	printf 'deeper\n' >"$R/dir/sub/f"
	poll "write (content)" "$secs" content_is "$M/dir/w" "new content, longer"
	poll "append (content)" "$secs" content_is "$M/dir/app" "$(printf 'line 1\nline 2')"
	poll "append (size)" "$secs" size_is "$M/dir/app" 14
	poll "rename (new name)" "$secs" content_is "$M/dir/mv-to" "to move"
	poll "rename (old name gone)" "$secs" test ! -e "$M/dir/mv-from"
	poll "unlink" "$secs" test ! -e "$M/dir/gone"
	poll "mkdir (after a negative lookup)" "$secs" test -d "$M/dir/newdir"
	poll "chmod" "$secs" mode_is "$M/dir/mode" 600
	poll "a new file (after a negative lookup)" "$secs" content_is "$M/dir/new" "brand new"
	poll "a new name in a listed dir" "$secs" listed "$M/dir" new
	poll "a removed name in a listed dir" "$secs" not_listed "$M/dir" gone
	poll "a file in a subdirectory" "$secs" content_is "$M/dir/sub/f" "deeper"
}

# ------------------------------------------------------------ (a), (b)
mk_tree
start_agent "$R"
mount_url "$AGENT_URL" "$M" --config "$T/long.conf"

say "(a) changes in the pod, all timeouts 60 s: each shows within 1 s"
warm
change_and_check 1

say "(b) a directory renamed in the pod: what was cached under it goes"
mkdir -p "$R/top/inner"
printf 'v1\n' >"$R/top/inner/f"
cat "$M/top/inner/f" >/dev/null || fail "read $M/top/inner/f"
ls "$M/top" >/dev/null
sleep 0.2
mv "$R/top" "$R/top2"
printf 'v2\n' >"$R/top2/inner/f"
poll "the old name of a renamed directory" 1 test ! -e "$M/top/inner/f"
poll "a file under the new name" 1 content_is "$M/top2/inner/f" v2
mkdir "$R/top"
printf 'v3\n' >"$R/top/inner-new"
poll "a new directory by the old name" 1 content_is "$M/top/inner-new" v3

say "(d) mirrorctl status says pushed invalidation is on"
"$CTL" status >"$T/status" || fail "mirrorctl status"
cat "$T/status"
grep -qE "pushed invalidation: on \([0-9]+ directories watched" "$T/status" ||
	fail "status does not say pushed invalidation is on"

"$CTL" umount "$M" || fail "umount"
kill "$AGENT_PID"

# ---------------------------------------------------------------- (c)
say "(c) an agent that does not watch: the short timeouts (1 s) apply"
rm -rf "$R"
mkdir -p "$R/dir/sub"
mk_tree
start_agent "$R" --watch-max 0
mount_url "$AGENT_URL" "$M" --config "$T/short.conf"
warm
change_and_check 3
"$CTL" status >"$T/status" || fail "mirrorctl status"
grep -q "pushed invalidation: off" "$T/status" ||
	fail "status does not say pushed invalidation is off: $(cat "$T/status")"

# ---------------------------------------------------------------- (e)
say "(e) an agent at its watch limit: past it, the short timeouts"
"$CTL" umount "$M" || fail "umount"
kill "$AGENT_PID"
rm -rf "$R"
mkdir -p "$R/d1" "$R/d2"
echo a >"$R/d1/f"
echo a >"$R/d2/f"
start_agent "$R" --watch-max 1
mount_url "$AGENT_URL" "$M" --config "$T/short.conf"
# The root is the one directory watched (the lookups of d1 and d2 are in
# it); d1/f and d2/f are in directories past the limit.
stat "$M/d1" "$M/d2" "$M/d1/f" "$M/d2/f" >/dev/null || fail "stat through the mount"
sleep 0.2
echo bb >>"$R/d2/f"
mkdir "$R/d3"
poll "a new name in the watched directory" 1 test -d "$M/d3"
poll "a change past the limit (short timeouts)" 3 size_is "$M/d2/f" 5
"$CTL" status >"$T/status" || fail "mirrorctl status"
grep -q "pushed invalidation: on (1 directories watched; at the agent's limit" "$T/status" ||
	fail "status does not say the agent is at its limit: $(cat "$T/status")"

# ---------------------------------------------------------------- (f)
say "(f) a file bound over a name: the short timeouts"
"$CTL" umount "$M" || fail "umount"
kill "$AGENT_PID"
rm -rf "$R"
mkdir -p "$R/etc"
echo a >"$R/etc/bound"
echo a >"$T/outside"
mount --bind "$T/outside" "$R/etc/bound" || fail "bind mount"
on_exit "umount '$R/etc/bound'"
start_agent "$R"
mount_url "$AGENT_URL" "$M" --config "$T/short.conf"
ls "$M/etc" >/dev/null
stat "$M/etc/bound" >/dev/null || fail "stat through the mount"
sleep 0.2
echo bb >>"$T/outside"
poll "a change to the bound file (short timeouts)" 3 size_is "$M/etc/bound" 5
umount "$R/etc/bound"

# ---------------------------------------------------------------- (g)
say "(g) a directory listed ahead is kept from its first walk on"
"$CTL" umount "$M" || fail "umount"
kill "$AGENT_PID"
rm -rf "$R"
mkdir -p "$R/top/sub"
for i in $(seq 100); do echo "$i" >"$R/top/sub/f$i"; done
# Many names in top: ls -lR asks about each before it opens sub, time
# enough for sub's listing, asked for ahead, to arrive first.
for i in $(seq 1000); do : >"$R/top/n$i"; done
start_agent "$R"
mount_url "$AGENT_URL" "$M" --config "$T/short.conf"
ls -lR "$M/top" >/dev/null || fail "first walk of top"
# The second walk needs nothing from the agent: names (top's too, looked
# up while the listing of / it brought was on its way), attributes, ACLs
# ("none") and the listing itself are the kernel's, the label question
# mountd's. Before, the kernel did not keep a listing opened before
# mountd knew its directory watched, and a lookup that waited for a
# listing got the short timeouts. The walk waits past the life of the
# listings mountd holds (fs.attr_timeout, 1 s), so only the kernel's
# copies are left: the wait is under test.
sleep 1.5
kill -STOP "$AGENT_PID"
wrc=0
second=$(timeout 10 sh -c 'cd "$1" && ls -lR .' sh "$M/top/sub" 2>"$T/walk.err") || wrc=$?
kill -CONT "$AGENT_PID"
[ $wrc = 0 ] || fail "second walk of sub with the agent stopped: exit $wrc: $(cat "$T/walk.err")"
assert_eq "$(cd "$R/top/sub" && ls -lR .)" "$second" "the second walk"

say "pushed invalidation: ok"
