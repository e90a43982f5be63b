"""Kubernetes Event objects about a pod (kubectl describe and kubectl events show them).

Events are ordinary stored objects (kind Event, watchable, in both core/v1 and events.k8s.io/v1).
Like the kubelet's event correlator, an identical event seen before (same object, field path,
type, reason and message — not only the newest one: BackOff alternates with Started) bumps
``count`` and ``lastTimestamp`` of the existing Event, whose name is derived from that key.
``StoreEvents`` is the pod workers' EventRecorder port over the same functions.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from podbay.agent.deps import Deps
from podbay.api.meta import micro_time, rfc3339
from podbay.errors import AlreadyExists, NotFound
from podbay.store.repository import Repository

Obj = dict[str, Any]


def iso(ts: float) -> str:
    return rfc3339(ts)


def _key(involved: Obj, type_: str, reason: str, message: str) -> str:
    text = "\0".join((str(involved.get("uid", "")), str(involved.get("fieldPath", "")), type_, reason, message))
    return hashlib.sha256(text.encode(errors="replace")).hexdigest()[:16]


def record_event(repo: Repository, node_name: str, pod: Mapping[str, Any], type_: str, reason: str,
                 message: str, field_path: str = "", stamp: float | None = None) -> None:
    """An Event from the kubelet (``podbay``) about a pod, optionally about one of its containers."""
    md = pod["metadata"]
    involved: Obj = {"kind": "Pod", "namespace": md["namespace"], "name": md["name"], "uid": md["uid"],
                     "apiVersion": "v1"}
    if md.get("resourceVersion"):
        involved["resourceVersion"] = md["resourceVersion"]
    if field_path:
        involved["fieldPath"] = field_path
    record_about(repo, node_name, involved, type_, reason, message, "podbay", node_name, stamp)


def record_about(repo: Repository, node_name: str, involved: Obj, type_: str, reason: str, message: str,
                 component: str, host: str = "", stamp: float | None = None) -> None:
    """An Event about any object (``involved`` is its ObjectReference) from ``component`` (the
    kubelet's ``podbay``, or a controller's name such as ``deployment-controller``)."""
    stamp = time.time() if stamp is None else stamp
    now = iso(stamp)
    namespace = str(involved.get("namespace") or "default")
    name = f"{involved['name']}.{_key(involved, type_, reason, message)}"

    def bump(ev: Obj) -> Obj:
        ev["count"] = int(ev.get("count") or 1) + 1
        ev["lastTimestamp"] = now
        return ev

    if repo.mutate("Event", namespace, name, bump) is not None:
        return
    source: Obj = {"component": component}
    if host:
        source["host"] = host
    body: Obj = {
        "kind": "Event", "apiVersion": "v1",
        "metadata": {"name": name, "namespace": namespace, "uid": str(uuid.uuid4()), "creationTimestamp": now},
        "involvedObject": involved, "reason": reason, "message": message, "type": type_,
        "source": source,
        "firstTimestamp": now, "lastTimestamp": now, "count": 1, "eventTime": micro_time(stamp),
        "reportingComponent": component, "reportingInstance": host or node_name, "action": reason,
    }
    try:
        repo.create(body)
    except AlreadyExists:   # recorded concurrently by another thread: count it there
        repo.mutate("Event", namespace, name, bump)


def forget_events(repo: Repository, namespace: str, uid: str) -> None:
    """Remove the events about a pod that is gone (podbay keeps no events of deleted pods)."""
    for ev in repo.list("Event", namespace):
        if ev.fields.get("involvedObject.uid") == uid:
            try:
                repo.delete("Event", ev.namespace, ev.name, expected_uid=ev.uid)
            except NotFound:
                pass
            except Exception:   # a concurrent change of that event: it goes with the next cleanup
                continue


def record(deps: Deps, pod: Obj, type_: str, reason: str, message: str, field_path: str = "") -> None:
    record_event(deps.repo, deps.cfg.node_name, pod, type_, reason, message, field_path)


def forget(deps: Deps, pod: Obj) -> None:
    md = pod["metadata"]
    forget_events(deps.repo, md["namespace"], md["uid"])


class StoreEvents:
    """EventRecorder over the repository (events are objects)."""

    def __init__(self, repo: Repository, node_name: str, now: Callable[[], float] = time.time) -> None:
        self.repo = repo
        self.node_name = node_name
        self.now = now

    def record(self, pod: Mapping[str, Any], type_: str, reason: str, message: str, field_path: str = "") -> None:
        record_event(self.repo, self.node_name, pod, type_, reason, message, field_path, self.now())

    def forget(self, pod: Mapping[str, Any]) -> None:
        md = pod["metadata"]
        forget_events(self.repo, md["namespace"], md["uid"])
