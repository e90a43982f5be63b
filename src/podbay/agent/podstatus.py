"""The one writer of a pod's status, and the end of a pod's graceful deletion.

``write_pod_status`` is the function every status update goes through (the pod worker calls it; a
status writer port can point at it): it compares, and only when something changed stamps, persists
and publishes through the repository, under its lock, so a concurrent spec update is never lost.
``finish_pod_deletion`` removes a pod once its worker tore it down, unless finalizers still hold it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from podbay.errors import Conflict, NotFound
from podbay.store.repository import Repository

Obj = dict[str, Any]


def status_differs(pod: Obj, status: Obj, annotations: Mapping[str, str] | None) -> bool:
    """Would storing this status (and these agent annotations) change the pod?"""
    current = (pod.get("metadata") or {}).get("annotations") or {}
    return pod.get("status") != status or any(current.get(k) != v for k, v in (annotations or {}).items())


def write_pod_status(repo: Repository, uid: str, status: Obj,
                     annotations: Mapping[str, str] | None = None) -> Obj | None:
    """Store ``status`` (and the agent's own annotations) on the pod with this uid; returns the pod
    as stored, or None if it is gone. Nothing is written when nothing changed."""
    cur = repo.by_uid(uid)
    if cur is None:
        return None

    def apply(pod: Obj) -> Obj | None:
        md = pod.get("metadata") or {}
        if md.get("uid") != uid:
            return None
        if not status_differs(pod, status, annotations):
            return None
        pod["status"] = status
        if annotations:
            md["annotations"] = {**(md.get("annotations") or {}), **annotations}
        return pod

    return repo.mutate("Pod", cur.namespace, cur.name, apply)


def finish_pod_deletion(repo: Repository, namespace: str, name: str, uid: str) -> Obj | None:
    """The worker stopped everything: remove the pod (DELETED), or, while finalizers hold it, keep it
    with deletionGracePeriodSeconds 0 so that removing the last finalizer deletes it."""
    cur = repo.peek("Pod", namespace, name)
    if cur is None or cur.uid != uid:
        return None
    if (cur.obj.get("metadata") or {}).get("finalizers"):
        def hold(pod: Obj) -> Obj | None:
            md = pod["metadata"]
            if md.get("uid") != uid or md.get("deletionGracePeriodSeconds") == 0:
                return None
            md["deletionGracePeriodSeconds"] = 0
            return pod

        return repo.mutate("Pod", namespace, name, hold)
    try:
        return repo.delete("Pod", namespace, name, expected_uid=uid)
    except (NotFound, Conflict):
        return None
