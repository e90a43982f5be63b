"""``pkg/controller/deployment/util/deployment_util.go``: revisions and annotations, fenceposts,
``NewRSNewReplicas``, replica counts, conditions and the complete/progressing/timed-out tests."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from podbay.core.controllers import objects as o
from podbay.core.controllers.hashing import equal_ignore_hash

Obj = dict[str, Any]
RS = Mapping[str, Any]

MAX_INT32 = 2**31 - 1
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
DEPRECATED_ROLLBACK_TO = "deprecated.deployment.rollback.to"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
CHANGE_CAUSE = "kubernetes.io/change-cause"
MAX_REV_HISTORY_CHARS = 2000

# Condition reasons (util/deployment_util.go).
REPLICA_SET_UPDATED = "ReplicaSetUpdated"
FAILED_RS_CREATE = "ReplicaSetCreateError"
NEW_REPLICA_SET = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"

AVAILABLE = "Available"
PROGRESSING = "Progressing"
REPLICA_FAILURE = "ReplicaFailure"

_SKIP_COPY = {LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, DEPRECATED_ROLLBACK_TO}


# ---------------------------------------------------------------------------------------------- spec


def replicas(obj: Mapping[str, Any]) -> int:
    return o.int_or(o.spec(obj).get("replicas"), 1)


def strategy(d: Mapping[str, Any]) -> Mapping[str, Any]:
    return o.spec(d).get("strategy") or {}


def is_rolling_update(d: Mapping[str, Any]) -> bool:
    return (strategy(d).get("type") or "RollingUpdate") == "RollingUpdate"


def resolve_fenceposts(max_surge: Any, max_unavailable: Any, desired: int) -> tuple[int, int]:
    """``ResolveFenceposts``: surge rounds up, unavailable down; both zero → unavailable 1."""
    surge = o.scaled_value(0 if max_surge is None else max_surge, desired, True)
    unavailable = o.scaled_value(0 if max_unavailable is None else max_unavailable, desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _rolling(d: Mapping[str, Any]) -> Mapping[str, Any]:
    return strategy(d).get("rollingUpdate") or {}


def max_unavailable(d: Mapping[str, Any]) -> int:
    n = replicas(d)
    if not is_rolling_update(d) or n == 0:
        return 0
    ru = _rolling(d)
    _, unavailable = resolve_fenceposts(ru.get("maxSurge"), ru.get("maxUnavailable"), n)
    return min(unavailable, n)


def min_available(d: Mapping[str, Any]) -> int:
    if not is_rolling_update(d):
        return 0
    return replicas(d) - max_unavailable(d)


def max_surge(d: Mapping[str, Any]) -> int:
    if not is_rolling_update(d):
        return 0
    ru = _rolling(d)
    surge, _ = resolve_fenceposts(ru.get("maxSurge"), ru.get("maxUnavailable"), replicas(d))
    return surge


def has_progress_deadline(d: Mapping[str, Any]) -> bool:
    v = o.spec(d).get("progressDeadlineSeconds")
    return isinstance(v, int) and v != MAX_INT32


def has_revision_history_limit(d: Mapping[str, Any]) -> bool:
    v = o.spec(d).get("revisionHistoryLimit")
    return isinstance(v, int) and v != MAX_INT32


# ---------------------------------------------------------------------------------------------- replica sets


def rs_replicas(rs: RS | None) -> int:
    return 0 if rs is None else o.int_or(o.spec(rs).get("replicas"), 0)


def replica_count(rss: Sequence[RS | None]) -> int:
    """``GetReplicaCountForReplicaSets``: Σ spec.replicas."""
    return sum(rs_replicas(rs) for rs in rss if rs is not None)


def _status_sum(rss: Sequence[RS | None], field: str) -> int:
    return sum(int(o.status(rs).get(field) or 0) for rs in rss if rs is not None)


def actual_replica_count(rss: Sequence[RS | None]) -> int:
    return _status_sum(rss, "replicas")


def ready_replica_count(rss: Sequence[RS | None]) -> int:
    return _status_sum(rss, "readyReplicas")


def available_replica_count(rss: Sequence[RS | None]) -> int:
    return _status_sum(rss, "availableReplicas")


def terminating_replica_count(rss: Sequence[RS | None]) -> int | None:
    """``GetTerminatingReplicaCountForReplicaSets``: None as soon as one set does not report it."""
    total = 0
    for rs in rss:
        if rs is None:
            continue
        v = o.status(rs).get("terminatingReplicas")
        if v is None:
            return None
        total += int(v)
    return total


def filter_active(rss: Sequence[RS | None]) -> list[Any]:
    """``FilterActiveReplicaSets``: spec.replicas > 0."""
    return [rs for rs in rss if rs is not None and rs_replicas(rs) > 0]


def revision(obj: Mapping[str, Any]) -> int:
    """``Revision``: the revision annotation as int64 (0 if absent; ValueError if unreadable)."""
    v = o.annotations_of(obj).get(REVISION)
    return 0 if v is None else int(v)


def max_revision(rss: Sequence[RS]) -> int:
    best = 0
    for rs in rss:
        try:
            best = max(best, revision(rs))
        except ValueError:
            continue
    return best


def last_revision(rss: Sequence[RS]) -> int:
    """``LastRevision``: the second-highest revision."""
    top = second = 0
    for rs in rss:
        try:
            v = revision(rs)
        except ValueError:
            continue
        if v >= top:
            second, top = top, v
        elif v > second:
            second = v
    return second


def by_revision(rss: Sequence[RS]) -> list[Any]:
    """``ReplicaSetsByRevision``; sets whose revisions cannot be compared fall back to creation order."""
    def sort_key(rs: RS) -> tuple[int, float, str]:
        try:
            rev = revision(rs)
        except ValueError:
            rev = -1
        return (rev, o.created(rs), o.name(rs))
    return sorted(rss, key=sort_key)


def by_size_newer(rss: Sequence[RS]) -> list[Any]:
    """``ReplicaSetsBySizeNewer``: larger first; same size, newer first."""
    return sorted(rss, key=lambda rs: (-rs_replicas(rs), -o.created(rs), _rev_name(o.name(rs))))


def by_size_older(rss: Sequence[RS]) -> list[Any]:
    """``ReplicaSetsBySizeOlder``: larger first; same size, older first."""
    return sorted(rss, key=lambda rs: (-rs_replicas(rs), o.created(rs), o.name(rs)))


def _rev_name(s: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in s) + (1,)


def find_new_replica_set(d: Mapping[str, Any], rss: Sequence[RS]) -> Any:
    """``FindNewReplicaSet``: the oldest set whose template equals the Deployment's (ignoring the hash)."""
    template = o.spec(d).get("template") or {}
    for rs in o.by_creation(rss):
        if equal_ignore_hash(o.spec(rs).get("template") or {}, template):
            return rs
    return None


