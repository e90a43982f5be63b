"""compute_pod_actions / restart_backoff: the kubelet's computePodActions as table tests."""

from __future__ import annotations

from typing import Any

import pytest

from podbay.core.actions import (
    KillReason,
    PodActions,
    ProbeState,
    StartFailure,
    compute_pod_actions,
    failure_retry_delay,
    should_restart,
)
from podbay.core.hashing import container_hash
from podbay.core.records import ContainerKind, ContainerRecord, RunState
from podbay.core.restart import BackoffEntry

T0 = 1_000_000.0
H = container_hash({"name": "c", "image": "busybox"})


def pod(containers: list[str], inits: list[str] | None = None, policy: str = "Always",
        sidecars: tuple[str, ...] = ()) -> dict[str, Any]:
    spec: dict[str, Any] = {"restartPolicy": policy,
                            "containers": [{"name": n, "image": "busybox"} for n in containers]}
    if inits:
        spec["initContainers"] = [
            {"name": n, "image": "busybox", **({"restartPolicy": "Always"} if n in sidecars else {})}
            for n in inits
        ]
    return {"metadata": {"name": "web", "namespace": "default", "uid": "u1"}, "spec": spec}


def rec(name: str, attempt: int = 0, state: RunState = "running", code: int | None = None,
        created: float = T0, finished: float | None = None, kind: ContainerKind = "regular",
        entry: BackoffEntry | None = None) -> ContainerRecord:
    return ContainerRecord(
        id=f"{name}-{attempt}", pod_uid="u1", name=name, kind=kind, attempt=attempt,
        spec_hash=container_hash({"name": name, "image": "busybox"}),
        image="busybox", state=state, exit_code=code, created_at=created, started_at=created,
        finished_at=finished, backoff=entry.delay if entry else 0.0, backoff_at=entry.updated if entry else 0.0,
    )


def exited(name: str, attempt: int, created: float, ran: float, code: int = 1,
           kind: ContainerKind = "regular", entry: BackoffEntry | None = None) -> ContainerRecord:
    return rec(name, attempt, "exited", code, created, created + ran, kind, entry)


def crash_history(name: str, n: int, ran: float = 1.0, kind: ContainerKind = "regular") -> list[ContainerRecord]:
    """n crashed attempts, each restarted as soon as the plan allowed, carrying the plan's back-off entry."""
    p = pod([name]) if kind == "regular" else pod(["app"], inits=[name], sidecars=(name,))
    out: list[ContainerRecord] = []
    t = T0
    entry: BackoffEntry | None = None
    for i in range(n):
        out.append(exited(name, i, t, ran, kind=kind, entry=entry))
        finished = t + ran
        a = compute_pod_actions(p, out, {}, finished)
        start = a.wake_at if a.wake_at is not None and name not in (a.start + (a.start_init,)) else finished
        a = compute_pod_actions(p, out, {}, start)
        assert name in a.start or a.start_init == name
        entry = a.backoff.get(name)
        t = start
    return out


def delay_after(history: list[ContainerRecord], p: dict[str, Any] | None = None) -> float | None:
    """The back-off the plan applies right after the last exit of ``history`` (None: restart now)."""
    last = history[-1]
    assert last.finished_at is not None
    a = compute_pod_actions(p or pod([last.name]), history, {}, last.finished_at)
    if last.name in a.start or a.start_init == last.name:
        return None
    assert a.wake_at is not None
    return a.wake_at - last.finished_at


# --- should_restart ---------------------------------------------------------------------------

@pytest.mark.parametrize(("policy", "code", "want"), [
    ("Always", 0, True), ("Always", 1, True), ("Always", None, True),
    ("OnFailure", 0, False), ("OnFailure", 2, True), ("OnFailure", None, True),
    ("Never", 0, False), ("Never", 137, False),
])
def test_should_restart(policy: str, code: int | None, want: bool) -> None:
    assert should_restart(policy, code) is want


# --- back-off (doBackOff over flowcontrol.Backoff) ------------------------------------------------

