"""Pods (pkg/registry/core/pod/strategy.go, as far as one node goes): v1 defaulting, the node this
agent is, Pending status at creation, ``validate_pod`` / ``validate_pod_update``, and graceful
deletion with the pod's terminationGracePeriodSeconds. The pod worker reacts to the stored changes.
"""

from __future__ import annotations

from typing import Any

from podbay.agent.strategies import Strategy
from podbay.api.defaults import default_pod
from podbay.api.fielderror import FieldError
from podbay.api.meta import rfc3339
from podbay.api.query import DeleteOptions
from podbay.api.validation import validate_pod, validate_pod_update
from podbay.core.phase import qos_class

Obj = dict[str, Any]
INTERNAL_PREFIX = "podbay.io/"   # annotations the agent keeps on a pod (volume paths)


class PodStrategy(Strategy):
    has_status = True
    returns_deleted_object = True

    def __init__(self, node_name: str, clock: Any = None) -> None:
        import time

        self.node_name = node_name
        self.clock = clock or time.time

    def prepare_create(self, obj: Obj) -> Obj:
        pod = default_pod(obj)
        pod["spec"]["nodeName"] = pod["spec"].get("nodeName") or self.node_name
        pod["status"] = {"phase": "Pending", "qosClass": qos_class(pod),
                         "conditions": [{"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                                         "lastTransitionTime": rfc3339(self.clock())}]}
        return pod

    def validate(self, obj: Obj) -> list[FieldError]:
        return validate_pod(obj)

    def prepare_update(self, new: Obj, old: Obj) -> Obj:
        pod = default_pod(new)
        pod["metadata"]["namespace"] = old["metadata"]["namespace"]
        if "status" in old:
            pod["status"] = old["status"]
        pod["spec"]["nodeName"] = (old.get("spec") or {}).get("nodeName")
        annotations = dict(pod["metadata"].get("annotations") or {})
        for k, v in ((old.get("metadata") or {}).get("annotations") or {}).items():
            if k.startswith(INTERNAL_PREFIX):
                annotations[k] = v
        if annotations:
            pod["metadata"]["annotations"] = annotations
        return pod

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return validate_pod_update(old, new)

    def delete_grace(self, obj: Obj, opts: DeleteOptions) -> int | None:
        """Pods are always deleted gracefully: the worker stops the containers, then removes the pod."""
        if opts.grace_period_seconds is not None:
            return opts.grace_period_seconds
        return int((obj.get("spec") or {}).get("terminationGracePeriodSeconds") or 30)