def find_old_replica_sets(d: Mapping[str, Any], rss: Sequence[RS]) -> tuple[list[Any], list[Any]]:
    """``FindOldReplicaSets``: (old sets with replicas, all old sets)."""
    new = find_new_replica_set(d, rss)
    all_old = [rs for rs in rss if new is None or o.uid(rs) != o.uid(new)]
    return [rs for rs in all_old if rs_replicas(rs) != 0], all_old


def find_active_or_latest(new: RS | None, old: Sequence[RS]) -> Any:
    """``FindActiveOrLatest``: the only active set, else the newest when none is active."""
    if new is None and not old:
        return None
    old_sorted = sorted(old, key=lambda rs: (o.created(rs), o.name(rs)), reverse=True)
    active = filter_active([*old_sorted, new])
    if not active:
        return new if new is not None else old_sorted[0]
    if len(active) == 1:
        return active[0]
    return None


def _int_annotation(rs: RS, key: str) -> int | None:
    v = o.annotations_of(rs).get(key)
    if v is None:
        return None
    try:
        return int(v)
    except ValueError:
        return None


def desired_replicas_annotation(rs: RS) -> int | None:
    return _int_annotation(rs, DESIRED_REPLICAS)


def max_replicas_annotation(rs: RS) -> int | None:
    return _int_annotation(rs, MAX_REPLICAS)


