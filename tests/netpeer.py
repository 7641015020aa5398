#!/usr/bin/env python3
"""Servers and clients for the network tests (tests/t-net-*.sh).

Servers (run in the "pod" namespace):
  netpeer.py udp-echo ADDR PORT
  netpeer.py sink ADDR PORT      each connection: read to EOF, answer the
                                 sha256 hex of what came
  netpeer.py source ADDR PORT    each connection: read a decimal byte count
                                 and a newline, send that many random bytes
                                 followed by nothing; the sha256 hex of them
                                 is written to the file named by $SOURCE_LOG
                                 (one line per connection)
  netpeer.py udp-blackhole ADDR PORT   a UDP socket nobody reads
  netpeer.py udp-flood-back ADDR PORT  to each peer that sends a datagram:
                                 1400-byte datagrams as fast as it can for
                                 the number of seconds the datagram names
  netpeer.py http ADDR PORT      a minimal HTTP/1.0 server ("200 OK",
                                 "hello") with a listen backlog of 4096,
                                 so that a burst of connections is not
                                 dropped by the server itself (busybox
                                 httpd listens with a backlog of 9)
Clients (run in the "laptop" namespace):
  netpeer.py send ADDR PORT N    send N random bytes, print "SENT RECEIVED"
                                 sha256 hex digests
  netpeer.py fetch ADDR PORT N   ask a source for N bytes, print their sha256
  netpeer.py udp ADDR PORT       one datagram; exit 0 if echoed back
  netpeer.py refused ADDR PORT   exit 0 if connect fails with ECONNREFUSED,
                                 printing the milliseconds it took
  netpeer.py fails ADDR PORT     connect (20 s at most); prints the errno's
                                 name and the milliseconds it took
  netpeer.py many ADDR PORT N    N concurrent HTTP/1.0 GETs of /; prints how
                                 many got a 200
  netpeer.py dns ADDR NAME udp|tcp   A query; prints the addresses
  netpeer.py udp-flood ADDR PORT SECS FLOWS   1400-byte datagrams from
                                 FLOWS sockets as fast as it can for SECS
                                 seconds; prints how many it sent
  netpeer.py udp-flows ADDR PORT N   one datagram from each of N sockets
                                 (N new flows); prints N
  netpeer.py udp-ask-flood ADDR PORT SECS   ask an udp-flood-back server
                                 for SECS seconds of datagrams and read
                                 none of them
  netpeer.py stall ADDR PORT     ask a source for 1 GiB and never read;
                                 prints "stalled" and sleeps until killed
"""
import asyncio, errno, hashlib, os, random, socket, socketserver, struct
import sys, threading, time

CHUNK = 1 << 20


