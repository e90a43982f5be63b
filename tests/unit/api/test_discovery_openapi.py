"""The resource table, discovery documents and OpenAPI documents generated from it."""

from __future__ import annotations

import json

import pytest

from podbay.api import discovery, openapi
from podbay.api.resources import ResourceTable, ResourceType, Subresource, default_table


@pytest.fixture
def table() -> ResourceTable:
    return default_table()


def test_table_lookups(table: ResourceTable) -> None:
    pods = table.by_path("", "v1", "pods")
    assert pods is not None and pods.kind == "Pod" and pods.namespaced and "all" in pods.categories
    assert pods.subresource("log") is not None and pods.subresource("attach") is None
    assert table.by_kind("coordination.k8s.io", "v1", "Lease") is not None
    assert [t.api_version for t in table.storing("Event")] == ["v1", "events.k8s.io/v1"]
    assert table.primary("Event").group == ""
    assert table.groups()[0] == "" and "metrics.k8s.io" in table.groups()
    metrics = table.by_path("metrics.k8s.io", "v1beta1", "pods")
    assert metrics is not None and not metrics.stored and metrics.verbs == ("get", "list")
    lease = table.by_kind("coordination.k8s.io", "v1", "Lease")
    assert lease is not None and lease.qualified_kind == "Lease.coordination.k8s.io"
    assert lease.group_resource == "leases.coordination.k8s.io"


def test_other_modules_add_subresources_and_kinds(table: ResourceTable) -> None:
    table.add_subresource("", "v1", "pods", Subresource("attach", "PodAttachOptions", ("create", "get")))
    pods = table.by_path("", "v1", "pods")
    assert pods is not None and [s.name for s in pods.subresources] == ["attach", "eviction", "exec", "log", "status"]
    table.register(ResourceType("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", "tokenreview", False,
                                verbs=("create",)))
    assert discovery.api_resource_list(table, "authentication.k8s.io", "v1") is not None
    with pytest.raises(ValueError):
        table.register(ResourceType("", "v1", "Pod", "pods", "pod", True))
    with pytest.raises(KeyError):
        table.add_subresource("", "v1", "widgets", Subresource("x", "X", ("get",)))


def test_legacy_discovery(table: ResourceTable) -> None:
    assert discovery.api_versions()["versions"] == ["v1"]
    groups = discovery.api_group_list(table)
    names = [g["name"] for g in groups["groups"]]
    assert names == ["apps", "events.k8s.io", "batch", "storage.k8s.io", "coordination.k8s.io", "discovery.k8s.io", "metrics.k8s.io"]
    v1 = discovery.api_resource_list(table, "", "v1")
    assert v1 is not None
    by_name = {r["name"]: r for r in v1["resources"]}
    assert by_name["pods"]["shortNames"] == ["po"] and by_name["pods"]["categories"] == ["all"]
    assert by_name["pods"]["verbs"] == ["create", "delete", "deletecollection", "get", "list", "patch", "update",
                                        "watch"]
    assert by_name["pods/eviction"] == {"name": "pods/eviction", "singularName": "", "namespaced": True,
                                        "kind": "Eviction", "verbs": ["create"], "group": "policy", "version": "v1"}
    assert by_name["namespaces"]["namespaced"] is False and "deletecollection" not in by_name["namespaces"]["verbs"]
    assert {"pods/log", "pods/exec", "pods/status", "namespaces/finalize", "nodes/status"} <= set(by_name)
    assert discovery.api_resource_list(table, "", "v2") is None
    assert discovery.api_group(table, "nope") is None


def test_aggregated_discovery_lists_exactly_what_is_served(table: ResourceTable) -> None:
    core = discovery.aggregated(table, core=True)
    assert core["kind"] == "APIGroupDiscoveryList" and core["apiVersion"] == "apidiscovery.k8s.io/v2"
    [item] = core["items"]
    assert item["metadata"]["name"] == ""
    resources = {r["resource"]: r for r in item["versions"][0]["resources"]}
    assert set(resources) == {t.plural for t in table.in_group_version("", "v1")}
    pods = resources["pods"]
    assert pods["scope"] == "Namespaced" and pods["singularResource"] == "pod"
    assert pods["responseKind"] == {"group": "", "version": "v1", "kind": "Pod"}
    subs = {s["subresource"]: s for s in pods["subresources"]}
    assert subs["eviction"]["responseKind"] == {"group": "policy", "version": "v1", "kind": "Eviction"}
    other = discovery.aggregated(table, core=False, version="v2beta1")
    assert other["apiVersion"] == "apidiscovery.k8s.io/v2beta1"
    assert [i["metadata"]["name"] for i in other["items"]] == ["apps", "events.k8s.io", "batch", "storage.k8s.io",
                                                               "coordination.k8s.io", "discovery.k8s.io", "metrics.k8s.io"]


