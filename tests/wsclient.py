#!/usr/bin/env python3
"""A minimal mirror client for tests, in pure Python 3 (stdlib only).

It speaks raw websocket (RFC 6455: HTTP upgrade with the "mirror"
subprotocol, masked client frames, fragmented server messages) and the
mirror wire protocol, written from the protocol description and not from
lib/proto.c, so a test that passes through it checks the C code against
a second reading of the spec. Usable as a module and as a CLI:

  wsclient.py --url ws://127.0.0.1:PORT --token-file F getattr /etc/passwd
  wsclient.py ... read PATH        open + read everything + release; bytes to stdout
  wsclient.py ... readdir PATH     one name per line (--long: with attributes)
  wsclient.py ... readlink PATH | lookup PATH | statfs PATH
  wsclient.py ... getxattr PATH NAME | listxattr PATH
  wsclient.py ... readloop PATH --expect-file F [--count N] [--until-file F]
  wsclient.py ... --bad CASE       send one bad frame, report if the server closed
  wsclient.py seeds DIR            write one valid message of each layout

Exit status (the message goes to stderr): 0 ok; 1 usage, protocol or
timeout error; 2 errno reply ("error: ENOENT"); 3 "error: authentication
failed"; 4 "error: connection closed"; 5 content mismatch (readloop);
6 data served without authentication (--eager).
In --bad mode: 0 if the server closed the connection, 1 if it stayed open.
"""

import argparse
import base64
import errno
import hashlib
import hmac
import os
import socket
import struct
import sys
import time

# ---------------------------------------------------------------------------
# The mirror wire protocol.

VERSION = 2
HDR = struct.Struct("<BBHIII")  # version, kind, op, id, status, length
HDR_LEN = HDR.size
MSG_HELLO, MSG_REQUEST, MSG_REPLY, MSG_STREAM = 1, 2, 3, 4
KIND_NAMES = {MSG_HELLO: "hello", MSG_REQUEST: "request", MSG_REPLY: "reply",
              MSG_STREAM: "stream"}

OP_LOOKUP = 1
OP_GETATTR = 2
OP_READDIR = 3
OP_OPEN = 4
OP_READ = 5
OP_RELEASE = 6
OP_READLINK = 7
OP_STATFS = 8
OP_GETXATTR = 9
OP_LISTXATTR = 10
OP_CREATE = 11
OP_WRITE = 12
OP_SETATTR = 13
OP_FSYNC = 14
OP_MKNOD = 15
OP_MKDIR = 16
OP_UNLINK = 17
OP_RMDIR = 18
OP_SYMLINK = 19
OP_RENAME = 20
OP_LINK = 21
OP_SETXATTR = 22
OP_REMOVEXATTR = 23
OP_FALLOCATE = 24
OP_FGETATTR = 25
OP_LOCK = 26
OP_FLOCK = 27
OP_FLUSH = 28
OP_FGETXATTR = 29
OP_FLISTXATTR = 30
OP_NET_INFO = 31
OP_DNS = 32
OP_MAX = 33
STREAM_OPEN, STREAM_OPENED, STREAM_DATA, STREAM_CREDIT = 1, 2, 3, 4
STREAM_SHUT, STREAM_CLOSE, STREAM_ACCEPT, STREAM_FS_EVENT, STREAM_MAX = 5, 6, 7, 8, 9
CAP_WRITE = 0x1
SETATTR_MODE, SETATTR_UID, SETATTR_GID, SETATTR_SIZE = 0x1, 0x2, 0x4, 0x8
SETATTR_ATIME, SETATTR_MTIME = 0x10, 0x20
OP_NAMES = {0: "hello", OP_LOOKUP: "lookup", OP_GETATTR: "getattr",
            OP_READDIR: "readdir", OP_OPEN: "open", OP_READ: "read",
            OP_RELEASE: "release", OP_READLINK: "readlink",
            OP_STATFS: "statfs", OP_GETXATTR: "getxattr",
            OP_LISTXATTR: "listxattr",
            OP_CREATE: "create", OP_WRITE: "write", OP_SETATTR: "setattr",
            OP_FSYNC: "fsync", OP_MKNOD: "mknod", OP_MKDIR: "mkdir",
            OP_UNLINK: "unlink", OP_RMDIR: "rmdir", OP_SYMLINK: "symlink",
            OP_RENAME: "rename", OP_LINK: "link", OP_SETXATTR: "setxattr",
            OP_REMOVEXATTR: "removexattr", OP_FALLOCATE: "fallocate",
            OP_FGETATTR: "fgetattr", OP_LOCK: "lock", OP_FLOCK: "flock",
            OP_FLUSH: "flush", OP_FGETXATTR: "fgetxattr",
            OP_FLISTXATTR: "flistxattr", OP_NET_INFO: "net_info",
            OP_DNS: "dns"}

PAYLOAD_MAX = 4 * 1024 * 1024 + 4096
MSG_MAX = HDR_LEN + PAYLOAD_MAX
READ_MAX = 4 * 1024 * 1024
PATH_MAX = 16384
NAME_MAX = 255
TOKEN_MAX = 512
XATTR_MAX = 65536

ATTR = struct.Struct("<QQIIIIQQQIqIqIqII")
ATTR_FIELDS = ("dev", "ino", "mode", "nlink", "uid", "gid", "rdev", "size",
               "blocks", "blksize", "atime_sec", "atime_nsec", "mtime_sec",
               "mtime_nsec", "ctime_sec", "ctime_nsec", "flags")
STATFS = struct.Struct("<9Q")
STATFS_FIELDS = ("bsize", "frsize", "blocks", "bfree", "bavail", "files",
                 "ffree", "favail", "namemax")


class ProtocolError(Exception):
    """The peer sent something the protocol does not allow."""


class RemoteError(Exception):
    """The agent answered with an errno."""

    def __init__(self, err, op=None):
        self.errno = err
        self.op = op
        super().__init__(errno_name(err))


class AuthFailed(Exception):
    """The agent refused our hello."""


class ConnectionClosed(Exception):
    """The connection ended (EOF, reset or a websocket close frame)."""


def errno_name(err):
    return errno.errorcode.get(err, "E%d" % err)


class Encoder:
    """Builds a payload field by field (little-endian)."""

    def __init__(self):
        self.parts = []

    def u8(self, v):
        self.parts.append(struct.pack("<B", v))
        return self

    def u16(self, v):
        self.parts.append(struct.pack("<H", v))
        return self

    def u32(self, v):
        self.parts.append(struct.pack("<I", v))
        return self

    def u64(self, v):
        self.parts.append(struct.pack("<Q", v))
        return self

    def i64(self, v):
        self.parts.append(struct.pack("<q", v))
        return self

    def str(self, s):
        if isinstance(s, str):
            s = s.encode("utf-8", "surrogateescape")
        if len(s) > 0xFFFF:
            raise ValueError("str longer than 65535 bytes")
        self.parts.append(struct.pack("<H", len(s)) + s)
        return self

    def bytes(self, b):
        self.parts.append(struct.pack("<I", len(b)) + bytes(b))
        return self

    def attr(self, a):
        self.parts.append(ATTR.pack(*[a[f] for f in ATTR_FIELDS]))
        return self

    def statfs(self, s):
        self.parts.append(STATFS.pack(*[s[f] for f in STATFS_FIELDS]))
        return self

    def data(self):
        return b"".join(self.parts)


