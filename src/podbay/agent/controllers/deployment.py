"""The Deployment controller: ReplicaSet and pod events wake the owning Deployment (or, for an
orphan ReplicaSet, every Deployment that selects it); ``core.controllers.deployment`` decides."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from podbay.agent.controllers.base import Controller, split_key
from podbay.api import labelselector
from podbay.core.controllers import objects as o
from podbay.core.controllers.deployment import sync_deployment

Obj = dict[str, Any]


class DeploymentController(Controller):
    name = "deployment-controller"
    primary = "Deployment"
    watches = ("ReplicaSet", "Pod")

    def keys_for(self, kind: str, event_type: str, old: Obj | None, new: Obj) -> Iterable[str]:
        if kind == "Pod":
            # Recreate waits for old pods to be gone: their deletion (or end) wakes the Deployment
            if event_type != "DELETED" and not o.is_terminal(new):
                return []
            ref = o.controller_of(new)
            if ref is None or ref.get("kind") != "ReplicaSet":
                return []
            rs = self.cache.get("ReplicaSet", o.namespace(new), str(ref.get("name")))
            return [] if rs is None else super().keys_for("ReplicaSet", event_type, None, rs)
        keys = list(super().keys_for(kind, event_type, old, new))
        if kind == "ReplicaSet" and o.controller_of(new) is None:
            for d in self.cache.list(self.primary, o.namespace(new)):
                if labelselector.matches(o.spec(d).get("selector"), o.labels(new)):
                    keys.append(o.key(d))
        return keys

    def sync(self, key: str) -> float | None:
        ns, name = split_key(key)
        d = self.cache.get(self.primary, ns, name)
        if d is None:
            return None
        result = sync_deployment(d, self.cache.list("ReplicaSet", ns), self.cache.list("Pod", ns), self.clock())
        self.run_plan(result)
        return result.requeue_after
