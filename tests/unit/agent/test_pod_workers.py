"""The pod worker and syncer against in-memory fakes: the lifecycle as a user sees it in the status."""

from __future__ import annotations

from typing import Any

from kubelet_harness import Kubelet

from podbay.testing.builders import container, pod


def running(k: Kubelet, p: dict[str, Any], name: str | None = None) -> bool:
    return "running" in k.cstatus(p, name).get("state", {})


async def test_create_goes_running_with_ip_and_ready(kubelet: Kubelet) -> None:
    p = kubelet.create(pod("web", [container("a"), container("b")]))
    await kubelet.until(lambda: kubelet.status(p).get("phase") == "Running")
    st = kubelet.status(p)
    assert st["podIP"] == "10.88.0.2"
    assert [c["ready"] for c in st["containerStatuses"]] == [True, True]
    assert kubelet.condition(p, "Ready")["status"] == "True"
    assert [e[2] for e in kubelet.events.events].count("Started") == 2


def waiting_reason(k: Kubelet, p: dict[str, Any], name: str | None = None) -> str:
    return str(k.cstatus(p, name).get("state", {}).get("waiting", {}).get("reason", ""))


async def test_crash_restarts_at_once_then_backs_off_10s_20s(kubelet: Kubelet) -> None:
    p = kubelet.create(pod("crashy"))
    await kubelet.until(lambda: running(kubelet, p))
    kubelet.runtime.exit("app", 1)
    await kubelet.until(lambda: running(kubelet, p) and kubelet.cstatus(p)["restartCount"] == 1, timeout=1)
    kubelet.runtime.exit("app", 1)
    await kubelet.until(lambda: waiting_reason(kubelet, p) == "CrashLoopBackOff", timeout=1)
    cs = kubelet.cstatus(p)
    assert cs["state"]["waiting"]["message"].startswith("back-off 10s restarting failed container=app pod=crashy_")
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    await kubelet.advance(9.5)
    assert waiting_reason(kubelet, p) == "CrashLoopBackOff"
    await kubelet.until(lambda: running(kubelet, p), timeout=1)
    assert kubelet.cstatus(p)["restartCount"] == 2
    kubelet.runtime.exit("app", 2)
    await kubelet.until(lambda: waiting_reason(kubelet, p) == "CrashLoopBackOff", timeout=1)
    assert "back-off 20s" in kubelet.cstatus(p)["state"]["waiting"]["message"]
    assert "BackOff" in kubelet.events.reasons()


async def test_start_error_shows_crashloop_as_fast_as_an_exit(kubelet: Kubelet) -> None:
    """Regression (issue 10): a missing executable reached CrashLoopBackOff only after ~60 s."""
    kubelet.runtime.start_errors.add("app")
    p = kubelet.create(pod("noexec"))
    await kubelet.until(lambda: waiting_reason(kubelet, p) == "CrashLoopBackOff", timeout=2)
    cs = kubelet.cstatus(p)
    assert cs["lastState"]["terminated"]["reason"] == "StartError"
    assert cs["restartCount"] == 1


async def test_never_pod_with_sidecar_succeeds_and_stops_the_sidecar(kubelet: Kubelet) -> None:
    """Regression (issue 10): the main container completed, the native sidecar kept the pod Running."""
    p = kubelet.create(pod("job", [container("main")], init=[container("side", restartPolicy="Always")],
                           restartPolicy="Never"))
    await kubelet.until(lambda: running(kubelet, p, "main") and running(kubelet, p, "side"))
    kubelet.runtime.exit("main", 0)
    await kubelet.until(lambda: kubelet.status(p).get("phase") == "Succeeded", timeout=5)
    assert kubelet.runtime.running("side") is None
    assert any(m == "Stopping container side" for m in kubelet.events.messages("Killing"))
    assert not kubelet.volumes.mounted and not kubelet.pinner.pinned   # terminal: volumes and network released