def test_openapi_v3_core_document(table: ResourceTable) -> None:
    doc = openapi.document_v3(table, "", "v1")
    assert doc["openapi"].startswith("3.") and doc["info"]["version"] == "v1.37.0"
    schemas = doc["components"]["schemas"]
    pod = schemas["io.k8s.api.core.v1.Pod"]
    assert pod["x-kubernetes-group-version-kind"] == [{"group": "", "kind": "Pod", "version": "v1"}]
    assert pod["properties"]["kind"] == {k: v for k, v in pod["properties"]["kind"].items() if k != "enum"}
    assert pod["properties"]["spec"]["allOf"] == [{"$ref": "#/components/schemas/io.k8s.api.core.v1.PodSpec"}]
    assert pod["properties"]["apiVersion"]["type"] == "string"
    containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name" and containers["x-kubernetes-list-type"] == "map"
    text = json.dumps(doc)
    assert "#/$defs/" not in text and '"null"' not in text
    # Only what the served kinds reach: no Deployment, no CRD schemas.
    assert "io.k8s.api.apps.v1.Deployment" not in schemas
    assert "io.k8s.api.policy.v1.Eviction" in schemas and "io.k8s.apimachinery.pkg.apis.meta.v1.Status" in schemas


def test_openapi_patch_operation_carries_what_kubectl_looks_for(table: ResourceTable) -> None:
    """kubectl's server-side validation probe: the PATCH op with the kind's GVK and fieldValidation."""
    doc = openapi.document_v3(table, "", "v1")
    op = doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"]
    assert op["x-kubernetes-group-version-kind"] == {"group": "", "kind": "Pod", "version": "v1"}
    assert "fieldValidation" in [p["name"] for p in op["parameters"]]
    assert "application/strategic-merge-patch+json" in op["requestBody"]["content"]
    assert op["x-kubernetes-action"] == "patch"
    paths = doc["paths"]
    assert "/api/v1/pods" in paths and "/api/v1/nodes/{name}/status" in paths
    assert "/api/v1/namespaces/{namespace}/pods/{name}/eviction" in paths
    assert paths["/api/v1/namespaces/{namespace}/pods/{name}/log"]["get"]["x-kubernetes-action"] == "get"


def test_openapi_group_documents_and_index(table: ResourceTable) -> None:
    gvs = openapi.group_versions(table)
    assert gvs == [("", "v1"), ("apps", "v1"), ("events.k8s.io", "v1"), ("batch", "v1"), ("storage.k8s.io", "v1"),
                   ("coordination.k8s.io", "v1"), ("discovery.k8s.io", "v1")]   # metrics has no schema
    lease = openapi.document_v3(table, "coordination.k8s.io", "v1")
    assert "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}" in lease["paths"]
    assert openapi.v3_path("coordination.k8s.io", "v1") == "apis/coordination.k8s.io/v1"
    index = openapi.index_v3({"api/v1": "ABC"})
    assert index == {"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=ABC"}}}


def test_openapi_v2(table: ResourceTable) -> None:
    doc = openapi.document_v2(table)
    assert doc["swagger"] == "2.0"
    defs = doc["definitions"]
    assert defs["io.k8s.apimachinery.pkg.api.resource.Quantity"]["type"] == "string"
    assert defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"] == "int-or-string"
    spec = defs["io.k8s.api.core.v1.Pod"]["properties"]["spec"]
    assert spec["$ref"] == "#/definitions/io.k8s.api.core.v1.PodSpec"
    body = doc["paths"]["/api/v1/namespaces/{namespace}/pods"]["post"]["parameters"][0]
    assert body["in"] == "body" and body["schema"]["$ref"] == "#/definitions/io.k8s.api.core.v1.Pod"
    assert "#/components/" not in json.dumps(doc)


def test_closure_follows_references() -> None:
    names = openapi.closure(["io.k8s.api.core.v1.ConfigMap"])
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in names
    assert "io.k8s.api.core.v1.PodSpec" not in names
