"""The adapters one agent uses, built once by the composition root (server.daemon) and injected everywhere."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from podbay.agent.config import AgentConfig
from podbay.agent.hub import Hub
from podbay.agent.serviceaccounts import ServiceAccounts
from podbay.api.resources import default_table
from podbay.images.store import ImageStore
from podbay.network.cni import CniNetwork
from podbay.runtime.service import ContainerRuntime
from podbay.store.db import Store
from podbay.store.repository import Repository


@functools.cache
def plural_of(kind: str) -> str:
    """``Pod`` -> ``pods``: how errors name the resource of a stored kind."""
    try:
        return default_table().primary(kind).plural
    except KeyError:
        return kind.lower() + "s"


if TYPE_CHECKING:
    from podbay.agent.image_puller import ImageManager


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
    image_manager: ImageManager | None = None  # pulls (images lane); None: local store only, as before
    # Every object write goes through it (stamp, persist, publish to the hub); built from store+hub.
    repo: Repository = None  # type: ignore[assignment]
    service_accounts: ServiceAccounts | None = None   # access: SA admission and pod tokens (None: off)

    def __post_init__(self) -> None:
        if self.repo is None:
            self.repo = Repository(self.store, self.hub.publish_change, plural_of)
