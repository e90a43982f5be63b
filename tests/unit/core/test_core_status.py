from __future__ import annotations

from typing import Any

import pytest

from podbay.api.printing import human_duration, parse_rfc3339, pod_columns
from podbay.core.records import ContainerRecord, PodRuntimeView, Waiting
from podbay.core.status import (
    container_status,
    pod_status,
    qos_class,
    rfc3339,
)

T0 = parse_rfc3339("2026-11-22T01:00:00Z")


# kubectl's columns one at a time (api.printing computes them together)
def kubectl_status(p: dict[str, Any], now: float = 0.0) -> str:
    return pod_columns(p, now)[1]


def ready_column(p: dict[str, Any]) -> str:
    return pod_columns(p, 0.0)[0]


def restarts_column(p: dict[str, Any], now: float) -> str:
    return pod_columns(p, now)[2]


def pod_phase(p: dict[str, Any], v: PodRuntimeView) -> str:
    return str(pod_status(p, v, T0, "")["phase"])


def pod_conditions(p: dict[str, Any], v: PodRuntimeView, now: float) -> list[dict[str, Any]]:
    return list(pod_status(p, v, now, "")["conditions"])


def pod(containers: list[str], inits: list[str] = (), policy: str = "Always", **spec: Any) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "metadata": {"name": "p", "namespace": "default", "uid": "u1", "creationTimestamp": rfc3339(T0)},
        "spec": {"restartPolicy": policy,
                 "initContainers": [{"name": n, "image": "busybox"} for n in inits],
                 "containers": [{"name": n, "image": "busybox"} for n in containers], **spec},
    }


def run(name: str, attempt: int = 0, kind: str = "regular", started: float = T0 + 5) -> ContainerRecord:
    return ContainerRecord(id=f"{name}-{attempt}", pod_uid="u1", name=name, kind=kind, attempt=attempt,  # type: ignore[arg-type]
                           spec_hash="h", image="busybox", image_id="sha256:abc", state="running",
                           started_at=started)


def ex(name: str, code: int, attempt: int = 0, kind: str = "regular", finished: float = T0 + 10,
       reason: str = "") -> ContainerRecord:
    return ContainerRecord(id=f"{name}-{attempt}", pod_uid="u1", name=name, kind=kind, attempt=attempt,  # type: ignore[arg-type]
                           spec_hash="h", image="busybox", image_id="sha256:abc", state="exited", exit_code=code,
                           reason=reason, started_at=finished - 5, finished_at=finished)


def view(*records: ContainerRecord, waiting: dict[str, Waiting] | None = None, **kw: Any) -> PodRuntimeView:
    return PodRuntimeView(records=tuple(records), waiting=waiting or {}, pod_ip="10.88.0.2", sandbox_ready=True, **kw)


# --- container status ----------------------------------------------------------------------------


def test_status_running() -> None:
    s = container_status({"name": "a", "image": "busybox"}, view(run("a")), "regular")
    assert s == {
        "name": "a", "state": {"running": {"startedAt": "2026-11-22T01:00:05Z"}}, "lastState": {},
        "ready": True, "restartCount": 0, "image": "busybox", "imageID": "sha256:abc",
        "containerID": "podbay://a-0", "started": True,
    }


