"""Table cells for Services, Endpoints and EndpointSlices, as kubectl shows them
(pkg/printers/internalversion/printers.go: ``printService``, ``printEndpoints``,
``printEndpointSlice``; ``getServiceExternalIP``, ``makePortString``, ``formatEndpoints``,
``formatDiscoveryPorts``, ``formatDiscoveryEndpoints``). The columns are in ``api.tables``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from podbay.api.meta import parse_time
from podbay.api.printing import human_duration


def age_column(obj: Mapping[str, Any], now: float) -> str:
    t = parse_time((obj.get("metadata") or {}).get("creationTimestamp"))
    return "<unknown>" if t is None else human_duration(now - t)


def _lb_ips(svc: Mapping[str, Any], wide: bool) -> str:
    ing = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    out = ",".join(str(i.get("ip") or i.get("hostname") or "") for i in ing if i.get("ip") or i.get("hostname"))
    if not wide and len(out) > 16:
        out = out[:13] + "..."
    return out


def external_ip(svc: Mapping[str, Any], wide: bool = False) -> str:
    spec = svc.get("spec") or {}
    ext = [str(x) for x in spec.get("externalIPs") or []]
    t = spec.get("type")
    if t in ("ClusterIP", "NodePort"):
        return ",".join(ext) if ext else "<none>"
    if t == "LoadBalancer":
        lb = _lb_ips(svc, wide)
        if ext:
            return ",".join([*(lb.split(",") if lb else []), *ext])
        return lb or "<pending>"
    if t == "ExternalName":
        return str(spec.get("externalName") or "")
    return "<unknown>"


def port_string(svc: Mapping[str, Any]) -> str:
    out = []
    for p in (svc.get("spec") or {}).get("ports") or []:
        proto = p.get("protocol") or "TCP"
        out.append(f"{p.get('port')}:{p['nodePort']}/{proto}" if p.get("nodePort") else f"{p.get('port')}/{proto}")
    return ",".join(out) if out else "<none>"


def _selector(svc: Mapping[str, Any]) -> str:
    sel = (svc.get("spec") or {}).get("selector") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(sel.items())) if sel else "<none>"


def service_cells(svc: Mapping[str, Any], now: float) -> list[str]:
    spec = svc.get("spec") or {}
    return [str((svc.get("metadata") or {}).get("name")), str(spec.get("type") or ""),
            str(spec.get("clusterIP") or "<none>"), external_ip(svc), port_string(svc), age_column(svc, now),
            _selector(svc)]


def _more(items: list[str], more: bool, count: int, limit: int, empty: str) -> str:
    ret = ",".join(items)
    if more:
        return f"{ret} + {count - limit} more..."
    return ret or empty


def endpoints_string(ep: Mapping[str, Any]) -> str:
    subsets = ep.get("subsets") or []
    if not subsets:
        return "<none>"
    items: list[str] = []
    limit, more, count = 3, False, 0
    for ss in subsets:
        addrs = ss.get("addresses") or []
        ports = ss.get("ports") or []
        if not ports:
            count += len(addrs)
            for a in addrs:
                if len(items) == limit:
                    more = True
                    break
                items.append(str(a.get("ip")))
            continue
        for p in ports:
            count += len(addrs)
            for a in addrs:
                if len(items) == limit:
                    more = True
                    break
                ip = str(a.get("ip"))
                items.append(f"[{ip}]:{p.get('port')}" if ":" in ip else f"{ip}:{p.get('port')}")
    return _more(items, more, count, limit, "")


def endpoints_cells(ep: Mapping[str, Any], now: float) -> list[str]:
    return [str((ep.get("metadata") or {}).get("name")), endpoints_string(ep), age_column(ep, now)]


def slice_ports(sl: Mapping[str, Any]) -> str:
    items: list[str] = []
    limit, more, count = 3, False, 0
    for p in sl.get("ports") or []:
        if len(items) < limit:
            items.append(str(p["port"]) if p.get("port") is not None else str(p.get("name") or "*"))
        elif len(items) == limit:
            more = True
        count += 1
    return _more(items, more, count, limit, "<unset>")


def slice_endpoints(sl: Mapping[str, Any]) -> str:
    items: list[str] = []
    limit, more, count = 3, False, 0
    for ep in sl.get("endpoints") or []:
        for a in ep.get("addresses") or []:
            if len(items) < limit:
                items.append(str(a))
            elif len(items) == limit:
                more = True
            count += 1
    return _more(items, more, count, limit, "<unset>")


def endpointslice_cells(sl: Mapping[str, Any], now: float) -> list[str]:
    return [str((sl.get("metadata") or {}).get("name")), str(sl.get("addressType") or ""), slice_ports(sl),
            slice_endpoints(sl), age_column(sl, now)]
