"""Cron schedules (robfig/cron v3 semantics) and the CronJob controller."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest

from podbay.api import cron
from podbay.core.controllers import cronjob as cjc
from podbay.core.controllers import objects as o
from podbay.core.controllers.plan import Create, Delete, Update, resolve_created

Obj = dict[str, Any]
UTC = dt.UTC


def at(s: str, tz: dt.tzinfo = UTC) -> dt.datetime:
    return dt.datetime.fromisoformat(s).replace(tzinfo=tz)


def nexts(spec: str, start: str, n: int = 3, tz: dt.tzinfo = UTC) -> list[str]:
    sched = cron.parse_standard(spec)
    t: dt.datetime | None = at(start, tz)
    out = []
    for _ in range(n):
        assert t is not None
        t = sched.next(t)
        assert t is not None
        out.append(t.isoformat())
    return out


@pytest.mark.parametrize(("spec", "start", "want"), [
    ("*/1 * * * *", "2024-01-01T00:00:30", ["2024-01-01T00:01:00+00:00", "2024-01-01T00:02:00+00:00", "2024-01-01T00:03:00+00:00"]),
    ("*/15 * * * *", "2024-01-01T00:14:00", ["2024-01-01T00:15:00+00:00", "2024-01-01T00:30:00+00:00", "2024-01-01T00:45:00+00:00"]),
    ("5 4 * * *", "2024-01-01T00:00:00", ["2024-01-01T04:05:00+00:00", "2024-01-02T04:05:00+00:00", "2024-01-03T04:05:00+00:00"]),
    ("0 9-17/4 * * MON-FRI", "2024-01-05T16:00:00", ["2024-01-05T17:00:00+00:00", "2024-01-08T09:00:00+00:00", "2024-01-08T13:00:00+00:00"]),
    ("0 0 1,15 * *", "2024-02-02T00:00:00", ["2024-02-15T00:00:00+00:00", "2024-03-01T00:00:00+00:00", "2024-03-15T00:00:00+00:00"]),
    ("0 0 13 * 5", "2024-09-01T00:00:00", ["2024-09-06T00:00:00+00:00", "2024-09-13T00:00:00+00:00", "2024-09-20T00:00:00+00:00"]),  # dom OR dow
    ("0 0 * * 5", "2024-09-01T00:00:00", ["2024-09-06T00:00:00+00:00", "2024-09-13T00:00:00+00:00", "2024-09-20T00:00:00+00:00"]),
    ("0 0 29 2 *", "2024-03-01T00:00:00", ["2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00", "2036-02-29T00:00:00+00:00"]),
    ("@hourly", "2024-01-01T10:30:00", ["2024-01-01T11:00:00+00:00", "2024-01-01T12:00:00+00:00", "2024-01-01T13:00:00+00:00"]),
    ("@daily", "2024-01-01T10:30:00", ["2024-01-02T00:00:00+00:00", "2024-01-03T00:00:00+00:00", "2024-01-04T00:00:00+00:00"]),
    ("@midnight", "2024-01-01T10:30:00", ["2024-01-02T00:00:00+00:00", "2024-01-03T00:00:00+00:00", "2024-01-04T00:00:00+00:00"]),
    ("@weekly", "2024-01-01T10:30:00", ["2024-01-07T00:00:00+00:00", "2024-01-14T00:00:00+00:00", "2024-01-21T00:00:00+00:00"]),
    ("@monthly", "2024-01-15T00:00:00", ["2024-02-01T00:00:00+00:00", "2024-03-01T00:00:00+00:00", "2024-04-01T00:00:00+00:00"]),
    ("@yearly", "2024-06-01T00:00:00", ["2025-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00"]),
    ("@annually", "2024-06-01T00:00:00", ["2025-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00"]),
    ("@every 90s", "2024-01-01T00:00:00.5", ["2024-01-01T00:01:30+00:00", "2024-01-01T00:03:00+00:00", "2024-01-01T00:04:30+00:00"]),
    ("@every 1h30m", "2024-01-01T00:00:00", ["2024-01-01T01:30:00+00:00", "2024-01-01T03:00:00+00:00", "2024-01-01T04:30:00+00:00"]),
    ("0 12 ? * sun", "2024-01-01T00:00:00", ["2024-01-07T12:00:00+00:00", "2024-01-14T12:00:00+00:00", "2024-01-21T12:00:00+00:00"]),
    ("0 0 1 jan,jul *", "2024-02-01T00:00:00", ["2024-07-01T00:00:00+00:00", "2025-01-01T00:00:00+00:00", "2025-07-01T00:00:00+00:00"]),
    ("30 5/6 * * *", "2024-01-01T00:00:00", ["2024-01-01T05:30:00+00:00", "2024-01-01T11:30:00+00:00", "2024-01-01T17:30:00+00:00"]),
])
def test_next_times(spec: str, start: str, want: list[str]) -> None:
    assert nexts(spec, start) == want


def test_time_zones_and_dst() -> None:
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    assert nexts("TZ=Europe/Berlin 0 9 * * *", "2024-01-01T00:00:00", 1) == ["2024-01-01T08:00:00+00:00"]
    assert nexts("CRON_TZ=America/New_York 0 9 * * *", "2024-07-01T00:00:00", 1) == ["2024-07-01T13:00:00+00:00"]
    # the spring-forward gap: 02:30 does not exist on 2024-03-31 in Berlin, and robfig/cron skips it
    assert nexts("30 2 * * *", "2024-03-30T12:00:00", 2, berlin) == ["2024-04-01T02:30:00+02:00", "2024-04-02T02:30:00+02:00"]
    # a schedule without a zone runs in the time given (the controller's local zone)
    assert nexts("0 0 * * *", "2024-01-01T12:00:00", 1, berlin) == ["2024-01-02T00:00:00+01:00"]


@pytest.mark.parametrize(("spec", "err"), [
    ("", "empty spec string"),
    ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
    ("* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]"),
    ("60 * * * *", "end of range (60) above maximum (59): 60"),
    ("* 24 * * *", "end of range (24) above maximum (23): 24"),
    ("* * 0 * *", "beginning of range (0) below minimum (1): 0"),
    ("* * * * 7", "end of range (7) above maximum (6): 7"),
    ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
    ("*/0 * * * *", "step of range should be a positive number: */0"),
    ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
    ("*/2/3 * * * *", "too many slashes: */2/3"),
    ("x * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'),
    ("@fortnightly", "unrecognized descriptor: @fortnightly"),
    ("@every 5", 'failed to parse duration @every 5: time: missing unit in duration "5"'),
    ("@every 1d", 'failed to parse duration @every 1d: time: unknown unit "d" in duration "1d"'),
    ("TZ=Mars/Base 0 * * * *", "provided bad location Mars/Base: unknown time zone Mars/Base"),
])
def test_parse_errors(spec: str, err: str) -> None:
    with pytest.raises(cron.CronError) as exc:
        cron.parse_standard(spec)
    assert str(exc.value) == err


# ---------------------------------------------------------------------------------------------- the controller

T0 = dt.datetime(2024, 1, 1, tzinfo=UTC).timestamp()


def cronjob(**spec: Any) -> Obj:
    return {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "hello", "namespace": "default", "uid": "cj1", "creationTimestamp": o.rfc3339(T0)},
            "spec": {"schedule": "*/1 * * * *", "concurrencyPolicy": "Allow", "suspend": False,
                     "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
                     "jobTemplate": {"metadata": {"labels": {"team": "a"}},
                                     "spec": {"template": {"spec": {"restartPolicy": "OnFailure",
                                                                    "containers": [{"name": "c", "image": "busybox"}]}}}},
                     **spec}}


def job(name: str, uid: str, done: str | None = None, start: float = T0) -> Obj:
    conds = [{"type": done, "status": "True", "lastTransitionTime": o.rfc3339(start + 5)}] if done else []
    st: Obj = {"startTime": o.rfc3339(start), "conditions": conds}
    if done == "Complete":
        st["completionTime"] = o.rfc3339(start + 5)
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": "default", "uid": uid, "resourceVersion": "7",
                         "ownerReferences": [{"kind": "CronJob", "name": "hello", "uid": "cj1", "controller": True}]},
            "status": st}


def test_creates_the_job_for_the_latest_unmet_time() -> None:
    now = T0 + 150  # 00:02:30: 00:01 and 00:02 are due
    res = cjc.sync_cron_job(cronjob(), [], now)
    (create,) = [a for a in res.actions if isinstance(a, Create)]
    body = create.body
    assert body["metadata"]["name"] == f"hello-{int(T0 + 120) // 60}"
    assert body["metadata"]["labels"] == {"team": "a"}
    assert body["metadata"]["annotations"] == {"batch.kubernetes.io/cronjob-scheduled-timestamp": "2024-01-01T00:02:00Z"}
    assert body["metadata"]["ownerReferences"][0]["uid"] == "cj1"
    assert body["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure"
    assert create.outcome is not None and create.outcome.success == ("SuccessfulCreate", "Created job {name}")
    (upd,) = [a for a in res.actions if isinstance(a, Update)]
    st = resolve_created(upd.body, {("Job", body["metadata"]["name"]): {"metadata": {"uid": "j1", "resourceVersion": "9"}}})["status"]
    assert st["lastScheduleTime"] == "2024-01-01T00:02:00Z"
    assert st["active"] == [{"kind": "Job", "namespace": "default", "name": body["metadata"]["name"], "uid": "j1",
                             "apiVersion": "batch/v1", "resourceVersion": "9"}]
    assert res.requeue_after == pytest.approx(30.1)


def test_nothing_due_requeues_for_the_next_slot() -> None:
    res = cjc.sync_cron_job(cronjob(), [], T0 + 30)
    assert [a for a in res.actions if isinstance(a, Create)] == []
    assert res.requeue_after == pytest.approx(30.1)


def test_scheduled_time_in_the_cronjobs_time_zone() -> None:
    cj = cronjob(schedule="0 1 * * *", timeZone="Europe/Berlin")
    cj["metadata"]["creationTimestamp"] = o.rfc3339(T0 - 7200)
    res = cjc.sync_cron_job(cj, [], T0 + 3600)
    (create,) = [a for a in res.actions if isinstance(a, Create)]
    assert create.body["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] == "2024-01-01T01:00:00+01:00"
    assert create.body["metadata"]["name"] == f"hello-{int(T0) // 60}"


def test_forbid_skips_while_a_job_runs_and_replace_deletes_it() -> None:
    running = job("hello-1", "j1")
    active = {"lastScheduleTime": o.rfc3339(T0 + 60), "active": [cjc.job_ref(running)]}
    forbid = cronjob(concurrencyPolicy="Forbid")
    forbid["status"] = active
    res = cjc.sync_cron_job(forbid, [running], T0 + 125)
    assert not [a for a in res.actions if isinstance(a, Create)]
    assert [(e.reason, e.message) for e in res.events()] == [
        ("JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid")]
    replace = cronjob(concurrencyPolicy="Replace")
    replace["status"] = active
    res = cjc.sync_cron_job(replace, [running], T0 + 125)
    deletes = [a for a in res.actions if isinstance(a, Delete)]
    assert [(d.target.name, d.propagation) for d in deletes] == [("hello-1", "Background")]
    assert len([a for a in res.actions if isinstance(a, Create)]) == 1


def test_history_limits_delete_the_oldest_finished_jobs() -> None:
    jobs = [job(f"hello-{i}", f"j{i}", "Complete", start=T0 + i) for i in range(5)]
    jobs += [job("hello-f1", "f1", "Failed", start=T0), job("hello-f2", "f2", "Failed", start=T0 + 1)]
    cj = cronjob(suspend=True)
    res = cjc.sync_cron_job(cj, jobs, T0 + 30)
    deleted = [a.target.name for a in res.actions if isinstance(a, Delete)]
    assert deleted == ["hello-0", "hello-1", "hello-f1"]
    (upd,) = [a for a in res.actions if isinstance(a, Update)]
    assert upd.body["status"]["lastSuccessfulTime"] == o.rfc3339(T0 + 4 + 5)


def test_completed_job_leaves_the_active_list() -> None:
    done = job("hello-1", "j1", "Complete")
    cj = cronjob(suspend=True)
    cj["status"] = {"active": [cjc.job_ref(done)]}
    res = cjc.sync_cron_job(cj, [done], T0 + 30)
    (upd,) = [a for a in res.actions if isinstance(a, Update)]
    assert "active" not in upd.body["status"]
    assert [(e.reason, e.message) for e in res.events()] == [("SawCompletedJob", "Saw completed job: hello-1, condition: Complete")]


def test_missing_active_job_is_dropped() -> None:
    cj = cronjob(suspend=True)
    cj["status"] = {"active": [{"kind": "Job", "name": "gone", "namespace": "default", "uid": "gone"}]}
    res = cjc.sync_cron_job(cj, [], T0 + 30)
    assert [(e.reason, e.message) for e in res.events()] == [("MissingJob", "Active job went missing: gone")]


def test_starting_deadline() -> None:
    cj = cronjob(schedule="0 * * * *", startingDeadlineSeconds=10)
    cj["metadata"]["creationTimestamp"] = o.rfc3339(T0 - 600)
    res = cjc.sync_cron_job(cj, [], T0 + 60)  # 00:00 was due a minute ago: past the deadline, skipped
    assert not [a for a in res.actions if isinstance(a, Create)]
    assert res.requeue_after == pytest.approx(3540.1)
    res = cjc.sync_cron_job(cj, [], T0 + 5)
    assert len([a for a in res.actions if isinstance(a, Create)]) == 1


def test_too_many_missed_start_times_still_runs_the_latest() -> None:
    res = cjc.sync_cron_job(cronjob(), [], T0 + 200 * 60 + 5)
    assert ("TooManyMissedTimes", "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew") in [
        (e.reason, e.message) for e in res.events()]
    (create,) = [a for a in res.actions if isinstance(a, Create)]
    assert create.body["metadata"]["name"] == f"hello-{int(T0) // 60 + 200}"


def test_already_scheduled_time_is_not_repeated() -> None:
    cj = cronjob()
    cj["status"] = {"lastScheduleTime": o.rfc3339(T0 + 60)}
    assert not [a for a in cjc.sync_cron_job(cj, [], T0 + 90).actions if isinstance(a, Create)]


def test_bad_time_zone_and_schedule_events() -> None:
    res = cjc.sync_cron_job(cronjob(timeZone="Mars/Base"), [], T0 + 90)
    assert [(e.reason, e.message) for e in res.events()] == [("UnknownTimeZone", 'invalid timeZone: "Mars/Base": unknown time zone Mars/Base')]
    res = cjc.sync_cron_job(cronjob(schedule="59 23 31 2 *"), [], T0 + 90)
    assert [e.reason for e in res.events()] == ["InvalidSchedule"] or not res.events()
