"""The guestbook, shaped as the kubernetes/website tutorial (redis leader + followers + a frontend),
on images pulled from the loopback test registry: bare pods for now (Deployments are the workloads
lane's), the Services as written. The frontend stand-in reads and writes redis only through the
Service names (cluster DNS + ClusterIPs); the host reaches it through its NodePort and its
LoadBalancer address."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_harness import Agent as Harness
from e2e_harness import app_bed
from kube import Kube

pytestmark = pytest.mark.root

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
    with app_bed(tmp_path, ("redis",)) as bed:
        yield bed


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


WP_CGI = """#!/bin/sh
echo "Content-Type: text/plain"
echo
mysql -h "$WORDPRESS_DB_HOST" -uroot -p"$WORDPRESS_DB_PASSWORD" -N -e \\
  "CREATE DATABASE IF NOT EXISTS wp; CREATE TABLE IF NOT EXISTS wp.posts (t VARCHAR(64));
   INSERT INTO wp.posts VALUES ('${QUERY_STRING#*=}'); SELECT COUNT(*) FROM wp.posts;" 2>&1
"""


def wordpress_manifests() -> list[dict[str, Any]]:
    """The tutorial's shape: a headless `wordpress-mysql` Service, a PVC for the data, the root
    password from a Secret, and a LoadBalancer `wordpress` in front of the web tier."""
    labels = {"app": "wordpress", "tier": "mysql"}
    return [
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "mysql-pass"},
         "stringData": {"password": "s3cret-pw"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "wordpress-mysql", "labels": {"app": "wordpress"}},
         "spec": {"ports": [{"port": 3306}], "selector": labels, "clusterIP": "None"}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "mysql-pv-claim"},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "wordpress-mysql", "labels": labels},
         "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
             "name": "mysql", "image": "mysql:8.0", "ports": [{"containerPort": 3306, "name": "mysql"}],
             "env": [{"name": "MYSQL_ROOT_PASSWORD",
                      "valueFrom": {"secretKeyRef": {"name": "mysql-pass", "key": "password"}}}],
             "volumeMounts": [{"name": "mysql-persistent-storage", "mountPath": "/var/lib/mysql"}]}],
             "volumes": [{"name": "mysql-persistent-storage",
                          "persistentVolumeClaim": {"claimName": "mysql-pv-claim"}}]}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "wp-cgi"}, "data": {"post": WP_CGI}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "wordpress", "labels": {"app": "wordpress"}},
         "spec": {"ports": [{"port": 80}], "selector": {"app": "wordpress", "tier": "frontend"},
                  "type": "LoadBalancer"}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "wordpress",
                                                         "labels": {"app": "wordpress", "tier": "frontend"}},
         "spec": {"terminationGracePeriodSeconds": 1,
                  "volumes": [{"name": "cgi", "configMap": {"name": "wp-cgi", "defaultMode": 0o755}}],
                  "containers": [{
                      "name": "wordpress", "image": "mysql:8.0",
                      "command": ["busybox", "httpd", "-f", "-p", "80", "-h", "/www"],
                      "env": [{"name": "WORDPRESS_DB_HOST", "value": "wordpress-mysql"},
                              {"name": "WORDPRESS_DB_PASSWORD",
                               "valueFrom": {"secretKeyRef": {"name": "mysql-pass", "key": "password"}}}],
                      "ports": [{"containerPort": 80, "name": "wordpress"}],
                      "volumeMounts": [{"name": "cgi", "mountPath": "/www/cgi-bin"}]}]}},
    ]


def test_wordpress_and_mysql(bed_agent: tuple[Harness, Kube], tmp_path: Path) -> None:
    agent, kube = bed_agent
    path = tmp_path / "wordpress.yaml"
    path.write_text("\n---\n".join(json.dumps(o) for o in wordpress_manifests()) + "\n")
    kube.kubectl("apply", "-f", str(path))
    for p in ("wordpress-mysql", "wordpress"):
        kube.kubectl("wait", "--for=condition=Ready", f"pod/{p}", "--timeout=180s")
    svc = json.loads(kube.kubectl("get", "svc", "wordpress", "-o", "json").stdout)
    node_port = svc["spec"]["ports"][0]["nodePort"]
    # The headless Service resolves to the database pod (no proxying), as the tutorial relies on.
    db_ip = json.loads(kube.kubectl("get", "pod", "wordpress-mysql", "-o", "json").stdout)["status"]["podIP"]
    counts: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(counts) < 2:
        try:
            port = node_port if not counts else 80   # first the NodePort, then the LoadBalancer address
            body = get(agent.gateway, port, f"/cgi-bin/post?t=p{len(counts)}")
            if body.strip().isdigit():
                counts.append(body.strip())
                continue
        except OSError:
            pass
        time.sleep(1)
    assert counts == ["1", "2"], counts
    lookup = kube.kubectl("exec", "wordpress", "--", "nslookup", "wordpress-mysql.default.svc.cluster.local").stdout
    assert db_ip in lookup
    row = [ln.split() for ln in kube.kubectl("get", "svc", "wordpress").stdout.splitlines()[1:]][0]
    assert row[1] == "LoadBalancer" and row[3] == agent.gateway and row[4] == f"80:{node_port}/TCP"
