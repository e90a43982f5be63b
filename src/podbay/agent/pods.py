"""The pod service: adoption at start, the pod workers fed from stored changes, what the API reads.

The API operations on pods (create, replace, delete, ...) are the generic registry's, with the pod
strategy (``agent.strategies.pods``); this service reacts to what the registry stores: a new pod,
a spec, metadata or deletion change goes to the pod workers (``agent/pod_workers``), a ConfigMap or
Secret change wakes the pods that project it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from podbay.agent import projections
from podbay.agent.deps import Deps
from podbay.agent.housekeeping import Housekeeping
from podbay.agent.hub import Event
from podbay.agent.kubelet import Kubelet, build_kubelet
from podbay.core.status import KUBELET_CONDITIONS
from podbay.errors import NotFound

log = logging.getLogger("podbay.pods")


class PodService:
    def __init__(self, deps: Deps, *, kubelet: Kubelet | None = None,
                 housekeeping: Housekeeping | None = None) -> None:
        self.deps = deps
        self.kubelet = kubelet or build_kubelet(deps, self.evict_pod)
        self.workers = self.kubelet.workers
        self.evictions = self.kubelet.evictions
        self.housekeeping = housekeeping if housekeeping is not None else \
            (Housekeeping(deps, self.kubelet.index) if kubelet is None else None)
        self._seen: dict[str, tuple[Any, ...]] = {}   # uid -> what last woke its worker

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Adopt every stored pod (nothing is killed), then watch conmon's exit dir."""
        self.evictions.attach(asyncio.get_running_loop())
        if self.housekeeping is not None:
            await self.housekeeping.prepare()
        for stored in self.deps.repo.list("Pod"):
            self._seen[stored.uid] = _wake_key(stored.obj)
            if _bound(stored.obj):    # the scheduler has placed it: only then may a worker start it
                self.workers.update(stored.obj)
        if self.housekeeping is not None:
            self.housekeeping.run(self.workers.on_exit)

    async def stop(self) -> None:
        """Stop the workers only: containers, conmon and mounts stay as they are."""
        if self.housekeeping is not None:
            await self.housekeeping.stop()
        self.evictions.close()
        self.kubelet.prober.close()
        await self.workers.stop()

    # ------------------------------------------------------------------ reactions to stored changes
    def attach(self) -> None:
        """Follow the hub: new pods get a worker; spec, metadata or deletion changes wake it; a
        ConfigMap/Secret change wakes the pods that project it."""
        self.deps.hub.add_listener("Pod", self._on_pod)
        for kind in ("ConfigMap", "Secret"):
            self.deps.hub.add_listener(kind, lambda ev: self.object_changed(ev.kind, ev.namespace, ev.name))

    def _on_pod(self, ev: Event) -> None:
        pod = ev.obj
        if pod is None:
            return
        uid = str((pod.get("metadata") or {}).get("uid") or "")
        if ev.type == "DELETED":
            self._seen.pop(uid, None)
            self.workers.poke(uid)    # gone: its worker (if any) notices and ends
            return
        trigger = _wake_key(pod)
        if self._seen.get(uid) == trigger and self.workers.has(uid):
            return   # only the status changed (the worker's own write): nothing to do
        self._seen[uid] = trigger
        if not _bound(pod) and not self.workers.has(uid):
            return   # the scheduler has not placed it: nothing may start it
        self.workers.update(pod)

    # ------------------------------------------------------------------ reads (logs, exec, stats)
    def get(self, namespace: str, name: str) -> dict[str, Any]:
        pod = self.deps.repo.get("Pod", namespace, name)
        if pod is None:
            raise NotFound(f'pods "{name}" not found', {"name": name, "kind": "pods"})
        return pod

    def records(self, uid: str) -> list[Any]:
        """The container attempts of a pod (what logs and exec look up)."""
        return self.deps.store.containers(uid)

    def list(self, namespace: str | None) -> list[dict[str, Any]]:
        return [s.copy() for s in self.deps.repo.list("Pod", namespace)]

    def object_changed(self, kind: str, namespace: str, name: str) -> None:
        """A ConfigMap/Secret changed: wake the pods whose volumes project it."""
        for stored in self.deps.repo.list("Pod", namespace):
            if projections.uses_object(stored.obj, kind, name):
                self.workers.poke(stored.uid)

    def evict_pod(self, uid: str, message: str) -> None:
        self.workers.evict(uid, "Evicted", message)


def _bound(pod: dict[str, Any]) -> bool:
    """Bound to this node by the scheduler (a pod without spec.nodeName waits, as for a kubelet)."""
    return bool((pod.get("spec") or {}).get("nodeName"))


def _wake_key(pod: dict[str, Any]) -> tuple[Any, ...]:
    """What in a pod, when it changes, its worker must look at: spec (generation), deletion, the
    labels and annotations the downward API may project (not the agent's own annotations), and the
    conditions others own (readiness gates: the kubelet recomputes Ready when they change)."""
    md = pod.get("metadata") or {}
    annotations = {k: v for k, v in (md.get("annotations") or {}).items() if not k.startswith("podbay.io/")}
    gates = sorted((str(c.get("type")), str(c.get("status"))) for c in (pod.get("status") or {}).get("conditions") or []
                   if isinstance(c, dict) and c.get("type") not in KUBELET_CONDITIONS)
    return (md.get("generation"), json.dumps(pod.get("spec"), sort_keys=True), md.get("deletionTimestamp"),
            md.get("deletionGracePeriodSeconds"), json.dumps(md.get("labels"), sort_keys=True),
            json.dumps(annotations, sort_keys=True), tuple(gates))
