"""The pod service on the real registry, repository and hub, with the pod workers on in-memory fakes:
what the registry stores reaches the workers (hub listeners), status and events go back through the
repository, a deletion ends with the object gone and the claims it protected released."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from podbay.agent.claims import ClaimService
from podbay.agent.events import StoreEvents
from podbay.agent.hooks import HookRunner
from podbay.agent.hub import Hub
from podbay.agent.kubelet import Kubelet
from podbay.agent.namespaces import NamespaceController
from podbay.agent.pod_store import StorePods
from podbay.agent.pod_workers import PodWorkers, RunningIndex
from podbay.agent.pods import PodService
from podbay.agent.prober import ProbeManager
from podbay.agent.registry import Registry
from podbay.agent.sandbox import PodSandboxes
from podbay.agent.sync import PodSyncer, _inline
from podbay.agent.wiring import build_registry
from podbay.api.query import DeleteOptions
from podbay.store.db import Store
from podbay.store.repository import Repository
from podbay.testing.api import FakeTransport, MemoryRecords
from podbay.testing.clock import FakeClock
from podbay.testing.host import FakeEvictions, FakeNetwork, FakePinner, FakeVolumes
from podbay.testing.runtime import FakeRuntime


class _Evictions(FakeEvictions):
    def attach(self, loop: Any) -> None:
        pass

    def close(self) -> None:
        pass


class Node:
    def __init__(self, root: Path) -> None:
        self.clock = FakeClock()
        self.store = Store(":memory:")
        self.hub = Hub()
        self.repo = Repository(self.store, self.hub.publish_change)
        self.registry: Registry = build_registry(self.repo, "node1", root, clock=self.clock.now)
        self.runtime = FakeRuntime(self.clock, root)
        events = StoreEvents(self.repo, "node1", self.clock.now)
        pods = StorePods(self.repo)
        (root / "resolv.conf").write_text("nameserver 10.0.0.1\n")
        sandboxes = PodSandboxes(FakePinner(), FakeNetwork(), root / "ns", root / "pods", root / "logs",
                                 host_resolv=root / "resolv.conf", cgroup_parent=None)
        transport = FakeTransport()
        holder: list[PodWorkers] = []
        prober = ProbeManager(self.runtime, transport, self.clock, events, lambda uid, _t: holder[0].poke(uid),
                              jitter=False)
        evictions = _Evictions()
        syncer = PodSyncer(runtime=self.runtime, records=MemoryRecords(), sandboxes=sandboxes, volumes=FakeVolumes(),
                           pods=pods, status=pods, events=events, evictions=evictions, prober=prober,
                           hooks=HookRunner(self.runtime, transport, self.clock), clock=self.clock,
                           host_ip="192.0.2.1", offload=_inline)
        index = RunningIndex()
        self.workers = PodWorkers(syncer, pods, events, self.clock, index)
        holder.append(self.workers)
        self.runtime.on_exit = self.workers.on_exit
        self.updates: list[str] = []
        update = self.workers.update

        def counted(pod: Any) -> None:
            self.updates.append(pod["metadata"]["name"])
            update(pod)

        self.workers.update = counted  # type: ignore[method-assign]
        kubelet = Kubelet(self.workers, prober, cast(Any, evictions), index)
        deps = cast(Any, SimpleNamespace(hub=self.hub, repo=self.repo, store=self.store))
        self.service = PodService(deps, kubelet=kubelet)
        self.claims = ClaimService(self.repo, self.hub, root)

    def pod(self, name: str) -> dict[str, Any] | None:
        return self.repo.get("Pod", "default", name)

    def phase(self, name: str) -> str:
        return str(((self.pod(name) or {}).get("status") or {}).get("phase", ""))

    def condition(self, name: str, ctype: str) -> dict[str, Any]:
        for c in ((self.pod(name) or {}).get("status") or {}).get("conditions") or []:
            if c["type"] == ctype:
                return dict(c)
        return {}


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    n = Node(tmp_path)
    n.hub.attach(asyncio.get_running_loop())
    NamespaceController(n.registry, n.hub).ensure()
    n.service.attach()
    await n.service.start()
    try:
        yield n
    finally:
        await n.service.stop()
        await n.claims.drain()


def body(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.35"}], **spec}}


async def test_a_stored_pod_runs_and_its_status_and_events_are_objects(node: Node) -> None:
    node.registry.create(node.registry.kind("Pod"), "default", body("web"))
    assert await node.clock.run_until(lambda: node.phase("web") == "Running", 10)
    assert node.condition("web", "Ready")["status"] == "True"
    reasons = {s.obj["reason"] for s in node.repo.list("Event", "default")}
    assert "Started" in reasons
    # The worker's own status writes never wake it again through the hub.
    await node.clock.advance(5)
    assert node.updates == ["web"]


async def test_a_label_change_wakes_the_worker_and_status_writes_do_not(node: Node) -> None:
    node.registry.create(node.registry.kind("Pod"), "default", body("web"))
    assert await node.clock.run_until(lambda: node.phase("web") == "Running", 10)
    cur = node.pod("web")
    assert cur is not None
    cur["metadata"]["labels"] = {"tier": "front"}
    node.registry.update(node.registry.kind("Pod"), "default", "web", cur)
    await node.clock.advance(0.1)
    assert node.updates == ["web", "web"]


async def test_a_readiness_gate_condition_set_through_status_makes_the_pod_ready(node: Node) -> None:
    node.registry.create(node.registry.kind("Pod"), "default",
                         body("gated", readinessGates=[{"conditionType": "example.com/gate"}]))
    assert await node.clock.run_until(lambda: node.phase("gated") == "Running", 10)
    assert node.condition("gated", "Ready")["reason"] == "ReadinessGatesNotReady"
    cur = node.pod("gated")
    assert cur is not None
    cur["status"]["conditions"].append({"type": "example.com/gate", "status": "True"})
    node.registry.update(node.registry.kind("Pod"), "default", "gated", cur, subresource="status")
    # Well before the 60 s resync: the gate's change woke the worker.
    assert await node.clock.run_until(lambda: node.condition("gated", "Ready").get("status") == "True", 2)


async def test_delete_stops_the_pod_removes_it_and_its_events_and_releases_its_claim(node: Node) -> None:
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    node.registry.create(node.registry.kind("PersistentVolumeClaim"), "default", claim)
    node.registry.create(node.registry.kind("Pod"), "default",
                         body("user", volumes=[{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]))
    assert await node.clock.run_until(lambda: node.phase("user") == "Running", 10)
    node.registry.delete(node.registry.kind("PersistentVolumeClaim"), "default", "data")
    held = node.repo.get("PersistentVolumeClaim", "default", "data")
    assert held is not None and held["metadata"].get("deletionTimestamp")    # pvc-protection
    node.registry.delete(node.registry.kind("Pod"), "default", "user", DeleteOptions(grace_period_seconds=5))
    assert await node.clock.run_until(lambda: node.pod("user") is None, 10)
    assert node.runtime.live() == []
    assert [s for s in node.repo.list("Event", "default") if s.fields.get("involvedObject.name") == "user"] == []
    await asyncio.sleep(0)
    assert node.repo.get("PersistentVolumeClaim", "default", "data") is None
