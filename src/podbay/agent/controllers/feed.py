"""Connect the controllers to the store: an initial list of every kind they (and the garbage
collector) care about, then the hub's change events for those kinds, in resourceVersion order."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from podbay.agent.controllers.base import Manager
from podbay.agent.hub import Event, Hub
from podbay.api.resources import ResourceTable
from podbay.store.repository import Repository

SKIPPED = ("Event",)   # no owner references, and by far the most frequent writes


def stored_kinds(table: ResourceTable) -> list[str]:
    out: list[str] = []
    for rt in table:
        if rt.stored and rt.storage_kind not in out and rt.storage_kind not in SKIPPED:
            out.append(rt.storage_kind)
    return out


def namespaced_lookup(table: ResourceTable) -> Any:
    index = {(rt.group, rt.kind): rt.namespaced for rt in table}

    def namespaced(group: str, kind: str) -> bool | None:
        return index.get((group, kind))

    return namespaced


def connect(manager: Manager, hub: Hub, repo: Repository, kinds: Iterable[str]) -> None:
    def on_event(ev: Event) -> None:
        obj = ev.obj if ev.obj is not None else json.loads(ev.raw)
        manager.handle(ev.type, ev.kind, obj)

    for kind in kinds:
        manager.cache.replace(kind, [s.copy() for s in repo.list(kind)])
        hub.add_listener(kind, on_event)
