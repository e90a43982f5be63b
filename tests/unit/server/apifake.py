"""The real API app (build_app, registry, strategies, hub, repository) on an in-memory store, for
contract tests without root: no pod workers, no host, a TCP test server that trusts every request."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from podbay.agent.hub import Hub
from podbay.agent.namespaces import NamespaceController
from podbay.agent.registry import Registry
from podbay.agent.wiring import build_registry
from podbay.server.app import AUTHENTICATOR, RUNNER_ARGS, build_app
from podbay.server.rest import Api
from podbay.store.db import Store
from podbay.store.repository import Repository


class FakeApi:
    def __init__(self, root: Path) -> None:
        self.store = Store(":memory:")
        self.hub = Hub(start_rv=0)
        self.repo = Repository(self.store, self.hub.publish_change)
        self.registry: Registry = build_registry(self.repo, "node1", root)
        self.api = Api(self.registry, self.hub)
        self.namespaces: NamespaceController | None = None
        self.app: web.Application | None = None

    def build(self) -> web.Application:
        self.hub.attach(asyncio.get_running_loop())
        self.namespaces = NamespaceController(self.registry, self.hub)
        self.namespaces.ensure()
        app = build_app(self.api, health={"store": lambda: True})

        async def trusted(_: web.Request) -> Any:
            return {"username": "test"}

        app[AUTHENTICATOR] = trusted
        self.app = app
        return app


@asynccontextmanager
async def api_client(root: Path) -> AsyncIterator[tuple[TestClient[Any, Any], FakeApi]]:
    fake = FakeApi(root)
    server = TestServer(fake.build())
    await server.start_server(**RUNNER_ARGS)   # the daemon's limits
    client: TestClient[Any, Any] = TestClient(server)
    await client.start_server()
    try:
        yield client, fake
    finally:
        await client.close()
        if fake.namespaces is not None:
            await fake.namespaces.stop()
        fake.store.close()
