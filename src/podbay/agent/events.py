"""Kubernetes Event objects for a pod (kubectl describe shows them)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from podbay.agent.deps import Deps


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def record(deps: Deps, pod: dict[str, Any], type_: str, reason: str, message: str,
           field_path: str = "") -> None:
    md = pod["metadata"]
    now = iso(time.time())
    involved: dict[str, Any] = {"kind": "Pod", "namespace": md["namespace"], "name": md["name"],
                                "uid": md["uid"], "apiVersion": "v1"}
    if field_path:
        involved["fieldPath"] = field_path
    body = {
        "kind": "Event", "apiVersion": "v1",
        "metadata": {"name": f"{md['name']}.{uuid.uuid4().hex[:16]}", "namespace": md["namespace"]},
        "involvedObject": involved, "reason": reason, "message": message, "type": type_,
        "source": {"component": "podbay", "host": deps.cfg.node_name},
        "firstTimestamp": now, "lastTimestamp": now, "count": 1,
        "reportingComponent": "podbay", "reportingInstance": deps.cfg.node_name,
    }
    deps.store.add_event(md["namespace"], md["name"], md["uid"], body)
