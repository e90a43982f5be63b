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
from podbay.api.resources import ResourceTable, default_table
from podbay.store.repository import Repository


def strategies(repo: Repository, node_name: str, root: Path, clock: Callable[[], float] = time.time) -> dict[str, Strategy]:
    return {
        "Pod": PodStrategy(node_name, clock),
        "ConfigMap": ConfigMapStrategy(),
        "Secret": SecretStrategy(),
        claims.KIND: ClaimStrategy(root, lambda ns, name: claims.in_use(repo, ns, name)),
        "Namespace": NamespaceStrategy(),
        "Node": node_strategy(),
        "Event": event_strategy(),
        "ServiceAccount": service_account_strategy(),
        "Lease": lease_strategy(),
    }


def build_registry(repo: Repository, node_name: str, root: Path, *, table: ResourceTable | None = None,
                   clock: Callable[[], float] = time.time) -> Registry:
    return Registry(table or default_table(), repo, strategies(repo, node_name, root, clock), clock=clock)
