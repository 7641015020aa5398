#!/usr/bin/env bash
# Fuzzes every parser of peer input for a bounded time: each harness
# tests/fuzz/fuzz-*.c is built with clang, libFuzzer, ASan and UBSan from
# the real sources it names, its committed seeds and past crashes
# (tests/fuzz/corpus/NAME/) must run clean, then it fuzzes for
# MIRROR_FUZZ_TIME seconds (default 15). Fails if a harness does not build
# or the fuzzer found a crash, a leak or a timeout; the input that did it
# is kept under the build dir's tests/logs/. tests/fuzz/run-long runs the
# same harnesses for as long as you like.
. "$(dirname "$0")/lib.sh"

command -v clang >/dev/null ||
	missing "no clang (apt-get install clang libclang-rt-14-dev)"
need_cmd python3

secs=${MIRROR_FUZZ_TIME:-15}
bad=()
n=0
for f in "$SRC"/tests/fuzz/fuzz-*.c; do
	name=$(basename "$f" .c)
	name=${name#fuzz-}
	n=$((n + 1))
	rc=0
	"$SRC/tests/fuzz/run-one" "$name" "$secs" >"$T/$name.out" 2>&1 || rc=$?
	case $rc in
	0) sed -n 's/^fuzz /# fuzz /p' "$T/$name.out" ;;
	3) cat "$T/$name.out" >&2
	   missing "no libFuzzer toolchain (apt-get install clang libclang-rt-14-dev)" ;;
	*) sed 's/^/    /' "$T/$name.out" | tail -n 60 >&2
	   bad+=("$name") ;;
	esac
done
[ $n -gt 0 ] || fail "no harnesses under tests/fuzz"
[ ${#bad[@]} = 0 ] || fail "fuzzing found problems in: ${bad[*]}"
say "$n harnesses, ${secs}s each, no problem found"
exit 0
