"""EndpointSlices mirrored from a user's v1 Endpoints (pure).

Mirrors kube-controller-manager's EndpointSlice mirroring controller (pkg/controller/
endpointslicemirroring: ``shouldMirror``, ``newEndpointSlice``, ``addressToEndpoint``, the
reconciler): a Service without a selector whose Endpoints someone else writes gets EndpointSlices,
so the data path and DNS (which read slices only) see those addresses. One slice per subset port
set (subsets sharing a port set are merged), at most MAX_ENDPOINTS_PER_SUBSET addresses each.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from podbay.core.services.endpointslices import LABEL_MANAGED_BY, LABEL_SERVICE_NAME, SlicePlan

Obj = dict[str, Any]
MIRROR_CONTROLLER = "endpointslicemirroring-controller.k8s.io"
LABEL_SKIP_MIRROR = "endpointslice.kubernetes.io/skip-mirror"
ANNOTATION_TRIGGER = "endpoints.kubernetes.io/last-change-trigger-time"
ANNOTATION_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
MAX_ENDPOINTS_PER_SUBSET = 1000   # --mirroring-max-endpoints-per-subset default


def _md(o: Mapping[str, Any]) -> Obj:
    return o.get("metadata") or {}


def should_mirror(svc: Mapping[str, Any] | None, endpoints: Mapping[str, Any] | None) -> bool:
    """shouldMirror (+ the Service check): an Endpoints not marked skip-mirror, of an existing
    Service without a selector."""
    if svc is None or endpoints is None:
        return False
    if (_md(endpoints).get("labels") or {}).get(LABEL_SKIP_MIRROR) == "true":
        return False
    spec = svc.get("spec") or {}
    return spec.get("selector") is None and spec.get("type") != "ExternalName"


def _ports(subset: Mapping[str, Any]) -> list[Obj]:
    out = []
    for p in subset.get("ports") or []:
        port: Obj = {"name": p.get("name") or "", "port": int(p["port"]), "protocol": p.get("protocol") or "TCP"}
        if p.get("appProtocol") is not None:
            port["appProtocol"] = p["appProtocol"]
        out.append(port)
    return out


def _endpoint(address: Mapping[str, Any], ready: bool) -> Obj:
    """addressToEndpoint."""
    ep: Obj = {"addresses": [address.get("ip")], "conditions": {"ready": ready}}
    if address.get("targetRef"):
        ep["targetRef"] = copy.deepcopy(address["targetRef"])
    for key in ("nodeName", "hostname"):
        if address.get(key):
            ep[key] = address[key]
    return ep


def _ipv4(ip: Any) -> bool:
    try:
        return ipaddress.ip_address(str(ip)).version == 4
    except ValueError:
        return False


def desired_slices(endpoints: Mapping[str, Any]) -> list[Obj]:
    """The mirrored slices' content (IPv4; names left to generateName), in subset order."""
    by_ports: dict[tuple[tuple[str, int, str, str], ...], tuple[list[Obj], list[Obj]]] = {}
    for subset in endpoints.get("subsets") or []:
        ports = _ports(subset)
        key = tuple(sorted((p["name"], p["port"], p["protocol"], p.get("appProtocol") or "") for p in ports))
        _, eps = by_ports.setdefault(key, (ports, []))
        count = 0
        for field_name, ready in (("addresses", True), ("notReadyAddresses", False)):
            for a in subset.get(field_name) or []:
                if count >= MAX_ENDPOINTS_PER_SUBSET:
                    break
                if _ipv4(a.get("ip")):
                    eps.append(_endpoint(a, ready))
                    count += 1
    md = _md(endpoints)
    labels = {k: v for k, v in (md.get("labels") or {}).items() if k not in (LABEL_SERVICE_NAME, LABEL_MANAGED_BY)}
    labels[LABEL_SERVICE_NAME] = str(md.get("name"))
    labels[LABEL_MANAGED_BY] = MIRROR_CONTROLLER
    annotations = {k: v for k, v in (md.get("annotations") or {}).items()
                   if k not in (ANNOTATION_TRIGGER, ANNOTATION_LAST_APPLIED)}
    owner = {"apiVersion": "v1", "kind": "Endpoints", "name": md.get("name"), "uid": md.get("uid"),
             "controller": True, "blockOwnerDeletion": True}
    out = []
    for ports, eps in by_ports.values():
        if not eps:
            continue
        meta: Obj = {"generateName": f"{md.get('name')}-", "namespace": md.get("namespace"), "labels": dict(labels),
                     "ownerReferences": [owner]}
        if annotations:
            meta["annotations"] = dict(annotations)
        out.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": meta,
                    "addressType": "IPv4", "endpoints": eps, "ports": ports})
    return out


def mirrored(slices: Iterable[Mapping[str, Any]], namespace: str, name: str) -> list[Obj]:
    """The slices this controller keeps for the Endpoints namespace/name."""
    return [dict(s) for s in slices if _md(s).get("namespace") == namespace
            and (_md(s).get("labels") or {}).get(LABEL_SERVICE_NAME) == name
            and (_md(s).get("labels") or {}).get(LABEL_MANAGED_BY) == MIRROR_CONTROLLER]


def _port_key(s: Mapping[str, Any]) -> tuple[tuple[str, int, str, str], ...]:
    return tuple(sorted((p.get("name") or "", int(p.get("port") or 0), p.get("protocol") or "",
                         p.get("appProtocol") or "") for p in s.get("ports") or []))


def reconcile(svc: Mapping[str, Any] | None, endpoints: Mapping[str, Any] | None,
              existing: Iterable[Mapping[str, Any]]) -> SlicePlan:
    """Create, update (in place, same port set) or delete mirrored slices; all of them go when
    the Endpoints should not be mirrored (any more)."""
    plan = SlicePlan()
    if endpoints is None and svc is None:
        return plan
    md = _md(endpoints if endpoints is not None else svc or {})
    current = mirrored(existing, str(md.get("namespace")), str(md.get("name")))
    want = desired_slices(endpoints) if endpoints is not None and should_mirror(svc, endpoints) else []
    by_key: dict[tuple[tuple[str, int, str, str], ...], list[Obj]] = {}
    for s in current:
        by_key.setdefault(_port_key(s), []).append(s)
    for w in want:
        have = by_key.get(_port_key(w)) or []
        if not have:
            plan.create.append(w)
            continue
        cur = have.pop(0)
        new = copy.deepcopy(cur)
        new["endpoints"], new["ports"], new["addressType"] = w["endpoints"], w["ports"], w["addressType"]
        meta = new["metadata"]
        meta["labels"], meta["ownerReferences"] = w["metadata"]["labels"], w["metadata"]["ownerReferences"]
        if w["metadata"].get("annotations"):
            meta["annotations"] = w["metadata"]["annotations"]
        else:
            meta.pop("annotations", None)
        if new != cur:
            plan.update.append(new)
    plan.delete = [str(_md(s).get("name")) for group in by_key.values() for s in group]
    return plan
