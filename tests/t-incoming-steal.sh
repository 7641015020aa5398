#!/usr/bin/env bash
# Steal (issue 13): the pod's incoming connections to a port that a
# program in a shell listens on go to that program. tests/net.sh's
# topology plus a "client" namespace that reaches the pod's address
# through a veth to the pod's namespace, the way another pod would.
# Shell 1 is "mirrorctl shell --steal"; shell 2 a network namespace made
# with unshare --net (holding a sleep that stands in for the shell) and
# mirror-netd --netns ... --incoming steal, as mirrorctl starts it, with
# a configuration of its own.
# Checked: the client's curl to POD:80 gets the shell's page while the
# shell listens, and the pod's own page before and after; the shell's
# program sees the client's own address and port; a process in the
# pod's namespace calling 127.0.0.1:80 and POD:80 is stolen too; the
# agent's table is owned and "nft list ruleset" in the pod is the same
# after the shell as before; mirrorctl status lists each subscription
# and its counters; 200 concurrent stolen connections carry 1 MiB each
# way intact (sha256 at both ends); "mirrorctl exec --steal" steals for
# its command the same way; port_mapping (8080 in the shell for
# the pod's 80) and ignore_ports; SIGKILL of the agent while stealing
# gives the port back to the pod within a second, with no rule left; an
# agent without CAP_NET_ADMIN answers EPERM, which netd's status shows.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"

need_net
need_fuse
need_cmd nft nftables
need_cmd nsenter util-linux
need_cmd setpriv util-linux
use_built_layer	# exec --steal preloads it
net_topology
P=$SRC/tests/netpeer.py

say "client: another pod's namespace, routed to the pod"
. "$(dirname "$0")/incoming.sh"
client_ns
POD_PAGE="the web server of the pod"
SHELL_PAGE="the shell's own web server"
page() { "$@" curl -s --max-time 5 "$URL" 2>/dev/null; }
# answers WHO CMD...: CMD's curl of $URL gets WHO's page.
answers() {
	local want=$1 got; shift
	got=$(page "$@")
	[[ "$got" == *"$want"* ]]
}
URL=http://$POD_ADDR/
answers "$POD_PAGE" client || fail "the client does not reach the pod's page: $(page client)"
pod_state() { pod nft list ruleset; }
pod_state >"$T/pod.before" || fail "cannot read the pod's ruleset"

# netd_steal SHELLPID NAME [ARGS]: mirror-netd for that shell with
# --incoming steal (incoming.sh's netd_for).
netd_steal() { local sh=$1 name=$2; shift 2; netd_for "$sh" "$name" steal "$@"; }
# shell_bg PID CMD...: CMD in the shell's namespace, in the background.
shell_bg() {
	local pid=$1; shift
	nsenter --net="/proc/$pid/ns/net" "$@" >>"$T/shell.log" 2>&1 &
	on_exit "kill $! 2>/dev/null"
}
stolen() { grep -q "^steal=tcp pod:$1 -> shell:$2 stolen" "$T/$3.status" 2>/dev/null; }

say "shell 1: mirrorctl shell --steal running a web server on port 80"
mkdir -p "$T/www-local"
echo "<h1>$SHELL_PAGE</h1>" >"$T/www-local/index.html"
cat >"$T/peer.py" <<'PY'
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = ("peer %s:%d\n" % self.client_address).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
http.server.HTTPServer(("0.0.0.0", 8000), H).serve_forever()
PY
# The shell's command: three servers until $T/stop appears.
timeout 300 "$CTL" shell --steal --token-file "$T/token" "$AGENT_URL" -- sh -c '
	busybox httpd -f -p 80 -h "$1/www-local" & a=$!
	python3 "$1/peer.py" & b=$!
	python3 "$2" sink 0.0.0.0 9000 & c=$!
	while [ ! -e "$1/stop" ]; do sleep 0.1; done
	kill $a $b $c' sh "$T" "$P" >"$T/shell.out" 2>&1 &
