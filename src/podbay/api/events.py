"""Events: the stored core/v1 form and its ``events.k8s.io/v1`` view (pkg/apis/events/v1 conversion).

Both group-versions serve the same stored objects; only field names differ (``involvedObject`` is
``regarding``, ``message`` is ``note``, ``source`` / ``firstTimestamp`` / ``lastTimestamp`` /
``count`` are ``deprecated*``, ``reportingComponent`` is ``reportingController``).
"""

from __future__ import annotations

import copy
from typing import Any

Obj = dict[str, Any]

# core/v1 name -> events.k8s.io/v1 name; the rest (eventTime, series, action, reason, related, type,
# reportingInstance, metadata) keep their names.
_RENAMED = {"involvedObject": "regarding", "message": "note", "source": "deprecatedSource",
            "firstTimestamp": "deprecatedFirstTimestamp", "lastTimestamp": "deprecatedLastTimestamp",
            "count": "deprecatedCount", "reportingComponent": "reportingController"}
_BACK = {v: k for k, v in _RENAMED.items()}


def to_events_v1(core: Obj) -> Obj:
    out: Obj = {"kind": "Event", "apiVersion": "events.k8s.io/v1"}
    for k, v in core.items():
        if k in ("kind", "apiVersion"):
            continue
        out[_RENAMED.get(k, k)] = copy.deepcopy(v)
    if not out.get("eventTime"):
        # eventTime is required in events.k8s.io/v1; an event recorded the legacy way has only
        # firstTimestamp (clients such as the Python client refuse a null eventTime).
        first = core.get("firstTimestamp") or (core.get("metadata") or {}).get("creationTimestamp")
        if isinstance(first, str) and first.endswith("Z") and "." not in first:
            out["eventTime"] = first[:-1] + ".000000Z"
    return out


def from_events_v1(ev: Obj) -> Obj:
    out: Obj = {"kind": "Event", "apiVersion": "v1"}
    for k, v in ev.items():
        if k in ("kind", "apiVersion"):
            continue
        out[_BACK.get(k, k)] = copy.deepcopy(v)
    return out
