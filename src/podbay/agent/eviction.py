"""Local-storage eviction: usage from the inotify UsageMonitor, the decision from core.eviction.

The kubelet polls du every 10 s; here every watched tree is accounted incrementally, so a pod is
evicted within milliseconds of crossing its emptyDir sizeLimit (or its ephemeral-storage limit).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
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


class EvictionManager:
    def __init__(self, evict: Callable[[str, str], None]) -> None:
        self.evict = evict                       # (pod uid, message)
        self.monitor = UsageMonitor(on_change=self._changed)
        self.pods: dict[str, Mapping[str, Any]] = {}
        self.keys: dict[str, list[str]] = {}
        self.evicted: set[str] = set()

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self.monitor.attach(loop, self._over)

    def close(self) -> None:
        self.monitor.close()

    async def track(self, pod: Mapping[str, Any], volume_paths: Mapping[str, str]) -> None:
        await asyncio.to_thread(self._track, pod, volume_paths)

    async def track_container(self, pod: Mapping[str, Any], name: str, upper_dir: Path, log_dir: Path) -> None:
        await asyncio.to_thread(self._track_container, pod, name, upper_dir, log_dir)

    def _track(self, pod: Mapping[str, Any], volume_paths: Mapping[str, str]) -> None:
        """Watch the pod's disk-backed volumes that a limit applies to (called in a thread: it walks)."""
        uid = pod["metadata"]["uid"]
        if uid in self.keys:
            return
        has_pod_limit = pod_ephemeral_limit(pod["spec"]) is not None
        keys: list[str] = []
        for vol in pod["spec"].get("volumes") or []:
            name = vol["name"]
            if name not in volume_paths or not is_local_ephemeral(vol):
                continue
            size_limit = (vol.get("emptyDir") or {}).get("sizeLimit")
            limit = to_bytes(size_limit) if size_limit not in (None, "", 0, "0") else None
            if limit is None and not has_pod_limit:
                continue
            key = f"{uid}/{name}"
            with contextlib.suppress(PodbayError, OSError):
                self.monitor.watch(key, Path(volume_paths[name]), limit or None)
                keys.append(key)
        if keys or has_pod_limit:
            self.pods[uid] = pod
            self.keys[uid] = keys
            self.check(uid)

    def _track_container(self, pod: Mapping[str, Any], name: str, upper_dir: Path, log_dir: Path) -> None:
        """Account a new container attempt's writable layer and logs (only for pods with ephemeral limits)."""
        uid = pod["metadata"]["uid"]
        if uid not in self.pods or pod_ephemeral_limit(pod["spec"]) is None:
            return
        keys = self.keys.setdefault(uid, [])
        for key, path in ((f"{uid}/{RW}{name}", upper_dir), (f"{uid}/{LOG}{name}", log_dir)):
            if key in keys:
                self.monitor.unwatch(key)   # the previous attempt's layer is gone
                keys.remove(key)
            path.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(PodbayError, OSError):
                self.monitor.watch(key, path, None)
                keys.append(key)
        self.check(uid)

    def untrack(self, uid: str) -> None:
        for key in self.keys.pop(uid, []):
            self.monitor.unwatch(key)
        self.pods.pop(uid, None)
        self.evicted.discard(uid)

    def usage(self, uid: str) -> dict[str, int]:
        out = {}
        for key in self.keys.get(uid, []):
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
            self.evict(uid, violation.message)

    def _over(self, key: str) -> None:
        self.check(key.split("/", 1)[0])

    def _changed(self, key: str, _bytes: int) -> None:
        uid = key.split("/", 1)[0]
        pod = self.pods.get(uid)
        if pod is not None and pod_ephemeral_limit(pod["spec"]) is not None:
            self.check(uid)