def serve_udp_echo(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    while True:
        data, peer = s.recvfrom(65536)
        s.sendto(data, peer)


class Sink(socketserver.BaseRequestHandler):
    def handle(self):
        h = hashlib.sha256()
        while True:
            b = self.request.recv(CHUNK)
            if not b:
                break
            h.update(b)
        self.request.sendall(h.hexdigest().encode() + b"\n")


class Source(socketserver.BaseRequestHandler):
    def handle(self):
        f = self.request.makefile("rb")
        n = int(f.readline())
        h = hashlib.sha256()
        block = os.urandom(CHUNK)
        sent = 0
        try:
            while sent < n:
                # A different block each time, cheaply.
                block = block[1:] + block[:1]
                b = block[:min(CHUNK, n - sent)]
                self.request.sendall(b)
                h.update(b)
                sent += len(b)
        except OSError:
            return
        with open(os.environ["SOURCE_LOG"], "a") as log:
            log.write(h.hexdigest() + "\n")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 1024


async def serve_http(addr, port):
    async def one(r, w):
        await r.readuntil(b"\r\n\r\n")
        w.write(b"HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n")
        await w.drain()
        w.close()

    server = await asyncio.start_server(one, addr, port, backlog=4096)
    await server.serve_forever()


def send(addr, port, n):
    s = socket.create_connection((addr, port))
    h = hashlib.sha256()
    block = os.urandom(CHUNK)
    sent = 0
    while sent < n:
        block = block[1:] + block[:1]
        b = block[:min(CHUNK, n - sent)]
        s.sendall(b)
        h.update(b)
        sent += len(b)
    s.shutdown(socket.SHUT_WR)
    answer = s.makefile("rb").readline().decode().strip()
    print(h.hexdigest(), answer)


def fetch(addr, port, n):
    s = socket.create_connection((addr, port))
    s.sendall(b"%d\n" % n)
    h = hashlib.sha256()
    got = 0
    while True:
        b = s.recv(CHUNK)
        if not b:
            break
        h.update(b)
        got += len(b)
    print(h.hexdigest(), got)


def udp(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    msg = os.urandom(512)
    for _ in range(3):
        s.sendto(msg, (addr, port))
        try:
            data, _ = s.recvfrom(65536)
        except socket.timeout:
            continue
        sys.exit(0 if data == msg else 1)
    sys.exit(1)


def refused(addr, port):
    t = time.monotonic()
    try:
        socket.create_connection((addr, port), timeout=10)
    except OSError as e:
        print(int((time.monotonic() - t) * 1000))
        sys.exit(0 if e.errno == errno.ECONNREFUSED else 1)
    sys.exit(1)


def fails(addr, port):
    t = time.monotonic()
    s = socket.socket()
    s.settimeout(20)
    try:
        s.connect((addr, port))
        name = "connected"
    except socket.timeout:
        name = "timeout"
    except OSError as e:
        name = errno.errorcode.get(e.errno, str(e.errno))
    print(name, int((time.monotonic() - t) * 1000))


async def get(addr, port):
    r, w = await asyncio.open_connection(addr, port)
    w.write(b"GET / HTTP/1.0\r\n\r\n")
    await w.drain()
    data = await r.read()
    w.close()
    return data.startswith(b"HTTP/1.0 200") or data.startswith(b"HTTP/1.1 200")


async def many(addr, port, n):
    res = await asyncio.gather(*[get(addr, port) for _ in range(n)],
                               return_exceptions=True)
    print(sum(1 for r in res if r is True))
    bad = {}
    for r in res:
        if r is not True:
            k = repr(r)[:80]
            bad[k] = bad.get(k, 0) + 1
    for k, v in bad.items():
        print("%d x %s" % (v, k), file=sys.stderr)


def dns(server, name, proto):
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", 1, 1)
    if proto == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(5)
        s.sendto(q, (server, 53))
        a, _ = s.recvfrom(65536)
    else:
        s = socket.create_connection((server, 53), timeout=5)
        s.sendall(struct.pack(">H", len(q)) + q)
        f = s.makefile("rb")
        (n,) = struct.unpack(">H", f.read(2))
        a = f.read(n)
    rid, flags, qd, an = struct.unpack(">HHHH", a[:8])
    assert rid == qid, "answer id"
    # Skip the question, then read A records.
    i = 12
    while a[i]:
        i += a[i] + 1
    i += 5
    out = []
    for _ in range(an):
        if a[i] & 0xC0 == 0xC0:
            i += 2
        else:
            while a[i]:
                i += a[i] + 1
            i += 1
        typ, cls, ttl, rdlen = struct.unpack(">HHIH", a[i:i + 10])
        i += 10
        if typ == 1:
            out.append(socket.inet_ntoa(a[i:i + 4]))
        i += rdlen
    print(" ".join(out))


def serve_udp_blackhole(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind((addr, port))
    time.sleep(1 << 30)


def serve_udp_flood_back(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    while True:
        data, peer = s.recvfrom(65536)
        secs = float(data.decode() or "1")

        def flood(peer=peer, secs=secs):
            # From the socket the peer wrote to: a connected UDP socket
            # takes datagrams from its peer's address and port only.
            msg = b"f" * 1400
            end = time.monotonic() + secs
            while time.monotonic() < end:
                try:
                    s.sendto(msg, peer)
                except OSError:
                    time.sleep(0.0005)
        threading.Thread(target=flood, daemon=True).start()


def udp_flood(addr, port, secs, flows):
    socks = []
    for _ in range(flows):
        o = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        o.setblocking(False)
        socks.append(o)
    msg = b"u" * 1400
    sent = 0
    end = time.monotonic() + secs
    while time.monotonic() < end:
        for o in socks:
            try:
                o.sendto(msg, (addr, port))
                sent += 1
            except BlockingIOError:
                time.sleep(0.0002)
            except OSError:
                pass
    print(sent)


def udp_flows(addr, port, n):
    socks = []
    for i in range(n):
        o = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            o.sendto(b"x" * 1000, (addr, port))
        except OSError:
            pass
        socks.append(o)
        if len(socks) > 500:
            socks.pop(0).close()
    print(n)


def udp_ask_flood(addr, port, secs):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendto(str(secs).encode(), (addr, port))
    time.sleep(secs + 1)


def stall(addr, port):
    s = socket.create_connection((addr, port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.sendall(b"%d\n" % (1 << 30))
    print("stalled", flush=True)
    time.sleep(3600)


def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "udp-echo":
        serve_udp_echo(a[0], int(a[1]))
    elif cmd in ("sink", "source"):
        Server((a[0], int(a[1])), Sink if cmd == "sink" else Source).serve_forever()
    elif cmd == "http":
        asyncio.run(serve_http(a[0], int(a[1])))
    elif cmd == "send":
        send(a[0], int(a[1]), int(a[2]))
    elif cmd == "fetch":
        fetch(a[0], int(a[1]), int(a[2]))
    elif cmd == "udp":
        udp(a[0], int(a[1]))
    elif cmd == "refused":
        refused(a[0], int(a[1]))
    elif cmd == "fails":
        fails(a[0], int(a[1]))
    elif cmd == "many":
        asyncio.run(many(a[0], int(a[1]), int(a[2])))
    elif cmd == "dns":
        dns(a[0], a[1], a[2])
    elif cmd == "udp-blackhole":
        serve_udp_blackhole(a[0], int(a[1]))
    elif cmd == "udp-flood-back":
        serve_udp_flood_back(a[0], int(a[1]))
    elif cmd == "udp-flood":
        udp_flood(a[0], int(a[1]), float(a[2]), int(a[3]))
    elif cmd == "udp-flows":
        udp_flows(a[0], int(a[1]), int(a[2]))
    elif cmd == "udp-ask-flood":
        udp_ask_flood(a[0], int(a[1]), float(a[2]))
    elif cmd == "stall":
        stall(a[0], int(a[1]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
