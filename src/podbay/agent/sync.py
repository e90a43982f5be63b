"""One pod's transaction scripts (kubelet ``SyncPod`` / ``SyncTerminatingPod`` / ``SyncTerminatedPod``).

``sync_pod`` converges a running pod towards its spec: observe exits, pin namespaces while the
volumes are set up, compute the plan (``core.actions``), kill what must go (preStop, the stop
signal, the grace), start what must run (init containers in order, then the regular ones, with the
network attached concurrently), run postStart hooks, write the status. It returns whether the pod
must now terminate. ``sync_terminating_pod`` stops everything (regular containers first, then
sidecars in reverse order, the infra process last); ``sync_terminated_pod`` releases volumes and
network and, for a deleted pod, forgets it.

Every method is re-entrant: a failure is retried by the pod worker, and each step is idempotent.
Ports only (no adapter is imported), so all of this runs against ``podbay.testing`` fakes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from podbay.agent.hooks import HookRunner
from podbay.agent.prober import ProbeManager, started_at_of
from podbay.agent.sandbox import PodSandboxes
from podbay.core import container_gc, termination
from podbay.core.actions import REASON_POST_START, KillReason, PodActions, StartFailure, compute_pod_actions
from podbay.core.lifecycle import (
    DEADLINE_MESSAGE,
    DEADLINE_REASON,
    PodLifecycle,
    deadline_at,
    deadline_exceeded,
    spec_grace,
)
from podbay.core.probes import container_probes
from podbay.core.records import ContainerRecord, PodRuntimeView, Waiting
from podbay.core.restart import backoff_event_message
from podbay.core.status import pod_status
from podbay.errors import PodbayError, StartFailed
from podbay.ports import (
    Clock,
    ContainerRecords,
    CreateRequest,
    EventRecorder,
    EvictionTracker,
    ImageService,
    PodSource,
    PodVolumes,
    Runtime,
    Sandbox,
    StatusUpdate,
    StatusWriter,
)

log = logging.getLogger("podbay.sync")
T = TypeVar("T")
Offload = Callable[..., Awaitable[Any]]
VOLUME_PATHS_ANNOTATION = "podbay.io/volume-paths"
MIN_GRACE = 2.0                 # kuberuntime_container.go minimumGracePeriodInSeconds
CREATE_PARALLELISM = 8          # containers created at once (a 20 000-container pod must not fork 20 000)
INFRA = "POD"


@dataclass
class PodState:
    """What the pod worker keeps in memory for one pod between syncs."""

    uid: str
    lifecycle: PodLifecycle = field(default_factory=PodLifecycle)
    sandbox: Sandbox | None = None
    volume_paths: dict[str, str] | None = None
    failures: dict[str, StartFailure] = field(default_factory=dict)
    waiting: dict[str, Waiting] = field(default_factory=dict)
    hook_errors: dict[str, Waiting] = field(default_factory=dict)   # reasonCache: PostStartHookError
    adopted: bool = False            # running attempts re-registered for eviction after an agent start
    torn_down: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)   # termination requested: preempt

    def poke(self) -> None:
        self.wake.set()


@dataclass(frozen=True)
class SyncOutcome:
    wake_at: float | None = None
    terminate: bool = False
    grace: float = 0.0
    reason: str = ""
    message: str = ""


def field_path(rec_or_kind: ContainerRecord | str, name: str = "") -> str:
    kind = rec_or_kind.kind if isinstance(rec_or_kind, ContainerRecord) else rec_or_kind
    if isinstance(rec_or_kind, ContainerRecord):
        name = rec_or_kind.name
    return f"spec.{'initContainers' if kind == 'init' else 'containers'}{{{name}}}"


def _attempt_files(rec: ContainerRecord, pod_dir: Path) -> list[Path]:
    files = [pod_dir / "containers" / rec.name / rec.id[:8]]
    if rec.log_path:
        log = Path(rec.log_path)
        files.append(log)
        with contextlib.suppress(OSError):
            files += list(log.parent.glob(log.name + ".*"))
    return files


def _tail_lines(path: str, max_bytes: int = 256 * 1024) -> list[str]:
    """The last lines of a CRI log file (enough of them for 80 lines of output)."""
    if not path:
        return []
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - max_bytes))
        data = f.read()
    lines = data.decode("utf-8", "replace").splitlines(keepends=True)
    return lines[1:] if size > max_bytes and lines else lines


def _spec_containers(pod: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    spec = pod["spec"]
    return {c["name"]: c for c in (spec.get("initContainers") or []) + list(spec.get("containers") or [])}


def _is_sidecar(c: Mapping[str, Any] | None) -> bool:
    return bool(c) and c.get("restartPolicy") == "Always"  # type: ignore[union-attr]


async def _inline(fn: Callable[..., T], *args: Any) -> T:
    return fn(*args)


class PodSyncer:
    def __init__(self, *, runtime: Runtime, records: ContainerRecords, sandboxes: PodSandboxes,
                 volumes: PodVolumes, pods: PodSource, status: StatusWriter, events: EventRecorder,
                 evictions: EvictionTracker, prober: ProbeManager, hooks: HookRunner, clock: Clock,
                 host_ip: str, offload: Offload | None = None, images: ImageService | None = None,
                 on_records: Callable[[str, list[ContainerRecord]], None] | None = None,
                 after_exits: Callable[[Mapping[str, Any], list[ContainerRecord]], None] | None = None) -> None:
        self.runtime = runtime
        self.records = records
        self.sandboxes = sandboxes
        self.volumes = volumes
        self.pods = pods
        self.status = status
        self.events = events
        self.evictions = evictions
        self.prober = prober
        self.hooks = hooks
        self.clock = clock
        self.host_ip = host_ip
        self.offload: Offload = offload or asyncio.to_thread
        self.images = images      # None: the local image store only (no pulls)
        self.on_records = on_records or (lambda _uid, _recs: None)
        self.after_exits = after_exits or (lambda _pod, _recs: None)

    # ================================================================== sync_pod
    async def sync_pod(self, pod: dict[str, Any], st: PodState) -> SyncOutcome:
        uid = st.uid
        if self._exits_to_observe(st):
            await self.offload(self.observe_exits, pod, st, True)
        records = self.records.containers(uid)
        now = self.clock.now()
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return SyncOutcome(terminate=True, grace=spec_grace(pod))
        if deadline_exceeded(pod, started_at_of(pod), now):
            self.events.record(pod, "Normal", DEADLINE_REASON, DEADLINE_MESSAGE)
            return SyncOutcome(terminate=True, grace=spec_grace(pod), reason=DEADLINE_REASON, message=DEADLINE_MESSAGE)
        if not await self._ensure_sandbox_and_volumes(pod, st):
            self.write_status(pod, st)
            return SyncOutcome(wake_at=now + 2.0)
        if not st.adopted:
            await self._adopt(pod, records)
            st.adopted = True
        assert st.sandbox is not None
        network: asyncio.Future[Sandbox] | None = None
        if not st.sandbox.ips:
            # CNI ADD runs while the containers are created; they are started once it is done.
            network = asyncio.ensure_future(self.offload(self.sandboxes.attach_network, pod, st.sandbox))
        try:
            outcome = await self._plan_and_execute(pod, st, network)
        finally:
            if network is not None:
                if not network.done():
                    await asyncio.wait([network])
                if network.exception() is None:
                    st.sandbox = network.result()
        if network is not None and network.exception() is not None:
            raise network.exception()  # type: ignore[misc]
        self.write_status(pod, st)
        return outcome

    async def _ensure_sandbox_and_volumes(self, pod: dict[str, Any], st: PodState) -> bool:
        """Pinned namespaces while the volumes are set up (independent); False on a mount failure."""
        pinning = None if st.sandbox is not None else asyncio.ensure_future(self.offload(self.sandboxes.prepare, pod))
        try:
            if st.volume_paths is None:
                try:
                    st.volume_paths = await self.offload(self.volumes.setup, pod, self.sandboxes.pod_dir(st.uid))
                except PodbayError as exc:
                    self.events.record(pod, "Warning", "FailedMount", str(exc))
                    for name in _spec_containers(pod):
                        st.waiting.setdefault(name, Waiting("ContainerCreating", ""))
                    return False
                await self.evictions.track(pod, st.volume_paths)
            elif self.volumes.refresh_needed(pod, self.sandboxes.pod_dir(st.uid)):
                await self.offload(self.volumes.refresh, pod, self.sandboxes.pod_dir(st.uid))
        finally:
            if pinning is not None:
                await asyncio.wait([pinning])
                if pinning.exception() is None:
                    st.sandbox = pinning.result()
        if pinning is not None and pinning.exception() is not None:
            raise pinning.exception()  # type: ignore[misc]
        return True

    async def _adopt(self, pod: dict[str, Any], records: list[ContainerRecord]) -> None:
        """After an agent start: account the writable layers and logs of attempts already running."""
        for rec in records:
            if rec.state in ("running", "created") and rec.kind != "infra":
                await self.evictions.track_container(pod, rec.name, self.runtime.container_dir(rec.id) / "upper",
                                                     Path(rec.log_path).parent)

    async def _plan_and_execute(self, pod: dict[str, Any], st: PodState,
                                network: asyncio.Future[Sandbox] | None) -> SyncOutcome:
        uid = st.uid
        records = self.records.containers(uid)
        self.on_records(uid, records)
        now = self.clock.now()
        actions = compute_pod_actions(pod, records, st.failures, now, self.prober.states(pod, records))
        st.waiting = dict(actions.waiting)
        md = pod["metadata"]
        for name, w in actions.waiting.items():
            if w.reason == "CrashLoopBackOff":
                kind = "init" if name in {c["name"] for c in pod["spec"].get("initContainers") or []} else "regular"
                self.events.record(pod, "Warning", "BackOff",
                                   backoff_event_message(name, md["name"], md["namespace"], md["uid"]),
                                   field_path(kind, name))
        if actions.kill_pod:
            return SyncOutcome(terminate=True, grace=spec_grace(pod))
        wake = [t for t in (actions.wake_at, deadline_at(pod, started_at_of(pod) or now)) if t is not None]
        if actions.kill:
            await self._kill_for_plan(pod, st, records, actions)
        if st.stopping.is_set():
            return SyncOutcome()
        again = await self._execute_starts(pod, st, actions, network)
        if actions.start or actions.start_init:
            self.collect_garbage(pod, st)
        if again is not None:
            wake.append(again)
        return SyncOutcome(wake_at=min(wake, default=None))

    async def _kill_for_plan(self, pod: dict[str, Any], st: PodState, records: list[ContainerRecord],
                             actions: PodActions) -> None:
        live = {r.name: r for r in records if r.state in ("running", "created") and r.kind != "infra"}
        specs = _spec_containers(pod)
        jobs = []
        for name, why in actions.kill.items():
            rec = live.get(name)
            if rec is None:
                continue
            grace = spec_grace(pod)
            if why.reason in ("LivenessProbe", "StartupProbe"):
                # setTerminationGracePeriod: the probe's own terminationGracePeriodSeconds wins.
                ptype = "liveness" if why.reason == "LivenessProbe" else "startup"
                pspec = container_probes(specs.get(name) or {}).get(ptype)  # type: ignore[call-overload]
                if pspec is not None and pspec.grace is not None:
                    grace = float(pspec.grace)
            jobs.append(self.kill_container(pod, st, rec, why, grace))
        await asyncio.gather(*jobs)
        await self.offload(self.observe_exits, pod, st, False)

    # ------------------------------------------------------------------ starts
    async def _execute_starts(self, pod: dict[str, Any], st: PodState, actions: PodActions,
                              network: asyncio.Future[Sandbox] | None) -> float | None:
        """Ensure the images, create (in parallel, bounded), attach the network, start, run postStart;
        returns when to sync again (None: no need)."""
        names = ([actions.start_init] if actions.start_init else []) + list(actions.start)
        names, retry_at = await self._ensure_images(pod, st, names, actions)
        if not names:
            if network is not None:
                st.sandbox = await network
            return retry_at
        from podbay.agent.containers import needs_pod_ip
        records = self.records.containers(st.uid)
        specs = _spec_containers(pod)
        attempts = {n: 1 + max((r.attempt for r in records if r.name == n), default=-1) for n in names}
        if network is not None and any(needs_pod_ip(specs[n]) for n in names):
            st.sandbox = await network
        pid_ns = await self._infra_pid_ns(pod, st, records)
        gate = asyncio.Semaphore(CREATE_PARALLELISM)

        async def create(name: str) -> ContainerRecord | BaseException:
            async with gate:
                if st.stopping.is_set():
                    return StartFailed("ContainerCreating", "the pod is being deleted")
                try:
                    return await self._create_one(pod, st, name, attempts[name], pid_ns, actions)
                except BaseException as exc:
                    return exc

        created = await asyncio.gather(*(create(n) for n in names))
        if network is not None:
            try:
                st.sandbox = await network
            except BaseException:
                await asyncio.gather(*(self._abandon(r) for r in created if isinstance(r, ContainerRecord)))
                raise
        if st.stopping.is_set():
            # A delete arrived while creating: nothing created is started (the termination kills it).
            return None

        async def start(item: ContainerRecord | BaseException) -> ContainerRecord | BaseException:
            if not isinstance(item, ContainerRecord):
                return item
            try:
                return await self._start_one(pod, st, item)
            except BaseException as exc:
                return exc

        results = await asyncio.gather(*(start(r) for r in created))
        soon = False
        for name, res in zip(names, results, strict=True):
            fp = field_path("init" if name == actions.start_init else "regular", name)
            if isinstance(res, StartFailed):
                if res.reason == "ContainerCreating":
                    continue
                prev = st.failures.get(name)
                st.failures[name] = StartFailure(res.reason, res.message, (prev.count + 1) if prev else 1,
                                                 self.clock.now())
                st.waiting[name] = Waiting(res.reason, res.message)
                self.events.record(pod, "Warning", "Failed", f"Error: {res.message}", fp)
                soon = True   # the status moves on to the back-off reason (ImagePullBackOff) in a second
            elif isinstance(res, asyncio.CancelledError):
                raise res
            elif isinstance(res, BaseException):
                log.error("starting %s/%s failed: %r", pod["metadata"]["name"], name, res)
                st.waiting[name] = Waiting("ContainerCreating", str(res))
                raise res
            else:
                st.failures.pop(name, None)
                st.waiting.pop(name, None)
                if res.state != "running":
                    self.events.record(pod, "Warning", "Failed", res.message, fp)
                    soon = True   # StartError: the back-off shows at once, as for an exit
                elif name == actions.start_init and _is_sidecar(specs.get(name)):
                    soon = True   # a sidecar runs: the next init (or the regular) containers come next
        if soon:
            return self.clock.now()
        return retry_at

    async def _ensure_images(self, pod: dict[str, Any], st: PodState, names: list[str],
                             actions: PodActions) -> tuple[list[str], float | None]:
        """EnsureImageExists (kuberuntime startContainer step 1) for the containers about to start:
        those whose image is not ready wait (ErrImagePull, ImagePullBackOff, ...) until the image
        manager's retry time. A delete of the pod stops its wait for a pull."""
        if self.images is None or not names:
            return names, None

        def record(name: str, type_: str, reason: str, message: str) -> None:
            self.events.record(pod, type_, reason, message,
                               field_path("init" if name == actions.start_init else "regular", name))

        pulling = asyncio.ensure_future(self.images.ensure(pod, names, record))
        stop = asyncio.ensure_future(st.stopping.wait())
        try:
            await asyncio.wait({pulling, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not pulling.done():
                pulling.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pulling
        if pulling.cancelled():
            return [], None
        results = pulling.result()
        retry_at: float | None = None
        for name in names:
            res = results[name]
            if res.ok:
                continue
            st.waiting[name] = Waiting(res.reason, res.message)
            if res.retry_at is not None:
                retry_at = res.retry_at if retry_at is None else min(retry_at, res.retry_at)
        return [n for n in names if results[n].ok], retry_at

    async def _infra_pid_ns(self, pod: dict[str, Any], st: PodState, records: list[ContainerRecord]) -> str | None:
        if not pod["spec"].get("shareProcessNamespace"):
            return None
        assert st.sandbox is not None
        pause = next((r for r in records if r.kind == "infra" and r.state == "running"
                      and self.runtime.is_alive(r)), None)
        if pause is None:
            attempt = 1 + max((r.attempt for r in records if r.kind == "infra"), default=-1)
            pause = await self.offload(self.runtime.create_infra, pod, st.sandbox, attempt)
            self.records.put_container(pause)
        return f"/proc/{pause.pid}/ns/pid"

    async def _create_one(self, pod: dict[str, Any], st: PodState, name: str, attempt: int, pid_ns: str | None,
                          actions: PodActions) -> ContainerRecord:
        assert st.sandbox is not None and st.volume_paths is not None
        req = CreateRequest(pod, name, attempt, st.sandbox, dict(st.volume_paths), pid_ns,
                            lambda reason, msg: self.events.record(pod, "Warning", reason, msg))
        try:
            rec = cast(ContainerRecord, await self.offload(self.runtime.create, req))
        except StartFailed:
            raise
        except PodbayError as exc:
            raise StartFailed("CreateContainerError", str(exc)) from exc
        except (ValueError, TypeError, UnicodeError, KeyError) as exc:
            # Input the API should have refused (a lone surrogate in a command...): report, retry later.
            raise StartFailed("CreateContainerError", f"{type(exc).__name__}: {exc}") from exc
        entry = actions.backoff.get(name)
        if entry is not None:
            rec = rec.with_(backoff=entry.delay, backoff_at=entry.updated)
        self.records.put_container(rec)   # commit before anything else may act on it
        st.hook_errors.pop(name, None)
        if rec.state == "created":
            self.events.record(pod, "Normal", "Created", f"Created container: {name}", field_path(rec))
            await self.evictions.track_container(pod, name, self.runtime.container_dir(rec.id) / "upper",
                                                 Path(rec.log_path).parent)
        return rec

    async def _start_one(self, pod: dict[str, Any], st: PodState, rec: ContainerRecord) -> ContainerRecord:
        if rec.state != "created":
            return rec
        rec = cast(ContainerRecord, await self.offload(self.runtime.start, rec))
        self.records.put_container(rec)
        if rec.state != "running":
            return rec
        self.events.record(pod, "Normal", "Started", f"Started container {rec.name}", field_path(rec))
        ctr = _spec_containers(pod).get(rec.name) or {}
        handler = (ctr.get("lifecycle") or {}).get("postStart")
        if handler:
            await self._post_start(pod, st, ctr, rec, handler)
        return rec

    async def _post_start(self, pod: dict[str, Any], st: PodState, ctr: dict[str, Any], rec: ContainerRecord,
                          handler: Mapping[str, Any]) -> None:
        """startContainer step 4: the hook blocks this pod's worker; a failure kills the container."""
        ip = st.sandbox.ips[0] if st.sandbox and st.sandbox.ips else ""
        hook = asyncio.ensure_future(self.hooks.run(pod, ctr, rec, handler, ip,
                                                    lambda m: self.events.record(pod, "Warning",
                                                                                 "LifecycleHTTPFallback", m)))
        stop = asyncio.ensure_future(st.stopping.wait())
        exited = asyncio.ensure_future(self._wait_exit(rec, st, None))
        try:
            await asyncio.wait({hook, stop, exited}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            exited.cancel()
        if not hook.done():
            hook.cancel()       # the pod is being deleted, or the container died: the hook ends with it
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await hook
            return
        err = hook.exception() or hook.result()
        if not err:
            return
        message = str(err)
        log.info("PostStartHook of %s/%s failed: %s", pod["metadata"]["name"], rec.name, message)
        self.events.record(pod, "Warning", "FailedPostStartHook", "PostStartHook failed", field_path(rec))
        await self.kill_container(pod, st, rec, KillReason(REASON_POST_START, REASON_POST_START), spec_grace(pod))
        await self.offload(self.observe_exits, pod, st, False)
        st.hook_errors[rec.name] = Waiting("PostStartHookError", message)

    async def _abandon(self, rec: ContainerRecord) -> None:
        """The network failed after this attempt was created: forget it (it never ran)."""
        with contextlib.suppress(PodbayError, OSError):
            await self.offload(self.runtime.signal, rec, signal.SIGKILL)
            await self.offload(self.runtime.remove, rec)
        self.records.delete_container(rec.id)

    # ================================================================== kill
    async def kill_container(self, pod: dict[str, Any], st: PodState, rec: ContainerRecord,
                             why: KillReason | None, grace: float) -> None:
        """killContainer: Killing event, preStop within the grace, the stop signal, SIGKILL after the grace."""
        specs = _spec_containers(pod)
        ctr = specs.get(rec.name) if rec.kind != "infra" else None
        if ctr is not None:
            msg = why.message if why is not None and why.message else f"Stopping container {rec.name}"
            self.events.record(pod, "Normal", "Killing", msg, field_path(rec))
        if st.lifecycle.phase != "syncing" and st.lifecycle.grace is not None:
            grace = min(grace, st.lifecycle.grace)   # a pod being deleted: its deletion grace rules
        start = self.clock.monotonic()
        hook: asyncio.Future[str | None] | None = None
        pre_stop = ((ctr or {}).get("lifecycle") or {}).get("preStop")
        if pre_stop and grace > 0 and rec.state == "running":
            ip = st.sandbox.ips[0] if st.sandbox and st.sandbox.ips else ""
            hook = asyncio.ensure_future(self.hooks.run(pod, ctr or {}, rec, pre_stop, ip))
            await self._wait_bounded(hook, start, grace, st)
            if hook.done():
                err = hook.exception() if not hook.cancelled() else None
                result = err or (hook.result() if not hook.cancelled() else None)
                if result:
                    log.info("PreStopHook of %s/%s failed: %s", pod["metadata"]["name"], rec.name, result)
                    self.events.record(pod, "Warning", "FailedPreStopHook", "PreStopHook failed", field_path(rec))
            grace -= int(self.clock.monotonic() - start)
        if grace > 0:
            grace = max(grace, MIN_GRACE)
        try:
            await self._stop(rec, grace, st)
        finally:
            if hook is not None and not hook.done():
                hook.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await hook

    async def _wait_bounded(self, fut: asyncio.Future[Any], start: float, grace: float, st: PodState) -> None:
        seen = st.lifecycle.grace
        end = start + grace
        while not fut.done():
            lc = st.lifecycle
            if lc.grace is not None and lc.phase != "syncing" and lc.grace != seen:
                seen = lc.grace
                end = min(end, self.clock.monotonic() + lc.grace)
            left = end - self.clock.monotonic()
            if left <= 0:
                return
            await self._wait_any(st, left, fut)

    async def _stop(self, rec: ContainerRecord, grace: float, st: PodState) -> None:
        sig = rec.stop_signal or int(signal.SIGTERM)
        start = self.clock.monotonic()
        killed = False
        if grace > 0:
            await self.offload(self.runtime.signal, rec, sig)
        else:
            await self.offload(self.runtime.signal, rec, int(signal.SIGKILL))
            killed = True
        end = start + (grace if grace > 0 else 10.0)
        seen = st.lifecycle.grace
        while True:
            if self.runtime.exit_status(rec) is not None or not self.runtime.is_alive(rec):
                return
            lc = st.lifecycle
            now = self.clock.monotonic()
            if not killed and lc.grace is not None and lc.phase != "syncing" and lc.grace != seen:
                seen = lc.grace
                end = min(end, now + lc.grace)
            if now >= end:
                if killed:
                    log.warning("container %s did not exit 10 s after SIGKILL", rec.id[:12])
                    return
                await self.offload(self.runtime.signal, rec, int(signal.SIGKILL))
                killed = True
                end = now + 10.0
                continue
            await self._wait_any(st, min(end - now, 1.0))

    async def _wait_exit(self, rec: ContainerRecord, st: PodState, timeout: float | None) -> None:
        while self.runtime.exit_status(rec) is None and self.runtime.is_alive(rec):
            await self._wait_any(st, 1.0)

    async def _wait_any(self, st: PodState, timeout: float, fut: asyncio.Future[Any] | None = None) -> None:
        """Until a poke (an exit event, a new grace), ``fut`` completes, or ``timeout`` passes."""
        sleeper = asyncio.ensure_future(self.clock.sleep(timeout))
        waker = asyncio.ensure_future(st.wake.wait())
        waiting: set[asyncio.Future[Any]] = {sleeper, waker}
        if fut is not None:
            waiting.add(fut)
        try:
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()
        st.wake.clear()

    # ================================================================== exits
    def _exits_to_observe(self, st: PodState) -> bool:
        """The PLEG's relist, cheaply: does observe_exits have anything to record? (an exit file, a
        dead monitor, an attempt left "created"). Most syncs of a running pod find nothing, and then
        skip the hand-off to a thread."""
        for rec in self.records.containers(st.uid):
            if rec.state == "created":
                return True
            if rec.state == "running" and (self.runtime.exit_status(rec) is not None or not self.runtime.is_alive(rec)):
                return True
        return False

    def observe_exits(self, pod: Mapping[str, Any], st: PodState, may_start: bool) -> None:
        """Record exits of running attempts (exit file, or a dead monitor) and free their runtime state.

        A "created" attempt is an agent crash between create and start: the runtime's own state says
        what happened (``crun state``), so a container that did start is never started (or killed)
        again; one that did not is started now (only while the pod syncs)."""
        changed = False
        for rec in self.records.containers(st.uid):
            if rec.state not in ("running", "created"):
                continue
            if rec.state == "created":
                status = self.runtime.runtime_status(rec)
                if status == "running":
                    self.records.put_container(rec.with_(state="running", started_at=rec.started_at or
                                                         self.clock.now()))
                    continue
                if status == "created" and self.runtime.is_alive(rec):
                    if self.sandboxes.network.result(st.uid) is None:
                        # Never start a container before the pod network is set (issue 11 item 15): the
                        # agent died before CNI ADD finished; this attempt is made again after the ADD.
                        with contextlib.suppress(PodbayError, OSError):
                            self.runtime.signal(rec, int(signal.SIGKILL))
                            self.runtime.remove(rec)
                        self.records.delete_container(rec.id)
                        continue
                    if may_start and not st.stopping.is_set():
                        self.records.put_container(self.runtime.start(rec))
                    continue
            info = self.runtime.exit_status(rec)
            if info is None:
                if self.runtime.is_alive(rec):
                    continue
                code, finished, oom = None, self.clock.now(), False
            else:
                code, finished, oom = info.code, info.finished_at, info.oom_killed
            reason = "Completed" if code == 0 else ("Error" if code is not None else "Unknown")
            if oom:
                reason = "OOMKilled"
            message = self.termination_message(pod, rec, code)
            self.records.put_container(rec.with_(state="exited", exit_code=code, reason=reason,
                                                 finished_at=finished, message=message or rec.message))
            changed = True
            with contextlib.suppress(PodbayError, OSError):
                self.runtime.remove(rec)
        if changed:
            self.collect_garbage(pod, st)
            self.after_exits(pod, self.records.containers(st.uid))

    def collect_garbage(self, pod: Mapping[str, Any], st: PodState) -> None:
        """Old attempts go: their rows, their log files (rotated ones too), their termination-log files."""
        for rec in container_gc.attempts_to_remove(self.records.containers(st.uid)):
            for path in _attempt_files(rec, self.sandboxes.pod_dir(st.uid)):
                with contextlib.suppress(OSError):
                    path.unlink()
            self.records.delete_container(rec.id)

    def termination_message(self, pod: Mapping[str, Any], rec: ContainerRecord, code: int | None) -> str:
        """getTerminationMessage: the attempt's fresh file, else (FallbackToLogsOnError) its log tail."""
        ctr = _spec_containers(pod).get(rec.name)
        if ctr is None or rec.kind == "infra":
            return ""
        path = self.sandboxes.pod_dir(rec.pod_uid) / "containers" / rec.name / rec.id[:8]
        try:
            with open(path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - termination.MAX_FILE_BYTES))
                data: bytes | None = f.read()
        except FileNotFoundError:
            data = None
        except OSError as exc:
            return f"Error on reading termination log {path}: {exc}"
        policy = str(ctr.get("terminationMessagePolicy") or "File")
        if (data or not termination.falls_back(policy, code, rec.reason)):
            return termination.message(policy, code, rec.reason, data, None)
        try:
            return termination.message(policy, code, rec.reason, data, _tail_lines(rec.log_path))
        except OSError as exc:
            return f"Error on reading termination message from logs: {exc}"

    # ================================================================== terminating / terminated
    async def sync_terminating_pod(self, pod: dict[str, Any], st: PodState) -> None:
        """Stop liveness/startup probes, kill every container (regular in parallel, then sidecars in
        reverse order, the infra process last), and check nothing runs any more."""
        uid = st.uid
        self._best_effort_status(pod, st, terminal=False)
        self.prober.stop_liveness_and_startup(uid)
        await self.offload(self.observe_exits, pod, st, False)
        grace = st.lifecycle.grace if st.lifecycle.grace is not None else spec_grace(pod)
        begin = self.clock.monotonic()
        live = [r for r in self.records.containers(uid) if r.state in ("running", "created")]
        specs = _spec_containers(pod)
        regular = [r for r in live if r.kind == "regular" or (r.kind == "init" and not _is_sidecar(specs.get(r.name)))]
        order = [c["name"] for c in pod["spec"].get("initContainers") or [] if _is_sidecar(c)]
        sidecars = sorted((r for r in live if r.kind == "init" and _is_sidecar(specs.get(r.name))),
                          key=lambda r: order.index(r.name) if r.name in order else -1, reverse=True)
        infra = [r for r in live if r.kind == "infra"]
        await asyncio.gather(*(self.kill_container(pod, st, r, None, grace) for r in regular))
        for r in sidecars:
            left = max(grace - (self.clock.monotonic() - begin), 0.0) if grace > 0 else 0.0
            await self.kill_container(pod, st, r, None, left if left > 0 or grace <= 0 else MIN_GRACE)
        # The infra process goes last: when PID 1 of a shared PID namespace dies the kernel kills the rest.
        await asyncio.gather(*(self.kill_container(pod, st, r, None, 0) for r in infra))
        await self.offload(self.observe_exits, pod, st, False)
        still = [r.name for r in self.records.containers(uid) if r.state in ("running", "created")]
        if still:
            raise PodbayError(f"containers still running after the kill: {', '.join(still)}")
        self.prober.remove_pod(uid)

    async def sync_terminated_pod(self, pod: dict[str, Any], st: PodState) -> bool:
        """Release volumes and network; a deleted pod is then forgotten (True: the worker may end)."""
        uid = st.uid
        if not st.torn_down:
            self.evictions.untrack(uid)
            await self.offload(self.volumes.teardown, self.sandboxes.pod_dir(uid))
            await self.offload(self.sandboxes.teardown_network, uid)
            st.sandbox = None
            st.torn_down = True
        if not st.lifecycle.deleted:
            self._best_effort_status(pod, st, terminal=True)
            return False
        await self.offload(self._forget, pod)
        self.pods.finish_deletion(pod)
        return True

    def _forget(self, pod: dict[str, Any]) -> None:
        uid = pod["metadata"]["uid"]
        for rec in self.records.containers(uid):
            with contextlib.suppress(PodbayError, OSError):
                self.runtime.remove(rec)
        self.records.delete_pod_containers(uid)
        self.on_records(uid, [])
        self.events.forget(pod)
        self.sandboxes.remove_pod_dirs(pod)

    # ================================================================== status
    def write_status(self, pod: Mapping[str, Any], st: PodState, terminal: bool = False) -> None:
        uid = st.uid
        records = self.records.containers(uid)
        self.on_records(uid, records)
        self.prober.update_pod(pod, records, st.sandbox.ips[0] if st.sandbox and st.sandbox.ips else "")
        ready, started = self.prober.flags(pod, records)
        waiting = {**st.hook_errors, **st.waiting}
        lc = st.lifecycle
        view = PodRuntimeView(
            records=tuple(records), waiting=waiting,
            pod_ip=st.sandbox.ips[0] if st.sandbox and st.sandbox.ips else None,
            # PodReadyToStartContainers: namespaces pinned AND the network set up (CNI ADD done).
            sandbox_ready=st.sandbox is not None and bool(st.sandbox.ips) and not st.torn_down,
            terminal_reason=lc.reason, terminal_message=lc.message)
        now = self.clock.now()
        annotations = {}
        if st.volume_paths is not None:
            annotations[VOLUME_PATHS_ANNOTATION] = json.dumps(st.volume_paths, sort_keys=True)

        def status_of(fresh: dict[str, Any]) -> StatusUpdate:
            return StatusUpdate(pod_status(fresh, view, now, self.host_ip, ready=ready, started=started,
                                                 pod_is_terminal=terminal), annotations)

        self.status.update_status(uid, status_of)

    def _best_effort_status(self, pod: Mapping[str, Any], st: PodState, terminal: bool) -> None:
        """Termination must never hang on a status that cannot be computed (a malformed spec)."""
        try:
            self.write_status(pod, st, terminal)
        except Exception:
            log.exception("cannot write the status of pod %s", pod.get("metadata", {}).get("name"))

