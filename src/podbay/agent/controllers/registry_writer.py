"""The controllers' ``Writer`` over the generic registry: every write takes the path a client's
request takes (type check, defaulting, validation, preconditions, watch events), as
kube-controller-manager's writes go through kube-apiserver. Events are recorded like the
kubelet's, with the controller as source."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from podbay.agent import events
from podbay.agent.registry import Registry
from podbay.api import meta
from podbay.api.query import DeleteOptions, WriteOptions
from podbay.api.resources import ResourceType
from podbay.core.controllers.plan import Ref
from podbay.errors import Conflict, NotFound

Obj = dict[str, Any]
MANAGER = "kube-controller-manager"
PATCH_TYPES = {"strategic": "application/strategic-merge-patch+json", "merge": "application/merge-patch+json",
               "json": "application/json-patch+json"}


def _gv(api_version: str) -> tuple[str, str]:
    if "/" in api_version:
        g, _, v = api_version.partition("/")
        return g, v
    return "", api_version or "v1"


class RegistryWriter:
    def __init__(self, registry: Registry, node_name: str, clock: Callable[[], float] = time.time) -> None:
        self.registry = registry
        self.node_name = node_name
        self.clock = clock

    def _rt(self, api_version: str, kind: str) -> ResourceType:
        group, version = _gv(api_version)
        return self.registry.kind(kind, group, version)

    @staticmethod
    def _opts() -> WriteOptions:
        return WriteOptions(field_manager=MANAGER)

    def create(self, body: Obj) -> Obj:
        rt = self._rt(str(body.get("apiVersion") or ""), str(body.get("kind") or ""))
        ns = str((body.get("metadata") or {}).get("namespace") or "")
        return self.registry.create(rt, ns, body, self._opts())

    def update(self, body: Obj, subresource: str = "") -> Obj:
        rt = self._rt(str(body.get("apiVersion") or ""), str(body.get("kind") or ""))
        md = body.get("metadata") or {}
        obj, _ = self.registry.update(rt, str(md.get("namespace") or ""), str(md.get("name") or ""), body,
                                      self._opts(), subresource=subresource)
        return obj

    def patch(self, target: Ref, patch: Any, patch_type: str, subresource: str = "") -> Obj:
        rt = self._rt(target.api_version, target.kind)
        obj, _ = self.registry.patch(rt, target.namespace, target.name, PATCH_TYPES[patch_type],
                                     json.dumps(patch).encode(), self._opts(), subresource=subresource)
        return obj

    def delete(self, target: Ref, propagation: str | None, uid: str = "", resource_version: str = "") -> None:
        rt = self._rt(target.api_version, target.kind)
        opts = DeleteOptions(uid=uid or None, resource_version=resource_version or None,
                             propagation_policy=propagation)
        self.registry.delete(rt, target.namespace, target.name, opts)

    def bind(self, pod: Ref, node_name: str) -> None:
        """``BindingREST.setPodNodeAndMetadata``: spec.nodeName and PodScheduled=True."""
        now = meta.rfc3339(self.clock())

        def assign(obj: Obj) -> Obj:
            md = obj.get("metadata") or {}
            if md.get("deletionTimestamp"):
                raise Conflict(f"pod {pod.name} is being deleted, cannot be assigned to a host")
            spec = obj.setdefault("spec", {})
            if spec.get("nodeName"):
                raise Conflict(f'pod {pod.name} is already assigned to node "{spec["nodeName"]}"')
            spec["nodeName"] = node_name
            status = obj.setdefault("status", {})
            conds = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
            status["conditions"] = [{"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                                     "lastTransitionTime": now}, *conds]
            return obj

        if self.registry.repo.mutate("Pod", pod.namespace, pod.name, assign) is None:
            raise NotFound(f'pods "{pod.name}" not found')

    def record_event(self, involved: Ref, type_: str, reason: str, message: str, component: str) -> None:
        ref: Obj = {"kind": involved.kind, "namespace": involved.namespace, "name": involved.name,
                    "uid": involved.uid, "apiVersion": involved.api_version}
        if involved.resource_version:
            ref["resourceVersion"] = involved.resource_version
        events.record_about(self.registry.repo, self.node_name, ref, type_, reason, message, component,
                            host="" if component != "kubelet" else self.node_name)
