#!/usr/bin/env bash
# The configuration's layers, as a user keeps them: the system file, the
# user's ~/.config/mirror/mirror.conf, the nearest .mirror/mirror.conf
# from the working directory upward, then --config; a later layer wins
# per setting. "mirrorctl config show" prints each effective setting and
# the file it came from; "mirrorctl config check FILE" validates one,
# naming the line. A project file another user can write is ignored
# with a warning. And the layers reach the daemons: a project file's
# fs.mode = "write" makes "mirrorctl mount" from that tree read-write.
. "$(dirname "$0")/lib.sh"

need_mount

export MIRROR_SYSTEM_CONFIG=$T/etc/mirror.conf
export HOME=$T/home
unset XDG_CONFIG_HOME MIRROR_CONFIG
mkdir -p "$T/etc" "$HOME/.config/mirror" "$T/proj/.mirror" "$T/proj/src/deep"
chmod 755 "$T/proj" "$T/proj/.mirror"
cat >"$MIRROR_SYSTEM_CONFIG" <<'E'
fs = { attr_timeout = 5.0; };
agent = { port = 7000; workers = 2; };
log = { level = "warn"; };
E
cat >"$HOME/.config/mirror/mirror.conf" <<'E'
fs = { attr_timeout = 6.0; };
net = { tun_name = "usr0"; };
agent = { workers = 3; };
E
cat >"$T/proj/.mirror/mirror.conf" <<'E'
# checked in next to the app's code
fs = { attr_timeout = 7.5; mode = "write"; };
net = { never_route = [ "10.1.0.0/16" ]; };
E
cat >"$T/explicit.conf" <<'E'
agent = { port = 7001; };
E
chmod 644 "$T"/etc/mirror.conf "$HOME/.config/mirror/mirror.conf" \
	"$T/proj/.mirror/mirror.conf" "$T/explicit.conf"

cd "$T/proj/src/deep"
"$CTL" config show --config "$T/explicit.conf" >"$T/show" 2>"$T/show.err" ||
	fail "config show: $(cat "$T/show.err")"
[ -s "$T/show.err" ] && fail "config show printed on stderr: $(cat "$T/show.err")"
want() { # line
	grep -qxF -- "$1" "$T/show" || fail "config show lacks '$1'; it printed:
$(cat "$T/show")"
}
P=$T/proj/.mirror/mirror.conf
U=$HOME/.config/mirror/mirror.conf
want "fs.attr_timeout = 7.5;  # $P"
want "fs.mode = \"write\";  # $P"
want "net.never_route = [ \"10.1.0.0/16\" ];  # $P"
want "net.tun_name = \"usr0\";  # $U"
want "agent.workers = 3;  # $U"
want "log.level = \"warn\";  # $MIRROR_SYSTEM_CONFIG"
want "agent.port = 7001;  # $T/explicit.conf"
want "fs.entry_timeout = 1.0;  # built-in"
want "net.tun_range = \"198.18.0.0/15\";  # built-in"
want "# project   $P"
say "config show: project over user over system, --config over all"
# Every setting of the key table is shown once.
n=$(grep -c '^[a-z_]*\.[a-z_0-9]* = ' "$T/show")
[ "$n" -ge 40 ] || fail "config show printed $n settings"

# $MIRROR_CONFIG is the --config layer when there is no --config.
MIRROR_CONFIG=$T/explicit.conf "$CTL" config show | grep -qxF "agent.port = 7001;  # $T/explicit.conf" ||
	fail "\$MIRROR_CONFIG not the --config layer"
# Without --config, the system file's agent.port shows.
"$CTL" config show | grep -qxF "agent.port = 7000;  # $MIRROR_SYSTEM_CONFIG" ||
	fail "system agent.port not shown without --config"
# Out of the project tree, the user's attr_timeout is the effective one.
(cd "$T" && "$CTL" config show) | grep -qxF "fs.attr_timeout = 6.0;  # $U" ||
	fail "outside the project the user's value should win"

# config check: ok, a misspelt key with its line, a bad value, a parse
# error, a missing file.
out=$("$CTL" config check "$P") || fail "config check of a good file failed"
assert_eq "$P: ok" "$out" "config check of a good file"
printf 'fs = {\n  mode = "ro";\n  attr_timout = 2.0;\n};\n' >"$T/typo.conf"
must_fail "config check, misspelt key" "typo.conf:3:" "fs.attr_timout" \
	"did you mean fs.attr_timeout" -- "$CTL" config check "$T/typo.conf"
"$CTL" config check "$T/typo.conf" >/dev/null 2>&1; rc=$?
assert_eq 1 "$rc" "config check exit status of a bad file"
printf 'agent = {\n  workers = 999;\n};\n' >"$T/range.conf"
must_fail "config check, out of range" "range.conf:2:" "agent.workers" \
	"out of range" -- "$CTL" config check "$T/range.conf"
printf 'net = {\n  dns = true;\n  tun_name = ;\n};\n' >"$T/parse.conf"
must_fail "config check, parse error" "parse.conf:3:" -- \
	"$CTL" config check "$T/parse.conf"
must_fail "config check, no file" "cannot read" "nope.conf" -- \
	"$CTL" config check "$T/nope.conf"
# A bad layer stops every command with the same message.
cp "$T/typo.conf" "$U"
must_fail "a bad user file" "$U:3:" -- "$CTL" config show
cp "$T/explicit.conf" "$U"

# A project file others can write is not used.
chmod o+w "$T/proj/.mirror"
"$CTL" config show >"$T/show2" 2>"$T/show2.err" || fail "config show failed"
grep -q "ignored.*writable by others" "$T/show2.err" ||
	fail "no warning for a writable .mirror: $(cat "$T/show2.err")"
grep -qxF "fs.mode = \"read\";  # built-in" "$T/show2" ||
	fail "a writable project file was used"
chmod o-w "$T/proj/.mirror"
say "a project file others may write is ignored with: $(cat "$T/show2.err")"

# The layers reach mountd: fs.mode = "write" from the project file.
R=$T/root
mkdir -p "$R" "$T/m"
echo hello >"$R/hello"
start_agent "$R" --rw
mount_url "$AGENT_URL" "$T/m"
echo changed >"$T/m/hello" || fail "project fs.mode=write: mount not writable"
assert_eq changed "$(cat "$R/hello")" "write through the project-configured mount"
"$CTL" umount "$T/m" || fail "umount"
# Outside the project the same mount is read-only.
(cd "$T" && "$CTL" mount --token-file "$T/token" "$AGENT_URL" "$T/m") || fail "mount outside project"
echo again 2>/dev/null >"$T/m/hello" && fail "mount outside the project is writable"
"$CTL" umount "$T/m" || fail "umount"
say "project fs.mode = \"write\" made the mount read-write; outside it, read-only"
echo "PASS t-config"
