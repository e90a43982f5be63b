"""One controller = one reconcile queue and one worker: watch events and a periodic resync
enqueue object keys (``namespace/name``); the worker syncs one key at a time. A sync that raises
is retried with per-key back-off; a controller never dies from one bad sync."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from podbay.agent.controllers.cache import Cache
from podbay.agent.controllers.executor import Executed, execute
from podbay.agent.controllers.ports import Writer
from podbay.agent.controllers.queue import WorkQueue
from podbay.core.controllers import objects as o
from podbay.core.controllers.plan import Result

Obj = dict[str, Any]
log = logging.getLogger(__name__)

MAX_RETRIES = 15  # then the key is dropped until its next event or resync (deployment maxRetries)


class SyncError(Exception):
    """A plan stopped at a failed write; the key is retried with back-off."""


def split_key(key: str) -> tuple[str, str]:
    ns, _, name = key.rpartition("/")
    return ns, name


class Controller:
    name = "controller"        # the Events' source component
    primary = ""               # the kind this controller reconciles
    watches: tuple[str, ...] = ()

    def __init__(self, cache: Cache, writer: Writer, clock: Callable[[], float] = time.time) -> None:
        self.cache = cache
        self.writer = writer
        self.clock = clock
        self.queue = WorkQueue()

    # ---------------------------------------------------------------------------------------- events

    def on_event(self, kind: str, event_type: str, old: Obj | None, new: Obj) -> None:
        for key in self.keys_for(kind, event_type, old, new):
            self.queue.add(key)

    def keys_for(self, kind: str, event_type: str, old: Obj | None, new: Obj) -> Iterable[str]:
        """Which of our objects an event concerns: the object itself, or the owner named by the
        dependent's controller reference (the old one too when it changed)."""
        if kind == self.primary:
            return [o.key(new)]
        keys = []
        for obj in (old, new):
            if obj is None:
                continue
            ref = o.controller_of(obj)
            if ref is not None and ref.get("kind") == self.primary:
                keys.append(f"{o.namespace(obj)}/{ref.get('name')}")
        return list(dict.fromkeys(keys))

    def resync(self) -> None:
        if not self.primary:
            return
        for obj in self.cache.list(self.primary):
            self.queue.add(o.key(obj))

    # ---------------------------------------------------------------------------------------- sync

    def sync(self, key: str) -> float | None:
        """Reconcile one object; returns seconds until it must be looked at again (or None)."""
        raise NotImplementedError

    def execute(self, result: Result) -> Executed:
        return execute(result, self.writer, self.name)

    def run_plan(self, result: Result) -> Executed:
        done = self.execute(result)
        if done.error is not None:
            raise SyncError(done.error)
        return done

    def process(self, key: str) -> None:
        """One sync with its error handling (synchronous; ``run`` awaits keys around it)."""
        try:
            after = self.sync(key)
        except Exception as exc:  # noqa: BLE001 - a bad sync is retried, never fatal
            if self.queue.retries(key) < MAX_RETRIES:
                log.debug("%s: sync %s failed (%s); retrying", self.name, key, exc)
                self.queue.add_rate_limited(key)
            else:
                log.warning("%s: dropping %s after %d retries: %s", self.name, key, MAX_RETRIES, exc)
                self.queue.forget(key)
            return
        self.queue.forget(key)
        if after is not None:
            self.queue.add_after(key, after)

    async def run(self) -> None:
        while True:
            key = await self.queue.get()
            if key is None:
                return
            try:
                self.process(key)
            finally:
                self.queue.done(key)
            await asyncio.sleep(0)


class Manager:
    """Feeds the cache and the controllers from watch events; runs every controller's worker and
    the periodic resync."""

    def __init__(self, cache: Cache, controllers: Iterable[Controller], resync: float = 30.0) -> None:
        self.cache = cache
        self.controllers = list(controllers)
        self.resync_period = resync
        self._tasks: list[asyncio.Task[None]] = []

    def kinds(self) -> list[str]:
        out: list[str] = []
        for c in self.controllers:
            for k in (c.primary, *c.watches):
                if k and k != "*" and k not in out:
                    out.append(k)
        return out

    def handle(self, event_type: str, kind: str, obj: Obj) -> None:
        old = self.cache.apply(event_type, kind, obj)
        for c in self.controllers:
            if kind == c.primary or kind in c.watches or "*" in c.watches:
                try:
                    c.on_event(kind, event_type, old, obj)
                except Exception:  # noqa: BLE001
                    log.exception("%s: event handler failed", c.name)

    def resync(self) -> None:
        for c in self.controllers:
            c.resync()

    async def _resync_loop(self) -> None:
        while True:
            await asyncio.sleep(self.resync_period)
            self.resync()

    def start(self) -> None:
        self.resync()
        for c in self.controllers:
            self._tasks.append(asyncio.create_task(c.run(), name=c.name))
        self._tasks.append(asyncio.create_task(self._resync_loop(), name="controllers-resync"))

    async def stop(self) -> None:
        for c in self.controllers:
            c.queue.shutdown()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()
