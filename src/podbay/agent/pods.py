"""The API-facing pod operations and the supervisor of pod workers."""

from __future__ import annotations

import asyncio
import copy
import logging
import time
import uuid
from typing import Any

from podbay.agent import projections
from podbay.agent.deps import Deps
from podbay.agent.events import iso
from podbay.agent.node import HostNode
from podbay.agent.wiring import Kubelet, build_kubelet
from podbay.api.defaults import default_pod
from podbay.api.validation import validate_pod, validate_pod_update
from podbay.errors import AlreadyExists, NotFound, ValidationError

log = logging.getLogger("podbay.pods")


class PodService:
    """The API-facing pod operations; the lifecycle itself is the pod workers' (``agent/pod_workers``)."""

    def __init__(self, deps: Deps, *, kubelet: Kubelet | None = None, node: HostNode | None = None) -> None:
        self.deps = deps
        self.kubelet = kubelet or build_kubelet(deps, self.evict_pod)
        self.workers = self.kubelet.workers
        self.evictions = self.kubelet.evictions
        self.node = node if node is not None else (HostNode(deps, self.kubelet.index) if kubelet is None else None)

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Adopt every stored pod (nothing is killed), then watch conmon's exit dir."""
        self.evictions.attach(asyncio.get_running_loop())
        if self.node is not None:
            await self.node.prepare()
        self.workers.start_all()
        if self.node is not None:
            self.node.run(self.workers.on_exit)

    async def stop(self) -> None:
        """Stop the workers only: containers, conmon and mounts stay as they are."""
        if self.node is not None:
            await self.node.stop()
        self.evictions.close()
        self.kubelet.prober.close()
        await self.workers.stop()

    # ------------------------------------------------------------------ API operations
    def create(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("kind", "Pod") != "Pod":
            raise ValidationError("Pod", str(body.get("metadata", {}).get("name", "")),
                                  [f'kind: Invalid value: "{body.get("kind")}": must be Pod'])
        md = body.setdefault("metadata", {})
        if md.get("namespace") and md["namespace"] != namespace:
            raise ValidationError("Pod", str(md.get("name", "")), [
                "metadata.namespace: Invalid value: "
                f'"{md["namespace"]}": the namespace of the provided object does not match the namespace sent on the '
                "request"])
        md["namespace"] = namespace
        if not md.get("name") and md.get("generateName"):
            md["name"] = md["generateName"] + uuid.uuid4().hex[:5]
        pod = default_pod(body)
        errors = validate_pod(pod)
        if errors:
            raise ValidationError("Pod", str(pod["metadata"].get("name", "")), errors)
        name = pod["metadata"]["name"]
        if self.deps.store.get_object("Pod", namespace, name) is not None:
            raise AlreadyExists(f'pods "{name}" already exists')
        now = time.time()
        pod["apiVersion"] = "v1"
        pod["kind"] = "Pod"
        md = pod["metadata"]
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = iso(now)
        md.pop("deletionTimestamp", None)
        pod["spec"]["nodeName"] = pod["spec"].get("nodeName") or self.deps.cfg.node_name
        pod["status"] = {"phase": "Pending", "qosClass": "BestEffort",
                         "conditions": [{"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                                         "lastTransitionTime": iso(now)}]}
        try:
            self.deps.store.put_object(pod, create=True)
        except Exception as exc:  # a concurrent create of the same name (UNIQUE key)
            raise AlreadyExists(f'pods "{name}" already exists') from exc
        self.deps.hub.publish("ADDED", pod)
        self.workers.update(pod)
        return pod

    def get(self, namespace: str, name: str) -> dict[str, Any]:
        pod = self.deps.store.get_object("Pod", namespace, name)
        if pod is None:
            raise NotFound(f'pods "{name}" not found')
        return pod

    def list(self, namespace: str | None) -> list[dict[str, Any]]:
        return self.deps.store.list_objects("Pod", namespace)

    def replace(self, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        old = self.get(namespace, name)
        new = default_pod(body)
        new["metadata"]["namespace"] = namespace
        errors = validate_pod_update(old, new)
        if errors:
            raise ValidationError("Pod", name, errors)
        merged = copy.deepcopy(old)
        merged["metadata"]["labels"] = new["metadata"].get("labels") or {}
        anns = dict(new["metadata"].get("annotations") or {})
        for k, v in (old["metadata"].get("annotations") or {}).items():
            if k.startswith("podbay.io/"):
                anns[k] = v
        merged["metadata"]["annotations"] = anns
        merged["spec"] = new["spec"]
        merged["spec"]["nodeName"] = old["spec"].get("nodeName")
        self.deps.store.put_object(merged)
        self.deps.hub.publish("MODIFIED", merged)
        self.workers.update(merged)
        return merged

    def delete(self, namespace: str, name: str, grace: int | None) -> dict[str, Any]:
        pod = self.get(namespace, name)
        md = pod["metadata"]
        if grace is None:
            grace = int(pod["spec"].get("terminationGracePeriodSeconds", 30))
        if md.get("deletionTimestamp"):
            grace = min(grace, int(md.get("deletionGracePeriodSeconds", grace)))  # grace only shortens
        md["deletionTimestamp"] = md.get("deletionTimestamp") or iso(time.time())
        md["deletionGracePeriodSeconds"] = grace
        self.deps.store.put_object(pod)
        self.deps.hub.publish("MODIFIED", pod)
        self.workers.update(pod)
        return pod

    def object_changed(self, kind: str, namespace: str, name: str) -> None:
        """A ConfigMap/Secret changed: wake the pods whose volumes project it."""
        for pod in self.deps.store.list_objects("Pod", namespace):
            if projections.uses_object(pod, kind, name):
                self.workers.poke(pod["metadata"]["uid"])

    def evict_pod(self, uid: str, message: str) -> None:
        self.workers.evict(uid, "Evicted", message)
