"""Busybox versions of the single-node Conformance tests for Services and DNS (WORKLOADS.md §12.2)
that tests/e2e/test_e2e_services.py does not already cover, each driven by kubectl 1.37 (the API
operations by the Python client, as the Conformance suite's client-go calls):

* Services "should serve multiport endpoints from pods" (and "a basic endpoint"): Endpoints and
  EndpointSlices follow pods being added and removed, named ports resolved per pod;
* Services "should be able to change the type from ExternalName to ClusterIP / ClusterIP to
  ExternalName / NodePort to ExternalName": ClusterIP and nodePort allocated or released, the DNS
  answer follows (A, then CNAME);
* Services "should have session affinity work for service with type clusterIP" and "should be able
  to switch session affinity": three ReplicationController replicas serving their hostname;
* DNS "should provide DNS for the cluster" (UDP from a pod, TCP from the host) and "should provide
  /etc/hosts entries for the cluster";
* Services "should complete a service status lifecycle", "should delete a collection of services",
  "should test the lifecycle of an Endpoint".

Not here: "same port and different protocols" and the UDP networking checks need a UDP server, which
busybox lacks (tests/integration/test_service_datapath.py covers that data path on the real parts).
"""

from __future__ import annotations

import json
import socket
import struct
import subprocess
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from kube import Kube

pytestmark = pytest.mark.root

SERVER = ("mkdir -p /www && echo $(hostname) > /www/index.html && "
          "exec busybox httpd -f -p 8080 -h /www")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:5]}"


def apply(kube: Kube, *objs: dict[str, Any]) -> None:
    kube.kubectl("apply", "-f", "-", input="\n---\n".join(json.dumps(o) for o in objs))


def wait(fn: Callable[[], Any], timeout: float = 60, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except (OSError, KeyError, IndexError, AssertionError, subprocess.SubprocessError) as exc:
            last = exc
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}: {last!r}")


def get(kube: Kube, *args: str) -> Any:
    return json.loads(kube.kubectl("get", *args, "-o", "json").stdout)


def pod(name: str, labels: dict[str, str], ports: list[dict[str, Any]], command: str = SERVER,
        **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
            "spec": {"terminationGracePeriodSeconds": 1, **spec, "containers": [{
                "name": "c", "image": "busybox:1.35", "command": ["sh", "-c", command], "ports": ports}]}}


def sleeper(name: str, **spec: Any) -> dict[str, Any]:
    return pod(name, {"client": name}, [], "sleep 3600", **spec)


def http_get(ip: str, port: int) -> str:
    with socket.create_connection((ip, port), timeout=2) as s:
        s.sendall(f"GET / HTTP/1.0\r\nHost: {ip}\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    return data.split(b"\r\n\r\n", 1)[-1].decode().strip()


def endpoints_by_pod(kube: Kube, svc: str) -> dict[str, list[tuple[str, int]]]:
    """pod name -> sorted (port name, port) from the v1 Endpoints; checked against the slices."""
    ep = get(kube, "endpoints", svc)
    out: dict[str, list[tuple[str, int]]] = {}
    for sub in ep.get("subsets") or []:
        for a in sub.get("addresses") or []:
            out.setdefault(a["targetRef"]["name"], []).extend((p.get("name", ""), p["port"]) for p in sub["ports"])
    slices = get(kube, "endpointslices", "-l", f"kubernetes.io/service-name={svc}")["items"]
    from_slices: dict[str, list[tuple[str, int]]] = {}
    for s in slices:
        for e in s.get("endpoints") or []:
            if e["conditions"].get("ready"):
                from_slices.setdefault(e["targetRef"]["name"], []).extend(
                    (p["name"], p["port"]) for p in s.get("ports") or [])
    got = {k: sorted(v) for k, v in out.items()}
    assert got == {k: sorted(v) for k, v in from_slices.items()}, (got, from_slices)
    return got


def test_multiport_endpoints_follow_pods(kube: Kube) -> None:
    app = unique("multi")
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": app},
           "spec": {"selector": {"app": app}, "ports": [{"name": "portname1", "port": 80, "targetPort": "svc1"},
                                                       {"name": "portname2", "port": 81, "targetPort": "svc2"}]}}
    apply(kube, svc)
    assert wait(lambda: get(kube, "endpoints", app), what="Endpoints") and endpoints_by_pod(kube, app) == {}
    p1, p2 = f"{app}-1", f"{app}-2"
    apply(kube, pod(p1, {"app": app}, [{"name": "svc1", "containerPort": 8080}]))
    kube.kubectl("wait", "--for=condition=Ready", f"pod/{p1}", "--timeout=60s")
    wait(lambda: endpoints_by_pod(kube, app) == {p1: [("portname1", 8080)]}, what="pod 1 on port 1")
    apply(kube, pod(p2, {"app": app}, [{"name": "svc2", "containerPort": 8080}]))
    kube.kubectl("wait", "--for=condition=Ready", f"pod/{p2}", "--timeout=60s")
    wait(lambda: endpoints_by_pod(kube, app) == {p1: [("portname1", 8080)], p2: [("portname2", 8080)]},
         what="both pods, each on its named port")
    kube.kubectl("delete", "pod", p1, "--grace-period=0", "--force", "--wait=true")
    wait(lambda: endpoints_by_pod(kube, app) == {p2: [("portname2", 8080)]}, what="pod 1 gone")
    kube.kubectl("delete", "pod", p2, "--grace-period=0", "--force", "--wait=true")
    wait(lambda: endpoints_by_pod(kube, app) == {}, what="no endpoints")
    kube.kubectl("delete", "svc", app)


