"""Server-side printing: ``meta.k8s.io/v1`` Tables with kubectl's columns for every served kind.

Ports the column definitions and row functions of kube-apiserver's printers
(pkg/printers/internalversion/printers.go: printPod, printNode, printEvent, printNamespace,
printConfigMap, printSecret, printPersistentVolumeClaim, printServiceAccount, printLease), and the
default convertor (Name, Created At) for kinds without one. The server always prints every column
(``Wide: true``); kubectl hides priority-1 columns unless ``-o wide``. Pure: (object, now) in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from podbay.api import schema, service_printing
from podbay.api.meta import parse_time, partial
from podbay.api.printing import human_duration, pod_columns

Obj = dict[str, Any]
Cell = str | int | float | bool | None

_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "string"
    description: str = ""
    priority: int = 0
    format: str = ""

    def definition(self) -> Obj:
        return {"name": self.name, "type": self.type, "format": self.format, "description": self.description,
                "priority": self.priority}


def _doc(definition: str, prop: str) -> str:
    """The field's description in the schema (upstream uses the Go SwaggerDoc of the same text)."""
    try:
        node = schema.definition(definition).get("properties", {}).get(prop) or {}
    except KeyError:
        return ""
    return str(node.get("description") or "")


def _name_col() -> Column:
    return Column("Name", "string", _doc(_META, "name"), 0, "name")


def _age_col() -> Column:
    return Column("Age", "string", _doc(_META, "creationTimestamp"))


def since(value: Any, now: float) -> str:
    """translateTimestampSince: ``<unknown>`` for a missing time, else HumanDuration."""
    t = parse_time(value)
    if t is None:
        return "<unknown>"
    return human_duration(now - t)


def _age(obj: Obj, now: float) -> str:
    return since((obj.get("metadata") or {}).get("creationTimestamp"), now)


def _name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


# --- per kind ----------------------------------------------------------------------------------------

_CORE = "io.k8s.api.core.v1."


def _pod_columns() -> list[Column]:
    return [_name_col(),
            Column("Ready", description="The aggregate readiness state of this pod for accepting traffic."),
            Column("Status", description="The aggregate status of the containers in this pod."),
            Column("Restarts", description="The number of times the containers in this pod have been restarted "
                                           "and when the last container in this pod has restarted."),
            _age_col(),
            Column("IP", description=_doc(_CORE + "PodStatus", "podIP"), priority=1),
            Column("Node", description=_doc(_CORE + "PodSpec", "nodeName"), priority=1),
            Column("Nominated Node", description=_doc(_CORE + "PodStatus", "nominatedNodeName"), priority=1),
            Column("Readiness Gates", description=_doc(_CORE + "PodSpec", "readinessGates"), priority=1)]


def _pod_row(pod: Obj, now: float) -> list[Cell]:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    ready, reason, restarts = pod_columns(pod, now)
    ips = status.get("podIPs") or []
    ip = (ips[0].get("ip") if ips and isinstance(ips[0], dict) else "") or status.get("podIP") or "<none>"
    gates = spec.get("readinessGates") or []
    gates_s = "<none>"
    if gates:
        conds = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        gates_s = f"{sum(1 for g in gates if conds.get(g.get('conditionType')) == 'True')}/{len(gates)}"
    return [_name(pod), ready, reason, restarts, _age(pod, now), ip, spec.get("nodeName") or "<none>",
            status.get("nominatedNodeName") or "<none>", gates_s]


def _node_columns() -> list[Column]:
    return [_name_col(), Column("Status", description="The status of the node"),
            Column("Roles", description="The roles of the node"), _age_col(),
            Column("Version", description=_doc(_CORE + "NodeSystemInfo", "kubeletVersion")),
            Column("Internal-IP", description=_doc(_CORE + "NodeStatus", "addresses"), priority=1),
            Column("External-IP", description=_doc(_CORE + "NodeStatus", "addresses"), priority=1),
            Column("OS-Image", description=_doc(_CORE + "NodeSystemInfo", "osImage"), priority=1),
            Column("Kernel-Version", description=_doc(_CORE + "NodeSystemInfo", "kernelVersion"), priority=1),
            Column("Container-Runtime", description=_doc(_CORE + "NodeSystemInfo", "containerRuntimeVersion"),
                   priority=1)]


def node_roles(node: Obj) -> str:
    roles = set()
    for k, v in ((node.get("metadata") or {}).get("labels") or {}).items():
        if k.startswith("node-role.kubernetes.io/") and k[len("node-role.kubernetes.io/"):]:
            roles.add(k[len("node-role.kubernetes.io/"):])
        elif k == "kubernetes.io/role" and v:
            roles.add(str(v))
    return ",".join(sorted(roles)) or "<none>"


def node_status(node: Obj) -> str:
    conds = {c.get("type"): c.get("status") for c in (node.get("status") or {}).get("conditions") or []}
    ready = conds.get("Ready")
    out = ["Ready" if ready == "True" else "NotReady" if ready == "False" else "Unknown"]
    if (node.get("spec") or {}).get("unschedulable"):
        out.append("SchedulingDisabled")
    return ",".join(out)


