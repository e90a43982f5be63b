"""The default scheduler for the one node: a pod without ``spec.nodeName`` is bound once it fits
(``core.controllers.nodefit``), else it stays Pending with ``PodScheduled=False/Unschedulable`` and
a ``FailedScheduling`` event, and is tried again when the node or the pods on it change."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from podbay.agent.controllers.base import Controller, split_key
from podbay.core.controllers import nodefit
from podbay.core.controllers import objects as o
from podbay.core.controllers.plan import Result, Update, ref_of

Obj = dict[str, Any]
COMPONENT = "default-scheduler"


def pending(pod: Obj) -> bool:
    return not o.spec(pod).get("nodeName") and not o.is_terminal(pod) and not o.deleting(pod)


class Scheduler(Controller):
    name = COMPONENT
    primary = "Pod"
    watches = ("Node",)

    def _pending_keys(self) -> list[str]:
        return [o.key(p) for p in self.cache.list("Pod") if pending(p)]

    def keys_for(self, kind: str, event_type: str, old: Obj | None, new: Obj) -> Iterable[str]:
        if kind == "Node":
            return self._pending_keys()
        keys = [o.key(new)] if event_type != "DELETED" and pending(new) else []
        freed = event_type == "DELETED" or (o.is_terminal(new) and (old is None or not o.is_terminal(old)))
        if freed and o.spec(new).get("nodeName"):
            keys += self._pending_keys()  # resources or ports were released
        return keys

    def resync(self) -> None:
        for key in self._pending_keys():
            self.queue.add(key)

    def sync(self, key: str) -> float | None:
        ns, name = split_key(key)
        pod = self.cache.get("Pod", ns, name)
        if pod is None or not pending(pod):
            return None
        nodes = self.cache.list("Node")
        if not nodes:
            return 1.0
        node = nodes[0]
        fit = nodefit.filter_pod(pod, node, nodefit.assigned_pods(self.cache.list("Pod"), o.name(node), o.uid(pod)))
        if fit.fits:
            self.writer.bind(ref_of(pod), o.name(node))
            return None
        message = nodefit.fit_error_message([fit])
        self.writer.record_event(ref_of(pod), "Warning", "FailedScheduling", message, COMPONENT)
        conds = [c for c in o.status(pod).get("conditions") or [] if c.get("type") != "PodScheduled"]
        cur = next((c for c in o.status(pod).get("conditions") or [] if c.get("type") == "PodScheduled"), None)
        if cur is None or cur.get("status") != "False" or cur.get("message") != message:
            body = copy.deepcopy(pod)
            cond = nodefit.scheduled_condition(message, self.clock())
            if cur is not None and cur.get("status") == "False":
                cond["lastTransitionTime"] = cur.get("lastTransitionTime")
            body.setdefault("status", {})["conditions"] = [cond, *conds]
            body["status"].setdefault("phase", "Pending")
            self.run_plan(Result([Update(body, "status")]))
        return None
