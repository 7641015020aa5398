#!/usr/bin/env python3
"""HTTP/1.1 peers for tests/t-incoming-filter.sh.

  httpwho.py serve WHO ADDR PORT   a keep-alive server: every answer's body
      is "WHO METHOD PATH BODY"; "Upgrade: echo" is answered 101 and the
      connection then echoes "WHO:" + each chunk.
  httpwho.py many ADDR PORT N       N concurrent keep-alive connections,
      four requests each alternating between the sides.
  httpwho.py rate ADDR PORT N me|none   N keep-alive GETs: requests per
      second and median latency (bench figures for the test's log).
  httpwho.py check ADDR PORT       the client side: one keep-alive
      connection (1 MiB bodies too), pipelined requests, POST bodies and
      upgrades, each
      answer checked against who should give it. Prints "ok" or the
      first difference and exits 1.
"""
import http.client
import os
import http.server
import socket
import socketserver
import sys

ME = "x-mirror"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # head and body are two writes
    who = "?"

    def log_message(self, *a):
        pass

    def log_error(self, fmt, *a):
        sys.stderr.write("%s error: %s\n" % (self.who, fmt % a))
        sys.stderr.flush()

    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()   # the empty trailer
                    break
                body += self.rfile.read(size + 2)[:size]
        if self.headers.get("Upgrade", "").lower() == "echo":
            self.send_response(101)
            self.send_header("Connection", "Upgrade")
            self.send_header("Upgrade", "echo")
            self.end_headers()
            self.wfile.flush()
            while True:
                b = self.rfile.read1(65536)
                if not b:
                    break
                self.wfile.write(self.who.encode() + b":" + b)
                self.wfile.flush()
            self.close_connection = True
            return
        out = ("%s %s %s " % (self.who, self.command, self.path)).encode() + body
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_HEAD = answer


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024   # many concurrent connections at once


def serve(who, addr, port):
    Handler.who = who
    Server((addr, int(port)), Handler).serve_forever()


def want(got, exp, what):
    if got != exp:
        print("%s: got %r, want %r" % (what, got, exp))
        sys.exit(1)


def read_answers(s, n):
    """n answers of a raw socket: (status, body) each."""
    buf, out = b"", []
    while len(out) < n:
        while b"\r\n\r\n" not in buf:
            b = s.recv(65536)
            if not b:
                raise EOFError("closed after %d answers" % len(out))
            buf += b
        head, buf = buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        n_body = 0
        for line in lines[1:]:
            k, v = line.split(":", 1)
            if k.strip().lower() == "content-length":
                n_body = int(v)
        while len(buf) < n_body:
            b = s.recv(65536)
            if not b:
                raise EOFError("body cut")
            buf += b
        out.append((status, buf[:n_body].decode()))
        buf = buf[n_body:]
    return out, buf


