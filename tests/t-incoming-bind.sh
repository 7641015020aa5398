#!/usr/bin/env bash
# The layer's port binding under "mirrorctl exec --steal" (issue 13): the
# layer reports listen() to netd and waits for the subscription, so a
# client that sends its request right when the program has listened gets
# the local answer on its FIRST request (no retry, no sleep). The
# topology is t-incoming-steal.sh's: tests/net.sh plus a "client"
# namespace that reaches the pod's address the way another pod would.
# Run as a test user (SUDO_UID of nobody), in one exec session:
#   - python3 binds port 80 as that user (the shell's namespace lets
#     unprivileged ports start at 0) and getsockname() reports 80; the
#     client's first request to POD:80 is answered by it;
#   - port 9090 taken in the shell (another process bound it first): the
#     program's bind still works, getsockname() reports 9090, the
#     client's first request to POD:9090 reaches it;
#   - busybox httpd (statically linked: no layer) on 8000 is subscribed
#     by the watcher, and the client reaches it;
#   - ten listeners one after the other, each on a new port, with the
#     report: the client's first request to each, sent when listen()
#     has returned, is local; then ten with the report turned off
#     (MIRROR_NETD_SOCK unset): the watcher subscribes them too. The
#     times from listen() to the first local answer are printed, median
#     and worst, side by side.
# In a second session, port_mapping 8080 -> 80: the program listening on
# 8080 gets the client's first request to POD:80; and netd refuses what
# the layer would not send (a listener at an address not the shell's,
# port 0, a line of garbage).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"

need_net
need_fuse
need_cmd nsenter util-linux
need_cmd python3
need_cmd busybox busybox-static
file -L "$(command -v busybox)" | grep -q "statically linked" ||
	missing "busybox is not statically linked (apt-get install busybox-static)"
use_built_layer	# exec --steal preloads it
net_topology

say "client: another pod's namespace, a veth to the pod's, routed to it"
CLIENT_NS=mtp-cli-$$
netns_add "$CLIENT_NS"
ip -n "$POD_NS" link add podcli0 type veth peer name podcli1 netns "$CLIENT_NS" ||
	fail "veth pod-client"
for end in "$POD_NS podcli0 10.82.0.1/30" "$CLIENT_NS podcli1 10.82.0.2/30"; do
	set -- $end
	{ ip -n "$1" addr add "$3" dev "$2" && ip -n "$1" link set "$2" up; } ||
		fail "client link $2"
done
ip -n "$CLIENT_NS" route add default via 10.82.0.1 || fail "client route"
POD_PAGE="the web server of the pod"
page() { ip netns exec "$CLIENT_NS" curl -s --max-time 5 "http://$POD_ADDR:$1/" 2>/dev/null; }
page 80 | grep -q "$POD_PAGE" || fail "the client does not reach the pod's page: $(page 80)"

# What the user's programs run: readable by nobody.
chmod 711 "$T"
U=$T/pub
mkdir -p "$U/www"
echo "<h1>the shell's static httpd</h1>" >"$U/www/index.html"
cat >"$U/server.py" <<'PY'
# server.py PORT TAG FIFO: an HTTP server answering "local TAG"; prints
# the port getsockname() reports once it listens, then says "go" to the
# client through FIFO.
import http.server, socket, socketserver, sys
port, tag, fifo = int(sys.argv[1]), sys.argv[2], sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = ("local %s\n" % tag).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a):
        pass
socketserver.TCPServer.allow_reuse_address = True
srv = socketserver.TCPServer(("0.0.0.0", port), H)	# bind + listen
with open(fifo, "w") as f:
    f.write("go\n")
