"""``apply_patch``: the PATCH content types of kube-apiserver, dispatched as ``patcher.patchResource``
does (``endpoints/handlers/patch.go``), minus storage: values in, value out."""

from __future__ import annotations

import copy
from typing import Any

from podbay.api import schema
from podbay.api.patch import merge, smp
from podbay.api.patch.errors import PatchError, bad_request
from podbay.api.patch.gofmt import go_json
from podbay.api.patch.jsonbody import loads, unmarshal_type_error
from podbay.api.patch.jsonpatch_ import json_patch
from podbay.api.typecheck import json_kind

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
APPLY_PATCH_CBOR = "application/apply-patch+cbor"

# What a built-in resource accepts, in upstream's order (the 415 message lists them).
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH)
# Kinds without a schema (custom resources) do not take strategic merge patches.
PATCH_TYPES_UNSTRUCTURED = (JSON_PATCH, MERGE_PATCH, APPLY_PATCH)


def media_type(content_type: str) -> str:
    """The Content-Type without parameters (``; charset=utf-8``), as PatchResource trims it."""
    idx = content_type.find(";")
    return (content_type[:idx] if idx > 0 else content_type).strip()


def unsupported_media_type(accepted: tuple[str, ...]) -> PatchError:
    """``negotiation.NewUnsupportedMediaTypeError`` (HTTP 415)."""
    return PatchError("the body of the request was in an unknown format - accepted media types "
                      "include: " + ", ".join(accepted), "UnsupportedMediaType", 415)


def _as_object(doc: Any) -> dict[str, Any]:
    """The patched document must decode into the kind's struct (else 422 on field ``patch``)."""
    if isinstance(doc, dict):
        return doc
    text = go_json(doc)
    msg = (f"json: cannot unmarshal {json_kind(doc)} into Go value of type "
           "map[string]interface {}")
    cause = {"reason": "FieldValueInvalid", "message": f"Invalid value: {text!r}: {msg}",
             "field": "patch"}
    raise PatchError(f' "" is invalid: patch: Invalid value: "{text}": {msg}', "Invalid", 422,
                     {"causes": [cause]})


def apply_patch(content_type: str, live: dict[str, Any], patch: bytes | str,
                schema_name: str | None) -> dict[str, Any]:
    """The object ``live`` becomes under a PATCH with this Content-Type and body.

    ``schema_name`` is the kind's OpenAPI definition (``io.k8s.api.core.v1.Pod``); ``None`` for a
    kind without one, which refuses strategic merge patches as upstream refuses them for custom
    resources. ``live`` is not modified. Raises :class:`PatchError` with upstream's status.
    Server-side apply (``application/apply-patch+yaml``) is :func:`..ssa.server_side_apply`.
    """
    mt = media_type(content_type)
    accepted = PATCH_TYPES if schema_name is not None else PATCH_TYPES_UNSTRUCTURED
    if mt not in accepted:
        raise unsupported_media_type(accepted)
    if mt in (APPLY_PATCH, APPLY_PATCH_CBOR):
        raise ValueError("server-side apply goes through server_side_apply()")
    if mt == JSON_PATCH:
        return _as_object(json_patch(live, patch))
    if mt == MERGE_PATCH:
        try:
            doc = loads(patch)
        except PatchError:
            raise bad_request(merge.BAD_JSON_PATCH) from None
        return _as_object(merge.merge_patch(live, doc))
    # strategic merge patch
    doc = loads(patch)
    if doc is None:
        return copy.deepcopy(live)
    if not isinstance(doc, dict):
        raise unmarshal_type_error(doc, "map[string]interface {}")
    root = schema.definition(schema_name) if schema_name is not None else None
    return smp.strategic_merge_patch(live, doc, root)
