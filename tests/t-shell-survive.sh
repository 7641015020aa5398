#!/usr/bin/env bash
# A long-lived mirrorctl shell comes back by itself when its agent
# restarts (issue 15): a command in the shell fetches the pod's page and
# reads one of the pod's files through $MIRROR_ROOT; the agent is
# SIGKILLed; the same command sees the page fail (its netd resets, never
# hangs), and once an agent is back on the same address with the same
# token, the same shell (not a new one) gets the page again and reads
# the file again, without anyone touching it. tests/net.sh's topology.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"

need_net
need_fuse
need_cmd curl curl
net_topology
port=${AGENT_URL##*:}
U=$(mktemp -d /tmp/mirror-survive.XXXXXX)
on_exit "rm -rf '$U'"
POD_FILE=$T/www/index.html	# the pod's root is this machine's here

# The shell's command: every step leaves a file in $U (the laptop's /tmp
# is the shell's too). A page fetch that waits is bounded by curl's own
# --max-time, so "lost" means the connection failed, not a timeout of
# ours.
"$CTL" shell --token-file "$T/token" "$AGENT_URL" -- sh -c '
	d=$1 addr=$2 f=$3
	pg() { curl -sf --max-time 3 "http://$addr/"; }
	pg >"$d/page1" 2>"$d/page1.err" || { echo first >"$d/failed"; exit 1; }
	cat "$MIRROR_ROOT$f" >"$d/file1" || { echo file1 >"$d/failed"; exit 1; }
	touch "$d/up"
	n=0
	while pg >/dev/null 2>&1; do
		sleep 0.1; n=$((n + 1))
		[ $n -lt 600 ] || { echo "never lost" >"$d/failed"; exit 1; }
	done
	touch "$d/lost"
	n=0
	until pg >"$d/page2" 2>/dev/null; do
		sleep 0.1; n=$((n + 1))
		[ $n -lt 600 ] || { echo "page never back" >"$d/failed"; exit 1; }
	done
	touch "$d/back"
	n=0
	until cat "$MIRROR_ROOT$f" >"$d/file2" 2>"$d/file2.err"; do
		sleep 0.1; n=$((n + 1))
		[ $n -lt 100 ] || { echo "file never back" >"$d/failed"; exit 1; }
	done
	echo $$ >"$d/pid"
	while [ ! -e "$d/stop" ]; do sleep 0.1; done' sh "$U" "$POD_ADDR" "$POD_FILE" \
	>"$T/shell.out" 2>&1 &
SHELL_CTL=$!
on_exit "touch '$U/stop'; kill $SHELL_CTL 2>/dev/null"
step() { [ -e "$U/$1" ] || { [ -e "$U/failed" ] && fail "the shell's command failed at: $(cat "$U/failed") $(cat "$T/shell.out")"; return 1; }; }

wait_for 60 step up || fail "the shell did not start: $(cat "$T/shell.out")"
cmp -s "$U/page1" "$T/www/index.html" || fail "the first page differs: $(cat "$U/page1" "$U/page1.err")"
cmp -s "$U/file1" "$POD_FILE" || fail "the pod's file read in the shell differs"
say "in the shell: the pod's page and the pod's file"

say "the agent is SIGKILLed"
kill -KILL "$AGENT_PID"
wait_for 20 step lost || fail "the shell's page fetch never failed with the agent gone"
say "the shell's fetch fails while the agent is away"
sleep 1
say "an agent back on the same address with the same token"
s=$(date +%s%N)
AGENT_LISTEN=$AGENT_ADDR:$port start_agent --target-pid "$TARGET_PID" --insecure-plaintext
wait_for 30 step back || fail "the shell's page did not come back within 30 s: $(cat "$T/shell.out")"
ms=$((($(date +%s%N) - s) / 1000000))
cmp -s "$U/page2" "$T/www/index.html" || fail "the page after the restart differs"
say "the same shell gets the page again, $ms ms after the agent was started"
[ "$ms" -le 5000 ] || fail "the page came back only after $ms ms"
wait_for 15 step pid || fail "the shell could not read the pod's file again: $(cat "$U/file2.err" 2>/dev/null)"
cmp -s "$U/file2" "$POD_FILE" || fail "the pod's file read after the restart differs"
say "and reads the pod's file again"
touch "$U/stop"
wait_for 10 eval '! kill -0 $SHELL_CTL 2>/dev/null' || fail "the shell did not end"
wait "$SHELL_CTL" || fail "mirrorctl shell failed: $(cat "$T/shell.out")"
echo ok