print("listening %d" % srv.socket.getsockname()[1], flush=True)
srv.serve_forever()
PY
cat >"$U/squat.py" <<'PY'
# squat.py PORT FLAG: binds PORT (no listen, no SO_REUSEADDR), touches
# FLAG, holds it.
import socket, sys, time
s = socket.socket()
s.bind(("0.0.0.0", int(sys.argv[1])))
open(sys.argv[2], "w").close()
time.sleep(1000)
PY
cat >"$U/rounds.py" <<'PY'
# rounds.py PORT0 N TAG GO DONE: N times, listens on a new port (PORT0,
# PORT0+1...) answering "local TAG", writes its number to the fifo GO
# right after listen(), and waits for a line on the fifo DONE. Prints
# how long listen() took (the layer waits for the subscription there).
import socket, sys, threading, time
port0, n, tag, gof, donef = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
def serve(s):
    while True:
        c = s.accept()[0]
        c.recv(4096)
        b = ("local %s\n" % tag).encode()
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(b) + b)
        c.close()
go = open(gof, "w")
done = open(donef)
took = []
for i in range(n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port0 + i))
    t0 = time.monotonic()
    s.listen(16)
    took.append((time.monotonic() - t0) * 1000)
    threading.Thread(target=serve, args=(s,), daemon=True).start()
    go.write("%d\n" % (port0 + i))
    go.flush()
    done.readline()
