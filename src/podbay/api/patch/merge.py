"""JSON merge patch (RFC 7386, ``application/merge-patch+json``) as kube-apiserver applies it.

Mirrors evanphx/json-patch ``MergePatch`` (gopkg.in/evanphx/json-patch.v4, ``doMergePatch``/
``mergeDocs``), which apiserver's ``jsonPatcher.applyJSPatch`` calls: ``null`` deletes a key, objects
merge recursively, anything else replaces; nulls inside a value that replaces are pruned.
"""

from __future__ import annotations

import copy
from typing import Any

from podbay.api.patch.errors import bad_request

# jsonpatch.ErrBadJSONPatch; apiserver answers it with 400 BadRequest.
BAD_JSON_PATCH = "Invalid JSON Patch"


def _prune_nulls(v: Any) -> Any:
    # pruneNulls: drops null members of objects, keeps array elements (recursing into them)
    if isinstance(v, dict):
        return {k: _prune_nulls(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_prune_nulls(x) if x is not None else None for x in v]
    return v


def merge_values(doc: Any, patch: Any) -> Any:
    """RFC 7386 MergePatch(target, patch) without copying ``doc``'s untouched parts twice."""
    if not isinstance(doc, dict):
        return _prune_nulls(copy.deepcopy(patch))
    if not isinstance(patch, dict):
        # evanphx merge(): a non-object patch value replacing an object is taken as it is
        return copy.deepcopy(patch)
    out = dict(doc)
    for k, pv in patch.items():
        if pv is None:
            out.pop(k, None)
        elif k not in out or out[k] is None:
            out[k] = _prune_nulls(copy.deepcopy(pv))
        else:
            out[k] = merge_values(out[k], pv)
    return out


def merge_patch(live: dict[str, Any], patch: Any) -> Any:
    """Apply a decoded merge patch to ``live`` (not modified).

    A patch that is not an object: ``null`` and scalars are upstream's ErrBadJSONPatch (400); an
    array replaces the document, which then fails to decode as an object (the caller's 422).
    """
    if patch is None or isinstance(patch, (str, int, float, bool)):
        raise bad_request(BAD_JSON_PATCH)
    return merge_values(live, patch)


def create_merge_patch(original: Any, modified: Any) -> dict[str, Any]:
    """The merge patch from ``original`` to ``modified`` (evanphx ``getDiff``); used by tests and
    by callers that need the patch kubectl label/annotate would compute."""
    out: dict[str, Any] = {}
    for k, mv in modified.items():
        if k not in original:
            out[k] = mv
            continue
        ov = original[k]
        if isinstance(ov, dict) and isinstance(mv, dict):
            sub = create_merge_patch(ov, mv)
            if sub:
                out[k] = sub
        elif type(ov) is not type(mv) or ov != mv:
            out[k] = mv
    for k in original:
        if k not in modified:
            out[k] = None
    return out
