# Extended attributes through the mount: present ones read back as they
# are, absent ones give ENODATA (answered locally when the agent said the
# file has none), and a change in the pod shows after the attr timeout.
# POSIX ACLs (the kernel keeps them with the attributes, FUSE_POSIX_ACL):
# none is ENODATA, one set in the pod shows in ls -l (the +) and reads
# back at once (a change event), and one removed there goes away.
. "$(dirname "$0")/lib.sh"
need_root
need_fuse
mkdir -p "$T/root"
echo a >"$T/root/with"
echo b >"$T/root/without"
echo c >"$T/root/acl"
chmod 644 "$T/root/acl"
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
# ls -l asks every file for security.selinux and its ACLs.
check "$T/mnt/without" system.posix_acl_access ENODATA || fail "no ACL"
check "$T/mnt/without" security.selinux ENODATA || fail "no label"
check "$T/mnt/acl" system.posix_acl_access ENODATA || fail "no ACL yet"
mode_of() { ls -l "$1" | awk '{print $1}'; }
assert_eq "-rw-r--r--" "$(mode_of "$T/mnt/acl")" "mode before the ACL"
# An ACL set in the pod (user 4242 rw, mask rw), as setfacl writes it:
# version 2, then (tag, perm, id) entries sorted by tag.
acl_hex=0200000001000600ffffffff020006009210000004000400ffffffff10000600ffffffff20000400ffffffff
python3 -c 'import os,sys; os.setxattr(sys.argv[1], "system.posix_acl_access", bytes.fromhex(sys.argv[2]))' \
	"$T/root/acl" "$acl_hex" || missing "POSIX ACLs not supported on $T's file system"
acl_shows() { [ "$(mode_of "$T/mnt/acl")" = "-rw-rw-r--+" ]; }
# Well inside the attribute timeout of a watched directory (60 s): the
# agent's change event, not a timeout, brings it.
wait_for 3 acl_shows || fail "ACL set in the pod: ls -l shows '$(mode_of "$T/mnt/acl")'"
got=$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "system.posix_acl_access").hex())' "$T/mnt/acl")
assert_eq "$acl_hex" "$got" "the ACL read through the mount"
python3 -c 'import os,sys; os.removexattr(sys.argv[1], "system.posix_acl_access")' "$T/root/acl"
chmod 644 "$T/root/acl"
acl_gone() { [ "$(mode_of "$T/mnt/acl")" = "-rw-r--r--" ] &&
	check "$T/mnt/acl" system.posix_acl_access ENODATA 2>/dev/null; }
wait_for 3 acl_gone || fail "ACL removed in the pod: ls -l shows '$(mode_of "$T/mnt/acl")'"
# The pod adds one: seen once the attributes are refreshed (1 s default).
python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.late", b"x")' "$T/root/without"
sleep 1.5	# past the attr timeout: the wait is the test
stat "$T/mnt/without" >/dev/null
check "$T/mnt/without" user.late x || fail "xattr added in the pod not seen after the timeout"
say "xattrs ok"
