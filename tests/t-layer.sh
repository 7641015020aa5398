# The LD_PRELOAD layer maps paths for unmodified dynamically linked tools;
# ".." is resolved before a path is matched, so no path climbs out of a
# mapped directory; a set-user-ID program ignores the map and the rules
# of mirrorctl exec.
. "$(dirname "$0")/lib.sh"
use_built_layer
PRE=$MIRROR_LAYER
mkdir -p "$T/pod/secrets/sub"
echo "pod-token" >"$T/pod/secrets/token"
echo "deep" >"$T/pod/secrets/sub/file"
map="/var/run/mirror-test-secrets=$T/pod/secrets"

out=$(MIRROR_LAYER_MAP=$map LD_PRELOAD="$PRE" cat /var/run/mirror-test-secrets/token) ||
	fail "cat through the layer failed"
assert_eq "pod-token" "$out" "open() mapped"
out=$(MIRROR_LAYER_MAP=$map LD_PRELOAD="$PRE" cat /var/run/mirror-test-secrets/sub/file)
assert_eq "deep" "$out" "nested path mapped"
MIRROR_LAYER_MAP=$map LD_PRELOAD="$PRE" /usr/bin/test -f /var/run/mirror-test-secrets/token ||
	fail "stat/access not mapped"
out=$(MIRROR_LAYER_MAP=$map LD_PRELOAD="$PRE" python3 -c \
	'print(open("/var/run/mirror-test-secrets/token").read().strip())')
assert_eq "pod-token" "$out" "python open() mapped"
# A prefix that only looks alike is not mapped.
if MIRROR_LAYER_MAP=$map LD_PRELOAD="$PRE" cat /var/run/mirror-test-secretsX/token 2>/dev/null; then
	fail "a look-alike prefix was mapped"
fi
# Without the layer the path does not exist: the mapping did the work.
if cat /var/run/mirror-test-secrets/token 2>/dev/null; then
	fail "the test path exists on the host; the test proves nothing"
fi
say "layer maps paths"

# ".." is resolved by name before the prefix is matched: a path that
# names the prefix and then climbs above it is not sent into the pod's
# directory (where its ".." would lead out of it to whatever lies
# beside); one that climbs back in is mapped.
mkdir -p "$T/x/y/secrets/sub" "$T/etc"
echo "inside" >"$T/x/y/secrets/token"
echo "inside sub" >"$T/x/y/secrets/sub/file"
echo "outside the map" >"$T/x/outside"
echo "outside the map" >"$T/etc/hostname"
m2="/var/run/mirror-test-secrets=$T/x/y/secrets"
lay() { MIRROR_LAYER_MAP=$m2 LD_PRELOAD="$PRE" "$@"; }
# Not mapped, such a path is what it is without the layer: the host's
# (where /var/run/mirror-test-secrets does not exist, so nothing).
out=$(lay cat /var/run/mirror-test-secrets/../../../etc/hostname 2>/dev/null) &&
	fail "/var/run/mirror-test-secrets/../../../etc/hostname read '$out'"
out=$(lay cat /var/run/mirror-test-secrets/../../outside 2>/dev/null) &&
	fail "/var/run/mirror-test-secrets/../../outside read '$out' beside the mapped directory"
out=$(lay cat /var/run/mirror-test-secrets/sub/../../outside 2>/dev/null) &&
	fail "/var/run/mirror-test-secrets/sub/../../outside read '$out' beside the mapped directory"
lay test -e /var/run/mirror-test-secrets/.. &&
	[ ! -e /var/run/mirror-test-secrets/.. ] &&
	fail "/var/run/mirror-test-secrets/.. was mapped"
# Ways of naming a file inside the map, however odd, reach it.
for p in /var/run/mirror-test-secrets/nosuch/../token \
	/var/run/mirror-test-secrets/sub/../token \
	/var/run/mirror-test-secrets/./token \
	//var/run//mirror-test-secrets///token \
	/var/run/./mirror-test-secrets/token \
	/var/run/mirror-test-secretsX/../mirror-test-secrets/token \
	/../../var/run/mirror-test-secrets/token; do
	out=$(lay cat "$p" 2>/dev/null) || fail "$p: not mapped"
	assert_eq inside "$out" "$p"
done
out=$(lay cat /var/run/mirror-test-secrets/sub/./../sub/file) || fail "sub/./../sub/file: not mapped"
assert_eq "inside sub" "$out" "sub/./../sub/file"
# The map's own prefix is normalised too.
out=$(MIRROR_LAYER_MAP="/var/run/mirror-test-secrets/sub/..//=$T/x/y/secrets" LD_PRELOAD="$PRE" \
	cat /var/run/mirror-test-secrets/token) || fail "a prefix written with ../ and // does not map"