def test_status_no_record_defaults() -> None:
    s = container_status({"name": "a", "image": "i"}, view(), "regular")
    assert s["state"] == {"waiting": {"reason": "ContainerCreating"}} and "containerID" not in s
    s = container_status({"name": "a", "image": "i"}, view(), "regular", has_init=True)
    assert s["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert s["ready"] is False and s["started"] is False and s["restartCount"] == 0


def test_status_terminated_and_last_state() -> None:
    v = view(ex("a", 1, 0, finished=T0 + 10), ex("a", 0, 1, finished=T0 + 30))
    s = container_status({"name": "a", "image": "i"}, v, "regular", restart_policy="OnFailure")
    assert s["state"]["terminated"] == {"exitCode": 0, "reason": "Completed", "startedAt": "2026-11-22T01:00:25Z",
                                        "finishedAt": "2026-11-22T01:00:30Z", "containerID": "podbay://a-1"}
    assert s["lastState"]["terminated"]["exitCode"] == 1 and s["lastState"]["terminated"]["reason"] == "Error"
    assert s["restartCount"] == 1 and s["ready"] is False


def test_status_crashloop_waiting() -> None:
    w = Waiting("CrashLoopBackOff", "back-off 10s restarting failed container=a pod=p_default(u1)")
    v = view(ex("a", 1, 0), ex("a", 1, 1, reason="OOMKilled"), waiting={"a": w})
    s = container_status({"name": "a", "image": "i"}, v, "regular", restart_policy="Always")
    assert s["state"] == {"waiting": {"reason": "CrashLoopBackOff", "message": w.message}}
    assert s["lastState"]["terminated"]["reason"] == "OOMKilled"
    assert s["restartCount"] == 1


def test_waiting_ignored_when_no_restart_will_happen() -> None:
    w = Waiting("CrashLoopBackOff", "x")
    v = view(ex("a", 1), waiting={"a": w})
    s = container_status({"name": "a", "image": "i"}, v, "regular", restart_policy="Never")
    assert "terminated" in s["state"]
    # an init container that succeeded is never waiting again
    s = container_status({"name": "a", "image": "i"}, view(ex("a", 0, kind="init"), waiting={"a": w}), "init")
    assert "terminated" in s["state"] and s["ready"] is True


def test_status_err_image_pull() -> None:
    v = view(waiting={"a": Waiting("ErrImagePull", 'image "nope" not found')})
    s = container_status({"name": "a", "image": "nope"}, v, "regular")
    assert s["state"] == {"waiting": {"reason": "ErrImagePull", "message": 'image "nope" not found'}}


def test_readiness_probe() -> None:
    c = {"name": "a", "image": "i", "readinessProbe": {"exec": {"command": ["true"]}}}
    assert container_status(c, view(run("a")), "regular")["ready"] is False
    assert container_status(c, view(run("a")), "regular", ready=True)["ready"] is True


# --- phase ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "records", "expected"),
    [
        # SEMANTICS §6.1 conformance "Restart Policy, Pod Phases" end states
        ("Always", [ex("c", 1, 0), ex("c", 0, 1), run("c", 2)], "Running"),
        ("OnFailure", [ex("c", 1, 0), ex("c", 0, 1)], "Succeeded"),
        ("Never", [ex("c", 1, 0)], "Failed"),
        ("Always", [], "Pending"),
        ("Always", [run("c")], "Running"),
        ("Always", [ex("c", 0)], "Running"),         # Always never becomes Succeeded on its own
        ("OnFailure", [ex("c", 1)], "Running"),      # will restart
        ("Never", [ex("c", 0)], "Succeeded"),
    ],
)
def test_phase_single_container(policy: str, records: list[ContainerRecord], expected: str) -> None:
    assert pod_phase(pod(["c"], policy=policy), view(*records)) == expected


def test_phase_multi_container() -> None:
    p = pod(["main", "sub"], policy="Never")
    # §7.1 #15: one exited 0, the other running -> Running
    assert pod_phase(p, view(run("main"), ex("sub", 0))) == "Running"
    assert pod_phase(p, view(ex("main", 0), ex("sub", 1))) == "Failed"
    assert pod_phase(p, view(ex("main", 0), ex("sub", 0))) == "Succeeded"
    assert pod_phase(p, view(run("main"))) == "Pending"   # sub still ContainerCreating


def test_phase_crashloop_is_running_under_always() -> None:
    v = view(ex("c", 1, 0), ex("c", 1, 1), waiting={"c": Waiting("CrashLoopBackOff", "m")})
    assert pod_phase(pod(["c"]), v) == "Running"


def test_terminal_phase_sticks_and_evicted() -> None:
    p = pod(["c"], policy="Never")
    p["status"] = {"phase": "Failed"}
    assert pod_phase(p, view(run("c"))) == "Failed"
    st = pod_status(pod(["c"]), view(run("c"), terminal_reason="Evicted", terminal_message="Usage ..."), T0, "1.2.3.4")
    assert st["phase"] == "Failed" and st["reason"] == "Evicted" and st["message"] == "Usage ..."


# --- init containers (§6.3, §7.5) ----------------------------------------------------------------


def cond(conds: list[dict[str, Any]], t: str) -> dict[str, Any]:
    return next(c for c in conds if c["type"] == t)