def test_backoff_sequence_doubles_to_cap() -> None:
    delays = [delay_after(crash_history("c", n)) for n in range(1, 10)]
    assert delays == [None, 10, 20, 40, 80, 160, 300, 300, 300]


def test_backoff_resets_after_a_long_run() -> None:
    hist = crash_history("c", 5)                 # back-off now 80 s
    last = hist[-1]
    assert last.finished_at is not None
    t = last.finished_at + 80.0
    a = compute_pod_actions(pod(["c"]), hist, {}, t)
    entry = a.backoff["c"]
    assert entry.delay == 160
    hist.append(exited("c", 5, t, 601.0, entry=entry))   # ran > 2 x 300 s: stable
    assert delay_after(hist) is None                     # immediate restart
    a = compute_pod_actions(pod(["c"]), hist, {}, t + 601.0)
    assert a.backoff["c"] == BackoffEntry(10.0, t + 601.0)


def test_backoff_not_reset_by_a_run_of_exactly_600s() -> None:
    hist = crash_history("c", 3)                 # 20 s
    last = hist[-1]
    assert last.finished_at is not None
    a = compute_pod_actions(pod(["c"]), hist, {}, last.finished_at + 20.0)
    hist.append(exited("c", 3, last.finished_at + 20.0, 600.0, entry=a.backoff["c"]))
    assert delay_after(hist) == 40


def test_a_new_image_starts_a_fresh_backoff() -> None:
    hist = crash_history("c", 4)                 # would wait 40 s
    p = pod(["c"])
    p["spec"]["containers"][0]["image"] = "busybox:1.36"
    assert delay_after(hist, p) is None
    last = hist[-1]
    assert last.finished_at is not None
    assert compute_pod_actions(p, hist, {}, last.finished_at).backoff["c"].delay == 10


# --- first start --------------------------------------------------------------------------------

def test_first_start_starts_all_regular_containers() -> None:
    a = compute_pod_actions(pod(["a", "b", "c"]), [], {}, T0)
    assert a == PodActions(start=("a", "b", "c"))
    assert a.kill == {} and not a.kill_pod


def test_running_containers_need_nothing() -> None:
    recs = [rec("a"), rec("b", state="created")]
    a = compute_pod_actions(pod(["a", "b"]), recs, {}, T0 + 5)
    assert a.start == () and a.start_init is None and not a.all_done and a.wake_at is None


# --- init containers ----------------------------------------------------------------------------

def test_init_containers_start_one_at_a_time_in_order() -> None:
    p = pod(["app"], inits=["i1", "i2"])
    assert compute_pod_actions(p, [], {}, T0) == PodActions(start_init="i1")
    running = [rec("i1", kind="init")]
    a = compute_pod_actions(p, running, {}, T0 + 1)
    assert a.start_init is None and a.start == () and not a.all_done
    done1 = [exited("i1", 0, T0, 1, code=0, kind="init")]
    assert compute_pod_actions(p, done1, {}, T0 + 2).start_init == "i2"
    done2 = done1 + [exited("i2", 0, T0 + 2, 1, code=0, kind="init")]
    a = compute_pod_actions(p, done2, {}, T0 + 4)
    assert a.start_init is None and a.start == ("app",)


def test_init_failure_under_never_fails_the_pod() -> None:
    p = pod(["app"], inits=["i1", "i2"], policy="Never")
    a = compute_pod_actions(p, [exited("i1", 0, T0, 1, code=2, kind="init")], {}, T0 + 2)
    assert a.init_failed and a.all_done and a.start == () and a.start_init is None


