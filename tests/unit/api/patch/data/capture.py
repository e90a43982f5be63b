"""Re-capture the kubectl request bodies in this folder (run by hand, not by pytest).

    .venv/bin/python tests/unit/api/patch/data/capture.py [LABEL ...]

For each command below and each kubectl (1.33, 1.37) it starts a loopback HTTP server that
answers discovery, serves the objects ``autoscale`` reads, logs every POST body and answers it
415, then runs the command twice: once for real (the logged body becomes ``kVVV-LABEL.pb``) and,
where kubectl has it, once with ``-o json --dry-run=client`` (kubectl's JSON rendering of the
same object becomes ``kVVV-LABEL.json``, the oracle the tests compare the decoded body with).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
ROOT = HERE.parents[4]
KUBECTLS = {"k133": "/usr/lib/google-cloud-sdk/bin/kubectl.1.33", "k137": str(ROOT / ".venv/bin/kubectl")}

# group/version -> [(plural, kind, namespaced)]
RESOURCES: dict[str, list[tuple[str, str, bool]]] = {
    "v1": [("pods", "Pod", True), ("services", "Service", True), ("configmaps", "ConfigMap", True),
           ("secrets", "Secret", True), ("namespaces", "Namespace", False),
           ("serviceaccounts", "ServiceAccount", True), ("resourcequotas", "ResourceQuota", True),
           ("replicationcontrollers", "ReplicationController", True),
           ("persistentvolumeclaims", "PersistentVolumeClaim", True), ("endpoints", "Endpoints", True),
           ("nodes", "Node", False)],
    "apps/v1": [("deployments", "Deployment", True), ("replicasets", "ReplicaSet", True),
                ("statefulsets", "StatefulSet", True), ("daemonsets", "DaemonSet", True)],
    "batch/v1": [("jobs", "Job", True), ("cronjobs", "CronJob", True)],
    "policy/v1": [("poddisruptionbudgets", "PodDisruptionBudget", True)],
    "autoscaling/v1": [("horizontalpodautoscalers", "HorizontalPodAutoscaler", True)],
    "autoscaling/v2": [("horizontalpodautoscalers", "HorizontalPodAutoscaler", True)],
    "networking.k8s.io/v1": [("ingresses", "Ingress", True)],
    "scheduling.k8s.io/v1": [("priorityclasses", "PriorityClass", False)],
    "rbac.authorization.k8s.io/v1": [("roles", "Role", True), ("rolebindings", "RoleBinding", True),
                                     ("clusterroles", "ClusterRole", False),
                                     ("clusterrolebindings", "ClusterRoleBinding", False)],
    "authorization.k8s.io/v1": [("selfsubjectaccessreviews", "SelfSubjectAccessReview", False),
                                ("selfsubjectrulesreviews", "SelfSubjectRulesReview", False)],
    "authentication.k8s.io/v1": [("selfsubjectreviews", "SelfSubjectReview", False)],
    "discovery.k8s.io/v1": [("endpointslices", "EndpointSlice", True)],
}

# The Deployment `autoscale` reads before it writes the HorizontalPodAutoscaler.
DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "x", "namespace": "default", "uid": "u1"},
              "spec": {"selector": {"matchLabels": {"app": "x"}},
                       "template": {"metadata": {"labels": {"app": "x"}},
                                    "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}}

# label -> (kubectl arguments, whether `-o json --dry-run=client` renders the object)
COMMANDS: dict[str, tuple[list[str], bool]] = {
    "create-deployment": (["create", "deployment", "x", "--image=nginx", "--replicas=2", "--port=80"], True),
    "create-deployment-multi": (["create", "deployment", "m", "--image=nginx", "--image=busybox"], True),
    "create-job": (["create", "job", "j1", "--image=busybox", "--", "sh", "-c", "echo hi"], True),
    "create-cronjob": (["create", "cronjob", "c1", "--image=busybox", "--schedule=*/5 * * * *",
                        "--restart=OnFailure", "--", "date"], True),
    "create-service-clusterip": (["create", "service", "clusterip", "s1", "--tcp=80:8080",
                                  "--tcp=53:dns"], True),
    "create-service-headless": (["create", "service", "clusterip", "s0", "--clusterip=None"], True),
    "create-service-nodeport": (["create", "service", "nodeport", "s2", "--tcp=80:8080",
                                 "--node-port=30080"], True),
    "create-service-loadbalancer": (["create", "service", "loadbalancer", "s3", "--tcp=443:https"], True),
    "create-service-externalname": (["create", "service", "externalname", "s4",
                                     "--external-name=example.com", "--tcp=80"], True),
    "create-quota": (["create", "quota", "q1", "--hard=cpu=1,memory=1G,pods=2,services=3",
                      "--scopes=BestEffort"], True),
    "create-pdb-min": (["create", "pdb", "p1", "--selector=app=x", "--min-available=50%"], True),
    "create-pdb-max": (["create", "pdb", "p2", "--selector=app=x,tier in (a,b)",
                        "--max-unavailable=1"], True),
    "create-priorityclass": (["create", "priorityclass", "pc1", "--value=1000", "--description=high",
                              "--preemption-policy=Never", "--global-default"], True),
    "create-priorityclass-zero": (["create", "priorityclass", "pc0", "--value=0"], True),
    "create-ingress": (["create", "ingress", "i1", "--class=nginx",
                        "--rule=foo.com/bar*=svc1:8080,tls=my-cert", "--rule=/path=svc2:http",
                        "--default-backend=defsvc:http", "--annotation=a=b"], True),
    "create-role": (["create", "role", "r1", "--verb=get,list", "--resource=pods,deployments.apps",
                     "--resource-name=x"], True),
    "create-rolebinding": (["create", "rolebinding", "rb1", "--role=r1", "--user=alice", "--group=devs",
                            "--serviceaccount=default:sa1"], True),
    "create-clusterrole": (["create", "clusterrole", "cr1", "--verb=get", "--non-resource-url=/healthz",
                            "--verb=get", "--resource=nodes"], True),
    "create-clusterrole-aggregated": (["create", "clusterrole", "cr2",
                                       "--aggregation-rule=rbac.example.com/aggregate=true"], True),
    "create-clusterrolebinding": (["create", "clusterrolebinding", "crb1", "--clusterrole=cr1",
                                   "--user=bob"], True),
    "auth-can-i": (["auth", "can-i", "create", "pods", "--subresource=log", "-n", "ns1"], False),
    "auth-can-i-nonresource": (["auth", "can-i", "get", "/logs"], False),
    "auth-can-i-list": (["auth", "can-i", "--list", "-n", "ns1"], False),
    "auth-whoami": (["auth", "whoami"], False),
    "autoscale": (["autoscale", "deployment", "x", "--min=2", "--max=5", "--cpu-percent=80"], True),
}


def _resource_list(gv: str) -> dict[str, Any]:
    verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
    resources: list[dict[str, Any]] = []
    for p, k, ns in RESOURCES[gv]:
        resources.append({"name": p, "singularName": k.lower(), "namespaced": ns, "kind": k, "verbs": verbs})
        if p in ("deployments", "replicasets", "statefulsets"):
            resources.append({"name": f"{p}/scale", "singularName": "", "namespaced": True, "kind": "Scale",
                              "group": "autoscaling", "version": "v1", "verbs": ["get", "patch", "update"]})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}


def _group_list() -> dict[str, Any]:
    groups: dict[str, list[str]] = {}
    for gv in RESOURCES:
        if "/" in gv:
            g, v = gv.split("/")
            groups.setdefault(g, []).append(v)
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
        {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
         "preferredVersion": {"groupVersion": f"{g}/{vs[-1]}", "version": vs[-1]}}
        for g, vs in groups.items()]}


class _Handler(BaseHTTPRequestHandler):
    posts: list[tuple[str, str, bytes]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _json(self, code: int, obj: Any) -> None:
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/api":
            return self._json(200, {"kind": "APIVersions", "versions": ["v1"],
                                    "serverAddressByClientCIDRs": []})
        if path == "/apis":
            return self._json(200, _group_list())
        gv = path.removeprefix("/api/").removeprefix("/apis/")
        if gv in RESOURCES:
            return self._json(200, _resource_list(gv))
        if path == "/apis/apps/v1/namespaces/default/deployments/x":
            return self._json(200, DEPLOYMENT)
        self._json(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                         "reason": "NotFound", "code": 404, "message": f"{path} not found"})

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length", "0"))
        self.posts.append((self.path, self.headers.get("Content-Type", ""), self.rfile.read(n)))
        self._json(415, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                         "reason": "UnsupportedMediaType", "code": 415, "message": "captured"})


def _kubeconfig(port: int, d: str) -> str:
    path = os.path.join(d, "kubeconfig")
    Path(path).write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u", "namespace": "default"}}]}))
    return path


def main(labels: list[str]) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as d:
        env = {**os.environ, "KUBECONFIG": _kubeconfig(server.server_address[1], d),
               "KUBECACHEDIR": os.path.join(d, "cache"), "HOME": d}
        for label in labels or list(COMMANDS):
            args, oracle = COMMANDS[label]
            for version, kubectl in KUBECTLS.items():
                _Handler.posts.clear()
                r = subprocess.run([kubectl, *args], env=env, capture_output=True, timeout=60)
                bodies = [b for _p, ct, b in _Handler.posts if ct.startswith("application/vnd.kubernetes")]
                # autoscale falls back from autoscaling/v2 to v1 when the server refuses v2.
                if not bodies or (len(bodies) > 1 and label != "autoscale"):
                    sys.exit(f"{version} {label}: {len(bodies)} protobuf bodies {_Handler.posts} {r.stderr!r}")
                (HERE / f"{version}-{label}.pb").write_bytes(bodies[0])
                for i, extra in enumerate(bodies[1:], 1):
                    (HERE / f"{version}-{label}-fallback{i}.pb").write_bytes(extra)
                if oracle:
                    cut = args.index("--") if "--" in args else len(args)
                    dry = [*args[:cut], "-o", "json", "--dry-run=client", *args[cut:]]
                    r = subprocess.run([kubectl, *dry], env=env,
                                       capture_output=True, timeout=60, check=True)
                    (HERE / f"{version}-{label}.json").write_bytes(r.stdout)
                print(version, label, len(bodies[0]))
    server.shutdown()


if __name__ == "__main__":
    main(sys.argv[1:])
