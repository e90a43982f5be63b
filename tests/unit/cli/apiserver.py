"""The real API (``build_app`` + registry + strategies + hub + repository on an in-memory store) on a
Unix socket, served from a thread of its own so that the synchronous CLI can talk to it as it talks
to the agent. No pod workers and no host: pods stay as the API stored them (tests set their status
through ``set_status``). Shared by the CLI unit tests and ``bench/cli_startup.py``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from podbay.agent.hub import Hub
from podbay.agent.namespaces import NamespaceController
from podbay.agent.registry import Registry
from podbay.agent.wiring import build_registry
from podbay.api.query import WriteOptions
from podbay.server.app import build_app
from podbay.server.rest import Api
from podbay.store.db import Store
from podbay.store.repository import Repository

T = TypeVar("T")
ConnectHandler = Callable[..., Any]


class ApiServer:
    """``with ApiServer(sock, root) as srv:``; ``srv.call(fn)`` runs fn on the server's loop."""

    def __init__(self, socket_path: str, root: Path, clock: Callable[[], float] = time.time, *,
                 reap_pods: bool = True, controllers: bool = True) -> None:
        self.socket = socket_path
        self.root = root
        self.clock = clock
        self.loop = asyncio.new_event_loop()
        self.store = Store(":memory:")
        self.hub = Hub(start_rv=0)
        self.repo = Repository(self.store, self.hub.publish_change)
        self.registry: Registry = build_registry(self.repo, "node1", root, clock=clock)
        self.api = Api(self.registry, self.hub, clock=clock)
        from podbay.server import scale as scale_api

        for group, plural in (("apps", "deployments"), ("apps", "replicasets"), ("apps", "statefulsets"),
                              ("", "replicationcontrollers")):   # as the agent serves /scale
            self.api.connect[(group, plural, "scale")] = scale_api.handler(self.registry)
        self.namespaces: NamespaceController | None = None
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._run, name="apiserver", daemon=True)
        self._ready: Future[None] = Future()
        self.reap_pods = reap_pods
        self.with_controllers = controllers
        self.controllers: Any = None
        self.stats_summary: dict[str, Any] | None = None   # None: /stats/summary answers 404

    # --- life -------------------------------------------------------------------------------------------
    def __enter__(self) -> ApiServer:
        self._thread.start()
        self._ready.result(timeout=30)
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=30)
        self.loop.close()
        self.store.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self.loop.run_forever()

    async def _start(self) -> None:
        try:
            self.hub.attach(self.loop)
            self.namespaces = NamespaceController(self.registry, self.hub, clock=self.clock)
            self.namespaces.ensure()
            if self.reap_pods:
                self.hub.add_listener("Pod", self._reap)
            if self.with_controllers:
                self._start_controllers()
            app = build_app(self.api, stats=self._stats, health={"store": lambda: True})
            self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
            await self._runner.setup()
            await web.UnixSite(self._runner, self.socket).start()
        except BaseException as e:
            self._ready.set_exception(e)
            raise
        self._ready.set_result(None)

    def start_kubelet(self) -> None:
        """From now on every new pod is soon Running and Ready (the pod worker's part, without containers)."""
        def on_pod(ev: Any) -> None:
            md = (ev.obj or {}).get("metadata") or {}
            if ev.type != "ADDED" or md.get("deletionTimestamp"):
                return
            self.loop.call_later(0.05, self._mark_running, ev.namespace, ev.name)

        self.loop.call_soon_threadsafe(self.hub.add_listener, "Pod", on_pod)

    def _mark_running(self, namespace: str, name: str) -> None:
        from podbay.errors import PodbayError

        rt = self.registry.kind("Pod")
        try:
            live = self.registry.get(rt, namespace, name)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock()))
            live["status"] = {
                "phase": "Running", "podIP": "10.88.0.9", "podIPs": [{"ip": "10.88.0.9"}], "startTime": stamp,
                "conditions": [{"type": t, "status": "True", "lastTransitionTime": stamp}
                               for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")],
                "containerStatuses": [{"name": c["name"], "ready": True, "restartCount": 0, "image": c["image"],
                                       "imageID": "", "state": {"running": {"startedAt": stamp}}}
                                      for c in live["spec"]["containers"]]}
            self.registry.update(rt, namespace, name, live, WriteOptions(), subresource="status")
        except PodbayError:
            pass   # deleted or changed meanwhile

    def _start_controllers(self) -> None:
        """kube-controller-manager's workload controllers and garbage collector (not the scheduler's
        volume provisioning), fed by the hub as in the agent."""
        from podbay.agent.controllers import feed, wiring
        from podbay.agent.controllers.cache import Cache
        from podbay.agent.controllers.registry_writer import RegistryWriter

        self.controllers = wiring.manager(Cache(), RegistryWriter(self.registry, "node1"),
                                          feed.namespaced_lookup(self.registry.table), clock=self.clock)
        feed.connect(self.controllers, self.hub, self.repo, feed.stored_kinds(self.registry.table))
        self.controllers.start()

    async def _stats(self) -> dict[str, Any]:
        if self.stats_summary is None:
            raise web.HTTPNotFound()
        return self.stats_summary

    def _reap(self, ev: Any) -> None:
        """The kubelet's part of a pod delete: a pod marked for deletion goes away (no containers here)."""
        if ev.type == "DELETED" or ev.obj is None:
            return
        md = ev.obj.get("metadata") or {}
        if md.get("deletionTimestamp") and not md.get("finalizers"):
            def gone() -> None:
                if self.repo.peek("Pod", ev.namespace, ev.name) is not None:
                    self.repo.delete("Pod", ev.namespace, ev.name)

            self.loop.call_later(0.05, gone)

    async def _stop(self) -> None:
        if self.controllers is not None:
            await self.controllers.stop()
        if self.namespaces is not None:
            await self.namespaces.stop()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- helpers for tests ---------------------------------------------------------------------------
    def call(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """Run ``fn`` on the server's loop (the registry and hub are not thread-safe) and return its result."""
        async def run() -> T:
            return fn(*args, **kw)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=30)

    def create(self, obj: dict[str, Any], namespace: str = "default") -> dict[str, Any]:
        """Create ``obj`` through the registry, as a client's POST would."""
        api_version = str(obj.get("apiVersion") or "v1")
        group, _, version = api_version.rpartition("/")
        rt = self.registry.kind(str(obj["kind"]), group, version)
        ns = namespace if rt.namespaced else ""
        return self.call(self.registry.create, rt, ns, obj, WriteOptions())

    def set_status(self, kind: str, namespace: str, name: str, status: dict[str, Any], group: str = "",
                   version: str = "v1") -> dict[str, Any]:
        """Replace ``status`` (what the pod worker or a controller writes)."""
        rt = self.registry.kind(kind, group, version)

        def write() -> dict[str, Any]:
            live = self.registry.get(rt, namespace, name)
            live["status"] = status
            obj, _ = self.registry.update(rt, namespace, name, live, WriteOptions(), subresource="status")
            return obj

        return self.call(write)

    def add_connect(self, group: str, plural: str, sub: str, handler: ConnectHandler) -> None:
        """Serve ``<plural>/<sub>`` (logs, exec) with a test handler, as the agent's modules do."""
        self.api.connect[(group, plural, sub)] = handler

    def get(self, kind: str, namespace: str, name: str, group: str = "", version: str = "v1") -> dict[str, Any]:
        rt = self.registry.kind(kind, group, version)
        return self.call(self.registry.get, rt, namespace, name)

    def exists(self, kind: str, namespace: str, name: str, group: str = "", version: str = "v1") -> bool:
        from podbay.errors import NotFound

        try:
            self.get(kind, namespace, name, group, version)
        except NotFound:
            return False
        return True