took.sort()
print("%s: listen() took %.1f ms (median), %.1f ms (max)" % (tag, took[n // 2], took[-1]), flush=True)
PY
cat >"$U/hostile.py" <<'PY'
# hostile.py: requests to netd's socket that the layer would not send:
# each answer (or "closed") on a line.
import os, socket
for req in [b"L 80 80 10.77.0.2\n", b"L 0 80 0.0.0.0\n", b"X" * 200, b"B 80\n"]:
    s = socket.socket(socket.AF_UNIX)
    s.connect("\0" + os.environ["MIRROR_NETD_SOCK"][1:])
    s.sendall(req)
    try:
        got = s.recv(100).decode().strip()
    except ConnectionResetError:	# netd closed with the rest unread
        got = ""
    print(got or "closed", flush=True)
    s.close()
PY
cat >"$T/client.py" <<'PY'
# client.py ADDR PORT GO WANT [once]: waits for the server's "go" on the
# fifo GO, then GETs ADDR:PORT until the answer has WANT (once: a single
# request). client.py ADDR rounds GO WANT DONE: for each port rounds.py
# writes on GO, the same, then a line on DONE; a summary at the end.
import socket, sys, time
addr, port, gof, want = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
def until(port, once):
    t0 = time.monotonic()
    n, got = 0, ""
    while time.monotonic() - t0 < 5:
        n += 1
        try:
            s = socket.create_connection((addr, port), timeout=5)
            s.sendall(b"GET / HTTP/1.0\r\nHost: pod\r\n\r\n")
            got = b"".join(iter(lambda: s.recv(65536), b"")).decode("ascii", "replace")
            s.close()
        except OSError as e:
            got = "error: %s" % e
        if want in got or once:
            break
        time.sleep(0.002)
    return want in got, (time.monotonic() - t0) * 1000, n, got
if port != "rounds":
    open(gof).read()
    ok, ms, n, got = until(int(port), sys.argv[5:] == ["once"])
    last = got.strip().splitlines()[-1] if got.strip() else "(nothing)"
    print("%s %.1f ms %d request(s): %s" % ("ok" if ok else "FAIL", ms, n, last), flush=True)
    sys.exit(0)
go = open(gof)
done = open(sys.argv[5], "w")
res = []
for line in go:
    res.append(until(int(line), False))
    done.write("x\n")
    done.flush()
ms = sorted(r[1] for r in res)
print("rounds %d ok %d first %d median %.1f ms max %.1f ms" % (len(res),
      sum(r[0] for r in res), sum(r[0] and r[2] == 1 for r in res),
      ms[len(ms) // 2], ms[-1]), flush=True)
PY
for p in 80 9090 8080 -reported -watched done-reported done-watched; do
	mkfifo "$U/go$p"
done
USER_ID=$(id -u nobody) USER_GID=$(id -g nobody)
chown -R "$USER_ID:$USER_GID" "$U"
# client_bg PORT WANT [once]: the client in the background, output in
# $T/client-PORT.
client_bg() {
	ip netns exec "$CLIENT_NS" python3 "$T/client.py" "$POD_ADDR" "$1" \
		"$U/go$1" "$2" ${3:-} >"$T/client-$1" 2>&1 &
	on_exit "kill $! 2>/dev/null"
}
client_done() { grep -q " request(s): " "$T/client-$1" 2>/dev/null; }

say "session 1: exec --steal as uid $USER_ID"
client_bg 80 "local user80" once
client_bg 9090 "local taken" once
# rounds MODE: client.py's rounds against rounds.py run in MODE, output
# in $T/client-MODE.
rounds() {
	ip netns exec "$CLIENT_NS" python3 "$T/client.py" "$POD_ADDR" rounds \
		"$U/go-$1" "local $1" "$U/godone-$1" >"$T/client-$1" 2>&1 &
	on_exit "kill $! 2>/dev/null"
}
rounds reported
rounds watched
(cd "$U" && SUDO_UID=$USER_ID SUDO_GID=$USER_GID exec timeout 120 "$CTL" exec --steal \
	--token-file "$T/token" "$AGENT_URL" -- sh -c '
	id -u >"$1/uid"
	python3 squat.py 9090 "$1/squatting" & q=$!
	busybox httpd -f -p 8000 -h "$1/www" & b=$!
	while [ ! -e "$1/squatting" ]; do sleep 0.05; done
	python3 server.py 80 user80 "$1/go80" >"$1/server-80" 2>&1 & s1=$!
	python3 server.py 9090 taken "$1/go9090" >"$1/server-9090" 2>&1 & s2=$!
	{ python3 rounds.py 8100 10 reported "$1/go-reported" \
		"$1/godone-reported" &&
	  env -u MIRROR_NETD_SOCK python3 rounds.py 8200 10 watched \
		"$1/go-watched" "$1/godone-watched"; } >"$1/rounds" 2>&1 & s3=$!
	while [ ! -e "$1/stop" ]; do sleep 0.1; done
	kill $q $b $s1 $s2 $s3 2>/dev/null; exit 0' sh "$U") >"$T/exec1.out" 2>&1 &
EXEC_CTL=$!
on_exit "touch $U/stop; kill $EXEC_CTL 2>/dev/null"
rounds_done() { grep -q "^rounds " "$T/client-$1" 2>/dev/null; }
for p in 80 9090; do
	wait_for 30 client_done $p || fail "no answer to the client of $p: $(cat "$T/client-$p" "$T/exec1.out" "$U"/server-* 2>&1)"
done
assert_eq "$USER_ID" "$(cat "$U/uid")" "the command's uid"
for p in 80 9090; do
	say "port $p: server: $(cat "$U/server-$p"); client: $(cat "$T/client-$p")"
done
assert_eq "listening 80" "$(head -n 1 "$U/server-80")" "getsockname of port 80 bound as uid $USER_ID"
grep -q "^ok .* 1 request(s): local user80$" "$T/client-80" ||
	fail "the first request to POD:80 right after listen() did not reach the program: $(cat "$T/client-80")"
assert_eq "listening 9090" "$(head -n 1 "$U/server-9090")" "getsockname of the taken port 9090"
grep -q "^ok .* 1 request(s): local taken$" "$T/client-9090" ||
	fail "the first request to POD:9090 (taken in the shell) did not reach the program: $(cat "$T/client-9090")"
say "listen() to the first local answer, 10 ports each, with the layer's report and without (the watcher)"
for m in reported watched; do
	wait_for 60 rounds_done $m || fail "rounds $m: $(cat "$T/client-$m" "$U/rounds")"
	say "$m: $(cat "$T/client-$m")"
done
wait_for 5 eval 'grep -q "^watched: listen" "$U/rounds"' || fail "rounds.py: $(cat "$U/rounds")"
say "$(cat "$U/rounds")"
grep -q "^rounds 10 ok 10 first 10 " "$T/client-reported" ||
	fail "with the report, not every first request right after listen() reached the program: $(cat "$T/client-reported")"
grep -q "^rounds 10 ok 10 " "$T/client-watched" ||
	fail "without the report, the watcher did not subscribe every port: $(cat "$T/client-watched")"
status_has() { "$CTL" status 2>/dev/null | grep -q "$1"; }
status_has "steal  *tcp pod:9090 -> shell:[0-9]* stolen" ||
	fail "status: no subscription of the pod's 9090: $("$CTL" status)"
status_has "steal  *tcp pod:9090 -> shell:9090 " &&
	fail "the pod's 9090 went to the squatter, not to the program"
say "$("$CTL" status | grep "pod:9090")"
say "busybox httpd (static, no layer) on 8000: found by the watcher"
wait_for 10 status_has "steal  *tcp pod:8000 -> shell:8000 stolen" ||
	fail "the static httpd's 8000 was not subscribed: $("$CTL" status)"
page 8000 | grep -q "the shell's static httpd" || fail "the client did not reach the static httpd: $(page 8000)"
touch "$U/stop"
wait "$EXEC_CTL" || fail "mirrorctl exec failed: $(cat "$T/exec1.out")"
wait_for 2 eval 'page 80 | grep -q "$POD_PAGE"' || fail "the pod does not answer again: $(page 80)"

say "session 2: port_mapping 8080 -> 80"
printf 'incoming: { port_mapping = ( [8080, 80] ); };\n' >"$U/map.conf"
rm -f "$U/stop"
# The client asks the pod's 80; the program says go on go8080.
ip netns exec "$CLIENT_NS" python3 "$T/client.py" "$POD_ADDR" 80 "$U/go8080" \
	"local mapped" once >"$T/client-mapped" 2>&1 &
on_exit "kill $! 2>/dev/null"
(cd "$U" && SUDO_UID=$USER_ID SUDO_GID=$USER_GID exec timeout 120 "$CTL" exec --steal \
	--config "$U/map.conf" --token-file "$T/token" "$AGENT_URL" -- sh -c '
	python3 hostile.py >"$1/hostile" 2>&1
	python3 server.py 8080 mapped "$1/go8080" >"$1/server-8080" 2>&1 & s=$!
	while [ ! -e "$1/stop" ]; do sleep 0.1; done
	kill $s' sh "$U") >"$T/exec2.out" 2>&1 &
EXEC_CTL=$!
on_exit "touch $U/stop; kill $EXEC_CTL 2>/dev/null"
mapped_done() { grep -q " request(s): " "$T/client-mapped" 2>/dev/null; }
wait_for 30 mapped_done || fail "no answer to the client of the mapped port: $(cat "$T/client-mapped" "$T/exec2.out")"
say "mapped: server: $(cat "$U/server-8080"); client: $(cat "$T/client-mapped")"
assert_eq "listening 8080" "$(head -n 1 "$U/server-8080")" "getsockname of 8080"
grep -q "^ok .* 1 request(s): local mapped$" "$T/client-mapped" ||
	fail "the first request to POD:80 did not reach the program on 8080: $(cat "$T/client-mapped")"
say "requests the layer would not send: $(tr '\n' ' ' <"$U/hostile")"
assert_eq "err 99 closed closed yes" "$(tr '\n' ' ' <"$U/hostile" | sed 's/ $//')" \
	"netd's answers to a listener outside the shell, port 0, garbage, and bind 80"
touch "$U/stop"
wait "$EXEC_CTL" || fail "mirrorctl exec failed: $(cat "$T/exec2.out")"
wait_for 2 eval 'page 80 | grep -q "$POD_PAGE"' || fail "the pod does not answer after the mapped session: $(page 80)"
echo ok
