"""Object metadata the server owns, pure: what ``rest.BeforeCreate`` / ``rest.BeforeUpdate`` /
``rest.BeforeDelete`` do to ``metadata`` (uid, creationTimestamp, generation, deletion state), times
in metav1's wire forms, and the PartialObjectMetadata view of an object.
"""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]

# The fields of metadata only the server sets; an update that leaves them out keeps the stored ones.
SERVER_OWNED = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation")


def rfc3339(now: float) -> str:
    """metav1.Time: second precision, UTC, ``Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))


def micro_time(now: float) -> str:
    """metav1.MicroTime: microsecond precision (``2006-01-02T15:04:05.000000Z07:00``)."""
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: Any) -> float | None:
    """RFC 3339 (``Z`` or an offset, fractions allowed) -> epoch seconds; None if absent or bad."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00")).timestamp()
    except ValueError:
        return None


def same_time(a: Any, b: Any) -> bool:
    """Two metav1.Time values denote the same second (``…Z`` and ``…+00:00`` are equal)."""
    ta, tb = parse_time(a), parse_time(b)
    if ta is None or tb is None:
        return bool(a == b)
    return int(ta) == int(tb)


def meta(obj: Obj) -> Obj:
    md = obj.get("metadata")
    if not isinstance(md, dict):
        md = obj["metadata"] = {}
    return md


def prepare_create(obj: Obj, *, uid: str, now: float, generation: bool) -> None:
    """rest.BeforeCreate + FillObjectMetaSystemFields: uid, creationTimestamp, no deletion state,
    generation 1 for kinds that keep one."""
    md = meta(obj)
    md["uid"] = uid
    md["creationTimestamp"] = rfc3339(now)
    for key in ("deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion", "selfLink"):
        md.pop(key, None)
    if generation:
        md["generation"] = 1
    else:
        md.pop("generation", None)


def spec_changed(new: Obj, old: Obj) -> bool:
    return new.get("spec") != old.get("spec")


def prepare_update(new: Obj, old: Obj) -> None:
    """rest.BeforeUpdate: the stored uid (when the update has none), creationTimestamp, deletion
    state and generation win (``set_generation`` moves it on once the kind's defaults are applied)."""
    md, omd = meta(new), old.get("metadata") or {}
    if not md.get("uid") and omd.get("uid"):
        md["uid"] = omd["uid"]
    for key in ("creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
        if omd.get(key) is not None:
            md[key] = omd[key]
        else:
            md.pop(key, None)
    md.pop("selfLink", None)


def set_generation(new: Obj, old: Obj, *, generation: bool) -> None:
    """metadata.generation moves on when the spec changed (kinds that keep a generation)."""
    if not generation:
        return
    md, omd = meta(new), old.get("metadata") or {}
    gen = int(omd.get("generation") or 1)
    md["generation"] = gen + 1 if spec_changed(new, old) else gen


def mark_deleted(obj: Obj, *, now: float, grace: int) -> None:
    """rest.BeforeDelete for a graceful (or finalizer-held) delete: deletionTimestamp is set once,
    a later delete may only shorten the grace period; the generation moves on."""
    md = meta(obj)
    if md.get("deletionTimestamp"):
        old = md.get("deletionGracePeriodSeconds")
        if old is None or grace < int(old):
            md["deletionGracePeriodSeconds"] = grace
        return
    md["deletionTimestamp"] = rfc3339(now + grace)
    md["deletionGracePeriodSeconds"] = grace
    if md.get("generation"):
        md["generation"] = int(md["generation"]) + 1


def should_delete_during_update(obj: Obj) -> bool:
    """Store.ShouldDeleteDuringUpdate: marked for deletion, no finalizer left, nothing to wait for."""
    md = obj.get("metadata") or {}
    return bool(md.get("deletionTimestamp")) and not md.get("finalizers") and \
        int(md.get("deletionGracePeriodSeconds") or 0) == 0


def partial(obj: Obj, version: str = "v1") -> Obj:
    """PartialObjectMetadata of an object (``as=PartialObjectMetadata``; Table rows by default)."""
    return {"kind": "PartialObjectMetadata", "apiVersion": f"meta.k8s.io/{version}",
            "metadata": copy.deepcopy(obj.get("metadata") or {})}


def deleted_status(kind_plural: str, name: str, uid: str, group: str = "") -> Obj:
    """The ``Status`` a DELETE answers when the object is gone at once."""
    details: Obj = {"name": name, "kind": kind_plural, "uid": uid}
    if group:
        details["group"] = group
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
