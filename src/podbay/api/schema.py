"""The Kubernetes API schemas podbay serves and checks against: the v1.37 definitions of the
``kubernetes-validate`` package (the OpenAPI definitions of kube-apiserver, with their
``x-kubernetes-*`` patch, list-map and group-version-kind extensions), loaded once and lazily so
that CLI verbs that never need them do not pay for them.

Nodes are the package's JSON-schema dicts: ``{"$ref": "#/$defs/<name>"}`` refers to another
definition, ``type`` is a string or a list that may include ``"null"``. Everything here is a pure
read of that data; callers never mutate what they get.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import pathlib
from importlib import resources
from typing import Any

KUBERNETES_VERSION = "v1.37.0"
_PACKAGE = "kubernetes_validate"
_DIR = f"kubernetes-json-schema/{KUBERNETES_VERSION}-local"
_REF_PREFIX = "#/$defs/"

Node = dict[str, Any]


def _package_dir() -> Any:
    """The data package's directory, found without running its ``__init__`` (which imports
    jsonschema: ~70 ms of start-up that ``podbay apply`` would pay for nothing)."""
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        return pathlib.Path(next(iter(spec.submodule_search_locations)))
    return resources.files(_PACKAGE)


@functools.cache
def definitions() -> dict[str, Node]:
    """Every definition by its OpenAPI name (``io.k8s.api.core.v1.Pod``)."""
    text = _package_dir().joinpath(_DIR, "_definitions.json").read_text()
    return dict(json.loads(text)["$defs"])


@functools.cache
def _gvk_index() -> dict[tuple[str, str, str], str]:
    out: dict[tuple[str, str, str], str] = {}
    for name, node in definitions().items():
        for gvk in node.get("x-kubernetes-group-version-kind") or ():
            out.setdefault((gvk.get("group", ""), gvk["version"], gvk["kind"]), name)
    return out


def definition_name(group: str, version: str, kind: str) -> str | None:
    """The definition that carries the ``x-kubernetes-group-version-kind`` marker for this kind."""
    return _gvk_index().get((group, version, kind))


def definition(name: str) -> Node:
    return definitions()[name]


def ref_name(node: Node) -> str | None:
    """The definition a node refers to (``$ref``, or a single-element ``allOf`` of one), else None."""
    ref = node.get("$ref")
    if ref is None and len(node.get("allOf") or ()) == 1:
        ref = node["allOf"][0].get("$ref")
    if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
        return ref[len(_REF_PREFIX):]
    return None


def resolve(node: Node) -> Node:
    """Follow references until a node that describes the value itself."""
    seen = 0
    while (name := ref_name(node)) is not None and seen < 32:
        node = definitions()[name]
        seen += 1
    return node


def types(node: Node) -> frozenset[str]:
    """The JSON types a value may have (``null`` included where the schema allows it); empty = any."""
    t = resolve(node).get("type")
    if t is None:
        return frozenset()
    return frozenset([t] if isinstance(t, str) else t)


def properties(node: Node) -> dict[str, Node]:
    return dict(resolve(node).get("properties") or {})


def child(node: Node, key: str) -> Node | None:
    """The schema of ``value[key]`` for an object node: a declared property, or the map's values."""
    n = resolve(node)
    props = n.get("properties") or {}
    if key in props:
        return dict(props[key])
    extra = n.get("additionalProperties")
    return dict(extra) if isinstance(extra, dict) else None


def items(node: Node) -> Node | None:
    """The schema of each element of an array node."""
    it = resolve(node).get("items")
    return dict(it) if isinstance(it, dict) else None


def patch_strategies(node: Node) -> frozenset[str]:
    """``x-kubernetes-patch-strategy`` of a field (``merge``, ``retainKeys``, ``replace``), split."""
    raw = node.get("x-kubernetes-patch-strategy") or resolve(node).get("x-kubernetes-patch-strategy") or ""
    return frozenset(s for s in str(raw).split(",") if s)


def patch_merge_key(node: Node) -> str | None:
    return node.get("x-kubernetes-patch-merge-key") or resolve(node).get("x-kubernetes-patch-merge-key")


def list_type(node: Node) -> str | None:
    """``x-kubernetes-list-type`` (``atomic``, ``set``, ``map``); None where the schema says nothing."""
    return node.get("x-kubernetes-list-type") or resolve(node).get("x-kubernetes-list-type")


def list_map_keys(node: Node) -> tuple[str, ...]:
    keys = node.get("x-kubernetes-list-map-keys") or resolve(node).get("x-kubernetes-list-map-keys") or ()
    return tuple(keys)


def map_type(node: Node) -> str | None:
    """``x-kubernetes-map-type`` (``atomic`` or ``granular``) of an object or map field."""
    return node.get("x-kubernetes-map-type") or resolve(node).get("x-kubernetes-map-type")
