"""``describe`` for the kinds beyond pods, ConfigMaps, Secrets and claims: kubectl's describers
(pkg/describe/describe.go) for Service, Endpoints, EndpointSlice, ServiceAccount, Namespace, Node,
Deployment and ReplicaSet, and its generic describer for every other kind (Name, Namespace, Labels,
Annotations, then every field with ``smartLabelFor`` names, then the object's Events). Pure
functions of the objects they are given; Go's random map order is sorted here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from podbay.cli.describe import _annotations, _events, _labels, _Out, describe_pod_template, rfc1123z
from podbay.cli.tableprint import format_labels, go_float

Obj = dict[str, Any]
ACRONYMS = ("API", "URL", "UID", "GUID")
GENERIC_SKIP = (".metadata.managedFields", ".metadata.name", ".metadata.namespace", ".metadata.labels",
                ".metadata.annotations")


# --- generic -------------------------------------------------------------------------------------------

def _char_class(ch: str) -> int:
    if ch.islower():
        return 1
    if ch.isupper():
        return 2
    if ch.isdigit():
        return 3
    return 4


def camel_split(s: str) -> list[str]:
    """fatih/camelcase.Split: runs of one character class; an upper run gives its last letter to a
    following lower run (``PDFLoader`` -> ``PDF``, ``Loader``)."""
    runs: list[list[str]] = []
    last = 0
    for ch in s:
        c = _char_class(ch)
        if runs and c == last:
            runs[-1].append(ch)
        else:
            runs.append([ch])
        last = c
    for i in range(len(runs) - 1):
        if runs[i][0].isupper() and runs[i + 1][0].islower():
            runs[i + 1].insert(0, runs[i].pop())
    return ["".join(r) for r in runs if r]


def smart_label(field: str) -> str:
    """smartLabelFor: ``creationTimestamp`` -> ``Creation Timestamp``, ``apiVersion`` -> ``API Version``."""
    if any(not (ch.isalpha() or ch == "-") for ch in field):
        return field
    parts = camel_split(field)
    merged: list[str] = []
    i = 0
    while i < len(parts):
        part = parts[i]
        if (i < len(parts) - 1 and len(part) >= 2 and all(not ch.isalpha() or ch.isupper() for ch in part)
                and parts[i + 1][:1].isupper()):
            merged.append(part + parts[i + 1])
            i += 2
            continue
        merged.append(part)
        i += 1
    out = []
    for part in merged:
        if part == "_":
            continue
        if part.upper() in ACRONYMS:
            part = part.upper()
        elif part.lower() == part:
            part = part[:1].upper() + part[1:]
        out.append(part)
    return " ".join(out)


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "<nil>"
    if isinstance(v, float):
        return go_float(v)
    return str(v)


def _content(o: _Out, level: int, content: Obj, prefix: str, skip: tuple[str, ...]) -> None:
    """printUnstructuredContent."""
    for field in sorted(content):
        value = content[field]
        path = f"{prefix}.{field}"
        if path in skip:
            continue
        if isinstance(value, dict):
            o.w(level, f"{smart_label(field)}:\n")
            _content(o, level + 1, value, path, skip)
        elif isinstance(value, list):
            o.w(level, f"{smart_label(field)}:\n")
            for child in value:
                if isinstance(child, dict):
                    _content(o, level + 1, child, path, skip)
                else:
                    o.w(level + 1, f"{_scalar(child)}\n")
        else:
            o.w(level, f"{smart_label(field)}:\t{_scalar(value)}\n")


def describe_generic(obj: Obj, events: list[Obj] | None, now: datetime) -> str:
    meta = obj.get("metadata") or {}
    o = _Out()
    o.w(0, f"Name:\t{meta.get('name', '')}\n")
    o.w(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    _labels(o, "Labels", meta.get("labels"))
    _annotations(o, meta.get("annotations"))
    _content(o, 0, obj, "", GENERIC_SKIP)
    if events is not None:
        _events(o, events, now)
    return o.text()


# --- core kinds ----------------------------------------------------------------------------------------

def _head(o: _Out, obj: Obj, namespace: bool = True) -> None:
    meta = obj.get("metadata") or {}
    o.w(0, f"Name:\t{meta.get('name', '')}\n")
    if namespace:
        o.w(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    _labels(o, "Labels", meta.get("labels"))
    _annotations(o, meta.get("annotations"))


def _endpoint_slices_text(slices: list[Obj], port_name: str) -> str:
    """formatEndpointSlices: up to 3 ready ``ip:port`` of the named port, ``+ N more...``."""
    if not slices:
        return "<none>"
    ends: list[str] = []
    count = 0
    for sl in slices:
        for port in sl.get("ports") or []:
            if (port.get("name") or "") != port_name:
                continue
            for ep in sl.get("endpoints") or []:
                if (ep.get("conditions") or {}).get("ready") is False:
                    continue
                for addr in ep.get("addresses") or []:
                    count += 1
                    if len(ends) < 3:
                        host = f"[{addr}]" if ":" in addr else addr
                        ends.append(f"{host}:{port.get('port', 0)}" if port.get("port") is not None else addr)
    if not ends:
        return ""   # slices exist, none ready: kubectl prints an empty value
    text = ",".join(ends)
    if count > len(ends):
        text += f" + {count - len(ends)} more..."
    return text


def describe_service(svc: Obj, slices: list[Obj], events: list[Obj] | None, now: datetime) -> str:
    spec, status = svc.get("spec") or {}, svc.get("status") or {}
    o = _Out()
    _head(o, svc)
    o.w(0, f"Selector:\t{format_labels(spec.get('selector')) if spec.get('selector') else '<none>'}\n")
    o.w(0, f"Type:\t{spec.get('type', '')}\n")
    if spec.get("ipFamilyPolicy"):
        o.w(0, f"IP Family Policy:\t{spec['ipFamilyPolicy']}\n")
    o.w(0, f"IP Families:\t{','.join(spec.get('ipFamilies') or []) or '<none>'}\n")
    o.w(0, f"IP:\t{spec.get('clusterIP', '')}\n")
    o.w(0, f"IPs:\t{','.join(spec.get('clusterIPs') or []) or '<none>'}\n")
    if spec.get("externalIPs"):
        o.w(0, f"External IPs:\t{','.join(spec['externalIPs'])}\n")
    if spec.get("loadBalancerIP"):
        o.w(0, f"Desired LoadBalancer IP:\t{spec['loadBalancerIP']}\n")
    if spec.get("externalName"):
        o.w(0, f"External Name:\t{spec['externalName']}\n")
    ingress = (status.get("loadBalancer") or {}).get("ingress") or []
    if ingress:
        parts = []
        for ing in ingress:
            if ing.get("ip"):
                parts.append(ing["ip"] + (f" ({ing['ipMode']})" if ing.get("ipMode") else ""))
            else:
                parts.append(str(ing.get("hostname") or ""))
        o.w(0, f"LoadBalancer Ingress:\t{', '.join(parts)}\n")
    for sp in spec.get("ports") or []:
        name = sp.get("name") or "<unset>"
        proto = sp.get("protocol") or "TCP"
        o.w(0, f"Port:\t{name}\t{sp.get('port', 0)}/{proto}\n")
        o.w(0, f"TargetPort:\t{sp.get('targetPort', sp.get('port', 0))}/{proto}\n")
        if sp.get("appProtocol"):
            o.w(0, f"AppProtocol:\t{sp['appProtocol']}\n")
        if sp.get("nodePort"):
            o.w(0, f"NodePort:\t{name}\t{sp['nodePort']}/{proto}\n")
        o.w(0, f"Endpoints:\t{_endpoint_slices_text(slices, sp.get('name') or '')}\n")
    o.w(0, f"Session Affinity:\t{spec.get('sessionAffinity', '')}\n")
    if spec.get("externalTrafficPolicy"):
        o.w(0, f"External Traffic Policy:\t{spec['externalTrafficPolicy']}\n")
    if spec.get("internalTrafficPolicy"):
        o.w(0, f"Internal Traffic Policy:\t{spec['internalTrafficPolicy']}\n")
    if spec.get("healthCheckNodePort"):
        o.w(0, f"HealthCheck NodePort:\t{spec['healthCheckNodePort']}\n")
    if spec.get("loadBalancerSourceRanges"):
        o.w(0, f"LoadBalancer Source Ranges:\t{','.join(spec['loadBalancerSourceRanges'])}\n")
    if spec.get("trafficDistribution"):
        o.w(0, f"Traffic Distribution:\t{spec['trafficDistribution']}\n")
    if events is not None:
        _events(o, events, now)
    return o.text()


def describe_endpoints(ep: Obj, events: list[Obj] | None, now: datetime) -> str:
    o = _Out()
    _head(o, ep)
    o.w(0, "Subsets:\n")
    for subset in ep.get("subsets") or []:
        addrs = ",".join(a.get("ip", "") for a in subset.get("addresses") or []) or "<none>"
        o.w(1, f"Addresses:\t{addrs}\n")
        not_ready = ",".join(a.get("ip", "") for a in subset.get("notReadyAddresses") or []) or "<none>"
        o.w(1, f"NotReadyAddresses:\t{not_ready}\n")
        if subset.get("ports"):
            o.w(1, "Ports:\n")
            o.w(2, "Name\tPort\tProtocol\n")
            o.w(2, "----\t----\t--------\n")
            for p in subset["ports"]:
                o.w(2, f"{p.get('name') or '<unset>'}\t{p.get('port', 0)}\t{p.get('protocol', 'TCP')}\n")
        o.w(0, "\n")
    if events is not None:
        _events(o, events, now)
    return o.text()


def describe_endpoint_slice(eps: Obj, events: list[Obj] | None, now: datetime) -> str:
    o = _Out()
    _head(o, eps)
    o.w(0, f"AddressType:\t{eps.get('addressType', '')}\n")
    ports = eps.get("ports") or []
    if not ports:
        o.w(0, "Ports: <unset>\n")
    else:
        o.w(0, "Ports:\n")
        o.w(1, "Name\tPort\tProtocol\n")
        o.w(1, "----\t----\t--------\n")
        for p in ports:
            port = p.get("port")
            o.w(1, f"{p.get('name') or '<unset>'}\t{'<unset>' if port is None else port}\t{p.get('protocol', '')}\n")
    endpoints = eps.get("endpoints") or []
    if not endpoints:
        o.w(0, "Endpoints: <none>\n")
    else:
        o.w(0, "Endpoints:\n")
        for ep in endpoints:
            o.w(1, f"- Addresses:\t{', '.join(ep.get('addresses') or []) or '<none>'}\n")
            o.w(2, "Conditions:\n")
            ready = (ep.get("conditions") or {}).get("ready")
            o.w(3, f"Ready:\t{'<unset>' if ready is None else _scalar(ready)}\n")
            o.w(2, f"Hostname:\t{ep.get('hostname') if ep.get('hostname') is not None else '<unset>'}\n")
            ref = ep.get("targetRef")
            if ref:
                o.w(2, f"TargetRef:\t{ref.get('kind', '')}/{ref.get('name', '')}\n")
            o.w(2, f"NodeName:\t{ep.get('nodeName') if ep.get('nodeName') is not None else '<unset>'}\n")
            o.w(2, f"Zone:\t{ep.get('zone') if ep.get('zone') is not None else '<unset>'}\n")
    if events is not None:
        _events(o, events, now)
    return o.text()


def describe_service_account(sa: Obj, events: list[Obj] | None, now: datetime) -> str:
    o = _Out()
    _head(o, sa)
    names = [s.get("name", "") for s in sa.get("imagePullSecrets") or []]
    header, empty = "Image pull secrets:", " " * len("Image pull secrets:")
    if not names:
        o.w(0, f"{header}\t<none>\n")
    for i, name in enumerate(names):
        o.w(0, f"{header if i == 0 else empty}\t{name}\n")
    if events is not None:
        _events(o, events, now)
    return o.text()


def describe_namespace(ns: Obj) -> str:
    """describeNamespace; podbay serves no ResourceQuota/LimitRange, which kubectl then leaves out."""
    meta, status = ns.get("metadata") or {}, ns.get("status") or {}
    o = _Out()
    o.w(0, f"Name:\t{meta.get('name', '')}\n")
    _labels(o, "Labels", meta.get("labels"))
    _annotations(o, meta.get("annotations"))
    o.w(0, f"Status:\t{status.get('phase', '')}\n")
    conditions = status.get("conditions") or []
    if conditions:
        o.w(0, "Conditions:\n")
        o.w(1, "Type\tStatus\tLastTransitionTime\tReason\tMessage\n")
        o.w(1, "----\t------\t------------------\t------\t-------\n")
        for c in conditions:
            o.w(1, f"{c.get('type', '')}\t{c.get('status', '')}\t{rfc1123z(c.get('lastTransitionTime'))}\t"
                   f"{c.get('reason', '')}\t{c.get('message', '')}\n")
    return o.text()


# --- nodes ---------------------------------------------------------------------------------------------

def _roles(node: Obj) -> list[str]:
    """findNodeRoles: node-role.kubernetes.io/<role> labels and kubernetes.io/role."""
    roles = set()
    for k, v in ((node.get("metadata") or {}).get("labels") or {}).items():
        if k.startswith("node-role.kubernetes.io/") and k[len("node-role.kubernetes.io/"):]:
            roles.add(k[len("node-role.kubernetes.io/"):])
        elif k == "kubernetes.io/role" and v:
            roles.add(v)
    return sorted(roles)


def _resource_order(names: list[str]) -> list[str]:
    """SortableResourceNames: plain string order."""
    return sorted(names)


def _milli(value: Any, cpu: bool) -> int:
    from podbay.api.quantity import parse_quantity

    try:
        q = parse_quantity(str(value))
    except ValueError:
        return 0
    return int(round(float(q) * 1000)) if cpu else int(q)


def _fmt_quantity(amount: int, cpu: bool) -> str:
    """resource.Quantity.String() of a sum: cpu in millicores (``250m``, ``2``), memory in bytes/Ki/Mi."""
    if cpu:
        return str(amount // 1000) if amount % 1000 == 0 else f"{amount}m"
    for suffix, size in (("Ei", 1 << 60), ("Pi", 1 << 50), ("Ti", 1 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20),
                         ("Ki", 1 << 10)):
        if amount and amount % size == 0:
            return f"{amount // size}{suffix}"
    return str(amount)


def _pod_requests(pod: Obj, kind: str) -> dict[str, int]:
    """resourcehelper.PodRequestsAndLimits, simplified: containers summed, init containers' max."""
    spec = pod.get("spec") or {}
    total: dict[str, int] = {}
    for c in spec.get("containers") or []:
        for name, value in ((c.get("resources") or {}).get(kind) or {}).items():
            total[name] = total.get(name, 0) + _milli(value, name == "cpu")
    for c in spec.get("initContainers") or []:
        for name, value in ((c.get("resources") or {}).get(kind) or {}).items():
            total[name] = max(total.get(name, 0), _milli(value, name == "cpu"))
    for name, value in (spec.get("overhead") or {}).items():
        total[name] = total.get(name, 0) + _milli(value, name == "cpu")
    return total


