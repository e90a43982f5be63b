"""``BaseControllerRefManager.ClaimObject`` (pkg/controller/controller_ref_manager.go): which of the
objects a selector finds a controller owns, adopts or releases, and the patches that do it.

Adoption is a strategic-merge patch adding the controller reference (with ``metadata.uid`` as a
precondition: a recreated object with the same name has another UID, and the patch fails);
release is a patch deleting it (``$patch: delete`` by ``uid``). Jobs add and remove their
tracking finalizer in the same patches.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from podbay.core.controllers import objects as o
from podbay.core.controllers.plan import Patch, ref_of

Obj = dict[str, Any]


def adopt_patch(owner: Mapping[str, Any], dependent: Mapping[str, Any], finalizers: Sequence[str] = ()) -> Patch:
    """``ownerRefControllerPatch``: add our controllerRef (and finalizers) to ``dependent``."""
    md: Obj = {"ownerReferences": [o.controller_ref(owner)], "uid": o.uid(dependent)}
    if finalizers:
        md["finalizers"] = list(finalizers)
    return Patch(ref_of(dependent), {"metadata": md}, "strategic")


def release_patch(owner_uids: Sequence[str], dependent: Mapping[str, Any], finalizers: Sequence[str] = ()) -> Patch:
    """``GenerateDeleteOwnerRefStrategicMergeBytes``: drop the references to ``owner_uids``."""
    md: Obj = {
        "ownerReferences": [{"$patch": "delete", "uid": u} for u in owner_uids],
        "uid": o.uid(dependent),
    }
    if finalizers:
        md["$deleteFromPrimitiveList/finalizers"] = list(finalizers)
    return Patch(ref_of(dependent), {"metadata": md}, "strategic")


def _adopted(owner: Mapping[str, Any], obj: Mapping[str, Any], finalizers: Sequence[str]) -> Obj:
    out = copy.deepcopy(dict(obj))
    md = out.setdefault("metadata", {})
    md["ownerReferences"] = [*(md.get("ownerReferences") or []), o.controller_ref(owner)]
    for f in finalizers:
        if f not in (md.get("finalizers") or []):
            md["finalizers"] = [*(md.get("finalizers") or []), f]
    return out


def claim_objects(
    owner: Mapping[str, Any],
    candidates: Iterable[Mapping[str, Any]],
    match: Callable[[Mapping[str, Any]], bool],
    *,
    finalizers: Sequence[str] = (),
) -> tuple[list[Obj], list[Patch]]:
    """The objects ``owner`` controls after adoption/release, and the patches for both.

    Owned by someone else: ignored. Ours and matching: kept (even while we are being deleted).
    Ours, not matching: released unless we are being deleted. Orphan, matching, same namespace,
    neither side being deleted: adopted.
    """
    owner_uid = o.uid(owner)
    owner_deleting = o.deleting(owner)
    owner_ns = o.namespace(owner)
    claimed: list[Obj] = []
    patches: list[Patch] = []
    for obj in candidates:
        ref = o.controller_of(obj)
        if ref is not None:
            if ref.get("uid") != owner_uid:
                continue
            if match(obj):
                claimed.append(dict(obj))
            elif not owner_deleting:
                patches.append(release_patch([owner_uid], obj, finalizers))
            continue
        if owner_deleting or not match(obj) or o.deleting(obj):
            continue
        if owner_ns and owner_ns != o.namespace(obj):
            continue
        patches.append(adopt_patch(owner, obj, finalizers))
        claimed.append(_adopted(owner, obj, finalizers))
    return claimed, patches
