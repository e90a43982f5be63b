"""Local-storage eviction: usage from the inotify UsageMonitor, the decision from core.eviction.

The kubelet polls du every 10 s; here every watched tree is accounted incrementally, so a pod is
evicted within milliseconds of crossing its emptyDir sizeLimit (or its ephemeral-storage limit).

Threads: only the walks of ``UsageMonitor.watch`` run in a worker thread (they may be long). What
this manager keeps (pods, keys, evictions) is changed on the event loop alone: a tracking request
computes its keys on the loop, walks in a thread, and registers the result back on the loop (a pod
untracked meanwhile has its fresh watches dropped). The monitor's callbacks run on the loop (its
driver is ``attach``), and so does ``evict``; a caller in another thread is handed over with
``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from podbay.api.quantity import to_bytes
from podbay.core.eviction import is_local_ephemeral, local_storage_violation, pod_ephemeral_limit
from podbay.errors import PodbayError
from podbay.volumes.usage import UsageMonitor

log = logging.getLogger("podbay.eviction")
LOG = "#log/"    # key part of a container's log directory
RW = "#rw/"      # key part of a container's writable layer (overlay upper dir)

Watch = tuple[str, Path, int | None, bool]   # (key, path, limit, create the directory first)


class EvictionManager:
    def __init__(self, evict: Callable[[str, str], None], monitor: UsageMonitor | None = None) -> None:
        self.evict = evict                       # (pod uid, message), called on the loop
        self.monitor = monitor if monitor is not None else UsageMonitor(on_change=self._changed)
        if monitor is not None:
            monitor.on_change = self._changed
        self.pods: dict[str, Mapping[str, Any]] = {}
        self.keys: dict[str, list[str]] = {}
        self.evicted: set[str] = set()
        self._tokens: dict[str, int] = {}        # uid -> the tracking that owns it (untrack clears it)
        self._seq = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self.monitor.attach(loop, self._over)

    def close(self) -> None:
        self.monitor.close()

    # ------------------------------------------------------------------ tracking (on the loop)
    async def track(self, pod: Mapping[str, Any], volume_paths: Mapping[str, str]) -> None:
        """Watch the pod's disk-backed volumes that a limit applies to."""
        uid = pod["metadata"]["uid"]
        if uid in self._tokens:
            return
        has_pod_limit = pod_ephemeral_limit(pod["spec"]) is not None
        wanted: list[Watch] = []
        for vol in pod["spec"].get("volumes") or []:
            name = vol["name"]
            if name not in volume_paths or not is_local_ephemeral(vol):
                continue
            size_limit = (vol.get("emptyDir") or {}).get("sizeLimit")
            limit = to_bytes(size_limit) if size_limit not in (None, "", 0, "0") else None
            if limit is None and not has_pod_limit:
                continue
            wanted.append((f"{uid}/{name}", Path(volume_paths[name]), limit or None, False))
        if not wanted and not has_pod_limit:
            return
        token = self._tokens[uid] = next(self._seq)
        self.pods[uid] = pod
        self.keys.setdefault(uid, [])
        watched = await asyncio.to_thread(self._walk, wanted)
        self._register(uid, token, watched)

    async def track_container(self, pod: Mapping[str, Any], name: str, upper_dir: Path, log_dir: Path) -> None:
        """Account a container attempt's writable layer and logs (only for pods with ephemeral limits)."""
        uid = pod["metadata"]["uid"]
        token = self._tokens.get(uid)
        if token is None or pod_ephemeral_limit(pod["spec"]) is None:
            return
        keys = self.keys.setdefault(uid, [])
        wanted: list[Watch] = []
        for key, path in ((f"{uid}/{RW}{name}", upper_dir), (f"{uid}/{LOG}{name}", log_dir)):
            if key in keys:
                self.monitor.unwatch(key)   # the previous attempt's layer is gone
                keys.remove(key)
            wanted.append((key, path, None, True))
        watched = await asyncio.to_thread(self._walk, wanted)
        self._register(uid, token, watched)

    def _walk(self, wanted: list[Watch]) -> list[str]:
        """In a worker thread: the walks (the monitor locks its own tables); returns the keys watched."""
        done = []
        for key, path, limit, create in wanted:
            with contextlib.suppress(PodbayError, OSError):
                if create:
                    path.mkdir(parents=True, exist_ok=True)
                self.monitor.watch(key, path, limit)
                done.append(key)
        return done

    def _register(self, uid: str, token: int, watched: list[str]) -> None:
        if self._tokens.get(uid) != token:   # untracked (the pod went) while walking: drop the watches
            for key in watched:
                self.monitor.unwatch(key)
            return
        keys = self.keys.setdefault(uid, [])
        keys.extend(k for k in watched if k not in keys)
        self.check(uid)

    def untrack(self, uid: str) -> None:
        self._tokens.pop(uid, None)
        for key in self.keys.pop(uid, []):
            self.monitor.unwatch(key)
        self.pods.pop(uid, None)
        self.evicted.discard(uid)

    # ------------------------------------------------------------------ usage and decisions
    def usage(self, uid: str) -> dict[str, int]:
        """Bytes per watched key of a pod (callable from any thread: it copies what it reads)."""
        out = {}
        for key in list(self.keys.get(uid, ())):
            with contextlib.suppress(PodbayError, KeyError):
                out[key.split("/", 1)[1]] = self.monitor.usage(key)[0]
        return out

    def check(self, uid: str) -> None:
        pod = self.pods.get(uid)
        if pod is None or uid in self.evicted:
            return
        usage = self.usage(uid)
        per_container: dict[str, int] = {}
        for key in [k for k in usage if k.startswith((LOG, RW))]:
            name = key.split("/", 1)[1]
            per_container[name] = per_container.get(name, 0) + usage.pop(key)
        violation = local_storage_violation(pod, usage, per_container, sum(per_container.values()))
        if violation is not None:
            self.evicted.add(uid)
            log.info("evicting pod %s: %s", pod["metadata"]["name"], violation.message)
            self._deliver(uid, violation.message)

    def _deliver(self, uid: str, message: str) -> None:
        loop = self._loop
        if loop is not None and threading.get_ident() != self._loop_thread:
            loop.call_soon_threadsafe(self.evict, uid, message)   # wake-ups only ever happen on the loop
        else:
            self.evict(uid, message)

    def _over(self, key: str) -> None:
        self.check(key.split("/", 1)[0])

    def _changed(self, key: str, _bytes: int) -> None:
        uid = key.split("/", 1)[0]
        pod = self.pods.get(uid)
        if pod is not None and pod_ephemeral_limit(pod["spec"]) is not None:
            self.check(uid)
