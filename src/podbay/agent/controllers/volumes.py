"""The PersistentVolume controller for podbay's one node: a claim podbay's provisioner bound gets
its PersistentVolume object (``pvc-<claim uid>``, reclaim Delete); the volume object goes when its
claim is gone; an unbound claim is provisioned when its class binds Immediately (or a pod already
placed on the node uses it), else it stays Pending and an event says why — WaitForFirstConsumer,
an unknown class (ProvisioningFailed), another provisioner's (ExternalProvisioning), no class."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any

from podbay.agent.controllers.base import Controller, split_key
from podbay.agent.controllers.cache import Cache
from podbay.agent.controllers.ports import Provisioner, Writer
from podbay.api import storage
from podbay.core.controllers import nodefit
from podbay.core.controllers import objects as o
from podbay.core.controllers.plan import Ref, ref_of
from podbay.errors import AlreadyExists, NotFound

Obj = dict[str, Any]
CLAIM = "PersistentVolumeClaim"
PV = "PersistentVolume"
PV_KEY = "pv:"   # keys of volumes (claims' keys are namespace/name; a namespace has no ':')
PROVISIONER_ANNOTATION = "volume.kubernetes.io/storage-provisioner"
PV_PROTECTION = "kubernetes.io/pv-protection"


def provisioned_by(claim: Obj, provisioner: str) -> bool:
    return o.annotations_of(claim).get(PROVISIONER_ANNOTATION) == provisioner and bool(o.spec(claim).get("volumeName"))


class PersistentVolumeController(Controller):
    name = storage.PV_CONTROLLER
    primary = CLAIM
    watches = (PV, "StorageClass", "Pod")

    def __init__(self, cache: Cache, writer: Writer, provisioner: Provisioner,
                 clock: Callable[[], float] = time.time,
                 internal: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext) -> None:
        super().__init__(cache, writer, clock)
        self.provisioner = provisioner
        self.internal = internal   # marks the writes of PersistentVolume objects as the agent's own

    def keys_for(self, kind: str, event_type: str, old: Obj | None, new: Obj) -> Iterable[str]:
        if kind == CLAIM:
            keys = [o.key(new)]
            name = o.spec(new).get("volumeName")
            if event_type == "DELETED" and name:
                keys.append(PV_KEY + str(name))
            return keys
        if kind == PV:
            ref = o.spec(new).get("claimRef") or {}
            return [PV_KEY + o.name(new), f"{ref.get('namespace', '')}/{ref.get('name', '')}"]
        if kind == "StorageClass":
            return [o.key(c) for c in self.cache.list(CLAIM) if not nodefit.claim_bound(c)]
        # Pods: a pod placed on the node (nodeName given by its author) is a first consumer.
        if event_type == "DELETED" or not o.spec(new).get("nodeName") or (old and o.spec(old).get("nodeName")):
            return []
        return [f"{o.namespace(new)}/{n}" for n in nodefit.claim_names(new)]

    def resync(self) -> None:
        super().resync()
        for pv in self.cache.list(PV):
            self.queue.add(PV_KEY + o.name(pv))

    def sync(self, key: str) -> float | None:
        if key.startswith(PV_KEY):
            self.sync_volume(key[len(PV_KEY):])
            return None
        ns, name = split_key(key)
        claim = self.cache.get(CLAIM, ns, name)
        if claim is None or o.deleting(claim):
            return None
        if nodefit.claim_bound(claim):
            if provisioned_by(claim, self.provisioner.name):
                self.ensure_volume(claim)
            return None
        classes = {o.name(c): c for c in self.cache.list("StorageClass")}
        consumer = self.consumer_node(claim)
        if not storage.claim_class_name(claim):
            self.event(claim, ("Normal", "FailedBinding",
                               "no persistent volumes available for this claim and no storage class is set"))
            return None
        decision, event = storage.provisioning_decision(claim, classes, bool(consumer))
        if decision == "provision":
            self.provisioner.provision(ref_of(claim), consumer)
        elif event is not None:
            self.event(claim, event)
        return None

    def consumer_node(self, claim: Obj) -> str:
        """The node of a live pod that uses the claim and is placed already (else "")."""
        for pod in self.cache.list("Pod", o.namespace(claim)):
            node = o.spec(pod).get("nodeName")
            if node and not o.is_terminal(pod) and not o.deleting(pod) and o.name(claim) in nodefit.claim_names(pod):
                return str(node)
        return ""

    def ensure_volume(self, claim: Obj) -> None:
        name = str(o.spec(claim).get("volumeName"))
        pv = self.cache.get(PV, "", name)
        if pv is not None:
            return
        nodes = self.cache.list("Node")
        node = o.annotations_of(claim).get("volume.kubernetes.io/selected-node") or (o.name(nodes[0]) if nodes else "")
        body = storage.persistent_volume_for(claim, self.provisioner.volume_path(claim), node, o.rfc3339(self.clock()))
        with self.internal(), contextlib.suppress(AlreadyExists):
            self.writer.create(body)
            self.event(claim, ("Normal", "ProvisioningSucceeded",
                               f"Successfully provisioned volume {name} using {self.provisioner.name}"))

    def sync_volume(self, name: str) -> None:
        """A volume whose claim is gone is deleted (reclaimPolicy Delete; the claim's directory went
        with the claim), its pv-protection finalizer first since nothing uses it any more."""
        pv = self.cache.get(PV, "", name)
        if pv is None:
            return
        ref = o.spec(pv).get("claimRef") or {}
        claim = self.cache.get(CLAIM, str(ref.get("namespace") or ""), str(ref.get("name") or ""))
        if claim is not None and o.uid(claim) == ref.get("uid"):
            return
        if o.annotations_of(pv).get(storage.PROVISIONED_BY) != self.provisioner.name:
            return   # not ours to reclaim
        target = Ref("v1", PV, "", name, o.uid(pv))
        with contextlib.suppress(NotFound):
            if PV_PROTECTION in o.finalizers(pv):
                self.writer.patch(target, {"metadata": {"$deleteFromPrimitiveList/finalizers": [PV_PROTECTION]}},
                                  "strategic")
            if not o.deleting(pv):
                self.writer.delete(target, None, uid=o.uid(pv))

    def event(self, claim: Obj, event: tuple[str, str, str]) -> None:
        type_, reason, message = event
        self.writer.record_event(ref_of(claim), type_, reason, message, self.name)
