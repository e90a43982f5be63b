"""The real pod workers, syncer and prober on the in-memory fakes of podbay.testing, on a fake clock."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from podbay.agent.hooks import HookRunner
from podbay.agent.pod_workers import PodWorkers, RunningIndex
from podbay.agent.prober import ProbeManager
from podbay.agent.sandbox import PodSandboxes
from podbay.agent.sync import PodSyncer, _inline
from podbay.core.lifecycle import EVICTION_GRACE
from podbay.testing.api import FakeEvents, FakeObjects, FakeTransport, MemoryPods, MemoryRecords
from podbay.testing.clock import FakeClock, settle
from podbay.testing.host import FakeEvictions, FakeNetwork, FakePinner, FakeVolumes
from podbay.testing.runtime import FakeImages, FakeRuntime


class Kubelet:
    def __init__(self, root: Path, *, records: MemoryRecords | None = None, runtime: FakeRuntime | None = None,
                 pods: MemoryPods | None = None, clock: FakeClock | None = None, network: FakeNetwork | None = None,
                 pinner: FakePinner | None = None, volumes: FakeVolumes | None = None,
                 images: FakeImages | None = None) -> None:
        self.root = root
        self.clock = clock or FakeClock()
        self.runtime = runtime or FakeRuntime(self.clock, root)
        self.records = records or MemoryRecords()
        self.pods = pods or MemoryPods()
        self.network = network or FakeNetwork()
        self.pinner = pinner or FakePinner()
        self.volumes = volumes or FakeVolumes()
        self.events = FakeEvents()
        self.evictions = FakeEvictions()
        self.transport = FakeTransport()
        self.objects = FakeObjects()
        self.index = RunningIndex()
        self.sandboxes = PodSandboxes(self.pinner, self.network, root / "ns", root / "pods", root / "logs",
                                      host_resolv=root / "resolv.conf", cgroup_parent=None)
        (root / "resolv.conf").write_text("nameserver 10.0.0.1\n")
        self.prober = ProbeManager(self.runtime, self.transport, self.clock, self.events,
                                   lambda uid, _t: self.workers.poke(uid), jitter=False)
        self.syncer = PodSyncer(runtime=self.runtime, records=self.records, sandboxes=self.sandboxes,
                                volumes=self.volumes, pods=self.pods, status=self.pods, events=self.events,
                                evictions=self.evictions, prober=self.prober,
                                hooks=HookRunner(self.runtime, self.transport, self.clock), clock=self.clock,
                                host_ip="192.0.2.1", offload=_inline, images=images)
        self.workers = PodWorkers(self.syncer, self.pods, self.events, self.clock, self.index)
        self.runtime.on_exit = self.workers.on_exit

    # -- the API side ----------------------------------------------------------------------------
    def create(self, pod: dict[str, Any]) -> dict[str, Any]:
        self.pods.add(pod)
        self.workers.update(pod)
        return pod

    def replace(self, pod: dict[str, Any], mutate: Any) -> dict[str, Any]:
        cur = self.pods.pods[pod["metadata"]["uid"]]
        mutate(cur)
        self.workers.update(copy.deepcopy(cur))
        return cur

    def delete(self, pod: dict[str, Any], grace: int | None = None) -> None:
        cur = self.pods.pods[pod["metadata"]["uid"]]
        md = cur["metadata"]
        if grace is None:
            grace = int(cur["spec"].get("terminationGracePeriodSeconds", 30))
        if md.get("deletionTimestamp"):
            grace = min(grace, int(md["deletionGracePeriodSeconds"]))
        md["deletionTimestamp"] = md.get("deletionTimestamp") or "2023-11-14T22:14:00Z"
        md["deletionGracePeriodSeconds"] = grace
        self.workers.update(copy.deepcopy(cur))

    def evict(self, pod: dict[str, Any], message: str = "Usage of EmptyDir volume \"d\" exceeds the limit \"1Mi\". ") -> None:
        self.workers.evict(pod["metadata"]["uid"], "Evicted", message, EVICTION_GRACE)

    # -- reading ---------------------------------------------------------------------------------
    def status(self, pod: dict[str, Any]) -> dict[str, Any]:
        p = self.pods.pods.get(pod["metadata"]["uid"])
        return (p or {}).get("status") or {}

    def cstatus(self, pod: dict[str, Any], name: str | None = None) -> dict[str, Any]:
        st = self.status(pod)
        for cs in (st.get("containerStatuses") or []) + (st.get("initContainerStatuses") or []):
            if name is None or cs["name"] == name:
                return dict(cs)
        return {}

    def condition(self, pod: dict[str, Any], ctype: str) -> dict[str, Any]:
        for c in self.status(pod).get("conditions") or []:
            if c["type"] == ctype:
                return dict(c)
        return {}

    def gone(self, pod: dict[str, Any]) -> bool:
        return pod["metadata"]["uid"] not in self.pods.pods

    async def settle(self) -> None:
        await settle()

    async def advance(self, seconds: float) -> None:
        await self.clock.advance(seconds)

    async def until(self, pred: Any, timeout: float = 30.0, step: float = 0.1) -> None:
        ok = await self.clock.run_until(pred, timeout, step)
        assert ok, f"condition not reached within {timeout}s (fake time); events: {self.events.events[-8:]}"

    async def close(self) -> None:
        self.prober.close()
        await self.workers.stop()
