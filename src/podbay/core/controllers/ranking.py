"""Which pods a ReplicaSet deletes first: ``controller.ActivePodsWithRanks.Less`` and
``getPodsToDelete`` (pkg/controller/replicaset/replica_set.go), with the PodDeletionCost and
LogarithmicScaleDown behaviour that is on by default."""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from podbay.core.controllers import objects as o

Pod = Mapping[str, Any]

_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}


def _node(pod: Pod) -> str:
    return str(o.spec(pod).get("nodeName") or "")


def _log_rank(t: float, now: float) -> int:
    """``int64(math.Log2(float64(now - t)))`` in nanoseconds; -1 for no age."""
    d = (now - t) * 1e9
    return int(math.log2(d)) if d > 0 else -1


def _after_or_zero(t1: float | None, t2: float | None) -> bool:
    if not t1 or not t2:
        return not t1
    return t1 > t2


def _max_restarts(pod: Pod) -> tuple[int, int]:
    st = o.status(pod)
    regular = max((int(c.get("restartCount") or 0) for c in st.get("containerStatuses") or []), default=0)
    sidecars = {c.get("name") for c in o.spec(pod).get("initContainers") or [] if c.get("restartPolicy") == "Always"}
    sidecar = max(
        (int(c.get("restartCount") or 0) for c in st.get("initContainerStatuses") or [] if c.get("name") in sidecars),
        default=0,
    )
    return regular, sidecar


def _compare_time(t1: float | None, t2: float | None, uid1: str, uid2: str, now: float) -> bool:
    if not now or not t1 or not t2:
        return _after_or_zero(t1, t2)
    diff = _log_rank(t1, now) - _log_rank(t2, now)
    if diff == 0:
        return uid1 < uid2
    return diff < 0


def less(a: Pod, rank_a: int, b: Pod, rank_b: int, now: float) -> bool:
    """``ActivePodsWithRanks.Less``: True if ``a`` should be deleted before ``b``."""
    na, nb = _node(a), _node(b)
    if na != nb and (not na or not nb):
        return not na  # 1. unassigned first
    pa, pb = _PHASE_ORDINAL.get(o.phase(a), 0), _PHASE_ORDINAL.get(o.phase(b), 0)
    if pa != pb:
        return pa < pb  # 2. Pending < Unknown < Running
    ra, rb = o.is_ready(a), o.is_ready(b)
    if ra != rb:
        return not ra  # 3. not ready first
    ca, cb = o.deletion_cost(a), o.deletion_cost(b)
    if ca != cb:
        return ca < cb  # 4. lower pod-deletion-cost first
    if rank_a != rank_b:
        return rank_a > rank_b  # 5. doubled up first
    if ra and rb:  # 6. ready for less time first (log-scale buckets)
        ta, tb = o.ready_since(a), o.ready_since(b)
        if ta != tb:
            return _compare_time(ta, tb, o.uid(a), o.uid(b), now)
    xa, xb = _max_restarts(a), _max_restarts(b)
    if xa[0] != xb[0]:
        return xa[0] > xb[0]  # 7. more restarts first
    if xa[1] != xb[1]:
        return xa[1] > xb[1]
    ta, tb = o.created(a), o.created(b)
    if ta != tb:
        return _compare_time(ta, tb, o.uid(a), o.uid(b), now)  # 8. newer first
    return False


def rank_by_related(pods: Sequence[Pod], related: Sequence[Pod]) -> list[int]:
    """``getPodsRankedByRelatedPodsOnSameNode``: active related pods on each pod's node."""
    on_node = Counter(_node(p) for p in related if o.is_active(p))
    return [on_node[_node(p)] for p in pods]


def sort_for_deletion(pods: Sequence[Pod], ranks: Sequence[int], now: float) -> list[Pod]:
    items = list(zip(pods, ranks, strict=True))

    def cmp(x: tuple[Pod, int], y: tuple[Pod, int]) -> int:
        if less(x[0], x[1], y[0], y[1], now):
            return -1
        if less(y[0], y[1], x[0], x[1], now):
            return 1
        return 0

    return [p for p, _ in sorted(items, key=functools.cmp_to_key(cmp))]


def pods_to_delete(pods: Sequence[Pod], related: Sequence[Pod], diff: int, now: float) -> list[Pod]:
    """``getPodsToDelete``: the first ``diff`` pods in deletion order."""
    if diff < len(pods):
        pods = sort_for_deletion(pods, rank_by_related(pods, related), now)
    return list(pods[:diff])