class Decoder:
    """Reads fields from a payload; every length is checked."""

    def __init__(self, data):
        self.data = memoryview(data)
        self.pos = 0

    def left(self):
        return len(self.data) - self.pos

    def _take(self, n):
        if n > self.left():
            raise ProtocolError("field needs %d bytes, %d left" %
                                (n, self.left()))
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def u8(self):
        return self._take(1)[0]

    def u16(self):
        return struct.unpack("<H", self._take(2))[0]

    def u32(self):
        return struct.unpack("<I", self._take(4))[0]

    def u64(self):
        return struct.unpack("<Q", self._take(8))[0]

    def i64(self):
        return struct.unpack("<q", self._take(8))[0]

    def str(self, maxlen=PATH_MAX):
        n = self.u16()
        if n > maxlen:
            raise ProtocolError("str of %d bytes, limit %d" % (n, maxlen))
        b = bytes(self._take(n))
        if b"\0" in b:
            raise ProtocolError("NUL inside a str")
        return b.decode("utf-8", "surrogateescape")

    def bytes(self, maxlen):
        n = self.u32()
        if n > maxlen:
            raise ProtocolError("bytes of %d, limit %d" % (n, maxlen))
        return bytes(self._take(n))

    def attr(self):
        a = dict(zip(ATTR_FIELDS, ATTR.unpack(self._take(ATTR.size))))
        for f in ("atime_nsec", "mtime_nsec", "ctime_nsec"):
            if a[f] >= 1000000000:
                raise ProtocolError("%s out of range" % f)
        return a

    def statfs(self):
        return dict(zip(STATFS_FIELDS, STATFS.unpack(self._take(STATFS.size))))

    def end(self):
        if self.left():
            raise ProtocolError("%d bytes left over" % self.left())


def encode_msg(kind, op, msg_id, status, payload=b""):
    return HDR.pack(VERSION, kind, op, msg_id, status, len(payload)) + payload


def decode_msg(msg):
    """Checks a header; returns (kind, op, id, status, Decoder(payload))."""
    if len(msg) < HDR_LEN:
        raise ProtocolError("message of %d bytes, shorter than a header" %
                            len(msg))
    version, kind, op, msg_id, status, length = HDR.unpack_from(msg)
    if version != VERSION:
        raise ProtocolError("protocol version %d" % version)
    if kind not in KIND_NAMES:
        raise ProtocolError("message kind %d" % kind)
    if length > PAYLOAD_MAX or length != len(msg) - HDR_LEN:
        raise ProtocolError("length field %d, payload %d" %
                            (length, len(msg) - HDR_LEN))
    if (kind == MSG_HELLO) != (op == 0) or \
            op >= (STREAM_MAX if kind == MSG_STREAM else OP_MAX):
        raise ProtocolError("op %d in a %s" % (op, KIND_NAMES[kind]))
    return kind, op, msg_id, status, Decoder(msg[HDR_LEN:])


# The hello: a challenge and response over K = SHA-256(token); the step
# travels in the header's id. The agent proves itself first.
AUTH_HELLO, AUTH_CHALLENGE, AUTH_PROOF, AUTH_WELCOME = 1, 2, 3, 4
AUTH_LABEL = b"mirror-auth-2 "
NONCE_LEN, SID_LEN, MAC_LEN = 32, 16, 32


def auth_key(token):
    return hashlib.sha256(token).digest()


def auth_mac(key, role, cn, an, sid):
    return hmac.new(key, AUTH_LABEL + role + cn + an + sid,
                    hashlib.sha256).digest()


def hello_client(cn, sid, caps=0):
    return encode_msg(MSG_HELLO, 0, AUTH_HELLO, 0,
                      Encoder().u32(caps).bytes(cn).bytes(sid).data())


def hello_challenge(an, mac):
    return encode_msg(MSG_HELLO, 0, AUTH_CHALLENGE, 0,
                      Encoder().bytes(an).bytes(mac).data())


def hello_proof(mac):
    return encode_msg(MSG_HELLO, 0, AUTH_PROOF, 0, Encoder().bytes(mac).data())


def hello_agent(server, caps=0, status=0):
    """The agent's last step: the welcome, or a refusal."""
    if status:
        return encode_msg(MSG_HELLO, 0, AUTH_WELCOME, status)
    return encode_msg(MSG_HELLO, 0, AUTH_WELCOME, 0,
                      Encoder().u32(caps).str(server).data())


# Request layouts, one per file-system operation: (field, type) in wire
# order, as lib/proto-fs.c codes them (t-codec checks the two agree).
# str fields named "name" hold one name (NAME_MAX), the others paths.
_PATH = (("path", "str"),)
_FH = (("fh", "u64"),)
REQ_LAYOUTS = {
    OP_LOOKUP: _PATH, OP_GETATTR: _PATH, OP_READLINK: _PATH,
    OP_STATFS: _PATH, OP_UNLINK: _PATH, OP_RMDIR: _PATH,
    OP_READDIR: _PATH + (("cookie", "u64"), ("max", "u32")),
    OP_OPEN: _PATH + (("flags", "u32"),),
    OP_READ: _FH + (("off", "u64"), ("size", "u32")),
    OP_RELEASE: _FH, OP_FGETATTR: _FH,
    OP_GETXATTR: _PATH + (("name", "str"), ("size", "u32")),
    OP_LISTXATTR: _PATH + (("size", "u32"),),
    OP_FGETXATTR: _FH + (("name", "str"), ("size", "u32")),
    OP_FLISTXATTR: _FH + (("size", "u32"),),
    OP_CREATE: _PATH + (("flags", "u32"), ("mode", "u32"), ("uid", "u32"),
                        ("gid", "u32")),
    OP_WRITE: _FH + (("off", "u64"), ("data", "bytes")),
    OP_SETATTR: _PATH + (("fh", "u64"), ("set", "u32"), ("mode", "u32"),
                         ("uid", "u32"), ("gid", "u32"), ("size", "u64"),
                         ("atime_sec", "i64"), ("atime_nsec", "u32"),
                         ("mtime_sec", "i64"), ("mtime_nsec", "u32")),
    OP_FSYNC: _FH + (("datasync", "u8"),) + _PATH,
    OP_MKNOD: _PATH + (("mode", "u32"), ("rdev", "u64"), ("uid", "u32"),
                       ("gid", "u32")),
    OP_MKDIR: _PATH + (("mode", "u32"), ("uid", "u32"), ("gid", "u32")),
    OP_SYMLINK: _PATH + (("target", "str"), ("uid", "u32"), ("gid", "u32")),
    OP_RENAME: (("from", "str"), ("to", "str"), ("flags", "u32")),
    OP_LINK: (("from", "str"), ("to", "str")),
    OP_SETXATTR: _PATH + (("fh", "u64"), ("name", "str"), ("value", "bytes"),
                          ("flags", "u32")),
    OP_REMOVEXATTR: _PATH + (("fh", "u64"), ("name", "str")),
    OP_FALLOCATE: _FH + (("mode", "u32"), ("off", "u64"), ("len", "u64")),
    OP_LOCK: _FH + (("owner", "u64"), ("cmd", "u8"), ("type", "u8"),
                    ("start", "u64"), ("len", "u64")),
    OP_FLOCK: _FH + (("op", "u32"),),
    OP_FLUSH: _FH + (("owner", "u64"),),
}
_BYTES_MAX = {OP_WRITE: 4 * 1024 * 1024, OP_SETXATTR: XATTR_MAX}


