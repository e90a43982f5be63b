"""The DaemonSet controller: node changes wake every DaemonSet, pod events their owner; the
failed-pod back-off and the expectations live here, the decisions in ``core.controllers.daemonset``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from podbay.agent.controllers.base import Controller, SyncError, split_key
from podbay.agent.controllers.cache import Cache
from podbay.agent.controllers.ports import Writer
from podbay.core.controllers import daemonset as dsc
from podbay.core.controllers import objects as o
from podbay.core.controllers.expectations import ControllerExpectations

Obj = dict[str, Any]


class DaemonSetController(Controller):
    name = "daemonset-controller"
    primary = "DaemonSet"
    watches = ("Pod", "Node", "ControllerRevision")

    def __init__(self, cache: Cache, writer: Writer, clock: Callable[[], float] | None = None) -> None:
        super().__init__(cache, writer, *(() if clock is None else (clock,)))
        self.expectations = ControllerExpectations()
        self.backoff = dsc.new_backoff()

    def on_event(self, kind: str, event_type: str, old: Obj | None, new: Obj) -> None:
        if kind == "Pod":
            for key in super().keys_for(kind, event_type, old, new):
                if event_type == "ADDED" and not o.deleting(new):
                    self.expectations.creation_observed(key)
                elif event_type == "DELETED" or (o.deleting(new) and (old is None or not o.deleting(old))):
                    self.expectations.deletion_observed(key)
        super().on_event(kind, event_type, old, new)

    def keys_for(self, kind: str, event_type: str, old: Obj | None, new: Obj) -> Iterable[str]:
        if kind == "Node":
            return [o.key(d) for d in self.cache.list(self.primary)]
        return super().keys_for(kind, event_type, old, new)

    def sync(self, key: str) -> float | None:
        ns, name = split_key(key)
        ds = self.cache.get(self.primary, ns, name)
        if ds is None:
            self.expectations.forget(key)
            return None
        now = self.clock()
        self.backoff.gc(now)
        satisfied = self.expectations.satisfied(key, now)
        result, (creates, deletes) = dsc.sync_daemon_set(
            ds, self.cache.list("Node"), self.cache.list("Pod", ns), self.cache.list("ControllerRevision", ns),
            self.backoff, now, satisfied)
        if creates or deletes:
            self.expectations.set(key, creates, deletes, now)
        done = self.execute(result)
        if done.error is not None:
            self.expectations.forget(key)
            raise SyncError(done.error)
        return result.requeue_after
