"""JSON patch (RFC 6902, ``application/json-patch+json``) with the ``jsonpatch`` library, behaving
as apiserver's ``jsonPatcher.applyJSPatch`` with gopkg.in/evanphx/json-patch.v4:

- the body must decode as an array of objects (else 400 with encoding/json's message),
- at most 10000 operations (else 413 RequestEntityTooLarge),
- any failed operation (a ``test`` that does not hold, a missing path, an unknown ``op``) is a 422
  whose message is upstream's generic one (``NewGenericServerResponse`` drops the detail),
- ``replace`` of a missing object member sets it, as json-patch v4 does (RFC 6902 would refuse).
"""

from __future__ import annotations

import copy
from collections.abc import MutableMapping
from types import MappingProxyType
from typing import Any

import jsonpatch
import jsonpointer

from podbay.api.patch.errors import PatchError, unprocessable
from podbay.api.patch.jsonbody import loads, unmarshal_type_error

MAX_OPERATIONS = 10000


class _LenientReplace(jsonpatch.ReplaceOperation):
    """evanphx v4 ``partialDoc.set``: replacing an absent member of an object adds it."""

    def _apply(self, obj: Any, journal: Any) -> Any:
        subobj, part = self.pointer.to_last(obj)
        if isinstance(subobj, MutableMapping) and part is not None and part not in subobj:
            if "value" not in self.operation:
                raise jsonpatch.InvalidJsonPatch("The operation does not contain a 'value' member")
            subobj[part] = copy.deepcopy(self.operation["value"])
            return obj
        return super()._apply(obj, journal)  # type: ignore[misc]


class _KubePatch(jsonpatch.JsonPatch):
    operations = MappingProxyType({**jsonpatch.JsonPatch.operations,
                                             "replace": _LenientReplace})


def json_patch(live: dict[str, Any], body: bytes | str) -> Any:
    """Apply an RFC 6902 patch to ``live`` (not modified); returns the patched document."""
    ops = loads(body)
    if ops is None:
        return copy.deepcopy(live)  # json.Unmarshal("null") is an empty Patch
    if not isinstance(ops, list):
        raise unmarshal_type_error(ops, "jsonpatch.Patch")
    for op in ops:
        if op is not None and not isinstance(op, dict):
            raise unmarshal_type_error(op, "jsonpatch.Operation")
    if len(ops) > MAX_OPERATIONS:
        raise PatchError("Request entity too large: The allowed maximum operations in a JSON patch "
                         f"is {MAX_OPERATIONS}, got {len(ops)}", "RequestEntityTooLarge", 413)
    try:
        patch = _KubePatch([op if op is not None else {} for op in ops])
        return patch.apply(live)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, TypeError, KeyError,
            IndexError, ValueError):
        raise unprocessable() from None
