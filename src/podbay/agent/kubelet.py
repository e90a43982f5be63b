"""Builds the pod lifecycle machinery from the agent's adapters (the composition root's agent half).

Everything below the pod workers receives only the narrow ports it uses; ``Deps`` stops here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from podbay.agent.clock import SystemClock
from podbay.agent.containers import CrunRuntime, NodeInfo, find_container
from podbay.agent.deps import Deps
from podbay.agent.events import StoreEvents
from podbay.agent.eviction import EvictionManager
from podbay.agent.hooks import HookRunner
from podbay.agent.image_puller import ImageManager, ensure_images
from podbay.agent.pod_store import StoreObjects, StorePods
from podbay.agent.pod_workers import PodWorkers, RunningIndex
from podbay.agent.probe_transport import NetProbeTransport
from podbay.agent.prober import ProbeManager
from podbay.agent.sandbox import HostPinner, HostVolumes, PodSandboxes
from podbay.agent.services import service_env_for
from podbay.agent.sync import PodSyncer
from podbay.core.image_policy import EnsureResult, ImageEvent
from podbay.ports import ImageEventSink, ObjectSource


class ManagedImages:
    """ImageService over the images lane's ImageManager (pull secrets read from the stored objects)."""

    def __init__(self, manager: ImageManager, objects: ObjectSource) -> None:
        self.manager = manager
        self.objects = objects

    async def ensure(self, pod: Mapping[str, Any], names: Sequence[str],
                     record: ImageEventSink) -> Mapping[str, EnsureResult]:
        def event(name: str, ev: ImageEvent) -> None:
            record(name, ev.type, ev.reason, ev.message)

        return await ensure_images(self.manager, pod, names, lambda n: find_container(pod, n)[0],
                                   lambda ns, n: self.objects.get("Secret", ns, n), event)


@dataclass
class Kubelet:
    workers: PodWorkers
    prober: ProbeManager
    evictions: EvictionManager
    index: RunningIndex


def build_kubelet(deps: Deps, evict: Callable[[str, str], None]) -> Kubelet:
    cfg = deps.cfg
    clock = SystemClock()
    objects = StoreObjects(deps.repo)
    pods = StorePods(deps.repo)
    events = StoreEvents(deps.repo, cfg.node_name)
    node = NodeInfo(cfg.node_name, deps.host_ip, deps.nofile, deps.host_caps, cfg.root / "logs",
                    allowed_host_paths=cfg.allowed_host_paths, seccomp_root=cfg.seccomp_root)
    repo = deps.repo
    runtime = CrunRuntime(deps.runtime, deps.images, objects, node, cfg.root / "infra",
                          service_env=(lambda pod: service_env_for(repo, dict(pod))) if cfg.services else None)
    sandboxes = PodSandboxes(HostPinner(), deps.network, cfg.run_dir / "ns", cfg.root / "pods", cfg.root / "logs",
                             cluster_dns=cfg.cluster_dns, cluster_domain=cfg.cluster_domain)
    volumes = HostVolumes(objects, cfg.root, deps.node_allocatable, cfg.allowed_host_paths, deps.service_accounts)
    transport = NetProbeTransport()
    evictions = EvictionManager(evict)
    index = RunningIndex()
    holder: list[PodWorkers] = []
    prober = ProbeManager(runtime, transport, clock, events, lambda uid, _ptype: holder[0].poke(uid))
    syncer = PodSyncer(runtime=runtime, records=deps.store, sandboxes=sandboxes, volumes=volumes, pods=pods,
                       status=pods, events=events, evictions=evictions, prober=prober,
                       hooks=HookRunner(runtime, transport, clock), clock=clock, host_ip=deps.host_ip,
                       images=ManagedImages(deps.image_manager, objects) if deps.image_manager is not None else None)
    workers = PodWorkers(syncer, pods, events, clock, index, resync=cfg.resync_seconds)
    holder.append(workers)
    return Kubelet(workers, prober, evictions, index)
