"""The prober (kubelet ``prober_manager.go`` + ``worker.go``): one asyncio task per (pod, container,
probe type), results cached by container id with change-only notifications.

Timing as upstream: the first attempt runs as soon as the worker starts, then on a ticker every
``periodSeconds`` from the worker's creation (reset by a manual trigger); a worker created within
one period of the agent's start waits a random part of a period first. Attempts of one worker never
overlap. Readiness workers keep probing while the pod terminates; liveness and startup stop.

The pure state machine is ``core.probes``; what an attempt does on the wire is the
``ProbeTransport`` port (HTTP/TCP/gRPC from the host) or the runtime's ``exec_sync``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from podbay.agent.wakeup import Wakeup
from podbay.api.printing import parse_rfc3339
from podbay.core import probes
from podbay.core.actions import ProbeState
from podbay.core.probes import Cached, Observed, ProbeOutcome, ProbeSpec, ProbeType, WorkerState
from podbay.core.records import ContainerRecord
from podbay.ports import Clock, EventRecorder, GrpcTarget, ProbeTransport, Runtime, TcpTarget

log = logging.getLogger("podbay.prober")
RESTART_GRACE = 10.0     # prober_manager.go: containers started 10 s before the agent keep their state

Key = tuple[str, str, ProbeType]   # (pod uid, container name, probe type)


@dataclass
class _Target:
    """The cached view one worker probes: the pod, its container spec and current attempt."""

    pod: Mapping[str, Any]
    container: Mapping[str, Any]
    rec: ContainerRecord | None
    pod_ip: str
    restartable: bool
    deleting: bool


class ProbeManager:
    def __init__(self, runtime: Runtime, transport: ProbeTransport, clock: Clock, events: EventRecorder,
                 on_change: Callable[[str, ProbeType], None], *, jitter: bool = True) -> None:
        self.runtime = runtime
        self.transport = transport
        self.clock = clock
        self.events = events
        self.on_change = on_change           # (pod uid, probe type): the pod needs a sync
        self.jitter = jitter
        self.started_mono = clock.monotonic()
        self.started_wall = clock.now()
        self.results: dict[ProbeType, dict[str, Cached]] = {"liveness": {}, "readiness": {}, "startup": {}}
        self.targets: dict[tuple[str, str], _Target] = {}
        self.workers: dict[Key, _Worker] = {}
        self.preexisting: dict[str, bool] = {}   # container id -> pod was Ready when the agent started

    # -- what the pod worker tells us -------------------------------------------------------------
    def update_pod(self, pod: Mapping[str, Any], records: list[ContainerRecord], pod_ip: str) -> None:
        """AddPod + the status cache: (re)create workers, refresh what they probe, trigger readiness."""
        uid = pod["metadata"]["uid"]
        deleting = bool(pod["metadata"].get("deletionTimestamp"))
        spec = pod["spec"]
        policy = spec.get("restartPolicy", "Always")
        latest: dict[str, ContainerRecord] = {}
        for r in records:
            if r.kind != "infra" and (r.name not in latest or r.attempt > latest[r.name].attempt):
                latest[r.name] = r
        ready_now = any(c.get("type") == "Ready" and c.get("status") == "True"
                        for c in (pod.get("status") or {}).get("conditions") or [])
        sidecars = [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
        for c in sidecars + list(spec.get("containers") or []):
            name = c["name"]
            specs = probes.container_probes(c)
            if not specs:
                continue
            rec = latest.get(name)
            if rec is not None and rec.id not in self.preexisting and rec.started_at is not None \
                    and rec.started_at < self.started_wall - RESTART_GRACE and rec.state == "running":
                self.preexisting[rec.id] = ready_now
            restartable = c in sidecars or policy != "Never"
            self.targets[(uid, name)] = _Target(pod, c, rec, pod_ip, restartable, deleting)
            for ptype, pspec in specs.items():
                key = (uid, name, ptype)
                if key in self.workers or (deleting and ptype != "readiness"):
                    continue
                self.workers[key] = _Worker(self, key, pspec)
            if rec is not None and self.is_started(c, rec) and self.results["readiness"].get(rec.id) != "success":
                w = self.workers.get((uid, name, "readiness"))
                if w is not None:
                    w.trigger()

    def stop_liveness_and_startup(self, uid: str) -> None:
        for key in [k for k in self.workers if k[0] == uid and k[2] != "readiness"]:
            self.workers.pop(key).stop()

    def remove_pod(self, uid: str) -> None:
        for key in [k for k in self.workers if k[0] == uid]:
            self.workers.pop(key).stop()
        for tkey in [k for k in self.targets if k[0] == uid]:
            t = self.targets.pop(tkey)
            if t.rec is not None:
                self._forget_container(t.rec.id)

    def close(self) -> None:
        for w in self.workers.values():
            w.stop()
        self.workers.clear()

    def _forget_container(self, cid: str) -> None:
        for cache in self.results.values():
            cache.pop(cid, None)
        self.preexisting.pop(cid, None)

    # -- what the plan and the status read ---------------------------------------------------------
    def is_started(self, container: Mapping[str, Any], rec: ContainerRecord) -> bool:
        if rec.state != "running":
            return False
        if not isinstance(container.get("startupProbe"), Mapping):
            return True
        if rec.id in self.preexisting:
            return True
        return self.results["startup"].get(rec.id) == "success"

    def is_ready(self, container: Mapping[str, Any], rec: ContainerRecord) -> bool:
        if not self.is_started(container, rec):
            return False
        if not isinstance(container.get("readinessProbe"), Mapping):
            return True
        cached = self.results["readiness"].get(rec.id)
        if cached is None and rec.id in self.preexisting:
            return self.preexisting[rec.id]
        return cached == "success"

    def states(self, pod: Mapping[str, Any], records: list[ContainerRecord]) -> dict[str, ProbeState]:
        """Per running attempt id: started, liveness/startup failed (the plan's kill inputs)."""
        specs = {c["name"]: c for c in (pod["spec"].get("initContainers") or []) + pod["spec"]["containers"]}
        out: dict[str, ProbeState] = {}
        for r in records:
            c = specs.get(r.name)
            if c is None or r.state != "running":
                continue
            out[r.id] = ProbeState(started=self.is_started(c, r),
                                   liveness_failed=self.results["liveness"].get(r.id) == "failure",
                                   startup_failed=self.results["startup"].get(r.id) == "failure")
        return out

    def flags(self, pod: Mapping[str, Any], records: list[ContainerRecord]) -> tuple[dict[str, bool], dict[str, bool]]:
        """(ready, started) by container name for the status of the newest attempts."""
        latest: dict[str, ContainerRecord] = {}
        for r in records:
            if r.kind != "infra" and (r.name not in latest or r.attempt > latest[r.name].attempt):
                latest[r.name] = r
        ready: dict[str, bool] = {}
        started: dict[str, bool] = {}
        for c in (pod["spec"].get("initContainers") or []) + pod["spec"]["containers"]:
            cur = latest.get(c["name"])
            if cur is None or cur.state != "running":
                continue
            started[c["name"]] = self.is_started(c, cur)
            ready[c["name"]] = self.is_ready(c, cur)
        return ready, started

    # -- results ----------------------------------------------------------------------------------
    def _set(self, uid: str, ptype: ProbeType, cid: str, value: Cached) -> None:
        cache = self.results[ptype]
        if cache.get(cid) == value:
            return
        cache[cid] = value
        self.on_change(uid, ptype)

    def _observed(self, key: Key) -> tuple[Observed, _Target | None]:
        uid, name, ptype = key
        t = self.targets.get((uid, name))
        if t is None or t.rec is None:
            return Observed("", False, None, False, deleting=bool(t and t.deleting)), t
        rec = t.rec
        started_at = float(int(rec.started_at)) if rec.started_at is not None else None
        return Observed(rec.id, rec.state == "running", started_at, self.is_started(t.container, rec),
                        terminated=rec.state == "exited", restartable=t.restartable, deleting=t.deleting), t

    async def attempt(self, key: Key, spec: ProbeSpec, t: _Target) -> ProbeOutcome:
        """runProbeWithRetries: up to 3 tries while the attempt errors; then the event."""
        _, _, ptype = key
        outcome = ProbeOutcome("unknown", error="no attempt")
        for _ in range(probes.MAX_RETRIES):
            outcome = await self._one(spec, t)
            if not outcome.error:
                break
        event = probes.event_for(ptype, outcome)
        if event is not None:
            name = t.container["name"]
            kind = "initContainers" if t.container.get("restartPolicy") == "Always" else "containers"
            with contextlib.suppress(Exception):
                self.events.record(t.pod, "Warning", event[0], event[1], f"spec.{kind}{{{name}}}")
        return outcome

    async def _one(self, spec: ProbeSpec, t: _Target) -> ProbeOutcome:
        h = spec.handler
        assert t.rec is not None
        try:
            if h.get("exec") is not None:
                argv = probes.exec_command((h["exec"] or {}).get("command") or [], t.container)
                res = await self.runtime.exec_sync(t.rec, argv, float(spec.timeout), probes.MAX_OUTPUT)
                return probes.exec_outcome(res.exit_code, res.output, res.timed_out, res.error, argv, spec.timeout)
            if h.get("httpGet") is not None:
                target = probes.http_target(h["httpGet"] or {}, t.container, t.pod_ip, probes.USER_AGENT)
                return await self.transport.http_get(target, float(spec.timeout))
            if h.get("tcpSocket") is not None:
                action = h["tcpSocket"] or {}
                port = probes.resolve_port(action.get("port"), t.container)
                return await self.transport.tcp(TcpTarget(str(action.get("host") or t.pod_ip), port),
                                                float(spec.timeout))
            if h.get("grpc") is not None:
                action = h["grpc"] or {}
                return await self.transport.grpc(GrpcTarget(t.pod_ip, int(action.get("port") or 0),
                                                            str(action.get("service") or "")), float(spec.timeout))
        except ValueError as exc:       # a port that does not resolve: an error, never a failure
            return ProbeOutcome("unknown", error=str(exc))
        return ProbeOutcome("success")   # a probe without a handler (prober.probe: nil spec)


class _Worker:
    def __init__(self, mgr: ProbeManager, key: Key, spec: ProbeSpec) -> None:
        self.mgr = mgr
        self.key = key
        self.spec = spec
        self.state = WorkerState()
        self._wakeup = Wakeup(mgr.clock)
        self.task = asyncio.ensure_future(self._run())

    def trigger(self) -> None:
        self._wakeup.trigger()

    def stop(self) -> None:
        self.task.cancel()

    async def _run(self) -> None:
        clock = self.mgr.clock
        period = float(self.spec.period)
        try:
            if self.mgr.jitter and clock.monotonic() - self.mgr.started_mono < period:
                await clock.sleep(random.uniform(0, period))
            next_tick = clock.monotonic()
            while True:
                try:
                    keep = await self._do_probe()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("probe worker %s crashed in one attempt", self.key)
                    keep = True
                if not keep:
                    break
                next_tick += period
                now = clock.monotonic()
                if next_tick <= now:     # a ticker buffers one tick: a slow probe is followed at once
                    next_tick = now
                    continue
                if await self._wakeup.wait(next_tick - now):
                    next_tick = clock.monotonic()
        finally:
            if self.mgr.workers.get(self.key) is self:
                del self.mgr.workers[self.key]

    async def _do_probe(self) -> bool:
        uid, _, ptype = self.key
        observed, target = self.mgr._observed(self.key)
        prev = self.state.container_id
        d = probes.before_probe(ptype, self.spec, self.state, observed, self.mgr.clock.now())
        self.state = d.state
        if d.reset:
            if prev:
                self.mgr.results[ptype].pop(prev, None)
            if observed.container_id in self.mgr.preexisting:
                # Running since before the agent started: it keeps its state instead of the initial
                # result (ChangeContainerStatusOnKubeletRestart off, the 1.35 default).
                if ptype == "startup":
                    self.state = replace(self.state, on_hold=True)
                    return True
                d = replace(d, set_result=None)
        if d.set_result is not None and observed.container_id:
            self.mgr._set(uid, ptype, observed.container_id, d.set_result)
        if not d.keep_going:
            return False
        if not d.probe or target is None:
            return True
        outcome = await self.mgr.attempt(self.key, self.spec, target)
        # The container may have been replaced while the attempt ran: that result belongs to no one.
        now_obs, _ = self.mgr._observed(self.key)
        if now_obs.container_id != observed.container_id:
            return True
        d = probes.after_probe(ptype, self.spec, self.state, outcome)
        self.state = d.state
        if d.set_result is not None:
            self.mgr._set(uid, ptype, observed.container_id, d.set_result)
        return True


def started_at_of(pod: Mapping[str, Any]) -> float | None:
    st = (pod.get("status") or {}).get("startTime")
    if not isinstance(st, str):
        return None
    with contextlib.suppress(ValueError):
        return parse_rfc3339(st)
    return None
