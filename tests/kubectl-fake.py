#!/usr/bin/env python3
# A stand-in for kubectl and its cluster, for tests that must see
# mirrorctl's whole Kubernetes start without one (t-progress.sh): the
# cluster has one running pod; "patch ... ephemeralcontainers" starts
# the REAL mirror-agent from the manifest's command line, serving
# $FAKE_KUBE_ROOT instead of the pod's PID 1; "get pod" reports the
# agent's container waiting (ContainerCreating) for $FAKE_KUBE_PULLS
# looks, then running; "port-forward" relays 127.0.0.1:LOCAL to the
# agent's port as kubectl does, saying "Forwarding from". Each call is
# appended to $FAKE_KUBE_DIR/calls. With $FAKE_KUBE_FORBID the patch is
# refused as RBAC would refuse it.
import json, os, socket, subprocess, sys, threading

d = os.environ["FAKE_KUBE_DIR"]
args = sys.argv[1:]
with open(os.path.join(d, "calls"), "a") as f:
    f.write(" ".join(a if len(a) < 80 else a[:60] + "..." for a in args) + "\n")
while args and args[0] in ("--context", "-n"):
    args = args[2:]
verb = args[0] if args else ""

def bump(name):
    p = os.path.join(d, name)
    n = int(open(p).read()) if os.path.exists(p) else 0
    open(p, "w").write(str(n + 1))
    return n

if verb == "get" and args[1] == "pod":
    name = args[2]
    tmpl = [a for a in args if a.startswith("go-template=")][0]
    if "ephemeralContainerStatuses" in tmpl:
        n = bump("looks")
        if n < int(os.environ.get("FAKE_KUBE_PULLS", "3")):
            print(name + " waiting ContainerCreating ")
        else:
            print(name + " running")
    else:
        print("%s|node-1|Running||||True|app,|app=containerd://0123abcd=running;" % name)
    sys.exit(0)
if verb == "patch" and os.environ.get("FAKE_KUBE_FORBID"):
    sys.stderr.write('Error from server (Forbidden): pods "%s" is forbidden: '
                     'User "dev" cannot patch resource "pods/ephemeralcontainers"\n' % args[2])
    sys.exit(1)
if verb == "patch":
    m = json.loads(args[args.index("-p") + 1])
    c = m["spec"]["ephemeralContainers"][0]
    a = c["args"]
    i = a.index("--target-pid")
    a[i:i + 2] = ["--root", os.environ["FAKE_KUBE_ROOT"]]
    log = open(os.path.join(d, "agent.log"), "a")
    p = subprocess.Popen([os.environ["MIRROR_AGENT"]] + a, stdin=subprocess.DEVNULL,
                         stdout=log, stderr=log, start_new_session=True)
    open(os.path.join(d, "agent.pid"), "w").write(str(p.pid))
    print("pod/%s patched" % args[2])
    sys.exit(0)
if verb == "port-forward":
    local, remote = (int(x) for x in args[-1].split(":"))
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", local))
    ls.listen(16)
    print("Forwarding from 127.0.0.1:%d -> %d" % (local, remote), flush=True)

    def pipe(a, b):
        try:
            while True:
                buf = a.recv(65536)
                if not buf:
                    break
                b.sendall(buf)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    while True:
        c, _ = ls.accept()
        try:
            u = socket.create_connection(("127.0.0.1", remote))
        except OSError:
            c.close()
            continue
        threading.Thread(target=pipe, args=(c, u), daemon=True).start()
        threading.Thread(target=pipe, args=(u, c), daemon=True).start()
sys.stderr.write("kubectl-fake: %s: not in this cluster\n" % verb)
sys.exit(1)