SHELL_CTL=$!
on_exit "touch $T/stop; kill $SHELL_CTL 2>/dev/null"
status_has() { "$CTL" status 2>/dev/null | grep -q "$1"; }
for port in 80 8000 9000; do
	wait_for 20 status_has "steal  *tcp pod:$port -> shell:$port stolen" ||
		fail "port $port not stolen: $("$CTL" status; cat "$T/shell.out")"
done
wait_for 5 answers "$SHELL_PAGE" client || fail "the client's request did not reach the shell: $(page client)"
say "stolen: the client gets the shell's page"
TABLE=$(table)
[ -n "$TABLE" ] || fail "no mirror_agent_ table in the pod: $(pod nft list tables)"
pod nft list table inet "$TABLE" >"$T/table" || fail "cannot list $TABLE"
cat "$T/table"
grep -q "flags owner" "$T/table" || fail "the agent's table is not owned"
grep -q "tcp dport 80 meta mark != 0x6d697272 redirect to :" "$T/table" ||
	fail "no prerouting redirect of port 80"
grep -q "fib daddr type local redirect to :" "$T/table" || fail "no output redirect for the pod's own connections"

say "the pod's own connections to 127.0.0.1:80 and POD:80 are stolen too"
URL=http://127.0.0.1/
answers "$SHELL_PAGE" pod || fail "the pod's 127.0.0.1:80 was not stolen: $(page pod)"
URL=http://$POD_ADDR/
answers "$SHELL_PAGE" pod || fail "the pod's own POD:80 was not stolen: $(page pod)"

say "the shell's program sees the client's own address and port"
peer=$(client curl -s --max-time 5 "http://$POD_ADDR:8000/")
[[ "$peer" == "peer 10.82.0.2:"* ]] || fail "the shell's program saw '$peer', not the client's 10.82.0.2"
say "the client's connection arrived as $peer"

say "200 concurrent stolen connections, 1 MiB each way"
cat >"$T/many.py" <<'PY'
import hashlib, os, socket, sys, threading
addr, port, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ok = []
def one():
    data = os.urandom(size)
    s = socket.create_connection((addr, port), timeout=60)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
    s.close()
    ok.append(got.decode().strip() == hashlib.sha256(data).hexdigest())
ts = [threading.Thread(target=one) for _ in range(n)]
for t in ts: t.start()
for t in ts: t.join()
print(sum(ok), len(ok))
sys.exit(0 if sum(ok) == n else 1)
PY
client python3 "$T/many.py" "$POD_ADDR" 9000 200 1048576 >"$T/many.out" 2>&1 ||
	fail "concurrent: $(tail -n 5 "$T/many.out")"
assert_eq "200 200" "$(cat "$T/many.out")" "intact stolen connections"

say "mirrorctl status: the subscriptions and their counters"
conns_of() { "$CTL" status | sed -n "s/^ *steal  *tcp pod:$1 -> shell:$1 stolen conns \([0-9]*\) .*/\1/p"; }
enough() { [ "$(conns_of 9000)" -ge 200 ] 2>/dev/null; }
wait_for 5 enough || fail "status counts $(conns_of 9000) connections to 9000, want 200: $("$CTL" status)"
"$CTL" status | grep "incoming\|steal"
"$CTL" status | grep -q "^ *incoming  *steal$" || fail "status does not say steal"
[ "$(conns_of 80)" -ge 3 ] || fail "status counts $(conns_of 80) connections to 80, want 3 or more"
"$CTL" status | grep "pod:9000" | grep -q "bytes_in [1-9][0-9]\{8\}" ||
	fail "status counts less than 200 MiB in: $("$CTL" status | grep pod:9000)"

say "the shell exits: the pod answers again, its ruleset is as before"
touch "$T/stop"
wait_for 10 pid_gone "$SHELL_CTL" || fail "mirrorctl shell did not exit"
wait "$SHELL_CTL" || fail "mirrorctl shell failed: $(cat "$T/shell.out")"
wait_for 2 answers "$POD_PAGE" client || fail "the pod does not answer again: $(page client)"
wait_for 2 eval '[ -z "$(table)" ]' || fail "the agent's table is left: $(pod nft list tables)"
pod_state >"$T/pod.after"
diff -u "$T/pod.before" "$T/pod.after" || fail "the pod's ruleset changed"

