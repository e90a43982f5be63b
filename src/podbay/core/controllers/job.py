"""The Job controller's ``syncJob`` (pkg/controller/job/job_controller.go, current releases) as one
pure pass: claim pods (adding the tracking finalizer), count them, decide the terminal conditions
(FailureTarget / SuccessCriteriaMet first, Failed / Complete once no pod is terminating), create
or delete pods (``manageJob``, with the pod-failure back-off and Indexed completion), and track
finished pods through ``status.uncountedTerminatedPods`` and the finalizer
(``trackJobStatusAndRemoveFinalizers``). Also the TTL-after-finished controller's decision.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from podbay.api import labelselector
from podbay.core.controllers import job_util as ju
from podbay.core.controllers import objects as o
from podbay.core.controllers.plan import NORMAL, WARNING, Create, Delete, Patch, Result, Update, event, ref_of
from podbay.core.controllers.podtemplate import BURST_REPLICAS, create_pod, delete_pod, pod_from_template
from podbay.core.controllers.refmanager import claim_objects

Obj = dict[str, Any]
Pod = Mapping[str, Any]

JOB_CONTROLLER = "kubernetes.io/job-controller"
COMPLETE, FAILED, FAILURE_TARGET, SUCCESS_CRITERIA_MET, SUSPENDED = (
    "Complete", "Failed", "FailureTarget", "SuccessCriteriaMet", "Suspended")
BACKOFF_LIMIT_EXCEEDED = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
DEADLINE_EXCEEDED = ("DeadlineExceeded", "Job was active longer than specified deadline")
COMPLETIONS_REACHED = ("CompletionsReached", "Reached expected number of succeeded pods")
MAX_UNCOUNTED = 500


@dataclasses.dataclass
class JobPlan:
    result: Result
    expect_creations: int = 0
    expect_deletions: int = 0
    expect_finalizers_removed: tuple[str, ...] = ()
    backoff: ju.BackoffRecord | None = None  # store it once the status write succeeded
    finished: bool = False


def _cond(ctype: str, status: str, reason: str, message: str, now: float) -> Obj:
    t = o.rfc3339(now)
    return {"type": ctype, "status": status, "lastProbeTime": t, "lastTransitionTime": t, "reason": reason,
            "message": message}


def find_condition(job: Mapping[str, Any], ctype: str) -> Obj | None:
    for c in o.status(job).get("conditions") or []:
        if c.get("type") == ctype:
            return dict(c)
    return None


def is_finished(job: Mapping[str, Any]) -> bool:
    """``IsJobFinished``: a Complete or Failed condition with status True."""
    return any(c.get("type") in (COMPLETE, FAILED) and c.get("status") == "True"
               for c in o.status(job).get("conditions") or [])


def finish_time(job: Mapping[str, Any]) -> float | None:
    for c in o.status(job).get("conditions") or []:
        if c.get("type") in (COMPLETE, FAILED) and c.get("status") == "True":
            return o.parse_time(c.get("lastTransitionTime"))
    return None


def ensure_condition(conds: list[Obj], ctype: str, status: str, reason: str, message: str, now: float) -> bool:
    """``ensureJobConditionStatus``: update in place or append (never append a False one)."""
    for i, c in enumerate(conds):
        if c.get("type") == ctype:
            if c.get("status") != status or c.get("reason") != reason or c.get("message") != message:
                conds[i] = _cond(ctype, status, reason, message, now)
                return True
            return False
    if status != "False":
        conds.append(_cond(ctype, status, reason, message, now))
        return True
    return False


def has_tracking_finalizer(pod: Pod) -> bool:
    return ju.JOB_TRACKING_FINALIZER in o.finalizers(pod)


def remove_finalizer_patch(pod: Pod) -> Patch:
    return Patch(ref_of(pod), {"metadata": {"$deleteFromPrimitiveList/finalizers": [ju.JOB_TRACKING_FINALIZER]}})


def _spec_int(job: Mapping[str, Any], key: str) -> int | None:
    v = o.spec(job).get(key)
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def is_indexed(job: Mapping[str, Any]) -> bool:
    return o.spec(job).get("completionMode") == "Indexed"


def suspended(job: Mapping[str, Any]) -> bool:
    return o.spec(job).get("suspend") is True


def only_replace_failed(job: Mapping[str, Any]) -> bool:
    return o.spec(job).get("podReplacementPolicy") == "Failed" or o.spec(job).get("podFailurePolicy") is not None


def is_pod_failed(pod: Pod, job: Mapping[str, Any]) -> bool:
    """``isPodFailed``: Failed, or (unless only failed pods are replaced) deleted before succeeding."""
    if o.phase(pod) == "Failed":
        return True
    if only_replace_failed(job):
        return False
    return o.deleting(pod) and o.phase(pod) != "Succeeded"


def claim_pods(job: Mapping[str, Any], pods: Sequence[Pod]) -> tuple[list[Obj], list[Patch]]:
    """``getPodsForJob``: claims that adopt with the tracking finalizer."""
    sel = o.spec(job).get("selector")
    claimed, patches = claim_objects(job, pods, lambda p: labelselector.matches(sel, o.labels(p)),
                                     finalizers=[ju.JOB_TRACKING_FINALIZER])
    return claimed, patches


def past_backoff_limit_on_failure(job: Mapping[str, Any], pods: Sequence[Pod]) -> bool:
    """``pastBackoffLimitOnFailure``: container restarts of running pods (restartPolicy OnFailure)."""
    if ((o.spec(job).get("template") or {}).get("spec") or {}).get("restartPolicy") != "OnFailure":
        return False
    n = 0
    for p in pods:
        if o.phase(p) in ("Running", "Pending"):
            st = o.status(p)
            for cs in [*(st.get("initContainerStatuses") or []), *(st.get("containerStatuses") or [])]:
                n += int(cs.get("restartCount") or 0)
    limit = _spec_int(job, "backoffLimit") or 0
    return n > 0 if limit == 0 else n >= limit


def active_pods_for_removal(job: Mapping[str, Any], pods: Sequence[Pod], at_least: int) -> list[Pod]:
    """``activePodsForRemoval``: for Indexed Jobs first the pods with a bad or repeated index."""
    rm: list[Pod] = []
    left: list[Pod] = list(pods)
    if is_indexed(job):
        completions = _spec_int(job, "completions") or 0
        by_index: dict[int, list[Pod]] = {}
        for p in pods:
            ix = ju.completion_index(p)
            by_index.setdefault(ix if ix < completions else ju.UNKNOWN_INDEX, []).append(p)
        rm, left = [], []
        for ix in sorted(by_index):
            group = by_index[ix]
            if ix == ju.UNKNOWN_INDEX:
                rm += group
            elif len(group) == 1:
                left += group
            else:
                ordered = ju.sort_active_pods(group)
                rm += ordered[:-1]
                left.append(ordered[-1])
    if len(rm) < at_least:
        rm += ju.sort_active_pods(left)[: at_least - len(rm)]
    return rm


class _Sync:
    def __init__(self, job: Mapping[str, Any], now: float) -> None:
        self.job: Obj = copy.deepcopy(dict(job))
        self.job.setdefault("status", {})
        self.now = now
        self.plan = JobPlan(Result())

    @property
    def res(self) -> Result:
        return self.plan.result

    def status_write(self) -> None:
        self.res.add(Update(copy.deepcopy(self.job), "status"))

    def delete_job_pods(self, pods: Sequence[Pod]) -> int:
        """``deleteJobPods``: remove the finalizer, then delete (the pod is not counted as failed)."""
        for p in pods:
            if has_tracking_finalizer(p):
                self.res.add(remove_finalizer_patch(p))
            self.res.add(delete_pod(p, self.job))
        self.plan.expect_deletions += len(pods)
        return len(pods)

    def create_pods(self, diff: int, indexes: list[int]) -> None:
        job = self.job
        template = copy.deepcopy(dict(o.spec(job).get("template") or {}))
        if is_indexed(job):
            ju.add_completion_index_env(template)
        md = template.setdefault("metadata", {})
        if ju.JOB_TRACKING_FINALIZER not in (md.get("finalizers") or []):
            md["finalizers"] = [*(md.get("finalizers") or []), ju.JOB_TRACKING_FINALIZER]
        for i in range(diff):
            t = template
            generate = ""
            if indexes:
                ix = indexes[i]
                t = copy.deepcopy(template)
                tm = t.setdefault("metadata", {})
                tm["annotations"] = {**(tm.get("annotations") or {}), ju.COMPLETION_INDEX: str(ix)}
                tm["labels"] = {**(tm.get("labels") or {}), ju.COMPLETION_INDEX: str(ix)}
                t["spec"]["hostname"] = f"{o.name(job)}-{ix}"
                generate = ju.pod_generate_name_with_index(o.name(job), ix)
            pod = pod_from_template(t, job, o.namespace(job), o.controller_ref(job))
            if generate:
                pod["metadata"]["generateName"] = generate
            self.res.add(create_pod(pod, job, batch=o.key(job)))
        self.plan.expect_creations += diff


def first_pending_indexes(succeeded: Sequence[ju.Interval], active: Sequence[Pod], count: int, completions: int) -> list[int]:
    """``firstPendingIndexes``: the lowest indexes neither succeeded nor held by an active pod."""
    taken = set(ju.interval_indexes(succeeded)) | {ju.completion_index(p) for p in active}
    out: list[int] = []
    for ix in range(completions):
        if len(out) >= count:
            break
        if ix not in taken:
            out.append(ix)
    return out


def sync_job(job: Mapping[str, Any], pods: Sequence[Pod], now: float, *, expectations_satisfied: bool = True,
             expected_rm_finalizers: frozenset[str] = frozenset(), backoff: ju.BackoffRecord | None = None) -> JobPlan:
    """``syncJob`` for one Job, given every pod of its namespace."""
    s = _Sync(job, now)
    j = s.job
    st: Obj = j["status"]
    spec = o.spec(j)
    if spec.get("managedBy") not in (None, JOB_CONTROLLER):
        return s.plan
    if is_finished(j):
        s.plan.finished = True
        return s.plan
    if spec.get("completionMode") not in (None, "NonIndexed", "Indexed"):
        s.res.add(event(j, WARNING, "UnknownCompletionMode", "Skipped Job sync because completion mode is unknown"))
        return s.plan
    uncounted = st.setdefault("uncountedTerminatedPods", {})
    unc_succ = set(uncounted.get("succeeded") or [])
    unc_fail = set(uncounted.get("failed") or [])

    all_pods, patches = claim_pods(j, pods)
    s.res.add(*patches)
    active_pods = [p for p in all_pods if o.is_active(p)]
    ready = sum(1 for p in active_pods if o.is_ready(p))
    terminating = sum(1 for p in all_pods if o.is_terminating(p))
    active = len(active_pods)
    completions = _spec_int(j, "completions")
    indexed = is_indexed(j)

    def valid(p: Pod, filt: Any, exclude: set[str]) -> bool:
        uid = o.uid(p)
        if not has_tracking_finalizer(p) or uid in exclude or uid in expected_rm_finalizers:
            return False
        if indexed:
            ix = ju.completion_index(p)
            if ix == ju.UNKNOWN_INDEX or ix >= (completions or 0):
                return False
        return bool(filt(p))

    new_succ = [p for p in all_pods if valid(p, lambda x: o.phase(x) == "Succeeded", unc_succ)]
    new_fail = [p for p in all_pods if valid(p, lambda x: is_pod_failed(x, j), unc_fail)]
    policy = spec.get("podFailurePolicy")
    counted_fail = sum(1 for p in new_fail if ju.match_pod_failure_policy(policy, p)[1])
    succeeded = int(st.get("succeeded") or 0) + len(new_succ) + len(unc_succ)
    failed = int(st.get("failed") or 0) + counted_fail + len(unc_fail)

    if not st.get("startTime") and not suspended(j):
        st["startTime"] = o.rfc3339(now)
    s.plan.backoff = ju.new_backoff_record(backoff, new_succ, new_fail)

    backoff_limit = _spec_int(j, "backoffLimit")
    backoff_limit = 6 if backoff_limit is None else backoff_limit
    finished: Obj | None = None
    sc = find_condition(j, SUCCESS_CRITERIA_MET)
    if sc is not None and sc.get("status") == "True":
        finished = sc
    if finished is None:
        ft = find_condition(j, FAILURE_TARGET)
        if ft is not None and ft.get("status") == "True":
            finished = _cond(FAILED, "True", ft.get("reason", ""), ft.get("message", ""), now)
        else:
            for p in all_pods:
                if is_pod_failed(p, j) and (msg := ju.match_pod_failure_policy(policy, p)[0]) is not None:
                    finished = _cond(FAILURE_TARGET, "True", "PodFailurePolicy", msg, now)
                    break
    if finished is None:
        ads = _spec_int(j, "activeDeadlineSeconds")
        start = o.parse_time(st.get("startTime"))
        if failed > backoff_limit or past_backoff_limit_on_failure(j, all_pods):
            finished = _cond(FAILURE_TARGET, "True", *BACKOFF_LIMIT_EXCEEDED, now)
        elif ads is not None and start is not None and not suspended(j) and now - start >= ads:
            finished = _cond(FAILURE_TARGET, "True", *DEADLINE_EXCEEDED, now)
        elif ads is not None and not suspended(j) and start is not None:
            s.res.requeue(ads - (now - start))

    prev_idx: list[ju.Interval] = []
    succ_idx: list[ju.Interval] = []
    if indexed:
        prev_idx = ju.parse_indexes(st.get("completedIndexes"), completions or 0)
        new_ix = {ju.completion_index(p) for p in all_pods if o.phase(p) == "Succeeded" and has_tracking_finalizer(p)
                  and 0 <= ju.completion_index(p) < (completions or 0)}
        succ_idx = ju.with_indexes(prev_idx, new_ix)
        succeeded = ju.total(succ_idx)
        if finished is None and (msg2 := ju.match_success_policy(spec.get("successPolicy"), completions or 0, succ_idx)):
            finished = _cond(SUCCESS_CRITERIA_MET, "True", "SuccessPolicy", msg2, now)

    suspend_changed = False
    if finished is not None:
        # deleteActivePods: keep the finalizers; the pods are counted as failed below
        for p in active_pods:
            s.res.add(delete_pod(p, j))
        if not expectations_satisfied:
            finished = None
        terminating += active
        ready -= sum(1 for p in active_pods if o.is_ready(p))
        active = 0
    else:
        manage_called = False
        if expectations_satisfied and not o.deleting(j):
            active, ready, terminating = _manage_job(s, active_pods, active, ready, terminating, succeeded, succ_idx)
            manage_called = True
        complete = (succeeded > 0 and active == 0) if completions is None else (succeeded >= completions and active == 0)
        if complete:
            finished = _cond(SUCCESS_CRITERIA_MET, "True", *COMPLETIONS_REACHED, now)
        elif manage_called:
            conds = st.setdefault("conditions", [])
            if suspended(j):
                if ensure_condition(conds, SUSPENDED, "True", "JobSuspended", "Job suspended", now):
                    suspend_changed = True
                    s.res.add(event(j, NORMAL, "Suspended", "Job suspended"))
            elif ensure_condition(conds, SUSPENDED, "False", "JobResumed", "Job resumed", now):
                suspend_changed = True
                s.res.add(event(j, NORMAL, "Resumed", "Job resumed"))
                st["startTime"] = o.rfc3339(now)
            if not conds:
                del st["conditions"]

    needs = (suspend_changed or active != int(st.get("active") or 0) or st.get("ready") != ready
             or st.get("terminating") != terminating)
    st["active"] = active
    st["ready"] = ready
    st["terminating"] = terminating
    _track_status(s, all_pods, finished, needs, prev_idx, succ_idx, expected_rm_finalizers, terminating)
    return s.plan


def _manage_job(s: _Sync, active_pods: list[Obj], active: int, ready: int, terminating: int, succeeded: int,
                succ_idx: list[ju.Interval]) -> tuple[int, int, int]:
    """``manageJob``: returns (active, ready, terminating) after the planned creates/deletes."""
    j = s.job
    parallelism = _spec_int(j, "parallelism")
    parallelism = 1 if parallelism is None else parallelism
    completions = _spec_int(j, "completions")
    if suspended(j):
        victims = active_pods_for_removal(j, active_pods, len(active_pods))
        removed = s.delete_job_pods(victims)
        return active - removed, ready - sum(1 for p in victims if o.is_ready(p)), terminating + removed
    if completions is None:
        want = active if succeeded > 0 else parallelism
    else:
        want = max(0, min(completions - succeeded, parallelism))
    victims = active_pods_for_removal(j, active_pods, max(0, active - want))[:BURST_REPLICAS]
    if victims:
        removed = s.delete_job_pods(victims)
        return active - removed, ready - sum(1 for p in victims if o.is_ready(p)), terminating + removed
    held = terminating if only_replace_failed(j) else 0
    diff = want - held - active
    if diff > 0:
        remaining = ju.remaining_backoff(s.plan.backoff or ju.BackoffRecord(), s.now)
        if remaining > 0:
            # upstream returns active=0 here, a transient miscount; podbay keeps the real number
            s.res.requeue(max(remaining, 1.0))
            return active, ready, terminating
        diff = min(diff, BURST_REPLICAS)
        indexes: list[int] = []
        if is_indexed(j):
            indexes = first_pending_indexes(succ_idx, active_pods, diff, completions or 0)
            diff = len(indexes)
        s.create_pods(diff, indexes)
        active += diff
    return active, ready, terminating


def _track_status(s: _Sync, pods: Sequence[Obj], finished: Obj | None, needs: bool, prev_idx: list[ju.Interval],
                  succ_idx: list[ju.Interval], expected_rm: frozenset[str], terminating: int) -> None:
    """``trackJobStatusAndRemoveFinalizers`` + ``flushUncountedAndRemoveFinalizers`` + ``enactJobFinished``."""
    j = s.job
    st: Obj = j["status"]
    now = s.now
    indexed = is_indexed(j)
    completions = _spec_int(j, "completions") or 0
    uncounted = st["uncountedTerminatedPods"]
    unc_succ: list[str] = list(uncounted.get("succeeded") or [])
    unc_fail: list[str] = list(uncounted.get("failed") or [])
    if indexed:
        pods = sorted(pods, key=ju.completion_index)
    with_finalizer = {o.uid(p) for p in pods if has_tracking_finalizer(p) and o.uid(p) not in expected_rm}

    def clean() -> bool:
        changed = False
        nonlocal unc_succ, unc_fail
        keep = [u for u in unc_succ if u in with_finalizer]
        if len(keep) != len(unc_succ):
            st["succeeded"] = int(st.get("succeeded") or 0) + len(unc_succ) - len(keep)
            unc_succ, changed = keep, True
        keep = [u for u in unc_fail if u in with_finalizer]
        if len(keep) != len(unc_fail):
            st["failed"] = int(st.get("failed") or 0) + len(unc_fail) - len(keep)
            unc_fail, changed = keep, True
        return changed

    def write_uncounted() -> None:
        st["uncountedTerminatedPods"] = {k: v for k, v in (("succeeded", unc_succ), ("failed", unc_fail)) if v}

    if clean():
        needs = True
    policy = o.spec(j).get("podFailurePolicy")
    to_remove: list[Obj] = []
    new_indexes: list[int] = []
    reached_max = False
    is_success = finished is not None and finished["type"] in (SUCCESS_CRITERIA_MET, COMPLETE)
    for p in pods:
        uid = o.uid(p)
        if not has_tracking_finalizer(p) or uid in expected_rm:
            continue
        failed_pod = is_pod_failed(p, j)
        if not (o.deleting(j) or finished is not None or o.phase(p) == "Succeeded" or failed_pod):
            continue  # canRemoveFinalizer
        to_remove.append(p)
        if o.phase(p) == "Succeeded" and uid not in unc_fail:
            if indexed:
                ix = ju.completion_index(p)
                if ix != ju.UNKNOWN_INDEX and ix < completions and ix not in ju.interval_indexes(prev_idx):
                    new_indexes.append(ix)
                    needs = True
            elif uid not in unc_succ:
                needs = True
                unc_succ.append(uid)
        elif failed_pod or (finished is not None and not is_success):
            ix = ju.completion_index(p)
            if (uid not in unc_fail and (not indexed or (ix != ju.UNKNOWN_INDEX and ix < completions))
                    and ju.match_pod_failure_policy(policy, p)[1]):
                needs = True
                unc_fail.append(uid)
        if len(new_indexes) + len(unc_succ) + len(unc_fail) >= MAX_UNCOUNTED:
            reached_max = True
            break
    if indexed:
        succ_idx = ju.with_indexes(succ_idx, new_indexes)
        s_str = ju.intervals_string(succ_idx)
        if s_str != (st.get("completedIndexes") or ""):
            needs = True
        st["succeeded"] = ju.total(succ_idx)
        if s_str:
            st["completedIndexes"] = s_str
        else:
            st.pop("completedIndexes", None)
    conds: list[Obj] = st.setdefault("conditions", [])
    if finished is not None and finished["type"] == FAILURE_TARGET:
        conds.append(finished)
        needs = True
        finished = _cond(FAILED, "True", finished["reason"], finished["message"], now)
    if finished is not None and finished["type"] == SUCCESS_CRITERIA_MET:
        if find_condition(j, SUCCESS_CRITERIA_MET) is None:
            conds.append(finished)
            needs = True
        finished = _cond(COMPLETE, "True", finished["reason"], finished["message"], now)
    if not conds:
        del st["conditions"]
    write_uncounted()
    if needs:
        s.status_write()
        needs = False
    if to_remove:
        s.plan.expect_finalizers_removed = tuple(o.uid(p) for p in to_remove)
        for p in to_remove:
            s.res.add(remove_finalizer_patch(p))
            with_finalizer.discard(o.uid(p))
    if clean():
        needs = True
    write_uncounted()
    job_finished = False
    if not reached_max and finished is not None and not unc_succ and not unc_fail and terminating == 0:
        conds = st.setdefault("conditions", [])
        ensure_condition(conds, finished["type"], finished["status"], finished["reason"], finished["message"], now)
        if finished["type"] == COMPLETE:
            st["completionTime"] = o.rfc3339(now)
        job_finished = True
        needs = True
    if needs:
        s.status_write()
        if job_finished:
            s.plan.finished = True
            comp = _spec_int(j, "completions")
            if finished is not None and finished["type"] == COMPLETE:
                if comp is not None and int(st.get("succeeded") or 0) > comp:
                    s.res.add(event(j, WARNING, "TooManySucceededPods",
                                    "Too many succeeded pods running after completion count reached"))
                s.res.add(event(j, NORMAL, "Completed", "Job completed"))
            elif finished is not None:
                s.res.add(event(j, WARNING, finished["reason"], finished["message"]))


# ---------------------------------------------------------------------------------------------- TTL after finished


def ttl_expiry(job: Mapping[str, Any], now: float) -> tuple[bool, float | None]:
    """The TTL-after-finished controller's ``processTTL``: (delete now?, else seconds to wait)."""
    ttl = _spec_int(job, "ttlSecondsAfterFinished")
    if o.deleting(job) or ttl is None or not is_finished(job):
        return False, None
    done = finish_time(job)
    if done is None:
        return False, None
    left = done + ttl - now
    return (True, None) if left <= 0 else (False, left)


def ttl_delete(job: Mapping[str, Any]) -> Delete:
    """Foreground deletion with a UID precondition, so the pods go first."""
    return Delete(ref_of(job), propagation="Foreground", precondition_uid=o.uid(job))


def pod_for_index(job: Mapping[str, Any], index: int) -> Create:
    """A pod of an Indexed Job for ``index`` (used by tests and the CLI's dry runs)."""
    s = _Sync(job, 0.0)
    s.create_pods(1, [index])
    a = s.res.actions[0]
    assert isinstance(a, Create)
    return a
