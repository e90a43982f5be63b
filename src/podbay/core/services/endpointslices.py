"""EndpointSlices (discovery.k8s.io/v1) and legacy v1 Endpoints for a Service and its pods (pure).

Mirrors the kube-controller-manager's EndpointSlice controller (k8s.io/endpointslice: ``podToEndpoint``,
``getEndpointPorts``, ``setEndpointSliceLabels``, ``reconcileByPortMapping``, ``TriggerTimeTracker``)
and the Endpoints controller (``podToEndpointAddressForService``, ``addEndpointSubset``,
``RepackSubsets``). Inputs are dicts as stored; outputs are a plan (create / update / delete).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Obj = dict[str, Any]

LABEL_SERVICE_NAME = "kubernetes.io/service-name"
LABEL_MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
LABEL_HEADLESS = "service.kubernetes.io/headless"
LABEL_ZONE = "topology.kubernetes.io/zone"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
ANNOTATION_TRIGGER = "endpoints.kubernetes.io/last-change-trigger-time"
ANNOTATION_OVER_CAPACITY = "endpoints.kubernetes.io/over-capacity"
MAX_ENDPOINTS_PER_SLICE = 100  # --max-endpoints-per-slice default
MAX_ENDPOINTS_ADDRESSES = 1000  # legacy Endpoints truncation
RESERVED_LABELS = (LABEL_SERVICE_NAME, LABEL_MANAGED_BY, LABEL_HEADLESS)


def _md(o: Mapping[str, Any]) -> Obj:
    return o.get("metadata") or {}


def _spec(o: Mapping[str, Any]) -> Obj:
    return o.get("spec") or {}


def pod_ready(pod: Mapping[str, Any]) -> bool:
    """podutil.IsPodReady: the Ready condition is True."""
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return bool(c.get("status") == "True")
    return False


def should_pod_be_in_endpoints(pod: Mapping[str, Any], include_terminating: bool) -> bool:
    """ShouldPodBeInEndpoints: not terminal, has an IP, and (optionally) not terminating."""
    status = pod.get("status") or {}
    if status.get("phase") in ("Succeeded", "Failed"):
        return False
    if not status.get("podIP"):
        return False
    return include_terminating or not _md(pod).get("deletionTimestamp")


def should_set_hostname(pod: Mapping[str, Any], svc: Mapping[str, Any]) -> bool:
    """ShouldSetHostname: spec.hostname set and spec.subdomain names the Service (same namespace)."""
    spec = _spec(pod)
    return bool(spec.get("hostname")) and spec.get("subdomain") == _md(svc).get("name") and \
        _md(svc).get("namespace") == _md(pod).get("namespace")


def match_labels(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """labels.Set(selector).AsSelectorPreValidated().Matches: every pair present (empty: all)."""
    return all(labels.get(k) == v for k, v in selector.items())


def selected_pods(svc: Mapping[str, Any], pods: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Pods in the Service's namespace whose labels match spec.selector (map selector)."""
    sel = _spec(svc).get("selector") or {}
    ns = _md(svc).get("namespace")
    return [p for p in pods if _md(p).get("namespace") == ns and match_labels(sel, _md(p).get("labels") or {})]


