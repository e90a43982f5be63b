"""What every controller reads off an object: metadata accessors, controller references, timestamps,
the pod predicates of ``k8s.io/kubernetes/pkg/api/v1/pod`` and ``pkg/controller`` (active, ready,
available, terminating), ``GetScaledValueFromIntOrPercent`` and creation-time ordering."""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

from podbay.api import labelselector

Obj = dict[str, Any]
ObjView = Mapping[str, Any]

POD_DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"


# ---------------------------------------------------------------------------------------------- meta


def meta(obj: ObjView) -> Mapping[str, Any]:
    m = obj.get("metadata")
    if type(m) is dict:     # the common case, without the ABC isinstance (the GC graph calls this per object)
        return m
    return m if isinstance(m, Mapping) else {}


def name(obj: ObjView) -> str:
    return str(meta(obj).get("name") or "")


def namespace(obj: ObjView) -> str:
    return str(meta(obj).get("namespace") or "")


def uid(obj: ObjView) -> str:
    return str(meta(obj).get("uid") or "")


def labels(obj: ObjView) -> dict[str, str]:
    return dict(meta(obj).get("labels") or {})


def annotations_of(obj: ObjView) -> dict[str, str]:
    return dict(meta(obj).get("annotations") or {})


def generation(obj: ObjView) -> int:
    return int(meta(obj).get("generation") or 0)


def deleting(obj: ObjView) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def finalizers(obj: ObjView) -> list[str]:
    return list(meta(obj).get("finalizers") or [])


def spec(obj: ObjView) -> Mapping[str, Any]:
    s = obj.get("spec")
    return s if isinstance(s, Mapping) else {}


def status(obj: ObjView) -> Mapping[str, Any]:
    s = obj.get("status")
    return s if isinstance(s, Mapping) else {}


def key(obj: ObjView) -> str:
    """The work-queue key ``namespace/name`` (``name`` for cluster-scoped objects)."""
    ns = namespace(obj)
    return f"{ns}/{name(obj)}" if ns else name(obj)


# ---------------------------------------------------------------------------------------------- time


def rfc3339(t: float) -> str:
    """metav1.Time on the wire: whole seconds, UTC, ``Z``."""
    return _dt.datetime.fromtimestamp(int(t), tz=_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(s: Any) -> float | None:
    """An RFC 3339 timestamp as epoch seconds; None for absent or unreadable values."""
    if not isinstance(s, str) or not s:
        return None
    try:
        return _dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def created(obj: ObjView) -> float:
    return parse_time(meta(obj).get("creationTimestamp")) or 0.0


def by_creation(objs: Iterable[ObjView]) -> list[Any]:
    """``ReplicaSetsByCreationTimestamp`` / ``ByCreationTimestamp``: oldest first, then by name."""
    return sorted(objs, key=lambda o: (created(o), name(o)))


# ---------------------------------------------------------------------------------------------- owners


def controller_ref(owner: ObjView) -> Obj:
    """``metav1.NewControllerRef``: the owner reference a controller stamps on what it creates."""
    return {
        "apiVersion": str(owner.get("apiVersion") or ""),
        "kind": str(owner.get("kind") or ""),
        "name": name(owner),
        "uid": uid(owner),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def owner_refs(obj: ObjView) -> list[Mapping[str, Any]]:
    return [r for r in meta(obj).get("ownerReferences") or [] if isinstance(r, Mapping)]


def controller_of(obj: ObjView) -> Mapping[str, Any] | None:
    """``metav1.GetControllerOf``: the owner reference with ``controller: true``."""
    for ref in owner_refs(obj):
        if ref.get("controller") is True:
            return ref
    return None


def is_controlled_by(obj: ObjView, owner: ObjView) -> bool:
    ref = controller_of(obj)
    return ref is not None and ref.get("uid") == uid(owner)


def selector_of(obj: ObjView) -> Mapping[str, Any] | None:
    """``spec.selector`` as a LabelSelector; a ReplicationController's map selector converted."""
    sel = spec(obj).get("selector")
    if obj.get("kind") == "ReplicationController":
        return labelselector.from_map(sel if isinstance(sel, Mapping) else None)
    return sel if isinstance(sel, Mapping) else None


# ---------------------------------------------------------------------------------------------- pods


def phase(pod: ObjView) -> str:
    return str(status(pod).get("phase") or "")


def is_terminal(pod: ObjView) -> bool:
    return phase(pod) in ("Succeeded", "Failed")


def is_active(pod: ObjView) -> bool:
    """``controller.IsPodActive``: not Succeeded/Failed and not being deleted."""
    return not is_terminal(pod) and not deleting(pod)


def is_terminating(pod: ObjView) -> bool:
    """``controller.IsPodTerminating``: being deleted but not yet terminal."""
    return not is_terminal(pod) and deleting(pod)


def ready_condition(pod: ObjView) -> Mapping[str, Any] | None:
    for c in status(pod).get("conditions") or []:
        if isinstance(c, Mapping) and c.get("type") == "Ready":
            return c
    return None


def is_ready(pod: ObjView) -> bool:
    c = ready_condition(pod)
    return c is not None and c.get("status") == "True"


def ready_since(pod: ObjView) -> float | None:
    """When the pod last became Ready (the Ready condition's lastTransitionTime)."""
    c = ready_condition(pod)
    if c is None or c.get("status") != "True":
        return None
    return parse_time(c.get("lastTransitionTime"))


def is_available(pod: ObjView, min_ready_seconds: int, now: float) -> bool:
    """``podutil.IsPodAvailable``: Ready, and Ready for longer than minReadySeconds."""
    if not is_ready(pod):
        return False
    if min_ready_seconds == 0:
        return True
    since = ready_since(pod)
    return since is not None and since + min_ready_seconds < now


def deletion_cost(pod: ObjView) -> int:
    """``GetDeletionCostFromPodAnnotations`` (invalid values count as 0, as the ranking ignores them)."""
    v = annotations_of(pod).get(POD_DELETION_COST)
    if v is None:
        return 0
    try:
        cost = int(v.strip())
    except ValueError:
        return 0
    return cost if -(2**31) <= cost < 2**31 else 0


# ---------------------------------------------------------------------------------------------- intstr

_PERCENT = re.compile(r"^(-?\d+)%$")


def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """``intstr.GetScaledValueFromIntOrPercent``: an int as is, ``"25%"`` of ``total`` rounded as asked.

    Raises ValueError ``invalid value for IntOrString: invalid value %q`` for other strings.
    """
    if isinstance(value, bool):
        raise ValueError(f"invalid value for IntOrString: invalid type: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        m = _PERCENT.match(value)
        if not m:
            raise ValueError(f'invalid value for IntOrString: invalid value "{value}"')
        product = int(m.group(1)) * total
        return -(-product // 100) if round_up else product // 100
    raise ValueError("invalid value for IntOrString: invalid type: neither int nor percentage")


def int_or(v: Any, default: int) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else default
