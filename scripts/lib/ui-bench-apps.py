#!/usr/bin/env python3
"""Writes N Applications (with a status as a controller leaves it) and one app of M ConfigMaps
straight to the API server, for scripts/bench-ui. One keep-alive connection per worker thread;
the client certificate comes from the kubeconfig. Usage: ui-bench-apps.py KUBECONFIG N M WORKDIR
"""
import base64, http.client, json, os, ssl, sys, threading, hashlib

kubeconfig, n, m, work = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
text = open(kubeconfig).read()


def field(key):
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    sys.exit(f"{key} not in {kubeconfig}")


server = field("server").removeprefix("https://")
host, port = server.rsplit(":", 1)
for name, key in (("ca", "certificate-authority-data"), ("crt", "client-certificate-data"), ("key", "client-key-data")):
    with open(os.path.join(work, name), "wb") as f:
        f.write(base64.b64decode(field(key)))
ctx = ssl.create_default_context(cafile=os.path.join(work, "ca"))
ctx.load_cert_chain(os.path.join(work, "crt"), os.path.join(work, "key"))
NAMESPACES = 20


def conn():
    return http.client.HTTPSConnection(host, int(port), context=ctx)


def call(c, method, path, body, ctype="application/json"):
    c.request(method, path, body=json.dumps(body), headers={"Content-Type": ctype})
    r = c.getresponse()
    data = r.read()
    if r.status >= 300 and not (method == "POST" and r.status == 409):
        sys.exit(f"{method} {path}: {r.status} {data[:300]!r}")


def app(i):
    ns = f"ui-bench-{i % NAMESPACES:02d}"
    sha = hashlib.sha1(str(i).encode()).hexdigest()
    sync = "OutOfSync" if i % 10 == 0 else "Synced"
    health = ["Healthy"] * 8 + ["Progressing", "Degraded"]
    return ns, f"app-{i:05d}", {
        "apiVersion": "moor.dev/v1alpha1", "kind": "Application",
        "metadata": {"name": f"app-{i:05d}", "namespace": ns,
                     "labels": {"team": f"team-{i % 7}", "tier": "web" if i % 2 else "api"}},
        "spec": {"project": "default",
                 "source": {"repoURL": f"https://git.example.com/team-{i % 7}/apps.git",
                            "targetRevision": "main", "path": f"apps/app-{i:05d}/overlays/production"},
                 "destination": {"server": "https://kubernetes.default.svc", "namespace": f"prod-{i % 50}"},
                 "syncPolicy": {"automated": {"prune": True, "selfHeal": True}}},
    }, {"status": {
        "sync": {"status": sync, "revision": sha,
                 "revisionMetadata": {"author": "CI Bot <ci@example.com>", "date": "2026-12-01T10:00:00Z",
                                      "message": f"deploy app-{i:05d}: bump image to 1.{i % 100}.0"}},
        "health": {"status": health[i % 10], "message": None if health[i % 10] == "Healthy" else "Deployment web: 0/1 ready"},
        "resources": [{"group": "", "version": "v1", "kind": "ConfigMap", "namespace": f"prod-{i % 50}", "name": f"cm-{k}",
                       "status": "Synced", "health": {"status": "Healthy", "message": None}} for k in range(3)],
        "operationState": {"phase": "Succeeded", "message": "synced 3 objects (0 changed)",
                           "startedAt": "2026-12-01T10:00:01Z", "finishedAt": "2026-12-01T10:00:02Z"},
        "history": [{"id": 0, "revision": sha, "deployedAt": "2026-12-01T10:00:02Z",
                     "source": {"repoURL": f"https://git.example.com/team-{i % 7}/apps.git", "targetRevision": "main",
                                "path": f"apps/app-{i:05d}/overlays/production"}}],
    }}


def worker(ids):
    c = conn()
    for i in ids:
        ns, name, obj, status = app(i)
        call(c, "POST", f"/apis/moor.dev/v1alpha1/namespaces/{ns}/applications", obj)
        call(c, "PATCH", f"/apis/moor.dev/v1alpha1/namespaces/{ns}/applications/{name}/status", status,
             "application/merge-patch+json")


c = conn()
for k in range(NAMESPACES):
    call(c, "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"ui-bench-{k:02d}"}})
call(c, "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ui-bench-big"}})
threads = [threading.Thread(target=worker, args=(range(t, n, 8),)) for t in range(8)]
for t in threads:
    t.start()

# The big app: M ConfigMaps it manages, in its destination namespace.
for k in range(m):
    call(c, "POST", "/api/v1/namespaces/ui-bench-big/configmaps",
         {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": f"cm-{k:03d}", "namespace": "ui-bench-big",
                       "annotations": {"moor.dev/tracking-id": "ui-bench-big_big"}},
          "data": {"k": "v" * 64}})
big = {"apiVersion": "moor.dev/v1alpha1", "kind": "Application",
       "metadata": {"name": "big", "namespace": "ui-bench-big"},
       "spec": {"source": {"repoURL": "https://git.example.com/big.git", "targetRevision": "main", "path": "big"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "ui-bench-big"}}}
call(c, "POST", "/apis/moor.dev/v1alpha1/namespaces/ui-bench-big/applications", big)
call(c, "PATCH", "/apis/moor.dev/v1alpha1/namespaces/ui-bench-big/applications/big/status", {"status": {
    "sync": {"status": "Synced", "revision": "0" * 40},
    "health": {"status": "Healthy"},
    "resources": [{"group": "", "version": "v1", "kind": "ConfigMap", "namespace": "ui-bench-big", "name": f"cm-{k:03d}",
                   "status": "Synced", "health": {"status": "Healthy"}} for k in range(m)]}},
     "application/merge-patch+json")
for t in threads:
    t.join()
print(f"wrote {n} Applications in {NAMESPACES} namespaces and an app of {m} ConfigMaps")
