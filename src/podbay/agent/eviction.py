"""Local-storage eviction: usage from the inotify UsageMonitor, the decision from core.eviction.

The kubelet polls du every 10 s; here every watched tree is accounted incrementally, so a pod is
evicted within milliseconds of crossing its emptyDir sizeLimit (or its ephemeral-storage limit).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from podbay.api.quantity import to_bytes
from podbay.core.eviction import is_local_ephemeral, local_storage_violation, pod_ephemeral_limit
from podbay.errors import PodbayError
from podbay.volumes.usage import UsageMonitor

log = logging.getLogger("podbay.eviction")
LOGS = "#logs"   # key suffix of the pod's log directory (counts toward the pod ephemeral limit)


class EvictionManager:
    def __init__(self, evict: Callable[[str, str], None]) -> None:
        self.evict = evict                       # (pod uid, message)
        self.monitor = UsageMonitor(on_change=self._changed)
        self.pods: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, list[str]] = {}
        self.evicted: set[str] = set()

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self.monitor.attach(loop, self._over)

    def close(self) -> None:
        self.monitor.close()

    def track(self, pod: dict[str, Any], volume_paths: dict[str, str], log_dir: Path) -> None:
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
        if has_pod_limit:
            log_dir.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(PodbayError, OSError):
                self.monitor.watch(f"{uid}/{LOGS}", log_dir, None)
                keys.append(f"{uid}/{LOGS}")
        if keys:
            self.pods[uid] = pod
            self.keys[uid] = keys
            self.check(uid)

    def untrack(self, uid: str) -> None:
        for key in self.keys.pop(uid, []):
            self.monitor.unwatch(key)
        self.pods.pop(uid, None)

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
        extra = usage.pop(LOGS, 0)
        violation = local_storage_violation(pod, usage, None, extra)
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
