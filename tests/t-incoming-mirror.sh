#!/usr/bin/env bash
# Mirror (issue 13): the pod's own program keeps answering the
# connections to a port that a program in a shell listens on, and that
# program gets a copy of each request. t-incoming-steal.sh's topology (a
# "client" namespace reaching the pod's address the way another pod
# would); HTTP servers of our own in the pod on 8100 and 8200.
# Shell 1 is "mirrorctl shell --mirror" with a server on 8100 that logs
# each request (path and sha256 of the body) and one on 8200 that
# accepts and never reads. Checked: the client's requests on 8100, on a
# keep-alive connection and on connections of their own, get the pod's
# answers, and the shell's program logs the same requests; 200 requests
# with 1 MiB bodies to 8200 on 4 keep-alive connections are all answered
# by the pod while the shell's program never reads, and mirrorctl status
# counts dropped copies (> 0) for pod:8200; a client's half-close reaches
# the pod through the mirror; after the shell, and after SIGKILL of the
# agent while mirroring (shell 2: mirror-netd --incoming mirror as
# mirrorctl starts it), the pod's ruleset is as before.
# incoming.flush_connections (steal, mirror-netd --incoming steal with a
# configuration): a keep-alive connection made before the steal gets its
# next answer from the pod without it, and is cut when the steal starts
# with it (the agent logs the cut); new connections are stolen.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"
. "$(dirname "$0")/incoming.sh"

need_net
need_fuse
need_cmd nft nftables
need_cmd nsenter util-linux
need_cmd python3 python3
net_topology
P=$SRC/tests/netpeer.py

say "client: another pod's namespace, routed to the pod"
client_ns

# srv.py pod|local PORT [LOG]: an HTTP/1.1 server (keep-alive) that
# answers "WHO PATH SHA256(body)" and, with LOG, logs "PATH SHA256" per
# request. srv.py noread PORT: accepts and never reads.
cat >"$T/srv.py" <<'PY'
import hashlib, http.server, socket, socketserver, sys, threading, time
who, port = sys.argv[1], int(sys.argv[2])
log = open(sys.argv[3], "a", buffering=1) if len(sys.argv) > 3 and sys.argv[3] else None
if who == "noread":
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(64)
    held = []
    while True:
        held.append(s.accept()[0])
lock = threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def answer(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = b""
        while len(body) < n:
            b = self.rfile.read(min(65536, n - len(body)))
            if not b: break
            body += b
        sha = hashlib.sha256(body).hexdigest()
        if log:
            with lock: log.write("%s %s\n" % (self.path, sha))
        out = ("%s %s %s\n" % (who, self.path, sha)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    do_GET = do_POST = answer
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
S((sys.argv[4] if len(sys.argv) > 4 else "0.0.0.0", port), H).serve_forever()
PY
# cli.py ADDR PORT CONNS REQS SIZE: CONNS keep-alive connections at once,
# REQS POSTs each of SIZE random bytes to /cCONN/rREQ; prints each
# answer ("pod PATH SHA") and, last, "ok N" with N the answers whose
# path and sha256 are right.
cat >"$T/cli.py" <<'PY'
import hashlib, http.client, os, sys, threading
addr, port, conns, reqs, size = sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:6])
out, ok = [], [0]
lock = threading.Lock()
def one(c):
    h = http.client.HTTPConnection(addr, port, timeout=60)
    for r in range(reqs):
        body = os.urandom(size)
        path = "/c%d/r%d" % (c, r)
        h.request("POST", path, body)
        got = h.getresponse().read().decode().strip()
        with lock:
            out.append(got)
            if got == "pod %s %s" % (path, hashlib.sha256(body).hexdigest()):
                ok[0] += 1
    h.close()
ts = [threading.Thread(target=one, args=(c,)) for c in range(conns)]
for t in ts: t.start()
for t in ts: t.join()
for l in out: print(l)
print("ok", ok[0])
PY
# Servers in the pod, bound to its address as its own programs are.
ip netns exec "$POD_NS" python3 "$T/srv.py" pod 8100 "$T/pod8100.log" "$POD_ADDR" >>"$T/pod.log" 2>&1 &
on_exit "kill $!"
ip netns exec "$POD_NS" python3 "$T/srv.py" pod 8200 "" "$POD_ADDR" >>"$T/pod.log" 2>&1 &
on_exit "kill $!"
up() { client python3 -c "import socket,sys; socket.create_connection(('$POD_ADDR', int(sys.argv[1])), 1)" "$1" 2>>"$T/up.err"; }
wait_for 10 up 8100 || fail "the pod's server on 8100 did not start: $(tail -n 3 "$T/up.err"; cat "$T/pod.log")"
wait_for 10 up 8200 || fail "the pod's server on 8200 did not start: $(cat "$T/pod.log")"
pod nft list ruleset >"$T/pod.before" || fail "cannot read the pod's ruleset"

