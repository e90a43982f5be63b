"""The registry with every built-in kind's strategy (shared by the agent and the tests)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from podbay.agent import claims
from podbay.agent.registry import Registry
from podbay.agent.strategies import Strategy
from podbay.agent.strategies.basic import (
    event_strategy,
    lease_strategy,
    node_strategy,
    service_account_strategy,
)
from podbay.agent.strategies.claims import ClaimStrategy
from podbay.agent.strategies.configdata import ConfigMapStrategy, SecretStrategy
from podbay.agent.strategies.namespaces import NamespaceStrategy
from podbay.agent.strategies.pods import PodStrategy
from podbay.agent.strategies.services import EndpointSliceStrategy, EndpointsStrategy, ServiceStrategy
from podbay.api.resources import ResourceTable, default_table
from podbay.core.services.allocation import ServiceNetwork
from podbay.store.repository import Repository


def strategies(repo: Repository, node_name: str, root: Path, clock: Callable[[], float] = time.time,
               service_net: ServiceNetwork | None = None) -> dict[str, Strategy]:
    from podbay.agent.strategies import workloads

    return {
        **workloads.strategies(workloads.PV_WRITES.internal),
        "Service": ServiceStrategy(repo, service_net or ServiceNetwork()),
        "Endpoints": EndpointsStrategy(),
        "EndpointSlice": EndpointSliceStrategy(),
        "Pod": PodStrategy(node_name, clock, fit=_fit_check(repo, node_name)),
        "ConfigMap": ConfigMapStrategy(),
        "Secret": SecretStrategy(),
        claims.KIND: ClaimStrategy(root, lambda ns, name: claims.in_use(repo, ns, name),
                                   lambda name: repo.get("StorageClass", "", name)),
        "Namespace": NamespaceStrategy(),
        "Node": node_strategy(),
        "Event": event_strategy(),
        "ServiceAccount": service_account_strategy(),
        "Lease": lease_strategy(),
    }


def _fit_check(repo: Repository, node_name: str) -> Callable[[dict], str | None]:
    """The scheduler's filters against the stored Node and the pods already on it: None when the pod
    fits, its FailedScheduling message when it does not, "" when the scheduler must provision its
    WaitForFirstConsumer claims first (it binds the pod then)."""
    from podbay.core.controllers import nodefit

    def fit(pod: dict) -> str | None:
        node = repo.get("Node", "", node_name)
        if node is None:   # the node registers itself at start: until then there is nothing to check
            return None
        volumes = nodefit.VolumeBinding()
        if nodefit.claim_names(pod):
            ns = str(pod["metadata"].get("namespace") or "")
            pvcs = {s.name: s.obj for s in repo.list(claims.KIND, ns)}
            classes = {s.name: s.obj for s in repo.list("StorageClass")}
            volumes = nodefit.volume_binding(pod, pvcs, classes, claims.PROVISIONER)
            if volumes.prefilter:
                return nodefit.fit_error_message([volumes.fit], volumes.prefilter)
        pods = nodefit.assigned_pods([s.obj for s in repo.list("Pod")], node_name)
        verdict = nodefit.filter_pod(pod, node, pods)
        if verdict.fits:
            verdict = volumes.fit
        if not verdict.fits:
            return nodefit.fit_error_message([verdict])
        return "" if volumes.provision else None

    return fit


def build_registry(repo: Repository, node_name: str, root: Path, *, table: ResourceTable | None = None,
                   clock: Callable[[], float] = time.time, service_net: ServiceNetwork | None = None) -> Registry:
    return Registry(table or default_table(), repo, strategies(repo, node_name, root, clock, service_net), clock=clock)
