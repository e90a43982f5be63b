"""The CronJob controller (pkg/controller/cronjob: cronjob_controllerv2.go ``sync`` /
``syncCronJob`` / ``cleanupFinishedJobs``, utils.go ``mostRecentScheduleTime``,
``nextScheduleTime``, ``getJobFromTemplate2``) as one pure pass over the CronJob and its Jobs."""

from __future__ import annotations

import copy
import datetime as _dt
from collections.abc import Mapping, Sequence
from typing import Any

from podbay.api import cron
from podbay.core.controllers import objects as o
from podbay.core.controllers.job import finish_time, is_finished
from podbay.core.controllers.plan import (
    NORMAL,
    WARNING,
    Create,
    Delete,
    Outcome,
    Result,
    Update,
    created_field,
    event,
    ref_of,
)

Obj = dict[str, Any]
Job = Mapping[str, Any]

SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"
NEXT_SCHEDULE_DELTA = 0.1
NONE_MISSED, FEW_MISSED, MANY_MISSED = 0, 1, 2


def _dt_of(t: float) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(t, tz=_dt.UTC)


def format_schedule(cj: Mapping[str, Any]) -> str:
    """``formatSchedule``: the schedule with ``TZ=<timeZone>`` prepended when one is set."""
    sched = str(o.spec(cj).get("schedule") or "")
    if "TZ" in sched:
        return sched
    tz = o.spec(cj).get("timeZone")
    if tz is not None:
        return f"TZ={tz} {sched}"
    return sched


def most_recent_schedule_time(cj: Mapping[str, Any], now: float, sched: cron.Schedule, local: _dt.tzinfo,
                              include_deadline: bool) -> tuple[float, float | None, int]:
    """``mostRecentScheduleTime``: (earliest time considered, latest unmet time ≤ now, missed count class).

    Raises CronError for a schedule whose two next times are less than a second apart (e.g. a
    February 31st that never comes)."""
    earliest = o.created(cj)
    last = o.parse_time(o.status(cj).get("lastScheduleTime"))
    if last is not None:
        earliest = last
    sds = o.spec(cj).get("startingDeadlineSeconds")
    if include_deadline and isinstance(sds, int):
        earliest = max(earliest, now - sds)
    start = _dt_of(earliest).astimezone(local)
    t1 = sched.next(start)
    if t1 is None:
        return earliest, None, NONE_MISSED
    t2 = sched.next(t1)
    nowdt = _dt_of(now)
    if nowdt < t1:
        return earliest, None, NONE_MISSED
    if t2 is None or nowdt < t2:
        return earliest, t1.timestamp(), NONE_MISSED
    between = round((t2 - t1).total_seconds())
    if between < 1:
        raise cron.CronError("time difference between two schedules is less than 1 second")
    elapsed = int((nowdt - t1).total_seconds())
    missed = elapsed // between + 1
    recent: _dt.datetime | None = None
    t: _dt.datetime | None = sched.next(t1 + _dt.timedelta(seconds=(missed - 2) * between))
    while t is not None and t <= nowdt:
        recent = t
        t = sched.next(t)
    kind = MANY_MISSED if missed > 100 else FEW_MISSED if missed > 0 else NONE_MISSED
    return earliest, (recent.timestamp() if recent is not None else None), kind


def next_schedule_delay(cj: Mapping[str, Any], now: float, sched: cron.Schedule, local: _dt.tzinfo) -> float | None:
    """``nextScheduleTimeDuration``: seconds until the next slot (+100 ms)."""
    try:
        earliest, recent, missed = most_recent_schedule_time(cj, now, sched, local, False)
    except cron.CronError:
        earliest, recent, missed = now, now, NONE_MISSED
    if recent is None:
        recent = earliest if missed == NONE_MISSED else now
    nxt = sched.next(_dt_of(recent).astimezone(local))
    if nxt is None:
        return None
    return nxt.timestamp() + NEXT_SCHEDULE_DELTA - now


def job_name(cj: Mapping[str, Any], scheduled: float) -> str:
    """``getJobName``: ``<cronjob>-<scheduled time in minutes since the epoch>``."""
    return f"{o.name(cj)}-{int(scheduled) // 60}"


