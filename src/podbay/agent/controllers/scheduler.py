"""The default scheduler for the one node: a pod without ``spec.nodeName`` is bound once it fits
(``core.controllers.nodefit``), else it stays Pending with ``PodScheduled=False/Unschedulable`` and
a ``FailedScheduling`` event, and is tried again when the node, the pods on it, its claims or the
storage classes change. Claims of a WaitForFirstConsumer class served by podbay's provisioner are
provisioned just before the pod is bound (VolumeBinding's PreBind)."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable
from typing import Any

from podbay.agent.controllers.base import Controller, split_key
from podbay.agent.controllers.cache import Cache
from podbay.agent.controllers.ports import Provisioner, Writer
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
    watches = ("Node", "PersistentVolumeClaim", "StorageClass")

    def __init__(self, cache: Cache, writer: Writer, clock: Callable[[], float] = time.time,
                 provisioner: Provisioner | None = None) -> None:
        super().__init__(cache, writer, clock)
        self.provisioner = provisioner

    def _pending_keys(self, namespace: str | None = None) -> list[str]:
        return [o.key(p) for p in self.cache.list("Pod", namespace) if pending(p)]

    def keys_for(self, kind: str, event_type: str, old: Obj | None, new: Obj) -> Iterable[str]:
        if kind in ("Node", "StorageClass"):
            return self._pending_keys()
        if kind == "PersistentVolumeClaim":
            name = o.name(new)
            return [o.key(p) for p in self.cache.list("Pod", o.namespace(new))
                    if pending(p) and name in nodefit.claim_names(p)]
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
        volumes = self._volume_binding(pod)
        fit = volumes.fit
        if not volumes.prefilter:
            fit = nodefit.filter_pod(pod, node, nodefit.assigned_pods(self.cache.list("Pod"), o.name(node), o.uid(pod)))
            if fit.fits:
                fit = volumes.fit
        if volumes.ok and fit.fits:
            for claim in volumes.provision:
                assert self.provisioner is not None
                self.provisioner.provision(ref_of(self.cache.get("PersistentVolumeClaim", ns, claim) or {}),
                                           o.name(node))
            self.writer.bind(ref_of(pod), o.name(node))
            return None
        message = nodefit.fit_error_message([fit], volumes.prefilter)
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

    def _volume_binding(self, pod: Obj) -> nodefit.VolumeBinding:
        if not nodefit.claim_names(pod):
            return nodefit.VolumeBinding()
        claims = {o.name(c): c for c in self.cache.list("PersistentVolumeClaim", o.namespace(pod))}
        classes = {o.name(c): c for c in self.cache.list("StorageClass")}
        served = self.provisioner.name if self.provisioner is not None else ""
        return nodefit.volume_binding(pod, claims, classes, served)
