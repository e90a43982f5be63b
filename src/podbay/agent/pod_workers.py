"""Pod workers (kubelet ``pod_workers.go``): one asyncio task per pod UID, driving its lifecycle.

A worker loops: read the latest pod (only the newest state matters), fold a deletion into the
lifecycle (grace only shortens), then ``sync_pod`` while syncing, ``sync_terminating_pod`` once
termination was asked for, ``sync_terminated_pod`` at the end. Wake-ups come from API changes,
container exits, probe results and the plan's own ``wake_at``, with a slow resync as a backstop.

A worker never dies of one bad sync: any exception is logged, reported as a ``FailedSync`` event,
and retried with an exponential back-off (1 s doubling to 30 s), so the pod keeps being reconciled.
A worker task that ends unexpectedly anyway is started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from podbay.agent.sync import PodState, PodSyncer
from podbay.core.lifecycle import EVICTION_GRACE, observe_pod
from podbay.core.records import ContainerRecord
from podbay.ports import Clock, EventRecorder, PodSource

log = logging.getLogger("podbay.workers")
EARLY_EXITS_MAX = 1024            # bound on exits remembered for ids not yet recorded
RESYNC = 60.0                    # kubelet syncFrequency: the backstop when nothing happens
RETRY_FIRST, RETRY_MAX = 1.0, 30.0
TERMINATE_RETRY_MAX = 2.0


@dataclass(frozen=True)
class Live:
    pod_uid: str
    conmon_pid: int | None
    conmon_start: int | None
    log_path: str


class RunningIndex:
    """Live attempts by container id (exit events, the monitor reaper, log rotation), kept from the
    records each sync reads: nothing on a hot path decodes every attempt of every pod."""

    def __init__(self) -> None:
        self._by_cid: dict[str, Live] = {}
        self._by_pod: dict[str, set[str]] = {}

    def set_pod(self, uid: str, records: Iterable[ContainerRecord]) -> None:
        for cid in self._by_pod.pop(uid, set()):
            self._by_cid.pop(cid, None)
        live = {r.id: Live(uid, r.conmon_pid, r.conmon_start, r.log_path) for r in records
                if r.state in ("running", "created")}
        if live:
            self._by_cid.update(live)
            self._by_pod[uid] = set(live)

    def pod_of(self, cid: str) -> str | None:
        live = self._by_cid.get(cid)
        return live.pod_uid if live else None

    def items(self) -> list[tuple[str, Live]]:
        return list(self._by_cid.items())

    def __len__(self) -> int:
        return len(self._by_cid)


class PodWorkers:
    def __init__(self, syncer: PodSyncer, pods: PodSource, events: EventRecorder, clock: Clock,
                 index: RunningIndex | None = None, resync: float = RESYNC) -> None:
        self.syncer = syncer
        self.pods = pods
        self.events = events
        self.clock = clock
        self.index = index if index is not None else RunningIndex()
        self.resync = resync
        self.states: dict[str, PodState] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self._closing = False
        self._early: dict[str, None] = {}   # exits of container ids no sync has recorded yet (oldest first)
        syncer.on_records = self._records

    # ------------------------------------------------------------------ inputs
    def update(self, pod: Mapping[str, Any]) -> None:
        """The API object changed (created, replaced, deleted): fold it in and wake the worker."""
        uid = pod["metadata"]["uid"]
        st = self._ensure(uid)
        st.lifecycle = observe_pod(st.lifecycle, pod, self.clock.now())
        if st.lifecycle.phase != "syncing":
            st.stopping.set()
        st.poke()

    def has(self, uid: str) -> bool:
        task = self.tasks.get(uid)
        return task is not None and not task.done()

    def poke(self, uid: str) -> None:
        st = self.states.get(uid)
        if st is not None:
            st.poke()

    def on_exit(self, cid: str) -> None:
        uid = self.index.pod_of(cid)
        if uid is not None:
            self.poke(uid)
            return
        # A container that exits before the sync that started it has recorded it (a short command):
        # kept until that sync records the id, then its pod is woken (the kubelet's PLEG relists;
        # without this the exit waited for the 60 s resync).
        self._early[cid] = None
        while len(self._early) > EARLY_EXITS_MAX:
            del self._early[next(iter(self._early))]

    def _records(self, uid: str, records: list[ContainerRecord]) -> None:
        self.index.set_pod(uid, records)
        if self._early:
            seen = [r.id for r in records if r.id in self._early]
            for cid in seen:
                del self._early[cid]
            if seen:
                self.poke(uid)

    def evict(self, uid: str, reason: str, message: str, grace: float = EVICTION_GRACE) -> None:
        """The eviction manager (or another agent part) wants the pod gone: terminal, Failed."""
        st = self.states.get(uid)
        if st is None or st.lifecycle.reason:
            return
        st.lifecycle = st.lifecycle.terminate(self.clock.now(), grace, reason=reason, message=message)
        st.stopping.set()
        pod = self.pods.get_pod(uid)
        if pod is not None:
            with contextlib.suppress(Exception):
                self.events.record(pod, "Warning", reason, message)
        st.poke()

    # ------------------------------------------------------------------ tasks
    def start_all(self) -> None:
        for pod in self.pods.list_pods():
            self.update(pod)

    async def stop(self) -> None:
        self._closing = True
        tasks = list(self.tasks.values())
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _ensure(self, uid: str) -> PodState:
        st = self.states.get(uid)
        if st is None:
            st = self.states[uid] = PodState(uid)
        task = self.tasks.get(uid)
        if task is None or task.done():
            self._spawn(uid)
        return st

    def _spawn(self, uid: str) -> None:
        task = asyncio.create_task(self._run(uid), name=f"pod-{uid}")
        self.tasks[uid] = task
        task.add_done_callback(lambda t: self._done(uid, t))

    def _done(self, uid: str, task: asyncio.Task[None]) -> None:
        if self.tasks.get(uid) is task:
            del self.tasks[uid]
        if task.cancelled() or self._closing:
            return
        exc = task.exception()
        if exc is None:
            self.states.pop(uid, None)    # the pod is gone and forgotten
            self.index.set_pod(uid, [])
            return
        log.error("pod worker %s ended unexpectedly, starting it again", uid, exc_info=exc)
        self._spawn(uid)

    # ------------------------------------------------------------------ the loop
    async def _run(self, uid: str) -> None:
        st = self.states[uid]
        failures = 0
        while True:
            st.wake.clear()
            pod = self.pods.get_pod(uid)
            if pod is None:
                return
            now = self.clock.now()
            st.lifecycle = observe_pod(st.lifecycle, pod, now)
            wake_at: float | None = None
            try:
                phase = st.lifecycle.phase
                if phase == "syncing":
                    out = await self.syncer.sync_pod(pod, st)
                    st.lifecycle = st.lifecycle.synced(now)
                    if out.terminate:
                        st.lifecycle = st.lifecycle.terminate(self.clock.now(), out.grace, reason=out.reason,
                                                              message=out.message)
                        st.stopping.set()
                        failures = 0
                        continue
                    wake_at = out.wake_at
                elif phase == "terminating":
                    await self.syncer.sync_terminating_pod(pod, st)
                    st.lifecycle = st.lifecycle.finished_terminating(self.clock.now())
                    failures = 0
                    continue
                else:
                    if await self.syncer.sync_terminated_pod(pod, st):
                        return
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                # Stopping is retried briskly (a busy mount, a CNI hiccup: nothing may leak for long);
                # a failing sync backs off.
                cap = RETRY_MAX if st.lifecycle.phase == "syncing" else TERMINATE_RETRY_MAX
                delay = min(RETRY_FIRST * 2 ** (failures - 1), cap)
                self._report(pod, st, exc, delay)
                wake_at = self.clock.now() + delay
            await self._wait(st, wake_at)

    def _report(self, pod: dict[str, Any], st: PodState, exc: Exception, delay: float) -> None:
        name = (pod.get("metadata") or {}).get("name")
        phase = st.lifecycle.phase
        what = "FailedKillPod" if phase != "syncing" else "FailedSync"
        if isinstance(exc, OSError) or not str(exc):
            log.error("%s of pod %s failed (retry in %.0fs)", phase, name, delay, exc_info=exc)
        else:
            log.warning("%s of pod %s failed (retry in %.0fs): %s", phase, name, delay, exc)
        message = str(exc) or type(exc).__name__
        with contextlib.suppress(Exception):
            self.events.record(pod, "Warning", what, message)
        if phase == "syncing":
            self.syncer._best_effort_status(pod, st, terminal=False)

    async def _wait(self, st: PodState, wake_at: float | None) -> None:
        timeout = self.resync * random.uniform(0.9, 1.1)
        if wake_at is not None:
            timeout = max(0.0, min(timeout, wake_at - self.clock.now()))
        if st.wake.is_set():
            return
        sleeper = asyncio.ensure_future(self.clock.sleep(timeout))
        waker = asyncio.ensure_future(st.wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()
