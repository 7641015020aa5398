#!/usr/bin/env python3
"""The network side of the mirror protocol, for tests (stdlib only).

Builds on wsclient.py's websocket and codec, and adds what lib/proto.h
describes for netd: OP_NET_INFO, OP_DNS and streams (MSG_STREAM) with
credit flow control. Written from the protocol description, so a test
through it checks the agent against a second reading of the spec.
Usable as a module and as a CLI:

  netclient.py --url URL --token-file F info
  netclient.py ... dns NAME [--type A]        answer addresses, one a line
  netclient.py ... get HOST PORT [--path /]   HTTP/1.0 GET; body to stdout
  netclient.py ... connect HOST PORT          "opened" or "error: ECONNREFUSED"
  netclient.py ... echo HOST PORT --bytes N   send N bytes, read them back;
                                              prints sha256 of both and MB/s
  netclient.py ... sink HOST PORT --bytes N   read N bytes; prints MB/s
  netclient.py ... stall HOST PORT --window W never credit; prints bytes got
  netclient.py ... udp HOST PORT --count N    N datagrams echoed back
  netclient.py ... ping HOST                  one ICMP echo
  netclient.py ... bad CASE                   a malformed stream message;
                                              "open"/"closed" afterwards
  netclient.py seeds DIR                      the messages this client sends,
                                              one a file: the seeds of
                                              tests/fuzz/fuzz-proto-net.c,
                                              which must decode each with the
                                              C codec (lib/proto-net.c)

Exit status: 0 ok; 1 error; 2 errno answer ("error: ECONNREFUSED").
"""

import argparse
import errno
import hashlib
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wsclient  # noqa: E402
from wsclient import (Encoder, Decoder, ProtocolError, RemoteError,  # noqa
                      ConnectionClosed, AuthFailed, errno_name, HDR,
                      HDR_LEN, VERSION, PAYLOAD_MAX, MSG_HELLO,
                      MSG_REQUEST, MSG_REPLY, OPC_BINARY)

MSG_STREAM = 4
OP_NET_INFO = 31
OP_DNS = 32
OP_INCOMING_SUB, OP_INCOMING_UNSUB = 34, 35
INCOMING_STEAL, INCOMING_FILTER = 1, 3
# lib/httpfilter.h: the wire form of an HTTP filter's nodes.
HF_HEADER, HF_PATH, HF_METHOD, HF_ALL_OF, HF_ANY_OF = 1, 2, 3, 4, 5
CAP_NET = 0x2
STREAM_OPEN, STREAM_OPENED, STREAM_DATA = 1, 2, 3
STREAM_CREDIT, STREAM_SHUT, STREAM_CLOSE = 4, 5, 6
NET_ICMP, NET_TCP, NET_UDP = 1, 6, 17
STREAM_DATA_MAX = 256 * 1024
DEFAULT_WINDOW = 4 * 1024 * 1024


def encode(kind, op, msg_id, status=0, payload=b""):
    return HDR.pack(VERSION, kind, op, msg_id, status, len(payload)) + payload


def addr_bytes(host):
    try:
        return 4, socket.inet_pton(socket.AF_INET, host)
    except OSError:
        return 6, socket.inet_pton(socket.AF_INET6, host)


def http_filter_leaf(kind, regex):
    r = regex.encode()
    return struct.pack("<BH", kind, len(r)) + r


def http_filter_group(kind, *nodes):
    return struct.pack("<BB", kind, len(nodes)) + b"".join(nodes)


def incoming_sub_payload(port, mode, filt=b""):
    e = Encoder().u16(port).u8(mode)
    if mode == INCOMING_FILTER:
        e.bytes(filt)
    return e.data()


def stream_open_payload(proto, host, port, window):
    fam, a = addr_bytes(host)
    return Encoder().u8(proto).u8(fam).bytes(a).u16(port).u32(window).data()


class Stream:
    def __init__(self, client, sid, proto, window):
        self.c = client
        self.id = sid
        self.proto = proto
        self.window = window      # what the agent may send us uncredited
        self.opened = None        # None, 0 or an errno
        self.send_window = 0      # what we may send, from STREAM_OPENED
        self.sent = 0
        self.credited = 0         # credits the agent gave us
        self.rx = bytearray()
        self.dgrams = []
        self.received = 0         # bytes the agent sent us
        self.consumed = 0         # bytes we credited back
        self.shut = False         # the agent sent STREAM_SHUT
        self.closed = None        # status of the agent's STREAM_CLOSE

    def avail(self):
        return self.send_window - (self.sent - self.credited)


