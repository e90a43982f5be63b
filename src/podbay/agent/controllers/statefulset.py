"""The StatefulSet controller: pod and ControllerRevision events wake the owning set;
``core.controllers.statefulset`` decides (pods, claims, revisions, status)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from podbay.agent.controllers.base import Controller, split_key
from podbay.api import labelselector
from podbay.core.controllers import objects as o
from podbay.core.controllers.statefulset import is_member, sync_stateful_set

Obj = dict[str, Any]


class StatefulSetController(Controller):
    name = "statefulset-controller"
    primary = "StatefulSet"
    watches = ("Pod", "ControllerRevision", "PersistentVolumeClaim")

    def keys_for(self, kind: str, event_type: str, old: Obj | None, new: Obj) -> Iterable[str]:
        if kind == "PersistentVolumeClaim":  # a claim <template>-<set>-<ordinal> changed or went away
            return [o.key(s) for s in self.cache.list(self.primary, o.namespace(new))
                    if any(o.name(new).startswith(f"{o.name(t)}-{o.name(s)}-")
                           for t in o.spec(s).get("volumeClaimTemplates") or [])]
        keys = list(super().keys_for(kind, event_type, old, new))
        if kind == "Pod" and o.controller_of(new) is None:
            for s in self.cache.list(self.primary, o.namespace(new)):
                if is_member(s, new) and labelselector.matches(o.spec(s).get("selector"), o.labels(new)):
                    keys.append(o.key(s))
        return keys

    def sync(self, key: str) -> float | None:
        ns, name = split_key(key)
        sts = self.cache.get(self.primary, ns, name)
        if sts is None:
            return None
        result = sync_stateful_set(sts, self.cache.list("Pod", ns), self.cache.list("ControllerRevision", ns),
                                   self.cache.list("PersistentVolumeClaim", ns), self.clock())
        self.run_plan(result)
        return result.requeue_after
