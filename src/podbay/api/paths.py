"""kube-apiserver's URL layout, parsed (pure).

``/api`` · ``/api/v1`` · ``/apis`` · ``/apis/{g}`` · ``/apis/{g}/{v}`` · and below a group-version:
``{plural}[/{name}[/{sub}]]``, ``namespaces/{ns}/{plural}[/{name}[/{sub}]]`` (``namespaces/{name}``
and its ``status`` / ``finalize`` are the Namespace itself), the ``{name}/proxy/{path}`` of
``services/proxy`` and ``pods/proxy``, and the legacy ``watch/…`` prefix.
A trailing slash is accepted, as kube-apiserver accepts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote


@dataclass(frozen=True)
class Route:
    level: str                   # api | apis | group | groupversion | resource
    group: str = ""
    version: str = ""
    namespace: str | None = None
    plural: str = ""
    name: str = ""
    sub: str = ""
    watch: bool = False          # the legacy /watch/ prefix
    tail: str = ""               # what follows {name}/proxy/ (services/proxy, pods/proxy)


_NAMESPACE_SUBS = ("status", "finalize")


def parse(path: str) -> Route | None:
    """The route of an API path, or None when it is not one."""
    parts = [unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []
    if not parts:
        return None
    if parts[0] == "api":
        if len(parts) == 1:
            return Route("api")
        group, version, rest = "", parts[1], parts[2:]
    elif parts[0] == "apis":
        if len(parts) == 1:
            return Route("apis")
        if len(parts) == 2:
            return Route("group", parts[1])
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if not rest:
        return Route("groupversion", group, version)
    watch = False
    if rest[0] == "watch":
        watch, rest = True, rest[1:]
        if not rest:
            return None
    if any(p == "" for p in rest):
        return None
    if rest[0] == "namespaces" and len(rest) >= 3 and not (len(rest) == 3 and rest[2] in _NAMESPACE_SUBS):
        ns, rest = rest[1], rest[2:]
        if len(rest) > 3 and rest[2] == "proxy":
            return Route("resource", group, version, ns, rest[0], rest[1], "proxy", watch, "/".join(rest[3:]))
        if len(rest) > 3:
            return None
        return Route("resource", group, version, ns, rest[0], rest[1] if len(rest) > 1 else "",
                     rest[2] if len(rest) > 2 else "", watch)
    if len(rest) > 3:
        return None
    return Route("resource", group, version, None, rest[0], rest[1] if len(rest) > 1 else "",
                 rest[2] if len(rest) > 2 else "", watch)
