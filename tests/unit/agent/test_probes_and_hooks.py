"""Probes and lifecycle hooks through the real prober and pod worker, on fakes and a fake clock."""

from __future__ import annotations

from typing import Any

from kubelet_harness import Kubelet

from podbay.ports import ExecResult, ProbeOutcome
from podbay.testing.builders import container, pod


def running(k: Kubelet, p: dict[str, Any], name: str | None = None) -> bool:
    return "running" in k.cstatus(p, name).get("state", {})


def http(path: str = "/healthz", port: int = 8080, **kw: Any) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": port}, **kw}


async def test_liveness_failing_after_20s_restarts_within_period_times_threshold(kubelet: Kubelet) -> None:
    healthy = {"ok": True}
    kubelet.transport.http[8080] = lambda *_: ProbeOutcome("success") if healthy["ok"] else \
        ProbeOutcome("failure", "HTTP probe failed with statuscode: 500")
    p = kubelet.create(pod("live", [container("app", livenessProbe=http(periodSeconds=2, failureThreshold=3))]))
    await kubelet.until(lambda: running(kubelet, p))
    await kubelet.advance(20)
    assert kubelet.cstatus(p)["restartCount"] == 0
    healthy["ok"] = False
    await kubelet.until(lambda: kubelet.cstatus(p).get("restartCount") == 1, timeout=2 * 3 + 2)
    assert "Container app failed liveness probe, will be restarted" in kubelet.events.messages("Killing")
    assert kubelet.events.messages("Unhealthy")[:3] == ["Liveness probe failed: HTTP probe failed with statuscode: 500"] * 3


async def test_readiness_flapping_gives_transitions_and_no_restart(kubelet: Kubelet) -> None:
    state = {"ok": False}
    kubelet.transport.http[80] = lambda *_: ProbeOutcome("success") if state["ok"] else ProbeOutcome("failure", "no")
    probe = http("/", 80, periodSeconds=1, failureThreshold=1)
    p = kubelet.create(pod("flappy", [container("web", readinessProbe=probe)]))
    await kubelet.until(lambda: running(kubelet, p))
    assert kubelet.cstatus(p)["ready"] is False and kubelet.condition(p, "Ready")["status"] == "False"
    seen = []
    for i in range(10):
        state["ok"] = i % 2 == 0
        want = "True" if state["ok"] else "False"
        await kubelet.until(lambda w=want: kubelet.condition(p, "Ready").get("status") == w, timeout=3)
        seen.append(kubelet.condition(p, "Ready")["status"])
    assert seen == ["True", "False"] * 5
    history = [next(c["status"] for c in st["conditions"] if c["type"] == "Ready")
               for st in kubelet.pods.history[p["metadata"]["uid"]]]
    flips = sum(1 for a, b in zip(history, history[1:], strict=False) if a != b)
    assert flips == 10
    assert kubelet.cstatus(p)["restartCount"] == 0 and not kubelet.events.messages("Killing")


async def test_readiness_initial_delay_and_started_ready(kubelet: Kubelet) -> None:
    kubelet.transport.http[80] = ProbeOutcome("success")
    p = kubelet.create(pod("delayed", [container("web", readinessProbe=http("/", 80, initialDelaySeconds=15))]))
    await kubelet.until(lambda: running(kubelet, p))
    await kubelet.advance(14)
    cs = kubelet.cstatus(p)
    assert cs["started"] is True and cs["ready"] is False
    await kubelet.until(lambda: kubelet.cstatus(p)["ready"] is True, timeout=12)
    assert kubelet.clock.now() - 1_700_000_000.0 >= 15


async def test_a_port_that_does_not_resolve_errors_and_never_counts(kubelet: Kubelet) -> None:
    p = kubelet.create(pod("noport", [container("web", livenessProbe={"httpGet": {"path": "/", "port": "web"},
                                                                       "failureThreshold": 1})]))
    await kubelet.until(lambda: running(kubelet, p))
    await kubelet.advance(60)
    assert kubelet.cstatus(p)["restartCount"] == 0
    assert any(m.startswith('Liveness probe errored and resulted in unknown state: strconv.Atoi: parsing "web"')
               for m in kubelet.events.messages("Unhealthy"))


async def test_startup_probe_gates_liveness_then_fails_and_restarts(kubelet: Kubelet) -> None:
    kubelet.runtime.exec_handlers["app"] = lambda rec, argv: ExecResult(1, b"nope") if argv[0] == "/bin/false" \
        else ExecResult(0)
    c = container("app", livenessProbe={"exec": {"command": ["/bin/false"]}, "failureThreshold": 1},
                  startupProbe={"exec": {"command": ["/bin/false"]}, "failureThreshold": 60, "periodSeconds": 1})
    p = kubelet.create(pod("gated", [c]))
    await kubelet.until(lambda: running(kubelet, p))
    await kubelet.advance(30)
    cs = kubelet.cstatus(p)
    assert cs["restartCount"] == 0 and cs["started"] is False and cs["ready"] is False
    assert not any(m.startswith("Liveness") for m in kubelet.events.messages("Unhealthy"))
    await kubelet.until(lambda: kubelet.cstatus(p).get("restartCount") == 1, timeout=40)
    assert "Container app failed startup probe, will be restarted" in kubelet.events.messages("Killing")


