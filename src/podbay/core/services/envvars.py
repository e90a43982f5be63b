"""Service environment variables of a container (pkg/kubelet/envvars, kubelet getServiceEnvVarMap).

Captured when the container is created: Services created later are invisible until it restarts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

MASTER_SERVICE = ("default", "kubernetes")


def _ip_set(svc: Mapping[str, Any]) -> bool:
    """v1helper.IsServiceIPSet: a ClusterIP that is neither empty nor None."""
    ip = (svc.get("spec") or {}).get("clusterIP") or ""
    return bool(ip) and ip != "None"


def env_name(name: str) -> str:
    """makeEnvVariableName: upper case, '-' to '_'."""
    return name.replace("-", "_").upper()


def _host_port(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def from_services(services: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """envvars.FromServices: {SVC}_SERVICE_HOST/_PORT, named ports, and the docker-link variables."""
    out: list[tuple[str, str]] = []
    for svc in services:
        if not _ip_set(svc):
            continue
        spec = svc.get("spec") or {}
        ports = [p for p in spec.get("ports") or [] if isinstance(p, dict)]
        if not ports:
            continue
        ip = str(spec["clusterIP"])
        prefix = env_name(str((svc.get("metadata") or {}).get("name")))
        out.append((prefix + "_SERVICE_HOST", ip))
        out.append((prefix + "_SERVICE_PORT", str(ports[0]["port"])))
        for p in ports:
            if p.get("name"):
                out.append((f"{prefix}_SERVICE_PORT_{env_name(str(p['name']))}", str(p["port"])))
        for i, p in enumerate(ports):
            proto = str(p.get("protocol") or "TCP")
            url = f"{proto.lower()}://{_host_port(ip, int(p['port']))}"
            if i == 0:
                out.append((prefix + "_PORT", url))
            pp = f"{prefix}_PORT_{p['port']}_{proto.upper()}"
            out += [(pp, url), (pp + "_PROTO", proto.lower()), (pp + "_PORT", str(p["port"])), (pp + "_ADDR", ip)]
    return out


def service_env(namespace: str, enable_service_links: bool, services: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """getServiceEnvVarMap: the master service (`default/kubernetes`) always, the pod namespace's
    Services with a ClusterIP when enableServiceLinks (a same-named one there wins)."""
    chosen: dict[str, Mapping[str, Any]] = {}
    for svc in sorted(services, key=lambda s: ((s.get("metadata") or {}).get("namespace", ""),
                                                 (s.get("metadata") or {}).get("name", ""))):
        if not _ip_set(svc):
            continue
        md = svc.get("metadata") or {}
        key = (str(md.get("namespace")), str(md.get("name")))
        if key == MASTER_SERVICE:
            chosen.setdefault(key[1], svc)
        elif key[0] == namespace and enable_service_links:
            chosen[key[1]] = svc
    return dict(from_services(chosen[k] for k in sorted(chosen)))


def enable_service_links(pod: Mapping[str, Any]) -> bool:
    """spec.enableServiceLinks, default true (DefaultEnableServiceLinks)."""
    v = (pod.get("spec") or {}).get("enableServiceLinks")
    return True if v is None else bool(v)
