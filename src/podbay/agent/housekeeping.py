"""Kubelet housekeeping around the pod workers: reboot detection, start-up GC of orphans, the
conmon exit watch, log rotation and heap trimming.

What must happen before any worker runs (``prepare``) runs first; the watchers run beside them.
The rotation walks the running index, never every stored attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from podbay.agent import gc
from podbay.agent.deps import Deps
from podbay.agent.logrotate import rotate_logs
from podbay.agent.pod_workers import RunningIndex
from podbay.errors import PodbayError
from podbay.network import namespaces
from podbay.network.cni import netns_usable
from podbay.sys import heap, procfs
from podbay.sys.inotify import Inotify

log = logging.getLogger("podbay.housekeeping")
HEAP_TRIM_SECONDS = 60.0


class Housekeeping:
    def __init__(self, deps: Deps, index: RunningIndex) -> None:
        self.deps = deps
        self.index = index
        self._inotify: Inotify | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._orphans: gc.Orphans | None = None

    async def prepare(self) -> None:
        """Before any worker runs: reboot handling, then orphans (the store is the whole truth then)."""
        boot = procfs.boot_id()
        previous = self.deps.store.get_meta("boot_id")
        if previous is not None and previous != boot:
            await asyncio.to_thread(self._after_reboot)
        self.deps.store.set_meta("boot_id", boot)
        # The orphan snapshot is taken before any worker runs (the store is the whole truth then); the
        # collection runs in the background (``run``) so the API serves at once (kubelet housekeeping).
        self._orphans = await asyncio.to_thread(gc.find_orphans, self.deps)
        for rec in self.deps.store.all_containers():    # once, at start: the index of live attempts
            if rec.state in ("running", "created"):
                self.index.set_pod(rec.pod_uid, [r for r in self.deps.store.containers(rec.pod_uid)])

    def run(self, on_exit: Callable[[str], None]) -> None:
        ino = Inotify()
        ino.watch(str(self.deps.runtime.exit_dir))
        self._inotify = ino
        loop = asyncio.get_running_loop()

        def readable() -> None:
            for name in set(ino.read_names()):
                on_exit(name)

        loop.add_reader(ino.fd, readable)
        self._tasks = [asyncio.create_task(self._rotate_logs()), asyncio.create_task(self._trim_heap())]
        if self._orphans:
            self._tasks.append(asyncio.create_task(self._collect(self._orphans)))

    async def _collect(self, orphans: gc.Orphans) -> None:
        try:
            await asyncio.to_thread(gc.collect_orphans, self.deps, orphans)
        except Exception:
            log.exception("collecting orphans failed")

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._inotify is not None:
            asyncio.get_running_loop().remove_reader(self._inotify.fd)
            self._inotify.close()
            self._inotify = None

    async def _trim_heap(self) -> None:
        """Freed heap pages go back to the kernel (sys.heap): RSS follows what the agent keeps."""
        while True:
            await asyncio.sleep(HEAP_TRIM_SECONDS)
            heap.trim()

    async def _rotate_logs(self) -> None:
        cfg = self.deps.cfg
        while True:
            await asyncio.sleep(cfg.container_log_monitor_seconds)
            live = [(cid, item.log_path) for cid, item in self.index.items()]
            try:
                await asyncio.to_thread(rotate_logs, live, self.deps.runtime.container_dir,
                                        cfg.container_log_max_size, cfg.container_log_max_files)
            except OSError as exc:
                log.warning("log rotation failed: %s", exc)
            except Exception:
                log.exception("log rotation failed")

    def _after_reboot(self) -> None:
        """The host rebooted: every container is gone, and so are namespaces, veths and tmpfs volumes.

        Record the exits (code from conmon's persist dir when it got to write it, else unknown), release
        the CNI attachments with the cached results (IPAM), and drop the stale namespace pins; the pod
        workers then rebuild sandboxes and restart containers per restartPolicy.
        """
        log.warning("host reboot detected (boot id changed): rebuilding pod sandboxes")
        runtime = self.deps.runtime
        for rec in self.deps.store.all_containers():
            if rec.state in ("running", "created") and not runtime.is_running(rec.conmon_pid, rec.conmon_start):
                info = runtime.exit_info(rec.id)
                self.deps.store.put_container(rec.with_(
                    state="exited", exit_code=info.code if info else None,
                    reason="Completed" if info and info.code == 0 else ("Error" if info else "Unknown"),
                    finished_at=info.finished_at if info else time.time()))
        for stored in self.deps.repo.list("Pod"):
            uid = stored.uid
            net = self.deps.cfg.ns_dir(uid) / "net"
            with contextlib.suppress(PodbayError):
                self.deps.network.delete(uid, str(net) if netns_usable(str(net)) else None)
            self.deps.network.forget(uid)   # a stale result must never stand in for a fresh ADD
            with contextlib.suppress(PodbayError, OSError):
                namespaces.unpin(self.deps.cfg.ns_dir(uid))