say "shell 1: mirrorctl shell --mirror, a logging server on 8100, a never-reading one on 8200"
timeout 300 "$CTL" shell --mirror --token-file "$T/token" "$AGENT_URL" -- sh -c '
	python3 "$1/srv.py" local 8100 "$1/local.log" & a=$!
	python3 "$1/srv.py" noread 8200 & b=$!
	python3 "$2" sink 0.0.0.0 9000 & c=$!
	while [ ! -e "$1/stop" ]; do sleep 0.1; done
	kill $a $b $c' sh "$T" "$P" >"$T/shell.out" 2>&1 &
SHELL_CTL=$!
on_exit "touch $T/stop; kill $SHELL_CTL 2>/dev/null"
status_has() { grep -q "$1" <<<"$("$CTL" status 2>/dev/null)"; }
for port in 8100 8200 9000; do
	wait_for 20 status_has "mirror  *tcp pod:$port -> shell:$port mirrored" ||
		fail "port $port not mirrored: $("$CTL" status; cat "$T/shell.out")"
done
grep -q "^ *incoming  *mirror$" <<<"$("$CTL" status)" || fail "status does not say mirror: $("$CTL" status)"
TABLE=$(table)
[ -n "$TABLE" ] || fail "no mirror_agent_ table in the pod: $(pod nft list tables)"
pod nft list table inet "$TABLE" >"$T/table" || fail "cannot list $TABLE"
grep -q "tcp dport 8100 meta mark != 0x6d697272 redirect to :" "$T/table" ||
	fail "no redirect of port 8100: $(cat "$T/table")"

say "the pod answers the client; the shell's program logs the same requests"
: >"$T/pod8100.log"
client python3 "$T/cli.py" "$POD_ADDR" 8100 1 20 3000 >"$T/ka.out" 2>&1 ||
	fail "keep-alive client: $(tail -n 5 "$T/ka.out")"
client python3 "$T/cli.py" "$POD_ADDR" 8100 10 1 100 >"$T/sep.out" 2>&1 ||
	fail "client: $(tail -n 5 "$T/sep.out")"
assert_eq "ok 20" "$(tail -n 1 "$T/ka.out")" "keep-alive: answers of the pod"
assert_eq "ok 10" "$(tail -n 1 "$T/sep.out")" "one connection each: answers of the pod"
grep -v "^ok " "$T/ka.out" "$T/sep.out" -h | sed 's/^pod //' | sort >"$T/want"
# The pod's own log says the same: it was the pod that answered.
sort "$T/pod8100.log" | cmp -s - "$T/want" || fail "the pod's log differs: $(diff <(sort "$T/pod8100.log") "$T/want")"
logged() { [ "$(sort "$T/local.log" 2>/dev/null)" = "$(cat "$T/want")" ]; }
wait_for 10 logged || fail "the shell's program did not log the same requests: $(diff <(sort "$T/local.log") "$T/want")"
say "30 requests answered by the pod, the same 30 logged in the shell"

say "a client's half-close reaches the pod through the mirror"
# The pod's sink (net.sh) answers the sha256 of what it read once it
# reads EOF; the shell's sink (port 9000 too) gets the copy.
half() {
	client python3 -c '
import hashlib, os, socket, sys
d = os.urandom(100000)
s = socket.create_connection((sys.argv[1], 9000), timeout=10)
s.sendall(d)
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    b = s.recv(65536)
    if not b: break
    got += b
print("ok" if got.decode().strip() == hashlib.sha256(d).hexdigest() else "bad %r" % got)
' "$POD_ADDR"
}
assert_eq ok "$(half)" "the pod's sink read the client's EOF through the mirror"
got=$(client curl -s --max-time 5 "http://$POD_ADDR:8100/get")
[[ "$got" == "pod /get "* ]] || fail "GET through the mirror: '$got'"

say "a shell program that never reads does not slow the pod: 200 x 1 MiB"
start=$(date +%s%N)
client python3 "$T/cli.py" "$POD_ADDR" 8200 4 50 1048576 >"$T/big.out" 2>&1 ||
	fail "big client: $(tail -n 5 "$T/big.out")"
assert_eq "ok 200" "$(tail -n 1 "$T/big.out")" "answers of the pod with a never-reading shell"
say "200 MiB through the mirror in $((($(date +%s%N) - start) / 1000000)) ms"
dropped_of() { "$CTL" status | sed -n "s/^ *mirror  *tcp pod:$1 -> shell:$1 mirrored conns [0-9]* failed [0-9]* dropped \([0-9]*\) .*/\1/p"; }
some_dropped() { [ "$(dropped_of 8200)" -gt 0 ] 2>/dev/null; }
wait_for 10 some_dropped || fail "no dropped copy counted for 8200: $("$CTL" status)"
"$CTL" status | grep "incoming\|mirror "