def test_init_running_first() -> None:
    p = pod(["run1"], ["init1", "init2"])
    v = view(run("init1", kind="init"))
    st = pod_status(p, v, T0 + 20, "192.168.0.1")
    assert st["phase"] == "Pending"
    init = cond(st["conditions"], "Initialized")
    assert init["status"] == "False" and init["reason"] == "ContainersNotInitialized"
    assert init["message"] == "containers with incomplete status: [init1 init2]"
    assert init["lastTransitionTime"] == "2026-11-22T01:00:20Z"
    assert st["initContainerStatuses"][1]["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert st["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert kubectl_status({**p, "status": st}) == "Init:0/2"


def test_init_failure_restart_always_stays_pending() -> None:
    # §7.5 #30: init1 /bin/false keeps restarting
    p = pod(["run1"], ["init1", "init2"])
    w = Waiting("CrashLoopBackOff", "back-off 40s restarting failed container=init1 pod=p_default(u1)")
    v = view(*[ex("init1", 1, a, kind="init", finished=T0 + 10 * (a + 1)) for a in range(4)], waiting={"init1": w})
    st = pod_status(p, v, T0 + 100, "h")
    assert st["phase"] == "Pending"
    assert cond(st["conditions"], "Initialized")["message"] == "containers with incomplete status: [init1 init2]"
    i1, i2 = st["initContainerStatuses"]
    assert i1["restartCount"] == 3 and i1["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert i2["state"] == {"waiting": {"reason": "PodInitializing"}}
    app = st["containerStatuses"][0]
    assert app["state"] == {"waiting": {"reason": "PodInitializing"}} and app["restartCount"] == 0
    full = {**p, "status": st}
    assert kubectl_status(full) == "Init:CrashLoopBackOff"
    assert restarts_column(full, T0 + 100) == "3 (60s ago)"   # from lastState.finishedAt (T0 + 40)


def test_init_failure_never_fails_pod() -> None:
    # §7.5 #31: init1 true, init2 false, Never -> Failed, message lists [init2], app waiting
    p = pod(["run1"], ["init1", "init2"], policy="Never")
    v = view(ex("init1", 0, kind="init"), ex("init2", 1, kind="init", finished=T0 + 20))
    st = pod_status(p, v, T0 + 30, "h")
    assert st["phase"] == "Failed"
    init = cond(st["conditions"], "Initialized")
    assert init["status"] == "False" and init["message"] == "containers with incomplete status: [init2]"
    assert "waiting" in st["containerStatuses"][0]["state"]
    assert cond(st["conditions"], "Ready")["reason"] == "PodFailed"
    assert kubectl_status({**p, "status": st}) == "Init:Error"


def test_init_success_never_pod_succeeds() -> None:
    # §7.5 #28
    p = pod(["run1"], ["init1", "init2"], policy="Never")
    v = view(ex("init1", 0, kind="init"), ex("init2", 0, kind="init"), ex("run1", 0, finished=T0 + 30))
    st = pod_status(p, v, T0 + 40, "h")
    assert st["phase"] == "Succeeded"
    init = cond(st["conditions"], "Initialized")
    assert (init["status"], init["reason"]) == ("True", "PodCompleted")
    assert all(s["ready"] and s["state"]["terminated"]["exitCode"] == 0 for s in st["initContainerStatuses"])
    assert cond(st["conditions"], "Ready")["reason"] == "PodCompleted"
    assert kubectl_status({**p, "status": st}) == "Completed"


def test_init_success_always_running() -> None:
    # §7.5 #29
    p = pod(["run1"], ["init1", "init2"])
    v = view(ex("init1", 0, kind="init"), ex("init2", 0, kind="init"), run("run1"))
    st = pod_status(p, v, T0 + 40, "h")
    assert st["phase"] == "Running"
    assert cond(st["conditions"], "Initialized")["status"] == "True"
    assert cond(st["conditions"], "Ready")["status"] == "True"
    full = {**p, "status": st}
    assert (kubectl_status(full), ready_column(full), restarts_column(full, T0 + 40)) == ("Running", "1/1", "0")


def test_pod_initializing_status_string() -> None:
    # all init done, app container not yet created
    p = pod(["run1"], ["init1"])
    st = pod_status(p, view(ex("init1", 0, kind="init")), T0 + 40, "h")
    assert st["phase"] == "Pending"
    assert kubectl_status({**p, "status": st}) == "PodInitializing"


def test_sidecar_phase_and_ready() -> None:
    p = pod(["app"])
    p["spec"]["initContainers"] = [{"name": "side", "image": "i", "restartPolicy": "Always"}]
    p["spec"]["restartPolicy"] = "Never"
    # app done: Running until the agent has stopped the sidecar, then Succeeded whatever its exit code
    assert pod_status(p, view(run("side", kind="init"), ex("app", 0)), T0 + 40, "h")["phase"] == "Running"
    st = pod_status(p, view(ex("side", 137, kind="init"), ex("app", 0)), T0 + 40, "h")
    assert st["phase"] == "Succeeded"
    st = pod_status(p, view(run("side", kind="init"), run("app")), T0 + 40, "h")
    assert st["phase"] == "Running"
    full = {**p, "status": st}
    assert ready_column(full) == "2/2" and kubectl_status(full) == "Running"


# --- conditions and whole status -----------------------------------------------------------------


def test_conditions_order_and_transition_times() -> None:
    p = pod(["a", "b"])
    v = view(run("a"))
    conds = pod_conditions(p, v, T0)
    assert [c["type"] for c in conds] == ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                                          "PodScheduled"]
    ready = cond(conds, "Ready")
    assert ready["status"] == "False" and ready["reason"] == "ContainersNotReady"
    assert ready["message"] == "containers with unready status: [b]"
    assert all(c["lastTransitionTime"] == rfc3339(T0) for c in conds)
    # later: unchanged conditions keep their time, changed ones get the new time
    p["status"] = {"conditions": conds}
    later = pod_conditions(p, view(run("a"), run("b")), T0 + 60)
    assert cond(later, "Ready")["status"] == "True" and cond(later, "Ready")["lastTransitionTime"] == rfc3339(T0 + 60)
    assert cond(later, "PodScheduled")["lastTransitionTime"] == rfc3339(T0)


def test_pod_status_fields() -> None:
    p = pod(["a"])
    st = pod_status(p, view(run("a")), T0 + 1, "192.168.1.5")
    assert st["hostIP"] == "192.168.1.5" and st["hostIPs"] == [{"ip": "192.168.1.5"}]
    assert st["podIP"] == "10.88.0.2" and st["podIPs"] == [{"ip": "10.88.0.2"}]
    assert st["startTime"] == rfc3339(T0 + 1) and st["qosClass"] == "BestEffort"
    assert "initContainerStatuses" not in st
    p["status"] = st
    assert pod_status(p, view(run("a")), T0 + 100, "h")["startTime"] == rfc3339(T0 + 1)


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        ([{}], "BestEffort"),
        ([{"limits": {"cpu": "1", "memory": "1Gi"}}], "Guaranteed"),
        ([{"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}}], "Guaranteed"),
        ([{"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}}], "Burstable"),
        ([{"limits": {"cpu": "1", "memory": "1Gi"}}, {}], "Burstable"),
        ([{"requests": {"memory": "10Mi"}}], "Burstable"),
        ([{"limits": {"ephemeral-storage": "1Gi"}}], "BestEffort"),
    ],
)
def test_qos(resources: list[dict[str, Any]], expected: str) -> None:
    p = {"spec": {"containers": [{"name": f"c{i}", "resources": r} for i, r in enumerate(resources)]}}
    assert qos_class(p) == expected


# --- kubectl columns -----------------------------------------------------------------------------


def status_of(p: dict[str, Any], v: PodRuntimeView, now: float = T0 + 60) -> dict[str, Any]:
    return {**p, "status": pod_status(p, v, now, "h")}


@pytest.mark.parametrize(
    ("records", "waiting", "policy", "expected"),
    [
        ([], {}, "Always", "ContainerCreating"),
        ([], {"c": Waiting("ErrImagePull", "x")}, "Always", "ErrImagePull"),
        ([], {"c": Waiting("CreateContainerConfigError", "missing value for X")}, "Always", "CreateContainerConfigError"),
        ([run("c")], {}, "Always", "Running"),
        ([ex("c", 0)], {}, "Never", "Completed"),
        ([ex("c", 1)], {}, "Never", "Error"),
        ([ex("c", 137, reason="OOMKilled")], {}, "Never", "OOMKilled"),
        ([ex("c", 1, 0), ex("c", 1, 1)], {"c": Waiting("CrashLoopBackOff", "m")}, "Always", "CrashLoopBackOff"),
    ],
)
def test_kubectl_status(records: list[ContainerRecord], waiting: dict[str, Waiting], policy: str, expected: str) -> None:
    assert kubectl_status(status_of(pod(["c"], policy=policy), view(*records, waiting=waiting))) == expected


def test_kubectl_completed_with_running_sibling() -> None:
    p = pod(["main", "sub"], policy="Never")
    full = status_of(p, view(run("main"), ex("sub", 0)))
    # kubectl walks containers last to first: sub's "Completed", main running and ready -> NotReady/Running
    assert kubectl_status(full) == "NotReady"   # pod Ready is False because sub is not ready
    assert ready_column(full) == "1/2"


def test_kubectl_terminating() -> None:
    full = status_of(pod(["c"]), view(run("c")))
    full["metadata"]["deletionTimestamp"] = rfc3339(T0 + 50)
    assert kubectl_status(full) == "Terminating"
    done = status_of(pod(["c"], policy="Never"), view(ex("c", 0)))
    done["metadata"]["deletionTimestamp"] = rfc3339(T0 + 50)
    assert kubectl_status(done) == "Completed"


def test_restarts_column() -> None:
    v = view(ex("c", 1, 0, finished=T0 + 10), ex("c", 1, 1, finished=T0 + 30), run("c", 2, started=T0 + 40))
    full = status_of(pod(["c"]), v)
    assert restarts_column(full, T0 + 30 + 300) == "2 (5m ago)"
    assert restarts_column(full, T0 + 30 + 65) == "2 (65s ago)"
    assert restarts_column(status_of(pod(["c"]), view(run("c"))), T0) == "0"


@pytest.mark.parametrize(
    ("secs", "expected"),
    [(-5, "<invalid>"), (-1, "0s"), (0, "0s"), (5, "5s"), (119, "119s"), (120, "2m"), (150, "2m30s"),
     (182, "3m2s"), (600, "10m"), (179 * 60, "179m"), (3 * 3600 - 1, "179m"), (3 * 3600, "3h"),
     (3 * 3600 + 60, "3h1m"), (3 * 3600 + 120, "3h2m"), (8 * 3600, "8h"), (47 * 3600, "47h"), (48 * 3600, "2d"),
     (50 * 3600, "2d2h"), (8 * 86400, "8d"), (10 * 86400, "10d"), (800 * 86400, "2y70d"),
     (9 * 365 * 86400, "9y")],
)
def test_human_duration(secs: int, expected: str) -> None:
    assert human_duration(secs) == expected


# --- pod_columns on pods as the API returns them (the CLI's table prints these) ----------------------

NOW = parse_rfc3339("2024-01-01T12:00:00Z")


def ago(seconds: int) -> str:
    return rfc3339(NOW - seconds)


def api_pod(*containers: str, phase: str = "Running", ready: bool = True, restarts: int = 0) -> dict[str, Any]:
    statuses = [{"name": c, "ready": ready, "restartCount": restarts, "state": {"running": {"startedAt": ago(63)}}}
                for c in containers or ("app",)]
    return {
        "metadata": {"name": "p", "namespace": "default", "creationTimestamp": ago(65)},
        "spec": {"containers": [{"name": c} for c in containers or ("app",)], "restartPolicy": "Always"},
        "status": {"phase": phase, "containerStatuses": statuses,
                   "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def _waiting(reason: str) -> dict[str, Any]:
    return {"waiting": {"reason": reason}}


def test_columns_running_and_restarts_with_last_termination() -> None:
    p = api_pod(restarts=2)
    p["status"]["containerStatuses"][0]["lastState"] = {"terminated": {"exitCode": 1, "finishedAt": ago(300)}}
    assert pod_columns(p, NOW) == ("1/1", "Running", "2 (5m ago)")


def test_columns_crashloop_and_ready_counts() -> None:
    p = api_pod("a", "b")
    p["status"]["containerStatuses"][1].update(ready=False, state=_waiting("CrashLoopBackOff"))
    assert pod_columns(p, NOW)[:2] == ("1/2", "CrashLoopBackOff")


def test_columns_init_progress_and_init_failure() -> None:
    p = api_pod(phase="Pending", ready=False)
    p["spec"]["initContainers"] = [{"name": "i1"}, {"name": "i2"}]
    p["status"]["containerStatuses"][0]["state"] = _waiting("PodInitializing")
    p["status"]["initContainerStatuses"] = [
        {"name": "i1", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
        {"name": "i2", "restartCount": 0, "state": {"running": {}}},
    ]
    assert pod_columns(p, NOW)[1] == "Init:1/2"
    p["status"]["initContainerStatuses"][1]["state"] = _waiting("CrashLoopBackOff")
    assert pod_columns(p, NOW)[1] == "Init:CrashLoopBackOff"
    p["status"]["initContainerStatuses"][1]["state"] = {"terminated": {"exitCode": 3}}
    assert pod_columns(p, NOW)[1] == "Init:ExitCode:3"


def test_columns_completed_and_terminating() -> None:
    p = api_pod(phase="Succeeded", ready=False)
    p["status"]["containerStatuses"][0]["state"] = {"terminated": {"exitCode": 0, "reason": "Completed"}}
    assert pod_columns(p, NOW) == ("0/1", "Completed", "0")
    p = api_pod()
    p["metadata"]["deletionTimestamp"] = ago(0)
    assert pod_columns(p, NOW)[1] == "Terminating"
