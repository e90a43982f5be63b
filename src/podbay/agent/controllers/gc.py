"""The garbage collector: a change that can matter (a deletion, owner references added or changed;
debounced into one work item) or the periodic resync rebuilds the dependency graph from the cache and runs ``core.controllers.gc.plan``; each item's writes run on
their own so one failure does not hold the others back."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from podbay.agent.controllers.base import Controller, SyncError
from podbay.agent.controllers.cache import Cache
from podbay.agent.controllers.ports import Writer
from podbay.core.controllers import gc
from podbay.core.controllers import objects as o
from podbay.core.controllers.plan import Result

Obj = dict[str, Any]
KEY = "graph"


class GarbageCollector(Controller):
    name = "garbage-collector"
    primary = ""
    watches = ("*",)

    def __init__(self, cache: Cache, writer: Writer, namespaced: gc.Namespaced,
                 clock: Callable[[], float] | None = None) -> None:
        super().__init__(cache, writer, *(() if clock is None else (clock,)))
        self.namespaced = namespaced

    def keys_for(self, kind: str, event_type: str, old: Obj | None, new: Obj) -> Iterable[str]:
        # What can change the plan: a deletion, an object being deleted, owner references that appear or
        # change. An update that keeps them (a Lease renewal, a status write) cannot: no rebuild.
        if event_type == "DELETED" or o.deleting(new):
            return [KEY]
        refs = o.owner_refs(new)
        if old is None or event_type == "ADDED":
            return [KEY] if refs else []
        return [KEY] if refs != o.owner_refs(old) else []

    def resync(self) -> None:
        self.queue.add(KEY)

    def sync(self, key: str) -> float | None:
        graph = gc.Graph(self.cache.all(), self.namespaced)
        errors = []
        for item in gc.plan(graph):
            done = self.execute(Result(item))
            if done.error is not None:
                errors.append(done.error)
        if errors:
            raise SyncError(errors[0])
        return None