def test_type_changes_allocate_and_release_with_dns_following(kube: Kube, agent: Any) -> None:
    name, client = unique("retype"), unique("dig")
    apply(kube, sleeper(client), {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                                  "spec": {"type": "ExternalName", "externalName": "foo.example.com"}})
    kube.kubectl("wait", "--for=condition=Ready", f"pod/{client}", "--timeout=60s")
    fqdn = f"{name}.default.svc.cluster.local"

    def lookup(*args: str) -> str:
        return kube.kubectl("exec", client, "--", "nslookup", *args, check=False).stdout

    wait(lambda: "foo.example.com" in lookup("-type=CNAME", fqdn), what="CNAME")
    assert "clusterIP" not in get(kube, "svc", name)["spec"]
    # ExternalName -> ClusterIP: an address is allocated and DNS answers it.
    kube.kubectl("patch", "svc", name, "--type=merge", "-p", json.dumps(
        {"spec": {"type": "ClusterIP", "externalName": None, "ports": [{"port": 80, "targetPort": 8080}]}}))
    ip = get(kube, "svc", name)["spec"]["clusterIP"]
    assert ip.startswith(agent.service_cidr.rsplit(".", 2)[0])
    wait(lambda: ip in lookup(fqdn), what="A record of the new ClusterIP")
    # ClusterIP -> NodePort -> ExternalName: the nodePort and the ClusterIP are released.
    kube.kubectl("patch", "svc", name, "--type=merge", "-p", '{"spec": {"type": "NodePort"}}')
    node_port = get(kube, "svc", name)["spec"]["ports"][0]["nodePort"]
    # As the Conformance test: only type and externalName change; the API server drops the
    # ClusterIPs and nodePorts the Service no longer needs (dropTypeDependentFields).
    kube.kubectl("patch", "svc", name, "--type=merge", "-p", json.dumps(
        {"spec": {"type": "ExternalName", "externalName": "bar.example.com"}}))
    spec = get(kube, "svc", name)["spec"]
    assert spec["type"] == "ExternalName" and not spec.get("clusterIP") and not spec.get("clusterIPs"), spec
    assert "nodePort" not in spec["ports"][0], spec
    wait(lambda: "bar.example.com" in lookup("-type=CNAME", fqdn), what="CNAME after the change")
    # Both are free again: another Service can have them.
    other = unique("reuse")
    apply(kube, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": other},
                 "spec": {"type": "NodePort", "clusterIP": ip, "ports": [{"port": 80, "nodePort": node_port}]}})
    assert get(kube, "svc", other)["spec"]["clusterIP"] == ip
    kube.kubectl("delete", "svc", name, other)
    kube.kubectl("delete", "pod", client, "--grace-period=0", "--force", "--wait=true")