async def test_image_change_kills_and_recreates_with_a_restart(kubelet: Kubelet) -> None:
    p = kubelet.create(pod("upd"))
    await kubelet.until(lambda: running(kubelet, p))
    first = kubelet.runtime.running("app")
    assert first is not None

    def new_image(cur: dict[str, Any]) -> None:
        cur["spec"]["containers"][0]["image"] = "busybox:1.36"

    kubelet.replace(p, new_image)
    await kubelet.until(lambda: (kubelet.runtime.running("app") or first).rec.image == "busybox:1.36", timeout=5)
    await kubelet.until(lambda: running(kubelet, p) and kubelet.cstatus(p)["restartCount"] == 1, timeout=5)
    assert "Container app definition changed, will be restarted" in kubelet.events.messages("Killing")
    assert first.status == "gone" or first.status == "stopped"
    assert kubelet.cstatus(p)["image"] == "busybox:1.36"


async def test_delete_then_shorter_grace_brings_the_kill_forward(kubelet: Kubelet) -> None:
    kubelet.runtime.ignore_term.add("app")
    p = kubelet.create(pod("stubborn", terminationGracePeriodSeconds=60))
    await kubelet.until(lambda: running(kubelet, p))
    kubelet.delete(p)
    await kubelet.advance(5)
    assert not kubelet.gone(p)
    c = kubelet.runtime.running("app")
    assert c is not None and c.signals == [15]
    kubelet.delete(p, grace=1)
    await kubelet.until(lambda: kubelet.gone(p), timeout=3)
    assert kubelet.runtime.of("app")[-1].signals[-1] == 9
    assert not kubelet.volumes.mounted and not kubelet.pinner.pinned and not kubelet.network.results


async def test_grace_zero_delete_kills_at_once(kubelet: Kubelet) -> None:
    kubelet.runtime.ignore_term.add("app")
    p = kubelet.create(pod("now"))
    await kubelet.until(lambda: running(kubelet, p))
    kubelet.delete(p, grace=0)
    await kubelet.until(lambda: kubelet.gone(p), timeout=0.5)


async def test_eviction_is_terminal_failed_evicted(kubelet: Kubelet) -> None:
    kubelet.runtime.ignore_term.add("app")
    p = kubelet.create(pod("big"))
    await kubelet.until(lambda: running(kubelet, p))
    kubelet.evict(p)
    await kubelet.until(lambda: kubelet.status(p).get("phase") == "Failed", timeout=5)
    st = kubelet.status(p)
    assert st["reason"] == "Evicted" and st["message"].startswith("Usage of EmptyDir volume")
    await kubelet.until(lambda: kubelet.runtime.running("app") is None, timeout=2.5)   # 1 s grace, at least 2 s
    assert "Evicted" in kubelet.events.reasons()
    await kubelet.advance(120)
    assert kubelet.runtime.running("app") is None        # never restarted
    kubelet.delete(p)
    await kubelet.until(lambda: kubelet.gone(p), timeout=2)


async def test_active_deadline_fails_the_pod(kubelet: Kubelet) -> None:
    p = kubelet.create(pod("deadline", activeDeadlineSeconds=5))
    await kubelet.until(lambda: running(kubelet, p))
    await kubelet.until(lambda: kubelet.status(p).get("phase") == "Failed", timeout=8)
    st = kubelet.status(p)
    assert st["reason"] == "DeadlineExceeded"
    assert st["message"] == "Pod was active on the node longer than the specified deadline"
    assert kubelet.runtime.running("app") is None


async def test_an_oserror_in_a_sync_is_reported_and_retried(kubelet: Kubelet) -> None:
    """Regression (D7): a non-podbay exception ended the worker for good."""
    kubelet.volumes.fail = OSError(28, "No space left on device")
    p = kubelet.create(pod("enospc"))
    await kubelet.settle()
    assert "FailedSync" in kubelet.events.reasons()
    kubelet.volumes.fail = None
    await kubelet.until(lambda: running(kubelet, p), timeout=5)
    kubelet.delete(p, grace=0)
    await kubelet.until(lambda: kubelet.gone(p), timeout=2)


