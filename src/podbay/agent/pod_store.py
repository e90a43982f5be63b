"""The stored API objects as the agent's ports: objects it reads, pods it reconciles, their status.

``StorePods.update_status`` is the one place pod status is written (persist + publish MODIFIED,
only on a real change); pointing it at a repository with optimistic concurrency changes nothing
for the workers.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from podbay.agent.hub import Hub
from podbay.ports import StatusUpdate
from podbay.store.db import Store

Obj = dict[str, Any]


class StoreObjects:
    """ObjectSource over the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        return self.store.get_object(kind, namespace, name)


class StorePods:
    """PodSource and StatusWriter over the store and the watch hub."""

    def __init__(self, store: Store, hub: Hub, on_deleted: Callable[[Obj], None] | None = None) -> None:
        self.store = store
        self.hub = hub
        self.on_deleted = on_deleted      # e.g. finish pvc-protection of claims the pod held

    def get_pod(self, uid: str) -> Obj | None:
        pod = self.store.get_by_uid(uid)
        return pod if pod is not None and pod.get("kind") == "Pod" else None

    def list_pods(self) -> list[Obj]:
        return self.store.list_objects("Pod")

    def update_status(self, uid: str, status_of: Callable[[Obj], StatusUpdate | None]) -> Obj | None:
        fresh = self.get_pod(uid)
        if fresh is None:
            return None
        update = status_of(copy.deepcopy(fresh))
        if update is None:
            return fresh
        new = copy.deepcopy(fresh)
        new["status"] = update.status
        if update.annotations:
            anns = dict(new["metadata"].get("annotations") or {})
            anns.update(update.annotations)
            new["metadata"]["annotations"] = anns
        if _same(fresh, new):
            return fresh
        self.store.put_object(new)
        self.hub.publish("MODIFIED", new)
        return new

    def finish_deletion(self, pod: Obj) -> None:
        md = pod["metadata"]
        rv = self.store.delete_object("Pod", md["namespace"], md["name"])
        gone = copy.deepcopy(pod)
        gone["metadata"]["resourceVersion"] = str(rv)
        self.hub.publish("DELETED", gone)
        if self.on_deleted is not None:
            self.on_deleted(gone)


def _same(a: Obj, b: Obj) -> bool:
    return json.dumps(a.get("status") or {}, sort_keys=True) == json.dumps(b.get("status") or {}, sort_keys=True) \
        and a["metadata"].get("annotations") == b["metadata"].get("annotations")
