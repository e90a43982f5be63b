"""The EndpointSlice and Endpoints controllers of one agent: for each Service with a selector, keep
its EndpointSlices (discovery.k8s.io/v1) and its legacy v1 Endpoints in step with its pods.

State comes in through a narrow lister and goes out through a narrow writer (the generic
registry implements both); the decisions are ``podbay.core.services.endpointslices``. One failed
Service sync is logged and retried with its next event; it never stops the others.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from podbay.core.services import endpointslices as es
from podbay.core.services import mirroring

log = logging.getLogger("podbay.endpointslices")
Obj = dict[str, Any]


class ServiceLister(Protocol):
    def service(self, namespace: str, name: str) -> Obj | None: ...

    def pods(self, namespace: str) -> list[Obj]: ...

    def slices(self, namespace: str, service: str) -> list[Obj]: ...

    def endpoints(self, namespace: str, name: str) -> Obj | None: ...


class ObjectWriter(Protocol):
    """Create (generateName honoured), update (resourceVersion checked) and delete API objects."""

    async def create(self, obj: Obj) -> Obj: ...

    async def update(self, obj: Obj) -> Obj: ...

    async def delete(self, api_version: str, kind: str, namespace: str, name: str) -> None: ...


class EndpointsController:
    def __init__(self, lister: ServiceLister, writer: ObjectWriter, *,
                 max_per_slice: int = es.MAX_ENDPOINTS_PER_SLICE) -> None:
        self.lister = lister
        self.writer = writer
        self.max_per_slice = max_per_slice
        self.tracker = es.TriggerTimeTracker()

    async def sync(self, namespace: str, name: str) -> None:
        """syncService: slices and Endpoints of one Service (deleted Service: nothing to keep;
        the garbage collector removes slices through their ownerReferences)."""
        svc = self.lister.service(namespace, name)
        await self.mirror(namespace, name)
        if svc is None:
            self.tracker.forget(namespace, name)
            for s in self.lister.slices(namespace, name):
                if ((s.get("metadata") or {}).get("labels") or {}).get(es.LABEL_MANAGED_BY) == es.CONTROLLER_NAME:
                    await self.writer.delete("discovery.k8s.io/v1", "EndpointSlice", namespace,
                                             str(s["metadata"]["name"]))
            # The Endpoints controller deletes the Endpoints of a deleted Service (same name).
            if self.lister.endpoints(namespace, name) is not None:
                await self.writer.delete("v1", "Endpoints", namespace, name)
            return
        if (svc.get("spec") or {}).get("selector") is None or (svc.get("spec") or {}).get("type") == "ExternalName":
            # Not ours: selectorless Services get user-written (or agent-written) endpoints.
            plan = es.reconcile_slices(svc, [], self.lister.slices(namespace, name))
            for n in plan.delete:
                await self.writer.delete("discovery.k8s.io/v1", "EndpointSlice", namespace, n)
            return
        pods = es.selected_pods(svc, self.lister.pods(namespace))
        trigger = self.tracker.compute(svc, pods)
        plan = es.reconcile_slices(svc, pods, self.lister.slices(namespace, name), trigger, self.max_per_slice)
        await self._apply(namespace, plan)
        existing = self.lister.endpoints(namespace, name)
        ep = es.desired_endpoints_object(svc, pods, trigger, existing)
        if ep is not None:
            await (self.writer.update(ep) if existing is not None else self.writer.create(ep))

    async def mirror(self, namespace: str, name: str) -> None:
        """The EndpointSlice mirroring controller's sync: slices for a selectorless Service's own
        Endpoints (what an Endpoints event triggers; it never deletes the Endpoints)."""
        plan = mirroring.reconcile(self.lister.service(namespace, name), self.lister.endpoints(namespace, name),
                                   self.lister.slices(namespace, name))
        await self._apply(namespace, plan)

    async def _apply(self, namespace: str, plan: es.SlicePlan) -> None:
        """Deletes first, then updates, then creates (reconciler.finalize's order)."""
        for n in plan.delete:
            await self.writer.delete("discovery.k8s.io/v1", "EndpointSlice", namespace, n)
        for s in plan.update:
            await self.writer.update(s)
        for s in plan.create:
            await self.writer.create(s)

    async def sync_safely(self, namespace: str, name: str, mirror_only: bool = False) -> bool:
        try:
            await (self.mirror(namespace, name) if mirror_only else self.sync(namespace, name))
            return True
        except Exception as exc:  # a reconcile loop never dies from one bad sync
            log.warning("endpoints of service %s/%s not synced: %s", namespace, name, exc)
            return False


def services_for_pod(pod: Mapping[str, Any], services: list[Obj]) -> list[tuple[str, str]]:
    """The Services whose selector matches a pod (getPodServiceMemberships): what a pod event
    enqueues."""
    md = pod.get("metadata") or {}
    out = []
    for svc in services:
        smd = svc.get("metadata") or {}
        sel = (svc.get("spec") or {}).get("selector")
        if smd.get("namespace") == md.get("namespace") and sel is not None and \
                es.match_labels(sel, md.get("labels") or {}):
            out.append((str(smd["namespace"]), str(smd["name"])))
    return out
