"""Pods from templates (``controller.GetPodFromTemplate``, ``RealPodControl.CreatePods``) and the
slow-start batch sizes of ``slowStartBatch``."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from podbay.api import names
from podbay.core.controllers import objects as o
from podbay.core.controllers.plan import Create, Delete, Outcome, Ref, ref_of

Obj = dict[str, Any]

SLOW_START_INITIAL_BATCH_SIZE = 1
BURST_REPLICAS = 500  # the ReplicaSet controller's burstReplicas


def pods_prefix(controller_name: str) -> str:
    """``getPodsPrefix``: ``<name>-`` unless that is not a valid generateName."""
    prefix = f"{controller_name}-"
    masked = prefix[:-1] + "a"
    return prefix if not names.is_dns1123_subdomain(masked) else controller_name


def pod_from_template(template: Mapping[str, Any], owner: Mapping[str, Any], namespace: str,
                      controller_ref: Mapping[str, Any] | None = None) -> Obj:
    """``GetPodFromTemplate``: labels, annotations and finalizers copied, ``generateName`` from the owner."""
    tmeta = template.get("metadata") or {}
    md: Obj = {"generateName": pods_prefix(o.name(owner)), "namespace": namespace}
    if tmeta.get("labels"):
        md["labels"] = dict(tmeta["labels"])
    if tmeta.get("annotations"):
        md["annotations"] = dict(tmeta["annotations"])
    if tmeta.get("finalizers"):
        md["finalizers"] = list(tmeta["finalizers"])
    if controller_ref is not None:
        md["ownerReferences"] = [dict(controller_ref)]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": md,
        "spec": copy.deepcopy(dict(template.get("spec") or {})),
    }


def create_pod(pod: Obj, owner: Mapping[str, Any], batch: str = "") -> Create:
    """``RealPodControl.CreatePods``: the create and its SuccessfulCreate / FailedCreate events."""
    return Create(
        pod,
        Outcome(ref_of(owner), ("SuccessfulCreate", "Created pod: {name}"), ("FailedCreate", "Error creating: {error}")),
        batch,
    )


def delete_pod(pod: Mapping[str, Any], owner: Mapping[str, Any]) -> Delete:
    """``RealPodControl.DeletePod``: SuccessfulDelete / FailedDelete events on the owner."""
    return Delete(
        ref_of(pod),
        outcome=Outcome(ref_of(owner), ("SuccessfulDelete", "Deleted pod: {name}"), ("FailedDelete", "Error deleting: {error}")),
    )


def pod_ref(pod: Mapping[str, Any]) -> Ref:
    return ref_of(pod)


def slow_start_batches(count: int, initial: int = SLOW_START_INITIAL_BATCH_SIZE) -> list[int]:
    """The batch sizes ``slowStartBatch(count, initial, fn)`` runs: 1, 2, 4, … up to ``count``."""
    out = []
    remaining, size = count, min(count, initial)
    while size > 0:
        out.append(size)
        remaining -= size
        size = min(2 * size, remaining)
    return out