class NetClient:
    def __init__(self, url, token, timeout=10.0, auto_credit=True):
        self.ws = wsclient.WebSocket(url, timeout=timeout)
        # Small messages (credits, short data) must not wait for ACKs.
        self.ws.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.next_id = 1
        self.next_sid = 1
        self.replies = {}
        self.streams = {}
        self.auto_credit = auto_credit
        self.caps = None
        self.unknown = 0          # stream messages for unknown ids
        self.caps, _ = wsclient.hello_on(self.ws, token)

    # -- receiving --------------------------------------------------------

    def _recv(self, timeout=None):
        opcode, msg = self.ws.recv_message(timeout)
        if opcode != OPC_BINARY:
            raise ProtocolError("text message")
        if len(msg) < HDR_LEN:
            raise ProtocolError("short message")
        ver, kind, op, mid, status, length = HDR.unpack_from(msg)
        if ver != VERSION or length != len(msg) - HDR_LEN:
            raise ProtocolError("bad header")
        d = Decoder(msg[HDR_LEN:])
        if kind == MSG_HELLO:
            if status == errno.EACCES:
                raise AuthFailed()
            if status:
                raise RemoteError(status, "hello")
            self.caps = d.u32()
            d.str()
            d.end()
        elif kind == MSG_REPLY:
            self.replies[mid] = (op, status, msg[HDR_LEN:])
        elif kind == MSG_STREAM:
            self._stream_msg(op, mid, status, msg[HDR_LEN:])
        else:
            raise ProtocolError("message kind %d from the agent" % kind)

    def _stream_msg(self, op, sid, status, payload):
        s = self.streams.get(sid)
        if s is None:
            self.unknown += 1
            return
        d = Decoder(payload)
        if op == STREAM_OPENED:
            if s.opened is not None:
                raise ProtocolError("second stream_opened")
            s.send_window = d.u32()
            d.end()
            s.opened = status
            if status:
                del self.streams[sid]
        elif op == STREAM_DATA:
            if s.shut:
                raise ProtocolError("data after stream_shut")
            s.received += len(payload)
            if s.proto == NET_TCP:
                if s.received - s.consumed > s.window:
                    raise ProtocolError("agent sent beyond the window "
                                        "(%d > %d)" % (s.received -
                                                       s.consumed, s.window))
                s.rx += payload
            else:
                s.dgrams.append(bytes(payload))
        elif op == STREAM_CREDIT:
            n = d.u32()
            d.end()
            s.credited += n
            if s.credited > s.sent:
                raise ProtocolError("credit beyond what was sent")
        elif op == STREAM_SHUT:
            d.end()
            s.shut = True
        elif op == STREAM_CLOSE:
            d.end()
            s.closed = status
            del self.streams[sid]
        else:
            raise ProtocolError("stream op %d from the agent" % op)

    def pump(self, cond, timeout=None, what="answer"):
        deadline = time.monotonic() + (self.timeout if timeout is None
                                       else timeout)
        while not cond():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("timed out waiting for %s" % what)
            self._recv(left)

    # -- requests ---------------------------------------------------------

    def request(self, op, payload=b""):
        mid = self.next_id
        self.next_id += 1
        self.ws.send(encode(MSG_REQUEST, op, mid, 0, payload))
        self.pump(lambda: mid in self.replies)
        rop, status, body = self.replies.pop(mid)
        if rop != op:
            raise ProtocolError("reply op %d for op %d" % (rop, op))
        if status:
            raise RemoteError(status, op)
        return Decoder(body)

    def net_info(self):
        d = self.request(OP_NET_INFO)
        resolv = d.bytes(1 << 20).decode("utf-8", "replace")
        addrs, routes = [], []
        for lst in (addrs, routes):
            for _ in range(d.u32()):
                fam = d.u8()
                if fam not in (4, 6):
                    raise ProtocolError("family %d" % fam)
                a = d.bytes(16)
                if len(a) != (4 if fam == 4 else 16):
                    raise ProtocolError("address of %d bytes" % len(a))
                plen = d.u8()
                ifname = d.str(255)
                lst.append((socket.inet_ntop(socket.AF_INET if fam == 4
                                             else socket.AF_INET6, a),
                            plen, ifname))
        d.end()
        return resolv, addrs, routes

    def dns(self, query):
        d = self.request(OP_DNS, Encoder().bytes(query).data())
        a = d.bytes(65535)
        d.end()
        return a

    # -- streams ----------------------------------------------------------

    def open(self, proto, host, port, window=DEFAULT_WINDOW, wait=True,
             timeout=None):
        sid = self.next_sid
        self.next_sid += 1
        s = Stream(self, sid, proto, window)
        self.streams[sid] = s
        self.ws.send(encode(MSG_STREAM, STREAM_OPEN, sid, 0,
                            stream_open_payload(proto, host, port, window)))
        if wait:
            self.pump(lambda: s.opened is not None, timeout, "stream_opened")
            if s.opened:
                raise RemoteError(s.opened, "stream_open")
        return s

    def send_data(self, s, data):
        """Sends all of data, as the agent's credits allow."""
        mv = memoryview(data)
        off = 0
        while off < len(mv):
            if s.closed is not None or s.id not in self.streams:
                raise ConnectionClosed("stream closed by the agent (%s)" %
                                       errno_name(s.closed or 0))
            if s.avail() <= 0:
                self.pump(lambda: s.avail() > 0 or s.closed is not None,
                          what="credit")
                continue
            n = min(len(mv) - off, s.avail(), STREAM_DATA_MAX)
            self.ws.send(encode(MSG_STREAM, STREAM_DATA, s.id, 0,
                                bytes(mv[off:off + n])))
            s.sent += n
            off += n
            # Take in what came meanwhile, without waiting.
            self._poll()

    def send_dgram(self, s, data):
        self.ws.send(encode(MSG_STREAM, STREAM_DATA, s.id, 0, data))

    def _poll(self):
        """Reads whatever is already there."""
        try:
            while True:
                self.ws.sock.setblocking(False)
                try:
                    chunk = self.ws.sock.recv(1 << 20)
                except (BlockingIOError, InterruptedError):
                    break
                finally:
                    self.ws.sock.setblocking(True)
                if not chunk:
                    raise ConnectionClosed("connection closed")
                self.ws.buf += chunk
            while self._have_message():
                self._recv()
        finally:
            self.ws.sock.settimeout(self.timeout)
        self._credit_all()

    def _have_message(self):
        b = self.ws.buf
        if len(b) < 2:
            return False
        n, hl = b[1] & 0x7F, 2
        if n == 126:
            if len(b) < 4:
                return False
            n, hl = struct.unpack("!H", b[2:4])[0], 4
        elif n == 127:
            if len(b) < 10:
                return False
            n, hl = struct.unpack("!Q", b[2:10])[0], 10
        return len(b) >= hl + n and (b[0] & 0x80)

    def credit(self, s, n):
        if n <= 0 or s.id not in self.streams:
            return
        s.consumed += n
        self.ws.send(encode(MSG_STREAM, STREAM_CREDIT, s.id, 0,
                            struct.pack("<I", n)))

    def _credit_all(self):
        if not self.auto_credit:
            return
        for s in list(self.streams.values()):
            if s.proto == NET_TCP and s.received - s.consumed >= \
                    min(s.window // 4, 256 * 1024):
                self.credit(s, s.received - s.consumed)

    def read(self, s, n=None, timeout=None):
        """Up to n bytes (all there are if None); b"" at EOF."""
        self.pump(lambda: len(s.rx) > 0 or s.shut or s.closed is not None,
                  timeout, "stream data")
        if n is None or n >= len(s.rx):
            b = bytes(s.rx)
            s.rx.clear()
        else:
            b = bytes(s.rx[:n])
            del s.rx[:n]
        if self.auto_credit:
            self.credit(s, s.received - s.consumed)
        return b

    def read_all(self, s, timeout=None):
        out = []
        while True:
            b = self.read(s, timeout=timeout)
            if not b:
                return b"".join(out)
            out.append(b)

    def shut(self, s):
        self.ws.send(encode(MSG_STREAM, STREAM_SHUT, s.id))

    def close_stream(self, s, status=0):
        self.ws.send(encode(MSG_STREAM, STREAM_CLOSE, s.id, status))
        self.streams.pop(s.id, None)

    def send_raw_msg(self, msg):
        self.ws.send(msg)

    def close(self):
        self.ws.close()


# ---------------------------------------------------------------------------
# DNS messages, just enough to ask and to read A/AAAA answers.

def dns_query(name, qtype=1, qid=0x1234):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", qtype, 1)


def dns_skip_name(a, i):
    while True:
        n = a[i]
        if n == 0:
            return i + 1
        if n & 0xC0 == 0xC0:
            return i + 2
        i += 1 + n


def dns_answers(a):
    """(id, rcode, [(type, rdata)])."""
    qid, flags, qd, an = struct.unpack("!HHHH", a[:8])
    i = 12
    for _ in range(qd):
        i = dns_skip_name(a, i) + 4
    out = []
    for _ in range(an):
        i = dns_skip_name(a, i)
        t, _c, _ttl, rdlen = struct.unpack("!HHIH", a[i:i + 10])
        i += 10
        out.append((t, a[i:i + rdlen]))
        i += rdlen
    return qid, flags & 0xF, out


# ---------------------------------------------------------------------------
# Malformed stream messages: (description, message). Each must close the
# connection or be dropped; the agent keeps serving either way.

def bad_cases():
    ok_open = stream_open_payload(NET_TCP, "127.0.0.1", 9, 65536)
    return {
        "short-open": encode(MSG_STREAM, STREAM_OPEN, 900, 0, ok_open[:5]),
        "long-open": encode(MSG_STREAM, STREAM_OPEN, 901, 0, ok_open + b"x"),
        "addr-mismatch": encode(MSG_STREAM, STREAM_OPEN, 902, 0,
                                Encoder().u8(NET_TCP).u8(4)
                                .bytes(b"\x7f\0\0\0\0\0").u16(80).u32(1)
                                .data()),
        "zero-window": encode(MSG_STREAM, STREAM_OPEN, 903, 0,
                              stream_open_payload(NET_TCP, "127.0.0.1", 9,
                                                  0)),
        "short-credit": encode(MSG_STREAM, STREAM_CREDIT, 904, 0, b"\1\0"),
        "shut-payload": encode(MSG_STREAM, STREAM_SHUT, 905, 0, b"x"),
        "opened-from-client": encode(MSG_STREAM, STREAM_OPENED, 906, 0,
                                     struct.pack("<I", 1)),
        "bad-stream-op": HDR.pack(VERSION, MSG_STREAM, 77, 907, 0, 0),
        "dns-short": encode(MSG_REQUEST, OP_DNS, 908, 0, b"\5\0"),
        "info-payload": encode(MSG_REQUEST, OP_NET_INFO, 909, 0, b"zz"),
        # Dropped, connection stays:
        "data-unknown-id": encode(MSG_STREAM, STREAM_DATA, 12345, 0, b"hi"),
        "credit-unknown-id": encode(MSG_STREAM, STREAM_CREDIT, 12346, 0,
                                    struct.pack("<I", 5)),
        "close-unknown-id": encode(MSG_STREAM, STREAM_CLOSE, 12347, 0),
    }


DROPPED = ("data-unknown-id", "credit-unknown-id", "close-unknown-id")


def run_bad(c, case):
    """'closed' if the agent closed the connection, else 'open'."""
    c.send_raw_msg(bad_cases()[case])
    try:
        # A request after it: answered if the connection is still up.
        c.net_info()
    except (ConnectionClosed, OSError):
        return "closed"
    return "open"


# ---------------------------------------------------------------------------
# CLI.

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", required=True)
    p.add_argument("--token-file", required=True)
    p.add_argument("--timeout", type=float, default=10.0)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("info")
    sp = sub.add_parser("dns")
    sp.add_argument("name")
    sp.add_argument("--type", default="A", choices=("A", "AAAA"))
    for name in ("get", "connect", "echo", "sink", "stall", "udp"):
        sp = sub.add_parser(name)
        sp.add_argument("host")
        sp.add_argument("port", type=int)
        sp.add_argument("--path", default="/")
        sp.add_argument("--bytes", type=int, default=16 << 20)
        sp.add_argument("--window", type=int, default=DEFAULT_WINDOW)
        sp.add_argument("--count", type=int, default=10)
        sp.add_argument("--wait", type=float, default=2.0)
    sp = sub.add_parser("ping")
    sp.add_argument("host")
    sp = sub.add_parser("bad")
    sp.add_argument("case", choices=sorted(bad_cases()))
    a = p.parse_args(argv)

    with open(a.token_file, "rb") as f:
        token = f.read().split(b"\n", 1)[0].strip()
    c = None
    try:
        c = NetClient(a.url, token, timeout=a.timeout,
                      auto_credit=a.cmd != "stall")
        if not c.caps & CAP_NET:
            print("error: the agent does not announce CAP_NET",
                  file=sys.stderr)
            return 1
        if a.cmd == "info":
            resolv, addrs, routes = c.net_info()
            sys.stdout.write(resolv)
            for ad, plen, ifname in addrs:
                print("addr %s/%d %s" % (ad, plen, ifname))
            for ad, plen, ifname in routes:
                print("route %s/%d %s" % (ad, plen, ifname))
        elif a.cmd == "dns":
            qt = 1 if a.type == "A" else 28
            ans = c.dns(dns_query(a.name, qt, 0x4242))
            qid, rcode, rrs = dns_answers(ans)
            if qid != 0x4242:
                print("error: answer id %#x, asked %#x" % (qid, 0x4242),
                      file=sys.stderr)
                return 1
            print("rcode %d" % rcode)
            for t, rd in rrs:
                if t == qt:
                    print(socket.inet_ntop(socket.AF_INET if t == 1
                                           else socket.AF_INET6, rd))
        elif a.cmd == "connect":
            t0 = time.monotonic()
            c.open(NET_TCP, a.host, a.port, timeout=30)
            print("opened in %.3f s" % (time.monotonic() - t0))
        elif a.cmd == "get":
            s = c.open(NET_TCP, a.host, a.port)
            c.send_data(s, ("GET %s HTTP/1.0\r\n\r\n" % a.path).encode())
            c.shut(s)
            sys.stdout.buffer.write(c.read_all(s))
            c.pump(lambda: s.closed is not None, what="stream_close")
        elif a.cmd == "echo":
            s = c.open(NET_TCP, a.host, a.port)
            data = os.urandom(a.bytes)
            t0 = time.monotonic()
            got = []
            n = 0
            mv = memoryview(data)
            off = 0
            # Send and read interleaved, so neither side's window
            # blocks the other.
            while off < len(data) or n < len(data):
                if off < len(data) and s.avail() > 0:
                    k = min(len(data) - off, s.avail(), STREAM_DATA_MAX)
                    c.send_data(s, mv[off:off + k])
                    off += k
                    if off == len(data):
                        c.shut(s)
                    continue
                b = c.read(s)
                if not b:
                    break
                got.append(b)
                n += len(b)
            got = b"".join(got)
            dt = time.monotonic() - t0
            print("sent %d %s" % (len(data), hashlib.sha256(data).hexdigest()))
            print("got %d %s" % (len(got), hashlib.sha256(got).hexdigest()))
            print("%.1f MB/s each way" % (len(data) / dt / 1e6))
        elif a.cmd == "sink":
            s = c.open(NET_TCP, a.host, a.port, window=a.window)
            t0 = time.monotonic()
            n = 0
            while n < a.bytes:
                b = c.read(s)
                if not b:
                    break
                n += len(b)
            dt = time.monotonic() - t0
            print("got %d bytes in %.2f s: %.1f MB/s" % (n, dt, n / dt / 1e6))
            c.close_stream(s, errno.ECONNRESET)
        elif a.cmd == "stall":
            s = c.open(NET_TCP, a.host, a.port, window=a.window)
            end = time.monotonic() + a.wait
            try:
                while time.monotonic() < end:
                    c._recv(max(0.01, end - time.monotonic()))
            except TimeoutError:
                pass
            print("got %d window %d" % (s.received, a.window))
            # Then credit it all: the flow resumes.
            c.credit(s, s.received - s.consumed)
            before = s.received
            c.pump(lambda: s.received > before, what="data after credit")
            print("resumed %d" % (s.received - before))
            c.close_stream(s, errno.ECONNRESET)
        elif a.cmd == "udp":
            s = c.open(NET_UDP, a.host, a.port)
            want = []
            for i in range(a.count):
                m = b"dgram %d " % i + os.urandom(100 + i)
                want.append(m)
                c.send_dgram(s, m)
            c.pump(lambda: len(s.dgrams) >= a.count, what="UDP echoes")
            if sorted(s.dgrams) != sorted(want):
                print("error: UDP echoes differ", file=sys.stderr)
                return 1
            print("udp %d echoed" % len(s.dgrams))
            c.close_stream(s)
        elif a.cmd == "ping":
            s = c.open(NET_ICMP, a.host, 0)
            fam, _ = addr_bytes(a.host)
            typ = 8 if fam == 4 else 128
            c.send_dgram(s, struct.pack("!BBHHH", typ, 0, 0, 0, 1) +
                         b"mirror-ping")
            c.pump(lambda: len(s.dgrams) >= 1, what="ICMP echo reply")
            r = s.dgrams[0]
            print("icmp type %d len %d%s" % (r[0], len(r),
                  " data ok" if r.endswith(b"mirror-ping") else ""))
            c.close_stream(s)
        elif a.cmd == "bad":
            print(run_bad(c, a.case))
        return 0
    except RemoteError as e:
        print("error: %s" % errno_name(e.errno), file=sys.stderr)
        return 2
    except (ProtocolError, ConnectionClosed, TimeoutError, OSError,
            AuthFailed) as e:
        print("error: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 1
    finally:
        if c is not None:
            c.close()


def seeds(outdir):
    """Writes the messages this client sends, encoded as it encodes them;
    tests/fuzz/run-one checks that lib/proto-net.c decodes every one."""
    os.makedirs(outdir, exist_ok=True)
    msgs = {
        "info": encode(MSG_REQUEST, OP_NET_INFO, 1, 0, b""),
        "dns": encode(MSG_REQUEST, OP_DNS, 2, 0,
                      Encoder().bytes(dns_query("web.demo.svc")).data()),
        "open-tcp4": encode(MSG_STREAM, STREAM_OPEN, 3, 0,
                            stream_open_payload(NET_TCP, "10.77.0.2", 80,
                                                DEFAULT_WINDOW)),
        "open-udp6": encode(MSG_STREAM, STREAM_OPEN, 4, 0,
                            stream_open_payload(NET_UDP, "fd00::2", 53, 0)),
        "open-icmp": encode(MSG_STREAM, STREAM_OPEN, 5, 0,
                            stream_open_payload(NET_ICMP, "10.77.0.2", 0,
                                                65536)),
        "data": encode(MSG_STREAM, STREAM_DATA, 3, 0, b"GET / HTTP/1.0\r\n"),
        "credit": encode(MSG_STREAM, STREAM_CREDIT, 3, 0,
                         Encoder().u32(262144).data()),
        "shut": encode(MSG_STREAM, STREAM_SHUT, 3),
        "close": encode(MSG_STREAM, STREAM_CLOSE, 3, 0),
        "reset": encode(MSG_STREAM, STREAM_CLOSE, 3, errno.ECONNRESET),
        "incoming-sub": encode(MSG_REQUEST, OP_INCOMING_SUB, 6, 0,
                               incoming_sub_payload(80, INCOMING_STEAL)),
        "incoming-sub-filter": encode(
            MSG_REQUEST, OP_INCOMING_SUB, 7, 0, incoming_sub_payload(
                80, INCOMING_FILTER, http_filter_group(
                    HF_ANY_OF, http_filter_leaf(HF_HEADER, "^x-mirror: me$"),
                    http_filter_group(
                        HF_ALL_OF, http_filter_leaf(HF_METHOD, "POST"),
                        http_filter_leaf(HF_PATH, "^/api/"))))),
    }
    for name, m in msgs.items():
        with open(os.path.join(outdir, "netclient-" + name), "wb") as f:
            f.write(m)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["seeds"] and len(sys.argv) == 3:
        sys.exit(seeds(sys.argv[2]))
    sys.exit(main())
