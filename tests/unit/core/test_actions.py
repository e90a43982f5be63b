"""compute_pod_actions / restart_backoff: the kubelet's computePodActions as table tests."""

from __future__ import annotations

from typing import Any

import pytest

from podbay.core.actions import (
    PodActions,
    StartFailure,
    compute_pod_actions,
    failure_retry_delay,
    restart_backoff,
    should_restart,
)
from podbay.core.records import ContainerKind, ContainerRecord, RunState

T0 = 1_000_000.0


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
        created: float = T0, finished: float | None = None, kind: ContainerKind = "regular") -> ContainerRecord:
    return ContainerRecord(
        id=f"{name}-{attempt}", pod_uid="u1", name=name, kind=kind, attempt=attempt, spec_hash="h",
        image="busybox", state=state, exit_code=code, created_at=created, started_at=created,
        finished_at=finished,
    )


def exited(name: str, attempt: int, created: float, ran: float, code: int = 1,
           kind: ContainerKind = "regular") -> ContainerRecord:
    return rec(name, attempt, "exited", code, created, created + ran, kind)


def crash_history(name: str, n: int, ran: float = 1.0, kind: ContainerKind = "regular") -> list[ContainerRecord]:
    """n crashed attempts, each restarted exactly when its back-off expired (as the agent would)."""
    out: list[ContainerRecord] = []
    t = T0
    for i in range(n):
        r = exited(name, i, t, ran, kind=kind)
        out.append(r)
        assert r.finished_at is not None
        t = r.finished_at + (restart_backoff(out) or 0.0)
    return out


# --- should_restart ---------------------------------------------------------------------------

@pytest.mark.parametrize(("policy", "code", "want"), [
    ("Always", 0, True), ("Always", 1, True), ("Always", None, True),
    ("OnFailure", 0, False), ("OnFailure", 2, True), ("OnFailure", None, True),
    ("Never", 0, False), ("Never", 137, False),
])
def test_should_restart(policy: str, code: int | None, want: bool) -> None:
    assert should_restart(policy, code) is want


# --- restart_backoff --------------------------------------------------------------------------

def test_backoff_sequence_doubles_to_cap() -> None:
    delays = [restart_backoff(crash_history("c", n)) for n in range(1, 10)]
    assert delays == [None, 10, 20, 40, 80, 160, 300, 300, 300]


def test_backoff_none_without_history() -> None:
    assert restart_backoff([]) is None


def test_backoff_resets_after_a_long_run() -> None:
    hist = crash_history("c", 5)                 # now at 80 s
    last = hist[-1]
    assert last.finished_at is not None
    t = last.finished_at + 80.0
    hist.append(exited("c", 5, t, 601.0))        # ran > 2 x 300 s: stable
    assert restart_backoff(hist) is None         # immediate restart
    hist.append(exited("c", 6, t + 601.0, 1.0))  # crashes again quickly
    assert restart_backoff(hist) == 10


def test_backoff_not_reset_by_a_run_of_exactly_600s() -> None:
    hist = crash_history("c", 3)                 # 20 s
    last = hist[-1]
    assert last.finished_at is not None
    hist.append(exited("c", 3, last.finished_at + 20.0, 600.0))
    assert restart_backoff(hist) == 40


def test_backoff_uses_attempt_order_not_list_order() -> None:
    hist = crash_history("c", 4)
    assert restart_backoff(list(reversed(hist))) == restart_backoff(hist) == 40


# --- first start --------------------------------------------------------------------------------

def test_first_start_starts_all_regular_containers() -> None:
    a = compute_pod_actions(pod(["a", "b", "c"]), [], {}, T0)
    assert a == PodActions(start=("a", "b", "c"))


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
    second = first + [exited("i1", 1, T0 + 1, 1, kind="init")]  # finished at T0 + 2
    a = compute_pod_actions(p, second, {}, T0 + 3)
    assert a.start_init is None and a.start == ()
    assert a.wake_at == T0 + 2 + 10
    assert a.waiting["i1"].reason == "CrashLoopBackOff"
    assert a.waiting["i1"].message == "back-off 10s restarting failed container=i1 pod=web_default(u1)"
    assert compute_pod_actions(p, second, {}, T0 + 12).start_init == "i1"
    third = second + [exited("i1", 2, T0 + 12, 1, kind="init")]  # finished at T0 + 13
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


def test_failed_create_counts_as_failure() -> None:
    p = pod(["a"], policy="OnFailure")
    failed = rec("a", 0, "failed", None, T0, T0)
    assert compute_pod_actions(p, [failed], {}, T0 + 1).start == ("a",)


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