def check(addr, port):
    port = int(port)
    # One keep-alive connection, the header deciding each request.
    c = http.client.HTTPConnection(addr, port, timeout=10)
    sock = None
    steps = [("GET", "/a", {}, None, "pod GET /a "),
             ("GET", "/b", {ME: "me"}, None, "laptop GET /b "),
             ("GET", "/c", {ME: "someone else"}, None, "pod GET /c "),
             ("POST", "/p", {}, b"to the pod", "pod POST /p to the pod"),
             ("POST", "/q", {ME: "me"}, b"to the laptop",
              "laptop POST /q to the laptop"),
             ("HEAD", "/h", {ME: "me"}, None, ""),
             ("GET", "/d", {"X-Mirror": "me"}, None, "laptop GET /d ")]
    # 1 MiB bodies each way, to each side, on the same connection.
    for who, hdrs in (("pod", {}), ("laptop", {ME: "me"})):
        big = os.urandom(512 * 1024).hex()
        steps.append(("POST", "/big", hdrs, big.encode(),
                      "%s POST /big %s" % (who, big)))
    for method, path, hdrs, body, exp in steps:
        c.request(method, path, body=body, headers=hdrs)
        r = c.getresponse()
        want(r.status, 200, "%s %s status" % (method, path))
        want(r.read().decode(), exp, "%s %s on one connection" % (method, path))
        if sock is None:
            sock = c.sock
        want(c.sock is sock, True, "the connection was kept")
    c.close()
    print("keep-alive: %d requests on one connection" % len(steps))

    # Pipelined: all in one write; the answers in order.
    s = socket.create_connection((addr, port), timeout=10)
    reqs = [("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n", "pod GET /1 "),
            ("GET /2 HTTP/1.1\r\nHost: x\r\nx-mirror: me\r\n\r\n",
             "laptop GET /2 "),
            ("POST /3 HTTP/1.1\r\nHost: x\r\nx-mirror: me\r\n"
             "Transfer-Encoding: chunked\r\n\r\n5\r\nchunk\r\n0\r\n\r\n",
             "laptop POST /3 chunk"),
            ("POST /4 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody",
             "pod POST /4 body"),
            ("GET /5 HTTP/1.1\r\nHost: x\r\nx-mirror: me\r\n\r\n",
             "laptop GET /5 "),
            ("GET /6 HTTP/1.1\r\nHost: x\r\n\r\n", "pod GET /6 ")]
    s.sendall("".join(r for r, _ in reqs).encode())
    got, _ = read_answers(s, len(reqs))
    want([b for _, b in got], [e for _, e in reqs], "pipelined answers")
    s.close()
    print("pipelined: %d answers in order" % len(reqs))

    # A head past the agent's limit (64 KiB), after a good request in the
    # same write: the good one is answered, then 431, then the end.
    s = socket.create_connection((addr, port), timeout=10)
    s.sendall(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /big HTTP/1.1\r\nX-Big: " + b"b" * 70000 + b"\r\n\r\n")
    got, rest = read_answers(s, 2)
    want(got, [(200, "pod GET /ok "), (431, "")], "a head too big")
    want(rest + s.makefile("rb").read(), b"", "the end after 431")
    s.close()
    print("a head too big: 431 after the answer owed, then closed")

    # Upgrades pass through whole, to the side the request went to,
    # after an earlier request to the other side.
    for who, hdr, other in (("laptop", "x-mirror: me\r\n", "pod"),
                            ("pod", "", "laptop")):
        s = socket.create_connection((addr, port), timeout=10)
        first = "" if other == "pod" else "x-mirror: me\r\n"
        s.sendall(("GET /before HTTP/1.1\r\nHost: x\r\n%s\r\n"
                   "GET /ws HTTP/1.1\r\nHost: x\r\n%sConnection: Upgrade\r\n"
                   "Upgrade: echo\r\n\r\n" % (first, hdr)).encode())
        got, rest = read_answers(s, 2)
        want(got[0], (200, "%s GET /before " % other), "before the upgrade")
        want(got[1][0], 101, "the upgrade's answer")
        for msg in (b"hello", b"x-mirror: me\r\n\r\n", b"GET / HTTP/1.1\r\n\r\n"):
            s.sendall(msg)
            exp = who.encode() + b":" + msg
            while len(rest) < len(exp):
                b = s.recv(65536)
                if not b:
                    break
                rest += b
            want(rest, exp, "the %s's upgraded pipe" % who)
            rest = b""
        s.close()
        print("upgrade to the %s: piped" % who)
    print("ok")


def rate(addr, port, n, header):
    """n GETs on one keep-alive connection (with x-mirror: me if header
    is "me"): prints requests per second and the median latency."""
    import time
    c = http.client.HTTPConnection(addr, int(port), timeout=10)
    hdrs = {ME: "me"} if header == "me" else {}
    lat = []
    start = time.monotonic()
    for i in range(int(n)):
        t = time.monotonic()
        c.request("GET", "/r%d" % i, headers=hdrs)
        c.getresponse().read()
        lat.append(time.monotonic() - t)
    total = time.monotonic() - start
    lat.sort()
    print("%d req/s, median %.0f us" % (int(n) / total,
                                        lat[len(lat) // 2] * 1e6))


def many(addr, port, n):
    """n concurrent keep-alive connections, each with four requests
    that alternate between the sides; every answer checked."""
    import threading
    bad = []

    def one(k):
        try:
            c = http.client.HTTPConnection(addr, int(port), timeout=30)
            for i in range(4):
                me = (i + k) % 2 == 0
                c.request("POST", "/m%d-%d" % (k, i), body=b"x" * (k * 100),
                          headers={ME: "me"} if me else {})
                got = c.getresponse().read().decode()
                exp = "%s POST /m%d-%d %s" % ("laptop" if me else "pod", k,
                                               i, "x" * (k * 100))
                if got != exp:
                    bad.append("%d/%d: %r" % (k, i, got[:80]))
            c.close()
        except Exception as e:  # noqa: BLE001 (reported below)
            bad.append("%d: %s" % (k, e))
    ts = [threading.Thread(target=one, args=(k,)) for k in range(int(n))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if bad:
        print("%d of %d answers wrong: %s" % (len(bad), int(n) * 4, bad[0]))
        sys.exit(1)
    print("%d concurrent connections, 4 requests each: ok" % int(n))


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(*sys.argv[2:5])
    elif sys.argv[1] == "many":
        many(*sys.argv[2:5])
    elif sys.argv[1] == "rate":
        rate(*sys.argv[2:6])
    else:
        check(*sys.argv[2:4])