def find_port(pod: Mapping[str, Any], svc_port: Mapping[str, Any]) -> int | None:
    """podutil.FindPort: a named targetPort is the first container port (then restartable init
    "sidecar" container port) with that name *and* protocol; a number is itself."""
    target = svc_port.get("targetPort", svc_port.get("port"))
    if isinstance(target, int) and not isinstance(target, bool):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    proto = svc_port.get("protocol") or "TCP"
    spec = _spec(pod)
    containers = list(spec.get("containers") or [])
    containers += [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    for c in containers:
        for p in c.get("ports") or []:
            if p.get("name") == target and (p.get("protocol") or "TCP") == proto:
                return int(p["containerPort"])
    return None


def endpoint_ports(svc: Mapping[str, Any], pod: Mapping[str, Any]) -> list[Obj]:
    """getEndpointPorts: one entry per Service port that resolves for this pod."""
    spec = _spec(svc)
    out: list[Obj] = []
    for sp in spec.get("ports") or []:
        num = find_port(pod, sp)
        if num is None:
            continue
        ep: Obj = {"name": sp.get("name") or "", "port": num, "protocol": sp.get("protocol") or "TCP"}
        if sp.get("appProtocol") is not None:
            ep["appProtocol"] = sp["appProtocol"]
        out.append(ep)
    return out


def pod_to_endpoint(pod: Mapping[str, Any], svc: Mapping[str, Any],
                    node_labels: Mapping[str, str] | None = None) -> Obj:
    """podToEndpoint: ready = publishNotReadyAddresses or (serving and not terminating)."""
    serving = pod_ready(pod)
    terminating = bool(_md(pod).get("deletionTimestamp"))
    ready = bool(_spec(svc).get("publishNotReadyAddresses")) or (serving and not terminating)
    md = _md(pod)
    ep: Obj = {
        "addresses": [(pod.get("status") or {}).get("podIP")],
        "conditions": {"ready": ready, "serving": serving, "terminating": terminating},
        "targetRef": {"kind": "Pod", "namespace": md.get("namespace"), "name": md.get("name"), "uid": md.get("uid")},
    }
    node = _spec(pod).get("nodeName")
    if node:
        ep["nodeName"] = node
    zone = (node_labels or {}).get(LABEL_ZONE)
    if zone:
        ep["zone"] = zone
    if should_set_hostname(pod, svc):
        ep["hostname"] = _spec(pod)["hostname"]
    return ep


def _port_key(ports: list[Obj]) -> tuple[tuple[str, int, str, str], ...]:
    """endpointutil.NewPortMapKey: the identity of a port set (order-insensitive)."""
    return tuple(sorted((p.get("name") or "", int(p.get("port") or 0), p.get("protocol") or "",
                         p.get("appProtocol") or "") for p in ports))


def _endpoint_key(ep: Mapping[str, Any]) -> tuple[str, str]:
    ref = ep.get("targetRef") or {}
    addrs = ep.get("addresses") or [""]
    return str(addrs[0]), str(ref.get("uid") or "")


def desired_endpoints(svc: Mapping[str, Any], pods: Iterable[Mapping[str, Any]],
                      node_labels: Mapping[str, str] | None = None) -> dict[tuple, tuple[list[Obj], list[Obj]]]:
    """port-set key -> (ports, endpoints) for the IPv4 family, as the reconciler groups them."""
    spec = _spec(svc)
    headless_no_ports = not spec.get("ports") and spec.get("clusterIP") == "None"
    out: dict[tuple, tuple[list[Obj], list[Obj]]] = {}
    for pod in sorted(selected_pods(svc, pods), key=lambda p: str(_md(p).get("name"))):
        if not should_pod_be_in_endpoints(pod, include_terminating=True):
            continue
        if ":" in str((pod.get("status") or {}).get("podIP")):
            continue  # IPv6 pod IP: this cluster's slices are IPv4
        ports = [] if headless_no_ports else endpoint_ports(svc, pod)
        key = _port_key(ports)
        out.setdefault(key, (ports, []))[1].append(pod_to_endpoint(pod, svc, node_labels))
    return out


def slice_labels(svc: Mapping[str, Any]) -> dict[str, str]:
    """setEndpointSliceLabels: the Service's labels (reserved keys skipped) + the controller's."""
    labels = {k: v for k, v in (_md(svc).get("labels") or {}).items() if k not in RESERVED_LABELS}
    if _spec(svc).get("clusterIP") == "None":
        labels[LABEL_HEADLESS] = ""
    labels[LABEL_SERVICE_NAME] = str(_md(svc).get("name"))
    labels[LABEL_MANAGED_BY] = CONTROLLER_NAME
    return labels


def owner_ref(svc: Mapping[str, Any]) -> Obj:
    md = _md(svc)
    return {"apiVersion": "v1", "kind": "Service", "name": md.get("name"), "uid": md.get("uid"),
            "controller": True, "blockOwnerDeletion": True}


def _new_slice(svc: Mapping[str, Any], ports: list[Obj], endpoints: list[Obj], trigger: str) -> Obj:
    md = _md(svc)
    meta: Obj = {"generateName": f"{md.get('name')}-", "namespace": md.get("namespace"),
                 "labels": slice_labels(svc), "ownerReferences": [owner_ref(svc)]}
    if trigger:
        meta["annotations"] = {ANNOTATION_TRIGGER: trigger}
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": meta,
            "addressType": "IPv4", "endpoints": endpoints, "ports": copy.deepcopy(ports)}