assert_eq inside "$out" "a prefix written with ../ and //"
say "layer normalises . and .. before mapping"

# A set-user-ID program ignores MIRROR_LAYER_MAP: whoever runs it must
# not point it at files of their choosing. glibc preloads a library into
# a set-ID program only from the system's library directory and only if
# the library is itself set-user-ID, so in a mount namespace of its own
# the test lays the layer over that directory (an overlay; the host's
# stays as it is) and runs a set-user-ID cat as nobody.
need_root
need_cmd unshare util-linux
need_cmd setpriv util-linux
libdir=$(dirname "$(ldd /bin/cat | awk '/libc\.so/ { print $3 }')")
[ -d "$libdir" ] || fail "no libc directory found"
mkdir -p "$T/lib"
cp "$LAYER" "$T/lib/libmirror-layer-test.so"
SECPRE=
for l in $LAYER_SAN; do
	cp "$l" "$T/lib/"
	SECPRE+="${l##*/} "
done
SECPRE+=libmirror-layer-test.so
chmod 4755 "$T"/lib/*.so*
cp /bin/cat "$T/suid-cat"
cp /bin/cat "$T/plain-cat"
cp /bin/sleep "$T/suid-sleep"
chmod 4755 "$T/suid-cat" "$T/suid-sleep"
mkdir -p "$T/podroot"
chmod 755 "$T" "$T/x" "$T/x/y" "$T/x/y/secrets" "$T/podroot"
chmod 644 "$T/x/y/secrets/token"
unshare -m --propagation private bash -c '
	libdir=$1 T=$2 m2=$3 pre=$4
	mount -t overlay overlay -o "lowerdir=$T/lib:$libdir" "$libdir" ||
		{ echo "overlay: cannot mount"; exit 2; }
	nobody() { setpriv --reuid 65534 --regid 65534 --clear-groups \
		env LD_PRELOAD="$pre" MIRROR_LAYER_MAP="$m2" "$@"; }
	out=$(nobody "$T/plain-cat" /var/run/mirror-test-secrets/token) &&
		[ "$out" = inside ] || { echo "control: the layer did not map for a plain program"; exit 1; }
	# Not through the function: $! must be the program itself.
	setpriv --reuid 65534 --regid 65534 --clear-groups \
		env LD_PRELOAD="$pre" MIRROR_LAYER_MAP="$m2" \
		"$T/suid-sleep" 5 &
	pid=$!
	# Until the program runs, linked with the layer (5 s at most).
	for i in $(seq 50); do
		grep -q libmirror-layer-test "/proc/$pid/maps" 2>/dev/null && break
		sleep 0.1
	done
	grep -q libmirror-layer-test "/proc/$pid/maps" ||
		{ echo "the layer is not loaded in the set-ID program; the test proves nothing"; exit 1; }
	kill $pid
	if out=$(nobody "$T/suid-cat" /var/run/mirror-test-secrets/token 2>/dev/null); then
		echo "a set-user-ID program followed MIRROR_LAYER_MAP (read: $out)"
		exit 1
	fi
	# The same for the rules of mirrorctl exec (MIRROR_LAYER_RULES):
	# a tmpfs as the pod, a rules file that serves one path from it.
	mount -t tmpfs pod "$T/podroot" || { echo "tmpfs: cannot mount"; exit 1; }
	mkdir -p "$T/podroot/var/run/mirror-test-rules"
	echo "from the pod" >"$T/podroot/var/run/mirror-test-rules/token"
	chmod -R a+rX "$T/podroot"
	printf "mirror-layer-rules 1\nroot\t%s\nmode\tlocal\nread_only\t/var/run/mirror-test-rules\nend\n" \
		"$T/podroot" >"$T/rules"
	chmod 644 "$T/rules"
	rules() { setpriv --reuid 65534 --regid 65534 --clear-groups \
		env LD_PRELOAD="$pre" MIRROR_LAYER_RULES="$T/rules" "$@"; }
	out=$(rules "$T/plain-cat" /var/run/mirror-test-rules/token) &&
		[ "$out" = "from the pod" ] || { echo "control: the rules did not apply to a plain program"; exit 1; }
	if out=$(rules "$T/suid-cat" /var/run/mirror-test-rules/token 2>/dev/null); then
		echo "a set-user-ID program followed MIRROR_LAYER_RULES (read: $out)"
		exit 1
	fi
	exit 0
' _ "$libdir" "$T" "$m2" "$SECPRE" >"$T/suid.out" 2>&1 || {
	grep -q "^overlay:" "$T/suid.out" && missing "overlayfs in a mount namespace"
	fail "$(cat "$T/suid.out")"
}
say "a set-user-ID program ignores MIRROR_LAYER_MAP and MIRROR_LAYER_RULES"