say "the shell exits: no rule left, the pod's ruleset is as before"
touch "$T/stop"
wait_for 10 pid_gone "$SHELL_CTL" || fail "mirrorctl shell did not exit"
wait "$SHELL_CTL" || fail "mirrorctl shell failed: $(cat "$T/shell.out")"
wait_for 2 eval '[ -z "$(table)" ]' || fail "the agent's table is left: $(pod nft list tables)"
pod nft list ruleset >"$T/pod.after"
diff -u "$T/pod.before" "$T/pod.after" || fail "the pod's ruleset changed"
grep -q "^ok 1$" <<<"$(client python3 "$T/cli.py" "$POD_ADDR" 8100 1 1 10)" || fail "the pod does not answer after the shell"

# ka.py ADDR PORT GO: a keep-alive connection, one request; once GO
# exists, a second request on it. Prints the two answers (or "cut").
cat >"$T/ka.py" <<'PY'
import http.client, os, sys, time
h = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]), timeout=10)
h.request("GET", "/first"); print(h.getresponse().read().decode().split()[0], flush=True)
while not os.path.exists(sys.argv[3]): time.sleep(0.05)
try:
    h.request("GET", "/second"); print(h.getresponse().read().decode().split()[0])
except Exception as e:
    print("cut", type(e).__name__)
PY
# flush_case NAME CONF WANT: a keep-alive connection to the pod's 8100
# made before a steal of 8100 (configuration CONF); its second request
# after the steal starts gets WANT ("pod": left alone, "cut").
flush_case() {
	local name=$1 conf=$2 want=$3 sh got
	printf '%s\n' "$conf" >"$T/$name.conf"
	rm -f "$T/$name.go"
	client python3 "$T/ka.py" "$POD_ADDR" 8100 "$T/$name.go" >"$T/$name.ka" 2>&1 &
	local ka=$!
	wait_for 5 grep -q "^pod$" "$T/$name.ka" || fail "$name: the first request: $(cat "$T/$name.ka")"
	shell_ns sh
	netd_for "$sh" "$name" steal --config "$T/$name.conf"
	nsenter --net="/proc/$sh/ns/net" python3 "$T/srv.py" local 8100 >>"$T/shell.log" 2>&1 &
	on_exit "kill $! 2>/dev/null"
	wait_for 10 grep -q "^steal=tcp pod:8100 -> shell:8100 stolen" "$T/$name.status" ||
		fail "$name: 8100 not stolen: $(cat "$T/$name.status")"
	grep -q "^local /c0/r0 " <<<"$(client python3 "$T/cli.py" "$POD_ADDR" 8100 1 1 10)" ||
		fail "$name: a new connection is not stolen"
	touch "$T/$name.go"
	wait "$ka"
	got=$(tail -n 1 "$T/$name.ka")
	[[ "$got" == "$want"* ]] || fail "$name: the old connection's second request got '$got', want $want"
	say "$name: the connection made before the steal: $got"
	kill "$sh"
	wait_for 10 eval '[ -z "$(table)" ]' || fail "$name: the table is left: $(pod nft list tables)"
}
say "flush_connections: a keep-alive connection made before the steal stays with the pod without it"
flush_case noflush "incoming: { flush_connections = false; };" pod
say "... and is cut when the steal starts with it"
flush_case flush "incoming: { flush_connections = true; };" cut
grep -hq "port 8100: 1 established connection cut (flush_connections)" "$T"/agent.*.err ||
	fail "the agent does not log the cut: $(grep -h flush "$T"/agent.*.err)"

say "SIGKILL of the agent while mirroring: no rule left"
shell_ns SH2
netd_for "$SH2" sh2 mirror
nsenter --net="/proc/$SH2/ns/net" python3 "$T/srv.py" local 8100 "$T/local2.log" >>"$T/shell.log" 2>&1 &
on_exit "kill $! 2>/dev/null"
mirrored2() { grep -q "^mirror=tcp pod:8100 -> shell:8100 mirrored" "$T/sh2.status" 2>/dev/null; }
wait_for 10 mirrored2 || fail "shell 2: 8100 not mirrored: $(cat "$T/sh2.status")"
grep -q "^ok 3$" <<<"$(client python3 "$T/cli.py" "$POD_ADDR" 8100 1 3 10)" || fail "shell 2: the pod does not answer"
wait_for 5 eval '[ "$(wc -l <"$T/local2.log")" -ge 3 ]' || fail "shell 2 did not log the copies"
kill -9 "$AGENT_PID"
wait_for 1 eval '[ -z "$(table)" ]' || fail "table left after SIGKILL of the agent: $(pod nft list ruleset)"
pod nft list ruleset >"$T/pod.after2"
diff -u "$T/pod.before" "$T/pod.after2" || fail "the pod's ruleset changed after SIGKILL"
grep -q "^ok 1$" <<<"$(client python3 "$T/cli.py" "$POD_ADDR" 8100 1 1 10)" || fail "the pod does not answer after SIGKILL"
echo ok
