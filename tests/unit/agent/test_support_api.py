"""The support table through the API (no root): for each kind a rejected field gives 422 Invalid
with a ``FieldValueForbidden`` cause at the field's path, "not supported by podbay", and changes
nothing (nothing stored on a create; the stored object as it was on an update)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from podbay.agent.hub import Hub
from podbay.agent.namespaces import NamespaceController
from podbay.agent.registry import Registry
from podbay.agent.strategies.workloads import PV_WRITES
from podbay.agent.wiring import build_registry
from podbay.api import storage
from podbay.server.app import AUTHENTICATOR, build_app
from podbay.server.rest import Api
from podbay.store.db import Store
from podbay.store.repository import Repository

Obj = dict[str, Any]
T0 = 1_767_225_600.0


@pytest.fixture
def hub() -> Hub:
    return Hub()


@pytest.fixture
def registry(tmp_path: Path, hub: Hub) -> Registry:
    reg = build_registry(Repository(Store(":memory:"), hub.publish_change), "node1", tmp_path, clock=lambda: T0)
    NamespaceController(reg, hub).ensure()
    reg.create(reg.kind("StorageClass", "storage.k8s.io", "v1"), "", storage.builtin_storage_class())
    return reg


@pytest.fixture
async def client(registry: Registry, hub: Hub) -> AsyncIterator[TestClient[Any, Any]]:
    app = build_app(Api(registry, hub))

    async def trusted(_: Any) -> Any:
        return {"username": "test"}

    app[AUTHENTICATOR] = trusted
    async with TestClient(TestServer(app)) as c:
        yield c


def pod_spec(**extra: Any) -> Obj:
    return {"containers": [{"name": "c", "image": "busybox"}], **extra}


def template(restart: str = "Always", **extra: Any) -> Obj:
    return {"metadata": {"labels": {"app": "x"}}, "spec": pod_spec(restartPolicy=restart, **extra)}


SEL = {"matchLabels": {"app": "x"}}
CLAIM: Obj = {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
                                                 "resources": {"requests": {"storage": "1Gi"}}}}
CASES: list[tuple[str, str, Obj, str, str]] = [
    # (collection path, kind, object, field path, what)
    ("/api/v1/namespaces/default/pods", "Pod", {"metadata": {"name": "p"}, "spec": pod_spec(hostNetwork=True)},
     "spec.hostNetwork", ""),
    ("/apis/apps/v1/namespaces/default/deployments", "Deployment",
     {"metadata": {"name": "d"}, "spec": {"selector": SEL, "template": template(hostNetwork=True)}},
     "spec.template.spec.hostNetwork", ""),
    ("/apis/apps/v1/namespaces/default/replicasets", "ReplicaSet",
     {"metadata": {"name": "r"}, "spec": {"selector": SEL, "template": template(hostPID=True)}},
     "spec.template.spec.hostPID", ""),
    ("/apis/apps/v1/namespaces/default/statefulsets", "StatefulSet",
     {"metadata": {"name": "s"}, "spec": {"selector": SEL, "serviceName": "s", "template": template(),
                                          "volumeClaimTemplates": [{**CLAIM, "spec": {
                                              **CLAIM["spec"], "dataSource": {"kind": "PersistentVolumeClaim",
                                                                              "name": "old"}}}]}},
     "spec.volumeClaimTemplates[0].spec.dataSource", ""),
    ("/apis/apps/v1/namespaces/default/daemonsets", "DaemonSet",
     {"metadata": {"name": "ds"}, "spec": {"selector": SEL, "template": template(
         volumes=[{"name": "v", "gitRepo": {"repository": "https://example.com/x"}}])}},
     "spec.template.spec.volumes[0].gitRepo", "gitRepo volumes are "),
    ("/api/v1/namespaces/default/replicationcontrollers", "ReplicationController",
     {"metadata": {"name": "rc"}, "spec": {"selector": {"app": "x"}, "template": template(hostIPC=True)}},
     "spec.template.spec.hostIPC", ""),
    ("/apis/batch/v1/namespaces/default/jobs", "Job",
     {"metadata": {"name": "j"}, "spec": {"completionMode": "Indexed", "completions": 2, "backoffLimitPerIndex": 1,
                                          "template": template("Never")}},
     "spec.backoffLimitPerIndex", "a backoff limit per index is "),
    ("/apis/batch/v1/namespaces/default/cronjobs", "CronJob",
     {"metadata": {"name": "cj"}, "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {
         "template": template("Never", hostNetwork=True)}}}},
     "spec.jobTemplate.spec.template.spec.hostNetwork", ""),
    ("/api/v1/namespaces/default/services", "Service",
     {"metadata": {"name": "svc"}, "spec": {"type": "LoadBalancer", "loadBalancerIP": "192.0.2.7",
                                            "ports": [{"port": 80}]}},
     "spec.loadBalancerIP", "a requested load balancer IP is "),
    ("/api/v1/namespaces/default/persistentvolumeclaims", "PersistentVolumeClaim",
     {"metadata": {"name": "c"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {
         "requests": {"storage": "1Gi"}, "limits": {"storage": "2Gi"}}}},
     "spec.resources.limits", "storage limits are "),
    ("/apis/storage.k8s.io/v1/storageclasses", "StorageClass",
     {"metadata": {"name": "keep"}, "provisioner": storage.PROVISIONER, "reclaimPolicy": "Retain"},
     "reclaimPolicy", "reclaimPolicy Retain is "),
    ("/api/v1/namespaces/default/secrets", "Secret",
     {"metadata": {"name": "tok", "annotations": {"kubernetes.io/service-account.name": "default"}},
      "type": "kubernetes.io/service-account-token"},
     "type", "service account token Secrets are "),
    ("/api/v1/namespaces/default/serviceaccounts", "ServiceAccount",
     {"metadata": {"name": "sa", "annotations": {"kubernetes.io/enforce-mountable-secrets": "true"}}},
     "metadata.annotations[kubernetes.io/enforce-mountable-secrets]", "mountable-secrets enforcement is "),
    ("/api/v1/nodes", "Node", {"metadata": {"name": "other"}, "spec": {"podCIDR": "10.244.0.0/24"}},
     "spec.podCIDR", "a pod CIDR is "),
]


def _api_version(path: str) -> str:
    parts = path.split("/")
    return "v1" if parts[1] == "api" else f"{parts[2]}/{parts[3]}"


@pytest.mark.parametrize(("path", "kind", "obj", "field", "what"), CASES, ids=[c[1] for c in CASES])
async def test_a_rejected_field_is_forbidden_and_nothing_is_stored(
        client: TestClient[Any, Any], registry: Registry, path: str, kind: str, obj: Obj, field: str,
        what: str) -> None:
    body = {"apiVersion": _api_version(path), "kind": kind, **obj}
    resp = await client.post(path, data=json.dumps(body), headers={"Content-Type": "application/json"})
    assert resp.status == 422, await resp.text()
    status = await resp.json()
    assert status["reason"] == "Invalid"
    message = f"{what}not supported by podbay"
    assert {"reason": "FieldValueForbidden", "field": field, "message": f"Forbidden: {message}"} in \
        status["details"]["causes"]
    assert f"{field}: Forbidden: {message}" in status["message"]
    name = obj["metadata"]["name"]
    assert (await client.get(f"{path}/{name}")).status == 404
    ns = "" if path.startswith("/api/v1/nodes") or "storageclasses" in path else "default"
    assert registry.repo.peek(kind, ns, name) is None


async def test_an_update_that_adds_a_rejected_field_changes_nothing(client: TestClient[Any, Any],
                                                                     registry: Registry) -> None:
    path = "/apis/apps/v1/namespaces/default/deployments"
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"selector": SEL, "template": template()}}
    assert (await client.post(path, json=body)).status == 201
    before = registry.repo.get("Deployment", "default", "web")
    patch = {"spec": {"template": {"spec": {"hostNetwork": True}}}}
    resp = await client.patch(f"{path}/web", data=json.dumps(patch),
                              headers={"Content-Type": "application/strategic-merge-patch+json"})
    assert resp.status == 422
    assert "spec.template.spec.hostNetwork: Forbidden: not supported by podbay" in (await resp.json())["message"]
    assert registry.repo.get("Deployment", "default", "web") == before


async def test_a_provisioned_volume_may_not_gain_mount_options(client: TestClient[Any, Any],
                                                               registry: Registry) -> None:
    claim = {"metadata": {"name": "c", "namespace": "default", "uid": "u1"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    pv = storage.persistent_volume_for(claim, "/var/lib/podbay/claims/u1", "node1", "2026-01-01T00:00:00Z")
    with PV_WRITES.enabled():
        registry.create(registry.kind("PersistentVolume"), "", pv)
    before = registry.repo.get("PersistentVolume", "", pv["metadata"]["name"])
    resp = await client.patch(f"/api/v1/persistentvolumes/{pv['metadata']['name']}",
                              data=json.dumps({"spec": {"mountOptions": ["noatime"]}}),
                              headers={"Content-Type": "application/merge-patch+json"})
    assert resp.status == 422
    assert "spec.mountOptions: Forbidden: mount options are not supported by podbay" in (await resp.json())["message"]
    assert registry.repo.get("PersistentVolume", "", pv["metadata"]["name"]) == before


async def test_another_provisioners_class_keeps_its_fields(client: TestClient[Any, Any]) -> None:
    body = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "ebs"},
            "provisioner": "ebs.csi.aws.com", "reclaimPolicy": "Retain", "parameters": {"type": "gp3"},
            "allowVolumeExpansion": True}
    resp = await client.post("/apis/storage.k8s.io/v1/storageclasses", json=body)
    assert resp.status == 201, await resp.text()