async def test_a_type_error_in_a_sync_does_not_block_deletion(kubelet: Kubelet) -> None:
    """Regression (issue 11 item 8): a wrong-typed volume crashed the worker; the pod stayed Terminating."""
    kubelet.volumes.fail = TypeError("'int' object is not subscriptable")
    p = kubelet.create(pod("badvol"))
    await kubelet.settle()
    assert "FailedSync" in kubelet.events.reasons()
    kubelet.delete(p, grace=0)
    await kubelet.until(lambda: kubelet.gone(p), timeout=5)


async def test_create_error_leaves_nothing_and_is_a_waiting_reason(kubelet: Kubelet) -> None:
    kubelet.runtime.create_error_always["app"] = UnicodeEncodeError("utf-8", "\udcff", 0, 1, "surrogates not allowed")
    p = kubelet.create(pod("surrogate"))
    await kubelet.until(lambda: waiting_reason(kubelet, p) == "CreateContainerError", timeout=2)
    await kubelet.advance(60)
    assert not kubelet.runtime.live()
    kubelet.delete(p, grace=0)
    await kubelet.until(lambda: kubelet.gone(p), timeout=2)


async def test_deletion_preempts_creation(tmp_path: Any) -> None:
    """Regression (issue 11 item 6): a grace-0 delete did not stop a pod still creating containers."""
    k = Kubelet(tmp_path)
    created = []
    real_create = k.runtime.create

    def slow_create(req: Any) -> Any:
        created.append(req.name)
        if len(created) == 3:
            k.delete(p, grace=0)     # the delete arrives while the pod is still being created
        return real_create(req)

    k.runtime.create = slow_create  # type: ignore[method-assign]
    p = k.create(pod("many", [container(f"c{i}") for i in range(40)]))
    try:
        await k.until(lambda: k.gone(p), timeout=5)
        assert len(created) < 40 and not k.runtime.live()
    finally:
        await k.close()


async def test_adoption_after_agent_restart_keeps_containers_and_retracks_eviction(tmp_path: Any) -> None:
    """Regression (D6): after a restart the writable layers and logs were no longer accounted."""
    k1 = Kubelet(tmp_path)
    p = k1.create(pod("survivor", [container("a"), container("b")]))
    await k1.until(lambda: k1.status(p).get("phase") == "Running")
    await k1.close()
    k2 = Kubelet(tmp_path, records=k1.records, runtime=k1.runtime, pods=k1.pods, clock=k1.clock,
                 network=k1.network, pinner=k1.pinner, volumes=k1.volumes)
    k2.runtime.on_exit = k2.workers.on_exit
    k2.workers.start_all()
    try:
        await k2.advance(1)
        assert [c.rec.attempt for c in k2.runtime.live()] == [0, 0]
        assert all(cs["restartCount"] == 0 for cs in k2.status(p)["containerStatuses"])
        assert set(k2.evictions.containers[p["metadata"]["uid"]]) == {"a", "b"}
        k2.runtime.exit("a", 1)
        await k2.until(lambda: k2.cstatus(p, "a").get("restartCount") == 1, timeout=2)
    finally:
        await k2.close()


async def test_crash_between_create_and_start_is_recovered_from_the_runtime_state(tmp_path: Any) -> None:
    """Regression (issue 11 item 13): never start an already started container, never kill it."""
    k1 = Kubelet(tmp_path)
    p = k1.create(pod("crashpoint", [container("started"), container("notyet")]))
    await k1.until(lambda: k1.status(p).get("phase") == "Running")
    await k1.close()
    # The agent died after `crun start` of "started" but before its record said so, and before the
    # start of "notyet": both records say "created".
    for rec in list(k1.records.rows.values()):
        k1.records.put_container(rec.with_(state="created", started_at=None))
    k1.runtime.containers[[c for c, f in k1.runtime.containers.items() if f.rec.name == "notyet"][0]].status = "created"
    k2 = Kubelet(tmp_path, records=k1.records, runtime=k1.runtime, pods=k1.pods, clock=k1.clock,
                 network=k1.network, pinner=k1.pinner, volumes=k1.volumes)
    k2.runtime.on_exit = k2.workers.on_exit
    k2.runtime.calls.clear()
    k2.workers.start_all()
    try:
        await k2.until(lambda: all("running" in cs["state"] for cs in k2.status(p)["containerStatuses"]))
        assert ("start", "started") not in k2.runtime.calls and ("start", "notyet") in k2.runtime.calls
        assert not [c for c in k2.runtime.calls if c[0].startswith("signal")]
        assert [c.rec.attempt for c in k2.runtime.live()] == [0, 0]
    finally:
        await k2.close()


