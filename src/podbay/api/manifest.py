"""Turn manifest text (multi-document YAML or JSON) into Kubernetes object dicts."""

from __future__ import annotations

import json
from typing import Any

import yaml

from podbay.errors import PodbayError

try:  # libyaml is much faster on big manifests; fall back to the pure-Python loader
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader


class ManifestError(PodbayError):
    """The text is not a list of Kubernetes objects (kubectl's ``error validating data``)."""

    reason = "BadRequest"


def _parse(text: str) -> list[Any]:
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        # JSON is YAML too, but json gives better errors and handles concatenated objects poorly
        # in YAML; try it first and fall back to YAML for flow-style YAML that is not JSON.
        try:
            return [json.loads(text)]
        except json.JSONDecodeError:
            pass
    try:
        return list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as e:
        raise ManifestError(f"error parsing manifest: {e}") from None


def _check(doc: Any, index: int) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise ManifestError(
            f"error validating data: document {index} is a {type(doc).__name__}, not an object; "
            "expected a Kubernetes object with apiVersion and kind"
        )
    missing = [k for k in ("apiVersion", "kind") if not doc.get(k)]
    if missing:
        what = ", ".join(f"{k} not set" for k in missing)
        raise ManifestError(f"error validating data: [{what}]")
    for k in ("apiVersion", "kind"):
        if not isinstance(doc[k], str):
            raise ManifestError(f"error validating data: {k} must be a string")
    return doc


def load_documents(text: str) -> list[dict[str, Any]]:
    """All objects in ``text`` in order; empty documents skipped, ``kind: List`` expanded."""
    out: list[dict[str, Any]] = []
    for i, doc in enumerate(_parse(text)):
        if doc is None:
            continue
        if isinstance(doc, list):  # a bare JSON array of objects
            items: list[Any] = doc
        else:
            obj = _check(doc, i)
            if obj["kind"] != "List" and not obj["kind"].endswith("List"):
                out.append(obj)
                continue
            items = obj.get("items") or []
            if not isinstance(items, list):
                raise ManifestError("error validating data: items must be a list")
        for j, item in enumerate(items):
            if item is not None:
                out.append(_check(item, j))
    return out
