"""metrics.k8s.io/v1beta1 PodMetrics and NodeMetrics from the cgroups (what metrics-server would
report from the kubelet's cAdvisor), so ``kubectl top pod|node`` work.

CPU is a rate: two samples of the cumulative CPU time, ``window`` apart. A sampler keeps the last
sample of every container and of the host; a request with no earlier sample takes a second one
after ``MIN_WINDOW``. Memory is the working set (usage minus inactive file pages).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from podbay.api.meta import rfc3339
from podbay.store.db import Store
from podbay.store.repository import Repository
from podbay.sys import cgroupstats

MIN_WINDOW = 0.5
Obj = dict[str, Any]


@dataclass(frozen=True)
class Sample:
    at: float
    cpu_ns: int


def _cpu(nanocores: float) -> str:
    return f"{max(0, int(nanocores))}n"


def _mem(nbytes: int) -> str:
    return f"{nbytes // 1024}Ki"


class Metrics:
    def __init__(self, repo: Repository, store: Store, node_name: str, pod_cgroup: Any) -> None:
        self.repo = repo
        self.store = store
        self.node_name = node_name
        self.pod_cgroup = pod_cgroup   # uid -> "podbay/pod<uid>"
        self._last: dict[str, Sample] = {}

    def _containers(self, uid: str) -> dict[str, str]:
        """container name -> cgroup of its running attempt."""
        out: dict[str, str] = {}
        best: dict[str, int] = {}
        for rec in self.store.containers(uid):
            if rec.kind == "infra" or rec.state != "running":
                continue
            if rec.attempt >= best.get(rec.name, -1):
                best[rec.name] = rec.attempt
                out[rec.name] = f"{self.pod_cgroup(uid)}/{rec.id[:12]}"
        return out

    def _read_all(self, pods: list[Obj]) -> dict[str, tuple[float, int | None, int | None]]:
        now = time.time()
        out: dict[str, tuple[float, int | None, int | None]] = {
            "node": (now, cgroupstats.host_cpu_ns(), cgroupstats.host_memory_working_set())}
        for pod in pods:
            uid = pod["metadata"]["uid"]
            for name, rel in self._containers(uid).items():
                out[f"{uid}/{name}"] = (now, cgroupstats.cpu_usage_ns(rel), cgroupstats.memory_working_set(rel))
        return out

    async def _rates(self, pods: list[Obj]) -> dict[str, tuple[float, float, int]]:
        """key -> (window seconds, nanocores, memory bytes), against the previous sample of each key
        (taken now and again after MIN_WINDOW when there is none, or only a too recent one)."""
        current = await asyncio.to_thread(self._read_all, pods)
        short = [at - self._last[k].at for k, (at, cpu, _m) in current.items() if cpu is not None and k in self._last]
        fresh = [k for k, (_at, cpu, _m) in current.items() if cpu is not None and k not in self._last]
        if fresh or (short and min(short) < MIN_WINDOW):
            for k in fresh:
                at, cpu, _m = current[k]
                assert cpu is not None
                self._last[k] = Sample(at, cpu)
            await asyncio.sleep(MIN_WINDOW)
            current = await asyncio.to_thread(self._read_all, pods)
        out: dict[str, tuple[float, float, int]] = {}
        for k, (at, cpu, mem) in current.items():
            if cpu is None or mem is None:
                continue
            prev = self._last.get(k)
            if prev is None or at <= prev.at or cpu < prev.cpu_ns:
                out[k] = (0.0, 0.0, mem)
            else:
                out[k] = (at - prev.at, (cpu - prev.cpu_ns) / (at - prev.at), mem)
            self._last[k] = Sample(at, cpu)
        if len(self._last) > 4 * max(len(current), 256):   # containers that are gone
            self._last = {k: v for k, v in self._last.items() if k in current}
        return out

    async def pod_metrics(self, pods: list[Obj]) -> list[Obj]:
        rates = await self._rates(pods)
        now = time.time()
        out = []
        for pod in pods:
            md = pod["metadata"]
            containers = []
            windows = []
            for name in sorted(self._containers(md["uid"])):
                got = rates.get(f"{md['uid']}/{name}")
                if got is None:
                    continue
                window, rate, mem = got
                windows.append(window)
                containers.append({"name": name, "usage": {"cpu": _cpu(rate), "memory": _mem(mem)}})
            if not containers:
                continue   # metrics-server reports only pods with running containers
            out.append({"kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
                        "metadata": {"name": md["name"], "namespace": md["namespace"],
                                     "creationTimestamp": rfc3339(now), "labels": md.get("labels") or {}},
                        "timestamp": rfc3339(now), "window": f"{max(windows):.3f}s", "containers": containers})
        return out

    async def node_metrics(self) -> list[Obj]:
        rates = await self._rates([])
        got = rates.get("node")
        if got is None:
            return []
        window, rate, mem = got
        now = time.time()
        node = self.repo.peek("Node", "", self.node_name)
        labels = ((node.obj.get("metadata") or {}).get("labels") or {}) if node else {}
        return [{"kind": "NodeMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
                 "metadata": {"name": self.node_name, "creationTimestamp": rfc3339(now), "labels": labels},
                 "timestamp": rfc3339(now), "window": f"{window:.3f}s",
                 "usage": {"cpu": _cpu(rate), "memory": _mem(mem)}}]
