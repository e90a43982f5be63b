"""Discovery documents from the resource table, pure: legacy (``/api``, ``/apis``, ``/api/v1``,
``/apis/{g}``, ``/apis/{g}/{v}``) and aggregated (``apidiscovery.k8s.io`` v2 and v2beta1, one
document for ``/api`` and one for ``/apis``). They list exactly what the table serves.
"""

from __future__ import annotations

from typing import Any

from podbay.api.resources import ResourceTable, ResourceType

Obj = dict[str, Any]


def _gv(group: str, version: str) -> str:
    return version if not group else f"{group}/{version}"


def api_versions(server_address: str = "") -> Obj:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group(table: ResourceTable, group: str) -> Obj:
    versions = [{"groupVersion": _gv(group, v), "version": v} for v in table.versions(group)]
    return {"name": group, "versions": versions, "preferredVersion": versions[0]}


def api_group_list(table: ResourceTable) -> Obj:
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [_group(table, g) for g in table.groups() if g]}


def api_group(table: ResourceTable, group: str) -> Obj | None:
    if not group or group not in table.groups():
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(table, group)}


def _resource(rt: ResourceType) -> Obj:
    out: Obj = {"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced, "kind": rt.kind,
                "verbs": list(rt.verbs)}
    if rt.short_names:
        out["shortNames"] = list(rt.short_names)
    if rt.categories:
        out["categories"] = list(rt.categories)
    return out


def api_resource_list(table: ResourceTable, group: str, version: str) -> Obj | None:
    types = table.in_group_version(group, version)
    if not types:
        return None
    resources: list[Obj] = []
    for rt in sorted(types, key=lambda t: t.plural):
        resources.append(_resource(rt))
        for sub in rt.subresources:
            entry: Obj = {"name": f"{rt.plural}/{sub.name}", "singularName": "", "namespaced": rt.namespaced,
                          "kind": sub.kind, "verbs": list(sub.verbs)}
            if sub.group is not None:
                entry["group"] = sub.group
                entry["version"] = sub.version
            resources.append(entry)
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": _gv(group, version),
            "resources": resources}


def _aggregated_resource(rt: ResourceType) -> Obj:
    out: Obj = {"resource": rt.plural,
                "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
                "scope": "Namespaced" if rt.namespaced else "Cluster",
                "singularResource": rt.singular, "verbs": list(rt.verbs)}
    if rt.short_names:
        out["shortNames"] = list(rt.short_names)
    if rt.categories:
        out["categories"] = list(rt.categories)
    if rt.subresources:
        out["subresources"] = [
            {"subresource": s.name,
             "responseKind": {"group": rt.group if s.group is None else s.group,
                              "version": rt.version if s.version is None else s.version, "kind": s.kind},
             "verbs": list(s.verbs)}
            for s in rt.subresources]
    return out


def aggregated(table: ResourceTable, *, core: bool, version: str = "v2") -> Obj:
    """APIGroupDiscoveryList for ``/api`` (core=True) or ``/apis``; ``version`` v2 or v2beta1."""
    items = []
    for group in table.groups():
        if (group == "") != core:
            continue
        versions = [{"version": v,
                     "resources": [_aggregated_resource(rt)
                                   for rt in sorted(table.in_group_version(group, v), key=lambda t: t.plural)],
                     "freshness": "Current"}
                    for v in table.versions(group)]
        items.append({"metadata": {"name": group, "creationTimestamp": None}, "versions": versions})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": f"apidiscovery.k8s.io/{version}", "metadata": {},
            "items": items}
