"""In-process controllers and writers on an in-memory store: namespaces (built-ins, default service
account, cascading deletion), the pod status writer, pod deletion with finalizers, event correlation."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from podbay.agent import events
from podbay.agent.hub import Hub
from podbay.agent.namespaces import BUILTIN, NamespaceController, deletion_conditions
from podbay.agent.podstatus import finish_pod_deletion, write_pod_status
from podbay.agent.registry import Registry
from podbay.agent.wiring import build_registry
from podbay.api.query import WriteOptions
from podbay.store.db import Store
from podbay.store.repository import Repository


@pytest.fixture
def parts(tmp_path: Path) -> tuple[Registry, Hub, Repository]:
    store = Store(":memory:")
    hub = Hub()
    repo = Repository(store, hub.publish_change)
    return build_registry(repo, "node1", tmp_path), hub, repo


def pod(name: str, ns: str = "default") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


async def test_builtin_namespaces_and_default_service_accounts(parts: Any) -> None:
    registry, hub, repo = parts
    hub.attach(asyncio.get_running_loop())
    repo.create({"kind": "ConfigMap", "apiVersion": "v1",
                 "metadata": {"name": "old", "namespace": "legacy", "uid": "u-old"}})   # from before namespaces
    ctl = NamespaceController(registry, hub)
    ctl.ensure()
    assert {s.name for s in repo.list("Namespace")} == set(BUILTIN) | {"legacy"}
    assert {s.namespace for s in repo.list("ServiceAccount")} == set(BUILTIN) | {"legacy"}
    registry.create(registry.kind("Namespace"), "", {"metadata": {"name": "team"}})
    assert repo.peek("ServiceAccount", "team", "default") is not None
    await ctl.stop()


async def test_namespace_deletion_removes_content_then_the_namespace(parts: Any) -> None:
    registry, hub, repo = parts
    hub.attach(asyncio.get_running_loop())
    ctl = NamespaceController(registry, hub, start_delay=0.0)
    ctl.ensure()
    registry.create(registry.kind("Namespace"), "", {"metadata": {"name": "team"}})
    registry.create(registry.kind("ConfigMap"), "team", {"metadata": {"name": "cfg"}})
    registry.create(registry.kind("Pod"), "team", pod("web"))
    registry.delete(registry.kind("Namespace"), "", "team")
    for _ in range(50):
        await asyncio.sleep(0.02)
        if repo.peek("ConfigMap", "team", "cfg") is None:
            break
    assert repo.peek("ConfigMap", "team", "cfg") is None and repo.peek("ServiceAccount", "team", "default") is None
    # The pod is marked (its worker stops it); the namespace waits for it, Terminating, and says why.
    web = repo.peek("Pod", "team", "web")
    assert web is not None and web.obj["metadata"]["deletionTimestamp"]
    ns = repo.get("Namespace", "", "team")
    assert ns is not None and ns["status"]["phase"] == "Terminating"
    remaining = {c["type"]: c for c in ns["status"]["conditions"]}["NamespaceContentRemaining"]
    assert remaining["status"] == "True" and remaining["message"] == \
        "Some resources are remaining: pods has 1 resource instances"
    finish_pod_deletion(repo, "team", "web", web.uid)   # what the pod worker does when it is done
    for _ in range(100):
        await asyncio.sleep(0.02)
        if repo.peek("Namespace", "", "team") is None:
            break
    assert repo.peek("Namespace", "", "team") is None
    await ctl.stop()


def test_deletion_conditions_when_done() -> None:
    conds = {c["type"]: c for c in deletion_conditions({}, {}, 0.0)}
    assert conds["NamespaceContentRemaining"]["reason"] == "ContentRemoved"
    assert conds["NamespaceFinalizersRemaining"]["status"] == "False"
    some = {c["type"]: c for c in deletion_conditions({"pods": 2}, {"example.com/x": 1}, 0.0)}
    assert some["NamespaceFinalizersRemaining"]["message"] == \
        "Some content in the namespace has finalizers remaining: example.com/x in 1 resource instances"


def test_pod_status_writer_writes_only_changes(parts: Any) -> None:
    registry, _hub, repo = parts
    NamespaceController(registry, _hub).ensure()
    created = registry.create(registry.kind("Pod"), "default", pod("web"))
    uid = created["metadata"]["uid"]
    rv = repo.current_rv()
    same = write_pod_status(repo, uid, created["status"])
    assert same is not None and repo.current_rv() == rv
    out = write_pod_status(repo, uid, {"phase": "Running"}, {"podbay.io/volume-paths": "{}"})
    assert out is not None and out["status"] == {"phase": "Running"}
    assert out["metadata"]["annotations"] == {"podbay.io/volume-paths": "{}"} and repo.current_rv() == rv + 1
    assert write_pod_status(repo, "no-such-uid", {}) is None


def test_finishing_a_pod_deletion_respects_finalizers(parts: Any) -> None:
    registry, _hub, repo = parts
    NamespaceController(registry, _hub).ensure()
    pods = registry.kind("Pod")
    body = pod("web")
    body["metadata"]["finalizers"] = ["example.com/keep"]
    uid = registry.create(pods, "default", body)["metadata"]["uid"]
    registry.delete(pods, "default", "web")
    held = finish_pod_deletion(repo, "default", "web", uid)
    assert held is not None and held["metadata"]["deletionGracePeriodSeconds"] == 0
    registry.patch(pods, "default", "web", "application/merge-patch+json", b'{"metadata":{"finalizers":[]}}',
                   WriteOptions())
    assert repo.peek("Pod", "default", "web") is None
    assert finish_pod_deletion(repo, "default", "web", uid) is None


def test_events_are_correlated_and_forgotten_with_their_pod(parts: Any) -> None:
    registry, hub, repo = parts
    NamespaceController(registry, hub).ensure()
    created = registry.create(registry.kind("Pod"), "default", pod("web"))
    deps = cast(Any, SimpleNamespace(repo=repo, cfg=SimpleNamespace(node_name="node1")))
    events.record(deps, created, "Warning", "BackOff", "Back-off restarting")
    events.record(deps, created, "Normal", "Started", "Started container c", "spec.containers{c}")
    events.record(deps, created, "Warning", "BackOff", "Back-off restarting")
    stored = sorted(repo.list("Event", "default"), key=lambda s: s.obj["reason"])
    assert [(s.obj["reason"], s.obj["count"]) for s in stored] == [("BackOff", 2), ("Started", 1)]
    ev = stored[0].obj
    assert ev["metadata"]["uid"] and ev["metadata"]["creationTimestamp"] and ev["involvedObject"]["uid"] == \
        created["metadata"]["uid"]
    events.forget(deps, created)
    assert repo.list("Event", "default") == []
