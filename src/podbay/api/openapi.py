"""OpenAPI v3 (one document per group-version) and v2 (one document) generated from the resource
table and the ``podbay.api.schema`` definitions (kubernetes-validate v1.37), pure.

What clients read from them: kubectl's server-side field validation probe (a PATCH operation whose
``x-kubernetes-group-version-kind`` names the kind and that takes ``fieldValidation``), the
strategic-merge-patch schema for client-side apply (``x-kubernetes-patch-*`` and list-map
extensions, kept as they are), and ``kubectl explain`` (descriptions, GVK markers). Only the schemas
reachable from the served kinds are included. Refs become ``#/components/schemas/…`` (v3, wrapped in
``allOf`` where the reference carries a description, as kube-openapi writes them) or
``#/definitions/…`` (v2); ``type: [x, "null"]`` becomes ``type: x``.
"""

from __future__ import annotations

from typing import Any

from podbay.api import schema
from podbay.api.patchtypes import PATCH_TYPES
from podbay.api.resources import ResourceTable, ResourceType

Obj = dict[str, Any]
_SRC_REF = "#/$defs/"
_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
# Definitions every group-version document carries (request and response envelopes).
_ALWAYS = (_META + "DeleteOptions", _META + "Status", _META + "WatchEvent", _META + "Patch",
           _META + "APIResourceList")
