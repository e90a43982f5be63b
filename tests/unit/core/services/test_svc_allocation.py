"""ClusterIP/NodePort allocation: ranges, the static sub-range and the API server's messages."""

from __future__ import annotations

import random
from typing import Any

import pytest

from podbay.api.services import prepare_for_create, prepare_for_update
from podbay.core.services.allocation import AllocationFailed, IPRange, PortRange, ServiceNetwork, allocate

NET = ServiceNetwork()


def svc(spec: dict[str, Any], name: str = "web", uid: str = "u1") -> dict[str, Any]:
    return prepare_for_create({"metadata": {"name": name, "namespace": "default", "uid": uid}, "spec": spec})


@pytest.mark.parametrize(("cidr", "offset", "size", "first"), [
    ("10.96.0.0/12", 256, 2**20 - 2, "10.96.0.1"),
    ("10.0.0.0/24", 16, 254, "10.0.0.1"),
    ("10.0.0.0/28", 0, 14, "10.0.0.1"),
    ("10.5.0.0/16", 256, 65534, "10.5.0.1"),
    ("10.5.0.0/20", 256, 4094, "10.5.0.1"),
    ("10.5.0.0/22", 64, 1022, "10.5.0.1"),
])
def test_ip_range_geometry(cidr: str, offset: int, size: int, first: str) -> None:
    r = IPRange(cidr)
    assert (r.offset, r.size, r.at(0)) == (offset, size, first)


def test_well_known_addresses() -> None:
    assert (NET.kubernetes_ip, NET.dns_ip) == ("10.96.0.1", "10.96.0.10")
    assert ServiceNetwork.from_flags("10.43.0.0/16").dns_ip == "10.43.0.10"


def test_dynamic_allocation_prefers_the_upper_range() -> None:
    rand = random.Random(7)
    r = IPRange("10.0.0.0/24")
    got = {r.allocate_next(set(), rand) for _ in range(200)}
    assert all(r.index(ip) >= 16 for ip in got)  # type: ignore[operator]


def test_dynamic_allocation_falls_back_to_the_static_band() -> None:
    r = IPRange("10.0.0.0/24")
    used = {r.at(i) for i in range(16, r.size)}
    ip = r.allocate_next(used, random.Random(1))
    assert r.index(ip) < 16  # type: ignore[operator]
    with pytest.raises(ValueError, match="range is full"):
        r.allocate_next({r.at(i) for i in range(r.size)}, random.Random(1))


@pytest.mark.parametrize(("text", "base", "size", "offset"), [
    ("30000-32767", 30000, 2768, 86), ("30000+99", 30000, 100, 16), ("40000-40009", 40000, 10, 0),
])
def test_port_ranges(text: str, base: int, size: int, offset: int) -> None:
    p = PortRange.parse(text)
    assert (p.base, p.size, p.offset, str(p)) == (base, size, offset, f"{base}-{base + size - 1}")


def test_cluster_ip_requested_and_taken() -> None:
    other = allocate(svc({"clusterIP": "10.96.0.50", "ports": [{"port": 80}]}, "a", "ua"), None, [], NET)
    assert other["spec"]["clusterIPs"] == ["10.96.0.50"]
    with pytest.raises(AllocationFailed) as exc:
        allocate(svc({"clusterIP": "10.96.0.50", "ports": [{"port": 80}]}, "b", "ub"), None, [other], NET)
    assert str(exc.value) == ('Service "b" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.50"}: '
                              "failed to allocate IP 10.96.0.50: provided IP is already allocated")


def test_cluster_ip_out_of_range() -> None:
    with pytest.raises(AllocationFailed) as exc:
        allocate(svc({"clusterIP": "1.2.3.4", "ports": [{"port": 80}]}), None, [], NET)
    assert str(exc.value.causes[0]) == (
        'spec.clusterIPs: Invalid value: []string{"1.2.3.4"}: failed to allocate IP 1.2.3.4: the provided IP '
        "(1.2.3.4) is not in the valid range. The range of valid IPs is 10.96.0.0/12")


