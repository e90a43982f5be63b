"""The Job controller's helpers (pkg/controller/job: indexed_job_utils.go, pod_failure_policy.go,
backoff_utils.go, success_policy.go): completion-index intervals, the pod failure policy, the
pod-failure back-off record, the success policy, and the pod ordering ``controller.ActivePods``."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from podbay.core.controllers import objects as o

Pod = Mapping[str, Any]

JOB_TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
LEGACY_JOB_NAME_LABEL = "job-name"
LEGACY_CONTROLLER_UID_LABEL = "controller-uid"
DEFAULT_BACKOFF = 10.0  # DefaultJobPodFailureBackOff
MAX_BACKOFF = 600.0  # MaxJobPodFailureBackOff (10 min in current releases; the docs still say 6)
MAX_GENERATED_NAME = 58  # 63 - 5 random characters
UNKNOWN_INDEX = -1


# ---------------------------------------------------------------------------------------------- intervals


Interval = tuple[int, int]


def intervals_from_indexes(indexes: Iterable[int]) -> list[Interval]:
    out: list[list[int]] = []
    for ix in sorted(set(indexes)):
        if out and out[-1][1] + 1 == ix:
            out[-1][1] = ix
        else:
            out.append([ix, ix])
    return [(a, b) for a, b in out]


def interval_indexes(iv: Sequence[Interval]) -> list[int]:
    return [i for a, b in iv for i in range(a, b + 1)]


def with_indexes(iv: Sequence[Interval], new: Iterable[int]) -> list[Interval]:
    """``orderedIntervals.withOrderedIndexes``."""
    return intervals_from_indexes([*interval_indexes(iv), *new])


def total(iv: Sequence[Interval]) -> int:
    return sum(b - a + 1 for a, b in iv)


def intervals_string(iv: Sequence[Interval]) -> str:
    """``orderedIntervals.String``: ``1,3-5,7`` (two adjacent indexes are written ``3,4``)."""
    parts = []
    for a, b in iv:
        if b == a:
            parts.append(str(a))
        elif b == a + 1:
            parts.append(f"{a},{b}")
        else:
            parts.append(f"{a}-{b}")
    return ",".join(parts)


def parse_indexes(s: str | None, completions: int) -> list[Interval]:
    """``parseIndexesFromString``: unreadable parts are skipped, indexes ≥ completions dropped."""
    out: list[int] = []
    for part in (s or "").split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        try:
            a = int(lo)
            b = int(hi) if hi else a
        except ValueError:
            continue
        if a < 0 or b < a:
            continue
        out.extend(range(a, min(b, completions - 1) + 1))
    return intervals_from_indexes(out)


def completion_index(pod: Pod) -> int:
    """``getCompletionIndex`` from the annotation; UNKNOWN_INDEX if absent or invalid."""
    v = o.annotations_of(pod).get(COMPLETION_INDEX)
    if v is None:
        return UNKNOWN_INDEX
    try:
        ix = int(v)
    except ValueError:
        return UNKNOWN_INDEX
    return ix if ix >= 0 else UNKNOWN_INDEX


def pod_generate_name_with_index(job_name: str, index: int) -> str:
    """``podGenerateNameWithIndex``: ``<job>-<index>-``, the job name cut to fit 58 characters."""
    suffix = f"-{index}-"
    prefix = job_name + suffix
    if len(prefix) > MAX_GENERATED_NAME:
        prefix = job_name[: MAX_GENERATED_NAME - len(suffix)] + suffix
    return prefix


def add_completion_index_env(template: dict[str, Any]) -> None:
    """``addCompletionIndexEnvVariables``: JOB_COMPLETION_INDEX from the annotation (downward API)."""
    spec = template.setdefault("spec", {})
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or []:
            env = c.setdefault("env", [])
            if any(e.get("name") == COMPLETION_INDEX_ENV for e in env):
                continue
            env.append({"name": COMPLETION_INDEX_ENV, "valueFrom": {"fieldRef": {
                "apiVersion": "v1", "fieldPath": f"metadata.annotations['{COMPLETION_INDEX}']"}}})


# ---------------------------------------------------------------------------------------------- ActivePods


_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}


def _restarts(pod: Pod) -> int:
    return max((int(c.get("restartCount") or 0) for c in o.status(pod).get("containerStatuses") or []), default=0)


def _active_pods_less(a: Pod, b: Pod) -> bool:
    """``controller.ActivePods.Less`` (the ordering without node ranks)."""
    na, nb = o.spec(a).get("nodeName") or "", o.spec(b).get("nodeName") or ""
    if na != nb and (not na or not nb):
        return not na
    pa, pb = _PHASE_ORDINAL.get(o.phase(a), 0), _PHASE_ORDINAL.get(o.phase(b), 0)
    if pa != pb:
        return pa < pb
    ra, rb = o.is_ready(a), o.is_ready(b)
    if ra != rb:
        return not ra
    if ra and rb:
        ta, tb = o.ready_since(a), o.ready_since(b)
        if ta != tb:
            return not ta or (bool(tb) and ta > tb)  # type: ignore[operator]
    xa, xb = _restarts(a), _restarts(b)
    if xa != xb:
        return xa > xb
    ca, cb = o.created(a), o.created(b)
    if ca != cb:
        return not ca or (bool(cb) and ca > cb)
    return False


def sort_active_pods(pods: Sequence[Pod]) -> list[Pod]:
    def cmp(x: Pod, y: Pod) -> int:
        return -1 if _active_pods_less(x, y) else 1 if _active_pods_less(y, x) else 0
    return sorted(pods, key=functools.cmp_to_key(cmp))


# ---------------------------------------------------------------------------------------------- pod failure policy


def _exit_code_matches(code: int, req: Mapping[str, Any]) -> bool:
    values = [int(v) for v in req.get("values") or []]
    if req.get("operator") == "In":
        return code in values
    if req.get("operator") == "NotIn":
        return code not in values
    return False


def _matching_container(statuses: Sequence[Mapping[str, Any]], req: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for cs in statuses:
        term = (cs.get("state") or {}).get("terminated")
        if term is None:
            continue
        if req.get("containerName") not in (None, cs.get("name")):
            continue
        code = int(term.get("exitCode") or 0)
        if code != 0 and _exit_code_matches(code, req):
            return cs
    return None


def match_pod_failure_policy(policy: Mapping[str, Any] | None, pod: Pod) -> tuple[str | None, bool, str | None]:
    """``matchPodFailurePolicy``: (FailJob message, count the failure?, matched action)."""
    if policy is None:
        return None, True, None
    st = o.status(pod)
    for i, rule in enumerate(policy.get("rules") or []):
        action = rule.get("action")
        if rule.get("onExitCodes") is not None:
            req = rule["onExitCodes"]
            cs = _matching_container(st.get("containerStatuses") or [], req) or _matching_container(
                st.get("initContainerStatuses") or [], req)
            if cs is None:
                continue
            code = int(((cs.get("state") or {}).get("terminated") or {}).get("exitCode") or 0)
            if action == "Ignore":
                return None, False, "Ignore"
            if action == "Count":
                return None, True, "Count"
            if action == "FailJob":
                return (f"Container {cs.get('name')} for pod {o.namespace(pod)}/{o.name(pod)} failed with exit code "
                        f"{code} matching FailJob rule at index {i}"), True, "FailJob"
        elif rule.get("onPodConditions") is not None:
            cond = next((c for c in st.get("conditions") or [] for pat in rule["onPodConditions"]
                         if c.get("type") == pat.get("type") and c.get("status") == (pat.get("status") or "True")), None)
            if cond is None:
                continue
            if action == "Ignore":
                return None, False, "Ignore"
            if action == "Count":
                return None, True, "Count"
            if action == "FailJob":
                return (f"Pod {o.namespace(pod)}/{o.name(pod)} has condition {cond.get('type')} matching FailJob "
                        f"rule at index {i}"), True, "FailJob"
    return None, True, None


# ---------------------------------------------------------------------------------------------- back-off


@dataclasses.dataclass(frozen=True)
class BackoffRecord:
    """``backoffRecord``: failures since the last success and when the last one happened."""

    failures_after_last_success: int = 0
    last_failure_time: float | None = None


def _latest_finish(statuses: Sequence[Mapping[str, Any]]) -> float | None | bool:
    latest: float | None = None
    for cs in statuses:
        term = (cs.get("state") or {}).get("terminated")
        t = o.parse_time((term or {}).get("finishedAt"))
        if t is None:
            return False
        latest = t if latest is None else max(latest, t)
    return latest


def finished_time(pod: Pod) -> float:
    """``getFinishedTime``: the containers' last finishedAt, else the Ready=False transition, else
    the deletion timestamp, else the creation time."""
    st = o.status(pod)
    t = _latest_finish(st.get("containerStatuses") or [])
    if isinstance(t, float):
        sidecars = {c.get("name") for c in o.spec(pod).get("initContainers") or [] if c.get("restartPolicy") == "Always"}
        s = _latest_finish([c for c in st.get("initContainerStatuses") or [] if c.get("name") in sidecars])
        if s is False:
            t = None
        elif isinstance(s, float):
            t = max(t, s)
        if isinstance(t, float):
            return t
    c = o.ready_condition(pod)
    if c is not None and c.get("status") == "False" and (rt := o.parse_time(c.get("lastTransitionTime"))):
        return rt
    if (dt := o.parse_time(o.meta(pod).get("deletionTimestamp"))) is not None:
        return dt
    return o.created(pod)


def new_backoff_record(old: BackoffRecord | None, new_succeeded: Sequence[Pod], new_failed: Sequence[Pod]) -> BackoffRecord:
    """``backoffStore.newBackoffRecord``."""
    rec = old or BackoffRecord()
    succ = sorted(finished_time(p) for p in new_succeeded)
    fail = sorted(finished_time(p) for p in new_failed)
    if not succ:
        if not fail:
            return rec
        return BackoffRecord(rec.failures_after_last_success + len(fail), fail[-1])
    if not fail:
        return BackoffRecord()
    last_success = succ[-1]
    after = [t for t in fail if t > last_success]
    return BackoffRecord(len(after), after[-1] if after else None)


def remaining_backoff(rec: BackoffRecord, now: float, base: float = DEFAULT_BACKOFF, cap: float = MAX_BACKOFF) -> float:
    """``getRemainingTimeForFailuresCount``: base·2^(n−1), capped, minus the time since the last failure."""
    if rec.failures_after_last_success == 0 or rec.last_failure_time is None:
        return 0.0
    delay = base
    for _ in range(1, rec.failures_after_last_success):
        delay *= 2
        if delay >= cap:
            delay = cap
            break
    elapsed = now - rec.last_failure_time
    return 0.0 if delay < elapsed else delay - elapsed


# ---------------------------------------------------------------------------------------------- success policy


def _overlap_count(rule: Sequence[Interval], done: Sequence[Interval]) -> int:
    want = set(interval_indexes(rule))
    return sum(1 for i in interval_indexes(done) if i in want)


def match_success_policy(policy: Mapping[str, Any] | None, completions: int, succeeded: Sequence[Interval]) -> str | None:
    """``matchSuccessPolicy``: ``Matched rules at index %d`` for the first satisfied rule."""
    if policy is None or not succeeded:
        return None
    for i, rule in enumerate(policy.get("rules") or []):
        count = rule.get("succeededCount")
        if rule.get("succeededIndexes") is not None:
            required = parse_indexes(rule["succeededIndexes"], completions)
            if not required:
                continue
            contains = _overlap_count(required, succeeded)
            if contains == total(required) or (count is not None and contains >= int(count)):
                return f"Matched rules at index {i}"
        elif count is not None and total(succeeded) >= int(count):
            return f"Matched rules at index {i}"
    return None
