#!/usr/bin/env bash
# The agent's hello: nothing is served before the token matched. A wrong
# token (near misses included) gets "authentication failed" and no data,
# even when the request is pipelined right behind the hello; a request
# without a hello closes the connection; the right token works; the
# token never shows in the process list, the agent's environment or its
# log, even at debug level.
. "$(dirname "$0")/lib.sh"

need_cmd python3
[ -x "$AGENT" ] || missing "no $AGENT (build it first)"

wsc() { # token-file args...
	local tf=$1; shift
	python3 "$SRC/tests/wsclient.py" --url "$AGENT_URL" --token-file "$tf" \
		--timeout 10 "$@"
}

mkdir -p "$T/root/etc"
head -c 100000 /dev/urandom >"$T/root/data"
echo "root-local-passwd" >"$T/root/etc/passwd"

start_agent "$T/root" --log-level debug
token=$(cat "$T/token")
agent_err=$(ls "$T"/agent.*.err | head -n 1)
agent_out=${agent_err%.err}
say "agent at $AGENT_URL (pid $AGENT_PID)"

# The right token works.
wsc "$T/token" read /data >"$T/got" 2>"$T/err" ||
	fail "read with the right token failed: $(cat "$T/err")"
cmp -s "$T/got" "$T/root/data" || fail "read returned the wrong bytes"
out=$(wsc "$T/token" getattr /data 2>&1) || fail "getattr failed: $out"
case $out in *" size=100000 "*) ;; *) fail "getattr: wrong size: $out" ;; esac
say "right token: read and getattr work"

# Wrong tokens: a different one, near misses, a prefix, an extension,
# an empty one. None may get data.
printf '%s\n' "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$T/wrong.other"
last=${token: -1}
[ "$last" = 0 ] && repl=1 || repl=0
printf '%s%s\n' "${token%?}" "$repl" >"$T/wrong.lastbyte"
printf '%s\n' "${token:0:${#token}/2}" >"$T/wrong.prefix"
printf '%sx\n' "$token" >"$T/wrong.longer"
printf '%s\n' "${token^^}" >"$T/wrong.case"
: >"$T/wrong.empty"
for f in "$T"/wrong.*; do
	name=${f##*/}
	[ "$(cat "$f")" != "$token" ] || continue	# ${token^^} of all digits
	rc=0
	wsc "$f" read /data >"$T/got" 2>"$T/err" || rc=$?
	[ "$rc" = 3 ] || fail "$name: expected exit 3, got $rc: $(cat "$T/err")"
	grep -q '^error: authentication failed$' "$T/err" ||
		fail "$name: no 'authentication failed': $(cat "$T/err")"
	[ ! -s "$T/got" ] || fail "$name: data was returned"
	# Request pipelined behind the hello: refused or closed, never served.
	rc=0
	wsc "$f" --eager getattr /data >"$T/got" 2>"$T/err" || rc=$?
	case $rc in
	3|4) ;;
	*) fail "$name (eager): expected exit 3 or 4, got $rc: $(cat "$T/err")" ;;
	esac
	[ ! -s "$T/got" ] || fail "$name (eager): data was returned"
done
say "wrong tokens: refused, no data"

# A request before any hello: closed, nothing served.
out=$(python3 "$SRC/tests/wsclient.py" --url "$AGENT_URL" \
	--token-file "$T/token" --bad request-before-hello --wait 5 2>&1) ||
	fail "request before hello: the connection stayed open: $out"
case $out in *"status=0"*) fail "request before hello was served: $out" ;; esac
say "request before hello: closed"

kill -0 "$AGENT_PID" 2>/dev/null || fail "the agent died"
wsc "$T/token" read /data >"$T/got" 2>"$T/err" ||
	fail "right token after the failures: $(cat "$T/err")"
cmp -s "$T/got" "$T/root/data" || fail "read after failures: wrong bytes"

# The token is nowhere to be seen.
ps -eo args >"$T/ps"
grep -qF -- "$token" "$T/ps" && fail "the token appears in ps -eo args"
tr '\0' '\n' <"/proc/$AGENT_PID/environ" | grep -qF -- "$token" &&
	fail "the token is in the agent's environment"
tr '\0' ' ' <"/proc/$AGENT_PID/cmdline" | grep -qF -- "$token" &&
	fail "the token is on the agent's command line"
grep -qF -- "$token" "$agent_err" && fail "the token appears in the agent's log"
grep -qF -- "$token" "$agent_out" && fail "the token appears on the agent's stdout"
for f in "$T"/wrong.*; do
	w=$(cat "$f")
	[ ${#w} -ge 8 ] || continue
	grep -qF -- "$w" "$agent_err" &&
		fail "a presented token (${f##*/}) appears in the agent's log"
done
[ -s "$agent_err" ] || fail "the agent logged nothing at all"
grep -qi 'auth' "$agent_err" ||
	fail "the agent did not log the failed authentications"
say "the token is not in ps, environ, cmdline or the log ($(wc -l <"$agent_err") lines)"
exit 0
