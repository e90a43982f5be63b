"""Resource lookup from the server's discovery, and its per-server cache."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from conftest import ApiServer

from podbay.cli.discovery import Discovery, NoResourceType, cache_dir
from podbay.client.http import ApiClient


@pytest.fixture
def disco(server: ApiServer) -> Discovery:
    return Discovery(ApiClient(server.socket))


@pytest.mark.parametrize(("arg", "want"), [
    ("pods", ("", "pods")), ("pod", ("", "pods")), ("po", ("", "pods")), ("Pod", ("", "pods")),
    ("PODS", ("", "pods")), ("svc", ("", "services")), ("cm", ("", "configmaps")), ("ns", ("", "namespaces")),
    ("ev", ("", "events")), ("events.events.k8s.io", ("events.k8s.io", "events")),
    ("events.v1.events.k8s.io", ("events.k8s.io", "events")), ("leases.coordination.k8s.io", ("coordination.k8s.io", "leases")),
    ("lease", ("coordination.k8s.io", "leases")), ("endpointslice", ("discovery.k8s.io", "endpointslices")),
    ("PersistentVolumeClaim", ("", "persistentvolumeclaims")), ("pods.metrics.k8s.io", ("metrics.k8s.io", "pods")),
])
def test_type_arguments_resolve_as_kubectl(disco: Discovery, arg: str, want: tuple[str, str]) -> None:
    (res,) = disco.resolve(arg)
    assert (res.group, res.plural) == want


def test_categories_expand_in_discovery_order(disco: Discovery) -> None:
    assert [r.group_resource for r in disco.resolve("all")] == [   # kubectl get all's order
        "pods", "replicationcontrollers", "services", "daemonsets.apps", "deployments.apps", "replicasets.apps",
        "statefulsets.apps", "cronjobs.batch", "jobs.batch"]


def test_unknown_type(disco: Discovery) -> None:
    with pytest.raises(NoResourceType, match='the server doesn\'t have a resource type "widgets"'):
        disco.resolve("widgets")


def test_manifest_kinds(disco: Discovery) -> None:
    res = disco.for_kind("coordination.k8s.io/v1", "Lease")
    assert res is not None and res.path("ns1", "x") == "/apis/coordination.k8s.io/v1/namespaces/ns1/leases/x"
    assert res.name_of("x") == "lease.coordination.k8s.io/x" and res.group_resource == "leases.coordination.k8s.io"
    node = disco.for_kind("v1", "Node")
    assert node is not None and node.path("ignored", "n1") == "/api/v1/nodes/n1"
    assert disco.for_kind("v2", "Pod") is None


def _cache_files(server: ApiServer) -> list[Path]:
    return list((Path(cache_dir()) / "discovery").glob("*.json"))


def test_cache_is_written_reused_and_dropped_with_the_socket(server: ApiServer, monkeypatch: Any) -> None:
    client = ApiClient(server.socket)
    Discovery(client).resolve("pods")
    (path,) = _cache_files(server)
    doc = json.loads(path.read_text())
    assert doc["socket"] == os.path.abspath(server.socket) and any(r[3] == "pods" for r in doc["resources"])
    calls: list[str] = []
    real = client.get

    def counting(p: str, *a: Any, **kw: Any) -> Any:
        calls.append(p)
        return real(p, *a, **kw)

    monkeypatch.setattr(client, "get", counting)
    Discovery(client).resolve("pods")
    assert calls == []                      # served from the cache
    Discovery(client).resolve("svc")
    assert calls == []
    doc["stamp"] = [0, 0, 0]                # as if the agent had re-created its socket
    path.write_text(json.dumps(doc))
    Discovery(client).resolve("pods")
    assert calls == ["/api", "/apis"]


def test_a_type_missing_from_the_cache_refreshes_it_once(server: ApiServer, monkeypatch: Any) -> None:
    client = ApiClient(server.socket)
    Discovery(client).resolve("pods")
    (path,) = _cache_files(server)
    doc = json.loads(path.read_text())
    doc["resources"] = [r for r in doc["resources"] if r[3] != "leases"]   # a kind added since
    path.write_text(json.dumps(doc))
    d = Discovery(client)
    assert d.resolve("lease")[0].plural == "leases"
    assert any(r[3] == "leases" for r in json.loads(path.read_text())["resources"])
    with pytest.raises(NoResourceType):
        d.resolve("widgets")               # already fresh: no second fetch


def test_unwritable_cache_still_works(server: ApiServer, monkeypatch: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")   # a cache directory that cannot be created (root or not)
    monkeypatch.setenv("PODBAY_CACHE_DIR", str(blocker / "sub"))
    assert Discovery(ApiClient(server.socket)).resolve("po")[0].plural == "pods"
    assert not (blocker / "sub").exists()
