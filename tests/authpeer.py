#!/usr/bin/env python3
"""Attackers of the hello, for t-auth-mutual.sh (stdlib only).

  authpeer.py fake-agent PORTFILE RECORD
      A websocket server that plays an agent without the token: it takes
      the upgrade, answers a client's hello with a random nonce and a
      random "proof", and appends every byte any client sends it to
      RECORD. Runs until killed.
  authpeer.py evil-agent PORTFILE TOKENFILE RECORD
      An agent that knows the token (an authenticated but hostile one):
      it passes the hello, then sends a second hello; appends to RECORD
      whether each client hung up on it. Runs until killed.
  authpeer.py relay PORTFILE HOST:PORT DIR
      A man in the middle: relays TCP to HOST:PORT and writes what each
      client sent into DIR/conn.N (raw, the HTTP upgrade included).
      Runs until killed.
  authpeer.py replay HOST:PORT FILE [N]
      Sends FILE's bytes (a recorded client session: the upgrade and its
      frames up to the close, or only the first N frames) to HOST:PORT
      as they are, then prints what the server answered: one line per
      message ("hello step S status N", "reply", "stream"), then
      "closed". Exit 0.
"""

import base64
import hashlib
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wsclient  # noqa: E402

GUID = wsclient.WS_GUID


def listen(portfile):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(portfile + ".tmp", portfile)
    return s


def frame_size(buf):
    """Bytes of the whole frame at the front of buf, or None."""
    if len(buf) < 2:
        return None
    n, hl = buf[1] & 0x7F, 2
    if n == 126:
        if len(buf) < 4:
            return None
        n, hl = struct.unpack("!H", buf[2:4])[0], 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n, hl = struct.unpack("!Q", buf[2:10])[0], 10
    total = hl + (4 if buf[1] & 0x80 else 0) + n
    return total if len(buf) >= total else None


def read_frames(buf):
    """Whole frames at the front of buf: ([(opcode, payload)], rest)."""
    out = []
    while True:
        n = frame_size(buf)
        if n is None:
            return out, buf
        hl = {126: 4, 127: 10}.get(buf[1] & 0x7F, 2)
        key = buf[hl:hl + 4] if buf[1] & 0x80 else b"\0\0\0\0"
        hl += 4 if buf[1] & 0x80 else 0
        out.append((buf[0] & 0x0F, wsclient.ws_mask(key, buf[hl:n])))
        buf = buf[n:]


def fake_conn(conn, record, lock):
    buf = b""

    def rec(data):
        with lock, open(record, "ab") as f:
            f.write(data)
    try:
        while b"\r\n\r\n" not in buf:
            d = conn.recv(65536)
            if not d:
                return
            rec(d)
            buf += d
        head, buf = buf.split(b"\r\n\r\n", 1)
        key = b""
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"sec-websocket-key:"):
                key = line.split(b":", 1)[1].strip()
        acc = base64.b64encode(hashlib.sha1(key + GUID).digest())
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\n"
                     b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + acc + b"\r\n"
                     b"Sec-WebSocket-Protocol: mirror\r\n\r\n")
        while True:
            frames, buf = read_frames(buf)
            for op, payload in frames:
                if op == 0x8:
                    return
                if len(payload) >= wsclient.HDR_LEN and \
                        payload[1] == wsclient.MSG_HELLO:
                    # A made-up challenge: we do not know the key.
                    msg = wsclient.hello_challenge(os.urandom(32),
                                                   os.urandom(32))
                    conn.sendall(wsclient.ws_frame(0x2, msg, mask=False))
            d = conn.recv(65536)
            if not d:
                return
            rec(d)
            buf += d
    except OSError:
        pass
    finally:
        conn.close()