say "mirrorctl exec --steal: the same for one command"
echo "<h1>the exec'd web server</h1>" >"$T/www-local/exec.html"
timeout 120 "$CTL" exec --steal --token-file "$T/token" "$AGENT_URL" -- sh -c '
	busybox httpd -f -p 80 -h "$1/www-local" & a=$!
	while [ ! -e "$1/stop-exec" ]; do sleep 0.1; done
	kill $a' sh "$T" >"$T/exec.out" 2>&1 &
EXEC_CTL=$!
on_exit "touch $T/stop-exec; kill $EXEC_CTL 2>/dev/null"
URL=http://$POD_ADDR/exec.html
wait_for 20 answers "the exec'd web server" client || fail "exec --steal: the client did not reach the command: $(page client; cat "$T/exec.out")"
touch "$T/stop-exec"
wait "$EXEC_CTL" || fail "mirrorctl exec failed: $(cat "$T/exec.out")"
URL=http://$POD_ADDR/
wait_for 2 answers "$POD_PAGE" client || fail "the pod does not answer after exec: $(page client)"
wait_for 2 eval '[ -z "$(table)" ]' || fail "the agent's table is left after exec: $(pod nft list tables)"

say "port_mapping: the shell's 8080 is the pod's 80"
printf 'incoming: { port_mapping = ( [8080, 80] ); ignore_ports = [ 9000 ]; };\n' >"$T/map.conf"
shell_ns SH2
netd_steal "$SH2" sh2 --config "$T/map.conf"
shell_bg "$SH2" busybox httpd -f -p 8080 -h "$T/www-local"
shell_bg "$SH2" python3 "$P" sink 0.0.0.0 9000
wait_for 10 stolen 80 8080 sh2 || fail "8080 not mapped to the pod's 80: $(cat "$T/sh2.status")"
wait_for 5 answers "$SHELL_PAGE" client || fail "mapped: the client did not reach the shell's 8080"
wait_rewritten 5 "$T/sh2.status"
grep -q "pod:9000" "$T/sh2.status" && fail "ignore_ports 9000 was subscribed"

say "SIGKILL of the agent: the pod answers within a second, no rule left"
kill -9 "$AGENT_PID"
KILLED=$(date +%s%N)
wait_for 1 eval '[ -z "$(table)" ]' || fail "table left after SIGKILL of the agent: $(pod nft list ruleset)"
answers "$POD_PAGE" client || fail "the pod does not answer after SIGKILL of the agent"
say "given back in $((($(date +%s%N) - KILLED) / 1000000)) ms"
pod_state >"$T/pod.after2"
diff -u "$T/pod.before" "$T/pod.after2" || fail "the pod's ruleset changed after SIGKILL"

say "an agent without CAP_NET_ADMIN: EPERM, said in the status; the pod keeps its port"
printf '#!/bin/sh\nexec setpriv --bounding-set -net_admin "%s" "$@"\n' "$AGENT" >"$T/agent-noadmin"
chmod +x "$T/agent-noadmin"
AGENT=$T/agent-noadmin AGENT_LISTEN=$AGENT_ADDR:0 start_agent --target-pid "$TARGET_PID" --insecure-plaintext
shell_ns SH3
netd_steal "$SH3" sh3
shell_bg "$SH3" busybox httpd -f -p 80 -h "$T/www-local"
refused() { grep -q "^steal=tcp pod:80 -> shell:80 failed: Operation not permitted" "$T/sh3.status" 2>/dev/null; }
wait_for 10 refused || fail "status does not say EPERM: $(cat "$T/sh3.status")"
URL=http://$POD_ADDR/
answers "$POD_PAGE" client || fail "the pod lost its port to an agent that cannot steal"
[ -z "$(table)" ] || fail "a table was left by a refused steal"
echo ok
