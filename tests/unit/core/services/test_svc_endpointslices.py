"""EndpointSlice and Endpoints reconciliation for a Service and its pods."""

from __future__ import annotations

from typing import Any

import pytest

from podbay.core.services import endpointslices as es


def pod(name: str, ip: str | None, ready: bool = True, *, labels: dict[str, str] | None = None,
        phase: str = "Running", deleting: bool = False, ports: list[dict[str, Any]] | None = None,
        hostname: str = "", subdomain: str = "", ready_at: str = "2026-01-01T00:00:00Z") -> dict[str, Any]:
    md: dict[str, Any] = {"name": name, "namespace": "default", "uid": f"uid-{name}", "labels": labels or {"app": "web"}}
    if deleting:
        md["deletionTimestamp"] = "2026-01-01T00:01:00Z"
    spec: dict[str, Any] = {"nodeName": "node1", "containers": [{"name": "c", "ports": ports or []}]}
    if hostname:
        spec["hostname"] = hostname
    if subdomain:
        spec["subdomain"] = subdomain
    status: dict[str, Any] = {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": ready_at}]}
    if ip:
        status["podIP"] = ip
    return {"metadata": md, "spec": spec, "status": status}


def service(ports: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "default", "uid": "svc-uid", "labels": {"tier": "front"},
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"selector": {"app": "web"}, "clusterIP": "10.96.0.5",
                     "ports": ports if ports is not None else [{"name": "http", "port": 80, "targetPort": 8080,
                                                                "protocol": "TCP"}], **spec}}


@pytest.mark.parametrize(("p", "ready", "serving", "terminating"), [
    (pod("a", "10.88.0.2"), True, True, False),
    (pod("a", "10.88.0.2", ready=False), False, False, False),
    (pod("a", "10.88.0.2", deleting=True), False, True, True),
    (pod("a", "10.88.0.2", ready=False, deleting=True), False, False, True),
])
def test_conditions(p: dict[str, Any], ready: bool, serving: bool, terminating: bool) -> None:
    ep = es.pod_to_endpoint(p, service())
    assert ep["conditions"] == {"ready": ready, "serving": serving, "terminating": terminating}
    assert ep["targetRef"] == {"kind": "Pod", "namespace": "default", "name": "a", "uid": "uid-a"}
    assert ep["nodeName"] == "node1"


def test_publish_not_ready_addresses_makes_everything_ready() -> None:
    ep = es.pod_to_endpoint(pod("a", "10.88.0.2", ready=False, deleting=True), service(publishNotReadyAddresses=True))
    assert ep["conditions"]["ready"] is True


