"""``apply`` merging, pure: what to PUT for a manifest given the live object, and whether it changed.

A light three-way merge: fields the manifest sets win; labels/annotations that the previous apply set
(``kubectl.kubernetes.io/last-applied-configuration``) and the manifest dropped are removed; other
live fields (defaults, status) are kept. Lists of named objects (containers, volumes, env...) merge
by ``name``; other lists are replaced. Top-level fields other than ``spec`` (a ConfigMap's ``data``,
a Secret's ``type``...) are set from the manifest and removed when the previous apply set them and
this one does not; key maps (``data``, ``binaryData``) merge key by key the same three-way way. A
Secret's ``stringData`` is folded into base64 ``data`` first, as the API server stores it, so an
unchanged Secret applies as ``unchanged``.
"""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_NOT_BODY = {"apiVersion", "kind", "metadata", "status", "spec"}
_KEY_MAPS = {"data", "binaryData"}


def well_formed(manifest: dict[str, Any]) -> bool:
    """metadata, labels and annotations of the shapes the merge below needs (else the server,
    not this module, says what is wrong with the manifest)."""
    meta = manifest.get("metadata")
    if not isinstance(meta, dict):
        return False
    return all(meta.get(k) is None or isinstance(meta.get(k), dict) for k in ("labels", "annotations"))


def last_applied(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, sort_keys=True, separators=(",", ":"))


def with_last_applied(manifest: dict[str, Any]) -> dict[str, Any]:
    """The object to create: the manifest plus its own last-applied annotation."""
    obj = copy.deepcopy(manifest)
    meta = obj.setdefault("metadata", {})
    meta["annotations"] = {**(meta.get("annotations") or {}), LAST_APPLIED: last_applied(manifest)}
    return obj


def _named(items: Any) -> bool:
    return isinstance(items, list) and all(isinstance(x, dict) and "name" in x for x in items)


def _merge(live: Any, desired: Any, previous: Any = None) -> Any:
    if isinstance(live, dict) and isinstance(desired, dict):
        out = dict(live)
        prev = previous if isinstance(previous, dict) else {}
        for k, v in desired.items():
            out[k] = _merge(live.get(k), v, prev.get(k))
        return out
    if isinstance(live, list) and isinstance(desired, list) and desired and _named(desired) and _named(live):
        by_name = {x["name"]: x for x in live}
        prev_by_name = {x["name"]: x for x in previous} if _named(previous) else {}
        wanted = {x["name"] for x in desired}
        items = [_merge(by_name.get(x["name"]), x, prev_by_name.get(x["name"])) for x in desired]
        # Items the server added (the ServiceAccount admission's kube-api-access volume and mounts)
        # stay, as a strategic merge patch against the last-applied configuration keeps them.
        items += [copy.deepcopy(x) for x in live if x["name"] not in wanted and x["name"] not in prev_by_name]
        return items
    return copy.deepcopy(desired)


def _merge_map(live: dict[str, str] | None, desired: dict[str, str] | None, previous: dict[str, str] | None) -> dict[str, str]:
    out = dict(live or {})
    for k in previous or {}:
        if k not in (desired or {}):
            out.pop(k, None)
    out.update(desired or {})
    return out


def secret_view(obj: dict[str, Any]) -> dict[str, Any]:
    """A Secret with ``stringData`` folded into base64 ``data`` (what the API server stores)."""
    if not obj.get("stringData"):
        return {k: v for k, v in obj.items() if k != "stringData"}
    data = dict(obj.get("data") or {})
    for key, value in (obj.get("stringData") or {}).items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    return {**{k: v for k, v in obj.items() if k != "stringData"}, "data": data}


def merged(live: dict[str, Any], manifest: dict[str, Any]) -> dict[str, Any]:
    """The object to PUT: live + manifest (see module doc), with the new last-applied annotation."""
    live_meta = live.get("metadata") or {}
    try:
        previous = json.loads((live_meta.get("annotations") or {}).get(LAST_APPLIED, "{}"))
    except ValueError:
        previous = {}
    prev_meta = (previous or {}).get("metadata") or {}
    want_meta = manifest.get("metadata") or {}
    out = copy.deepcopy(live)
    meta = out.setdefault("metadata", {})
    labels = _merge_map(live_meta.get("labels"), want_meta.get("labels"), prev_meta.get("labels"))
    annotations = _merge_map(live_meta.get("annotations"), want_meta.get("annotations"), prev_meta.get("annotations"))
    annotations[LAST_APPLIED] = last_applied(manifest)
    meta["labels"], meta["annotations"] = labels, annotations
    for key in ("labels", "annotations"):
        if not meta[key] and key not in live_meta:
            del meta[key]
    if "spec" in manifest:
        out["spec"] = _merge(live.get("spec") or {}, manifest["spec"], (previous or {}).get("spec"))
    desired, before = manifest, previous if isinstance(previous, dict) else {}
    if manifest.get("kind") == "Secret":
        desired, before = secret_view(manifest), secret_view(before)
    for key in sorted((set(desired) | set(before)) - _NOT_BODY):
        if key not in desired:
            out.pop(key, None)  # the previous apply set it; this manifest dropped it
        elif key in _KEY_MAPS and isinstance(desired[key], dict):
            out[key] = _merge_map(live.get(key), desired[key], before.get(key))
        else:
            out[key] = copy.deepcopy(desired[key])
    return out


def changed(live: dict[str, Any], new: dict[str, Any]) -> bool:
    """True when the PUT would change the body (spec, data...), labels or annotations."""
    lm, nm = live.get("metadata") or {}, new.get("metadata") or {}
    body = (set(live) | set(new)) - {"apiVersion", "kind", "metadata", "status"}
    return (
        any((live.get(k) or None) != (new.get(k) or None) for k in body)
        or (lm.get("labels") or {}) != (nm.get("labels") or {})
        or (lm.get("annotations") or {}) != (nm.get("annotations") or {})
    )
