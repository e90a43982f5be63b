"""kubectl's columns for Services, Endpoints, EndpointSlices; proxy subresource targets."""

from __future__ import annotations

import random
from typing import Any

import pytest

from podbay.api import service_printing as t
from podbay.api.printing import parse_rfc3339
from podbay.core.services import proxytarget as pt

NOW = parse_rfc3339("2026-01-01T01:00:00Z")


def svc(**spec: Any) -> dict[str, Any]:
    status = spec.pop("status", {})
    return {"metadata": {"name": "web", "creationTimestamp": "2026-01-01T00:55:00Z"}, "spec": spec, "status": status}


@pytest.mark.parametrize(("obj", "cells"), [
    (svc(type="ClusterIP", clusterIP="10.96.0.5", ports=[{"port": 80, "protocol": "TCP"}], selector={"b": "2", "a": "1"}),
     ["web", "ClusterIP", "10.96.0.5", "<none>", "80/TCP", "5m", "a=1,b=2"]),
    (svc(type="ClusterIP", clusterIP="None", ports=[]), ["web", "ClusterIP", "None", "<none>", "<none>", "5m", "<none>"]),
    (svc(type="NodePort", clusterIP="10.96.0.6", ports=[{"port": 80, "nodePort": 30080, "protocol": "TCP"},
                                                         {"port": 53, "nodePort": 30053, "protocol": "UDP"}]),
     ["web", "NodePort", "10.96.0.6", "<none>", "80:30080/TCP,53:30053/UDP", "5m", "<none>"]),
    (svc(type="LoadBalancer", clusterIP="10.96.0.7", ports=[{"port": 80, "nodePort": 31000, "protocol": "TCP"}]),
     ["web", "LoadBalancer", "10.96.0.7", "<pending>", "80:31000/TCP", "5m", "<none>"]),
    (svc(type="LoadBalancer", clusterIP="10.96.0.7", ports=[{"port": 80, "protocol": "TCP"}],
         status={"loadBalancer": {"ingress": [{"ip": "192.168.1.10"}]}}),
     ["web", "LoadBalancer", "10.96.0.7", "192.168.1.10", "80/TCP", "5m", "<none>"]),
    (svc(type="ExternalName", externalName="db.example.com"),
     ["web", "ExternalName", "<none>", "db.example.com", "<none>", "5m", "<none>"]),
])
def test_service_cells(obj: dict[str, Any], cells: list[str]) -> None:
    assert t.service_cells(obj, NOW) == cells


def test_endpoints_and_slices() -> None:
    ep = {"metadata": {"name": "web", "creationTimestamp": "2026-01-01T00:00:00Z"},
          "subsets": [{"addresses": [{"ip": f"10.88.0.{i}"} for i in range(2, 7)], "ports": [{"port": 8080}]}]}
    assert t.endpoints_cells(ep, NOW) == ["web", "10.88.0.2:8080,10.88.0.3:8080,10.88.0.4:8080 + 2 more...", "60m"]
    assert t.endpoints_string({"subsets": []}) == "<none>"
    sl = {"metadata": {"name": "web-abcde", "creationTimestamp": "2026-01-01T00:59:30Z"}, "addressType": "IPv4",
          "ports": [{"port": 8080}, {"port": 9090}],
          "endpoints": [{"addresses": ["10.88.0.2"]}, {"addresses": ["10.88.0.3"]}]}
    assert t.endpointslice_cells(sl, NOW) == ["web-abcde", "IPv4", "8080,9090", "10.88.0.2,10.88.0.3", "30s"]
    assert t.slice_ports({"ports": []}) == "<unset>" and t.slice_endpoints({"endpoints": []}) == "<unset>"


def test_proxy_targets() -> None:
    s = {"metadata": {"name": "web"}, "spec": {"ports": [{"name": "http", "port": 80}, {"name": "m", "port": 9}]}}
    sl = [{"ports": [{"name": "http", "port": 8080}, {"name": "m", "port": 9100}],
           "endpoints": [{"addresses": ["10.88.0.2"], "conditions": {"ready": True}},
                         {"addresses": ["10.88.0.3"], "conditions": {"ready": False}}]}]
    assert pt.split_name("https:web:m") == ("https", "web", "m")
    assert pt.service_target(s, sl, "http", rand=random.Random(1)).url("/x", "a=1") == "http://10.88.0.2:8080/x?a=1"
    assert pt.service_target(s, sl, "m").port == 9100
    with pytest.raises(pt.ServiceUnavailable, match='no endpoints available for service "web"'):
        pt.service_target(s, [], "")
    pod = {"metadata": {"name": "p"}, "status": {"podIP": "10.88.0.9"},
           "spec": {"containers": [{"ports": [{"name": "web", "containerPort": 8000}]}]}}
    assert pt.pod_target(pod, "").url("/") == "http://10.88.0.9:8000/"
    assert pt.pod_target(pod, "web").port == 8000 and pt.pod_target(pod, "81").port == 81


def test_proxy_paths_parse() -> None:
    from podbay.api.paths import parse

    r = parse("/api/v1/namespaces/default/services/https:web:443/proxy/a/b")
    assert r is not None and (r.plural, r.name, r.sub, r.tail) == ("services", "https:web:443", "proxy", "a/b")
    r2 = parse("/api/v1/namespaces/default/pods/p/proxy")
    assert r2 is not None and (r2.sub, r2.tail) == ("proxy", "")
    assert parse("/api/v1/namespaces/default/pods/p/log/extra") is None
