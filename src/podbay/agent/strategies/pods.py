"""Pods (pkg/registry/core/pod/strategy.go, as far as one node goes): v1 defaulting, the node this
agent is, Pending status at creation, ``validate_pod`` / ``validate_pod_update``, and graceful
deletion with the pod's terminationGracePeriodSeconds. The pod worker reacts to the stored changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from podbay.agent.strategies import Strategy
from podbay.api.defaults import default_pod
from podbay.api.fielderror import FieldError
from podbay.api.meta import rfc3339
from podbay.api.query import DeleteOptions
from podbay.api.validation import validate_pod, validate_pod_update
from podbay.core.status import qos_class

Obj = dict[str, Any]
INTERNAL_PREFIX = "podbay.io/"   # annotations the agent keeps on a pod (volume paths)


class PodStrategy(Strategy):
    has_status = True
    returns_deleted_object = True

    def __init__(self, node_name: str, clock: Any = None, fit: Any = None) -> None:
        import time

        self.node_name = node_name
        self.clock = clock or time.time
        # (pod) -> None when it fits this node, else the scheduler's FailedScheduling message
        self.fit = fit
        # access: the ServiceAccount admission plugin (agent.serviceaccounts.ServiceAccounts.admit_pod)
        self.admit: Callable[[Obj], Obj] | None = None

    def prepare_create(self, obj: Obj) -> Obj:
        pod = default_pod(obj)
        if self.admit is not None:
            pod = self.admit(pod)
        scheduled: Obj = {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                          "lastTransitionTime": rfc3339(self.clock())}
        if not pod["spec"].get("nodeName"):
            # The scheduler's first attempt, at once: a pod that fits is bound now; one that does not
            # stays Pending and unbound (no worker starts it) until the scheduler can place it.
            # ("" = fits once the scheduler has provisioned its claims: no condition until then)
            why = self.fit(pod) if self.fit is not None else None
            if why is None:
                pod["spec"]["nodeName"] = self.node_name
            else:
                scheduled.update(status="False", reason="Unschedulable", message=why)
        conditions = [scheduled] if scheduled.get("message") != "" else []
        pod["status"] = {"phase": "Pending", "qosClass": qos_class(pod), "conditions": conditions}
        return pod

    def validate(self, obj: Obj) -> list[FieldError]:
        return validate_pod(obj)

    def prepare_update(self, new: Obj, old: Obj) -> Obj:
        pod = default_pod(new)
        pod["metadata"]["namespace"] = old["metadata"]["namespace"]
        if "status" in old:
            pod["status"] = old["status"]
        if (old.get("spec") or {}).get("nodeName"):
            pod["spec"]["nodeName"] = old["spec"]["nodeName"]
        else:
            pod["spec"].pop("nodeName", None)   # only a binding assigns a node
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
        """Pods are deleted gracefully (the worker stops the containers, then removes the pod), except
        one never bound to the node: nothing runs it, so it goes at once (CheckGracefulDelete)."""
        if not (obj.get("spec") or {}).get("nodeName"):
            return None
        if opts.grace_period_seconds is not None:
            return opts.grace_period_seconds
        return int((obj.get("spec") or {}).get("terminationGracePeriodSeconds") or 30)