def job_from_template(cj: Mapping[str, Any], scheduled: float) -> Obj:
    """``getJobFromTemplate2``: labels/annotations from the jobTemplate, the scheduled-timestamp
    annotation (RFC 3339 in the CronJob's time zone, UTC without one), the controller reference."""
    jt = o.spec(cj).get("jobTemplate") or {}
    jmeta = jt.get("metadata") or {}
    annotations = dict(jmeta.get("annotations") or {})
    tz = cron.load_location(str(o.spec(cj).get("timeZone") or ""))
    annotations[SCHEDULED_TIMESTAMP] = _dt_of(scheduled).astimezone(tz).isoformat().replace("+00:00", "Z")
    md: Obj = {"name": job_name(cj, scheduled), "namespace": o.namespace(cj), "annotations": annotations,
               "ownerReferences": [o.controller_ref(cj)]}
    if jmeta.get("labels"):
        md["labels"] = dict(jmeta["labels"])
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": md, "spec": copy.deepcopy(dict(jt.get("spec") or {}))}


def job_ref(job: Mapping[str, Any]) -> Obj:
    """``ref.GetReference`` of a Job, as listed in ``status.active``."""
    ref: Obj = {"kind": "Job", "namespace": o.namespace(job), "name": o.name(job), "uid": o.uid(job),
                "apiVersion": "batch/v1"}
    rv = o.meta(job).get("resourceVersion")
    if rv:
        ref["resourceVersion"] = rv
    return ref


def _finished_type(job: Job) -> str | None:
    for c in o.status(job).get("conditions") or []:
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return str(c["type"])
    return None


def _by_start_time(jobs: Sequence[Job]) -> list[Job]:
    def key(j: Job) -> tuple[int, float, str]:
        st = o.parse_time(o.status(j).get("startTime"))
        return (0 if st is not None else 1, st or 0.0, o.name(j))
    return sorted(jobs, key=key)


def owned_jobs(cj: Mapping[str, Any], jobs: Sequence[Job]) -> list[Job]:
    """``getJobsToBeReconciled``: Jobs whose controller reference is this CronJob."""
    return [j for j in jobs if o.is_controlled_by(j, cj)]


