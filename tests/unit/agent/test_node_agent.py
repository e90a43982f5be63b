"""The Node's capacity follows pre-allocated huge pages changed at run time (vm.nr_hugepages)."""

from __future__ import annotations

from pathlib import Path

from podbay.agent.hub import Hub
from podbay.agent.namespaces import NamespaceController
from podbay.agent.node import NodeAgent
from podbay.agent.wiring import build_registry
from podbay.api.node import NodeFacts
from podbay.store.db import Store
from podbay.store.repository import Repository

FACTS = NodeFacts(name="node1", cpus=2, memory_bytes=8 << 30, ephemeral_bytes=100 << 30, internal_ip="10.0.0.2",
                  kernel="6", os_image="Debian", runtime_version="crun://1.8", kubelet_version="v1.37.0",
                  arch="amd64", hugepages={"hugepages-2Mi": 0})


def test_huge_pages_allocated_after_start_reach_capacity_and_allocatable(tmp_path: Path) -> None:
    hub = Hub()
    repo = Repository(Store(tmp_path / "state.db"), hub.publish_change)
    pages = {"hugepages-2Mi": 0}
    registry = build_registry(repo, "node1", tmp_path)
    NamespaceController(registry, hub).ensure()
    node = NodeAgent(registry, FACTS, hugepages=lambda: dict(pages))
    node.register()
    assert not node.refresh_hugepages()                 # unchanged: nothing to write
    pages["hugepages-2Mi"] = 4 << 20
    assert node.refresh_hugepages()
    node.report()
    status = repo.get("Node", "", "node1")["status"]    # type: ignore[index]
    assert status["capacity"]["hugepages-2Mi"] == "4Mi"
    assert status["allocatable"]["hugepages-2Mi"] == "4Mi"