def encode_request(op, fields=None, **kw):
    """A request payload from its fields, a dict or keywords (missing
    numbers are 0)."""
    fields = dict(fields or {}, **kw)
    e = Encoder()
    for name, kind in REQ_LAYOUTS[op]:
        v = fields.get(name, b"" if kind == "bytes" else
                       "" if kind == "str" else 0)
        getattr(e, kind)(v)
    return e.data()


def decode_request(op, d):
    """A request payload's fields, as a dict; ends with d.end()."""
    r = {}
    for name, kind in REQ_LAYOUTS[op]:
        if kind == "str":
            r[name] = d.str(NAME_MAX if name == "name" else PATH_MAX)
        elif kind == "bytes":
            r[name] = d.bytes(_BYTES_MAX[op])
        else:
            r[name] = getattr(d, kind)()
    d.end()
    return r


# Request payloads, one function per operation.
def req_path(path):
    return encode_request(OP_LOOKUP, path=path)


def req_readdir(path, cookie=0, maxn=1024):
    return encode_request(OP_READDIR, path=path, cookie=cookie, max=maxn)


def req_open(path, flags=os.O_RDONLY):
    return encode_request(OP_OPEN, path=path, flags=flags)


def req_read(fh, offset, size):
    return encode_request(OP_READ, fh=fh, off=offset, size=size)


def req_release(fh):
    return encode_request(OP_RELEASE, fh=fh)


def req_getxattr(path, name, size):
    return encode_request(OP_GETXATTR, path=path, name=name, size=size)


def req_listxattr(path, size):
    return encode_request(OP_LISTXATTR, path=path, size=size)


def req_create(path, flags, mode, uid=0, gid=0):
    return encode_request(OP_CREATE, path=path, flags=flags, mode=mode,
                          uid=uid, gid=gid)


def req_write(fh, offset, data):
    return encode_request(OP_WRITE, fh=fh, off=offset, data=data)


def req_setattr(path, fh=0, set_=0, mode=0, uid=0, gid=0, size=0,
                atime=(0, 0), mtime=(0, 0)):
    return encode_request(OP_SETATTR, path=path, fh=fh, set=set_, mode=mode,
                          uid=uid, gid=gid, size=size, atime_sec=atime[0],
                          atime_nsec=atime[1], mtime_sec=mtime[0],
                          mtime_nsec=mtime[1])


def req_two_paths(a, b):
    return encode_request(OP_LINK, **{"from": a, "to": b})


# Reply payloads: encoders (for seeds and fake servers) and decoders.
def rep_attr(a):
    return Encoder().attr(a).data()


def rep_readdir(eof, next_cookie, entries):
    e = Encoder().u8(eof).u64(next_cookie).u32(len(entries))
    for name, a in entries:
        e.str(name).attr(a)
    return e.data()


def rep_open(fh, a):
    return Encoder().u64(fh).attr(a).data()


def rep_read(data):
    return Encoder().bytes(data).data()


def rep_str(s):
    return Encoder().str(s).data()


def rep_statfs(s):
    return Encoder().statfs(s).data()


def rep_xattr(needed, value):
    return Encoder().u32(needed).bytes(value).data()


def rep_write(written):
    return Encoder().u32(written).data()


def rep_lock(type_, start, length):
    return Encoder().u8(type_).u64(start).u64(length).data()


def decode_reply(op, d):
    """Decodes a successful reply's payload for op; ends with d.end()."""
    if op in (OP_LOOKUP, OP_GETATTR):
        r = d.attr()
    elif op == OP_READDIR:
        eof = d.u8()
        nxt = d.u64()
        n = d.u32()
        entries = []
        for _ in range(n):
            name = d.str(NAME_MAX)
            if name in ("", ".", "..") or "/" in name:
                raise ProtocolError("bad entry name %r" % name)
            entries.append((name, d.attr()))
        r = (eof, nxt, entries)
    elif op == OP_OPEN:
        r = (d.u64(), d.attr())
    elif op == OP_READ:
        r = d.bytes(READ_MAX)
    elif op == OP_RELEASE:
        r = None
    elif op == OP_READLINK:
        r = d.str(PATH_MAX)
    elif op == OP_STATFS:
        r = d.statfs()
    elif op in (OP_GETXATTR, OP_LISTXATTR, OP_FGETXATTR, OP_FLISTXATTR):
        r = (d.u32(), d.bytes(XATTR_MAX))
    elif op == OP_CREATE:
        r = (d.u64(), d.attr())
    elif op == OP_WRITE:
        r = d.u32()
    elif op in (OP_SETATTR, OP_MKNOD, OP_MKDIR, OP_SYMLINK, OP_LINK,
                OP_FGETATTR):
        r = d.attr()
    elif op == OP_LOCK and d.left():
        r = (d.u8(), d.u64(), d.u64())
    elif op in (OP_FSYNC, OP_UNLINK, OP_RMDIR, OP_RENAME, OP_SETXATTR,
                OP_REMOVEXATTR, OP_FALLOCATE, OP_LOCK, OP_FLOCK, OP_FLUSH):
        r = None
    else:
        raise ProtocolError("reply for op %d" % op)
    d.end()
    return r


# ---------------------------------------------------------------------------
# Websocket (RFC 6455), client side.

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OPC_CONT, OPC_TEXT, OPC_BINARY = 0x0, 0x1, 0x2
OPC_CLOSE, OPC_PING, OPC_PONG = 0x8, 0x9, 0xA
WS_MESSAGE_MAX = 64 * 1024 * 1024


def parse_url(url):
    if url.startswith("wss://"):
        raise ValueError("wss:// is not supported by this test client")
    if not url.startswith("ws://"):
        raise ValueError("not a ws:// URL: %s" % url)
    rest = url[5:]
    hostport, _, path = rest.partition("/")
    path = "/" + path
    if hostport.startswith("["):
        host, _, port = hostport[1:].partition("]")
        port = port.lstrip(":")
    else:
        host, _, port = hostport.rpartition(":")
    if not host or not port:
        raise ValueError("URL needs HOST:PORT: %s" % url)
    return host, int(port), path


def ws_mask(key, data):
    n = len(data)
    if n == 0:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^
            int.from_bytes(k, "little")).to_bytes(n, "little")


def ws_frame(opcode, payload, fin=True, mask=True, rsv=0, length=None):
    """One frame; length overrides the length field (for bad frames)."""
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n <= 0xFFFF:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if mask:
        key = os.urandom(4)
        return head + key + ws_mask(key, payload)
    return head + payload