@dataclass
class SlicePlan:
    create: list[Obj] = field(default_factory=list)
    update: list[Obj] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.create or self.update or self.delete)


def owned_slices(svc: Mapping[str, Any], slices: Iterable[Mapping[str, Any]]) -> list[Obj]:
    """Slices this controller manages for the Service (by label, as the controller's lister)."""
    md = _md(svc)
    return [dict(s) for s in slices
            if _md(s).get("namespace") == md.get("namespace")
            and (_md(s).get("labels") or {}).get(LABEL_SERVICE_NAME) == md.get("name")
            and (_md(s).get("labels") or {}).get(LABEL_MANAGED_BY) == CONTROLLER_NAME]


def _with_meta(s: Obj, svc: Mapping[str, Any], trigger: str) -> Obj:
    s = copy.deepcopy(s)
    meta = s.setdefault("metadata", {})
    meta["labels"] = slice_labels(svc)
    ann = dict(meta.get("annotations") or {})
    if trigger:
        ann[ANNOTATION_TRIGGER] = trigger
    else:
        ann.pop(ANNOTATION_TRIGGER, None)
    if ann:
        meta["annotations"] = ann
    else:
        meta.pop("annotations", None)
    return s


def reconcile_slices(svc: Mapping[str, Any], pods: Iterable[Mapping[str, Any]], existing: Iterable[Mapping[str, Any]],
                     trigger: str = "", max_per_slice: int = MAX_ENDPOINTS_PER_SLICE,
                     node_labels: Mapping[str, str] | None = None) -> SlicePlan:
    """The reconciler for one Service: keep endpoints in the slice that holds them, update changed
    ones in place, fill slices being updated first, then open new slices of at most max_per_slice;
    with nothing to publish keep exactly one placeholder slice (no endpoints, no ports)."""
    plan = SlicePlan()
    current = owned_slices(svc, existing)
    if _spec(svc).get("type") == "ExternalName" or _spec(svc).get("selector") is None:
        plan.delete = [str(_md(s).get("name")) for s in current]
        return plan
    desired = desired_endpoints(svc, pods, node_labels)
    by_key: dict[tuple, list[Obj]] = {}
    for s in current:
        if s.get("addressType") != "IPv4":
            plan.delete.append(str(_md(s).get("name")))
            continue
        by_key.setdefault(_port_key(list(s.get("ports") or [])), []).append(s)
    for key, (ports, eps) in desired.items():
        _reconcile_port_mapping(svc, ports, eps, by_key.pop(key, []), trigger, max_per_slice, plan)
    leftovers = [s for group in by_key.values() for s in group]
    if not desired:
        # Placeholder: reuse an existing empty slice, or turn one leftover into it.
        placeholder = next((s for s in leftovers if not s.get("endpoints") and not s.get("ports")), None)
        if placeholder is not None:
            leftovers.remove(placeholder)
        elif leftovers:
            placeholder = _with_meta(leftovers.pop(0), svc, trigger)
            placeholder["endpoints"], placeholder["ports"] = [], []
            plan.update.append(placeholder)
        else:
            plan.create.append(_new_slice(svc, [], [], trigger))
    plan.delete += [str(_md(s).get("name")) for s in leftovers]
    return plan


