"""This host as the cluster's one Node: registered at start, status refreshed, Lease renewed.

Like the kubelet's node status loop and node lease controller: the Lease in ``kube-node-lease`` is
renewed every 10 s (it is how the cluster knows the node is alive), the Node status is written when
it changed and at least every 5 minutes. Writes go through the registry, as a client's would.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import platform
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from podbay.agent.registry import Registry
from podbay.api import node as nodeapi
from podbay.api.version import GIT_VERSION
from podbay.errors import PodbayError
from podbay.sys import procfs
from podbay.sys.run import run

log = logging.getLogger("podbay.node")
LEASE_RENEW_SECONDS = 10.0
STATUS_CHECK_SECONDS = 60.0
STATUS_REPORT_SECONDS = 300.0
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _os_image() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return "Linux"


def _hugepages() -> dict[str, int]:
    out: dict[str, int] = {}
    base = Path("/sys/kernel/mm/hugepages")
    with contextlib.suppress(OSError):
        for d in base.iterdir():
            kb = int(d.name.split("-")[1].rstrip("kB"))
            count = int(_read(str(d / "nr_hugepages")) or 0)
            size = f"{kb // 1024}Mi" if kb < 1024 * 1024 else f"{kb // (1024 * 1024)}Gi"
            out[f"hugepages-{size}"] = count * kb * 1024
    return out


def _runtime_version(binary: str) -> str:
    name = os.path.basename(binary)
    try:
        first = run([binary, "--version"], timeout=5.0, check=False).stdout.splitlines()[0]
    except (PodbayError, IndexError):
        return f"{name}://unknown"
    return f"{name}://{first.split()[-1]}"


def host_facts(name: str, root: Path, internal_ip: str, memory_bytes: int, runtime_binary: str,
               max_pods: int = 110) -> nodeapi.NodeFacts:
    """Read this host (call in a thread: it runs ``<runtime> --version``)."""
    vfs = os.statvfs(root)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return nodeapi.NodeFacts(
        name=name, cpus=cpus, memory_bytes=memory_bytes, ephemeral_bytes=vfs.f_blocks * vfs.f_frsize,
        internal_ip=internal_ip, kernel=platform.release(), os_image=_os_image(),
        runtime_version=_runtime_version(runtime_binary), kubelet_version=GIT_VERSION,
        arch=_ARCH.get(platform.machine(), platform.machine()), machine_id=_read("/etc/machine-id"),
        system_uuid=_read("/sys/class/dmi/id/product_uuid"), boot_id=procfs.boot_id(), hugepages=_hugepages(),
        max_pods=max_pods)


class NodeAgent:
    def __init__(self, registry: Registry, facts: nodeapi.NodeFacts, clock: Any = time.time,
                 hugepages: Callable[[], dict[str, int]] = _hugepages) -> None:
        self.registry = registry
        self.facts = facts
        self.clock = clock
        self.hugepages = hugepages
        self._task: asyncio.Task[None] | None = None
        self._reported = 0.0
        self.node_rt = registry.kind("Node")
        self.lease_rt = registry.kind("Lease", "coordination.k8s.io", "v1")

    def register(self) -> None:
        """Create the Node (or refresh its status when it exists) and its Lease."""
        name = self.facts.name
        now = self.clock()
        cur = self.registry.repo.get("Node", "", name)
        if cur is None:
            obj = nodeapi.node_object(self.facts, now)
            status = obj.pop("status")
            self.registry.create(self.node_rt, "", obj, decoded=True)
            self._write_status(status)
        else:
            self.report(force=True)
        self.renew_lease()

    def _write_status(self, status: dict[str, Any]) -> None:
        cur = self.registry.repo.get("Node", "", self.facts.name)
        if cur is None:
            return
        cur["status"] = status
        self.registry.update(self.node_rt, "", self.facts.name, cur, decoded=True, subresource="status")
        self._reported = self.clock()

    def report(self, *, force: bool = False) -> None:
        cur = self.registry.repo.get("Node", "", self.facts.name)
        if cur is None:
            self.register()
            return
        now = self.clock()
        new = nodeapi.node_status(self.facts, now, cur)
        old = dict(cur.get("status") or {})

        def strip(st: dict[str, Any]) -> Any:
            conds = [{k: v for k, v in c.items() if k != "lastHeartbeatTime"} for c in st.get("conditions") or []]
            return {**st, "conditions": conds}

        if force or strip(new) != strip(old) or now - self._reported >= STATUS_REPORT_SECONDS:
            self._write_status(new)

    def refresh_hugepages(self) -> bool:
        """Pre-allocated huge pages change at run time (sysctl vm.nr_hugepages): capacity and allocatable
        follow, as cAdvisor's periodic machine-info update makes them follow on a kubelet."""
        now = self.hugepages()
        if now == self.facts.hugepages:
            return False
        self.facts = dataclasses.replace(self.facts, hugepages=now)
        return True

    def renew_lease(self) -> None:
        node = self.registry.repo.peek("Node", "", self.facts.name)
        if node is None:
            return
        lease = nodeapi.lease_object(self.facts.name, node.uid, self.clock())
        cur = self.registry.repo.get("Lease", nodeapi.LEASE_NAMESPACE, self.facts.name)
        if cur is not None:
            cur["spec"] = lease["spec"]
            cur["metadata"]["ownerReferences"] = lease["metadata"]["ownerReferences"]
            lease = cur
        self.registry.update(self.lease_rt, nodeapi.LEASE_NAMESPACE, self.facts.name, lease, decoded=True)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="node-heartbeat")

    async def _run(self) -> None:
        last_check = 0.0
        while True:
            await asyncio.sleep(LEASE_RENEW_SECONDS)
            try:
                self.renew_lease()
                if self.refresh_hugepages() or time.monotonic() - last_check >= STATUS_CHECK_SECONDS:
                    last_check = time.monotonic()
                    self.report()
            except Exception as exc:   # the heartbeat never dies from one bad round
                log.warning("node heartbeat failed: %s", exc)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def runtime_binary(name: str) -> str:
    return shutil.which(name) or name