def test_session_affinity_client_ip_and_switching_it(kube: Kube) -> None:
    app = unique("affinity")
    rc = {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": app},
          "spec": {"replicas": 3, "selector": {"app": app}, "template": {
              "metadata": {"labels": {"app": app}},
              "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                  "name": "c", "image": "busybox:1.35", "command": ["sh", "-c", SERVER],
                  "ports": [{"containerPort": 8080}]}]}}}}
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": app},
           "spec": {"selector": {"app": app}, "sessionAffinity": "ClientIP",
                    "ports": [{"port": 80, "targetPort": 8080}]}}
    apply(kube, rc, svc)
    wait(lambda: get(kube, "rc", app)["status"].get("readyReplicas") == 3, what="3 ready replicas")
    ip = get(kube, "svc", app)["spec"]["clusterIP"]
    wait(lambda: len(endpoints_by_pod(kube, app)) == 3, what="3 endpoints")
    wait(lambda: http_get(ip, 80), what="the ClusterIP")
    hosts = [http_get(ip, 80) for _ in range(15)]
    assert len(set(hosts)) == 1, hosts   # every request to the same backend
    assert get(kube, "svc", app)["spec"]["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"] == 10800
    kube.kubectl("patch", "svc", app, "--type=merge", "-p", '{"spec": {"sessionAffinity": "None"}}')
    wait(lambda: len({http_get(ip, 80) for _ in range(15)}) > 1, what="several backends without affinity")
    kube.kubectl("patch", "svc", app, "--type=merge", "-p", '{"spec": {"sessionAffinity": "ClientIP"}}')
    wait(lambda: len({http_get(ip, 80) for _ in range(15)}) == 1, what="one backend with affinity again")
    kube.kubectl("delete", "svc", app)
    kube.kubectl("delete", "rc", app)


def _dns_query_tcp(server: str, name: str) -> list[str]:
    """One A query over TCP (RFC 1035 4.2.2 length prefix); the answer addresses."""
    q = struct.pack(">HHHHHH", 0x5EED, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
    with socket.create_connection((server, 53), timeout=3) as s:
        s.sendall(struct.pack(">H", len(q)) + q)
        data = b""
        while len(data) < 2 or len(data) < 2 + struct.unpack(">H", data[:2])[0]:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    msg = data[2:]
    an = struct.unpack(">H", msg[6:8])[0]
    off = len(q)                       # the question is echoed back as sent
    out = []
    for _ in range(an):
        off += 2 if msg[off] & 0xC0 == 0xC0 else msg.index(b"\0", off) + 1 - off
        rtype, _, _, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
        off += 10
        if rtype == 1:
            out.append(socket.inet_ntoa(msg[off:off + rdlen]))
        off += rdlen
    return out


def test_dns_for_the_cluster_over_udp_and_tcp_and_hosts_entries(kube: Kube) -> None:
    sub, client = unique("sub"), unique("dns")
    headless = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": sub},
                "spec": {"clusterIP": "None", "selector": {"client": client}, "ports": [{"port": 80}]}}
    apply(kube, headless, sleeper(client, hostname="dns-querier-1", subdomain=sub))
    kube.kubectl("wait", "--for=condition=Ready", f"pod/{client}", "--timeout=60s")
    k8s_ip = get(kube, "svc", "kubernetes")["spec"]["clusterIP"]
    dns_ip = get(kube, "svc", "kube-dns", "-n", "kube-system")["spec"]["clusterIP"]
    # UDP, from the pod, through the pod's resolv.conf nameserver.
    out = wait(lambda: kube.kubectl("exec", client, "--", "nslookup", "kubernetes.default.svc.cluster.local").stdout,
               what="nslookup")
    assert k8s_ip in out and dns_ip in out
    # TCP, to the kube-dns ClusterIP from the host.
    assert _dns_query_tcp(dns_ip, "kubernetes.default.svc.cluster.local") == [k8s_ip]
    # /etc/hosts: the pod's FQDN <hostname>.<subdomain>.<ns>.svc.cluster.local and its hostname.
    pod_ip = get(kube, "pod", client)["status"]["podIP"]
    hosts = kube.kubectl("exec", client, "--", "cat", "/etc/hosts").stdout
    line = [ln.split() for ln in hosts.splitlines() if ln.startswith(pod_ip)]
    assert line and line[0][1:] == [f"dns-querier-1.{sub}.default.svc.cluster.local", "dns-querier-1"], hosts
    assert kube.kubectl("exec", client, "--", "hostname").stdout.strip() == "dns-querier-1"
    kube.kubectl("delete", "pod", client, "--grace-period=0", "--force", "--wait=true")
    kube.kubectl("delete", "svc", sub)


