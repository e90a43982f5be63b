"""One asyncio task per pod: sync until terminal or deleted, then terminate and clean up.

The blocking work (mounts, CNI, conmon) runs in threads; the worker serialises everything for its
pod, so no two steps for one pod ever race. Wake-ups come from exit events (inotify), API changes
and the plan's own wake_at (back-off expiry), with a periodic resync as a backstop.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import signal
import time
from pathlib import Path
from typing import Any

from podbay.agent import events, infra, projections
from podbay.agent.containers import (
    StartFailed,
    cleanup_container,
    create_container,
    find_container,
    needs_pod_ip,
    start_created,
)
from podbay.agent.deps import Deps
from podbay.agent.eviction import EvictionManager
from podbay.agent.image_puller import ensure_images
from podbay.agent.podstatus import finish_pod_deletion, write_pod_status
from podbay.agent.sandbox import (
    Sandbox,
    attach_network,
    prepare_sandbox,
    remove_pod_dirs,
    setup_volumes,
    teardown_network,
    teardown_volumes,
)
from podbay.core import phase
from podbay.core.actions import PodActions, StartFailure, compute_pod_actions
from podbay.core.image_policy import ImageEvent
from podbay.core.records import ContainerRecord, PodRuntimeView, Waiting
from podbay.errors import PodbayError

log = logging.getLogger("podbay.worker")

VOLUME_PATHS_ANNOTATION = "podbay.io/volume-paths"


class PodWorker:
    def __init__(self, deps: Deps, uid: str, evictions: EvictionManager) -> None:
        self.deps = deps
        self.evictions = evictions
        self.uid = uid
        self.wake = asyncio.Event()
        self.failures: dict[str, StartFailure] = {}
        self.waiting: dict[str, Waiting] = {}
        self.sandbox: Sandbox | None = None
        self.volume_paths: dict[str, str] | None = None
        self.terminal_reason = ""
        self.terminal_message = ""
        self.evict_requested: tuple[str, str] | None = None
        self.torn_down = False
        self.task: asyncio.Task[None] | None = None
        self.done = asyncio.Event()

    # ------------------------------------------------------------------ loop
    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"pod-{self.uid}")

    def poke(self) -> None:
        self.wake.set()

    async def _run(self) -> None:
        try:
            while True:
                pod = self._load()
                if pod is None:
                    return
                if pod["metadata"].get("deletionTimestamp"):
                    if await self._terminate_safely(pod):
                        return
                    continue
                wake_at = await self._sync_safely(pod)
                timeout = self.deps.cfg.resync_seconds
                if wake_at is not None:
                    timeout = max(0.0, min(timeout, wake_at - time.time()))
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), timeout)
                self.wake.clear()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("pod worker %s crashed", self.uid)
        finally:
            self.done.set()

    def _load(self) -> dict[str, Any] | None:
        stored = self.deps.repo.by_uid(self.uid)
        return None if stored is None else stored.copy()

    async def _sync_safely(self, pod: dict[str, Any]) -> float | None:
        try:
            return await self._sync(pod)
        except PodbayError as exc:
            log.warning("sync of pod %s failed: %s", pod["metadata"]["name"], exc)
            events.record(self.deps, pod, "Warning", "FailedSync", str(exc))
            self._publish_status(pod)
            return time.time() + 2.0

    # ------------------------------------------------------------------ sync
    async def _sync(self, pod: dict[str, Any]) -> float | None:
        await asyncio.to_thread(self._observe_exits)
        if self.evict_requested is not None and not self.terminal_reason:
            self.terminal_reason, self.terminal_message = self.evict_requested
            events.record(self.deps, pod, "Warning", self.terminal_reason, self.terminal_message)
        if self.terminal_reason or self._is_terminal(pod):
            self._publish_status(pod)
            if not self.torn_down:
                # Evictions override the pod's grace period with 1 s, as the kubelet does.
                await self._teardown(pod, grace=1 if self.terminal_reason else 2)
                self._publish_status(pod)
            return None
        # Namespaces are pinned while the volumes are set up: the two are independent.
        pinning = None if self.sandbox is not None else \
            asyncio.ensure_future(asyncio.to_thread(prepare_sandbox, self.deps, pod))
        try:
            if not await self._ensure_volumes(pod):
                return time.time() + 2.0
        finally:
            if pinning is not None:
                await asyncio.wait([pinning])
                if pinning.exception() is None:
                    self.sandbox = pinning.result()
        if pinning is not None and pinning.exception() is not None:
            raise pinning.exception()  # type: ignore[misc]
        network: asyncio.Future[Sandbox] | None = None
        if self.sandbox is None or not self.sandbox.ips:
            assert self.sandbox is not None
            # CNI ADD runs while the containers are created; they are started once it is done.
            network = asyncio.ensure_future(asyncio.to_thread(attach_network, self.deps, pod, self.sandbox))
        try:
            await self._plan_and_execute(pod, network)
        finally:
            if network is not None and not network.done():
                await asyncio.wait([network])
        if network is not None and network.exception() is None:
            self.sandbox = network.result()
        self._publish_status(pod)
        return self._wake_at

    async def _ensure_volumes(self, pod: dict[str, Any]) -> bool:
        """Set up the pod's volumes once (idempotent), or refresh projected ones; False on a mount failure."""
        if self.volume_paths is None:
            try:
                self.volume_paths = await asyncio.to_thread(setup_volumes, self.deps, pod)
            except PodbayError as exc:
                events.record(self.deps, pod, "Warning", "FailedMount", str(exc))
                self._set_all_waiting(pod, "ContainerCreating", "")
                self._publish_status(pod)
                return False
            await asyncio.to_thread(self.evictions.track, pod, self.volume_paths)
        elif any(projections.is_projection(v) for v in pod["spec"].get("volumes") or []):
            await asyncio.to_thread(projections.refresh_all, self.deps, pod, self.deps.cfg.pod_dir(self.uid))
        return True

    async def _plan_and_execute(self, pod: dict[str, Any], network: asyncio.Future[Sandbox] | None) -> None:
        self._wake_at: float | None = None
        records = self.deps.store.containers(self.uid)
        actions = compute_pod_actions(pod, records, self.failures, time.time())
        self.waiting = dict(actions.waiting)
        for name, w in actions.waiting.items():
            if w.reason == "CrashLoopBackOff":
                md = pod["metadata"]
                events.record(self.deps, pod, "Warning", "BackOff",
                              f"Back-off restarting failed container {name} in pod "
                              f"{md['name']}_{md['namespace']}({md['uid']})")
        self._wake_at = actions.wake_at
        await self._execute(pod, actions, records, network)
        if actions.all_done or actions.init_failed:
            self.poke()  # next round notices the terminal phase and tears down

    async def _execute(self, pod: dict[str, Any], actions: PodActions, records: list[ContainerRecord],
                       network: asyncio.Future[Sandbox] | None) -> None:
        names = ([actions.start_init] if actions.start_init else []) + list(actions.start)
        names = await self._ensure_images(pod, names)   # images-lane hook, see _ensure_images
        if not names:
            if network is not None:
                self.sandbox = await network
            return
        attempts = {n: 1 + max((r.attempt for r in records if r.name == n), default=-1) for n in names}
        if network is not None and any(needs_pod_ip(find_container(pod, n)[0]) for n in names):
            self.sandbox = await network
        pid_ns = None
        if infra.wants_infra(pod):
            assert self.sandbox is not None
            pause = infra.running_infra(self.deps, self.uid)
            if pause is None:
                pause = await asyncio.to_thread(infra.start_infra, self.deps, pod, self.sandbox)
            pid_ns = infra.pid_ns_path(pause)
        created = await asyncio.gather(*(asyncio.to_thread(self._create_one, pod, n, attempts[n], pid_ns)
                                         for n in names), return_exceptions=True)
        if network is not None:
            try:
                self.sandbox = await network
            except BaseException:
                await asyncio.gather(*(asyncio.to_thread(self._abandon, r) for r in created
                                       if isinstance(r, ContainerRecord)))
                raise
        results = await asyncio.gather(*(asyncio.to_thread(self._start_created, r)
                                         if isinstance(r, ContainerRecord) else _returned(r) for r in created),
                                       return_exceptions=True)
        for name, res in zip(names, results, strict=True):
            if isinstance(res, StartFailed):
                prev = self.failures.get(name)
                self.failures[name] = StartFailure(res.reason, res.message, (prev.count + 1) if prev else 1,
                                                   time.time())
                self.waiting[name] = Waiting(res.reason, res.message)
                events.record(self.deps, pod, "Warning", "Failed", f"Error: {res.message}",
                              f"spec.containers{{{name}}}")
                # Sync again soon: the status moves on to the back-off reason (e.g. ImagePullBackOff).
                soon = time.time() + 1.0
                self._wake_at = soon if self._wake_at is None else min(self._wake_at, soon)
            elif isinstance(res, BaseException):
                log.error("starting %s/%s failed: %r", pod["metadata"]["name"], name, res)
                self.waiting[name] = Waiting("ContainerCreating", str(res))
            else:
                assert isinstance(res, ContainerRecord)
                self.failures.pop(name, None)
                self.waiting.pop(name, None)
                if res.state == "running":
                    events.record(self.deps, pod, "Normal", "Started", f"Started container {name}",
                                  f"spec.containers{{{name}}}")
                else:
                    events.record(self.deps, pod, "Warning", "Failed", res.message, f"spec.containers{{{name}}}")

    # ---- images-lane hook: EnsureImageExists before a container is created (kuberuntime startContainer
    # step 1). Containers whose image is not ready wait (ErrImagePull, ImagePullBackOff, ...) until
    # the image manager's retry time; they never reach create_container.
    async def _ensure_images(self, pod: dict[str, Any], names: list[str]) -> list[str]:
        manager = self.deps.image_manager
        if manager is None or not names:
            return names

        def record(name: str, ev: ImageEvent) -> None:
            events.record(self.deps, pod, ev.type, ev.reason, ev.message, _field_path(pod, name))

        task = asyncio.ensure_future(ensure_images(manager, pod, names, lambda n: find_container(pod, n)[0],
                                                   lambda ns, n: self.deps.store.get_object("Secret", ns, n), record))
        woken = False
        while not task.done():   # a pull can take long: a delete of the pod cancels this pod's wait for it
            self.wake.clear()
            waker = asyncio.ensure_future(self.wake.wait())
            await asyncio.wait({task, waker}, return_when=asyncio.FIRST_COMPLETED)
            waker.cancel()
            woken = woken or waker.done()
            fresh = self._load()
            if not task.done() and (fresh is None or fresh["metadata"].get("deletionTimestamp")):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                self.poke()
                return []
        if woken:
            self.poke()   # what woke us still needs its sync
        results = task.result()
        for name, res in results.items():
            if not res.ok:
                self.waiting[name] = Waiting(res.reason, res.message)
                if res.retry_at is not None:
                    self._wake_at = res.retry_at if self._wake_at is None else min(self._wake_at, res.retry_at)
        return [n for n in names if results[n].ok]

    def _create_one(self, pod: dict[str, Any], name: str, attempt: int, pid_ns: str | None) -> ContainerRecord:
        assert self.sandbox is not None and self.volume_paths is not None
        rec = create_container(self.deps, pod, name, attempt, self.sandbox, self.volume_paths, pid_ns)
        self.deps.store.put_container(rec)   # commit before anything else may act on it
        if rec.state == "created":
            self.evictions.track_container(pod, name, self.deps.runtime.container_dir(rec.id) / "upper",
                                           Path(rec.log_path).parent)
        return rec

    def _start_created(self, rec: ContainerRecord) -> ContainerRecord:
        if rec.state != "created":
            return rec
        rec = start_created(self.deps, rec)
        self.deps.store.put_container(rec)
        return rec

    def _abandon(self, rec: ContainerRecord) -> None:
        """The network failed after this attempt was created: forget it (it never ran)."""
        with contextlib.suppress(PodbayError):
            self.deps.runtime.stop(rec.id, 0, rec.conmon_pid)
            cleanup_container(self.deps, rec.id)
        self.deps.store.delete_container(rec.id)

    def _observe_exits(self) -> None:
        """Record exits of running attempts (exit file, or a dead conmon) and free their runtime state."""
        for rec in self.deps.store.containers(self.uid):
            if rec.state not in ("running", "created"):
                continue
            if rec.state == "created" and self.deps.runtime.is_running(rec.conmon_pid, rec.conmon_start):
                if self.deps.network.result(self.uid) is None:
                    # Never start a container before the pod network is set (issue 11 item 15): the
                    # agent died before CNI ADD finished; this attempt is made again after the ADD.
                    self._abandon(rec)
                    continue
                # The agent stopped between create and start: finish the start now.
                self.deps.store.put_container(start_created(self.deps, rec))
                continue
            info = self.deps.runtime.exit_info(rec.id)
            if info is None:
                if self.deps.runtime.is_running(rec.conmon_pid, rec.conmon_start):
                    continue
                info_code, finished = None, time.time()
            else:
                info_code, finished = info.code, info.finished_at
            reason = "Completed" if info_code == 0 else ("Error" if info_code is not None else "Unknown")
            if self.deps.runtime.oom_killed(rec.id):
                reason = "OOMKilled"
            self.deps.store.put_container(rec.with_(state="exited", exit_code=info_code, reason=reason,
                                                    finished_at=finished))
            with contextlib.suppress(PodbayError):
                cleanup_container(self.deps, rec.id)

    def _is_terminal(self, pod: dict[str, Any]) -> bool:
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return True   # terminal is forever (and survives agent restarts)
        view = self._view(pod)
        return phase.pod_phase(pod, view) in ("Succeeded", "Failed")

    # ------------------------------------------------------------------ status
    def _view(self, pod: dict[str, Any]) -> PodRuntimeView:
        return PodRuntimeView(
            records=tuple(self.deps.store.containers(self.uid)), waiting=dict(self.waiting),
            pod_ip=self.sandbox.ips[0] if self.sandbox and self.sandbox.ips else None,
            # PodReadyToStartContainers: namespaces pinned AND the network set up (CNI ADD done).
            sandbox_ready=self.sandbox is not None and bool(self.sandbox.ips) and not self.torn_down,
            terminal_reason=self.terminal_reason, terminal_message=self.terminal_message,
        )

    def _set_all_waiting(self, pod: dict[str, Any], reason: str, message: str) -> None:
        for c in (pod["spec"].get("initContainers") or []) + pod["spec"]["containers"]:
            self.waiting.setdefault(c["name"], Waiting(reason, message))

    def _publish_status(self, pod: dict[str, Any]) -> None:
        fresh = self._load()
        if fresh is None:
            return
        old = copy.deepcopy(fresh)
        fresh["status"] = phase.pod_status(fresh, self._view(fresh), time.time(), self.deps.host_ip)
        if self.volume_paths is not None:
            fresh["metadata"].setdefault("annotations", {})[VOLUME_PATHS_ANNOTATION] = \
                json.dumps(self.volume_paths, sort_keys=True)
        if _same_status(old, fresh):
            return
        annotations = None
        if self.volume_paths is not None:
            annotations = {VOLUME_PATHS_ANNOTATION: fresh["metadata"]["annotations"][VOLUME_PATHS_ANNOTATION]}
        write_pod_status(self.deps.repo, self.uid, fresh["status"], annotations)

    # ------------------------------------------------------------------ termination
    async def _teardown(self, pod: dict[str, Any], grace: float) -> None:
        self.evictions.untrack(self.uid)
        await self._stop_all(grace)
        await asyncio.to_thread(self._observe_exits)
        await asyncio.to_thread(teardown_volumes, self.deps, self.uid)
        await asyncio.to_thread(teardown_network, self.deps, self.uid)
        self.torn_down = True
        self.sandbox = None

    async def _stop_all(self, grace: float) -> None:
        live = [r for r in self.deps.store.containers(self.uid) if r.state in ("running", "created")]
        # The infra process goes last: when PID 1 of a shared PID namespace dies, the kernel SIGKILLs the rest.
        for group in ([r for r in live if r.kind != "infra"], [r for r in live if r.kind == "infra"]):
            if group:
                await self._stop_group(group, grace)

    async def _stop_group(self, group: list[ContainerRecord], grace: float) -> None:
        """Stop containers in parallel; a later delete with a shorter grace period (e.g. --now or
        --force after a plain delete) brings the SIGKILL forward, as the kubelet honours it."""
        stopping: asyncio.Future[Any] = asyncio.ensure_future(asyncio.gather(*(
            asyncio.to_thread(self.deps.runtime.stop, r.id, grace, r.conmon_pid) for r in group)))
        kill_at: float | None = None
        while not stopping.done():
            self.wake.clear()
            waker: asyncio.Future[Any] = asyncio.ensure_future(self.wake.wait())
            timeout = None if kill_at is None else max(0.0, kill_at - time.monotonic())
            await asyncio.wait({stopping, waker}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            waker.cancel()
            if kill_at is not None and time.monotonic() >= kill_at:
                await asyncio.gather(*(asyncio.to_thread(self.deps.runtime.signal, r.id, signal.SIGKILL)
                                       for r in group))
                kill_at = None
                continue
            shorter = ((self._load() or {}).get("metadata") or {}).get("deletionGracePeriodSeconds")
            if shorter is not None and float(shorter) < grace:
                grace = float(shorter)
                kill_at = time.monotonic() + grace
        await stopping

    async def _terminate_safely(self, pod: dict[str, Any]) -> bool:
        """Terminate; on a failure (a busy mount, a CNI error) record it and retry after a pause."""
        try:
            await self._terminate(pod, deleting=True)
            return True
        except PodbayError as exc:
            log.warning("tearing down pod %s failed, will retry: %s", pod["metadata"]["name"], exc)
            events.record(self.deps, pod, "Warning", "FailedKillPod", str(exc))
            self.torn_down = False
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.wake.wait(), 2.0)
            self.wake.clear()
            return False

    async def _terminate(self, pod: dict[str, Any], deleting: bool) -> None:
        grace = float(pod["metadata"].get("deletionGracePeriodSeconds",
                                          pod["spec"].get("terminationGracePeriodSeconds", 30)))
        self._publish_status(pod)
        await self._teardown(pod, grace)
        await asyncio.to_thread(self._forget, pod)
        if deleting:
            md = pod["metadata"]
            # Claims this pod protected are released by agent.claims when the pod is gone.
            finish_pod_deletion(self.deps.repo, md["namespace"], md["name"], self.uid)

    def _forget(self, pod: dict[str, Any]) -> None:
        for rec in self.deps.store.containers(self.uid):
            with contextlib.suppress(PodbayError):
                cleanup_container(self.deps, rec.id)
        self.deps.store.delete_pod_containers(self.uid)
        events.forget(self.deps, pod)
        remove_pod_dirs(self.deps, pod)

    def evict(self, reason: str, message: str) -> None:
        self.evict_requested = (reason, message)
        self.poke()


def _field_path(pod: dict[str, Any], name: str) -> str:
    kind = "initContainers" if any(c["name"] == name for c in pod["spec"].get("initContainers") or []) \
        else "containers"
    return f"spec.{kind}{{{name}}}"


async def _returned(value: BaseException) -> BaseException:
    return value


def _same_status(a: dict[str, Any], b: dict[str, Any]) -> bool:
    sa, sb = a.get("status") or {}, b.get("status") or {}
    return json.dumps(sa, sort_keys=True) == json.dumps(sb, sort_keys=True) and \
        a["metadata"].get("annotations") == b["metadata"].get("annotations")