def test_families_and_policy_are_set() -> None:
    out = allocate(svc({"ports": [{"port": 80}]}), None, [], NET, random.Random(3))
    assert out["spec"]["ipFamilies"] == ["IPv4"] and out["spec"]["ipFamilyPolicy"] == "SingleStack"
    assert NET.ips.index(out["spec"]["clusterIP"]) >= 256  # type: ignore[operator]


@pytest.mark.parametrize(("spec", "msg"), [
    ({"ipFamilies": ["IPv6"], "ports": [{"port": 80}]},
     'spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster'),
    ({"ipFamilyPolicy": "RequireDualStack", "ports": [{"port": 80}]},
     'spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services'),
])
def test_family_errors(spec: dict[str, Any], msg: str) -> None:
    with pytest.raises(AllocationFailed) as exc:
        allocate(svc(spec), None, [], NET)
    assert msg in [str(c) for c in exc.value.causes]


def test_headless_and_external_name_get_no_ip() -> None:
    h = allocate(svc({"clusterIP": "None", "ports": [{"port": 80}]}), None, [], NET)
    assert h["spec"]["clusterIPs"] == ["None"]
    e = allocate(svc({"type": "ExternalName", "externalName": "x.example"}), None, [], NET)
    assert "clusterIP" not in e["spec"] and "ipFamilies" not in e["spec"]


def test_node_ports_share_a_number_across_protocols() -> None:
    out = allocate(svc({"type": "NodePort", "ports": [{"name": "t", "port": 53, "protocol": "TCP"},
                                                      {"name": "u", "port": 53, "protocol": "UDP"},
                                                      {"name": "h", "port": 80}]}), None, [], NET, random.Random(5))
    nps = [p["nodePort"] for p in out["spec"]["ports"]]
    assert nps[0] == nps[1] != nps[2]
    assert all(30086 <= n <= 32767 for n in nps)


def test_node_port_requested_taken_and_out_of_range() -> None:
    a = allocate(svc({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}, "a", "ua"), None, [], NET)
    with pytest.raises(AllocationFailed) as exc:
        allocate(svc({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}, "b", "ub"), None, [a], NET)
    assert str(exc.value.causes[0]) == "spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated"
    with pytest.raises(AllocationFailed) as exc:
        allocate(svc({"type": "NodePort", "ports": [{"port": 80, "nodePort": 80}]}, "c", "uc"), None, [a], NET)
    assert str(exc.value.causes[0]) == ("spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid "
                                        "range. The range of valid ports is 30000-32767")


def test_load_balancer_without_node_ports_and_health_check_port() -> None:
    out = allocate(svc({"type": "LoadBalancer", "allocateLoadBalancerNodePorts": False, "ports": [{"port": 80}]}),
                   None, [], NET)
    assert "nodePort" not in out["spec"]["ports"][0]
    local = allocate(svc({"type": "LoadBalancer", "externalTrafficPolicy": "Local", "ports": [{"port": 80}]}),
                     None, [], NET, random.Random(2))
    assert local["spec"]["healthCheckNodePort"] != local["spec"]["ports"][0]["nodePort"]


def test_update_keeps_its_own_values() -> None:
    old = allocate(svc({"type": "NodePort", "ports": [{"port": 80}]}), None, [], NET, random.Random(9))
    new = prepare_for_update({"metadata": old["metadata"], "spec": {"type": "NodePort", "ports": [{"port": 80}]}}, old)
    out = allocate(new, old, [], NET, random.Random(10))
    assert out["spec"]["clusterIP"] == old["spec"]["clusterIP"]
    assert out["spec"]["ports"][0]["nodePort"] == old["spec"]["ports"][0]["nodePort"]


def test_external_name_to_cluster_ip_allocates() -> None:
    old = allocate(svc({"type": "ExternalName", "externalName": "x.example"}), None, [], NET)
    new = prepare_for_update({"metadata": old["metadata"], "spec": {"type": "ClusterIP", "ports": [{"port": 80}]}}, old)
    out = allocate(new, old, [], NET, random.Random(1))
    assert out["spec"]["clusterIP"] and out["spec"]["clusterIPs"] == [out["spec"]["clusterIP"]]