def test_which_pods_are_published() -> None:
    pods = [pod("a", "10.88.0.2"), pod("b", None), pod("c", "10.88.0.4", phase="Succeeded"),
            pod("d", "10.88.0.5", labels={"app": "db"}), pod("e", "10.88.0.6", deleting=True)]
    plan = es.reconcile_slices(service(), pods, [])
    assert len(plan.create) == 1
    s = plan.create[0]
    assert [e["addresses"] for e in s["endpoints"]] == [["10.88.0.2"], ["10.88.0.6"]]
    assert s["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert s["metadata"]["generateName"] == "web-"
    assert s["metadata"]["labels"] == {"tier": "front", "kubernetes.io/service-name": "web",
                                       "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}
    assert s["metadata"]["ownerReferences"][0]["kind"] == "Service"
    assert s["addressType"] == "IPv4"


def test_named_target_port_resolves_per_pod_and_splits_slices() -> None:
    svc = service([{"name": "http", "port": 80, "targetPort": "web", "protocol": "TCP"}])
    pods = [pod("a", "10.88.0.2", ports=[{"name": "web", "containerPort": 8080, "protocol": "TCP"}]),
            pod("b", "10.88.0.3", ports=[{"name": "web", "containerPort": 9090, "protocol": "TCP"}]),
            pod("c", "10.88.0.4", ports=[{"name": "web", "containerPort": 7070, "protocol": "UDP"}])]
    plan = es.reconcile_slices(svc, pods, [])
    got = sorted((s["ports"][0]["port"] if s["ports"] else 0, [e["addresses"][0] for e in s["endpoints"]])
                 for s in plan.create)
    # The UDP-only pod resolves no port: it lands in a slice without ports, as upstream does.
    assert got == [(0, ["10.88.0.4"]), (8080, ["10.88.0.2"]), (9090, ["10.88.0.3"])]


def test_sidecar_port_is_found() -> None:
    p = pod("a", "10.88.0.2")
    p["spec"]["initContainers"] = [{"name": "s", "restartPolicy": "Always",
                                    "ports": [{"name": "metrics", "containerPort": 9100, "protocol": "TCP"}]}]
    assert es.find_port(p, {"targetPort": "metrics", "protocol": "TCP"}) == 9100
    p["spec"]["initContainers"][0]["restartPolicy"] = "Never"
    assert es.find_port(p, {"targetPort": "metrics", "protocol": "TCP"}) is None


def test_hostname_only_with_matching_subdomain() -> None:
    assert es.pod_to_endpoint(pod("a", "1.2.3.4", hostname="h", subdomain="web"), service())["hostname"] == "h"
    assert "hostname" not in es.pod_to_endpoint(pod("a", "1.2.3.4", hostname="h", subdomain="other"), service())


def test_headless_without_ports_and_headless_label() -> None:
    svc = service([], clusterIP="None")
    plan = es.reconcile_slices(svc, [pod("a", "10.88.0.2")], [])
    assert plan.create[0]["ports"] == []
    assert plan.create[0]["metadata"]["labels"]["service.kubernetes.io/headless"] == ""


def test_placeholder_slice_without_pods() -> None:
    plan = es.reconcile_slices(service(), [], [])
    assert [(s["endpoints"], s["ports"]) for s in plan.create] == [([], [])]


def named(plan: es.SlicePlan) -> list[dict[str, Any]]:
    out = []
    for i, s in enumerate(plan.create):
        s = {**s, "metadata": {**s["metadata"], "name": f"web-{i:05d}"}}
        out.append(s)
    return out


def test_slices_capped_and_stable() -> None:
    pods = [pod(f"p{i:03d}", f"10.88.{i // 200}.{i % 200 + 2}") for i in range(250)]
    plan = es.reconcile_slices(service(), pods, [], max_per_slice=100)
    assert [len(s["endpoints"]) for s in plan.create] == [100, 100, 50]
    existing = named(plan)
    again = es.reconcile_slices(service(), pods, existing, max_per_slice=100)
    assert again.empty()
    # One pod goes: only the slice that held it is written.
    fewer = es.reconcile_slices(service(), pods[1:], existing, max_per_slice=100)
    assert not fewer.create and not fewer.delete and len(fewer.update) == 1
    assert len(fewer.update[0]["endpoints"]) == 99
    # A new pod fills the slice with room instead of opening a new one.
    more = es.reconcile_slices(service(), [*pods, pod("zzz", "10.88.9.9")], existing, max_per_slice=100)
    assert not more.create and len(more.update) == 1 and len(more.update[0]["endpoints"]) == 51


def test_ready_change_updates_in_place_and_placeholder_reuse() -> None:
    existing = named(es.reconcile_slices(service(), [pod("a", "10.88.0.2", ready=False)], []))
    plan = es.reconcile_slices(service(), [pod("a", "10.88.0.2")], existing)
    assert len(plan.update) == 1 and plan.update[0]["endpoints"][0]["conditions"]["ready"] is True
    gone = es.reconcile_slices(service(), [], existing)
    assert not gone.create and not gone.delete and gone.update[0]["endpoints"] == []


def test_slices_deleted_for_external_name_and_selectorless() -> None:
    existing = named(es.reconcile_slices(service(), [pod("a", "10.88.0.2")], []))
    svc = service()
    svc["spec"] = {"type": "ExternalName", "externalName": "x.example"}
    assert es.reconcile_slices(svc, [], existing).delete == ["web-00000"]


def test_trigger_time_annotation() -> None:
    tracker = es.TriggerTimeTracker()
    svc = service()
    pods = [pod("a", "10.88.0.2", ready_at="2026-01-01T00:00:05Z"), pod("b", "10.88.0.3", ready_at="2026-01-01T00:00:09Z")]
    assert tracker.compute(svc, pods) == "2026-01-01T00:00:00Z"  # service creation is the earliest change
    assert tracker.compute(svc, pods) == ""
    pods[1] = pod("b", "10.88.0.3", ready_at="2026-01-01T00:01:00Z")
    t = tracker.compute(svc, pods)
    assert t == "2026-01-01T00:01:00Z"
    plan = es.reconcile_slices(svc, pods, [], trigger=t)
    assert plan.create[0]["metadata"]["annotations"] == {es.ANNOTATION_TRIGGER: t}


def test_legacy_endpoints() -> None:
    svc = service([{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}])
    pods = [pod("a", "10.88.0.3"), pod("b", "10.88.0.2", ready=False), pod("c", "10.88.0.4", deleting=True)]
    ep = es.desired_endpoints_object(svc, pods, trigger="2026-01-01T00:00:00Z")
    assert ep is not None
    assert ep["metadata"]["name"] == "web" and ep["metadata"]["labels"] == {"tier": "front"}
    [sub] = ep["subsets"]
    assert [a["ip"] for a in sub["addresses"]] == ["10.88.0.3"]
    assert [a["ip"] for a in sub["notReadyAddresses"]] == ["10.88.0.2"]
    assert sub["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert es.desired_endpoints_object(svc, pods, existing=ep) is None


def test_legacy_endpoints_unnamed_port_and_empty() -> None:
    svc = service([{"port": 80, "targetPort": 80, "protocol": "TCP"}])
    ep = es.desired_endpoints_object(svc, [pod("a", "10.88.0.2")])
    assert ep is not None and ep["subsets"][0]["ports"] == [{"port": 80, "protocol": "TCP"}]
    empty = es.desired_endpoints_object(svc, [])
    assert empty is not None and empty["subsets"] == []
