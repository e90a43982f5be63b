"""Service create/update/status as the REST storage does them, and the bootstrap objects."""

from __future__ import annotations

import random

import pytest

from podbay.core.services import bootstrap, servicerest
from podbay.core.services.allocation import ServiceNetwork
from podbay.errors import ValidationError

NET = ServiceNetwork.from_flags("10.96.0.0/12")


def test_create_update_and_errors() -> None:
    web = servicerest.create({"metadata": {"name": "web", "namespace": "default", "uid": "1"},
                              "spec": {"type": "NodePort", "ports": [{"port": 80}]}}, [], NET, random.Random(1))
    assert web["spec"]["clusterIP"] and web["spec"]["ports"][0]["nodePort"]
    assert web["status"] == {"loadBalancer": {}}
    again = servicerest.update({"metadata": web["metadata"], "spec": {"type": "NodePort", "ports": [{"port": 80}]}},
                               web, [], NET)
    assert again["spec"] == web["spec"]
    with pytest.raises(ValidationError) as exc:
        servicerest.create({"metadata": {"name": "x", "namespace": "default"},
                            "spec": {"clusterIP": web["spec"]["clusterIP"], "ports": [{"port": 80}]}}, [web], NET)
    assert str(exc.value).startswith('Service "x" is invalid: spec.clusterIPs: Invalid value: []string{')
    assert str(exc.value).endswith("provided IP is already allocated")
    with pytest.raises(ValidationError, match=r'Service "y" is invalid: spec.ports: Required value'):
        servicerest.create({"metadata": {"name": "y", "namespace": "default"}, "spec": {}}, [], NET)


def test_status_update_keeps_the_spec() -> None:
    lb = servicerest.create({"metadata": {"name": "lb", "namespace": "default"},
                             "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}, [], NET, random.Random(2))
    status = bootstrap.load_balancer_status(lb, ["10.1.2.3"])
    assert status == {"loadBalancer": {"ingress": [{"ip": "10.1.2.3", "ipMode": "VIP"}]}}
    out = servicerest.update_status({**lb, "spec": {"type": "ClusterIP"}, "status": status}, lb)
    assert out["spec"] == lb["spec"] and out["status"] == status
    assert bootstrap.load_balancer_status(out, ["10.1.2.3"]) is None


def test_bootstrap_services_validate_and_hold_the_well_known_ips() -> None:
    k = bootstrap.kubernetes_service(NET)
    d = bootstrap.kube_dns_service(NET)
    assert k["spec"]["clusterIP"] == "10.96.0.1" and d["spec"]["clusterIP"] == "10.96.0.10"
    stored_k = servicerest.create(k, [], NET)
    stored_d = servicerest.create(d, [stored_k], NET)
    assert stored_d["spec"]["clusterIPs"] == ["10.96.0.10"]
    sl, ep = bootstrap.kube_dns_endpoints(NET, "10.88.0.1")
    assert sl["endpoints"][0]["addresses"] == ["10.88.0.1"] and ep["subsets"][0]["addresses"] == [{"ip": "10.88.0.1"}]
    ksl, _ = bootstrap.kubernetes_endpoints(NET, "10.88.0.1", 6443)
    assert ksl["ports"] == [{"name": "https", "port": 6443, "protocol": "TCP"}]
