"""Kubernetes Event objects for a pod (kubectl describe shows them)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from podbay.store.db import Store


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def event_body(pod: Mapping[str, Any], type_: str, reason: str, message: str, field_path: str,
               node_name: str, now: float) -> dict[str, Any]:
    md = pod["metadata"]
    stamp = iso(now)
    involved: dict[str, Any] = {"kind": "Pod", "namespace": md["namespace"], "name": md["name"],
                                "uid": md["uid"], "apiVersion": "v1"}
    if field_path:
        involved["fieldPath"] = field_path
    return {
        "kind": "Event", "apiVersion": "v1",
        "metadata": {"name": f"{md['name']}.{uuid.uuid4().hex[:16]}", "namespace": md["namespace"]},
        "involvedObject": involved, "reason": reason, "message": message, "type": type_,
        "source": {"component": "podbay", "host": node_name},
        "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
        "reportingComponent": "podbay", "reportingInstance": node_name,
    }


class StoreEvents:
    """EventRecorder over the store's events table (deduplicated there, like the event correlator)."""

    def __init__(self, store: Store, node_name: str, now: Callable[[], float] = time.time) -> None:
        self.store = store
        self.node_name = node_name
        self.now = now

    def record(self, pod: Mapping[str, Any], type_: str, reason: str, message: str, field_path: str = "") -> None:
        md = pod["metadata"]
        body = event_body(pod, type_, reason, message, field_path, self.node_name, self.now())
        self.store.add_event(md["namespace"], md["name"], md["uid"], body)

    def forget(self, uid: str) -> None:
        self.store.delete_events_for(uid)
