#!/usr/bin/env bash
# The Python test client speaks the same wire format as the C codec: every
# file-system request and reply layout built by lib/proto-fs.c's encoders
# (tests/unit/codec-dump, which also decodes each one back with the C
# decoders) must equal, byte for byte, what tests/wsclient.py builds from
# the same values, and wsclient.py must decode the C bytes back to them.
. "$(dirname "$0")/lib.sh"

need_cmd python3
dump="$B/tests/unit/codec-dump"
[ -x "$dump" ] || fail "no $dump (make check builds it)"

"$dump" >"$T/c.txt" || fail "codec-dump: the C codec does not decode its own messages"
n=$(wc -l <"$T/c.txt")
[ "$n" -ge 40 ] || fail "codec-dump printed only $n messages"
python3 "$SRC/tests/wsclient.py" codec-check "$T/c.txt" >"$T/check.out" 2>&1 ||
	{ cat "$T/check.out" >&2; fail "wsclient.py and the C codec disagree"; }
say "$(tail -n 1 "$T/check.out")"

# A check that finds nothing wrong must be able to: one byte changed in
# one C message is a mismatch.
awk 'NR == 5 { $2 = substr($2, 1, length($2) - 2) "ff" } { print }' \
	"$T/c.txt" >"$T/c-bad.txt"
if python3 "$SRC/tests/wsclient.py" codec-check "$T/c-bad.txt" >"$T/bad.out" 2>&1; then
	fail "codec-check accepted a changed message"
fi
grep -q "codec mismatch" "$T/bad.out" || fail "codec-check did not say what differs"
exit 0
