#!/usr/bin/env bash
# Steal with an HTTP filter (issue 13, incoming.http_filter). The
# topology of t-incoming-steal.sh: a "client" namespace reaching the
# pod's address the way another pod would, and a shell (a network
# namespace holding a sleep) whose mirror-netd --incoming steal has a
# configuration with http_filter = any_of ( header "^x-mirror: me$",
# path "^/api/" ). The
# pod and the shell both run tests/httpwho.py on port 8888, each
# answering with its name.
# Checked (tests/httpwho.py check): on one keep-alive connection the
# requests with the header are answered by the shell, the others by the
# pod, POST bodies (1 MiB too) each way; six pipelined requests in one
# write come back in order with the right bodies (a chunked one too); an
# upgrade passes through whole to the side it went to, after a request
# to the other side; a head over 64 KiB is answered 431 after the answer
# owed; 200 concurrent connections alternate sides. HTTP/2 with prior
# knowledge (h2c) is filtered per stream: nghttpd on port 8889 in the pod
# and in the shell (different files, each adding a trailer x-side: WHO),
# nghttp from the client: on ONE connection /api/x (path filter) and
# /other go to their sides, a stream with the header to the shell,
# POST bodies of 4 MiB echoed intact both ways with the trailer, 40
# concurrent streams; h2load's rates each way and direct. Then: a filter
# that does not compile is refused at load with its line; the shell's netd exits and the pod answers
# everything again, with the pod's ruleset as before; "mirrorctl exec
# --http-filter-path ^/api/" steals only /api/ for its command, and
# nothing is left after it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net.sh"
. "$(dirname "$0")/incoming.sh"

need_net
need_fuse
need_cmd nft nftables
need_cmd nsenter util-linux
need_cmd nghttp nghttp2-client
need_cmd h2load nghttp2-client
need_cmd nghttpd nghttp2-server
use_built_layer	# mirrorctl exec preloads it
net_topology
W=$SRC/tests/httpwho.py

say "client: another pod's namespace, routed to the pod"
client_ns
ip netns exec "$POD_NS" python3 "$W" serve pod "$POD_ADDR" 8888 >>"$T/pod.log" 2>&1 &
on_exit "kill $!"
who() { client curl -s --max-time 5 -H "x-mirror: me" "http://$POD_ADDR:8888/w"; }
wait_for 15 eval '[ "$(who)" = "pod GET /w " ]' || fail "the pod's server does not answer: $(who)"
pod nft list ruleset >"$T/pod.before" || fail "cannot read the pod's ruleset"

say "a filter that does not compile is refused at load, with its line"
printf 'incoming: {\n  http_filter = {\n    header = "(x";\n  };\n};\n' >"$T/bad.conf"
timeout 10 "$NETD" --config "$T/bad.conf" --agent "$AGENT_URL" \
	--token-file "$T/token" >/dev/null 2>"$T/bad.err" &&
	fail "netd accepted a bad regex"
grep -q "bad.conf:3: incoming.http_filter: header \"(x\"" "$T/bad.err" ||
	fail "no clear error for a bad regex: $(cat "$T/bad.err")"

say "the shell: netd --incoming steal with http_filter, httpwho on 8888"
printf 'incoming: {\n  ports = [ 8888, 8889 ];\n  http_filter = { any_of = ( { header = "^x-mirror: me$"; },\n    { path = "^/api/"; } ); };\n};\n' >"$T/filter.conf"
shell_ns SH
netd_for "$SH" sh steal --config "$T/filter.conf"
nsenter --net="/proc/$SH/ns/net" python3 "$W" serve laptop 0.0.0.0 8888 >>"$T/shell.log" 2>&1 &
on_exit "kill $! 2>/dev/null"
stolen() { grep -q "^steal=tcp pod:${1:-8888} -> shell:${1:-8888} stolen" "$T/sh.status" 2>/dev/null; }
wait_for 10 stolen || fail "8888 not stolen: $(cat "$T/sh.status")"
wait_for 5 eval '[ "$(who)" = "laptop GET /w " ]' || fail "a request with the header did not reach the shell: $(who)"
plain=$(client curl -s --max-time 5 "http://$POD_ADDR:8888/plain")
assert_eq "pod GET /plain " "$plain" "a request without the header"

say "keep-alive, pipelining, bodies and upgrades"
client python3 "$W" check "$POD_ADDR" 8888 >"$T/check.out" 2>&1 ||
	fail "$(cat "$T/check.out")"
cat "$T/check.out"

say "200 concurrent filtered connections"
client python3 "$W" many "$POD_ADDR" 8888 200 >"$T/many.out" 2>&1 || fail "$(cat "$T/many.out")"
cat "$T/many.out"

say "rates on one keep-alive connection (1000 GETs each)"
for h in me none; do
	r=$(client python3 "$W" rate "$POD_ADDR" 8888 1000 $h) || fail "rate $h: $r"
	say "through the filter, x-mirror: $h -> $([ $h = me ] && echo laptop || echo pod): $r"
done

say "HTTP/2 with prior knowledge (h2c): filtered per stream"
for s in pod laptop; do
	mkdir -p "$T/h2$s/api"
	echo "$s other" >"$T/h2$s/other"
	echo "$s api" >"$T/h2$s/api/x"
done
ip netns exec "$POD_NS" nghttpd --no-tls --echo-upload --trailer "x-side: pod" \
	-d "$T/h2pod" 8889 >>"$T/h2pod.log" 2>&1 &
on_exit "kill $!"
nsenter --net="/proc/$SH/ns/net" nghttpd --no-tls --echo-upload \
	--trailer "x-side: laptop" -d "$T/h2laptop" 8889 >>"$T/h2laptop.log" 2>&1 &