class _Sync:
    def __init__(self, cj: Mapping[str, Any], now: float, local: _dt.tzinfo) -> None:
        self.cj: Obj = copy.deepcopy(dict(cj))
        self.cj.setdefault("status", {})
        self.now = now
        self.local = local
        self.result = Result()
        self.update = False

    def active(self) -> list[Obj]:
        return list(self.cj["status"].get("active") or [])

    def remove_active(self, uid: str) -> None:
        act = [r for r in self.active() if r.get("uid") != uid]
        if act:
            self.cj["status"]["active"] = act
        else:
            self.cj["status"].pop("active", None)

    def delete_job(self, job: Job) -> None:
        """``deleteJob``: background deletion and the active-list entry."""
        out = Outcome(ref_of(self.cj), ("SuccessfulDelete", f"Deleted job {o.name(job)}"), ("FailedDelete", "Deleted job: {error}"))
        self.result.add(Delete(ref_of(job), propagation="Background", outcome=out))
        self.remove_active(o.uid(job))
        self.update = True

    def cleanup_finished(self, jobs: Sequence[Job]) -> None:
        spec = o.spec(self.cj)
        for ftype, key in (("Complete", "successfulJobsHistoryLimit"), ("Failed", "failedJobsHistoryLimit")):
            limit = spec.get(key)
            if not isinstance(limit, int):
                continue
            done = [j for j in jobs if _finished_type(j) == ftype]
            for j in _by_start_time(done)[: max(0, len(done) - limit)]:
                self.delete_job(j)

    def sync(self, jobs: Sequence[Job]) -> None:
        cj = self.cj
        st = cj["status"]
        children = {o.uid(j) for j in jobs}
        for j in jobs:
            found = any(r.get("uid") == o.uid(j) for r in self.active())
            if not found and not is_finished(j):
                self.result.add(event(cj, WARNING, "UnexpectedJob",
                                      f"Saw a job that the controller did not create or forgot: {o.name(j)}"))
            elif found and is_finished(j):
                self.remove_active(o.uid(j))
                self.result.add(event(cj, NORMAL, "SawCompletedJob",
                                      f"Saw completed job: {o.name(j)}, condition: {_finished_type(j)}"))
                self.update = True
            elif is_finished(j):
                done = o.parse_time(o.status(j).get("completionTime"))
                last = o.parse_time(st.get("lastSuccessfulTime"))
                if done is not None and (last is None or done > last):
                    st["lastSuccessfulTime"] = o.status(j)["completionTime"]
                    self.update = True
        for ref in self.active():
            if ref.get("uid") not in children:
                self.result.add(event(cj, NORMAL, "MissingJob", f"Active job went missing: {ref.get('name')}"))
                self.remove_active(str(ref.get("uid")))
                self.update = True
        if o.deleting(cj):
            return
        spec = o.spec(cj)
        tz = spec.get("timeZone")
        if tz is not None:
            try:
                cron.load_location(str(tz))
            except cron.CronError as exc:
                self.result.add(event(cj, WARNING, "UnknownTimeZone", f'invalid timeZone: "{tz}": {exc}'))
                return
        if spec.get("suspend") is True:
            return
        if "TZ" in str(spec.get("schedule") or ""):
            self.result.add(event(cj, WARNING, "UnsupportedSchedule",
                                  f'CRON_TZ or TZ used in schedule "{spec.get("schedule")}" is not officially supported, '
                                  "see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details"))
        try:
            sched = cron.parse_standard(format_schedule(cj))
        except cron.CronError as exc:
            self.result.add(event(cj, WARNING, "UnparseableSchedule", f'unparseable schedule: "{spec.get("schedule")}" : {exc}'))
            return
        try:
            _, scheduled, missed = most_recent_schedule_time(cj, self.now, sched, self.local, True)
        except cron.CronError as exc:
            self.result.add(event(cj, WARNING, "InvalidSchedule", f"invalid schedule: {spec.get('schedule')} : {exc}"))
            return
        if scheduled is not None and scheduled > self.now:
            scheduled = None
        if scheduled is not None and missed == MANY_MISSED:
            self.result.add(event(cj, WARNING, "TooManyMissedTimes",
                                  "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew"))

        def requeue() -> None:
            d = next_schedule_delay(cj, self.now, sched, self.local)
            if d is not None:
                self.result.requeue(d)

        if scheduled is None:
            requeue()
            return
        sds = spec.get("startingDeadlineSeconds")
        if isinstance(sds, int) and scheduled + sds < self.now:
            when = _dt_of(scheduled).strftime("%a, %d %b %Y %H:%M:%S +0000")
            self.result.add(event(cj, WARNING, "MissSchedule", f"Missed scheduled time to start a job: {when}"))
            requeue()
            return
        name = job_name(cj, scheduled)
        if any(r.get("name") == name for r in self.active()) or o.parse_time(st.get("lastScheduleTime")) == float(int(scheduled)):
            requeue()
            return
        policy = spec.get("concurrencyPolicy") or "Allow"
        if policy == "Forbid" and self.active():
            self.result.add(event(cj, NORMAL, "JobAlreadyActive",
                                  "Not starting job because prior execution is running and concurrency policy is Forbid"))
            requeue()
            return
        if policy == "Replace":
            by_uid = {o.uid(j): j for j in jobs}
            for ref in self.active():
                victim = by_uid.get(str(ref.get("uid")))
                if victim is not None:
                    self.delete_job(victim)
        body = job_from_template(cj, scheduled)
        out = Outcome(ref_of(cj), ("SuccessfulCreate", "Created job {name}"), ("FailedCreate", "Error creating job: {error}"))
        self.result.add(Create(body, out))
        # the reference names the Job this plan creates; the executor fills in its uid
        st["active"] = [*self.active(), {
            "kind": "Job", "namespace": o.namespace(cj), "name": name,
            "uid": created_field("Job", name, "uid"), "apiVersion": "batch/v1",
            "resourceVersion": created_field("Job", name, "resourceVersion")}]
        st["lastScheduleTime"] = o.rfc3339(scheduled)
        self.update = True
        requeue()


def sync_cron_job(cj: Mapping[str, Any], jobs: Sequence[Job], now: float, local: _dt.tzinfo = _dt.UTC) -> Result:
    """``ControllerV2.sync`` for one CronJob, given the Jobs of its namespace; ``local`` is the
    controller's own time zone (``time.Local``), used when the CronJob sets none."""
    s = _Sync(cj, now, local)
    mine = owned_jobs(s.cj, jobs)
    s.cleanup_finished(mine)
    remaining = [j for j in mine if any(r.get("uid") == o.uid(j) for r in s.active()) or not _deleted(s, j)]
    s.sync(remaining)
    if s.update:
        s.result.add(Update(copy.deepcopy(s.cj), "status"))  # after the create, as upstream writes it
    return s.result


def _deleted(s: _Sync, job: Job) -> bool:
    return any(isinstance(a, Delete) and a.target.uid == o.uid(job) for a in s.result.actions)


__all__ = ["finish_time", "job_name", "job_from_template", "sync_cron_job", "most_recent_schedule_time"]
