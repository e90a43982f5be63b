"""Services, Endpoints and EndpointSlices through the registry, and the service controller over it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from podbay.agent.hub import Hub
from podbay.agent.namespaces import NamespaceController
from podbay.agent.proxier import Proxier
from podbay.agent.registry import Registry
from podbay.agent.services import ServiceController, ServiceSettings, service_env_for
from podbay.agent.wiring import build_registry
from podbay.api.query import WriteOptions
from podbay.core.services import proxyrules as pr
from podbay.core.services.allocation import ServiceNetwork
from podbay.errors import ValidationError
from podbay.network.nftables import FakeNetfilter
from podbay.store.db import Store
from podbay.store.repository import Repository

NET = ServiceNetwork.from_flags("10.96.0.0/12")


@pytest.fixture
def env(tmp_path: Path) -> tuple[Registry, Hub]:
    hub = Hub()
    registry = build_registry(Repository(Store(":memory:"), hub.publish_change), "node1", tmp_path, service_net=NET)
    NamespaceController(registry, hub).ensure()
    return registry, hub


def svc(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}], **spec}}


def test_create_allocates_and_validates(env: Any) -> None:
    registry, _ = env
    rt = registry.kind("Service")
    a = registry.create(rt, "default", svc("a", type="NodePort"))
    assert NET.ips.index(a["spec"]["clusterIP"]) is not None and a["spec"]["ports"][0]["nodePort"] >= 30000
    assert a["spec"]["ipFamilies"] == ["IPv4"] and a["status"] == {"loadBalancer": {}}
    with pytest.raises(ValidationError, match="provided IP is already allocated"):
        registry.create(rt, "default", svc("b", clusterIP=a["spec"]["clusterIP"]))
    with pytest.raises(ValidationError, match="provided port is already allocated"):
        registry.create(rt, "default", svc("c", type="NodePort",
                                           ports=[{"port": 80, "nodePort": a["spec"]["ports"][0]["nodePort"]}]))
    dry = registry.create(rt, "default", svc("d"), WriteOptions(dry_run=True))
    assert dry["spec"]["clusterIP"] and registry.repo.peek("Service", "default", "d") is None
    # An update that omits the allocated values keeps them; a changed clusterIP is refused.
    body = svc("a", type="NodePort")
    body["metadata"]["resourceVersion"] = a["metadata"]["resourceVersion"]
    same, _ = registry.update(rt, "default", "a", body)
    assert same["spec"]["clusterIP"] == a["spec"]["clusterIP"]
    bad = {**same, "spec": {**same["spec"], "clusterIP": "10.96.0.77", "clusterIPs": ["10.96.0.77"]}}
    with pytest.raises(ValidationError, match="may not change once set"):
        registry.update(rt, "default", "a", bad)


def test_endpoint_slices_are_validated(env: Any) -> None:
    registry, _ = env
    rt = registry.kind("EndpointSlice", "discovery.k8s.io", "v1")
    with pytest.raises(ValidationError, match="must be a valid IPv4 address"):
        registry.create(rt, "default", {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                                         "metadata": {"name": "x"}, "addressType": "IPv4",
                                         "endpoints": [{"addresses": ["nope"]}]})


def pod(name: str, ip: str, ready: bool = True) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "busybox",
                                     "ports": [{"name": "http", "containerPort": 8080}]}]}}


def test_controller_writes_slices_status_rules(env: Any) -> None:
    registry, hub = env
    nf = FakeNetfilter()
    cfg = pr.ProxyConfig(table="podbay-t", pod_cidr="10.88.0.0/16", service_cidr="10.96.0.0/12", node_name="node1")
    settings = ServiceSettings(NET, "10.88.0.1", api_port=6443, ingress_ips=("10.88.0.1",))
    ctl = ServiceController(registry, hub, settings, Proxier(nf, cfg), None)
    ctl.ensure_bootstrap()
    repo = registry.repo
    assert repo.get("Service", "default", "kubernetes")["spec"]["clusterIP"] == "10.96.0.1"
    assert repo.get("Service", "kube-system", "kube-dns")["spec"]["clusterIP"] == "10.96.0.10"
    assert repo.get("EndpointSlice", "kube-system", "kube-dns")["endpoints"][0]["addresses"] == ["10.88.0.1"]
    ctl.ensure_bootstrap()  # idempotent
    registry.create(registry.kind("Service"), "default", svc("web", type="LoadBalancer"))
    p = registry.create(registry.kind("Pod"), "default", pod("web-1", "10.88.0.5"))
    # The pod becomes ready with an IP (what the pod worker reports).
    status = {**p["status"], "podIP": "10.88.0.5", "phase": "Running",
              "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
    registry.update(registry.kind("Pod"), "default", "web-1", {**p, "status": status}, subresource="status",
                    decoded=True)
    assert asyncio.run(ctl.sync_once())
    [sl] = [s.obj for s in repo.list("EndpointSlice", "default")
            if s.obj["metadata"]["labels"].get("kubernetes.io/service-name") == "web"]
    assert sl["metadata"]["name"].startswith("web-") and sl["endpoints"][0]["addresses"] == ["10.88.0.5"]
    assert sl["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert repo.get("Endpoints", "default", "web")["subsets"][0]["addresses"][0]["ip"] == "10.88.0.5"
    web = repo.get("Service", "default", "web")
    assert web["status"]["loadBalancer"]["ingress"] == [{"ip": "10.88.0.1", "ipMode": "VIP"}]
    assert ctl.proxier is not None and ctl.proxier.sync()
    script = nf.scripts[-1]
    assert f"{web['spec']['clusterIP']} . tcp . 80 : goto service-" in script
    assert "10.88.0.1 . tcp . 80 : goto external-" in script   # ServiceLB on the host address
    assert "10.96.0.10 . udp . 53 : goto service-" in script    # kube-dns -> the agent's DNS listener
    env_vars = service_env_for(repo, {"metadata": {"namespace": "default"}, "spec": {}})
    assert env_vars["WEB_SERVICE_HOST"] == web["spec"]["clusterIP"] and env_vars["KUBERNETES_SERVICE_PORT"] == "443"