on_exit "kill $! 2>/dev/null"
wait_for 10 stolen 8889 || fail "8889 not stolen: $(cat "$T/sh.status")"
U=http://$POD_ADDR:8889
# h2 FILE ARGS...: nghttp -v from the client (one connection for all
# its URLs), its output in FILE.
h2() { local out=$1; shift; client timeout 20 nghttp -v "$@" >"$T/$out" 2>&1 || fail "nghttp $*: $(tail -5 "$T/$out")"; }
h2 h2mix "$U/api/x" "$U/other"
grep -aqx "laptop api" "$T/h2mix" || fail "h2c /api/x did not reach the shell: $(cat "$T/h2mix")"
grep -aqx "pod other" "$T/h2mix" || fail "h2c /other did not reach the pod: $(cat "$T/h2mix")"
[ "$(grep -ac "recv SETTINGS frame <length=[1-9]" "$T/h2mix")" = 1 ] ||
	fail "nghttp made more than one connection: $(cat "$T/h2mix")"
grep -aq "x-side: laptop" "$T/h2mix" && grep -aq "x-side: pod" "$T/h2mix" ||
	fail "the trailers did not come back: $(cat "$T/h2mix")"
h2 h2me -H "x-mirror: me" "$U/other"
grep -aqx "laptop other" "$T/h2me" || fail "an h2c stream with the header did not reach the shell: $(cat "$T/h2me")"
head -c 4194304 /dev/urandom >"$T/h2body"
want=$(sha256sum <"$T/h2body")
for who in laptop pod; do
	hdr=(); [ $who = laptop ] && hdr=(-H "x-mirror: me")
	got=$(client timeout 30 nghttp "${hdr[@]}" -d "$T/h2body" "$U/other" | sha256sum)
	assert_eq "$want" "$got" "a 4 MiB h2c POST echoed by the $who"
	h2 h2post-$who -n "${hdr[@]}" -d "$T/h2body" "$U/other"
	grep -aq "x-side: $who" "$T/h2post-$who" || fail "the 4 MiB POST did not reach the $who: $(tail "$T/h2post-$who")"
done
h2 h2many -n -m 20 "$U/api/x" "$U/other"
[ "$(grep -ac ":status: 200" "$T/h2many")" = 40 ] || fail "40 concurrent h2c streams: $(grep -a ":status:" "$T/h2many" | sort | uniq -c)"
[ "$(grep -ac "x-side: laptop" "$T/h2many")" = 20 ] || fail "20 of 40 streams to the shell: $(grep -a "x-side" "$T/h2many" | sort | uniq -c)"
say "h2c: /api/x and /other on one connection, the header, 4 MiB POSTs, 40 streams: ok"
# h2rate PATH: h2load's requests per second and mean time, one
# connection, 10 streams in flight (bench figures for the log).
h2rate() {
	client timeout 60 h2load -n 5000 -c 1 -m 10 "$U$1" >"$T/h2load" 2>&1 ||
		fail "h2load $1: $(tail -5 "$T/h2load")"
	grep -q "5000 succeeded" "$T/h2load" || fail "h2load $1: $(grep requests: "$T/h2load")"
	echo "$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1 req\/s/p' "$T/h2load"), mean $(awk '/^time for request:/ {print $4}' "$T/h2load")"
}
say "h2c through the filter, /api/x -> laptop: $(h2rate /api/x)"
say "h2c through the filter, /other -> pod: $(h2rate /other)"

say "the shell's netd exits: the pod answers everything, no rule left"
kill "$NETD_PID"
wait_for 5 pid_gone "$NETD_PID" || fail "netd did not exit"
wait_for 2 eval '[ "$(who)" = "pod GET /w " ]' || fail "the pod does not answer the header again: $(who)"
h2 h2after "$U/api/x"
grep -aqx "pod api" "$T/h2after" || fail "the pod does not answer h2c /api/x again: $(cat "$T/h2after")"
pod nft list ruleset >"$T/pod.after"
diff -u "$T/pod.before" "$T/pod.after" || fail "the pod's ruleset changed"

r=$(client python3 "$W" rate "$POD_ADDR" 8888 1000 none) || fail "rate direct: $r"
say "the pod directly, no filter: $r"
say "h2c, the pod directly, no filter: $(h2rate /other)"

say "mirrorctl exec --http-filter-path: the flag steals /api/ only"
timeout 120 "$CTL" exec --http-filter-path '^/api/' --token-file "$T/token" "$AGENT_URL" -- sh -c '
	python3 "$2" serve laptop 0.0.0.0 8888 & a=$!
	while [ ! -e "$1/stop-exec" ]; do sleep 0.1; done
	kill $a' sh "$T" "$W" >"$T/exec.out" 2>&1 &
EXEC_CTL=$!
on_exit "touch $T/stop-exec; kill $EXEC_CTL 2>/dev/null"
api() { client curl -s --max-time 5 "http://$POD_ADDR:8888/api/x"; }
wait_for 20 eval '[ "$(api)" = "laptop GET /api/x " ]' || fail "exec: /api/ did not reach the command: $(api; cat "$T/exec.out")"
assert_eq "pod GET /w " "$(who)" "exec: a request outside /api/, with the header"
touch "$T/stop-exec"
wait "$EXEC_CTL" || fail "mirrorctl exec failed: $(cat "$T/exec.out")"
wait_for 2 eval '[ "$(api)" = "pod GET /api/x " ]' || fail "the pod does not answer /api/ after exec: $(api)"
wait_for 2 eval '[ -z "$(table)" ]' || fail "the agent's table is left after exec: $(pod nft list tables)"
echo ok