_V2_PRIMITIVE = {"io.k8s.apimachinery.pkg.api.resource.Quantity": {"type": "string", "format": "quantity"},
                 "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"type": "string", "format": "int-or-string"}}
INFO = {"title": "Kubernetes", "version": schema.KUBERNETES_VERSION}
_BEARER = {"BearerToken": {"type": "apiKey", "description": "Bearer Token authentication", "name": "authorization",
                           "in": "header"}}


# --- schemas -----------------------------------------------------------------------------------------


def _refs(node: Any, out: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_SRC_REF):
            out.add(ref[len(_SRC_REF):])
        for v in node.values():
            _refs(v, out)
    elif isinstance(node, list):
        for v in node:
            _refs(v, out)


def closure(roots: list[str]) -> list[str]:
    """Every definition reachable from ``roots`` (sorted)."""
    defs = schema.definitions()
    seen: set[str] = set()
    todo = [r for r in roots if r in defs]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        found: set[str] = set()
        _refs(defs[name], found)
        todo.extend(sorted(found - seen))
    return sorted(seen)


def _single_type(t: Any) -> Any:
    if isinstance(t, list):
        rest = [x for x in t if x != "null"]
        return rest[0] if len(rest) == 1 else rest
    return t


def convert(node: Any, *, v2: bool, top: bool = False) -> Any:
    """One schema node in OpenAPI form (see the module doc)."""
    if isinstance(node, list):
        return [convert(x, v2=v2) for x in node]
    if not isinstance(node, dict):
        return node
    prefix = "#/definitions/" if v2 else "#/components/schemas/"
    out: Obj = {}
    ref = node.get("$ref")
    for k, v in node.items():
        if k == "$ref":
            continue
        if k == "type":
            out[k] = _single_type(v)
        elif k == "properties":
            out[k] = {p: convert(s, v2=v2) for p, s in v.items()}
        elif k in ("items", "additionalProperties", "not"):
            out[k] = convert(v, v2=v2)
        elif k in ("allOf", "anyOf", "oneOf"):
            out[k] = [convert(x, v2=v2) for x in v]
        else:
            out[k] = v
    if isinstance(ref, str) and ref.startswith(_SRC_REF):
        target = prefix + ref[len(_SRC_REF):]
        out = {"$ref": target, **out} if v2 or not out else {"allOf": [{"$ref": target}], **out}
    return out


def _definition(name: str, *, v2: bool) -> Obj:
    node = dict(schema.definition(name))
    if v2 and name in _V2_PRIMITIVE:
        return {**{k: v for k, v in node.items() if k == "description"}, **_V2_PRIMITIVE[name]}
    if node.get("x-kubernetes-group-version-kind") and isinstance(node.get("properties"), dict):
        # kubernetes-validate pins apiVersion/kind with an enum; kube-apiserver's documents do not.
        props = dict(node["properties"])
        for key in ("apiVersion", "kind"):
            if isinstance(props.get(key), dict):
                props[key] = {k: v for k, v in props[key].items() if k != "enum"}
        node["properties"] = props
    out = convert(node, v2=v2)
    if not v2 and "oneOf" in out:
        out["oneOf"] = [{k: v for k, v in o.items()} for o in out["oneOf"]]
    return dict(out)


# --- parameters ----------------------------------------------------------------------------------------

_PARAMS: dict[str, tuple[str, str]] = {
    "allowWatchBookmarks": ("boolean", "Ask for BOOKMARK events in a watch."),
    "continue": ("string", "The continue token of the previous page of a paginated list."),
    "dryRun": ("string", "When All, run every stage of the request but persist nothing."),
    "fieldManager": ("string", "The name of the actor making the change (for managedFields)."),
    "fieldSelector": ("string", "Only objects whose fields match (metadata.name=x,status.phase!=Failed)."),
    "fieldValidation": ("string", "What to do with unknown or duplicate fields: Ignore, Warn or Strict."),
    "force": ("boolean", "Server-side apply: take over fields owned by other managers."),
    "gracePeriodSeconds": ("integer", "Seconds before the object is deleted; 0 deletes at once."),
    "ignoreStoreReadErrorWithClusterBreakingPotential": ("boolean", "Delete an object that cannot be read."),
    "labelSelector": ("string", "Only objects whose labels match."),
    "limit": ("integer", "At most this many items; the rest through the continue token."),
    "orphanDependents": ("boolean", "Deprecated: use propagationPolicy."),
    "pretty": ("string", "Pretty-print the output."),
    "propagationPolicy": ("string", "Garbage collection of dependents: Orphan, Background or Foreground."),
    "resourceVersion": ("string", "Which version of the data to serve (list) or to start from (watch)."),
    "resourceVersionMatch": ("string", "How resourceVersion applies to a list: Exact or NotOlderThan."),
    "sendInitialEvents": ("boolean", "Start a watch with synthetic ADDED events for the current state."),
    "timeoutSeconds": ("integer", "End the call after this many seconds."),
    "watch": ("boolean", "Stream changes instead of listing."),
    # pods/log
    "container": ("string", "The container to read or to attach to."),
    "follow": ("boolean", "Stream the log as it grows."),
    "insecureSkipTLSVerifyBackend": ("boolean", "Accepted for compatibility; podbay has no backend."),
    "limitBytes": ("integer", "Stop after this many bytes."),
    "previous": ("boolean", "The previous, terminated instance of the container."),
    "sinceSeconds": ("integer", "Only lines newer than this many seconds."),
    "sinceTime": ("string", "Only lines after this RFC 3339 time."),
    "stream": ("string", "All, Stdout or Stderr."),
    "tailLines": ("integer", "Only this many lines from the end."),
    "timestamps": ("boolean", "Prefix each line with its RFC 3339 timestamp."),
    # exec
    "command": ("string", "The command to run (repeated, one argument each)."),
    "stderr": ("boolean", "Stream the command's stderr."),
    "stdin": ("boolean", "Send stdin to the command."),
    "stdout": ("boolean", "Stream the command's stdout."),
    "tty": ("boolean", "Allocate a terminal."),
}

_LIST = ("allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit", "resourceVersion",
         "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds", "watch")
_WRITE = ("dryRun", "fieldManager", "fieldValidation")
_DELETE = ("dryRun", "gracePeriodSeconds", "ignoreStoreReadErrorWithClusterBreakingPotential", "orphanDependents",
           "propagationPolicy")
_LOG = ("container", "follow", "insecureSkipTLSVerifyBackend", "limitBytes", "previous", "sinceSeconds",
        "sinceTime", "stream", "tailLines", "timestamps")
_EXEC = ("command", "container", "stderr", "stdin", "stdout", "tty")


def _param(name: str, *, v2: bool, where: str = "query") -> Obj:
    typ, desc = _PARAMS.get(name, ("string", f"The {name} of the object."))
    if where == "path":
        desc = {"name": "name of the object", "namespace": "object name and auth scope, such as for teams and "
                "projects", "path": "path to the resource"}.get(name, desc)
        typ = "string"
    base: Obj = {"name": name, "in": where, "description": desc}
    if where == "path":
        base["required"] = True
    if v2:
        base.update(type=typ, uniqueItems=True)
    else:
        base["schema"] = {"type": typ, "uniqueItems": True}
    return base


# --- paths ---------------------------------------------------------------------------------------------


def _ident(rt: ResourceType) -> str:
    """``CoreV1`` / ``CoordinationV1`` / ``EventsV1`` (the operationId middle part)."""
    group = rt.group.split(".")[0] if rt.group else "core"
    return group[:1].upper() + group[1:] + rt.version[:1].upper() + rt.version[1:]


def _gvk(group: str, version: str, kind: str) -> Obj:
    return {"group": group, "kind": kind, "version": version}


class _Builder:
    def __init__(self, *, v2: bool) -> None:
        self.v2 = v2
        self.prefix = "#/definitions/" if v2 else "#/components/schemas/"

    def ref(self, name: str) -> Obj:
        return {"$ref": self.prefix + name}

    def response(self, definition: str | None, *, watch: bool = False, text: bool = False) -> Obj:
        if definition is None:
            body: Obj = {"type": "string"}
        else:
            body = self.ref(definition)
        if self.v2:
            return {"description": "OK", "schema": body}
        types = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]
        if watch:
            types += ["application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch"]
        if text:
            types = ["text/plain", "application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]
        return {"description": "OK", "content": {t: {"schema": body} for t in types}}

    def op(self, *, op_id: str, action: str, gvk: Obj, params: tuple[str, ...], responses: dict[str, str | None],
           body: str | None = None, body_types: tuple[str, ...] = ("*/*",), body_required: bool = True,
           watch: bool = False, text: bool = False, tag: str = "") -> Obj:
        out: Obj = {"description": f"{action} {gvk['kind']}", "operationId": op_id, "tags": [tag],
                    "parameters": [_param(p, v2=self.v2) for p in params]}
        if body is not None:
            if self.v2:
                out["parameters"].insert(0, {"name": "body", "in": "body", "required": body_required,
                                             "schema": self.ref(body)})
                out["consumes"] = list(body_types)
            else:
                out["requestBody"] = {"content": {t: {"schema": self.ref(body)} for t in body_types},
                                      "required": body_required}
        out["responses"] = {code: self.response(d, watch=watch, text=text) for code, d in responses.items()}
        if self.v2:
            out["produces"] = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]
            out["schemes"] = ["https"]
        out["x-kubernetes-action"] = action
        out["x-kubernetes-group-version-kind"] = gvk
        return out

    def path_params(self, *names: str) -> list[Obj]:
        return [_param(n, v2=self.v2, where="path") for n in names] + [_param("pretty", v2=self.v2)]

    def paths(self, rt: ResourceType, kind_def: str, list_def: str | None) -> dict[str, Obj]:
        base = "/api/v1" if not rt.group else f"/apis/{rt.group}/{rt.version}"
        ident, kind, tag = _ident(rt), rt.kind, _ident(rt)[0].lower() + _ident(rt)[1:]
        gvk = _gvk(rt.group, rt.version, kind)
        scope = "Namespaced" if rt.namespaced else ""
        coll = f"{base}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{base}/{rt.plural}"
        item = coll + "/{name}"
        ns = ("namespace",) if rt.namespaced else ()
        out: dict[str, Obj] = {}
        collection: Obj = {}
        if "list" in rt.verbs:
            collection["get"] = self.op(op_id=f"list{ident}{scope}{kind}", action="list", gvk=gvk, params=_LIST,
                                        responses={"200": list_def}, watch=True, tag=tag)
        if "create" in rt.verbs:
            collection["post"] = self.op(op_id=f"create{ident}{scope}{kind}", action="post", gvk=gvk, params=_WRITE,
                                         body=kind_def,
                                         responses={"200": kind_def, "201": kind_def, "202": kind_def}, tag=tag)
        if "deletecollection" in rt.verbs:
            collection["delete"] = self.op(op_id=f"deletecollection{ident}{scope}{kind}", action="deletecollection",
                                           gvk=gvk, params=_LIST + _DELETE, body=_META + "DeleteOptions",
                                           body_required=False, responses={"200": _META + "Status"}, tag=tag)
        if collection:
            collection["parameters"] = self.path_params(*ns)
            out[coll] = collection
        one: Obj = {}
        if "get" in rt.verbs:
            one["get"] = self.op(op_id=f"read{ident}{scope}{kind}", action="get", gvk=gvk, params=(),
                                 responses={"200": kind_def}, tag=tag)
        if "update" in rt.verbs:
            one["put"] = self.op(op_id=f"replace{ident}{scope}{kind}", action="put", gvk=gvk, params=_WRITE,
                                 body=kind_def, responses={"200": kind_def, "201": kind_def}, tag=tag)
        if "patch" in rt.verbs:
            one["patch"] = self.op(op_id=f"patch{ident}{scope}{kind}", action="patch", gvk=gvk,
                                   params=(*_WRITE, "force"), body=_META + "Patch", body_types=PATCH_TYPES,
                                   responses={"200": kind_def, "201": kind_def}, tag=tag)
        if "delete" in rt.verbs:
            one["delete"] = self.op(op_id=f"delete{ident}{scope}{kind}", action="delete", gvk=gvk, params=_DELETE,
                                    body=_META + "DeleteOptions", body_required=False,
                                    responses={"200": _META + "Status", "202": _META + "Status"}, tag=tag)
        if one:
            one["parameters"] = self.path_params("name", *ns)
            out[item] = one
        if rt.namespaced and "list" in rt.verbs:
            out[f"{base}/{rt.plural}"] = {
                "get": self.op(op_id=f"list{ident}{kind}ForAllNamespaces", action="list", gvk=gvk, params=_LIST,
                               responses={"200": list_def}, watch=True, tag=tag),
                "parameters": self.path_params()}
        for sub in rt.subresources:
            out.update(self.subresource(rt, sub.name, item, ns, kind_def, tag))
        return out

    def subresource(self, rt: ResourceType, name: str, item: str, ns: tuple[str, ...], kind_def: str,
                    tag: str) -> dict[str, Obj]:
        ident, kind = _ident(rt), rt.kind
        scope = "Namespaced" if rt.namespaced else ""
        gvk = _gvk(rt.group, rt.version, kind)
        path = f"{item}/{name}"
        entry: Obj = {}
        if name == "status":
            entry = {
                "get": self.op(op_id=f"read{ident}{scope}{kind}Status", action="get", gvk=gvk, params=(),
                               responses={"200": kind_def}, tag=tag),
                "put": self.op(op_id=f"replace{ident}{scope}{kind}Status", action="put", gvk=gvk, params=_WRITE,
                               body=kind_def, responses={"200": kind_def, "201": kind_def}, tag=tag),
                "patch": self.op(op_id=f"patch{ident}{scope}{kind}Status", action="patch", gvk=gvk,
                                 params=(*_WRITE, "force"), body=_META + "Patch", body_types=PATCH_TYPES,
                                 responses={"200": kind_def, "201": kind_def}, tag=tag)}
        elif name == "log":
            entry = {"get": self.op(op_id=f"read{ident}{scope}{kind}Log", action="get", gvk=gvk, params=_LOG,
                                    responses={"200": None}, text=True, tag=tag)}
        elif name == "exec":
            exec_gvk = _gvk("", "v1", "PodExecOptions")
            entry = {verb: self.op(op_id=f"connect{verb.capitalize()}{ident}{scope}{kind}Exec", action="connect",
                                   gvk=exec_gvk, params=_EXEC, responses={"200": None}, text=True, tag=tag)
                     for verb in ("get", "post")}
        elif name == "eviction":
            ev = "io.k8s.api.policy.v1.Eviction"
            entry = {"post": self.op(op_id=f"create{ident}{scope}{kind}Eviction", action="post",
                                     gvk=_gvk("policy", "v1", "Eviction"), params=_WRITE, body=ev,
                                     responses={"200": ev, "201": ev, "202": ev}, tag=tag)}
        elif name == "finalize":
            entry = {"put": self.op(op_id=f"replace{ident}{scope}{kind}Finalize", action="put", gvk=gvk,
                                    params=_WRITE, body=kind_def, responses={"200": kind_def, "201": kind_def},
                                    tag=tag)}
        else:
            return {}   # subresources another module documents (attach, portforward, token) or none
        entry["parameters"] = self.path_params("name", *ns)
        return {path: entry}