class WebSocket:
    def __init__(self, url, timeout=10.0, protocol="mirror"):
        self.host, self.port, self.path = parse_url(url)
        self.timeout = timeout
        self.sock = socket.create_connection((self.host, self.port),
                                             timeout=timeout)
        self.buf = bytearray()
        self.closed = None  # reason once closed
        self._handshake(protocol)

    def _handshake(self, protocol):
        key = base64.b64encode(os.urandom(16))
        host = self.host if ":" not in self.host else "[%s]" % self.host
        req = ("GET %s HTTP/1.1\r\n"
               "Host: %s:%d\r\n"
               "Upgrade: websocket\r\n"
               "Connection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Protocol: %s\r\n"
               "\r\n" % (self.path, host, self.port, key.decode(), protocol))
        self.sock.sendall(req.encode())
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 16384:
                raise ProtocolError("HTTP response headers too long")
            self._fill()
        end = self.buf.index(b"\r\n\r\n") + 4
        head = bytes(self.buf[:end]).decode("iso-8859-1")
        del self.buf[:end]
        lines = head.split("\r\n")
        if len(lines[0].split()) < 2 or lines[0].split()[1] != "101":
            raise ProtocolError("handshake refused: %s" % lines[0])
        hdrs = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                hdrs[k.strip().lower()] = v.strip()
        want = base64.b64encode(hashlib.sha1(key + WS_GUID).digest()).decode()
        if hdrs.get("sec-websocket-accept") != want:
            raise ProtocolError("bad Sec-WebSocket-Accept")
        proto = hdrs.get("sec-websocket-protocol")
        if proto is not None and proto != protocol:
            raise ProtocolError("server chose subprotocol %r" % proto)

    def _fill(self, deadline=None):
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("timed out")
            self.sock.settimeout(left)
        else:
            self.sock.settimeout(self.timeout)
        try:
            chunk = self.sock.recv(262144)
        except socket.timeout:
            raise TimeoutError("timed out")
        except ConnectionError as e:
            self.closed = "reset"
            raise ConnectionClosed("connection reset") from e
        if not chunk:
            self.closed = "eof"
            raise ConnectionClosed("connection closed")
        self.buf += chunk

    def _read(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        b = bytes(self.buf[:n])
        del self.buf[:n]
        return b

    def send_raw(self, data):
        self.sock.settimeout(self.timeout)
        try:
            self.sock.sendall(data)
        except socket.timeout:
            raise TimeoutError("send timed out")
        except ConnectionError as e:
            self.closed = "reset"
            raise ConnectionClosed("connection reset") from e

    def send(self, payload, opcode=OPC_BINARY):
        self.send_raw(ws_frame(opcode, payload))

    def recv_message(self, timeout=None):
        """Returns (opcode, payload) of the next data message."""
        deadline = time.monotonic() + (self.timeout if timeout is None
                                       else timeout)
        parts, opcode = [], None
        total = 0
        while True:
            b0, b1 = self._read(2, deadline)
            fin, rsv, opc = b0 & 0x80, b0 & 0x70, b0 & 0x0F
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2, deadline))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8, deadline))[0]
            key = self._read(4, deadline) if b1 & 0x80 else None
            if rsv:
                raise ProtocolError("server frame with RSV bits")
            if total + n > WS_MESSAGE_MAX:
                raise ProtocolError("server message over %d bytes" %
                                    WS_MESSAGE_MAX)
            data = self._read(n, deadline)
            if key:
                data = ws_mask(key, data)
            if opc == OPC_CLOSE:
                code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
                self.closed = "close frame %s" % code
                try:
                    self.send_raw(ws_frame(OPC_CLOSE, data[:2]))
                except (ConnectionClosed, OSError):
                    pass
                raise ConnectionClosed("close frame (code %s%s)" % (
                    code, ", " + data[2:].decode("utf-8", "replace")
                    if len(data) > 2 else ""))
            if opc == OPC_PING:
                self.send_raw(ws_frame(OPC_PONG, data))
                continue
            if opc == OPC_PONG:
                continue
            if opc == OPC_CONT:
                if opcode is None:
                    raise ProtocolError("continuation without a message")
            elif opc in (OPC_TEXT, OPC_BINARY):
                if opcode is not None:
                    raise ProtocolError("new message inside a fragmented one")
                opcode = opc
            else:
                raise ProtocolError("server frame with opcode %d" % opc)
            parts.append(data)
            total += n
            if fin:
                return opcode, b"".join(parts)

    def close(self):
        try:
            if not self.closed:
                self.send_raw(ws_frame(OPC_CLOSE, struct.pack("!H", 1000)))
        except (ConnectionClosed, OSError, TimeoutError):
            pass
        self.sock.close()


def hello_on(ws, token, caps=0):
    """The whole hello on a bare WebSocket (for other test clients);
    returns the agent's (caps, server). AuthFailed if either side's
    proof fails."""
    if isinstance(token, str):
        token = token.encode()
    key = auth_key(token)
    cn, sid = os.urandom(NONCE_LEN), os.urandom(SID_LEN)
    ws.send(hello_client(cn, sid, caps))

    def step(want):
        opcode, msg = ws.recv_message()
        kind, op, msg_id, status, d = decode_msg(msg)
        if kind != MSG_HELLO or msg_id != want:
            raise ProtocolError("expected hello step %d" % want)
        return status, d
    _, d = step(AUTH_CHALLENGE)
    an, mac = d.bytes(NONCE_LEN), d.bytes(MAC_LEN)
    d.end()
    if not hmac.compare_digest(auth_mac(key, b"agent", cn, an, sid), mac):
        raise AuthFailed("the agent did not prove it knows the token")
    ws.send(hello_proof(auth_mac(key, b"client", cn, an, sid)))
    status, d = step(AUTH_WELCOME)
    if status:
        raise AuthFailed()
    agent_caps, server = d.u32(), d.str(PATH_MAX)
    d.end()
    return agent_caps, server


# ---------------------------------------------------------------------------
# Client.

