#!/usr/bin/env bash
# The layer's network hooks (layer/net.c) at their bounds, against a
# stand-in for netd's socket that answers as told (the real netd is
# t-incoming-bind.sh's): in a private network namespace, python3 under
# the layer with MIRROR_NETD_SOCK naming the stand-in.
# Checked: without the variable a taken port stays EADDRINUSE and
# nothing is reported; when netd says "no" to a taken port, EADDRINUSE;
# "yes": the bind works on another port, getsockname() says the asked
# one (on the listener and on a connection it accepts), listen()
# reports "L LOCAL ASKED ADDR" with the real port; a UDP or unix
# socket's listen/bind is never reported; a netd that never
# answers holds listen() 2.5 s at most, one that answers a megabyte of
# garbage does not hold it, a missing socket not at all; every listen()
# leaves a listening socket.
. "$(dirname "$0")/lib.sh"
need_root	# unshare -n
need_cmd python3
need_cmd unshare util-linux
use_built_layer
cat >"$T/driver.py" <<'PY'
import os, socket, subprocess, sys, threading, time
layer = sys.argv[1]
NAME = "mirror-test-layer-net"
mode = {"v": "ok"}
got = []
def stand_in():
    s = socket.socket(socket.AF_UNIX)
    s.bind("\0" + NAME)
    s.listen(16)
    ready.set()
    while True:
        threading.Thread(target=answer, args=(s.accept()[0],), daemon=True).start()
def answer(c):
    line = c.recv(200).decode()
    got.append(line)
    m = mode["v"]
    if m == "silent":
        time.sleep(4)
    elif m == "garbage":
        try:
            c.sendall(b"x" * (1 << 20))
        except OSError:
            pass
    elif line.startswith("B"):
        c.sendall(b"yes\n" if m == "yes" else b"no\n")
    else:
        c.sendall(b"ok\n")
    c.close()
ready = threading.Event()
threading.Thread(target=stand_in, daemon=True).start()
ready.wait(5)
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
squat = socket.socket()
squat.bind(("127.0.0.1", 9090))
PROG = r'''
import socket, sys, time
out = []
def try_bind(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
    except OSError as e:
        return "bind %d: errno %d" % (port, e.errno)
    t = time.monotonic()
    s.listen(4)
    took = time.monotonic() - t
    lst = sorted(int(l.split()[1].split(":")[1], 16) for l in
                 open("/proc/net/tcp").readlines()[1:] if l.split()[3] == "0A")
    c = socket.create_connection(("127.0.0.1", lst[0]))	# the one listener
    a = s.accept()[0]
    return "bind %d: getsockname %d listen %.1f s listening %s accepted %d" % (
        port, s.getsockname()[1], took, ",".join(map(str, lst)), a.getsockname()[1])
print(try_bind(int(sys.argv[1])))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
x = socket.socket(socket.AF_UNIX)
x.bind("\0mirror-test-layer-net-x")
x.listen(1)
'''
def run(port, sock=True):
    env = dict(os.environ, LD_PRELOAD=layer)
    env.pop("MIRROR_NETD_SOCK", None)
    if sock:
        env["MIRROR_NETD_SOCK"] = "@" + (sock if isinstance(sock, str) else NAME)
    del got[:]
    r = subprocess.run([sys.executable, "-c", PROG, str(port)], env=env,
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        sys.exit("FAIL: the program failed: " + r.stderr)
    return r.stdout.strip(), list(got)
def check(what, cond, detail):
    if not cond:
        sys.exit("FAIL: %s: %s" % (what, detail))
    print("# %s: %s" % (what, detail))
# Each program also binds a UDP socket and listens on a unix one: the
# exact lists of requests below show neither is reported.
out, seen = run(9090, sock=False)
check("no MIRROR_NETD_SOCK", out == "bind 9090: errno 98" and seen == [], (out, seen))
mode["v"] = "no"
out, seen = run(9090)
check("netd says no", out == "bind 9090: errno 98" and seen == ["B 9090\n"], (out, seen))
mode["v"] = "yes"
out, seen = run(9090)
ok = out.startswith("bind 9090: getsockname 9090 ") and len(seen) == 2 and \
    seen[0] == "B 9090\n" and seen[1].startswith("L ") and \
    seen[1].endswith(" 9090 127.0.0.1\n") and seen[1].split()[1] != "9090" and \
    out.endswith(" listening %s accepted 9090" % seen[1].split()[1])
check("netd says yes: another port, getsockname the asked one", ok, (out, seen))
out, seen = run(9091)
check("a free port: reported as it is", out.startswith("bind 9091: getsockname 9091 ")
      and out.endswith(" listening 9091 accepted 9091")
      and seen == ["L 9091 9091 127.0.0.1\n"], (out, seen))
mode["v"] = "silent"
t = time.monotonic()
out, seen = run(9092)
took = float(out.split()[5])
check("netd silent: listen() bounded", 2.0 <= took <= 3.5 and seen == ["L 9092 9092 127.0.0.1\n"], (out, seen))
mode["v"] = "garbage"
out, seen = run(9093)
took = float(out.split()[5])
check("netd answers garbage: listen() not held", took < 1.0, (out, seen))
out, seen = run(9094, sock="mirror-test-layer-net-absent")
took = float(out.split()[5])
check("no netd socket: listen() not held", took < 0.5 and
      out.startswith("bind 9094: getsockname 9094 ") and out.endswith(" listening 9094 accepted 9094"), out)
PY
unshare -n python3 "$T/driver.py" "$MIRROR_LAYER" || fail "see above"
echo ok