def _percent(part: int, whole: int) -> str:
    return f"{int(part * 100 / whole) if whole else 0}%"


def describe_node(node: Obj, pods: list[Obj] | None, lease: Obj | None, events: list[Obj] | None,
                  now: datetime) -> str:
    from podbay.cli.printers import since

    meta, spec, status = node.get("metadata") or {}, node.get("spec") or {}, node.get("status") or {}
    o = _Out()
    o.w(0, f"Name:\t{meta.get('name', '')}\n")
    o.w(0, f"Roles:\t{','.join(_roles(node)) or '<none>'}\n")
    _labels(o, "Labels", meta.get("labels"))
    _annotations(o, meta.get("annotations"))
    o.w(0, f"CreationTimestamp:\t{rfc1123z(meta.get('creationTimestamp'))}\n")
    taints = spec.get("taints") or []
    o.w(0, "Taints:\t")
    if not taints:
        o.w(0, "<none>\n")
    for i, t in enumerate(taints):
        text = f"{t.get('key', '')}={t.get('value', '')}:{t.get('effect', '')}" if t.get("value") else \
            f"{t.get('key', '')}:{t.get('effect', '')}"
        o.w(0, f"{chr(9) if i else ''}{text}\n")
    o.w(0, f"Unschedulable:\t{'true' if spec.get('unschedulable') else 'false'}\n")
    o.w(0, "Lease:\n")
    lspec = (lease or {}).get("spec") or {}
    o.w(1, f"HolderIdentity:\t{lspec.get('holderIdentity') or '<unset>'}\n")
    o.w(1, f"AcquireTime:\t{rfc1123z(lspec['acquireTime']) if lspec.get('acquireTime') else '<unset>'}\n")
    o.w(1, f"RenewTime:\t{rfc1123z(lspec['renewTime']) if lspec.get('renewTime') else '<unset>'}\n")
    conditions = status.get("conditions") or []
    if conditions:
        o.w(0, "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n")
        o.w(1, "----\t------\t-----------------\t------------------\t------\t-------\n")
        for c in conditions:
            o.w(1, f"{c.get('type', '')} \t{c.get('status', '')} \t{rfc1123z(c.get('lastHeartbeatTime'))} \t"
                   f"{rfc1123z(c.get('lastTransitionTime'))} \t{c.get('reason', '')} \t{c.get('message', '')}\n")
    o.w(0, "Addresses:\n")
    for a in status.get("addresses") or []:
        o.w(1, f"{a.get('type', '')}:\t{a.get('address', '')}\n")
    for key, title in (("capacity", "Capacity"), ("allocatable", "Allocatable")):
        res = status.get(key) or {}
        if res:
            o.w(0, f"{title}:\n")
            for name in _resource_order(list(res)):
                o.w(0, f"  {name}:\t{res[name]}\n")
    info = status.get("nodeInfo") or {}
    o.w(0, "System Info:\n")
    for label, key in (("Machine ID", "machineID"), ("System UUID", "systemUUID"), ("Boot ID", "bootID"),
                       ("Kernel Version", "kernelVersion"), ("OS Image", "osImage"),
                       ("Operating System", "operatingSystem"), ("Architecture", "architecture"),
                       ("Container Runtime Version", "containerRuntimeVersion"),
                       ("Kubelet Version", "kubeletVersion")):
        o.w(0, f"  {label}:\t{info.get(key, '')}\n")
    if spec.get("podCIDR"):
        o.w(0, f"PodCIDR:\t{spec['podCIDR']}\n")
    if spec.get("podCIDRs"):
        o.w(0, f"PodCIDRs:\t{','.join(spec['podCIDRs'])}\n")
    if spec.get("providerID"):
        o.w(0, f"ProviderID:\t{spec['providerID']}\n")
    if pods is None:
        o.w(0, "Pods:\tnot authorized\n")
    else:
        _node_pods(o, node, pods, now, since)
    if events is not None:
        _events(o, events, now)
    return o.text()


