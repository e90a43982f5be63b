"""/stats/summary: the agent as the kubelet system container, and the watch history it keeps."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from podbay.agent.hub import Hub
from podbay.agent.stats import summary
from podbay.store.db import Store
from podbay.store.repository import Repository


def test_summary_reports_the_agent_and_its_watch_history(tmp_path: Path) -> None:
    store = Store(":memory:")
    hub = Hub(max_bytes=10_000)
    repo = Repository(store, hub.publish_change)
    for i in range(50):
        repo.create({"kind": "ConfigMap", "apiVersion": "v1",
                     "metadata": {"name": f"c{i}", "namespace": "default", "uid": f"u{i}"}, "data": {"k": "v" * 500}})
    deps = cast(Any, SimpleNamespace(store=store, hub=hub, cfg=SimpleNamespace(node_name="n1", root=tmp_path)))
    out = summary(deps, cast(Any, SimpleNamespace(usage=lambda uid: {})))
    kubelet, = out["node"]["systemContainers"]
    assert kubelet["name"] == "kubelet" and kubelet["memory"]["rssBytes"] > 10 * 1024 * 1024
    assert kubelet["cpu"]["usageCoreNanoSeconds"] > 0
    history = out["podbay"]["watchHistory"]
    assert 0 < history["bytes"] <= 10_000 and 0 < history["events"] < 50   # bounded in bytes, not events
