"""A minimal stand-in for ``podbay.api.patch`` (written by the patch helper), with the same interface:
``apply_patch(content_type, live, patch, schema_name) -> dict``. The registry uses the real package
when it is installed and this module otherwise.

- JSON merge patch: RFC 7386.
- JSON patch: RFC 6902 through the ``jsonpatch`` library.
- Strategic merge patch: maps merge, ``null`` deletes, lists with ``x-kubernetes-patch-strategy:
  merge`` merge by their ``x-kubernetes-patch-merge-key`` (primitive ones as a union), other lists
  are replaced; the directives ``$patch`` (replace / delete / merge), ``$retainKeys``,
  ``$setElementOrder/<field>`` and ``$deleteFromPrimitiveList/<field>`` are honoured.
- Apply (``application/apply-patch+yaml``): the applied configuration merged strategically onto
  the live object; no managedFields and no conflicts (the real implementation has both).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from podbay.api import schema
from podbay.api.patchtypes import APPLY_PATCH, JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH
from podbay.errors import BadRequest, StatusError

Obj = dict[str, Any]
Node = dict[str, Any]


class PatchFailed(StatusError):
    """A patch that does not apply (jsonpatch's ``test`` failed, a path that is not there)."""

    reason = "Invalid"
    code = 422


def _load(body: bytes, *, yaml_ok: bool = False) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        if yaml_ok:
            import yaml

            try:
                return yaml.safe_load(body)
            except yaml.YAMLError as yexc:
                raise BadRequest(f"error decoding YAML: {yexc}") from None
        raise BadRequest(f"couldn't get version/kind; json parse error: {exc}") from None


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def _child(node: Node | None, key: str) -> Node | None:
    return None if node is None else schema.child(node, key)


def _merge_list(live: list[Any], patch: list[Any], node: Node | None, key_node: Node | None) -> list[Any]:
    strategies = schema.patch_strategies(key_node) if key_node else frozenset()
    merge_key = schema.patch_merge_key(key_node) if key_node else None
    item_node = schema.items(key_node) if key_node else None
    if "merge" not in strategies:
        return [_strip(x) for x in patch]
    if not merge_key or not all(isinstance(x, dict) for x in live + patch):
        out = list(live)
        for x in patch:
            if x not in out:
                out.append(x)
        return out
    out = [copy.deepcopy(x) for x in live]
    for item in patch:
        directive = item.get("$patch")
        key = item.get(merge_key)
        idx = next((i for i, x in enumerate(out) if isinstance(x, dict) and x.get(merge_key) == key), None)
        if directive == "delete":
            if idx is not None:
                out.pop(idx)
            continue
        if directive == "replace":
            return [_strip(x) for x in patch if x.get("$patch") != "replace"]
        if idx is None:
            out.append(_strip(item))
        else:
            out[idx] = smp(out[idx], item, item_node)
    return out


def _strip(v: Any) -> Any:
    """A patch value stored as is: directives removed, nulls dropped."""
    if isinstance(v, dict):
        return {k: _strip(x) for k, x in v.items() if not k.startswith("$") and x is not None}
    if isinstance(v, list):
        return [_strip(x) for x in v]
    return v


def smp(live: Any, patch: Any, node: Node | None) -> Any:
    """Strategic merge of ``patch`` onto ``live`` at schema ``node`` (see the module doc)."""
    if not isinstance(patch, dict) or not isinstance(live, dict):
        return _strip(patch)
    if patch.get("$patch") == "replace":
        return _strip(patch)
    if patch.get("$patch") == "delete":
        return {}
    out = copy.deepcopy(live)
    retain = patch.get("$retainKeys")
    orders: dict[str, list[Any]] = {}
    for k, v in patch.items():
        if k.startswith("$setElementOrder/"):
            orders[k.split("/", 1)[1]] = v if isinstance(v, list) else []
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            field = k.split("/", 1)[1]
            if isinstance(out.get(field), list) and isinstance(v, list):
                out[field] = [x for x in out[field] if x not in v]
            continue
        if k.startswith("$"):
            continue
        if v is None:
            out.pop(k, None)
            continue
        sub = _child(node, k)
        cur = out.get(k)
        if isinstance(v, dict) and isinstance(cur, dict):
            out[k] = smp(cur, v, sub)
        elif isinstance(v, list) and isinstance(cur, list):
            out[k] = _merge_list(cur, v, sub, sub)
        else:
            out[k] = _strip(v)
    if isinstance(retain, list):
        out = {k: v for k, v in out.items() if k in retain}
    for field, order in orders.items():
        sub = _child(node, field)
        merge_key = schema.patch_merge_key(sub) if sub else None
        items = out.get(field)
        if not isinstance(items, list):
            continue

        def rank(x: Any, order: list[Any] = order, key: str | None = merge_key) -> int:
            probe = x.get(key) if key and isinstance(x, dict) else x
            wanted = [o.get(key) if key and isinstance(o, dict) else o for o in order]
            return wanted.index(probe) if probe in wanted else len(wanted)

        out[field] = sorted(items, key=rank)
    return out


def apply_patch(content_type: str, live: Obj, patch: bytes, schema_name: str | None) -> Obj:
    node: Node | None = {"$ref": f"#/$defs/{schema_name}"} if schema_name else None
    if content_type == JSON_PATCH:
        import jsonpatch

        ops = _load(patch)
        if not isinstance(ops, list):
            raise BadRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        try:
            result = jsonpatch.apply_patch(live, ops)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            raise PatchFailed(f"the server rejected our request due to an error in our request: {exc}") from None
        except (TypeError, KeyError, IndexError, ValueError) as exc:
            raise BadRequest(f"invalid JSON patch: {exc}") from None
        if not isinstance(result, dict):
            raise PatchFailed("the patched object is not an object")
        return result
    body = _load(patch, yaml_ok=content_type == APPLY_PATCH)
    if not isinstance(body, dict):
        raise BadRequest(f"json: cannot unmarshal {type(body).__name__} into Go value of type map[string]interface {{}}")
    if content_type == MERGE_PATCH:
        return dict(merge_patch(live, body))
    if content_type in (STRATEGIC_MERGE_PATCH, APPLY_PATCH):
        return dict(smp(live, body, node))
    raise BadRequest(f"unknown patch type {content_type}")