def evil_conn(conn, key, record):
    """An agent that knows the key, proves itself, welcomes the client,
    then sends a second hello; records whether the client hung up."""
    buf = b""
    try:
        while b"\r\n\r\n" not in buf:
            buf += conn.recv(65536)
        head, buf = buf.split(b"\r\n\r\n", 1)
        wkey = [ln.split(b":", 1)[1].strip() for ln in head.split(b"\r\n")
                if ln.lower().startswith(b"sec-websocket-key:")][0]
        acc = base64.b64encode(hashlib.sha1(wkey + GUID).digest())
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\n"
                     b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + acc + b"\r\n"
                     b"Sec-WebSocket-Protocol: mirror\r\n\r\n")
        an = os.urandom(32)
        step = 0
        conn.settimeout(10)
        while True:
            frames, buf = read_frames(buf)
            for op, payload in frames:
                if op == 0x8:
                    raise EOFError
                kind, _, mid, _, d = wsclient.decode_msg(payload)
                if kind == wsclient.MSG_HELLO and mid == 1 and step == 0:
                    d.u32()
                    cn, sid = d.bytes(32), d.bytes(16)
                    conn.sendall(wsclient.ws_frame(0x2, wsclient.hello_challenge(
                        an, wsclient.auth_mac(key, b"agent", cn, an, sid)),
                        mask=False))
                    step = 1
                elif kind == wsclient.MSG_HELLO and mid == 3 and step == 1:
                    conn.sendall(wsclient.ws_frame(0x2, wsclient.hello_agent(
                        "evil", 2), mask=False))
                    conn.sendall(wsclient.ws_frame(0x2, wsclient.hello_agent(
                        "evil again", 3), mask=False))
                    step = 2
            d = conn.recv(65536)
            if not d:
                raise EOFError
            buf += d
    except EOFError:
        with open(record, "a") as f:
            f.write("client hung up at step %d\n" % step)
    except (OSError, socket.timeout):
        with open(record, "a") as f:
            f.write("client stayed at step %d\n" % step)
    finally:
        conn.close()


def evil_agent(portfile, tokenfile, record):
    key = wsclient.auth_key(wsclient.read_token(tokenfile))
    s = listen(portfile)
    while True:
        c, _ = s.accept()
        threading.Thread(target=evil_conn, args=(c, key, record),
                         daemon=True).start()


def fake_agent(portfile, record):
    s = listen(portfile)
    lock = threading.Lock()
    while True:
        c, _ = s.accept()
        threading.Thread(target=fake_conn, args=(c, record, lock),
                         daemon=True).start()


def pipe(a, b, record):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            if record:
                with open(record, "ab") as f:
                    f.write(d)
            b.sendall(d)
    except OSError:
        pass
    for x in (a, b):
        try:
            x.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def relay(portfile, target, outdir):
    host, port = target.rsplit(":", 1)
    s = listen(portfile)
    n = 0
    while True:
        c, _ = s.accept()
        n += 1
        u = socket.create_connection((host, int(port)))
        rec = os.path.join(outdir, "conn.%d" % n)
        threading.Thread(target=pipe, args=(c, u, rec), daemon=True).start()
        threading.Thread(target=pipe, args=(u, c, None), daemon=True).start()


def replay(target, path, maxframes=None):
    host, port = target.rsplit(":", 1)
    with open(path, "rb") as f:
        data = f.read()
    # Up to the client's close frame: what comes after it lws would not
    # even read, and it drops what it had queued to send.
    if b"\r\n\r\n" in data:
        head, body = data.split(b"\r\n\r\n", 1)
        keep = b""
        while body:
            n = frame_size(body)
            if n is None or body[0] & 0x0F == 0x8 or maxframes == 0:
                break
            if maxframes is not None:
                maxframes -= 1
            keep += body[:n]
            body = body[n:]
        data = head + b"\r\n\r\n" + keep
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall(data)
    buf = b""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        except OSError:
            break
        if not d:
            break
        buf += d
    if b"\r\n\r\n" in buf:
        buf = buf.split(b"\r\n\r\n", 1)[1]
    frames, _ = read_frames(buf)
    for op, payload in frames:
        if op == 0x8:
            print("close frame %s" % payload.hex())
            continue
        try:
            kind, op_, mid, status, _d = wsclient.decode_msg(payload)
        except wsclient.ProtocolError as e:
            print("undecodable: %s" % e)
            continue
        if kind == wsclient.MSG_HELLO:
            print("hello step %d status %d" % (mid, status))
        else:
            print(wsclient.KIND_NAMES[kind])
    print("closed")
    return 0


def main():
    if sys.argv[1] == "fake-agent":
        fake_agent(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "evil-agent":
        evil_agent(sys.argv[2], sys.argv[3], sys.argv[4])
    elif sys.argv[1] == "relay":
        relay(sys.argv[2], sys.argv[3], sys.argv[4])
    elif sys.argv[1] == "replay":
        return replay(sys.argv[2], sys.argv[3],
                      int(sys.argv[4]) if len(sys.argv) > 4 else None)
    return 2


if __name__ == "__main__":
    sys.exit(main())
