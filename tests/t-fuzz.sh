#!/usr/bin/env bash
# Fuzzes the wire protocol decoders: builds tests/fuzz/fuzz-proto.c with
# clang, libFuzzer, ASan and UBSan, checks that the seeds (valid messages
# of every layout, made by tests/wsclient.py's independent encoder) all
# decode, then fuzzes for MIRROR_FUZZ_TIME seconds (default 30).
# Fails if the fuzzer found a crash, a leak or a timeout; the input that
# did it is kept under the build dir's tests/logs/.
. "$(dirname "$0")/lib.sh"

command -v clang >/dev/null ||
	missing "no clang (apt-get install clang libclang-rt-14-dev)"
need_cmd python3

# config.h comes from the build dir once configured; lib/ needs nothing
# from it, so an empty one will do before that.
if [ -f "$B/config.h" ]; then
	cfgdir=$B
else
	cfgdir=$T/cfg
	mkdir -p "$cfgdir"
	: >"$cfgdir/config.h"
fi

fuzzer=$T/fuzz-proto
say "building the harness"
if ! clang -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -D_GNU_SOURCE \
	-I "$SRC/lib" -I "$cfgdir" \
	"$SRC/tests/fuzz/fuzz-proto.c" "$SRC/lib/proto.c" \
	"$SRC/lib/xmalloc.c" "$SRC/lib/log.c" \
	-o "$fuzzer" >"$T/build.log" 2>&1; then
	if grep -q 'libclang_rt.fuzzer\|fsanitize=fuzzer' "$T/build.log"; then
		cat "$T/build.log" >&2
		missing "no libFuzzer runtime (apt-get install libclang-rt-14-dev)"
	fi
	cat "$T/build.log" >&2
	fail "the fuzz harness does not build"
fi

# Seeds: one valid message of each layout. Each must decode (and
# re-encode to the same bytes) in strict mode, which also proves that
# two independent readings of proto.h agree.
python3 "$SRC/tests/wsclient.py" seeds "$T/seeds" || fail "no seeds"
if [ -d "$SRC/tests/fuzz/corpus" ]; then
	cp "$SRC"/tests/fuzz/corpus/* "$T/seeds/" 2>/dev/null || true
fi
nseeds=$(find "$T/seeds" -type f | wc -l)
[ "$nseeds" -gt 0 ] || fail "no seeds"
say "checking $nseeds seeds against the C decoder"
MIRROR_FUZZ_EXPECT_VALID=1 "$fuzzer" "$T"/seeds/* >"$T/seeds.log" 2>&1 || {
	tail -n 30 "$T/seeds.log" >&2
	fail "the C decoder crashed on or rejected a seed from wsclient.py (see above)"
}

# Fuzz, bounded in time and memory.
mkdir -p "$T/corpus" "$T/art"
secs=${MIRROR_FUZZ_TIME:-30}
say "fuzzing for ${secs}s"
rc=0
"$fuzzer" -max_total_time="$secs" -rss_limit_mb=1024 -timeout=10 \
	-max_len=8192 -print_final_stats=1 -artifact_prefix="$T/art/" \
	"$T/corpus" "$T/seeds" >"$T/fuzz.log" 2>&1 || rc=$?
grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' \
	"$T/fuzz.log" | sed 's/^/# /'

arts=$(find "$T/art" -type f | wc -l)
if [ "$rc" -ne 0 ] || [ "$arts" -gt 0 ]; then
	keep=$B/tests/logs/fuzz-proto-artifacts
	mkdir -p "$keep"
	cp "$T"/art/* "$keep/" 2>/dev/null || true
	grep -B 2 -A 30 -E 'ERROR|runtime error|fuzz-proto:' "$T/fuzz.log" |
		head -n 60 >&2
	for f in "$T"/art/*; do
		[ -f "$f" ] || continue
		echo "# $(basename "$f"):" >&2
		od -An -tx1 -v "$f" | head -n 8 >&2
	done
	fail "the fuzzer found a problem (exit $rc, $arts inputs kept in $keep)"
fi
say "no crash in ${secs}s"
exit 0