def test_service_status_collection_and_endpoint_lifecycle(kube: Kube) -> None:
    from kubernetes import client, watch

    api = client.CoreV1Api(kube.python_client())
    label = unique("coll")
    for i in range(3):
        api.create_namespaced_service("default", {
            "metadata": {"name": f"{label}-{i}", "labels": {"test-service-static": "true", "set": label}},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "targetPort": 80}]}})
    name = f"{label}-0"
    # status lifecycle: patch the status, read it back through /status.
    api.patch_namespaced_service_status(name, "default", {"status": {
        "loadBalancer": {"ingress": [{"ip": "203.0.113.1"}]},
        "conditions": [{"type": "StatusUpdate", "status": "True", "reason": "E2E", "message": "Set from e2e test",
                        "lastTransitionTime": "2024-01-01T00:00:00Z"}]}})
    st = api.read_namespaced_service_status(name, "default").status
    assert [c.type for c in st.conditions or []] == ["StatusUpdate"]
    # deletecollection by label selector.
    assert len(api.list_namespaced_service("default", label_selector=f"set={label}").items) == 3
    api.delete_collection_namespaced_service("default", label_selector=f"set={label}")
    wait(lambda: api.list_namespaced_service("default", label_selector=f"set={label}").items == [],
         what="the collection gone")
    # An Endpoints object of its own: create, watch, patch, delete.
    ep_name = unique("ep")
    rv = api.list_namespaced_endpoints("default").metadata.resource_version
    api.create_namespaced_endpoints("default", {
        "metadata": {"name": ep_name, "labels": {"test-endpoint-static": "true"}},
        "subsets": [{"addresses": [{"ip": "10.0.0.24"}], "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}]})
    api.patch_namespaced_endpoints(ep_name, "default", {"metadata": {"labels": {"test-service": "patched"}},
                                                        "subsets": [{"addresses": [{"ip": "10.0.0.25"}],
                                                                     "ports": [{"name": "http-test", "port": 8080}]}]})
    got = api.read_namespaced_endpoints(ep_name, "default")
    assert got.metadata.labels["test-service"] == "patched" and got.subsets[0].addresses[0].ip == "10.0.0.25"
    api.delete_collection_namespaced_endpoints("default", label_selector="test-endpoint-static=true")
    seen = []
    for ev in watch.Watch().stream(api.list_namespaced_endpoints, "default", resource_version=rv,
                                   label_selector="test-endpoint-static=true", timeout_seconds=10):
        seen.append(ev["type"])
        if ev["type"] == "DELETED":
            break
    assert seen == ["ADDED", "MODIFIED", "DELETED"], seen


def test_endpoints_of_a_selectorless_service_are_mirrored(kube: Kube) -> None:
    """EndpointSliceMirroring "should mirror a custom Endpoints resource through create update and
    delete", and the data path follows the mirrored slice: the ClusterIP reaches the address."""
    name, backend = unique("mirror"), unique("mirror-pod")
    apply(kube, pod(backend, {"mirror": backend}, [{"containerPort": 8080}]),
          {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
           "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
    kube.kubectl("wait", "--for=condition=Ready", f"pod/{backend}", "--timeout=60s")
    pod_ip = get(kube, "pod", backend)["status"]["podIP"]

    def endpoints(ip: str) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name},
                "subsets": [{"addresses": [{"ip": ip}], "ports": [{"name": "http", "port": 8080}]}]}

    def mirrored() -> list[dict[str, Any]]:
        items = get(kube, "endpointslices", "-l", f"kubernetes.io/service-name={name}")["items"]
        assert all(s["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] ==
                   "endpointslicemirroring-controller.k8s.io" for s in items), items
        return list(items)

    apply(kube, endpoints("192.0.2.7"))
    wait(lambda: [e["addresses"] for s in mirrored() for e in s["endpoints"]] == [["192.0.2.7"]], what="mirrored")
    apply(kube, endpoints(pod_ip))
    wait(lambda: [e["addresses"] for s in mirrored() for e in s["endpoints"]] == [[pod_ip]], what="updated")
    ip = get(kube, "svc", name)["spec"]["clusterIP"]
    assert wait(lambda: http_get(ip, 80), what="the ClusterIP through the mirrored slice") == backend
    kube.kubectl("delete", "endpoints", name)
    wait(lambda: mirrored() == [], what="the mirrored slice gone")
    kube.kubectl("delete", "svc", name)
    kube.kubectl("delete", "pod", backend, "--grace-period=0", "--force", "--wait=true")
