"""ControllerRevisions (pkg/controller/history): the snapshots StatefulSets and DaemonSets keep of
their pod templates — naming, hashing, equality, ordering, and the template a revision holds."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from podbay.core.controllers import objects as o
from podbay.core.controllers.hashing import canonical, hash_controller_revision

Obj = dict[str, Any]

HASH_LABEL = "controller.kubernetes.io/hash"  # ControllerRevisionHashLabel
POD_REVISION_LABEL = "controller-revision-hash"  # apps.ControllerRevisionHashLabelKey


def template_patch(owner: Mapping[str, Any]) -> Obj:
    """``getPatch``: ``{"spec":{"template":{…,"$patch":"replace"}}}`` of the owner."""
    template = copy.deepcopy(dict(o.spec(owner).get("template") or {}))
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def revision_name(prefix: str, h: str) -> str:
    """``ControllerRevisionName``."""
    return f"{prefix[:223]}-{h}"


def data_bytes(rev: Mapping[str, Any]) -> bytes:
    return canonical(rev.get("data") or {})


def new_revision(owner: Mapping[str, Any], revision: int, collision_count: int | None,
                 template_labels: Mapping[str, str] | None = None) -> Obj:
    """``history.NewControllerRevision`` (+ the StatefulSet's copy of its annotations)."""
    data = template_patch(owner)
    h = hash_controller_revision(canonical(data), collision_count)
    lbl = dict(template_labels if template_labels is not None else
               ((o.spec(owner).get("template") or {}).get("metadata") or {}).get("labels") or {})
    lbl[HASH_LABEL] = h
    md: Obj = {"name": revision_name(o.name(owner), h), "namespace": o.namespace(owner), "labels": lbl,
               "ownerReferences": [o.controller_ref(owner)]}
    if o.annotations_of(owner):
        md["annotations"] = o.annotations_of(owner)
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": md, "data": data,
            "revision": revision}


def rev_number(rev: Mapping[str, Any]) -> int:
    return int(rev.get("revision") or 0)


def sort_revisions(revs: Sequence[Mapping[str, Any]]) -> list[Any]:
    """``SortControllerRevisions``: by revision, then creation time, then name."""
    return sorted(revs, key=lambda r: (rev_number(r), o.created(r), o.name(r)))


def equal_revision(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """``EqualRevision``: same data (the hash labels are not decimal, so only the data decides)."""
    if a is None or b is None:
        return a is b
    return data_bytes(a) == data_bytes(b)


def find_equal_revisions(revs: Sequence[Mapping[str, Any]], needle: Mapping[str, Any]) -> list[Any]:
    return [r for r in revs if equal_revision(r, needle)]


def next_revision(revs: Sequence[Mapping[str, Any]]) -> int:
    """``nextRevision``: one more than the highest (the list is sorted)."""
    return rev_number(revs[-1]) + 1 if revs else 1


def revision_template(rev: Mapping[str, Any]) -> Obj:
    """``ApplyRevision``'s effect on the template: the template the revision replaces it with."""
    t = copy.deepcopy(dict(((rev.get("data") or {}).get("spec") or {}).get("template") or {}))
    t.pop("$patch", None)
    return t


def apply_revision(owner: Mapping[str, Any], rev: Mapping[str, Any]) -> Obj:
    """``ApplyRevision``: the owner with the revision's template."""
    out = copy.deepcopy(dict(owner))
    out.setdefault("spec", {})["template"] = revision_template(rev)
    return out