@pytest.mark.parametrize("policy", ["Always", "OnFailure"])
def test_init_failure_restarts_with_crashloop_backoff(policy: str) -> None:
    p = pod(["app"], inits=["i1"], policy=policy)
    first = [exited("i1", 0, T0, 1, kind="init")]
    a = compute_pod_actions(p, first, {}, T0 + 1)
    assert a.start_init == "i1" and not a.init_failed        # first crash: immediate
    second = first + [exited("i1", 1, T0 + 1, 1, kind="init", entry=a.backoff["i1"])]  # finished at T0 + 2
    a = compute_pod_actions(p, second, {}, T0 + 3)
    assert a.start_init is None and a.start == ()
    assert a.wake_at == T0 + 2 + 10
    assert a.waiting["i1"].reason == "CrashLoopBackOff"
    assert a.waiting["i1"].message == "back-off 10s restarting failed container=i1 pod=web_default(u1)"
    a = compute_pod_actions(p, second, {}, T0 + 12)
    assert a.start_init == "i1"
    third = second + [exited("i1", 2, T0 + 12, 1, kind="init", entry=a.backoff["i1"])]  # finished at T0 + 13
    a = compute_pod_actions(p, third, {}, T0 + 14)
    assert a.wake_at == T0 + 13 + 20 and a.waiting["i1"].reason == "CrashLoopBackOff"


def test_sidecar_init_starts_and_next_init_runs_beside_it() -> None:
    p = pod(["app"], inits=["proxy", "setup"], sidecars=("proxy",))
    assert compute_pod_actions(p, [], {}, T0).start_init == "proxy"
    side = rec("proxy", kind="init")
    assert compute_pod_actions(p, [side], {}, T0 + 1).start_init == "setup"
    setup_done = exited("setup", 0, T0 + 1, 1, code=0, kind="init")
    a = compute_pod_actions(p, [side, setup_done], {}, T0 + 3)
    assert a.start == ("app",) and a.start_init is None


def test_sidecar_restarts_even_after_exit_zero_under_never() -> None:
    p = pod(["app"], inits=["proxy"], sidecars=("proxy",), policy="Never")
    recs = [exited("proxy", 0, T0, 1, code=0, kind="init"), rec("app", created=T0 + 1)]
    assert compute_pod_actions(p, recs, {}, T0 + 2).start_init == "proxy"


# --- regular containers: restart policies -----------------------------------------------------

@pytest.mark.parametrize(("policy", "code", "restarts"), [
    ("Always", 0, True), ("Always", 1, True),
    ("OnFailure", 0, False), ("OnFailure", 1, True),
    ("Never", 0, False), ("Never", 1, False),
])
def test_restart_policy_for_regular_containers(policy: str, code: int, restarts: bool) -> None:
    p = pod(["a"], policy=policy)
    a = compute_pod_actions(p, [exited("a", 0, T0, 5, code=code)], {}, T0 + 6)
    assert a.start == (("a",) if restarts else ())
    assert a.all_done is (not restarts)


def test_crashloop_for_regular_container_and_other_containers_unaffected() -> None:
    p = pod(["a", "b"])
    hist = crash_history("a", 3)  # back-off 20 s after the last exit
    last = hist[-1]
    assert last.finished_at is not None
    a = compute_pod_actions(p, [*hist, rec("b")], {}, last.finished_at + 5)
    assert a.start == () and a.wake_at == last.finished_at + 20
    assert a.waiting["a"].reason == "CrashLoopBackOff" and "back-off 20s" in a.waiting["a"].message
    assert not a.all_done
    a = compute_pod_actions(p, [*hist, rec("b")], {}, last.finished_at + 20)
    assert a.start == ("a",) and a.waiting == {}


def test_all_done_when_nothing_will_run_again() -> None:
    p = pod(["a", "b"], policy="OnFailure")
    recs = [exited("a", 0, T0, 1, code=0), exited("b", 0, T0, 2, code=0)]
    assert compute_pod_actions(p, recs, {}, T0 + 3).all_done
    # one still running: not done
    assert not compute_pod_actions(p, [recs[0], rec("b")], {}, T0 + 3).all_done


# --- start failures (no attempt made) -----------------------------------------------------------

