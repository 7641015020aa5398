#!/usr/bin/env bash
# Token files the daemons (root) must not trust: one behind a symbolic
# link, one group or other may read, a fifo. mirrorctl, mirror-mountd and
# mirror-agent each refuse them with one line saying why (and how to fix
# it), read nothing and mount nothing; the same token at mode 0600
# works.
. "$(dirname "$0")/lib.sh"

need_mount

R=$T/root
mkdir -p "$R" "$T/m"
echo hello >"$R/hello"
start_agent "$R"

cp "$T/token" "$T/open"
chmod 644 "$T/open"
ln -s "$T/token" "$T/link"
mkfifo -m 600 "$T/fifo"

must_fail "mount, a 0644 token file" "readable" "group/other" "chmod 600" -- \
	"$CTL" mount --token-file "$T/open" "$AGENT_URL" "$T/m"
chmod 640 "$T/open"
must_fail "mount, a 0640 token file" "group/other" -- \
	"$CTL" mount --token-file "$T/open" "$AGENT_URL" "$T/m"
chmod 604 "$T/open"
must_fail "mount, a 0604 token file" "group/other" -- \
	"$CTL" mount --token-file "$T/open" "$AGENT_URL" "$T/m"
must_fail "mount, a symlinked token file" "symbolic link" -- \
	"$CTL" mount --token-file "$T/link" "$AGENT_URL" "$T/m"
must_fail "mount, a fifo as token file" "not a regular file" -- \
	"$CTL" mount --token-file "$T/fifo" "$AGENT_URL" "$T/m"
is_mounted "$T/m" && fail "mounted with a refused token file"

# The daemons themselves, started by hand.
must_fail "mountd, a 0604 token file" "group/other" -- \
	"$MOUNTD" --token-file "$T/open" "$AGENT_URL" "$T/m"
must_fail "mountd, a symlinked token file" "symbolic link" -- \
	"$MOUNTD" --token-file "$T/link" "$AGENT_URL" "$T/m"
must_fail "agent, a 0604 token file" "group/other" -- \
	"$AGENT" --listen 127.0.0.1:0 --token-file "$T/open" --root "$R"
must_fail "agent, a symlinked token file" "symbolic link" -- \
	"$AGENT" --listen 127.0.0.1:0 --token-file "$T/link" --root "$R"
must_fail "agent, a fifo as token file" "not a regular file" -- \
	"$AGENT" --listen 127.0.0.1:0 --token-file "$T/fifo" --root "$R"
if [ -x "$NETD" ]; then
	must_fail "netd, a 0604 token file" "group/other" -- \
		"$NETD" --token-file "$T/open" --agent "$AGENT_URL"
fi
is_mounted "$T/m" && fail "mounted with a refused token file"

# The same token, 0600 (start_agent made it so), mounts.
mount_url "$AGENT_URL" "$T/m"
assert_eq hello "$(cat "$T/m/hello")" "read through a mount with a 0600 token"
"$CTL" umount "$T/m" >/dev/null || fail "umount failed"
echo "ok"