def is_saturated(d: Mapping[str, Any], rs: RS | None) -> bool:
    """``IsSaturated``: the new set has all replicas, all available, and knows the desired count."""
    if rs is None:
        return False
    desired = desired_replicas_annotation(rs)
    n = replicas(d)
    return desired is not None and rs_replicas(rs) == n and desired == n and int(
        o.status(rs).get("availableReplicas") or 0
    ) == n


def new_rs_new_replicas(d: Mapping[str, Any], all_rss: Sequence[RS | None], new_rs: RS) -> int:
    """``NewRSNewReplicas``: how far the new set may be scaled up now."""
    n = replicas(d)
    if is_rolling_update(d):
        surge = o.scaled_value(_rolling(d).get("maxSurge", 0), n, True)
        current = replica_count(all_rss)
        max_total = n + surge
        if current >= max_total:
            return rs_replicas(new_rs)
        scale_up = min(max_total - current, n - rs_replicas(new_rs))
        return rs_replicas(new_rs) + scale_up
    return n


def replica_set_proportion(rs: RS, d: Mapping[str, Any], to_add: int, added: int) -> int:
    """``GetReplicaSetProportion``."""
    if rs_replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = _replica_set_fraction(rs, d)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def _round_to_int32(a: float) -> int:
    return int(a - 0.5) if a < 0 else int(a + 0.5)


def _replica_set_fraction(rs: RS, d: Mapping[str, Any]) -> int:
    """``getReplicaSetFraction``: the set's new size scaled by max-replicas before/after, minus its size."""
    n = replicas(d)
    if n == 0:
        return -rs_replicas(rs)
    max_after = n + max_surge(d)
    before = max_replicas_annotation(rs)
    if not before:
        before = int(o.status(d).get("replicas") or 0)
        if before == 0:
            return 0
    return _round_to_int32(rs_replicas(rs) * max_after / before) - rs_replicas(rs)


# ---------------------------------------------------------------------------------------------- annotations


def replicas_annotations_need_update(rs: RS, desired: int, max_replicas: int) -> bool:
    ann = o.annotations_of(rs)
    return ann.get(DESIRED_REPLICAS) != str(desired) or ann.get(MAX_REPLICAS) != str(max_replicas)


def set_replicas_annotations(rs: Obj, desired: int, max_replicas: int) -> bool:
    ann = rs.setdefault("metadata", {}).setdefault("annotations", {})
    changed = False
    for k, v in ((DESIRED_REPLICAS, str(desired)), (MAX_REPLICAS, str(max_replicas))):
        if ann.get(k) != v:
            ann[k] = v
            changed = True
    return changed


def _copy_deployment_annotations(d: Mapping[str, Any], rs: Obj) -> bool:
    ann = rs.setdefault("metadata", {}).setdefault("annotations", {})
    changed = False
    for k, v in o.annotations_of(d).items():
        if k in _SKIP_COPY or ann.get(k) == v:
            continue
        ann[k] = v
        changed = True
    return changed


def set_new_replica_set_annotations(d: Mapping[str, Any], rs: Obj, new_revision: str, exists: bool) -> bool:
    """``SetNewReplicaSetAnnotations``: copy the Deployment's annotations, raise the revision (keeping
    the old one in revision-history on a rollback), and on create the replica annotations."""
    changed = _copy_deployment_annotations(d, rs)
    ann = rs["metadata"]["annotations"]
    old = ann.get(REVISION)
    try:
        old_int = int(old) if old else 0
        new_int = int(new_revision)
    except ValueError:
        return False
    if old_int < new_int:
        ann[REVISION] = new_revision
        changed = True
    if old is not None and changed:
        history = ann.get(REVISION_HISTORY, "")
        olds = history.split(",")
        if not olds[0]:
            ann[REVISION_HISTORY] = old
        else:
            total = len(history) + len(old) + 1
            start = 0
            while total > MAX_REV_HISTORY_CHARS and start < len(olds):
                total -= len(olds[start]) + 1
                start += 1
            if total <= MAX_REV_HISTORY_CHARS:
                ann[REVISION_HISTORY] = ",".join([*olds[start:], old])
    if not exists and set_replicas_annotations(rs, replicas(d), replicas(d) + max_surge(d)):
        changed = True
    return changed