def test_err_image_pull_then_image_pull_backoff() -> None:
    p = pod(["a"])
    f1 = StartFailure("ErrImagePull", "image not found", 1, T0)
    a = compute_pod_actions(p, [], {"a": f1}, T0 + 1)
    # The pull failure itself showed ErrImagePull (the worker's result); waiting inside the back-off is
    # ImagePullBackOff, as in the kubelet (EnsureImageExists: IsInBackOffSince -> ErrImagePullBackOff).
    assert a.start == () and a.waiting["a"].reason == "ImagePullBackOff" and a.wake_at == T0 + 10
    assert compute_pod_actions(p, [], {"a": f1}, T0 + 10).start == ("a",)
    f2 = StartFailure("ErrImagePull", "image not found", 2, T0 + 10)
    a = compute_pod_actions(p, [], {"a": f2}, T0 + 11)
    assert a.waiting["a"].reason == "ImagePullBackOff" and a.waiting["a"].message == "image not found"
    assert a.wake_at == T0 + 10 + 20
    assert not a.all_done


@pytest.mark.parametrize(("reason", "count", "delay"), [
    ("ErrImagePull", 1, 10), ("ErrImagePull", 3, 40), ("ErrImagePull", 9, 300),
    ("CreateContainerConfigError", 1, 1), ("CreateContainerConfigError", 4, 8),
    ("CreateContainerConfigError", 10, 30),
])
def test_failure_retry_delay(reason: str, count: int, delay: float) -> None:
    assert failure_retry_delay(StartFailure(reason, "m", count, T0)) == delay


def test_start_failure_of_init_container_blocks_the_rest() -> None:
    p = pod(["app"], inits=["i1"])
    f = StartFailure("CreateContainerConfigError", 'secret "s" not found', 1, T0)
    a = compute_pod_actions(p, [], {"i1": f}, T0 + 0.5)
    assert a.start_init is None and a.start == ()
    assert a.waiting["i1"].reason == "CreateContainerConfigError" and a.wake_at == T0 + 1


def test_start_failure_after_crashloop_expired_keeps_waiting() -> None:
    p = pod(["a"])
    hist = crash_history("a", 2)
    last = hist[-1]
    assert last.finished_at is not None
    now = last.finished_at + 10  # back-off over
    f = StartFailure("CreateContainerError", "boom", 2, now - 0.5)
    a = compute_pod_actions(p, hist, {"a": f}, now)
    assert a.start == () and a.waiting["a"].reason == "CreateContainerError" and a.wake_at == now - 0.5 + 2


def test_sidecar_backoff_does_not_hold_back_regular_restarts() -> None:
    p = pod(["app"], inits=["proxy"], sidecars=("proxy",))
    hist = crash_history("proxy", 3, kind="init")   # proxy waits 20 s
    last = hist[-1]
    assert last.finished_at is not None
    app = exited("app", 0, T0, 5)                    # app's first crash: restart now
    a = compute_pod_actions(p, [*hist, app], {}, last.finished_at + 1)
    assert a.start == ("app",) and a.start_init is None
    assert a.waiting["proxy"].reason == "CrashLoopBackOff" and a.wake_at == last.finished_at + 20


def test_sidecar_restarts_alongside_regular_containers_once_initialized() -> None:
    p = pod(["app"], inits=["proxy", "logs"], sidecars=("proxy", "logs"))
    recs = [exited("proxy", 0, T0, 1, kind="init"), exited("logs", 0, T0, 1, kind="init"),
            exited("app", 0, T0, 1)]
    a = compute_pod_actions(p, recs, {}, T0 + 2)
    assert a.start_init == "proxy" and a.start == ("app",)
    assert a.wake_at == T0 + 2  # "logs" is due too: resync at once


def test_sidecar_not_restarted_when_regular_containers_are_done() -> None:
    p = pod(["app"], inits=["proxy"], sidecars=("proxy",), policy="Never")
    recs = [exited("proxy", 0, T0, 1, kind="init"), exited("app", 0, T0, 1, code=0)]
    a = compute_pod_actions(p, recs, {}, T0 + 2)
    assert a.all_done and a.start_init is None and a.start == ()


# --- kills ----------------------------------------------------------------------------------------