class Client:
    """A mirror session: hello, then pipelined requests matched by id."""

    def __init__(self, url, timeout=10.0):
        self.ws = WebSocket(url, timeout=timeout)
        self.next_id = 1
        self.replies = {}     # id -> (op, status, Decoder)
        self.pending = {}     # id -> op
        self.server = None
        self.caps = None
        self.hello_status = None
        self.challenge = None   # (an, mac) from the agent
        self.key = self.cn = self.sid = self.an = None

    def _recv(self, timeout=None):
        opcode, msg = self.ws.recv_message(timeout)
        if opcode != OPC_BINARY:
            raise ProtocolError("text message from the server")
        kind, op, msg_id, status, d = decode_msg(msg)
        if kind == MSG_HELLO:
            if msg_id == AUTH_CHALLENGE and self.challenge is None:
                if status:
                    raise ProtocolError("challenge with status %d" % status)
                an = d.bytes(NONCE_LEN)
                mac = d.bytes(MAC_LEN)
                d.end()
                if len(an) != NONCE_LEN or len(mac) != MAC_LEN:
                    raise ProtocolError("challenge field sizes")
                self.challenge = (an, mac)
                return
            if msg_id != AUTH_WELCOME or self.challenge is None or \
                    self.hello_status is not None:
                raise ProtocolError("unexpected hello (step %d) from the "
                                    "server" % msg_id)
            self.hello_status = status
            if status == 0:
                self.caps = d.u32()
                self.server = d.str(PATH_MAX)
            d.end()
            return
        if kind == MSG_STREAM and op == STREAM_FS_EVENT:
            return      # the agent's change events: not this client's concern
        if kind != MSG_REPLY:
            raise ProtocolError("%s from the server" % KIND_NAMES[kind])
        if msg_id not in self.pending:
            raise ProtocolError("reply to unknown id %d" % msg_id)
        if self.pending[msg_id] != op:
            raise ProtocolError("reply op %d for a %s request" %
                                (op, OP_NAMES[self.pending[msg_id]]))
        del self.pending[msg_id]
        self.replies[msg_id] = (op, status, d)

    def send_hello(self, token, caps=0):
        """Step 1: our nonce and a session id."""
        if isinstance(token, str):
            token = token.encode()
        self.key = auth_key(token)
        self.cn = os.urandom(NONCE_LEN)
        self.sid = os.urandom(SID_LEN)
        self.ws.send(hello_client(self.cn, self.sid, caps))

    def wait_challenge(self, check=True):
        """Step 2: the agent's nonce and proof; AuthFailed if the proof
        is wrong (unless check is False: a client that goes on anyway,
        to test the agent's side)."""
        while self.challenge is None:
            self._recv()
        self.an, mac = self.challenge
        want = auth_mac(self.key, b"agent", self.cn, self.an, self.sid)
        if check and not hmac.compare_digest(want, mac):
            raise AuthFailed("the agent did not prove it knows the token")

    def send_proof(self):
        """Step 3: our proof."""
        self.ws.send(hello_proof(auth_mac(self.key, b"client", self.cn,
                                          self.an, self.sid)))

    def wait_hello(self):
        """Step 4: the welcome."""
        while self.hello_status is None:
            self._recv()
        if self.hello_status == errno.EACCES:
            raise AuthFailed()
        if self.hello_status:
            raise RemoteError(self.hello_status, "hello")
        return self.caps, self.server

    def hello(self, token, caps=0, check_agent=True):
        self.send_hello(token, caps)
        self.wait_challenge(check_agent)
        self.send_proof()
        return self.wait_hello()

    def send_request(self, op, payload):
        msg_id = self.next_id
        self.next_id = (self.next_id + 1) & 0xFFFFFFFF or 1
        self.pending[msg_id] = op
        self.ws.send(encode_msg(MSG_REQUEST, op, msg_id, 0, payload))
        return msg_id

    def wait(self, msg_id):
        """The decoded reply to msg_id, or RemoteError."""
        while msg_id not in self.replies:
            self._recv()
        op, status, d = self.replies.pop(msg_id)
        if status:
            d.end()
            raise RemoteError(status, OP_NAMES.get(op))
        return decode_reply(op, d)

    def call(self, op, payload):
        return self.wait(self.send_request(op, payload))

    def lookup(self, path):
        return self.call(OP_LOOKUP, req_path(path))

    def getattr(self, path):
        return self.call(OP_GETATTR, req_path(path))

    def readlink(self, path):
        return self.call(OP_READLINK, req_path(path))

    def statfs(self, path):
        return self.call(OP_STATFS, req_path(path))

    def open(self, path, flags=os.O_RDONLY):
        return self.call(OP_OPEN, req_open(path, flags))

    def read(self, fh, offset, size):
        return self.call(OP_READ, req_read(fh, offset, size))

    def release(self, fh):
        return self.call(OP_RELEASE, req_release(fh))

    def readdir(self, path, maxn=1024):
        """Every entry of a directory, following cookies to the end."""
        out, cookie, seen = [], 0, set()
        while True:
            eof, nxt, entries = self.call(OP_READDIR,
                                          req_readdir(path, cookie, maxn))
            out.extend(entries)
            if eof:
                return out
            if nxt in seen or (not entries and nxt == cookie):
                raise ProtocolError("readdir makes no progress")
            seen.add(nxt)
            cookie = nxt

    def create(self, path, flags=os.O_WRONLY, mode=0o644):
        return self.call(OP_CREATE, req_create(path, flags, mode))

    def write(self, fh, offset, data):
        return self.call(OP_WRITE, req_write(fh, offset, data))

    def mkdir(self, path, mode=0o755, uid=0, gid=0):
        return self.call(OP_MKDIR, encode_request(
            OP_MKDIR, path=path, mode=mode, uid=uid, gid=gid))

    def mknod(self, path, mode, rdev=0, uid=0, gid=0):
        return self.call(OP_MKNOD, encode_request(
            OP_MKNOD, path=path, mode=mode, rdev=rdev, uid=uid, gid=gid))

    def symlink(self, path, target, uid=0, gid=0):
        return self.call(OP_SYMLINK, encode_request(
            OP_SYMLINK, path=path, target=target, uid=uid, gid=gid))

    def unlink(self, path):
        return self.call(OP_UNLINK, req_path(path))

    def rmdir(self, path):
        return self.call(OP_RMDIR, req_path(path))

    def rename(self, src, dst, flags=0):
        return self.call(OP_RENAME, encode_request(
            OP_RENAME, flags=flags, **{"from": src, "to": dst}))

    def link(self, src, dst):
        return self.call(OP_LINK, req_two_paths(src, dst))

    def setattr(self, path, **kw):
        return self.call(OP_SETATTR, req_setattr(path, **kw))

    def setxattr(self, path, name, value, flags=0, fh=0):
        return self.call(OP_SETXATTR, encode_request(
            OP_SETXATTR, path=path, fh=fh, name=name, value=value,
            flags=flags))

    def getxattr(self, path, name):
        needed, _ = self.call(OP_GETXATTR, req_getxattr(path, name, 0))
        needed, value = self.call(OP_GETXATTR,
                                  req_getxattr(path, name, needed))
        return value

    def listxattr(self, path):
        needed, _ = self.call(OP_LISTXATTR, req_listxattr(path, 0))
        needed, value = self.call(OP_LISTXATTR, req_listxattr(path, needed))
        return [n.decode("utf-8", "surrogateescape")
                for n in value.split(b"\0") if n]

    def read_fh(self, fh, chunk=256 * 1024, window=8):
        """All bytes of an open file, with up to window reads in flight."""
        inflight = {}   # id -> offset
        got = {}        # offset -> data
        offset, end = 0, None
        while True:
            while end is None and len(inflight) < window:
                inflight[self.send_request(OP_READ,
                                           req_read(fh, offset, chunk))] = offset
                offset += chunk
            if not inflight:
                break
            msg_id = min(inflight)
            off = inflight.pop(msg_id)
            data = self.wait(msg_id)
            if len(data) > chunk:
                raise ProtocolError("read returned %d bytes for %d" %
                                    (len(data), chunk))
            got[off] = data
            if len(data) < chunk and (end is None or off < end):
                end = off
        out, off = [], 0
        while off in got:
            out.append(got[off])
            if len(got[off]) < chunk:
                break
            off += chunk
        return b"".join(out)

    def read_file(self, path):
        fh, _ = self.open(path)
        try:
            return self.read_fh(fh)
        finally:
            try:
                self.release(fh)
            except RemoteError:
                pass

    def close(self):
        self.ws.close()


# ---------------------------------------------------------------------------
# Bad frames, for the agent's robustness tests.

BAD_CASES = ("truncated-header", "bad-version", "unknown-op",
             "oversized-length", "length-mismatch", "request-before-hello",
             "garbage-ws-frame", "huge-ws-frame", "second-hello",
             "proof-before-challenge")


def bad_frames(case):
    """(needs_hello, [("msg", bytes) | ("raw", bytes) | ("huge", n)])."""
    getattr_req = encode_msg(MSG_REQUEST, OP_GETATTR, 1, 0, req_path("/"))
    if case == "truncated-header":
        return True, [("msg", getattr_req[:10])]
    if case == "bad-version":
        return True, [("msg", bytes([VERSION + 1]) + getattr_req[1:])]
    if case == "unknown-op":
        return True, [("msg", encode_msg(MSG_REQUEST, 0x7777, 1, 0,
                                         req_path("/")))]
    if case == "oversized-length":
        return True, [("msg", HDR.pack(VERSION, MSG_REQUEST, OP_READ, 1, 0,
                                       PAYLOAD_MAX + 1) + b"\0" * 20)]
    if case == "length-mismatch":
        p = req_path("/")
        return True, [("msg", HDR.pack(VERSION, MSG_REQUEST, OP_GETATTR, 1,
                                       0, len(p) + 5) + p)]
    if case == "request-before-hello":
        return False, [("msg", getattr_req)]
    if case == "second-hello":
        return True, [("msg", hello_client(os.urandom(NONCE_LEN),
                                           os.urandom(SID_LEN)))]
    if case == "proof-before-challenge":
        return False, [("msg", hello_proof(os.urandom(MAC_LEN)))]
    if case == "garbage-ws-frame":
        # RSV bits without an extension, a reserved opcode, unmasked.
        return True, [("raw", ws_frame(0xB, b"garbage!", rsv=7, mask=False))]
    if case == "huge-ws-frame":
        return True, [("huge", 1 << 40)]
    raise ValueError("unknown bad case %s" % case)


