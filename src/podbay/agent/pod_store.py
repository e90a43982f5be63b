"""The stored API objects as the pod workers' ports: objects they read, pods they reconcile, status.

Everything goes through the Repository (the only writer of objects): status through
``podstatus.write_pod_status`` (persisted and published only on a real change, under the
repository's lock), the end of a deletion through ``podstatus.finish_pod_deletion`` (finalizers
hold the object; claims it protected are released by ``agent.claims`` when the pod is gone).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from podbay.agent.podstatus import finish_pod_deletion, status_differs, write_pod_status
from podbay.ports import StatusUpdate
from podbay.store.repository import Repository

Obj = dict[str, Any]


class StoreObjects:
    """ObjectSource over the repository (a fresh copy per read)."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo

    def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        return self.repo.get(kind, namespace, name)

    def version(self, kind: str, namespace: str, name: str) -> str | None:
        stored = self.repo.peek(kind, namespace, name)
        return None if stored is None else str(stored.rv)


class StorePods:
    """PodSource and StatusWriter over the repository."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo

    def get_pod(self, uid: str) -> Obj | None:
        stored = self.repo.by_uid(uid)
        return stored.copy() if stored is not None and stored.kind == "Pod" else None

    def list_pods(self) -> list[Obj]:
        return [s.copy() for s in self.repo.list("Pod")]

    def update_status(self, uid: str, status_of: Callable[[Obj], StatusUpdate | None]) -> Obj | None:
        stored = self.repo.by_uid(uid)
        if stored is None or stored.kind != "Pod":
            return None
        # status_of reads the stored body without a copy (it builds a new status); most syncs compute
        # the status already stored, and then nothing is decoded or locked at all.
        update = status_of(stored.obj)
        if update is None or not status_differs(stored.obj, update.status, update.annotations):
            return stored.obj
        return write_pod_status(self.repo, uid, update.status, dict(update.annotations) or None)

    def finish_deletion(self, pod: Obj) -> None:
        md = pod["metadata"]
        finish_pod_deletion(self.repo, md["namespace"], md["name"], md["uid"])