def test_liveness_failure_kills_and_restarts_at_once() -> None:
    p = pod(["a"])
    r = rec("a")
    a = compute_pod_actions(p, [r], {}, T0 + 30, {r.id: ProbeState(liveness_failed=True)})
    assert a.kill == {"a": KillReason("Container a failed liveness probe, will be restarted", "LivenessProbe", True)}
    assert a.start == ("a",)


def test_liveness_failure_under_never_kills_without_restart() -> None:
    p = pod(["a"], policy="Never")
    r = rec("a")
    a = compute_pod_actions(p, [r], {}, T0 + 30, {r.id: ProbeState(liveness_failed=True)})
    assert a.kill == {"a": KillReason("Container a failed liveness probe", "LivenessProbe", False)}
    assert a.start == () and a.kill_pod        # nothing else runs: the pod is finished (KillPod)
    b = compute_pod_actions(pod(["a", "b"], policy="Never"), [r, rec("b")], {}, T0 + 30,
                            {r.id: ProbeState(liveness_failed=True)})
    assert b.kill["a"].restart is False and not b.kill_pod


def test_startup_failure_kills_and_restarts() -> None:
    p = pod(["a"])
    r = rec("a")
    a = compute_pod_actions(p, [r], {}, T0 + 30, {r.id: ProbeState(started=False, startup_failed=True)})
    assert a.kill["a"].message == "Container a failed startup probe, will be restarted"


def test_a_second_liveness_restart_follows_the_backoff() -> None:
    """doBackOff looks at the newest *exited* attempt: the first liveness restart is immediate, one
    that comes sooner than the entry after the previous one waits."""
    p = pod(["a"])
    entry = BackoffEntry(10.0, T0 + 20)
    old = exited("a", 0, T0, 20.0)
    r = rec("a", 1, created=T0 + 20, entry=entry)
    a = compute_pod_actions(p, [old, r], {}, T0 + 25, {r.id: ProbeState(liveness_failed=True)})
    assert "a" in a.kill and a.start == () and a.waiting["a"].reason == "CrashLoopBackOff"
    a = compute_pod_actions(p, [old, r], {}, T0 + 31, {r.id: ProbeState(liveness_failed=True)})
    assert a.start == ("a",) and a.backoff["a"].delay == 20


def test_definition_change_always_restarts_even_under_never() -> None:
    p = pod(["a"], policy="Never")
    p["spec"]["containers"][0]["image"] = "busybox:1.36"
    a = compute_pod_actions(p, [rec("a")], {}, T0 + 5)
    assert a.kill == {"a": KillReason("Container a definition changed, will be restarted", "", True)}
    assert a.start == ("a",)


def test_sidecar_liveness_failure_uses_the_init_container_wording() -> None:
    p = pod(["app"], inits=["proxy"], sidecars=("proxy",))
    side = rec("proxy", kind="init")
    a = compute_pod_actions(p, [side, rec("app")], {}, T0 + 5, {side.id: ProbeState(liveness_failed=True)})
    assert a.kill == {"proxy": KillReason("Init container proxy failed liveness probe", "LivenessProbe", True)}
    assert a.start_init == "proxy"


def test_sidecar_startup_probe_holds_back_the_next_init_container() -> None:
    p = pod(["app"], inits=["proxy", "setup"], sidecars=("proxy",))
    side = rec("proxy", kind="init")
    a = compute_pod_actions(p, [side], {}, T0 + 1, {side.id: ProbeState(started=False)})
    assert a.start_init is None and a.start == ()
    a = compute_pod_actions(p, [side], {}, T0 + 2, {side.id: ProbeState(started=True)})
    assert a.start_init == "setup"


def test_kill_pod_when_main_done_with_a_running_sidecar() -> None:
    """Regression (issue 10): restartPolicy Never, main exited 0, the sidecar kept the pod Running."""
    p = pod(["app"], inits=["proxy"], sidecars=("proxy",), policy="Never")
    recs = [rec("proxy", kind="init"), exited("app", 0, T0, 1, code=0)]
    a = compute_pod_actions(p, recs, {}, T0 + 2)
    assert a.kill_pod and a.start == () and a.start_init is None