def run_bad(url, token, case, hexdata, raw, wait, no_hello):
    """Sends a bad frame; prints what came back; 0 if the server closed."""
    ws_client = Client(url, timeout=wait)
    ws = ws_client.ws
    if case:
        needs_hello, frames = bad_frames(case)
    else:
        needs_hello = not no_hello
        frames = [("raw" if raw else "msg", bytes.fromhex(hexdata))]
    if needs_hello:
        ws_client.hello(token)
    closed = None
    try:
        for kind, data in frames:
            if kind == "msg":
                ws.send(data)
            elif kind == "raw":
                ws.send_raw(data)
            else:
                # Declare a huge frame, then stream more than any message
                # may hold; a server that buffers it all is not closing.
                key = os.urandom(4)
                ws.send_raw(struct.pack("!BBQ", 0x82, 0x80 | 127, data) + key)
                chunk = ws_mask(key, b"\0" * 65536)
                for _ in range((MSG_MAX * 2) // 65536):
                    ws.send_raw(chunk)
        deadline = time.monotonic() + wait
        while True:
            opcode, msg = ws.recv_message(max(0.0, deadline - time.monotonic()))
            try:
                kind, op, msg_id, status, d = decode_msg(msg)
                print("received: %s op=%s id=%d status=%s len=%d" % (
                    KIND_NAMES[kind], OP_NAMES.get(op, op), msg_id,
                    errno_name(status) if status else 0, d.left()))
            except ProtocolError as e:
                print("received: undecodable message (%s)" % e)
    except ConnectionClosed as e:
        closed = str(e)
    except TimeoutError:
        pass
    except OSError as e:
        closed = "socket error: %s" % e
    if closed:
        print("closed: %s" % closed)
        return 0
    print("open: the server did not close within %.1fs" % wait)
    ws_client.close()
    return 1


# ---------------------------------------------------------------------------
# Seeds for the fuzzer: one valid message of each layout.

def seeds():
    return dict(_seeds(), **{
        "codec-" + name: encode_msg(kind, op, msg_id, status, payload)
        for name, kind, op, msg_id, status, payload, _ in codec_samples()})


def _seeds():
    a = dict(zip(ATTR_FIELDS, (2049, 131, 0o100644, 1, 0, 0, 0, 1234, 8,
                               4096, 1700000000, 5, 1700000001, 6,
                               1700000002, 999999999, 1)))
    d = dict(a, mode=0o040755, nlink=2, ino=2)
    s = dict(zip(STATFS_FIELDS, (4096, 4096, 1000, 500, 400, 100, 50, 50,
                                 255)))
    q, r = MSG_REQUEST, MSG_REPLY
    return {
        "hello-client": hello_client(b"0123456789abcdef" * 2,
                                     b"fedcba9876543210", 1),
        "hello-challenge": hello_challenge(b"\x01" * NONCE_LEN,
                                           b"\x02" * MAC_LEN),
        "hello-proof": hello_proof(b"\x03" * MAC_LEN),
        "hello-agent": hello_agent("mirror-agent 0.1", 1),
        "hello-refused": hello_agent("", status=errno.EACCES),
        "req-lookup": encode_msg(q, OP_LOOKUP, 1, 0, req_path("/etc/passwd")),
        "req-getattr": encode_msg(q, OP_GETATTR, 2, 0, req_path("/")),
        "req-readdir": encode_msg(q, OP_READDIR, 3, 0, req_readdir("/etc", 7, 100)),
        "req-open": encode_msg(q, OP_OPEN, 4, 0, req_open("/etc/hosts")),
        "req-read": encode_msg(q, OP_READ, 5, 0, req_read(1, 4096, 65536)),
        "req-release": encode_msg(q, OP_RELEASE, 6, 0, req_release(1)),
        "req-readlink": encode_msg(q, OP_READLINK, 7, 0, req_path("/bin/sh")),
        "req-statfs": encode_msg(q, OP_STATFS, 8, 0, req_path("/")),
        "req-getxattr": encode_msg(q, OP_GETXATTR, 9, 0,
                                   req_getxattr("/f", "user.x", 64)),
        "req-listxattr": encode_msg(q, OP_LISTXATTR, 10, 0,
                                    req_listxattr("/f", 0)),
        "rep-lookup": encode_msg(r, OP_LOOKUP, 1, 0, rep_attr(a)),
        "rep-getattr": encode_msg(r, OP_GETATTR, 2, 0, rep_attr(d)),
        "rep-getattr-enoent": encode_msg(r, OP_GETATTR, 2, errno.ENOENT),
        "rep-readdir": encode_msg(r, OP_READDIR, 3, 0, rep_readdir(
            0, 3, [("passwd", a), ("ssl", d), (".hidden", a)])),
        "rep-readdir-empty": encode_msg(r, OP_READDIR, 3, 0,
                                        rep_readdir(1, 0, [])),
        "rep-open": encode_msg(r, OP_OPEN, 4, 0, rep_open(1, a)),
        "rep-read": encode_msg(r, OP_READ, 5, 0, rep_read(b"root:x:0:0\n")),
        "rep-read-eof": encode_msg(r, OP_READ, 5, 0, rep_read(b"")),
        "rep-release": encode_msg(r, OP_RELEASE, 6, 0),
        "rep-readlink": encode_msg(r, OP_READLINK, 7, 0, rep_str("busybox")),
        "rep-statfs": encode_msg(r, OP_STATFS, 8, 0, rep_statfs(s)),
        "rep-getxattr": encode_msg(r, OP_GETXATTR, 9, 0, rep_xattr(3, b"abc")),
        "rep-listxattr": encode_msg(r, OP_LISTXATTR, 10, 0,
                                    rep_xattr(14, b"user.a\0user.b\0")),
        "req-net-info": encode_msg(q, OP_NET_INFO, 11, 0),
        "req-dns": encode_msg(q, OP_DNS, 12, 0, Encoder().bytes(
            b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
            b"\x03web\x00\x00\x01\x00\x01").data()),
        "rep-net-info": encode_msg(r, OP_NET_INFO, 11, 0, Encoder()
                                   .bytes(b"nameserver 10.77.0.2\n").u32(1)
                                   .u8(4).bytes(bytes([10, 77, 0, 2])).u8(24)
                                   .str("eth0").u32(1).u8(4)
                                   .bytes(bytes([10, 96, 0, 0])).u8(12)
                                   .str("eth0").data()),
        "rep-dns": encode_msg(r, OP_DNS, 12, 0, Encoder().bytes(
            b"\x12\x34\x81\x80" + bytes(8)).data()),
        "stream-open": encode_msg(MSG_STREAM, STREAM_OPEN, 1, 0, Encoder()
                                  .u8(6).u8(4).bytes(bytes([10, 77, 0, 2]))
                                  .u16(80).u32(1 << 20).data()),
        "stream-opened": encode_msg(MSG_STREAM, STREAM_OPENED, 1, 0,
                                    Encoder().u32(2 << 20).data()),
        "stream-refused": encode_msg(MSG_STREAM, STREAM_OPENED, 2,
                                     errno.ECONNREFUSED,
                                     Encoder().u32(2 << 20).data()),
        "stream-data": encode_msg(MSG_STREAM, STREAM_DATA, 1, 0,
                                  b"GET / HTTP/1.0\r\n\r\n"),
        "stream-credit": encode_msg(MSG_STREAM, STREAM_CREDIT, 1, 0,
                                    Encoder().u32(65536).data()),
        "stream-shut": encode_msg(MSG_STREAM, STREAM_SHUT, 1, 0),
        "stream-close": encode_msg(MSG_STREAM, STREAM_CLOSE, 1,
                                   errno.ECONNRESET),
    }


# ---------------------------------------------------------------------------
# The codec check (tests/t-codec.sh): the same messages as
# tests/unit/codec-dump.c builds with lib/proto-fs.c, one per layout.

def codec_attrs():
    a = dict(zip(ATTR_FIELDS, (2049, 131, 0o100644, 1, 0, 0, 0, 1234, 8,
                               4096, -2, 5, 1700000001, 6,
                               1700000002, 999999999, 1)))
    return a, dict(a, mode=0o040755, nlink=2, ino=2, flags=0)


def codec_samples():
    """(name, kind, op, id, status, payload, decoded) for every
    file-system request layout and every reply layout."""
    a, d = codec_attrs()
    s = dict(zip(STATFS_FIELDS, (4096, 4096, 1000, 500, 400, 100, 50, 50,
                                 255)))
    owner = 0xdeadbeefcafe
    reqs = [
        ("lookup", OP_LOOKUP, {"path": "/etc/passwd"}),
        ("getattr", OP_GETATTR, {"path": "/"}),
        ("readdir", OP_READDIR, {"path": "/etc",
                                 "cookie": 0x1122334455667788,
                                 "max": 1 << 20}),
        ("open", OP_OPEN, {"path": "/etc/hosts", "flags": 0o2001}),
        ("read", OP_READ, {"fh": 3, "off": 1 << 40, "size": 131072}),
        ("release", OP_RELEASE, {"fh": 3}),
        ("readlink", OP_READLINK, {"path": "/bin/sh"}),
        ("statfs", OP_STATFS, {"path": "/"}),
        ("getxattr", OP_GETXATTR, {"path": "/f", "name": "user.mime",
                                   "size": 64}),
        ("listxattr", OP_LISTXATTR, {"path": "/f", "size": 0}),
        ("create", OP_CREATE, {"path": "/tmp/new", "flags": 0o1101,
                               "mode": 0o644, "uid": 1000, "gid": 100}),
        ("write", OP_WRITE, {"fh": 4, "off": 4096,
                             "data": b"hello\0world"}),
        ("setattr", OP_SETATTR, {"path": "/tmp/new", "fh": 4, "set": 0x3f,
                                 "mode": 0o100600, "uid": 1000, "gid": 100,
                                 "size": 12345, "atime_sec": -1,
                                 "atime_nsec": 999999999,
                                 "mtime_sec": 1700000000, "mtime_nsec": 5}),
        ("fsync", OP_FSYNC, {"fh": 0, "datasync": 1, "path": "/tmp"}),
        ("mknod", OP_MKNOD, {"path": "/tmp/fifo", "mode": 0o10644,
                             "rdev": 0x801, "uid": 1, "gid": 2}),
        ("mkdir", OP_MKDIR, {"path": "/tmp/d", "mode": 0o755, "uid": 1000,
                             "gid": 1000}),
        ("unlink", OP_UNLINK, {"path": "/tmp/new"}),
        ("rmdir", OP_RMDIR, {"path": "/tmp/d"}),
        ("symlink", OP_SYMLINK, {"path": "/tmp/l", "target": "../etc/passwd",
                                 "uid": 0, "gid": 0}),
        ("rename", OP_RENAME, {"from": "/a", "to": "/b", "flags": 1}),
        ("link", OP_LINK, {"from": "/a", "to": "/c"}),
        ("setxattr", OP_SETXATTR, {"path": "/f", "fh": 0, "name": "user.x",
                                   "value": b"\0\1\xff", "flags": 1}),
        ("removexattr", OP_REMOVEXATTR, {"path": "/f", "fh": 9,
                                         "name": "user.x"}),
        ("fallocate", OP_FALLOCATE, {"fh": 4, "mode": 1, "off": 0,
                                     "len": 1 << 20}),
        ("fgetattr", OP_FGETATTR, {"fh": 4}),
        ("lock", OP_LOCK, {"fh": 4, "owner": owner, "cmd": 1, "type": 2,
                           "start": 10, "len": 0}),
        ("flock", OP_FLOCK, {"fh": 4, "op": 2}),
        ("flush", OP_FLUSH, {"fh": 4, "owner": owner}),
        ("fgetxattr", OP_FGETXATTR, {"fh": 4, "name": "user.x",
                                     "size": 16}),
        ("flistxattr", OP_FLISTXATTR, {"fh": 4, "size": 256}),
    ]
    out = [("req-" + name, MSG_REQUEST, op, 100 + op, 7,
            encode_request(op, f), f) for name, op, f in reqs]
    reps = [
        ("attr", OP_GETATTR, 0, rep_attr(a), a),
        ("mkdir", OP_MKDIR, 0, rep_attr(d), d),
        ("enoent", OP_LOOKUP, errno.ENOENT, b"", None),
        ("open", OP_OPEN, 0, rep_open(3, a), (3, a)),
        ("create", OP_CREATE, 0, rep_open(5, d), (5, d)),
        ("read", OP_READ, 0, rep_read(b"root:x:0:0\n"), b"root:x:0:0\n"),
        ("readlink", OP_READLINK, 0, rep_str("../usr/bin/busybox"),
         "../usr/bin/busybox"),
        ("statfs", OP_STATFS, 0, rep_statfs(s), s),
        ("getxattr", OP_GETXATTR, 0, rep_xattr(3, b"abc"), (3, b"abc")),
        ("listxattr-size", OP_LISTXATTR, 0, rep_xattr(14, b""), (14, b"")),
        ("write", OP_WRITE, 0, rep_write(11), 11),
        ("lock", OP_LOCK, 0, rep_lock(1, 100, 50), (1, 100, 50)),
        ("readdir", OP_READDIR, 0, rep_readdir(0, 3, [("passwd", a),
                                                       ("ssl", d)]),
         (0, 3, [("passwd", a), ("ssl", d)])),
        ("release", OP_RELEASE, 0, b"", None),
    ]
    out += [("rep-" + name, MSG_REPLY, op, 200 + op, st, payload, dec)
            for name, op, st, payload, dec in reps]
    return out


def codec_check(path):
    """Compares the C codec's messages (lines "NAME HEX" in path) with
    ours, byte for byte, and decodes each C message back."""
    with open(path) as f:
        got = dict(line.split() for line in f if line.strip())
    bad = []
    samples = codec_samples()
    missing = set(REQ_LAYOUTS) - {op for _, kind, op, *_ in samples
                                  if kind == MSG_REQUEST}
    if missing:
        bad.append("no sample for ops %s" % sorted(missing))
    for name, kind, op, msg_id, status, payload, want in samples:
        mine = encode_msg(kind, op, msg_id, status, payload)
        if name not in got:
            bad.append("%s: the C codec did not print it" % name)
            continue
        theirs = bytes.fromhex(got.pop(name))
        if theirs != mine:
            bad.append("%s: C %s, Python %s" % (name, theirs.hex(),
                                                mine.hex()))
            continue
        try:
            k, o, i, st, dec = decode_msg(theirs)
            if (k, o, i, st) != (kind, op, msg_id, status):
                raise ProtocolError("header %r" % ((k, o, i, st),))
            if kind == MSG_REQUEST:
                back = decode_request(op, dec)
            elif status == 0:
                back = decode_reply(op, dec)
            else:
                dec.end()
                back = None
            if back != want:
                raise ProtocolError("decoded %r, want %r" % (back, want))
        except ProtocolError as e:
            bad.append("%s: %s" % (name, e))
    for name in sorted(got):
        bad.append("%s: printed by the C codec, unknown here" % name)
    for b in bad:
        print("codec mismatch: " + b)
    print("%d messages compared, %d mismatches" % (len(samples), len(bad)))
    return 1 if bad else 0


# ---------------------------------------------------------------------------
# CLI.

def read_token(path):
    with open(path, "rb") as f:
        line = f.read(TOKEN_MAX + 2).split(b"\n", 1)[0]
    return line.rstrip(b" \t\r")


def fmt_attr(a):
    return ("dev=%d ino=%d mode=0%o nlink=%d uid=%d gid=%d rdev=%d size=%d "
            "blocks=%d blksize=%d atime=%d.%09d mtime=%d.%09d ctime=%d.%09d" % (
                a["dev"], a["ino"], a["mode"], a["nlink"], a["uid"], a["gid"],
                a["rdev"], a["size"], a["blocks"], a["blksize"],
                a["atime_sec"], a["atime_nsec"], a["mtime_sec"],
                a["mtime_nsec"], a["ctime_sec"], a["ctime_nsec"]))


def fail(msg, status):
    """Errors go to stderr, so stdout holds only what was asked for."""
    sys.stdout.flush()
    print(msg, file=sys.stderr)
    return status


def out_bytes(b):
    sys.stdout.flush()
    sys.stdout.buffer.write(b)
    sys.stdout.buffer.flush()


def readloop(c, path, expect, count, until_file, interval):
    n = 0
    while (count == 0 or n < count) and not (until_file and
                                             os.path.exists(until_file)):
        data = c.read_file(path)
        n += 1
        if expect is not None and data != expect:
            return fail("error: content mismatch on read %d (%d bytes, "
                        "want %d)" % (n, len(data), len(expect)), 5)
        if interval:
            time.sleep(interval)
    print("reads %d ok" % n)
    return 0


def run_command(c, args):
    cmd = args.command
    if cmd in ("getattr", "lookup"):
        a = c.getattr(args.path) if cmd == "getattr" else c.lookup(args.path)
        print(fmt_attr(a))
    elif cmd == "read":
        out_bytes(c.read_file(args.path))
    elif cmd == "readdir":
        for name, a in c.readdir(args.path):
            print("%s %s" % (name, fmt_attr(a)) if args.long else name)
    elif cmd == "readlink":
        print(c.readlink(args.path))
    elif cmd == "statfs":
        print(" ".join("%s=%d" % kv for kv in c.statfs(args.path).items()))
    elif cmd == "getxattr":
        out_bytes(c.getxattr(args.path, args.name))
    elif cmd == "listxattr":
        for n in c.listxattr(args.path):
            print(n)
    elif cmd == "readloop":
        expect = None
        if args.expect_file:
            with open(args.expect_file, "rb") as f:
                expect = f.read()
        return readloop(c, args.path, expect, args.count, args.until_file,
                        args.interval)
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(
        description="Minimal mirror websocket client for tests.")
    p.add_argument("--url", help="ws://HOST:PORT of the agent")
    p.add_argument("--token-file", help="file holding the session token")
    p.add_argument("--timeout", type=float, default=10.0,
                   help="seconds to wait for each answer (default 10)")
    p.add_argument("--eager", action="store_true",
                   help="send the request right behind our proof, without "
                        "checking the agent's or waiting for its welcome")
    p.add_argument("--bad", choices=BAD_CASES,
                   help="send this bad frame and report whether the server "
                        "closed the connection")
    p.add_argument("--bad-hex", metavar="HEX",
                   help="send these bytes as one binary message")
    p.add_argument("--raw-hex", metavar="HEX",
                   help="send these bytes raw on the socket after the "
                        "handshake (not framed)")
    p.add_argument("--no-hello", action="store_true",
                   help="with --bad-hex/--raw-hex: skip the hello")
    p.add_argument("--wait", type=float, default=5.0,
                   help="with --bad: seconds to wait for the close")
    sub = p.add_subparsers(dest="command")
    for name in ("getattr", "lookup", "read", "readlink", "statfs",
                 "listxattr"):
        sub.add_parser(name).add_argument("path")
    sp = sub.add_parser("readdir")
    sp.add_argument("path")
    sp.add_argument("--long", "-l", action="store_true")
    sp = sub.add_parser("getxattr")
    sp.add_argument("path")
    sp.add_argument("name")
    sp = sub.add_parser("readloop", help="read PATH again and again")
    sp.add_argument("path")
    sp.add_argument("--expect-file", help="every read must equal this file")
    sp.add_argument("--count", type=int, default=0, help="0: until stopped")
    sp.add_argument("--until-file", help="stop once this file exists")
    sp.add_argument("--interval", type=float, default=0.0)
    sp = sub.add_parser("seeds", help="write fuzzer seeds into DIR")
    sp.add_argument("dir")
    sp = sub.add_parser("codec-check", help="compare the C codec's "
                        "messages (codec-dump's output in FILE) with ours")
    sp.add_argument("file")
    args = p.parse_args(argv)

    if args.command == "codec-check":
        return codec_check(args.file)
    if args.command == "seeds":
        os.makedirs(args.dir, exist_ok=True)
        for name, msg in seeds().items():
            with open(os.path.join(args.dir, name), "wb") as f:
                f.write(msg)
        return 0
    if not args.url or not args.token_file:
        p.error("--url and --token-file are needed")
    bad_mode = args.bad or args.bad_hex or args.raw_hex
    if not bad_mode and not args.command:
        p.error("a command or --bad is needed")

    c = None
    try:
        token = read_token(args.token_file)
        if bad_mode:
            return run_bad(args.url, token, args.bad,
                           args.bad_hex or args.raw_hex, bool(args.raw_hex),
                           args.wait, args.no_hello)
        c = Client(args.url, timeout=args.timeout)
        if args.eager:
            # The request goes out right behind our proof, before the
            # agent has judged it, and the proof goes out even when the
            # agent's did not check; if ours is refused, nothing may
            # come back for the request.
            c.send_hello(token)
            c.wait_challenge(check=False)
            c.send_proof()
            msg_id = c.send_request(OP_GETATTR, req_path(args.path))
            try:
                c.wait_hello()
            except AuthFailed:
                try:
                    while True:
                        c._recv(timeout=1.0)
                        if c.replies:
                            return fail("error: data served without "
                                        "authentication", 6)
                except (ConnectionClosed, TimeoutError, ProtocolError):
                    pass
                raise
            c.wait(msg_id)
        else:
            c.hello(token)
        return run_command(c, args)
    except RemoteError as e:
        return fail("error: %s" % errno_name(e.errno), 2)
    except AuthFailed:
        return fail("error: authentication failed", 3)
    except ConnectionClosed:
        return fail("error: connection closed", 4)
    except ProtocolError as e:
        return fail("error: protocol: %s" % e, 1)
    except TimeoutError:
        return fail("error: timeout", 1)
    except OSError as e:
        return fail("error: %s" % e, 1)
    finally:
        if c is not None:
            c.close()


if __name__ == "__main__":
    sys.exit(main())