def _node_row(node: Obj, now: float) -> list[Cell]:
    status = node.get("status") or {}
    info = status.get("nodeInfo") or {}

    def addr(kind: str) -> str:
        return next((a.get("address") for a in status.get("addresses") or [] if a.get("type") == kind), "<none>")

    return [_name(node), node_status(node), node_roles(node), _age(node, now), info.get("kubeletVersion") or "",
            addr("InternalIP"), addr("ExternalIP"), info.get("osImage") or "<unknown>",
            info.get("kernelVersion") or "<unknown>", info.get("containerRuntimeVersion") or "<unknown>"]


def _event_columns() -> list[Column]:
    ev = _CORE + "Event"
    return [Column("Last Seen", description=_doc(ev, "lastTimestamp")), Column("Type", description=_doc(ev, "type")),
            Column("Reason", description=_doc(ev, "reason")), Column("Object", description=_doc(ev, "involvedObject")),
            Column("Subobject", description=_doc(_CORE + "ObjectReference", "fieldPath"), priority=1),
            Column("Source", description=_doc(ev, "source"), priority=1),
            Column("Message", description=_doc(ev, "message")),
            Column("First Seen", description=_doc(ev, "firstTimestamp"), priority=1),
            Column("Count", "integer", _doc(ev, "count"), priority=1),
            Column("Name", "string", _doc(_META, "name"), 1, "name")]


def _event_row(ev: Obj, now: float) -> list[Cell]:
    first = since(ev.get("firstTimestamp"), now) if ev.get("firstTimestamp") else since(ev.get("eventTime"), now)
    last = since(ev.get("lastTimestamp"), now) if ev.get("lastTimestamp") else first
    count = int(ev.get("count") or 0)
    series = ev.get("series")
    if isinstance(series, dict):
        last = since(series.get("lastObservedTime"), now)
        count = int(series.get("count") or 0)
    elif count == 0:
        count = 1
    inv = ev.get("involvedObject") or {}
    target = str(inv.get("kind") or "").lower()
    if inv.get("name"):
        target += "/" + str(inv["name"])
    src = ev.get("source") or {}
    component = src.get("component") or ev.get("reportingComponent") or ""
    host = src.get("host") or ev.get("reportingInstance") or ""
    source = f"{component}, {host}" if host else str(component)
    return [last, ev.get("type") or "", ev.get("reason") or "", target, inv.get("fieldPath") or "", source,
            str(ev.get("message") or "").strip(), first, count, _name(ev)]


def _pvc_row(pvc: Obj, now: float) -> list[Cell]:
    spec, status, md = pvc.get("spec") or {}, pvc.get("status") or {}, pvc.get("metadata") or {}
    phase = "Terminating" if md.get("deletionTimestamp") else str(status.get("phase") or "")
    capacity = modes = ""
    if spec.get("volumeName"):
        capacity = str((status.get("capacity") or {}).get("storage") or "0")
        given = set(status.get("accessModes") or [])
        modes = ",".join(s for m, s in (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"),
                                        ("ReadWriteOncePod", "RWOP")) if m in given)
    annotations = md.get("annotations") or {}
    sc = annotations.get("volume.beta.kubernetes.io/storage-class", spec.get("storageClassName") or "")
    vac = status.get("currentVolumeAttributesClassName") or spec.get("volumeAttributesClassName") or "<unset>"
    return [_name(pvc), phase, spec.get("volumeName") or "", capacity, modes, sc, vac, _age(pvc, now),
            spec.get("volumeMode") or "<unset>"]


def _pvc_columns() -> list[Column]:
    pvc = _CORE + "PersistentVolumeClaim"
    return [_name_col(), Column("Status", description=_doc(_CORE + "PersistentVolumeClaimStatus", "phase")),
            Column("Volume", description=_doc(_CORE + "PersistentVolumeClaimSpec", "volumeName")),
            Column("Capacity", description=_doc(_CORE + "PersistentVolumeClaimStatus", "capacity")),
            Column("Access Modes", description=_doc(_CORE + "PersistentVolumeClaimStatus", "accessModes")),
            Column("StorageClass", description="StorageClass of the pvc"),
            Column("VolumeAttributesClass", description="VolumeAttributesClass of the pvc"),
            _age_col(), Column("VolumeMode", description=_doc(pvc + "Spec", "volumeMode"), priority=1)]


def _lease_row(lease: Obj, now: float) -> list[Cell]:
    return [_name(lease), str((lease.get("spec") or {}).get("holderIdentity") or ""), _age(lease, now)]


def _service_columns() -> list[Column]:
    spec = _CORE + "ServiceSpec"
    return [_name_col(), Column("Type", description=_doc(spec, "type")),
            Column("Cluster-IP", description=_doc(spec, "clusterIP")),
            Column("External-IP", description=_doc(spec, "externalIPs")),
            Column("Port(s)", description="The list of ports that are exposed by this service."),
            _age_col(), Column("Selector", description=_doc(spec, "selector"), priority=1)]


