"""The workload kinds through the generic registry (no root): defaulting and generation, status
and scale subresources, selector immutability, deletion propagation finalizers and the Job orphan
warning, PersistentVolumes as the agent's own objects, the scheduler's fast path at pod creation,
the controllers' registry writer and the hub feed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from podbay.agent.controllers import feed
from podbay.agent.controllers.base import Manager
from podbay.agent.controllers.cache import Cache
from podbay.agent.controllers.registry_writer import RegistryWriter
from podbay.agent.hub import Hub
from podbay.agent.namespaces import NamespaceController
from podbay.agent.registry import Registry
from podbay.agent.strategies.workloads import PV_WRITES
from podbay.agent.wiring import build_registry
from podbay.api import storage
from podbay.api.query import DeleteOptions, WriteOptions
from podbay.core.controllers.gc import JOB_ORPHAN_WARNING
from podbay.core.controllers.plan import Ref
from podbay.errors import Conflict, ValidationError
from podbay.server import scale as scale_api
from podbay.server.app import AUTHENTICATOR, build_app
from podbay.server.rest import Api
from podbay.store.db import Store
from podbay.store.repository import Repository

T0 = 1_767_225_600.0   # 2026-01-01T00:00:00Z
Obj = dict[str, Any]


@pytest.fixture
def env(tmp_path: Path) -> tuple[Registry, Hub]:
    store = Store(":memory:")
    hub = Hub()
    registry = build_registry(Repository(store, hub.publish_change), "node1", tmp_path, clock=lambda: T0)
    NamespaceController(registry, hub).ensure()
    registry.create(registry.kind("StorageClass", "storage.k8s.io", "v1"), "", storage.builtin_storage_class())
    return registry, hub


def deployment(name: str = "web", replicas: int = 2, image: str = "nginx:1") -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}}}


def node(labels: dict[str, str] | None = None) -> Obj:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node1", "labels": labels or {}},
            "status": {"allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"}}}


def test_deployment_defaults_generation_and_status(env: Any) -> None:
    registry, _ = env
    rt = registry.kind("Deployment", "apps", "v1")
    d = registry.create(rt, "default", deployment())
    assert d["metadata"]["generation"] == 1
    assert d["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert (d["spec"]["revisionHistoryLimit"], d["spec"]["progressDeadlineSeconds"]) == (10, 600)
    d["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    d, _ = registry.update(rt, "default", "web", d, WriteOptions())
    assert d["metadata"]["generation"] == 2
    # The status subresource changes status only, and no generation.
    d["status"] = {"observedGeneration": 2, "replicas": 2}
    d["spec"]["replicas"] = 9
    d, _ = registry.update(rt, "default", "web", d, WriteOptions(), subresource="status")
    assert d["metadata"]["generation"] == 2 and d["spec"]["replicas"] == 2 and d["status"]["replicas"] == 2
    # The selector is immutable in apps/v1.
    d["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    d["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    with pytest.raises(ValidationError) as exc:
        registry.update(rt, "default", "web", d, WriteOptions())
    assert "spec.selector: Invalid value: " in str(exc.value) and "field is immutable" in str(exc.value)


def test_selector_must_match_the_template(env: Any) -> None:
    registry, _ = env
    bad = deployment()
    bad["spec"]["template"]["metadata"]["labels"] = {"app": "nope"}
    with pytest.raises(ValidationError) as exc:
        registry.create(registry.kind("Deployment", "apps", "v1"), "default", bad)
    assert ("spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"nope\"}: "
            "`selector` does not match template `labels`") in str(exc.value)


def test_deletion_propagation_finalizers_and_the_job_warning(env: Any) -> None:
    registry, _ = env
    rt = registry.kind("Deployment", "apps", "v1")
    registry.create(rt, "default", deployment("fg"))
    obj, code = registry.delete(rt, "default", "fg", DeleteOptions(propagation_policy="Foreground"))
    assert code == 200 and obj["metadata"]["finalizers"] == ["foregroundDeletion"] and obj["metadata"]["deletionTimestamp"]
    registry.create(rt, "default", deployment("or"))
    obj, _ = registry.delete(rt, "default", "or", DeleteOptions(propagation_policy="Orphan"))
    assert obj["metadata"]["finalizers"] == ["orphan"]
    registry.create(rt, "default", deployment("bg"))
    _obj, code = registry.delete(rt, "default", "bg", DeleteOptions())
    assert registry.repo.get("Deployment", "default", "bg") is None

    jrt = registry.kind("Job", "batch", "v1")
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi"},
           "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "perl"}]}}}}
    created = registry.create(jrt, "default", job)
    assert created["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": created["metadata"]["uid"]}}
    opts = DeleteOptions()
    obj, _ = registry.delete(jrt, "default", "pi", opts)
    assert obj["metadata"]["finalizers"] == ["orphan"] and opts.warnings == [JOB_ORPHAN_WARNING]
    registry.create(jrt, "default", {**job, "metadata": {"name": "pi2"}})
    opts = DeleteOptions(propagation_policy="Background")
    registry.delete(jrt, "default", "pi2", opts)
    assert opts.warnings == [] and registry.repo.get("Job", "default", "pi2") is None


def test_persistent_volumes_are_the_agents_own(env: Any) -> None:
    registry, _ = env
    rt = registry.kind("PersistentVolume")
    claim = {"metadata": {"name": "data", "namespace": "default", "uid": "u1", "resourceVersion": "5"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                      "storageClassName": "podbay-local"}}
    pv = storage.persistent_volume_for(claim, "/var/lib/podbay/pv/pvc-u1", "node1", "2026-01-01T00:00:00Z")
    with pytest.raises(ValidationError) as exc:
        registry.create(rt, "", pv)
    assert "spec: Forbidden: statically provisioned PersistentVolumes are not supported by podbay" in str(exc.value)
    with PV_WRITES.enabled():
        made = registry.create(rt, "", pv)
    assert made["status"]["phase"] == "Bound" and made["spec"]["claimRef"]["uid"] == "u1"
    assert made["metadata"]["finalizers"] == ["kubernetes.io/pv-protection"]


def test_pod_fast_path_binds_what_fits_and_leaves_the_rest_to_the_scheduler(env: Any) -> None:
    registry, _ = env
    registry.create(registry.kind("Node"), "", node({"kubernetes.io/hostname": "node1"}))
    prt = registry.kind("Pod")
    ok = registry.create(prt, "default", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ok"},
                                          "spec": {"containers": [{"name": "c", "image": "x"}]}})
    assert ok["spec"]["nodeName"] == "node1"
    assert ok["status"]["conditions"][0]["type"] == "PodScheduled" and ok["status"]["conditions"][0]["status"] == "True"
    nope = registry.create(prt, "default", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nope"},
                                            "spec": {"nodeSelector": {"disk": "ssd"},
                                                     "containers": [{"name": "c", "image": "x"}]}})
    assert "nodeName" not in nope["spec"]
    (cond,) = nope["status"]["conditions"]
    assert (cond["status"], cond["reason"]) == ("False", "Unschedulable")
    assert cond["message"].startswith("0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.")
    # A pod of a WaitForFirstConsumer claim waits for the scheduler to provision it: no condition yet.
    registry.create(registry.kind("PersistentVolumeClaim"), "default", {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    claim = registry.repo.get("PersistentVolumeClaim", "default", "data")
    assert claim is not None and claim["status"] == {"phase": "Pending"}
    wffc = registry.create(prt, "default", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "db"},
                                            "spec": {"containers": [{"name": "c", "image": "x"}],
                                                     "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}})
    assert "nodeName" not in wffc["spec"] and wffc["status"]["conditions"] == []
    # An unbound pod goes at once on delete (nothing runs it).
    registry.delete(prt, "default", "nope", DeleteOptions())
    assert registry.repo.get("Pod", "default", "nope") is None


def test_registry_writer_creates_binds_and_records(env: Any) -> None:
    registry, _ = env
    registry.create(registry.kind("Node"), "", node())
    w = RegistryWriter(registry, "node1", clock=lambda: T0)
    rs = w.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "web-", "namespace": "default"},
                   "spec": {"nodeSelector": {"never": "x"}, "containers": [{"name": "c", "image": "x"}]}})
    name = rs["metadata"]["name"]
    assert name.startswith("web-") and len(name) == len("web-") + 5
    stored = registry.repo.get("Pod", "default", name)
    assert stored is not None and stored["metadata"]["managedFields"][0]["manager"] == "kube-controller-manager"
    ref = Ref("v1", "Pod", "default", name, rs["metadata"]["uid"])
    w.bind(ref, "node1")
    bound = registry.repo.get("Pod", "default", name)
    assert bound is not None and bound["spec"]["nodeName"] == "node1"
    assert [c["status"] for c in bound["status"]["conditions"] if c["type"] == "PodScheduled"] == ["True"]
    with pytest.raises(Conflict, match='already assigned to node "node1"'):
        w.bind(ref, "node1")
    w.record_event(ref, "Normal", "Scheduled", f"Successfully assigned default/{name} to node1", "default-scheduler")
    (ev,) = [s.obj for s in registry.repo.list("Event", "default")]
    assert ev["reason"] == "Scheduled" and ev["source"] == {"component": "default-scheduler"}
    assert ev["involvedObject"]["name"] == name


def test_feed_lists_then_follows_the_hub(env: Any) -> None:
    registry, hub = env
    rt = registry.kind("Deployment", "apps", "v1")
    registry.create(rt, "default", deployment("before"))
    mgr = Manager(Cache(), [])
    feed.connect(mgr, hub, registry.repo, feed.stored_kinds(registry.table))
    assert [d["metadata"]["name"] for d in mgr.cache.list("Deployment")] == ["before"]
    registry.create(rt, "default", deployment("after"))
    assert sorted(d["metadata"]["name"] for d in mgr.cache.list("Deployment")) == ["after", "before"]
    assert "Event" not in feed.stored_kinds(registry.table)
    assert {"StorageClass", "PersistentVolume", "ControllerRevision", "CronJob"} <= set(feed.stored_kinds(registry.table))


async def test_scale_subresource(env: Any) -> None:
    registry, hub = env
    registry.create(registry.kind("Deployment", "apps", "v1"), "default", deployment(replicas=2))
    api = Api(registry, hub)
    api.connect[("apps", "deployments", "scale")] = scale_api.handler(registry)
    app = build_app(api)

    async def trusted(_: Any) -> Any:
        return {"username": "test"}

    app[AUTHENTICATOR] = trusted
    path = "/apis/apps/v1/namespaces/default/deployments/web/scale"
    async with TestClient(TestServer(app)) as c:
        got = await (await c.get(path)).json()
        assert got["kind"] == "Scale" and got["apiVersion"] == "autoscaling/v1"
        assert got["spec"] == {"replicas": 2} and got["status"]["selector"] == "app=web"
        resp = await c.patch(path, data=json.dumps({"spec": {"replicas": 5}}),
                             headers={"Content-Type": "application/merge-patch+json"})
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["spec"] == {"replicas": 5}
        stored = registry.repo.get("Deployment", "default", "web")
        assert stored is not None and stored["spec"]["replicas"] == 5 and stored["metadata"]["generation"] == 2
        resp = await c.put(path, json={"apiVersion": "autoscaling/v1", "kind": "Scale",
                                       "metadata": {"name": "web", "namespace": "default"}, "spec": {"replicas": -1}})
        assert resp.status == 422
        assert "spec.replicas: Invalid value: -1: must be greater than or equal to 0" in (await resp.json())["message"]
