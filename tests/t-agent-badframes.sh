#!/usr/bin/env bash
# A bad peer costs only its own session: while a well-behaved client
# keeps reading a file over one connection, other clients send each kind
# of bad frame (tests/wsclient.py --bad), one after another and then all
# at once. Every bad client must be closed, with a reason in the agent's
# log; the agent must stay up; every good read must return the right
# bytes.
. "$(dirname "$0")/lib.sh"

need_cmd python3
[ -x "$AGENT" ] || missing "no $AGENT (build it first)"

cases="truncated-header bad-version unknown-op oversized-length
length-mismatch request-before-hello garbage-ws-frame huge-ws-frame"

mkdir -p "$T/root"
head -c 300000 /dev/urandom >"$T/root/data"	# more than one read
start_agent "$T/root"
agent_err=$(ls "$T"/agent.*.err | head -n 1)
say "agent at $AGENT_URL (pid $AGENT_PID)"

wsc() {
	python3 "$SRC/tests/wsclient.py" --url "$AGENT_URL" \
		--token-file "$T/token" "$@"
}

# The good client: one connection, reading until told to stop.
wsc --timeout 20 readloop /data --expect-file "$T/root/data" \
	--until-file "$T/stop" >"$T/good.out" 2>&1 &
good=$!
on_exit "kill $good"
sleep 0.5	# it must still run after a while: nothing to poll for
kill -0 $good 2>/dev/null || fail "the good client ended early: $(cat "$T/good.out")"

# Lines the agent logged since line $1 that give a reason for a close.
reason_since() {
	tail -n +"$(($1 + 1))" "$agent_err" |
		grep -iE 'clos|disconnect|bad|invalid|malformed|refus|too (large|long)|larger|unsupported|unknown|error|fail' |
		grep -viE 'disconnected: connection closed$' || true
}

bad_one() { # case outfile
	wsc --timeout 10 --bad "$1" --wait 10 >"$2" 2>&1
}

for c in $cases; do
	before=$(wc -l <"$agent_err")
	bad_one "$c" "$T/bad.out" ||
		fail "$c: the agent did not close the connection: $(cat "$T/bad.out")"
	grep -q '^closed' "$T/bad.out" || fail "$c: $(cat "$T/bad.out")"
	grep -q 'status=0' "$T/bad.out" &&
		fail "$c: the agent answered the bad frame: $(cat "$T/bad.out")"
	kill -0 "$AGENT_PID" 2>/dev/null || fail "$c: the agent died"
	# The log line may trail the close by a moment.
	why=
	for i in $(seq 20); do
		why=$(reason_since "$before")
		[ -n "$why" ] && break
		sleep 0.1
	done
	if [ -z "$why" ]; then
		tail -n +"$((before + 1))" "$agent_err" | sed 's/^/# log: /'
		fail "$c: closed, but the agent logged no reason"
	fi
	say "$c: $(grep '^closed' "$T/bad.out"); log: $(echo "$why" | head -n 1)"
	kill -0 $good 2>/dev/null || fail "$c: the good client died: $(cat "$T/good.out")"
done

# All at once, twice over.
say "all cases at once"
pids=()
i=0
for round in 1 2; do
	for c in $cases; do
		bad_one "$c" "$T/par.$i.out" &
		pids+=("$!:$c:$i")
		i=$((i + 1))
	done
done
for p in "${pids[@]}"; do
	IFS=: read -r pid c n <<<"$p"
	wait "$pid" || fail "$c (parallel): not closed: $(cat "$T/par.$n.out")"
	grep -q 'status=0' "$T/par.$n.out" &&
		fail "$c (parallel): answered: $(cat "$T/par.$n.out")"
done
kill -0 "$AGENT_PID" 2>/dev/null || fail "the agent died"

touch "$T/stop"
rc=0
wait $good || rc=$?
[ "$rc" = 0 ] || fail "the good client failed (exit $rc): $(cat "$T/good.out")"
n=$(sed -n 's/^reads \([0-9]*\) ok$/\1/p' "$T/good.out")
[ -n "$n" ] && [ "$n" -gt 0 ] || fail "the good client read nothing: $(cat "$T/good.out")"
say "the good client read the file $n times, all correct"

# A fresh client is still served.
wsc read /data >"$T/got" 2>"$T/err" || fail "fresh client: $(cat "$T/err")"
cmp -s "$T/got" "$T/root/data" || fail "fresh client: wrong bytes"
exit 0