def _reconcile_port_mapping(svc: Mapping[str, Any], ports: list[Obj], desired: list[Obj], existing: list[Obj],
                            trigger: str, max_per_slice: int, plan: SlicePlan) -> None:
    want = {_endpoint_key(e): e for e in desired}
    to_update: list[Obj] = []
    unchanged: list[Obj] = []
    for s in existing:
        kept: list[Obj] = []
        changed = False
        for ep in s.get("endpoints") or []:
            k = _endpoint_key(ep)
            new = want.pop(k, None)
            if new is None:
                changed = True
                continue
            if new != ep:
                changed = True
            kept.append(new)
        if changed and kept:
            s = _with_meta(s, svc, trigger)
            s["endpoints"] = kept
            s["ports"] = copy.deepcopy(ports)
            to_update.append(s)
        elif changed:
            plan.delete.append(str(_md(s).get("name")))
        elif (s.get("metadata") or {}).get("labels") != slice_labels(svc):
            s = _with_meta(s, svc, str(((s.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION_TRIGGER, "")))
            to_update.append(s)
        else:
            unchanged.append(s)
    remaining = list(want.values())
    # Fill the slices that are being written anyway, then those untouched, before creating new ones.
    for s in to_update + unchanged:
        room = max_per_slice - len(s["endpoints"])
        if room <= 0 or not remaining:
            continue
        if s in unchanged:
            s2 = _with_meta(s, svc, trigger)
            unchanged.remove(s)
            to_update.append(s2)
            s = s2
        s["endpoints"] = list(s["endpoints"]) + remaining[:room]
        remaining = remaining[room:]
    while remaining:
        plan.create.append(_new_slice(svc, ports, remaining[:max_per_slice], trigger))
        remaining = remaining[max_per_slice:]
    plan.update += to_update


# ---------------------------------------------------------------------------------------------- Endpoints


def _address(pod: Mapping[str, Any], svc: Mapping[str, Any]) -> Obj:
    md = _md(pod)
    a: Obj = {"ip": (pod.get("status") or {}).get("podIP")}
    if _spec(pod).get("nodeName"):
        a["nodeName"] = _spec(pod)["nodeName"]
    a["targetRef"] = {"kind": "Pod", "namespace": md.get("namespace"), "name": md.get("name"), "uid": md.get("uid")}
    if should_set_hostname(pod, svc):
        a["hostname"] = _spec(pod)["hostname"]
    return a


def endpoints_subsets(svc: Mapping[str, Any], pods: Iterable[Mapping[str, Any]]) -> list[Obj]:
    """The Endpoints controller's subsets, repacked: addresses sharing a port set share a subset;
    terminating pods are left out unless publishNotReadyAddresses."""
    spec = _spec(svc)
    tolerate = bool(spec.get("publishNotReadyAddresses"))
    headless_no_ports = not spec.get("ports") and spec.get("clusterIP") == "None"
    # address key -> (address, ready, {port key: port})
    per_addr: dict[tuple[str, str], tuple[Obj, bool, dict[tuple, Obj]]] = {}
    for pod in selected_pods(svc, pods):
        if not should_pod_be_in_endpoints(pod, include_terminating=tolerate):
            continue
        if ":" in str((pod.get("status") or {}).get("podIP")):
            continue
        addr = _address(pod, svc)
        ready = tolerate or pod_ready(pod)
        ports = [] if headless_no_ports else endpoint_ports(svc, pod)
        if not ports and not headless_no_ports:
            continue
        key = (str(addr["ip"]), str(addr["targetRef"]["uid"]))
        entry = per_addr.setdefault(key, (addr, ready, {}))
        for p in ports:
            entry[2][_port_key([p])] = {k: v for k, v in p.items() if not (k == "name" and v == "")}
    groups: dict[tuple, tuple[list[Obj], list[Obj], list[Obj]]] = {}
    for addr, ready, by_key in per_addr.values():
        gk = tuple(sorted(by_key))
        g = groups.setdefault(gk, ([], [], [by_key[k] for k in sorted(by_key)]))
        (g[0] if ready else g[1]).append(addr)
    subsets: list[Obj] = []
    for _, (ready_addrs, not_ready, plist) in sorted(groups.items()):
        sub: Obj = {}
        if ready_addrs:
            sub["addresses"] = sorted(ready_addrs, key=lambda a: (a["ip"], a["targetRef"]["uid"]))
        if not_ready:
            sub["notReadyAddresses"] = sorted(not_ready, key=lambda a: (a["ip"], a["targetRef"]["uid"]))
        if plist:
            sub["ports"] = plist
        subsets.append(sub)
    return subsets


def desired_endpoints_object(svc: Mapping[str, Any], pods: Iterable[Mapping[str, Any]], trigger: str = "",
                             existing: Mapping[str, Any] | None = None) -> Obj | None:
    """The v1 Endpoints named like the Service, or None when the existing one is already right."""
    md = _md(svc)
    subsets = endpoints_subsets(svc, pods)
    over = False
    count = sum(len(s.get("addresses") or []) + len(s.get("notReadyAddresses") or []) for s in subsets)
    if count > MAX_ENDPOINTS_ADDRESSES:
        subsets = _truncate(subsets, MAX_ENDPOINTS_ADDRESSES)
        over = True
    labels = {k: v for k, v in (md.get("labels") or {}).items() if k != LABEL_HEADLESS}
    if _spec(svc).get("clusterIP") == "None":
        labels[LABEL_HEADLESS] = ""
    if existing is not None:
        emd = _md(existing)
        same_over = ((emd.get("annotations") or {}).get(ANNOTATION_OVER_CAPACITY) == "truncated") == over
        if (existing.get("subsets") or []) == subsets and (emd.get("labels") or {}) == labels and same_over:
            return None
    ann: dict[str, str] = {}
    if existing is not None:
        ann = {k: v for k, v in (_md(existing).get("annotations") or {}).items()
               if k not in (ANNOTATION_OVER_CAPACITY, ANNOTATION_TRIGGER)}
    if trigger:
        ann[ANNOTATION_TRIGGER] = trigger
    if over:
        ann[ANNOTATION_OVER_CAPACITY] = "truncated"
    meta: Obj = {"name": md.get("name"), "namespace": md.get("namespace"), "labels": labels}
    if existing is not None:
        meta = {**copy.deepcopy(_md(existing)), "labels": labels}
        meta.pop("annotations", None)
    if ann:
        meta["annotations"] = ann
    return {"apiVersion": "v1", "kind": "Endpoints", "metadata": meta, "subsets": subsets}


def _truncate(subsets: list[Obj], limit: int) -> list[Obj]:
    """Keep at most `limit` addresses, ready ones first, spread over the subsets in order."""
    out = []
    left = limit
    for s in subsets:
        s = copy.deepcopy(s)
        for key in ("addresses", "notReadyAddresses"):
            if key in s:
                s[key] = s[key][:left]
                left -= len(s[key])
                if not s[key]:
                    del s[key]
        if "addresses" in s or "notReadyAddresses" in s:
            out.append(s)
    return out


# ---------------------------------------------------------------------------------------------- trigger time


def _parse_time(t: str) -> datetime | None:
    try:
        return datetime.fromisoformat(t.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None


def _ready_time(pod: Mapping[str, Any]) -> str:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return str(c.get("lastTransitionTime") or "")
    return ""


@dataclass
class TriggerTimeTracker:
    """TriggerTimeTracker: the earliest pod Ready transition (or Service creation) that changed
    since the last sync of this Service; "" when nothing did (the annotation is then dropped)."""

    pods: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    services: dict[tuple[str, str], str] = field(default_factory=dict)

    def compute(self, svc: Mapping[str, Any], pods: Iterable[Mapping[str, Any]]) -> str:
        key = (str(_md(svc).get("namespace")), str(_md(svc).get("name")))
        last = self.pods.get(key, {})
        now: dict[str, str] = {}
        best: tuple[datetime, str] | None = None

        def consider(t: str) -> None:
            nonlocal best
            d = _parse_time(t)
            if d is not None and (best is None or d < best[0]):
                best = (d, t)

        for pod in pods:
            t = _ready_time(pod)
            if not t:
                continue
            name = str(_md(pod).get("name"))
            now[name] = t
            prev = _parse_time(last.get(name, ""))
            cur = _parse_time(t)
            if cur is not None and (prev is None or cur > prev):
                consider(t)
        created = str(_md(svc).get("creationTimestamp") or "")
        prev_svc = _parse_time(self.services.get(key, ""))
        cur_svc = _parse_time(created)
        if cur_svc is not None and (prev_svc is None or cur_svc > prev_svc):
            consider(created)
        self.pods[key] = now
        self.services[key] = created
        return best[1] if best is not None else ""

    def forget(self, namespace: str, name: str) -> None:
        self.pods.pop((namespace, name), None)
        self.services.pop((namespace, name), None)
