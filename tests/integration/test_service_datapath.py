"""The service data path on the real parts: pods on a CNI bridge reach each other through podbay's
nftables table (ClusterIP, NodePort, LoadBalancer address, hairpin, REJECT, affinity, UDP), the
table is changed incrementally, rebuilt without duplicates, and removed without a trace."""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Iterator

import pytest

from podbay.core.services.proxyrules import ConntrackFlush

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(not shutil.which("nft") or not os.path.exists("/usr/lib/cni/bridge"),
                       reason="needs nftables and the CNI plugins"),
]

from svclab import Lab, sh  # noqa: E402

HTTP = [{"name": "http", "port": 80, "protocol": "TCP"}]
HTTP_EP = [{"name": "http", "port": 8080, "protocol": "TCP"}]


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    lab = Lab(3)
    try:
        for p in ("p1", "p2"):
            lab.serve(p, 8080)
            lab.serve(p, 5353, "udp")
        lab.serve("p0", 8080)
        for p in ("p0", "p1", "p2"):
            lab.wait_serving(p, 8080)
        yield lab
    finally:
        table, bridge = lab.table, lab.bridge
        lab.close()
        assert sh("nft", "list", "table", "ip", table).returncode != 0
        assert sh("ip", "link", "show", bridge).returncode != 0


def test_cluster_ip_spreads_and_host_reaches_it(lab: Lab) -> None:
    web = lab.service("web", 10, HTTP)
    lab.sync([web], [lab.slice("web", HTTP_EP, ["p1", "p2"])])
    got = lab.client("p0", "tcp", lab.vip(10), 80, n=40)
    assert set(got) == {"p1", "p2"}, got
    # From the host (nat output hook; the source is not a pod address, so it is masqueraded).
    assert set(lab.client_host("tcp", lab.vip(10), 80, n=10)) <= {"p1", "p2"}


def test_hairpin_a_pod_reaches_itself_through_its_service(lab: Lab) -> None:
    self_svc = lab.service("self", 11, HTTP)
    lab.sync([self_svc], [lab.slice("self", HTTP_EP, ["p0"])])
    assert lab.client("p0", "tcp", lab.vip(11), 80, n=3) == ["p0"] * 3


def test_no_endpoints_and_unknown_ports_are_refused(lab: Lab) -> None:
    lab.sync([lab.service("none", 12, HTTP)], [])
    t0 = time.monotonic()
    assert lab.client("p0", "tcp", lab.vip(12), 80) == ["REFUSED"]
    assert time.monotonic() - t0 < 5
    assert lab.client_host("tcp", lab.vip(12), 80) == ["REFUSED"]
    web = lab.service("web", 10, HTTP)
    lab.sync([web], [lab.slice("web", HTTP_EP, ["p1"])])
    assert lab.client("p0", "tcp", lab.vip(10), 81) == ["REFUSED"]


def test_node_port_and_load_balancer_address(lab: Lab) -> None:
    svc = lab.service("np", 13, [{"port": 80, "protocol": "TCP", "nodePort": 30080}], type="LoadBalancer")
    svc["status"] = {"loadBalancer": {"ingress": [{"ip": lab.gateway, "ipMode": "VIP"}]}}
    lab.sync([svc], [lab.slice("np", [{"name": "", "port": 8080, "protocol": "TCP"}], ["p2"])])
    assert lab.client_host("tcp", lab.gateway, 30080, n=2) == ["p2", "p2"]
    assert lab.client_host("tcp", lab.gateway, 80, n=2) == ["p2", "p2"]  # ServiceLB: host address, service port
    assert lab.client("p0", "tcp", lab.gateway, 30080) == ["p2"]


def test_external_traffic_policy_local_keeps_the_client_ip(lab: Lab) -> None:
    # The echo server replies with its own name; the source it sees is what conntrack shows.
    svc = lab.service("loc", 14, [{"port": 80, "protocol": "TCP", "nodePort": 30081}], type="NodePort",
                      externalTrafficPolicy="Local")
    lab.sync([svc], [lab.slice("loc", [{"name": "", "port": 8080, "protocol": "TCP"}], ["p1"])])
    assert lab.client("p0", "tcp", lab.gateway, 30081) == ["p1"]
    ct = sh("conntrack", "-L", "-p", "tcp", "--orig-dst", lab.gateway, "--orig-port-dst", "30081").stdout
    assert f"src={lab.pods['p0'].ip}" in ct and f"dst={lab.pods['p0'].ip}" in ct  # reply goes to the pod itself


