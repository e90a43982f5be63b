"""The ``/scale`` subresource of Deployments, ReplicaSets, StatefulSets and ReplicationControllers
(``autoscaling/v1`` Scale): the view (``scaleFromDeployment`` …) and what writing one does to the
object (``scaleUpdatedObjectInfo``: replicas, with the Scale's resourceVersion as precondition)."""

from __future__ import annotations

import copy
from typing import Any

from podbay.api import labelselector
from podbay.api.fielderror import FieldError, invalid

Obj = dict[str, Any]

SCALABLE = ("Deployment", "ReplicaSet", "StatefulSet", "ReplicationController")


def _d(v: Any) -> Obj:
    return v if isinstance(v, dict) else {}


def selector_of(obj: Obj) -> str:
    sel = _d(obj.get("spec")).get("selector")
    if obj.get("kind") == "ReplicationController":
        return labelselector.selector_string(labelselector.from_map(sel if isinstance(sel, dict) else None))
    return labelselector.selector_string(sel if isinstance(sel, dict) else None)


def scale_of(obj: Obj) -> Obj:
    """The Scale object the subresource answers for ``obj``."""
    md = _d(obj.get("metadata"))
    smd = {k: md[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if md.get(k) is not None}
    spec = _d(obj.get("spec"))
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": smd,
        "spec": {"replicas": int(spec.get("replicas") or 0)},
        "status": {"replicas": int(_d(obj.get("status")).get("replicas") or 0), "selector": selector_of(obj)},
    }


def validate_scale(scale: Obj) -> list[FieldError]:
    """``ValidateScale``: a non-negative replica count."""
    replicas = _d(scale.get("spec")).get("replicas")
    if replicas is None:
        return []
    if not isinstance(replicas, int) or isinstance(replicas, bool):
        return [invalid("spec.replicas", replicas, "must be an integer")]
    if replicas < 0:
        return [invalid("spec.replicas", replicas, "must be greater than or equal to 0")]
    return []


def apply_scale(obj: Obj, scale: Obj) -> Obj:
    """The object after a PUT/PATCH of its scale: ``spec.replicas`` from the Scale, whose
    resourceVersion (when given) becomes the update's precondition."""
    out = copy.deepcopy(obj)
    out.setdefault("spec", {})["replicas"] = int(_d(scale.get("spec")).get("replicas") or 0)
    rv = _d(scale.get("metadata")).get("resourceVersion")
    if rv:
        out.setdefault("metadata", {})["resourceVersion"] = str(rv)
    return out
