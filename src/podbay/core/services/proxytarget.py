"""Where `services/{name}/proxy` and `pods/{name}/proxy` send a request (pure), as the API server's
``ResourceLocation`` for services and pods does it:

* the name may carry a scheme and a port: ``[scheme:]name[:port]`` (port = a Service port name or
  number; for a pod, a container port number or name);
* a Service resolves to one ready endpoint of the matching port (random, as upstream), error
  ``no endpoints available for service "<name>"`` (503) when there is none;
* the path after ``/proxy`` is forwarded as is, with the query string.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from podbay.errors import BadRequest, StatusError


class ServiceUnavailable(StatusError):
    reason = "ServiceUnavailable"
    code = 503


class BadProxyRequest(BadRequest):
    pass


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int

    def url(self, path: str, query: str = "") -> str:
        p = path if path.startswith("/") else "/" + path
        return f"{self.scheme}://{self.host}:{self.port}{p}" + (f"?{query}" if query else "")


def split_name(text: str) -> tuple[str, str, str]:
    """net.SplitSchemeNamePort: (scheme, name, port) from `[scheme:]name[:port]`."""
    parts = text.split(":")
    if len(parts) == 1:
        return "", parts[0], ""
    if len(parts) == 2:
        return "", parts[0], parts[1]
    if len(parts) == 3 and parts[0] in ("http", "https"):
        return parts[0], parts[1], parts[2]
    raise BadProxyRequest(f"invalid service request {text!r}")


def service_target(svc: Mapping[str, Any], slices: Iterable[Mapping[str, Any]], port: str, scheme: str = "",
                   rand: random.Random | None = None) -> Target:
    spec = svc.get("spec") or {}
    name = (svc.get("metadata") or {}).get("name")
    ports = [p for p in spec.get("ports") or [] if isinstance(p, dict)]
    if port:
        sp = next((p for p in ports if p.get("name") == port or str(p.get("port")) == port), None)
        if sp is None:
            raise ServiceUnavailable(f'no service port "{port}" found for service "{name}"')
    elif len(ports) == 1 or ports:
        sp = ports[0]
    else:
        raise ServiceUnavailable(f'no endpoints available for service "{name}"')
    if spec.get("type") == "ExternalName":
        return Target(scheme or "http", str(spec.get("externalName")), int(sp.get("port") or 80))
    choices: list[tuple[str, int]] = []
    for sl in slices:
        num = next((int(p["port"]) for p in sl.get("ports") or []
                    if (p.get("name") or "") == (sp.get("name") or "")), None)
        if num is None:
            continue
        for ep in sl.get("endpoints") or []:
            if (ep.get("conditions") or {}).get("ready") is False:
                continue
            for ip in (ep.get("addresses") or [])[:1]:
                choices.append((str(ip), num))
    if not choices:
        raise ServiceUnavailable(f'no endpoints available for service "{name}"')
    ip, num = (rand or random.SystemRandom()).choice(sorted(choices))
    return Target(scheme or "http", ip, num)


def pod_target(pod: Mapping[str, Any], port: str, scheme: str = "") -> Target:
    ip = (pod.get("status") or {}).get("podIP")
    name = (pod.get("metadata") or {}).get("name")
    if not ip:
        raise BadProxyRequest(f'address not allowed: pod "{name}" has no IP yet')
    if not port:
        num = 80
        for c in (pod.get("spec") or {}).get("containers") or []:
            for p in c.get("ports") or []:
                num = int(p["containerPort"])
                break
            else:
                continue
            break
    elif port.isdigit():
        num = int(port)
    else:
        found = [int(p["containerPort"]) for c in (pod.get("spec") or {}).get("containers") or []
                 for p in c.get("ports") or [] if p.get("name") == port]
        if not found:
            raise BadProxyRequest(f'no container port named "{port}" in pod "{name}"')
        num = found[0]
    return Target(scheme or "http", str(ip), num)
