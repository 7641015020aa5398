#!/usr/bin/env python3
"""A Kubernetes API server that knows pods only, for tests that drive the
real kubectl without a cluster: t-completion (mirrorctl ls sees its pods)
and t-kubectl-plugin (the namespace, context and kubeconfig the plugin is
given reach kubectl). Plain HTTP on 127.0.0.1, no auth.

usage: kubeapi.py PORTFILE LOGFILE PODSFILE
Writes the port it listens on to PORTFILE, one line "METHOD PATH" per
request to LOGFILE, and serves the pods in PODSFILE (JSON: a list of
{"namespace", "name", "containers": [names]}; read at every request, so
a test can change it). A single pod is answered 404, so a mount stops
there with kubectl's "not found".
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

portfile, logfile, podsfile = sys.argv[1:4]

RESOURCES = {
    "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1",
    "resources": [{
        "name": "pods", "singularName": "pod", "namespaced": True,
        "kind": "Pod", "shortNames": ["po"],
        "verbs": ["get", "list", "patch", "create", "delete"],
    }, {
        "name": "namespaces", "singularName": "namespace",
        "namespaced": False, "kind": "Namespace", "shortNames": ["ns"],
        "verbs": ["get", "list"],
    }],
}


def pod(p):
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": p["name"], "namespace": p["namespace"]},
        "spec": {"containers": [{"name": c, "image": "example/" + c}
                                for c in p["containers"]]},
        "status": {"phase": "Running"},
    }


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_any(self):
        with open(logfile, "a") as f:
            f.write("%s %s\n" % (self.command, self.path))
        path = urlsplit(self.path).path.rstrip("/")
        parts = path.split("/")[1:]
        if path == "/api":
            return self.reply(200, {"kind": "APIVersions",
                                    "versions": ["v1"]})
        if path == "/apis":
            return self.reply(200, {"kind": "APIGroupList",
                                    "apiVersion": "v1", "groups": []})
        if path == "/api/v1":
            return self.reply(200, RESOURCES)
        with open(podsfile) as f:
            pods = json.load(f)
        ns = None
        if parts[:3] == ["api", "v1", "namespaces"] and len(parts) == 4:
            if parts[3] in {p["namespace"] for p in pods}:
                return self.reply(200, {"kind": "Namespace", "apiVersion": "v1",
                                        "metadata": {"name": parts[3]}})
            return self.reply(404, {
                "kind": "Status", "apiVersion": "v1", "status": "Failure",
                "reason": "NotFound", "code": 404,
                "message": 'namespaces "%s" not found' % parts[3]})
        if parts[:3] == ["api", "v1", "namespaces"] and len(parts) >= 5:
            ns = parts[3]
            rest = parts[4:]
        elif parts[:2] == ["api", "v1"]:
            rest = parts[2:]
        else:
            rest = None
        if rest == ["pods"]:
            items = [pod(p) for p in pods if ns is None or p["namespace"] == ns]
            return self.reply(200, {"kind": "PodList", "apiVersion": "v1",
                                    "metadata": {}, "items": items})
        if rest == ["namespaces"]:
            names = sorted({p["namespace"] for p in pods})
            return self.reply(200, {
                "kind": "NamespaceList", "apiVersion": "v1", "metadata": {},
                "items": [{"metadata": {"name": n}} for n in names]})
        name = rest[1] if rest and len(rest) == 2 else "?"
        return self.reply(404, {
            "kind": "Status", "apiVersion": "v1", "status": "Failure",
            "reason": "NotFound", "code": 404,
            "message": 'pods "%s" not found' % name,
            "details": {"name": name, "kind": "pods"}})

    do_GET = do_POST = do_PATCH = do_DELETE = do_any


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
import os
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
