"""Services end to end with kubectl 1.37: apply a Service and its pods unchanged, see the
EndpointSlices and Endpoints, reach the pods through the ClusterIP, the NodePort and the
LoadBalancer address, resolve names with the cluster DNS from a pod, and read the service
variables; REJECT without endpoints; everything gone with the Service."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from kube import Kube

pytestmark = pytest.mark.root

SERVER = ("mkdir -p /www && echo $(hostname) > /www/index.html && "
          "exec busybox httpd -f -p 8080 -h /www")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:5]}"


def backend(name: str, app: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": app}},
            "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                "name": "web", "image": "busybox:1.35", "command": ["sh", "-c", SERVER],
                "ports": [{"name": "http", "containerPort": 8080}]}]}}


def service(name: str, app: str, type_: str = "ClusterIP") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"type": type_, "selector": {"app": app},
                     "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}


def apply(kube: Kube, tmp_path: Path, objs: list[dict[str, Any]]) -> str:
    path = tmp_path / f"{uuid.uuid4().hex}.yaml"
    path.write_text("\n---\n".join(json.dumps(o) for o in objs) + "\n")
    return kube.kubectl("apply", "-f", str(path)).stdout


def http_get(ip: str, port: int, timeout: float = 2.0) -> str:
    with socket.create_connection((ip, port), timeout=timeout) as s:
        s.sendall(f"GET / HTTP/1.0\r\nHost: {ip}\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    return data.split(b"\r\n\r\n", 1)[-1].decode().strip()


def wait(pred: Any, timeout: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except (OSError, subprocess.CalledProcessError, KeyError, IndexError, AssertionError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}: {last!r}")


def test_service_end_to_end(agent: Any, kube: Kube, tmp_path: Path) -> None:
    app = unique("web")
    pods = [unique(app) for _ in range(2)]
    apply(kube, tmp_path, [service(app, app, "LoadBalancer"), *(backend(p, app) for p in pods)])
    for p in pods:
        kube.kubectl("wait", "--for=condition=Ready", f"pod/{p}", "--timeout=60s")
    svc = json.loads(kube.kubectl("get", "svc", app, "-o", "json").stdout)
    ip, node_port = svc["spec"]["clusterIP"], svc["spec"]["ports"][0]["nodePort"]
    assert ip.startswith(agent.service_cidr.rsplit(".", 2)[0])
    # kubectl get svc: the columns kubectl prints; the LB address is this host's (ServiceLB).
    row = wait(lambda: [ln for ln in kube.kubectl("get", "svc", app).stdout.splitlines() if ln.startswith(app)
                        and agent.gateway in ln], what="LoadBalancer ingress")[0].split()
    assert row[:5] == [app, "LoadBalancer", ip, agent.gateway, f"80:{node_port}/TCP"]
    # EndpointSlice and Endpoints follow the pods.
    def slice_ready() -> bool:
        out = json.loads(kube.kubectl("get", "endpointslices", "-l", f"kubernetes.io/service-name={app}",
                                      "-o", "json").stdout)
        eps = [e for s in out["items"] for e in s.get("endpoints") or [] if e["conditions"].get("ready")]
        return len(eps) == 2
    wait(slice_ready, what="two ready endpoints")
    assert "8080" in kube.kubectl("get", "ep", app).stdout
    described = kube.kubectl("describe", "svc", app).stdout
    assert f"IP:                       {ip}" in described and ":8080" in described
    # The host reaches the pods through the ClusterIP, the NodePort and the LoadBalancer address.
    # The rules follow the slice after the proxier's rate limit (minSyncPeriod 1 s, as kube-proxy): both
    # backends answer within a few rounds, not necessarily the moment the slice shows them.
    def both_backends() -> bool:
        seen = {http_get(ip, 80) for _ in range(20)}
        assert seen <= set(pods), seen
        return seen == set(pods)
    wait(both_backends, timeout=15, what="both backends through the ClusterIP")
    assert wait(lambda: http_get(agent.gateway, node_port), what="NodePort") in pods
    assert wait(lambda: http_get(agent.gateway, 80), what="LB address") in pods
    # From a pod: cluster DNS (search path), the ClusterIP by name, and the service variables.
    client = unique("client")
    apply(kube, tmp_path, [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": client},
                            "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                                "name": "c", "image": "busybox:1.35", "command": ["sleep", "3600"]}]}}])
    kube.kubectl("wait", "--for=condition=Ready", f"pod/{client}", "--timeout=60s")
    out = wait(lambda: kube.kubectl("exec", client, "--", "wget", "-qO-", f"http://{app}/").stdout.strip(),
               what="wget by service name")
    assert out in pods
    resolv = kube.kubectl("exec", client, "--", "cat", "/etc/resolv.conf").stdout
    assert "search default.svc.cluster.local svc.cluster.local cluster.local" in resolv
    assert "options ndots:5" in resolv
    env = kube.kubectl("exec", client, "--", "env").stdout
    var = app.upper().replace("-", "_")
    assert f"{var}_SERVICE_HOST={ip}" in env and f"{var}_PORT=tcp://{ip}:80" in env
    ns_out = kube.kubectl("exec", client, "--", "nslookup", f"{app}.default.svc.cluster.local").stdout
    assert ip in ns_out
    # services/proxy and pods/proxy (kubectl proxy's paths).
    via_svc = kube.kubectl("get", "--raw", f"/api/v1/namespaces/default/services/{app}:http/proxy/").stdout.strip()
    assert via_svc in pods
    via_pod = kube.kubectl("get", "--raw", f"/api/v1/namespaces/default/pods/{pods[0]}:8080/proxy/index.html").stdout
    assert via_pod.strip() == pods[0]
    # Without endpoints the ClusterIP refuses at once.
    kube.kubectl("delete", "pod", *pods, "--grace-period=0", "--force", "--wait=true")
    def refused() -> bool:
        try:
            http_get(ip, 80, timeout=1)
        except ConnectionRefusedError:
            return True
        return False
    wait(refused, what="REJECT without endpoints")
    kube.kubectl("delete", "svc", app)
    wait(lambda: f"{app}" not in kube.kubectl("get", "endpointslices").stdout, what="slices gone")
    kube.kubectl("delete", "pod", client, "--grace-period=0", "--force", "--wait=true")


def test_bootstrap_services(kube: Kube, agent: Any) -> None:
    out = kube.kubectl("get", "svc", "-n", "kube-system", "kube-dns", "-o", "json").stdout
    dns = json.loads(out)
    assert dns["spec"]["clusterIP"].endswith(".10")
    assert [p["name"] for p in dns["spec"]["ports"]] == ["dns", "dns-tcp"]
    wide = kube.kubectl("get", "svc", "-A", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAMESPACE", "NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"]
    assert any(ln.split()[:2] == ["kube-system", "kube-dns"] for ln in wide)
    k8s = [ln.split() for ln in wide if ln.split()[:2] == ["default", "kubernetes"]]
    assert k8s and k8s[0][3].endswith(".1") and k8s[0][5] == "443/TCP"
    ep = kube.kubectl("get", "endpointslices", "kubernetes", "-o", "json").stdout
    assert json.loads(ep)["ports"] == [{"name": "https", "port": 6443, "protocol": "TCP"}]


def _rules(table: str) -> int:
    out = subprocess.run(["nft", "-j", "list", "table", "ip", table], capture_output=True, text=True)
    return sum(1 for item in json.loads(out.stdout)["nftables"] if "rule" in item) if out.returncode == 0 else -1


def test_agent_restart_keeps_connections_and_rebuilds_the_table(tmp_path: Path) -> None:
    """An agent of its own: an established TCP connection through a ClusterIP survives SIGKILL of
    the agent and its restart; the table is rebuilt with the same rules, not duplicated; --cleanup
    removes it."""
    from e2e_harness import IMAGE_TAR
    from e2e_harness import Agent as Harness

    a = Harness(tmp_path)
    a.root.mkdir(parents=True)
    a.pb("image", "load", str(IMAGE_TAR))
    a.start()
    table = f"podbay-{a.bridge}"
    k = Kube(a.socket, a.base)
    k.start()
    try:
        echo = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "echo", "labels": {"app": "echo"}},
                "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                    "name": "c", "image": "busybox:1.35", "ports": [{"containerPort": 7000}],
                    "command": ["sh", "-c", "while true; do busybox nc -l -p 7000 -e cat; done"]}]}}
        svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "echo"},
               "spec": {"selector": {"app": "echo"}, "ports": [{"port": 7000}]}}
        apply(k, tmp_path, [svc, echo])
        k.kubectl("wait", "--for=condition=Ready", "pod/echo", "--timeout=60s")
        ip = json.loads(k.kubectl("get", "svc", "echo", "-o", "json").stdout)["spec"]["clusterIP"]
        conn = wait(lambda: socket.create_connection((ip, 7000), timeout=2), what="ClusterIP connect")
        conn.settimeout(5)
        conn.sendall(b"one\n")
        assert conn.recv(100) == b"one\n"
        rules = wait(lambda: _rules(table) if _rules(table) > 0 else None, what="rules")
        a.kill()   # SIGKILL: nothing is torn down
        conn.sendall(b"two\n")
        assert conn.recv(100) == b"two\n"   # the data path does not depend on the agent process
        a.start()
        wait(lambda: k.kubectl("get", "svc", "echo", check=False).returncode == 0, what="agent back")
        # The first (full) sync rebuilds the same rules (stale chains go a second later).
        wait(lambda: _rules(table) == rules, timeout=10, what=f"{rules} rules again, not {_rules(table)}")
        conn.sendall(b"three\n")
        assert conn.recv(100) == b"three\n"
        conn.close()
    finally:
        k.stop()
        a.cleanup()
        assert _rules(table) == -1


def test_dns_records_from_a_busybox_pod(kube: Kube, tmp_path: Path) -> None:
    """Busybox versions of the DNS Conformance checks: headless Service A records and a pod's
    hostname.subdomain record, SRV of a named port, PTR of a ClusterIP, ExternalName CNAME, the
    dashed pod A record, partially qualified names through the search path."""
    sub = unique("sub")
    web = unique("websvc")
    ext = unique("ext")
    member = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": unique("m"), "labels": {"app": sub}},
              "spec": {"hostname": "web-0", "subdomain": sub, "terminationGracePeriodSeconds": 1,
                       "containers": [{"name": "c", "image": "busybox:1.35", "command": ["sleep", "3600"],
                                       "ports": [{"name": "http", "containerPort": 80}]}]}}
    headless = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": sub},
                "spec": {"clusterIP": "None", "selector": {"app": sub}, "ports": [{"name": "http", "port": 80}]}}
    regular = service(web, sub)
    external = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": ext},
                "spec": {"type": "ExternalName", "externalName": "db.example.org"}}
    client = unique("dig")
    probe = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": client},
             "spec": {"terminationGracePeriodSeconds": 1,
                      "containers": [{"name": "c", "image": "busybox:1.35", "command": ["sleep", "3600"]}]}}
    apply(kube, tmp_path, [headless, regular, external, member, probe])
    for p in (member["metadata"]["name"], client):
        kube.kubectl("wait", "--for=condition=Ready", f"pod/{p}", "--timeout=60s")
    member_ip = json.loads(kube.kubectl("get", "pod", member["metadata"]["name"], "-o", "json").stdout)[
        "status"]["podIP"]
    cluster_ip = json.loads(kube.kubectl("get", "svc", web, "-o", "json").stdout)["spec"]["clusterIP"]

    def lookup(*args: str) -> str:
        return kube.kubectl("exec", client, "--", "nslookup", *args, check=False).stdout

    def resolve(name: str) -> str:
        """Through the libc resolver and resolv.conf's search list (busybox nslookup has no search)."""
        return kube.kubectl("exec", client, "--", "ping", "-c", "1", "-W", "1", name, check=False).stdout

    wait(lambda: member_ip in lookup(f"{sub}.default.svc.cluster.local"), what="headless A")
    assert member_ip in lookup(f"web-0.{sub}.default.svc.cluster.local")
    assert member_ip in resolve(f"web-0.{sub}")                          # search path
    assert f"({cluster_ip})" in resolve(web) and f"({cluster_ip})" in resolve(f"{web}.default")
    assert f"({cluster_ip})" in resolve(f"{web}.default.svc")
    assert f"web-0.{sub}.default.svc.cluster.local" in lookup("-type=SRV", f"_http._tcp.{sub}.default.svc.cluster.local")
    assert f"{web}.default.svc.cluster.local" in lookup("-type=SRV", f"_http._tcp.{web}.default.svc.cluster.local")
    assert f"{web}.default.svc.cluster.local" in lookup("-type=PTR", ".".join(reversed(cluster_ip.split("."))) +
                                                       ".in-addr.arpa")
    assert "db.example.org" in lookup("-type=CNAME", f"{ext}.default.svc.cluster.local")
    dashed = member_ip.replace(".", "-")
    assert member_ip in lookup(f"{dashed}.default.pod.cluster.local")
    assert "NXDOMAIN" in lookup("nope.default.svc.cluster.local") or "can't find" in lookup("nope.default.svc.cluster.local")
    kube.kubectl("delete", "pod", member["metadata"]["name"], client, "--grace-period=0", "--force", "--wait=true")
    kube.kubectl("delete", "svc", sub, web, ext)