def _endpointslice_columns() -> list[Column]:
    sl = "io.k8s.api.discovery.v1.EndpointSlice"
    return [_name_col(), Column("AddressType", description=_doc(sl, "addressType")),
            Column("Ports", description=_doc(sl, "ports")), Column("Endpoints", description=_doc(sl, "endpoints")),
            _age_col()]


@dataclass(frozen=True)
class Printer:
    columns: Callable[[], list[Column]]
    row: Callable[[Obj, float], list[Cell]]


PRINTERS: dict[tuple[str, str], Printer] = {
    ("", "Pod"): Printer(_pod_columns, _pod_row),
    ("", "Node"): Printer(_node_columns, _node_row),
    ("", "Event"): Printer(_event_columns, _event_row),
    ("events.k8s.io", "Event"): Printer(_event_columns, _event_row),   # printed from the stored core form
    ("", "Namespace"): Printer(
        lambda: [_name_col(), Column("Status", description="The status of the namespace"), _age_col()],
        lambda o, now: [_name(o), str((o.get("status") or {}).get("phase") or ""), _age(o, now)]),
    ("", "ConfigMap"): Printer(
        lambda: [_name_col(), Column("Data", "integer", _doc(_CORE + "ConfigMap", "data")), _age_col()],
        lambda o, now: [_name(o), len(o.get("data") or {}) + len(o.get("binaryData") or {}), _age(o, now)]),
    ("", "Secret"): Printer(
        lambda: [_name_col(), Column("Type", description=_doc(_CORE + "Secret", "type")),
                 Column("Data", "integer", _doc(_CORE + "Secret", "data")), _age_col()],
        lambda o, now: [_name(o), str(o.get("type") or ""), len(o.get("data") or {}), _age(o, now)]),
    ("", "PersistentVolumeClaim"): Printer(_pvc_columns, _pvc_row),
    ("", "ServiceAccount"): Printer(
        lambda: [_name_col(), Column("Secrets", "string", _doc(_CORE + "ServiceAccount", "secrets")), _age_col()],
        lambda o, now: [_name(o), len(o.get("secrets") or []), _age(o, now)]),
    ("", "Service"): Printer(_service_columns, lambda o, now: list(service_printing.service_cells(o, now))),
    ("", "Endpoints"): Printer(
        lambda: [_name_col(), Column("Endpoints", description=_doc(_CORE + "Endpoints", "subsets")), _age_col()],
        lambda o, now: list(service_printing.endpoints_cells(o, now))),
    ("discovery.k8s.io", "EndpointSlice"): Printer(_endpointslice_columns,
                                                   lambda o, now: list(service_printing.endpointslice_cells(o, now))),
    ("coordination.k8s.io", "Lease"): Printer(
        lambda: [_name_col(), Column("Holder", description=_doc("io.k8s.api.coordination.v1.LeaseSpec",
                                                                 "holderIdentity")), _age_col()],
        _lease_row),
}

DEFAULT = Printer(
    lambda: [_name_col(), Column("Created At", "date", _doc(_META, "creationTimestamp"))],
    lambda o, now: [_name(o), (o.get("metadata") or {}).get("creationTimestamp") or None])


def _register_workloads() -> None:
    from podbay.api.workload_tables import printers

    PRINTERS.update(printers(since))


_register_workloads()


def printer(group: str, kind: str) -> Printer:
    return PRINTERS.get((group, kind), DEFAULT)


def row(p: Printer, obj: Obj, now: float, include: str, version: str, view: Obj | None = None) -> Obj:
    """One Table row; ``include``: None | Metadata | Object (``includeObject``). ``view`` is the
    object as the client's group-version renders it (it defaults to ``obj``)."""
    out: Obj = {"cells": p.row(obj, now)}
    shown = obj if view is None else view
    if include == "Object":
        out["object"] = shown
    elif include != "None":
        out["object"] = partial(shown, version)
    return out


def table(p: Printer, objs: Iterable[Obj], now: float, *, include: str = "Metadata", version: str = "v1",
          resource_version: str = "", continue_token: str = "", columns: bool = True,
          views: Iterable[Obj] | None = None) -> Obj:
    """A ``meta.k8s.io`` Table of ``objs``; ``columns=False`` omits the definitions (watch events
    after the first)."""
    objs = list(objs)
    shown = list(views) if views is not None else objs
    md: Obj = {}
    if resource_version:
        md["resourceVersion"] = resource_version
    if continue_token:
        md["continue"] = continue_token
    out: Obj = {"kind": "Table", "apiVersion": f"meta.k8s.io/{version}", "metadata": md}
    if columns:
        out["columnDefinitions"] = [c.definition() for c in p.columns()]
    else:
        out["columnDefinitions"] = None
    out["rows"] = [row(p, o, now, include, version, v) for o, v in zip(objs, shown, strict=True)]
    return out
