"""The Job controller against the simulated cluster: completions, parallelism, back-off, Indexed
mode, suspend, deadlines, pod failure and success policies, finalizers, TTL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from ctrlsim import World

from podbay.core.controllers import job as jc
from podbay.core.controllers import job_util as ju
from podbay.core.controllers import objects as o
from podbay.core.controllers.plan import Delete, Update

Obj = dict[str, Any]


def make_job(w: World, name: str = "pi", **spec: Any) -> Obj:
    body: Obj = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": "default"},
                 "spec": {"backoffLimit": 6, "completionMode": "NonIndexed", "suspend": False,
                          "podReplacementPolicy": "TerminatingOrFailed",
                          "template": {"metadata": {"labels": {}},
                                       "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}},
                          **spec}}
    body["spec"].setdefault("parallelism", 1)
    if "completions" not in spec and "parallelism" not in spec:
        body["spec"]["completions"] = 1
    made = w.create(body)
    uid = made["metadata"]["uid"]
    labels = {ju.JOB_NAME_LABEL: name, ju.LEGACY_JOB_NAME_LABEL: name, ju.CONTROLLER_UID_LABEL: uid,
              ju.LEGACY_CONTROLLER_UID_LABEL: uid}
    stored = w.objs[("Job", "default", name)]
    stored["spec"]["selector"] = {"matchLabels": {ju.CONTROLLER_UID_LABEL: uid}}
    stored["spec"]["template"]["metadata"]["labels"].update(labels)
    return stored


def run(w: World, outcome: Callable[[Obj], str], steps: int = 60, dt: float = 1.0) -> None:
    for _ in range(steps):
        w.now += dt
        w.sync_jobs()
        w.run_pods(outcome)


def status(w: World, name: str = "pi") -> Obj:
    return dict(w.get("Job", name)["status"])  # type: ignore[index]


def conds(w: World, name: str = "pi") -> list[tuple[str, str, str, str]]:
    return [(c["type"], c["status"], c["reason"], c["message"]) for c in status(w, name).get("conditions", [])]


def test_completions_five_parallelism_two_completes() -> None:
    w = World()
    make_job(w, completions=5, parallelism=2)
    most = 0

    def outcome(p: Obj) -> str:
        return "Succeeded"

    for _ in range(40):
        w.now += 1
        w.sync_jobs()
        live = [p for p in w.list("Pod") if o.is_active(p)]
        most = max(most, len(live))
        w.run_pods(outcome)
    assert most == 2
    st = status(w)
    assert st["succeeded"] == 5 and st["active"] == 0 and st.get("failed", 0) == 0
    assert conds(w) == [("SuccessCriteriaMet", "True", "CompletionsReached", "Reached expected number of succeeded pods"),
                        ("Complete", "True", "CompletionsReached", "Reached expected number of succeeded pods")]
    assert st["completionTime"] and st["startTime"]
    assert st["uncountedTerminatedPods"] == {}
    assert st["ready"] == 0 and st["terminating"] == 0
    assert all(ju.JOB_TRACKING_FINALIZER not in o.finalizers(p) for p in w.list("Pod"))
    assert ("pi", "Normal", "Completed", "Job completed") in w.events
    pod = w.list("Pod")[0]
    assert pod["metadata"]["generateName"] == "pi-"
    assert pod["metadata"]["labels"][ju.JOB_NAME_LABEL] == "pi"
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "Job"


def test_backoff_limit_exceeded_with_exponential_delays() -> None:
    w = World()
    make_job(w, backoffLimit=2)
    created: list[float] = []
    seen: set[str] = set()
    for _ in range(120):
        w.now += 1
        w.sync_jobs()
        for p in w.list("Pod"):
            if o.name(p) not in seen:
                seen.add(o.name(p))
                created.append(w.now)
        w.run_pods(lambda p: "Failed")
    assert len(created) == 3
    # the pod fails a second after it starts; the next one waits 10 s, then 20 s
    assert [round(b - a) for a, b in zip(created, created[1:], strict=False)] == [11, 21]
    st = status(w)
    assert st["failed"] == 3 and st["active"] == 0
    assert conds(w) == [("FailureTarget", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
                        ("Failed", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit")]
    assert "completionTime" not in st
    assert ("pi", "Warning", "BackoffLimitExceeded", "Job has reached the specified backoff limit") in w.events


@pytest.mark.parametrize(("failures", "elapsed", "want"), [
    (0, 0, 0.0), (1, 0, 10.0), (1, 4, 6.0), (2, 0, 20.0), (3, 0, 40.0), (6, 0, 320.0), (7, 0, 600.0), (20, 0, 600.0),
    (1, 11, 0.0),
])
def test_remaining_backoff(failures: int, elapsed: float, want: float) -> None:
    rec = ju.BackoffRecord(failures, 1000.0)
    assert ju.remaining_backoff(rec, 1000.0 + elapsed) == want


def test_backoff_record_resets_on_success() -> None:
    def fin(t: float, name: str = "x") -> Obj:
        return {"metadata": {"name": name}, "status": {"containerStatuses": [
            {"state": {"terminated": {"finishedAt": o.rfc3339(t)}}}]}}
    rec = ju.new_backoff_record(None, [], [fin(10), fin(20)])
    assert rec == ju.BackoffRecord(2, 20.0)
    assert ju.new_backoff_record(rec, [fin(30)], []) == ju.BackoffRecord()
    assert ju.new_backoff_record(rec, [fin(30)], [fin(25), fin(40)]) == ju.BackoffRecord(1, 40.0)


def test_indexed_job_gives_each_pod_its_index() -> None:
    w = World()
    make_job(w, completions=3, parallelism=3, completionMode="Indexed")
    w.now += 1
    w.sync_jobs()
    pods = sorted(w.list("Pod"), key=ju.completion_index)
    assert [ju.completion_index(p) for p in pods] == [0, 1, 2]
    for i, p in enumerate(pods):
        assert p["metadata"]["annotations"][ju.COMPLETION_INDEX] == str(i)
        assert p["metadata"]["labels"][ju.COMPLETION_INDEX] == str(i)
        assert p["metadata"]["generateName"] == f"pi-{i}-"
        assert p["spec"]["hostname"] == f"pi-{i}"
        assert p["spec"]["containers"][0]["env"] == [{"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
            "apiVersion": "v1", "fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}}]
    run(w, lambda p: "Failed" if ju.completion_index(p) == 1 and status(w).get("failed", 0) == 0 else "Succeeded")
    st = status(w)
    assert st["completedIndexes"] == "0-2" and st["succeeded"] == 3 and st["failed"] == 1
    assert conds(w)[-1][0] == "Complete"


def test_intervals_string_and_parse() -> None:
    iv = ju.intervals_from_indexes([1, 3, 4, 5, 7, 9, 10])
    assert ju.intervals_string(iv) == "1,3-5,7,9,10"
    assert ju.parse_indexes("1,3-5,7,9,10", 11) == iv
    assert ju.parse_indexes("0-100", 3) == [(0, 2)]
    assert ju.pod_generate_name_with_index("x" * 60, 12) == "x" * 54 + "-12-"


def test_suspend_deletes_pods_and_resume_resets_start_time() -> None:
    w = World()
    make_job(w, completions=2, parallelism=2)
    w.now += 1
    w.sync_jobs()
    w.run_pods(lambda p: "Running")
    w.objs[("Job", "default", "pi")]["spec"]["suspend"] = True
    run(w, lambda p: "Running", steps=3)
    assert [p for p in w.list("Pod") if o.is_active(p)] == []
    assert ("Suspended", "True", "JobSuspended", "Job suspended") in conds(w)
    assert status(w).get("failed", 0) == 0  # deleted by suspension, not failures
    start = status(w)["startTime"]
    w.objs[("Job", "default", "pi")]["spec"]["suspend"] = False
    w.now += 100
    run(w, lambda p: "Succeeded", steps=10)
    assert ("Suspended", "False", "JobResumed", "Job resumed") in conds(w)
    assert status(w)["startTime"] != start
    assert conds(w)[-1][0] == "Complete"
    assert ("pi", "Normal", "Suspended", "Job suspended") in w.events
    assert ("pi", "Normal", "Resumed", "Job resumed") in w.events


def test_active_deadline() -> None:
    w = World()
    make_job(w, activeDeadlineSeconds=5)
    w.now += 1
    plan = jc.sync_job(w.get("Job", "pi"), [], w.now)  # type: ignore[arg-type]
    assert plan.result.requeue_after == pytest.approx(5)
    run(w, lambda p: "Running", steps=20)
    assert conds(w)[-1] == ("Failed", "True", "DeadlineExceeded", "Job was active longer than specified deadline")
    assert [p for p in w.list("Pod") if o.is_active(p)] == []


def test_work_queue_job_without_completions() -> None:
    w = World()
    make_job(w, parallelism=3)
    run(w, lambda p: "Succeeded", steps=10)
    st = status(w)
    assert st["succeeded"] == 3 and conds(w)[-1][0] == "Complete"


def test_pod_failure_policy_fail_job_and_ignore() -> None:
    w = World()
    policy = {"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
                        {"action": "FailJob", "onExitCodes": {"containerName": "c", "operator": "In", "values": [1]}}]}
    make_job(w, podFailurePolicy=policy, podReplacementPolicy="Failed")
    run(w, lambda p: "Failed", steps=10)
    (pod,) = w.list("Pod")
    msg = f"Container c for pod default/{o.name(pod)} failed with exit code 1 matching FailJob rule at index 1"
    assert conds(w) == [("FailureTarget", "True", "PodFailurePolicy", msg), ("Failed", "True", "PodFailurePolicy", msg)]
    disrupted = {"metadata": {"name": "p", "namespace": "default"},
                 "status": {"phase": "Failed", "conditions": [{"type": "DisruptionTarget", "status": "True"}]}}
    assert ju.match_pod_failure_policy(policy, disrupted) == (None, False, "Ignore")
    other = {"metadata": {"name": "p"}, "status": {"phase": "Failed", "containerStatuses": [
        {"name": "c", "state": {"terminated": {"exitCode": 2}}}]}}
    assert ju.match_pod_failure_policy(policy, other) == (None, True, None)


def test_success_policy() -> None:
    iv = ju.intervals_from_indexes([0, 2])
    assert ju.match_success_policy({"rules": [{"succeededIndexes": "0,2"}]}, 5, iv) == "Matched rules at index 0"
    assert ju.match_success_policy({"rules": [{"succeededIndexes": "0-3", "succeededCount": 2}]}, 5, iv) == "Matched rules at index 0"
    assert ju.match_success_policy({"rules": [{"succeededIndexes": "1"}, {"succeededCount": 2}]}, 5, iv) == "Matched rules at index 1"
    assert ju.match_success_policy({"rules": [{"succeededCount": 3}]}, 5, iv) is None


def test_adoption_adds_the_tracking_finalizer() -> None:
    w = World()
    stored = make_job(w)
    labels = dict(stored["spec"]["template"]["metadata"]["labels"])
    w.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "orphan", "namespace": "default", "labels": labels},
              "spec": {"containers": [{"name": "c", "image": "busybox"}]}, "status": {"phase": "Running"}})
    w.now += 1
    w.sync_jobs()
    orphan = w.get("Pod", "orphan")
    assert orphan is not None
    assert orphan["metadata"]["ownerReferences"][0]["uid"] == stored["metadata"]["uid"]
    assert orphan["metadata"]["finalizers"] == [ju.JOB_TRACKING_FINALIZER]
    assert status(w)["active"] == 1
    assert len(w.list("Pod")) == 1  # the adopted pod fills parallelism 1


def test_ttl_after_finished() -> None:
    j = {"metadata": {"uid": "u"}, "spec": {"ttlSecondsAfterFinished": 30},
         "status": {"conditions": [{"type": "Complete", "status": "True", "lastTransitionTime": o.rfc3339(1000)}]}}
    assert jc.ttl_expiry(j, 1010) == (False, 20.0)
    assert jc.ttl_expiry(j, 1031) == (True, None)
    d = jc.ttl_delete(j)
    assert d.propagation == "Foreground" and d.precondition_uid == "u"
    assert jc.ttl_expiry({"spec": {}, "status": j["status"]}, 2000) == (False, None)


def test_finished_job_is_left_alone() -> None:
    j = {"metadata": {"name": "x", "namespace": "default", "uid": "u"}, "spec": {"completions": 1},
         "status": {"conditions": [{"type": "Failed", "status": "True"}]}}
    plan = jc.sync_job(j, [], 0.0)
    assert plan.finished and plan.result.actions == []


def test_managed_by_another_controller_is_skipped() -> None:
    j = {"metadata": {"name": "x", "namespace": "default", "uid": "u"}, "spec": {"managedBy": "example.com/mine"}}
    assert jc.sync_job(j, [], 0.0).result.actions == []


def test_restart_policy_on_failure_counts_container_restarts() -> None:
    job = {"metadata": {"name": "x", "namespace": "default", "uid": "u"},
           "spec": {"backoffLimit": 2, "completions": 1, "parallelism": 1, "selector": {"matchLabels": {"a": "b"}},
                    "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"restartPolicy": "OnFailure"}}},
           "status": {"startTime": "2024-01-01T00:00:00Z"}}
    pod = {"metadata": {"name": "x-1", "namespace": "default", "uid": "p", "labels": {"a": "b"},
                        "finalizers": [ju.JOB_TRACKING_FINALIZER],
                        "ownerReferences": [{"kind": "Job", "name": "x", "uid": "u", "controller": True}]},
           "status": {"phase": "Running", "containerStatuses": [{"name": "c", "restartCount": 2}]}}
    assert jc.past_backoff_limit_on_failure(job, [pod])
    plan = jc.sync_job(job, [pod], 1_704_067_300.0)
    writes = plan.result.writes()
    assert [a.target.name for a in writes if isinstance(a, Delete)] == ["x-1"]
    statuses = [a.body["status"] for a in writes if isinstance(a, Update) and a.subresource == "status"]
    assert [(c["type"], c["reason"]) for c in statuses[0]["conditions"]] == [("FailureTarget", "BackoffLimitExceeded")]
    assert statuses[0]["terminating"] == 1  # the Failed condition waits until the pod is gone