def test_session_affinity_pins_a_client(lab: Lab) -> None:
    svc = lab.service("sticky", 15, HTTP, sessionAffinity="ClientIP",
                      sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}})
    lab.sync([svc], [lab.slice("sticky", HTTP_EP, ["p1", "p2"])])
    got = lab.client("p0", "tcp", lab.vip(15), 80, n=20)
    assert len(set(got)) == 1 and got[0] in ("p1", "p2")


def test_incremental_change_rebuild_and_established_connections(lab: Lab) -> None:
    web = lab.service("web", 10, HTTP)
    lab.sync([web], [lab.slice("web", HTTP_EP, ["p1", "p2"])], full=True)
    rules = lab.rule_count()
    # An established connection through the ClusterIP survives a full rebuild of the table.
    conn = socket.create_connection((lab.vip(10), 80), timeout=3)
    conn.sendall(b"one")
    first = conn.recv(100).split()[0]
    script = lab.sync([web], [lab.slice("web", HTTP_EP, ["p1", "p2"])], full=True)
    assert script.startswith("add table")
    assert lab.rule_count() == rules  # rebuilt, not duplicated
    conn.sendall(b"two")
    assert conn.recv(100).split()[0] == first
    conn.close()
    # Dropping one endpoint is a small incremental transaction, and only p1 answers afterwards.
    diff = lab.sync([web], [lab.slice("web", HTTP_EP, ["p1"])])
    assert "add table" not in diff and "service-ips" not in diff
    assert set(lab.client("p0", "tcp", lab.vip(10), 80, n=15)) == {"p1"}


def test_udp_service_and_conntrack_flush(lab: Lab) -> None:
    dns = lab.service("udp", 16, [{"name": "d", "port": 53, "protocol": "UDP"}])
    ports = [{"name": "d", "port": 5353, "protocol": "UDP"}]
    lab.sync([dns], [lab.slice("udp", ports, ["p1", "p2"])])
    assert set(lab.client("p0", "udp", lab.vip(16), 53, n=20)) <= {"p1", "p2"}
    lab.sync([dns], [lab.slice("udp", ports, ["p2"])])
    lab.nft.flush_conntrack([ConntrackFlush("udp", orig_dst=lab.vip(16), dst_nat=lab.pods["p1"].ip)])
    ct = sh("conntrack", "-L", "-p", "udp", "--orig-dst", lab.vip(16)).stdout
    assert lab.pods["p1"].ip not in ct
    assert set(lab.client("p0", "udp", lab.vip(16), 53, n=10)) == {"p2"}


def test_agent_restart_rebuilds_without_duplicates_and_keeps_connections(lab: Lab) -> None:
    from podbay.agent.proxier import Proxier

    web = lab.service("web", 10, HTTP)
    slices = [lab.slice("web", HTTP_EP, ["p1", "p2"])]
    first = Proxier(lab.nft, lab.cfg, min_sync_period=0)
    first.update([web], slices)
    assert first.sync()
    rules = lab.rule_count()
    conn = socket.create_connection((lab.vip(10), 80), timeout=3)
    conn.sendall(b"a")
    backend = conn.recv(100).split()[0]
    # The agent restarts: a new proxier finds the table, rebuilds it in one transaction.
    second = Proxier(lab.nft, lab.cfg, min_sync_period=0)
    second.update([web], slices)
    assert second.sync() and second.full_syncs == 1
    assert lab.rule_count() == rules
    conn.sendall(b"b")
    assert conn.recv(100).split()[0] == backend
    conn.close()
    lab.ruleset = second._applied


def test_same_port_two_protocols_then_one_removed(lab: Lab) -> None:
    # Conformance "should serve endpoints on same port and different protocols".
    ports = [{"name": "tcp", "port": 80, "protocol": "TCP"}, {"name": "udp", "port": 80, "protocol": "UDP"}]
    both = lab.service("dual", 17, ports)
    sl = lab.slice("dual", [{"name": "tcp", "port": 8080, "protocol": "TCP"},
                            {"name": "udp", "port": 5353, "protocol": "UDP"}], ["p1"])
    lab.sync([both], [sl])
    assert lab.client("p0", "tcp", lab.vip(17), 80) == ["p1"]
    assert lab.client("p0", "udp", lab.vip(17), 80) == ["p1"]
    tcp_only = lab.service("dual", 17, ports[:1])
    lab.sync([tcp_only], [lab.slice("dual", [{"name": "tcp", "port": 8080, "protocol": "TCP"}], ["p1"])])
    lab.nft.flush_conntrack([ConntrackFlush("udp", orig_dst=lab.vip(17))])
    assert lab.client("p0", "tcp", lab.vip(17), 80) == ["p1"]
    assert lab.client("p0", "udp", lab.vip(17), 80) == ["REFUSED"]  # cluster-ips-check rejects the port
