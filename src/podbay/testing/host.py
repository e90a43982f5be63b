"""Fakes of the host-facing ports: network, namespace pinning, volumes, eviction accounting."""

from __future__ import annotations

import ipaddress
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from podbay.ports import PinnedNamespaces


class FakeNetwork:
    def __init__(self, subnet: str = "10.88.0.0/24") -> None:
        self.net = ipaddress.ip_network(subnet)
        self.results: dict[str, dict[str, Any]] = {}
        self.adds: list[str] = []
        self.deletes: list[str] = []
        self.capabilities: dict[str, Mapping[str, Any]] = {}
        self.fail_add: BaseException | None = None
        self._next = 2

    def add(self, container_id: str, netns_path: str | Path, ifname: str = "eth0",
            args: Mapping[str, str] | None = None, *, capability_args: Mapping[str, Any] | None = None) -> dict[str, Any]:
        self.adds.append(container_id)
        if self.fail_add is not None:
            raise self.fail_add
        ip = self.net.network_address + self._next
        self._next += 1
        result = {"cniVersion": "1.0.0", "ips": [{"address": f"{ip}/{self.net.prefixlen}"}]}
        self.results[container_id] = result
        self.capabilities[container_id] = dict(capability_args or {})
        return result

    def delete(self, container_id: str, netns_path: str | Path | None, ifname: str = "eth0") -> None:
        self.deletes.append(container_id)
        self.results.pop(container_id, None)

    def result(self, container_id: str, ifname: str = "eth0") -> dict[str, Any] | None:
        return self.results.get(container_id)

    def forget(self, container_id: str, ifname: str = "eth0") -> None:
        self.results.pop(container_id, None)


class FakePinner:
    """Pins are plain files; ``pinned`` lists the live ones (a leak shows there)."""

    def __init__(self) -> None:
        self.pinned: set[Path] = set()

    def pin(self, ns_dir: Path, hostname: str) -> PinnedNamespaces:
        ns_dir.mkdir(parents=True, exist_ok=True)
        for k in ("net", "uts", "ipc"):
            (ns_dir / k).touch()
        self.pinned.add(ns_dir)
        return PinnedNamespaces(ns_dir / "net", ns_dir / "uts", ns_dir / "ipc")

    def unpin(self, ns_dir: Path) -> None:
        shutil.rmtree(ns_dir, ignore_errors=True)
        self.pinned.discard(ns_dir)

    def usable(self, path: Path) -> bool:
        return path.parent in self.pinned


class FakeVolumes:
    """Every volume is a directory under the pod dir; ``mounted`` holds the set-up pods (leaks show)."""

    def __init__(self) -> None:
        self.mounted: set[Path] = set()
        self.setups = 0
        self.refreshes = 0
        self.fail: BaseException | None = None

    def setup(self, pod: Mapping[str, Any], pod_dir: Path) -> dict[str, str]:
        self.setups += 1
        if self.fail is not None:
            raise self.fail
        out = {}
        for v in pod["spec"].get("volumes") or []:
            d = pod_dir / "volumes" / str(v["name"])
            d.mkdir(parents=True, exist_ok=True)
            out[str(v["name"])] = str(d)
        self.mounted.add(pod_dir)
        return out

    def refresh(self, pod: Mapping[str, Any], pod_dir: Path) -> None:
        self.refreshes += 1

    def refresh_needed(self, pod: Mapping[str, Any], pod_dir: Path) -> bool:
        return True

    def teardown(self, pod_dir: Path) -> None:
        shutil.rmtree(pod_dir / "volumes", ignore_errors=True)
        self.mounted.discard(pod_dir)


class FakeEvictions:
    def __init__(self) -> None:
        self.pods: dict[str, Mapping[str, str]] = {}
        self.containers: dict[str, dict[str, tuple[Path, Path]]] = {}

    async def track(self, pod: Mapping[str, Any], volume_paths: Mapping[str, str]) -> None:
        self.pods[pod["metadata"]["uid"]] = dict(volume_paths)

    async def track_container(self, pod: Mapping[str, Any], name: str, upper_dir: Path, log_dir: Path) -> None:
        self.containers.setdefault(pod["metadata"]["uid"], {})[name] = (upper_dir, log_dir)

    def untrack(self, uid: str) -> None:
        self.pods.pop(uid, None)
        self.containers.pop(uid, None)
