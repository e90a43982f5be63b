"""The adapters one agent uses, built once by the composition root (server.daemon) and injected everywhere."""

from __future__ import annotations

from dataclasses import dataclass

from podbay.agent.config import AgentConfig
from podbay.agent.hub import Hub
from podbay.agent.serviceaccounts import ServiceAccounts
from podbay.images.store import ImageStore
from podbay.network.cni import CniNetwork
from podbay.runtime.service import ContainerRuntime
from podbay.store.db import Store


@dataclass
class Deps:
    cfg: AgentConfig
    store: Store
    hub: Hub
    images: ImageStore
    network: CniNetwork
    runtime: ContainerRuntime
    node_allocatable: int
    host_ip: str
    nofile: tuple[int, int]
    host_caps: tuple[str, ...] | None = None   # the agent's bounding set: privileged gets these, not all
    service_accounts: ServiceAccounts | None = None   # access: SA admission and pod tokens (None: off)
