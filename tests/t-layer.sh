# The LD_PRELOAD layer maps paths for unmodified dynamically linked tools.
. "$(dirname "$0")/lib.sh"
LAYER=$B/.libs/libmirror-layer.so
[ -f "$LAYER" ] || fail "no $LAYER (make)"
mkdir -p "$T/pod/secrets/sub"
echo "pod-token" >"$T/pod/secrets/token"
echo "deep" >"$T/pod/secrets/sub/file"
map="/var/run/mirror-test-secrets=$T/pod/secrets"

out=$(MIRROR_LAYER_MAP=$map LD_PRELOAD=$LAYER cat /var/run/mirror-test-secrets/token) ||
	fail "cat through the layer failed"
assert_eq "pod-token" "$out" "open() mapped"
out=$(MIRROR_LAYER_MAP=$map LD_PRELOAD=$LAYER cat /var/run/mirror-test-secrets/sub/file)
assert_eq "deep" "$out" "nested path mapped"
MIRROR_LAYER_MAP=$map LD_PRELOAD=$LAYER /usr/bin/test -f /var/run/mirror-test-secrets/token ||
	fail "stat/access not mapped"
out=$(MIRROR_LAYER_MAP=$map LD_PRELOAD=$LAYER python3 -c \
	'print(open("/var/run/mirror-test-secrets/token").read().strip())')
assert_eq "pod-token" "$out" "python open() mapped"
# A prefix that only looks alike is not mapped.
if MIRROR_LAYER_MAP=$map LD_PRELOAD=$LAYER cat /var/run/mirror-test-secretsX/token 2>/dev/null; then
	fail "a look-alike prefix was mapped"
fi
# Without the layer the path does not exist: the mapping did the work.
if cat /var/run/mirror-test-secrets/token 2>/dev/null; then
	fail "the test path exists on the host; the test proves nothing"
fi
say "layer maps paths"
