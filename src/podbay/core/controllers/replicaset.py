"""The ReplicaSet and ReplicationController controller (pkg/controller/replicaset): claim pods,
``manageReplicas``, ``calculateStatus``, ``updateReplicaSetStatus``'s steady-state check.

One sync, as the agent runs it: ``claim`` → (if expectations are satisfied and the set is not
being deleted) ``manage_replicas`` → execute → ``calculate_status(…, manage_error)`` →
``status_update`` → requeue after ``min_ready_requeue``.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from podbay.api import labelselector
from podbay.core.controllers import objects as o
from podbay.core.controllers import ranking
from podbay.core.controllers.plan import Action, Update
from podbay.core.controllers.podtemplate import BURST_REPLICAS, create_pod, delete_pod, pod_from_template
from podbay.core.controllers.refmanager import claim_objects

Obj = dict[str, Any]
Pod = Mapping[str, Any]

REPLICA_FAILURE = "ReplicaFailure"


def selector(rs: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return o.selector_of(rs)


def claim_pods(rs: Mapping[str, Any], pods: Sequence[Pod]) -> tuple[list[Obj], list[Action]]:
    """Active pods of the namespace → those this set controls (adopting/releasing as needed)."""
    sel = selector(rs)
    active = [p for p in pods if o.is_active(p)]
    claimed, patches = claim_objects(rs, active, lambda p: labelselector.matches(sel, o.labels(p)))
    return claimed, list(patches)


def terminating_pods(rs: Mapping[str, Any], pods: Sequence[Pod]) -> list[Pod]:
    """``FilterClaimedPods(rs, selector, FilterTerminatingPods(pods))``."""
    sel = selector(rs)
    return [p for p in pods if o.is_terminating(p) and o.is_controlled_by(p, rs)
            and labelselector.matches(sel, o.labels(p))]


@dataclasses.dataclass
class ManagePlan:
    actions: list[Action]
    expect_creations: int = 0
    expect_deletions: tuple[str, ...] = ()


def desired(rs: Mapping[str, Any]) -> int:
    return o.int_or(o.spec(rs).get("replicas"), 1)


def manage_replicas(rs: Mapping[str, Any], active: Sequence[Pod], related: Sequence[Pod], now: float) -> ManagePlan:
    """``manageReplicas``: create or delete the difference (at most ``burstReplicas`` per sync)."""
    diff = len(active) - desired(rs)
    ns = o.namespace(rs)
    if diff < 0:
        n = min(-diff, BURST_REPLICAS)
        template = o.spec(rs).get("template") or {}
        ref = o.controller_ref(rs)
        creates: list[Action] = [
            create_pod(pod_from_template(template, rs, ns, ref), rs, batch=o.key(rs)) for _ in range(n)
        ]
        return ManagePlan(creates, expect_creations=n)
    if diff > 0:
        n = min(diff, BURST_REPLICAS)
        victims = ranking.pods_to_delete(active, related, n, now)
        return ManagePlan([delete_pod(p, rs) for p in victims], expect_deletions=tuple(o.key(p) for p in victims))
    return ManagePlan([])


def _condition(status: Mapping[str, Any], ctype: str) -> Mapping[str, Any] | None:
    for c in status.get("conditions") or []:
        if c.get("type") == ctype:
            return dict(c)
    return None


def calculate_status(rs: Mapping[str, Any], active: Sequence[Pod], terminating: Sequence[Pod] | None,
                     manage_error: str | None, now: float) -> Obj:
    """``calculateStatus``: counts over the active claimed pods, the ReplicaFailure condition.

    ``terminating`` is None for ReplicationControllers (their status has no terminatingReplicas).
    """
    new = copy.deepcopy(dict(o.status(rs)))
    template_labels = ((o.spec(rs).get("template") or {}).get("metadata") or {}).get("labels") or {}
    min_ready = o.int_or(o.spec(rs).get("minReadySeconds"), 0)
    fully = ready = available = 0
    for p in active:
        pl = o.labels(p)
        if all(pl.get(k) == v for k, v in template_labels.items()):
            fully += 1
        if o.is_ready(p):
            ready += 1
            if o.is_available(p, min_ready, now):
                available += 1
    failure = _condition(new, REPLICA_FAILURE)
    if manage_error is not None and failure is None:
        diff = len(active) - desired(rs)
        reason = "FailedCreate" if diff < 0 else "FailedDelete" if diff > 0 else ""
        cond = {"type": REPLICA_FAILURE, "status": "True", "lastTransitionTime": o.rfc3339(now),
                "reason": reason, "message": manage_error}
        new["conditions"] = [c for c in new.get("conditions") or [] if c.get("type") != REPLICA_FAILURE] + [cond]
    elif manage_error is None and failure is not None:
        new["conditions"] = [c for c in new.get("conditions") or [] if c.get("type") != REPLICA_FAILURE]
        if not new["conditions"]:
            del new["conditions"]
    new["replicas"] = len(active)
    new["fullyLabeledReplicas"] = fully
    new["readyReplicas"] = ready
    new["availableReplicas"] = available
    if terminating is not None:
        new["terminatingReplicas"] = len(terminating)
    return new


_COUNTS = ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas", "terminatingReplicas")


def status_update(rs: Mapping[str, Any], new_status: Mapping[str, Any]) -> Update | None:
    """``updateReplicaSetStatus``: nothing in the steady state, else the status with observedGeneration."""
    old = o.status(rs)
    same = all(int(old.get(k) or 0) == int(new_status.get(k) or 0) for k in _COUNTS[:4])
    same = same and old.get("terminatingReplicas") == new_status.get("terminatingReplicas")
    same = same and o.generation(rs) == int(old.get("observedGeneration") or 0)
    same = same and (old.get("conditions") or []) == (new_status.get("conditions") or [])
    if same:
        return None
    body = copy.deepcopy(dict(rs))
    body["status"] = {**new_status, "observedGeneration": o.generation(rs)}
    return Update(body, "status")


def min_ready_requeue(rs: Mapping[str, Any], new_status: Mapping[str, Any], manage_error: str | None) -> float | None:
    """Resync after minReadySeconds while ready pods are not yet available."""
    mrs = o.int_or(o.spec(rs).get("minReadySeconds"), 0)
    n = desired(rs)
    if manage_error is None and mrs > 0 and new_status.get("readyReplicas") == n and new_status.get("availableReplicas") != n:
        return float(mrs)
    return None


def related_pods(rs: Mapping[str, Any], all_rs: Sequence[Mapping[str, Any]], pods: Sequence[Pod]) -> list[Pod]:
    """``getIndirectlyRelatedPods``: pods of every set controlled by this set's own controller."""
    ctrl = o.controller_of(rs)
    siblings = [rs] if ctrl is None else [
        r for r in all_rs if (c := o.controller_of(r)) is not None and c.get("uid") == ctrl.get("uid")
    ]
    uids = {o.uid(r) for r in siblings} | {o.uid(rs)}
    return [p for p in pods if (c := o.controller_of(p)) is not None and c.get("uid") in uids]
