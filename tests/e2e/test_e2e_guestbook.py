"""The guestbook, shaped as the kubernetes/website tutorial (redis leader + followers + a frontend),
on images pulled from the loopback test registry: bare pods for now (Deployments are the workloads
lane's), the Services as written. The frontend stand-in reads and writes redis only through the
Service names (cluster DNS + ClusterIPs); the host reaches it through its NodePort and its
LoadBalancer address."""

from __future__ import annotations

import json
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_harness import IMAGE_TAR, REPO
from e2e_harness import Agent as Harness
from kube import Kube

pytestmark = pytest.mark.root

IMAGES = REPO / "_work" / "images"

CGI = """#!/bin/sh
echo "Content-Type: text/plain"
echo
case "$QUERY_STRING" in
  cmd=set\\&value=*) redis-cli -h redis-leader set messages "${QUERY_STRING#*value=}" ;;
  *) redis-cli -h redis-follower get messages ;;
esac
"""


def redis_pod(name: str, role: str, args: list[str] | None = None) -> dict[str, Any]:
    c: dict[str, Any] = {"name": role, "image": "redis:7", "ports": [{"containerPort": 6379}]}
    if args:
        c["args"] = args
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "redis", "role": role,
                                                                                     "tier": "backend"}},
            "spec": {"terminationGracePeriodSeconds": 1, "containers": [c]}}


def redis_service(name: str, role: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "labels": {"app": "redis", "role": role, "tier": "backend"}},
            "spec": {"ports": [{"port": 6379, "targetPort": 6379}],
                     "selector": {"app": "redis", "role": role, "tier": "backend"}}}


MANIFESTS = [
    redis_service("redis-leader", "leader"),
    redis_pod("redis-leader", "leader"),
    redis_service("redis-follower", "follower"),
    redis_pod("redis-follower-1", "follower", ["redis-server", "--replicaof", "redis-leader", "6379"]),
    redis_pod("redis-follower-2", "follower", ["redis-server", "--replicaof", "redis-leader", "6379"]),
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "frontend-cgi"}, "data": {"guestbook": CGI}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "frontend", "labels": {"app": "guestbook"}},
     "spec": {"type": "LoadBalancer", "ports": [{"port": 80}], "selector": {"app": "guestbook", "tier": "frontend"}}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "frontend", "labels": {"app": "guestbook",
                                                                                     "tier": "frontend"}},
     "spec": {"terminationGracePeriodSeconds": 1, "volumes": [{"name": "cgi", "configMap": {
         "name": "frontend-cgi", "defaultMode": 0o755}}],
              "containers": [{"name": "php-redis", "image": "redis:7", "command": ["busybox", "httpd", "-f",
                                                                                   "-p", "80", "-h", "/www"],
                              "ports": [{"containerPort": 80}],
                              "volumeMounts": [{"name": "cgi", "mountPath": "/www/cgi-bin"}]}]}},
]


@pytest.fixture
def bed_agent(tmp_path: Path) -> Iterator[tuple[Harness, Kube]]:
    if not (IMAGES / "redis.tar").exists():
        pytest.skip("no application test images (make test-images)")
    from podbay.images import testregistry

    bed = testregistry.start_bed(Path(tempfile.mkdtemp(prefix="svc-bed-", dir=tmp_path)), IMAGES, ("plain",))
    a = Harness(tmp_path)
    a.root.mkdir(parents=True)
    a.pb("image", "load", str(IMAGE_TAR))
    a.extra_args = ["--registries-conf", str(bed.registries_conf)]
    a.start()
    k = Kube(a.socket, a.base)
    k.start()
    try:
        yield a, k
    finally:
        k.stop()
        a.cleanup()
        bed.stop()


def get(ip: str, port: int, path: str) -> str:
    with socket.create_connection((ip, port), timeout=3) as s:
        s.sendall(f"GET {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    # busybox httpd passes the CGI's own header block through: the body is after the last blank line.
    return data.decode().replace("\r\n", "\n").split("\n\n")[-1].strip()


def test_guestbook(bed_agent: tuple[Harness, Kube], tmp_path: Path) -> None:
    agent, kube = bed_agent
    path = tmp_path / "guestbook.yaml"
    path.write_text("\n---\n".join(json.dumps(o) for o in MANIFESTS) + "\n")
    kube.kubectl("apply", "-f", str(path))
    for p in ("redis-leader", "redis-follower-1", "redis-follower-2", "frontend"):
        kube.kubectl("wait", "--for=condition=Ready", f"pod/{p}", "--timeout=120s")
    svc = json.loads(kube.kubectl("get", "svc", "frontend", "-o", "json").stdout)
    node_port = svc["spec"]["ports"][0]["nodePort"]
    value = f"hello-{uuid.uuid4().hex[:6]}"
    deadline = time.monotonic() + 60
    wrote = read = ""
    while time.monotonic() < deadline:
        try:
            wrote = wrote if wrote == "OK" else get(agent.gateway, node_port, f"/cgi-bin/guestbook?cmd=set&value={value}")
            read = get(agent.gateway, 80, "/cgi-bin/guestbook?cmd=get")   # the LoadBalancer address
        except OSError:
            pass
        if wrote == "OK" and read == value:
            break
        time.sleep(0.5)
    assert (wrote, read) == ("OK", value)
    # Both followers replicate from the leader, found by its Service name.
    for f in ("redis-follower-1", "redis-follower-2"):
        out = kube.kubectl("exec", f, "--", "redis-cli", "info", "replication").stdout
        assert "master_link_status:up" in out
    rows = kube.kubectl("get", "svc").stdout
    assert "redis-leader" in rows and "redis-follower" in rows and f"80:{node_port}/TCP" in rows