def set_deployment_revision(d: Obj, rev: str) -> bool:
    ann = d.setdefault("metadata", {}).setdefault("annotations", {})
    if ann.get(REVISION) != rev:
        ann[REVISION] = rev
        return True
    return False


# ---------------------------------------------------------------------------------------------- conditions


def new_condition(ctype: str, status: str, reason: str, message: str, now: float) -> Obj:
    t = o.rfc3339(now)
    return {"type": ctype, "status": status, "lastUpdateTime": t, "lastTransitionTime": t,
            "reason": reason, "message": message}


def get_condition(status: Mapping[str, Any], ctype: str) -> Obj | None:
    for c in status.get("conditions") or []:
        if c.get("type") == ctype:
            return dict(c)
    return None


def set_condition(status: Obj, cond: Obj) -> None:
    """``SetDeploymentCondition``: unchanged status+reason → nothing; same status keeps lastTransitionTime."""
    cur = get_condition(status, cond["type"])
    if cur is not None and cur.get("status") == cond["status"] and cur.get("reason") == cond["reason"]:
        return
    cond = dict(cond)
    if cur is not None and cur.get("status") == cond["status"]:
        cond["lastTransitionTime"] = cur.get("lastTransitionTime")
    status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != cond["type"]] + [cond]


def remove_condition(status: Obj, ctype: str) -> None:
    conds = [c for c in status.get("conditions") or [] if c.get("type") != ctype]
    if conds:
        status["conditions"] = conds
    else:
        status.pop("conditions", None)


def rs_to_deployment_condition(c: Mapping[str, Any]) -> Obj:
    """``ReplicaSetToDeploymentCondition``."""
    return {"type": c.get("type"), "status": c.get("status"), "lastUpdateTime": c.get("lastTransitionTime"),
            "lastTransitionTime": c.get("lastTransitionTime"), "reason": c.get("reason"),
            "message": c.get("message")}


def deployment_complete(d: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    n = replicas(d)
    return (int(status.get("updatedReplicas") or 0) == n and int(status.get("replicas") or 0) == n
            and int(status.get("availableReplicas") or 0) == n
            and int(status.get("observedGeneration") or 0) >= o.generation(d))


def deployment_progressing(d: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    old = o.status(d)

    def g(s: Mapping[str, Any], k: str) -> int:
        return int(s.get(k) or 0)

    return (g(new, "updatedReplicas") > g(old, "updatedReplicas")
            or g(new, "replicas") - g(new, "updatedReplicas") < g(old, "replicas") - g(old, "updatedReplicas")
            or g(new, "readyReplicas") > g(old, "readyReplicas")
            or g(new, "availableReplicas") > g(old, "availableReplicas"))


def deployment_timed_out(d: Mapping[str, Any], new: Mapping[str, Any], now: float) -> bool:
    if not has_progress_deadline(d):
        return False
    cond = get_condition(new, PROGRESSING)
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    since = o.parse_time(cond.get("lastUpdateTime")) or 0.0
    return since + int(o.spec(d)["progressDeadlineSeconds"]) < now


# ---------------------------------------------------------------------------------------------- rollback helpers (kubectl)


def template_without_hash(rs: RS) -> Obj:
    """The pod template kubectl's ``rollout undo`` copies back (pod-template-hash removed)."""
    t = copy.deepcopy(dict(o.spec(rs).get("template") or {}))
    lbl = (t.get("metadata") or {}).get("labels")
    if isinstance(lbl, dict):
        lbl.pop("pod-template-hash", None)
    return t
