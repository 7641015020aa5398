# Extended attributes through the mount: present ones read back as they
# are, absent ones give ENODATA (answered locally when the agent said the
# file has none), and a change in the pod shows after the attr timeout.
. "$(dirname "$0")/lib.sh"
need_root
need_fuse
mkdir -p "$T/root"
echo a >"$T/root/with"
echo b >"$T/root/without"
python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.mirror", b"hello")' "$T/root/with" ||
	missing "user xattrs not supported on $T's file system"
start_agent "$T/root"
mount_url "$AGENT_URL" "$T/mnt"
check() { python3 - "$@" <<'PY'
import errno, os, sys
path, name, want = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    got = os.getxattr(path, name).decode()
except OSError as e:
    got = errno.errorcode[e.errno]
if got != want:
    sys.exit("getxattr %s %s: got %s, want %s" % (path, name, got, want))
PY
}
ls -l "$T/mnt" >/dev/null  # attributes (and xattr flags) via readdirplus
check "$T/mnt/with" user.mirror hello || fail "present xattr"
check "$T/mnt/with" user.other ENODATA || fail "absent xattr on a file with xattrs"
check "$T/mnt/without" user.mirror ENODATA || fail "absent xattr"
out=$(python3 -c 'import os,sys; print(sorted(os.listxattr(sys.argv[1])))' "$T/mnt/with")
assert_eq "['user.mirror']" "$out" "listxattr"
out=$(python3 -c 'import os,sys; print(os.listxattr(sys.argv[1]))' "$T/mnt/without")
assert_eq "[]" "$out" "listxattr of a file without xattrs"
# The pod adds one: seen once the attributes are refreshed (1 s default).
python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.late", b"x")' "$T/root/without"
sleep 1.5	# past the attr timeout: the wait is the test
stat "$T/mnt/without" >/dev/null
check "$T/mnt/without" user.late x || fail "xattr added in the pod not seen after the timeout"
say "xattrs ok"