async def test_exec_timeout_is_a_failure_with_the_cri_message(kubelet: Kubelet) -> None:
    async def slow(rec: Any, argv: Any) -> ExecResult:
        await kubelet.clock.sleep(10)
        return ExecResult(0)

    kubelet.runtime.exec_handlers["app"] = slow
    c = container("app", livenessProbe={"exec": {"command": ["/bin/sh", "-c", "sleep 10"]}, "timeoutSeconds": 1,
                                        "failureThreshold": 1, "initialDelaySeconds": 15})
    p = kubelet.create(pod("timeout", [c]))
    await kubelet.until(lambda: kubelet.cstatus(p).get("restartCount") == 1, timeout=40)
    assert 'Liveness probe failed: command timed out: "/bin/sh -c sleep 10" timed out after 1s' in \
        kubelet.events.messages("Unhealthy")


async def test_probe_level_grace_overrides_the_pod_grace(kubelet: Kubelet) -> None:
    kubelet.runtime.ignore_term.add("app")
    c = container("app", livenessProbe=http(port=8080, failureThreshold=1, terminationGracePeriodSeconds=5))
    p = kubelet.create(pod("grace", [c], terminationGracePeriodSeconds=500))
    await kubelet.until(lambda: kubelet.cstatus(p).get("restartCount") == 1, timeout=10 + 5 + 2)


async def test_post_start_failure_kills_and_reports(kubelet: Kubelet) -> None:
    kubelet.runtime.exec_handlers["app"] = lambda rec, argv: ExecResult(126, b"exec: badcommand not found")
    c = container("app", lifecycle={"postStart": {"exec": {"command": ["badcommand"]}}})
    p = kubelet.create(pod("hook", [c], restartPolicy="Never"))
    await kubelet.until(lambda: kubelet.status(p).get("phase") == "Failed", timeout=5)
    assert kubelet.events.messages("FailedPostStartHook") == ["PostStartHook failed"]
    assert "FailedPostStartHook" in kubelet.events.messages("Killing")


async def test_post_start_failure_waits_with_post_start_hook_error(kubelet: Kubelet) -> None:
    kubelet.runtime.exec_handlers["app"] = lambda rec, argv: ExecResult(126, b"not found")
    c = container("app", lifecycle={"postStart": {"exec": {"command": ["badcommand"]}}})
    p = kubelet.create(pod("hook2", [c]))
    await kubelet.until(lambda: kubelet.cstatus(p).get("state", {}).get("waiting", {}).get("reason")
                        in ("PostStartHookError", "CrashLoopBackOff"), timeout=5)
    msg = kubelet.cstatus(p)["state"]["waiting"].get("message", "")
    assert kubelet.cstatus(p)["state"]["waiting"]["reason"] != "PostStartHookError" or \
        msg.startswith('Exec lifecycle hook ([badcommand]) for Container "app" in Pod "hook2_default(')


async def test_pre_stop_sleep_counts_against_the_grace(kubelet: Kubelet) -> None:
    kubelet.runtime.ignore_term.add("app")
    c = container("app", lifecycle={"preStop": {"sleep": {"seconds": 50}}})
    p = kubelet.create(pod("sleepy", [c], terminationGracePeriodSeconds=100))
    await kubelet.until(lambda: running(kubelet, p))
    t0 = kubelet.clock.monotonic()
    kubelet.delete(p, grace=30)
    await kubelet.until(lambda: kubelet.gone(p), timeout=40)
    took = kubelet.clock.monotonic() - t0
    assert 30 <= took <= 33          # the hook used the 30 s, then the 2 s minimum stop window


async def test_pre_stop_exec_runs_on_delete_and_not_for_exited_containers(kubelet: Kubelet) -> None:
    ran: list[str] = []
    kubelet.runtime.exec_handlers["app"] = lambda rec, argv: ran.append(" ".join(argv)) or ExecResult(0)
    c = container("app", lifecycle={"preStop": {"exec": {"command": ["sh", "-c", "echo bye"]}}})
    p = kubelet.create(pod("bye", [c]))
    await kubelet.until(lambda: running(kubelet, p))
    kubelet.delete(p, grace=15)
    await kubelet.until(lambda: kubelet.gone(p), timeout=20)
    assert ran == ["sh -c echo bye"]
    done = kubelet.create(pod("done", [c], restartPolicy="Never"))
    await kubelet.until(lambda: running(kubelet, done))
    ran.clear()
    kubelet.runtime.exit("app", 0)
    await kubelet.until(lambda: kubelet.status(done).get("phase") == "Succeeded", timeout=5)
    kubelet.delete(done, grace=15)
    await kubelet.until(lambda: kubelet.gone(done), timeout=5)
    assert ran == []


async def test_stop_signal_from_the_spec(kubelet: Kubelet) -> None:
    c = container("app", lifecycle={"stopSignal": "SIGUSR1"})
    p = kubelet.create(pod("sig", [c], os={"name": "linux"}))
    await kubelet.until(lambda: running(kubelet, p))
    fake = kubelet.runtime.running("app")
    assert fake is not None
    kubelet.delete(p, grace=10)
    await kubelet.until(lambda: kubelet.gone(p), timeout=15)
    assert fake.signals[0] == 10


async def test_readiness_gates(kubelet: Kubelet) -> None:
    p = kubelet.create(pod("gated", readinessGates=[{"conditionType": "k8s.io/test-condition1"}]))
    await kubelet.until(lambda: running(kubelet, p))
    ready = kubelet.condition(p, "Ready")
    assert ready["status"] == "False" and ready["reason"] == "ReadinessGatesNotReady"
    assert ready["message"] == 'corresponding condition of pod readiness gate "k8s.io/test-condition1" does not exist.'
    cur = kubelet.pods.pods[p["metadata"]["uid"]]
    cur["status"]["conditions"].append({"type": "k8s.io/test-condition1", "status": "True"})
    kubelet.workers.update(cur)
    await kubelet.until(lambda: kubelet.condition(p, "Ready").get("status") == "True", timeout=2)
    assert kubelet.condition(p, "k8s.io/test-condition1")["status"] == "True"
