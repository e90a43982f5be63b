"""The API-facing pod operations and the supervisor of pod workers."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
import uuid
from typing import Any

from podbay.agent import gc, projections
from podbay.agent.deps import Deps
from podbay.agent.events import iso
from podbay.agent.eviction import EvictionManager
from podbay.agent.logrotate import rotate_logs
from podbay.agent.worker import PodWorker
from podbay.api.defaults import default_pod
from podbay.api.validation import validate_pod, validate_pod_update
from podbay.errors import AlreadyExists, NotFound, PodbayError, ValidationError
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
        for pod in self.deps.store.list_objects("Pod"):
            self._spawn(pod["metadata"]["uid"])
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

    # ------------------------------------------------------------------ API operations
    def create(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("kind", "Pod") != "Pod":
            raise ValidationError("Pod", str(body.get("metadata", {}).get("name", "")),
                                  [f'kind: Invalid value: "{body.get("kind")}": must be Pod'])
        md = body.setdefault("metadata", {})
        if md.get("namespace") and md["namespace"] != namespace:
            raise ValidationError("Pod", str(md.get("name", "")), [
                "metadata.namespace: Invalid value: "
                f'"{md["namespace"]}": the namespace of the provided object does not match the namespace sent on the '
                "request"])
        md["namespace"] = namespace
        if not md.get("name") and md.get("generateName"):
            md["name"] = md["generateName"] + uuid.uuid4().hex[:5]
        pod = default_pod(body)
        errors = validate_pod(pod)
        if errors:
            raise ValidationError("Pod", str(pod["metadata"].get("name", "")), errors)
        name = pod["metadata"]["name"]
        if self.deps.store.get_object("Pod", namespace, name) is not None:
            raise AlreadyExists(f'pods "{name}" already exists')
        now = time.time()
        pod["apiVersion"] = "v1"
        pod["kind"] = "Pod"
        md = pod["metadata"]
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = iso(now)
        md.pop("deletionTimestamp", None)
        pod["spec"]["nodeName"] = pod["spec"].get("nodeName") or self.deps.cfg.node_name
        pod["status"] = {"phase": "Pending", "qosClass": "BestEffort",
                         "conditions": [{"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                                         "lastTransitionTime": iso(now)}]}
        try:
            self.deps.store.put_object(pod, create=True)
        except Exception as exc:  # a concurrent create of the same name (UNIQUE key)
            raise AlreadyExists(f'pods "{name}" already exists') from exc
        self.deps.hub.publish("ADDED", pod)
        self._spawn(md["uid"])
        return pod

    def get(self, namespace: str, name: str) -> dict[str, Any]:
        pod = self.deps.store.get_object("Pod", namespace, name)
        if pod is None:
            raise NotFound(f'pods "{name}" not found')
        return pod

    def list(self, namespace: str | None) -> list[dict[str, Any]]:
        return self.deps.store.list_objects("Pod", namespace)

    def replace(self, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        old = self.get(namespace, name)
        new = default_pod(body)
        new["metadata"]["namespace"] = namespace
        errors = validate_pod_update(old, new)
        if errors:
            raise ValidationError("Pod", name, errors)
        merged = copy.deepcopy(old)
        merged["metadata"]["labels"] = new["metadata"].get("labels") or {}
        anns = dict(new["metadata"].get("annotations") or {})
        for k, v in (old["metadata"].get("annotations") or {}).items():
            if k.startswith("podbay.io/"):
                anns[k] = v
        merged["metadata"]["annotations"] = anns
        merged["spec"] = new["spec"]
        merged["spec"]["nodeName"] = old["spec"].get("nodeName")
        self.deps.store.put_object(merged)
        self.deps.hub.publish("MODIFIED", merged)
        w = self.workers.get(old["metadata"]["uid"])
        if w:
            w.poke()
        return merged

    def delete(self, namespace: str, name: str, grace: int | None) -> dict[str, Any]:
        pod = self.get(namespace, name)
        md = pod["metadata"]
        if grace is None:
            grace = int(pod["spec"].get("terminationGracePeriodSeconds", 30))
        if md.get("deletionTimestamp"):
            grace = min(grace, int(md.get("deletionGracePeriodSeconds", grace)))  # grace only shortens
        md["deletionTimestamp"] = md.get("deletionTimestamp") or iso(time.time())
        md["deletionGracePeriodSeconds"] = grace
        self.deps.store.put_object(pod)
        self.deps.hub.publish("MODIFIED", pod)
        w = self.workers.get(md["uid"])
        if w is None:
            w = self._spawn(md["uid"])
        w.poke()
        return pod

    def object_changed(self, kind: str, namespace: str, name: str) -> None:
        """A ConfigMap/Secret changed: wake the pods whose volumes project it."""
        for pod in self.deps.store.list_objects("Pod", namespace):
            if projections.uses_object(pod, kind, name):
                w = self.workers.get(pod["metadata"]["uid"])
                if w is not None:
                    w.poke()

    def evict_pod(self, uid: str, message: str) -> None:
        w = self.workers.get(uid)
        if w is not None:
            w.evict("Evicted", message)