async def test_old_attempts_are_collected_keeping_two(kubelet: Kubelet) -> None:
    """Regression (D9): dead attempts (rows and log files) were never collected."""
    p = kubelet.create(pod("gc"))
    await kubelet.until(lambda: running(kubelet, p))
    for i in range(6):
        kubelet.runtime.exit("app", 1)
        await kubelet.until(lambda i=i: running(kubelet, p) and kubelet.cstatus(p)["restartCount"] == i + 1,
                            timeout=400)
    recs = kubelet.records.containers(p["metadata"]["uid"])
    assert [r.attempt for r in recs] == [5, 6]
    logs = sorted(f.name for f in (kubelet.root / "logs").rglob("*.log"))
    assert logs == ["5.log", "6.log"]
    cs = kubelet.cstatus(p)
    assert cs["restartCount"] == 6 and cs["lastState"]["terminated"]["exitCode"] == 1
    kubelet.runtime.exit("app", 1)
    await kubelet.until(lambda: waiting_reason(kubelet, p) == "CrashLoopBackOff", timeout=2)
    assert "back-off 5m0s" in kubelet.cstatus(p)["state"]["waiting"]["message"]   # the entry survived GC


async def test_missing_image_waits_with_the_pull_reason_then_starts_once_present(tmp_path: Any) -> None:
    from kubelet_harness import Kubelet as K

    from podbay.testing.clock import FakeClock
    from podbay.testing.runtime import FakeImages

    clock = FakeClock()
    images = FakeImages(clock)
    images.missing.add("example.com/app:1")
    k = K(tmp_path, clock=clock, images=images)
    try:
        p = k.create(pod("pull", [container("app", image="example.com/app:1")]))
        await k.until(lambda: waiting_reason(k, p) == "ErrImagePull", timeout=1)
        assert k.runtime.live() == []
        # The image manager's retry time wakes the worker: the back-off shows, nothing is created.
        await k.until(lambda: waiting_reason(k, p) == "ImagePullBackOff", timeout=2)
        assert k.runtime.live() == [] and "Failed" in k.events.reasons()
        images.missing.clear()
        await k.until(lambda: running(k, p), timeout=11)
        assert images.pulls.count("example.com/app:1") >= 3
    finally:
        await k.close()


async def test_delete_during_a_pull_stops_waiting_for_it(tmp_path: Any) -> None:
    import asyncio

    from kubelet_harness import Kubelet as K

    from podbay.testing.clock import FakeClock
    from podbay.testing.runtime import FakeImages

    clock = FakeClock()
    images = FakeImages(clock)
    images.gate = asyncio.Event()          # the pull never finishes on its own
    k = K(tmp_path, clock=clock, images=images)
    try:
        p = k.create(pod("slowpull"))
        await k.until(lambda: images.pulls != [], timeout=1)
        k.delete(p, grace=30)
        await k.until(lambda: k.gone(p), timeout=2)
        assert images.cancelled == 1 and k.runtime.live() == []
    finally:
        await k.close()


async def test_an_exit_before_the_start_is_recorded_still_wakes_the_pod(kubelet: Kubelet) -> None:
    """Regression: a short command's exit event arrived before the sync that started it had recorded
    the container, was dropped, and the pod stayed Running until the 60 s resync."""
    kubelet.runtime.exit_on_start["app"] = 0
    p = kubelet.create(pod("quick", restartPolicy="Never"))
    await kubelet.until(lambda: kubelet.status(p).get("phase") == "Succeeded", timeout=2)
    assert kubelet.cstatus(p)["state"]["terminated"]["exitCode"] == 0