def _served(table: ResourceTable, group: str, version: str) -> list[tuple[ResourceType, str, str | None]]:
    out = []
    for rt in table.in_group_version(group, version):
        kind_def = rt.schema_name
        if kind_def is None:
            continue   # computed kinds without a published schema (metrics.k8s.io)
        out.append((rt, kind_def, schema.definition_name(rt.group, rt.version, rt.list_kind)))
    return out


def group_versions(table: ResourceTable) -> list[tuple[str, str]]:
    """The group-versions that get an OpenAPI v3 document (those with schemas)."""
    out = []
    for group in table.groups():
        for version in table.versions(group):
            if _served(table, group, version):
                out.append((group, version))
    return out


def v3_path(group: str, version: str) -> str:
    return "api/v1" if not group else f"apis/{group}/{version}"


def document_v3(table: ResourceTable, group: str, version: str) -> Obj:
    served = _served(table, group, version)
    b = _Builder(v2=False)
    paths: Obj = {}
    roots: list[str] = list(_ALWAYS)
    for rt, kind_def, list_def in served:
        paths.update(b.paths(rt, kind_def, list_def))
        roots += [kind_def] + ([list_def] if list_def else [])
        if rt.subresource("eviction") is not None:
            roots.append("io.k8s.api.policy.v1.Eviction")
    schemas = {name: _definition(name, v2=False) for name in closure(roots)}
    return {"openapi": "3.0.0", "info": INFO, "paths": dict(sorted(paths.items())),
            "components": {"schemas": schemas, "securitySchemes": _BEARER}}


def document_v2(table: ResourceTable) -> Obj:
    b = _Builder(v2=True)
    paths: Obj = {}
    roots: list[str] = list(_ALWAYS)
    for group, version in group_versions(table):
        for rt, kind_def, list_def in _served(table, group, version):
            paths.update(b.paths(rt, kind_def, list_def))
            roots += [kind_def] + ([list_def] if list_def else [])
            if rt.subresource("eviction") is not None:
                roots.append("io.k8s.api.policy.v1.Eviction")
    return {"swagger": "2.0", "info": INFO, "paths": dict(sorted(paths.items())),
            "definitions": {name: _definition(name, v2=True) for name in closure(roots)},
            "securityDefinitions": _BEARER, "security": [{"BearerToken": []}]}


def index_v3(hashes: dict[str, str]) -> Obj:
    """``/openapi/v3``: each document's path with its content hash (clients cache by it)."""
    return {"paths": {path: {"serverRelativeURL": f"/openapi/v3/{path}?hash={h}"} for path, h in sorted(hashes.items())}}
