"""The supervisor of pod workers: adoption at start, one worker per stored pod, woken by changes.

The API operations on pods (create, replace, delete, ...) are the generic registry's, with the pod
strategy (``agent.strategies.pods``); this service reacts to what the registry stores.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from podbay.agent import gc, projections
from podbay.agent.deps import Deps
from podbay.agent.eviction import EvictionManager
from podbay.agent.hub import Event
from podbay.agent.logrotate import rotate_logs
from podbay.agent.worker import PodWorker
from podbay.errors import NotFound, PodbayError
from podbay.network import namespaces
from podbay.network.cni import netns_usable
from podbay.sys import procfs
from podbay.sys.inotify import Inotify

log = logging.getLogger("podbay.pods")


class PodService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.workers: dict[str, PodWorker] = {}
        self._inotify: Inotify | None = None
        self._gc: asyncio.Task[list[str]] | None = None
        self._rotator: asyncio.Task[None] | None = None
        self.evictions = EvictionManager(self.evict_pod)
        self._seen: dict[str, tuple[Any, ...]] = {}   # uid -> what last woke its worker
        self._unbound: set[str] = set()                # pods waiting for the scheduler

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Adopt every stored pod (nothing is killed), then watch conmon's exit dir."""
        self.evictions.attach(asyncio.get_running_loop())
        boot = procfs.boot_id()
        previous = self.deps.store.get_meta("boot_id")
        if previous is not None and previous != boot:
            await asyncio.to_thread(self._after_reboot)
        self.deps.store.set_meta("boot_id", boot)
        # The orphan snapshot is taken before any worker runs (the store is the whole truth then); the
        # collection runs in the background so the API serves at once (kubelet housekeeping).
        orphans = await asyncio.to_thread(gc.find_orphans, self.deps)
        for stored in self.deps.repo.list("Pod"):
            self._seen[stored.uid] = _wake_key(stored.obj)
            if _bound(stored.obj):
                self._spawn(stored.uid)
        self._watch_exits()
        if orphans:
            self._gc = asyncio.create_task(asyncio.to_thread(gc.collect_orphans, self.deps, orphans))
        self._rotator = asyncio.create_task(self._rotate_logs())

    async def _rotate_logs(self) -> None:
        while True:
            await asyncio.sleep(self.deps.cfg.container_log_monitor_seconds)
            try:
                await asyncio.to_thread(rotate_logs, self.deps, self.deps.cfg.container_log_max_size,
                                        self.deps.cfg.container_log_max_files)
            except OSError as exc:
                log.warning("log rotation failed: %s", exc)

    async def stop(self) -> None:
        """Stop the workers only: containers, conmon and mounts stay as they are."""
        for task in (self._gc, self._rotator):
            if task is not None:
                task.cancel()
        self.evictions.close()
        if self._inotify is not None:
            asyncio.get_running_loop().remove_reader(self._inotify.fd)
            self._inotify.close()
        for w in self.workers.values():
            if w.task:
                w.task.cancel()
        await asyncio.gather(*(w.task for w in self.workers.values() if w.task), return_exceptions=True)

    def _after_reboot(self) -> None:
        """The host rebooted: every container is gone, and so are namespaces, veths and tmpfs volumes.

        Record the exits (code from conmon's persist dir when it got to write it, else unknown), release
        the CNI attachments with the cached results (IPAM), and drop the stale namespace pins; the pod
        workers then rebuild sandboxes and restart containers per restartPolicy.
        """
        log.warning("host reboot detected (boot id changed): rebuilding pod sandboxes")
        for rec in self.deps.store.all_containers():
            if rec.state in ("running", "created") and not self.deps.runtime.is_running(rec.conmon_pid,
                                                                                         rec.conmon_start):
                info = self.deps.runtime.exit_info(rec.id)
                self.deps.store.put_container(rec.with_(
                    state="exited", exit_code=info.code if info else None,
                    reason="Completed" if info and info.code == 0 else ("Error" if info else "Unknown"),
                    finished_at=info.finished_at if info else time.time()))
        for pod in self.deps.store.list_objects("Pod"):
            uid = pod["metadata"]["uid"]
            net = self.deps.cfg.ns_dir(uid) / "net"
            with contextlib.suppress(PodbayError):
                self.deps.network.delete(uid, str(net) if netns_usable(str(net)) else None)
            self.deps.network.forget(uid)   # a stale result must never stand in for a fresh ADD
            with contextlib.suppress(PodbayError, OSError):
                namespaces.unpin(self.deps.cfg.ns_dir(uid))

    def _spawn(self, uid: str) -> PodWorker:
        w = PodWorker(self.deps, uid, self.evictions)
        self.workers[uid] = w
        w.start()
        assert w.task is not None
        w.task.add_done_callback(lambda _t: self._reap(uid, w))
        return w

    def _reap(self, uid: str, w: PodWorker) -> None:
        if self.workers.get(uid) is w:
            del self.workers[uid]

    def _watch_exits(self) -> None:
        ino = Inotify()
        ino.watch(str(self.deps.runtime.exit_dir))
        self._inotify = ino
        loop = asyncio.get_running_loop()
        loop.add_reader(ino.fd, self._on_exit_events)

    def _on_exit_events(self) -> None:
        assert self._inotify is not None
        names = set(self._inotify.read_names())
        if not names:
            return
        for rec in self.deps.store.all_containers():
            if rec.id in names:
                w = self.workers.get(rec.pod_uid)
                if w is not None:
                    w.poke()

    # ------------------------------------------------------------------ reactions to stored changes
    def attach(self) -> None:
        """Follow the hub: new pods get a worker; spec, metadata or deletion changes wake it; a
        ConfigMap/Secret change wakes the pods that project it."""
        self.deps.hub.add_listener("Pod", self._on_pod)
        for kind in ("ConfigMap", "Secret"):
            self.deps.hub.add_listener(kind, lambda ev: self.object_changed(ev.kind, ev.namespace, ev.name))

    def _on_pod(self, ev: Event) -> None:
        pod = ev.obj
        if pod is None:
            return
        uid = str((pod.get("metadata") or {}).get("uid") or "")
        if ev.type == "DELETED":
            self._seen.pop(uid, None)
            self._unbound.discard(uid)
            return
        trigger = _wake_key(pod)
        if self._seen.get(uid) == trigger and uid in self.workers:
            return   # only the status changed (the worker's own write): nothing to do
        self._seen[uid] = trigger
        w = self.workers.get(uid)
        if w is None:
            if not _bound(pod):
                self._unbound.add(uid)   # the scheduler has not placed it: nothing may start it
                return
            if ev.type == "ADDED" or uid in self._unbound or (pod.get("metadata") or {}).get("deletionTimestamp"):
                self._unbound.discard(uid)
                self._spawn(uid)
            return
        w.poke()

    def get(self, namespace: str, name: str) -> dict[str, Any]:
        pod = self.deps.repo.get("Pod", namespace, name)
        if pod is None:
            raise NotFound(f'pods "{name}" not found', {"name": name, "kind": "pods"})
        return pod

    def records(self, uid: str) -> list[Any]:
        """The container attempts of a pod (what logs and exec look up)."""
        return self.deps.store.containers(uid)

    def list(self, namespace: str | None) -> list[dict[str, Any]]:
        return [s.copy() for s in self.deps.repo.list("Pod", namespace)]

    def object_changed(self, kind: str, namespace: str, name: str) -> None:
        """A ConfigMap/Secret changed: wake the pods whose volumes project it."""
        for stored in self.deps.repo.list("Pod", namespace):
            pod = stored.obj
            if projections.uses_object(pod, kind, name):
                w = self.workers.get(pod["metadata"]["uid"])
                if w is not None:
                    w.poke()

    def evict_pod(self, uid: str, message: str) -> None:
        w = self.workers.get(uid)
        if w is not None:
            w.evict("Evicted", message)


def _bound(pod: dict[str, Any]) -> bool:
    """Bound to this node by the scheduler (a pod without spec.nodeName waits, as for a kubelet)."""
    return bool((pod.get("spec") or {}).get("nodeName"))


def _wake_key(pod: dict[str, Any]) -> tuple[Any, ...]:
    """What in a pod, when it changes, its worker must look at: spec (generation), deletion, and the
    labels and annotations the downward API may project (not the agent's own annotations)."""
    md = pod.get("metadata") or {}
    annotations = {k: v for k, v in (md.get("annotations") or {}).items() if not k.startswith("podbay.io/")}
    return (md.get("generation"), json.dumps(pod.get("spec"), sort_keys=True), md.get("deletionTimestamp"),
            md.get("deletionGracePeriodSeconds"), json.dumps(md.get("labels"), sort_keys=True),
            json.dumps(annotations, sort_keys=True))
