#!/usr/bin/env python3
# A minimal client of node's inspector (the Chrome DevTools protocol over
# a websocket), for t-ide.sh: what an IDE's "attach" does. Usage:
#   inspector.py HOST PORT EXPR...
# Attaches, evaluates each EXPR in the paused program (printing each
# result on a line), then lets it run. Standard library only.
import base64, json, os, socket, struct, sys, urllib.request

host, port, exprs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
targets = json.load(urllib.request.urlopen("http://%s:%d/json/list" % (host, port), timeout=10))
path = targets[0]["webSocketDebuggerUrl"].split("/", 3)[3]
s = socket.create_connection((host, port), timeout=20)
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET /%s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
           "Sec-WebSocket-Version: 13\r\n\r\n" % (path, host, port, key)).encode())
buf = b""
while b"\r\n\r\n" not in buf:
    buf += s.recv(4096)
head, buf = buf.split(b"\r\n\r\n", 1)
assert b" 101 " in head.split(b"\r\n")[0], head

def send(obj):
    data = json.dumps(obj).encode()
    mask = os.urandom(4)
    n = len(data)
    hdr = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n))
    s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

def need(n):
    global buf
    while len(buf) < n:
        c = s.recv(65536)
        if not c:
            raise EOFError
        buf += c
    out, buf = buf[:n], buf[n:]
    return out

def recv():
    b0, b1 = need(2)
    n = b1 & 0x7f
    if n == 126:
        n = struct.unpack(">H", need(2))[0]
    elif n == 127:
        n = struct.unpack(">Q", need(8))[0]
    return json.loads(need(n))

ids = 0
def call(method, **params):
    global ids
    ids += 1
    send({"id": ids, "method": method, "params": params})
    while True:
        m = recv()
        if m.get("id") == ids:
            return m

call("Runtime.enable")
call("Debugger.enable")
call("Runtime.runIfWaitingForDebugger")
# Wait until paused (at the first line, or at "debugger;").
while True:
    m = recv()
    if m.get("method") == "Debugger.paused":
        frame = m["params"]["callFrames"][0]["callFrameId"]
        break
for e in exprs:
    r = call("Debugger.evaluateOnCallFrame", callFrameId=frame, expression=e)
    print(r["result"]["result"].get("value"))
call("Debugger.resume")
s.close()