def _node_pods(o: _Out, node: Obj, pods: list[Obj], now: datetime, since: Any) -> None:
    """describeNodeResource: the non-terminated pods and the requests/limits they add up to."""
    alloc = (node.get("status") or {}).get("allocatable") or {}
    cap = {name: _milli(value, name == "cpu") for name, value in alloc.items()}
    live = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    o.w(0, f"Non-terminated Pods:\t({len(live)} in total)\n")
    o.w(1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n")
    o.w(1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n")
    totals: dict[str, dict[str, int]] = {"requests": {}, "limits": {}}
    for p in live:
        meta = p.get("metadata") or {}
        req, lim = _pod_requests(p, "requests"), _pod_requests(p, "limits")
        for kind, values in (("requests", req), ("limits", lim)):
            for name, v in values.items():
                totals[kind][name] = totals[kind].get(name, 0) + v
        cells = []
        for name in ("cpu", "memory"):
            for values in (req, lim):
                v = values.get(name, 0)
                cells.append(f"{_fmt_quantity(v, name == 'cpu')} ({_percent(v, cap.get(name, 0))})")
        o.w(1, f"{meta.get('namespace', '')}\t{meta.get('name', '')}\t\t" + "\t".join(cells)
               + f"\t{since(meta.get('creationTimestamp'), now)}\n")
    o.w(0, "Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n")
    o.w(1, "Resource\tRequests\tLimits\n")
    o.w(1, "--------\t--------\t------\n")
    extra = sorted(set(totals["requests"]) | set(totals["limits"]) - {"cpu", "memory", "ephemeral-storage"})
    for name in ["cpu", "memory", "ephemeral-storage", *[n for n in extra if n not in ("cpu", "memory",
                                                                                    "ephemeral-storage")]]:
        r_total, l_total = totals["requests"].get(name, 0), totals["limits"].get(name, 0)
        cpu = name == "cpu"
        o.w(1, f"{name}\t{_fmt_quantity(r_total, cpu)} ({_percent(r_total, cap.get(name, 0))})\t"
               f"{_fmt_quantity(l_total, cpu)} ({_percent(l_total, cap.get(name, 0))})\n")


# --- workloads -----------------------------------------------------------------------------------------

def label_selector_text(selector: Obj | None) -> str:
    """metav1.FormatLabelSelector: ``a=b,c in (d,e),!f``; ``<none>`` for none."""
    if not selector:
        return "<none>"
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator", ""), list(expr.get("values") or [])
        if op == "In":
            parts.append(f"{key} in ({','.join(sorted(values))})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(sorted(values))})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts) if parts else "<none>"


def _replica_sets_text(sets: list[Obj]) -> str:
    """printReplicaSetsByLabels: ``name (ready/desired replicas created)``."""
    if not sets:
        return "<none>"
    return ", ".join(f"{(rs.get('metadata') or {}).get('name', '')} "
                     f"({(rs.get('status') or {}).get('replicas', 0)}/{(rs.get('spec') or {}).get('replicas', 0)} "
                     "replicas created)" for rs in sets)


def _int_or_string(v: Any, default: str) -> str:
    return default if v is None else str(v)


def describe_deployment(d: Obj, old: list[Obj] | None, new: list[Obj] | None, events: list[Obj] | None,
                        now: datetime) -> str:
    meta, spec, status = d.get("metadata") or {}, d.get("spec") or {}, d.get("status") or {}
    o = _Out()
    o.w(0, f"Name:\t{meta.get('name', '')}\n")
    o.w(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    o.w(0, f"CreationTimestamp:\t{rfc1123z(meta.get('creationTimestamp'))}\n")
    _labels(o, "Labels", meta.get("labels"))
    _annotations(o, meta.get("annotations"))
    o.w(0, f"Selector:\t{label_selector_text(spec.get('selector'))}\n")
    o.w(0, f"Replicas:\t{spec.get('replicas', 1)} desired | {status.get('updatedReplicas', 0)} updated | "
           f"{status.get('replicas', 0)} total | {status.get('availableReplicas', 0)} available | "
           f"{status.get('unavailableReplicas', 0)} unavailable\n")
    strategy = spec.get("strategy") or {}
    o.w(0, f"StrategyType:\t{strategy.get('type', '')}\n")
    o.w(0, f"MinReadySeconds:\t{spec.get('minReadySeconds', 0)}\n")
    ru = strategy.get("rollingUpdate")
    if ru is not None:
        o.w(0, f"RollingUpdateStrategy:\t{_int_or_string(ru.get('maxUnavailable'), '<nil>')} max unavailable, "
               f"{_int_or_string(ru.get('maxSurge'), '<nil>')} max surge\n")
    describe_pod_template(o, spec.get("template"))
    conditions = status.get("conditions") or []
    if conditions:
        o.w(0, "Conditions:\n  Type\tStatus\tReason\n")
        o.w(1, "----\t------\t------\n")
        for c in conditions:
            o.w(1, f"{c.get('type', '')} \t{c.get('status', '')}\t{c.get('reason', '')}\n")
    if old is not None or new is not None:
        o.w(0, f"OldReplicaSets:\t{_replica_sets_text(old or [])}\n")
        o.w(0, f"NewReplicaSet:\t{_replica_sets_text(new or [])}\n")
    if events is not None:
        _events(o, events, now)
    return o.text()


def pod_counts(pods: list[Obj]) -> tuple[int, int, int, int]:
    """getPodStatusForController: (running, waiting, succeeded, failed)."""
    counts = {"Running": 0, "Pending": 0, "Succeeded": 0, "Failed": 0}
    for p in pods:
        phase = (p.get("status") or {}).get("phase") or "Pending"
        if phase in counts:
            counts[phase] += 1
    return counts["Running"], counts["Pending"], counts["Succeeded"], counts["Failed"]


def describe_replica_set(rs: Obj, pods: list[Obj], events: list[Obj] | None, now: datetime) -> str:
    meta, spec, status = rs.get("metadata") or {}, rs.get("spec") or {}, rs.get("status") or {}
    o = _Out()
    o.w(0, f"Name:\t{meta.get('name', '')}\n")
    o.w(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    o.w(0, f"Selector:\t{label_selector_text(spec.get('selector'))}\n")
    _labels(o, "Labels", meta.get("labels"))
    _annotations(o, meta.get("annotations"))
    owner = controller_of(rs)
    if owner:
        o.w(0, f"Controlled By:\t{owner}\n")
    o.w(0, f"Replicas:\t{status.get('replicas', 0)} current / {spec.get('replicas', 1)} desired\n")
    running, waiting, succeeded, failed = pod_counts(pods)
    o.w(0, f"Pods Status:\t{running} Running / {waiting} Waiting / {succeeded} Succeeded / {failed} Failed\n")
    describe_pod_template(o, spec.get("template"))
    conditions = status.get("conditions") or []
    if conditions:
        o.w(0, "Conditions:\n  Type\tStatus\tReason\n")
        o.w(1, "----\t------\t------\n")
        for c in conditions:
            o.w(1, f"{c.get('type', '')} \t{c.get('status', '')}\t{c.get('reason', '')}\n")
    if events is not None:
        _events(o, events, now)
    return o.text()


def controller_of(obj: Obj) -> str:
    """printController: ``Kind/name`` of the controlling owner reference."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return f"{ref.get('kind', '')}/{ref.get('name', '')}"
    return ""
