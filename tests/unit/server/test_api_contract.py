"""Contract of the real API app (build_app + registry + hub + repository on an in-memory store) over
HTTP, as kubectl and client-go use it. Includes the regression tests of REVIEW D1/D2 and issue 11
items 4, 5, 7 and 9 (each failed on the code before the generic registry)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

sys.path.insert(0, str(Path(__file__).parent))
from apifake import FakeApi, api_client  # noqa: E402

from podbay.server import watch as watch_api  # noqa: E402

PODS = "/api/v1/namespaces/default/pods"
CMS = "/api/v1/namespaces/default/configmaps"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
PROTOBUF_DATA = Path(__file__).parents[1] / "api" / "patch" / "data"


def pod(name: str = "web", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


def cm(name: str = "cfg", **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": dict(data)}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[TestClient[Any, Any], FakeApi]]:
    async with api_client(tmp_path) as pair:
        yield pair


async def status_of(resp: Any) -> tuple[int, dict[str, Any]]:
    body = await resp.json()
    assert body["kind"] == "Status" and body["code"] == resp.status, body
    return resp.status, body


# --- discovery, metadata endpoints, router errors ----------------------------------------------------


@pytest.mark.parametrize("path", ["/version", "/version/", "/api", "/api/", "/api/v1", "/api/v1/", "/apis",
                                  "/apis/coordination.k8s.io/v1", "/apis/events.k8s.io/v1/",
                                  "/apis/metrics.k8s.io/v1beta1", "/healthz", "/livez", "/readyz", "/openapi/v3"])
async def test_metadata_endpoints_answer_with_and_without_trailing_slash(api: Any, path: str) -> None:
    client, _ = api
    resp = await client.get(path)
    assert resp.status == 200, await resp.text()


async def test_version_claims_the_served_api_level(api: Any) -> None:
    client, _ = api
    info = await (await client.get("/version")).json()
    assert (info["major"], info["minor"]) == ("1", "37") and info["gitVersion"].startswith("v1.37.0-podbay.")


async def test_aggregated_discovery(api: Any) -> None:
    client, _ = api
    accept = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
              "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")
    for path, groups in (("/api", [""]), ("/apis", ["apps", "events.k8s.io", "batch", "storage.k8s.io", "coordination.k8s.io",
                                        "discovery.k8s.io", "metrics.k8s.io"])):
        resp = await client.get(path, headers={"Accept": accept})
        assert resp.headers["Content-Type"] == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
        doc = await resp.json()
        assert [i["metadata"]["name"] for i in doc["items"]] == groups


async def test_router_errors_are_upstream_status_objects(api: Any) -> None:
    client, _ = api
    for path in ("/nope", "/api/v1/widgets", "/apis/policy/v1", "/api/v1/namespaces/default/pods/a/b/c"):
        code, body = await status_of(await client.get(path))
        assert (code, body["reason"], body["message"]) == (404, "NotFound",
                                                           "the server could not find the requested resource")
    code, body = await status_of(await client.post(f"{PODS}/web", json=pod()))
    assert (code, body["reason"]) == (405, "MethodNotAllowed")
    assert body["message"] == "the server does not allow this method on the requested resource"
    code, body = await status_of(await client.put("/apis", json={}))
    assert code == 405
    code, body = await status_of(await client.get(f"{PODS}/missing"))
    assert body["message"] == 'pods "missing" not found' and body["details"] == {"name": "missing", "kind": "pods"}


async def test_health_checks_verbose(api: Any) -> None:
    client, _ = api
    text = await (await client.get("/readyz?verbose")).text()
    assert text == "[+]ping ok\n[+]store ok\nreadyz check passed\n"
    assert await (await client.get("/livez/ping")).text() == "ok"
    assert (await client.get("/livez/nothing")).status == 404


async def test_openapi_documents_are_cached_with_an_etag(api: Any) -> None:
    client, _ = api
    index = await (await client.get("/openapi/v3")).json()
    url = index["paths"]["api/v1"]["serverRelativeURL"]
    resp = await client.get(url)
    assert resp.status == 200 and resp.headers["Cache-Control"] == "public, immutable"
    doc = await resp.json()
    assert "io.k8s.api.core.v1.Pod" in doc["components"]["schemas"]
    again = await client.get("/openapi/v3/api/v1", headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status == 304
    v2 = await client.get("/openapi/v2", headers={"Accept": "application/json"})
    assert v2.status == 200 and (await v2.json())["swagger"] == "2.0"
    only_pb = await client.get("/openapi/v2", headers={"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
    assert only_pb.status == 406   # client-go then falls back; podbay has no protobuf OpenAPI


# --- reads: Table, PartialObjectMetadata, paging -----------------------------------------------------


async def test_list_as_table_and_partial_metadata(api: Any) -> None:
    client, _ = api
    await client.post(PODS, json=pod())
    table = await (await client.get(PODS, headers={"Accept": TABLE})).json()
    assert table["kind"] == "Table" and [c["name"] for c in table["columnDefinitions"]][:5] == \
        ["Name", "Ready", "Status", "Restarts", "Age"]
    assert table["rows"][0]["cells"][:3] == ["web", "0/1", "Pending"]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    full = await (await client.get(f"{PODS}?includeObject=Object", headers={"Accept": TABLE})).json()
    assert full["rows"][0]["object"]["kind"] == "Pod"
    one = await (await client.get(f"{PODS}/web", headers={"Accept": TABLE})).json()
    assert one["kind"] == "Table" and len(one["rows"]) == 1
    partial = await client.get(PODS, headers={
        "Accept": "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"})
    body = await partial.json()
    assert body["kind"] == "PartialObjectMetadataList" and body["items"][0]["metadata"]["name"] == "web"
    yaml_text = await (await client.get(f"{PODS}/web", headers={"Accept": "application/yaml"})).text()
    assert yaml_text.startswith("apiVersion: v1\nkind: Pod\n")
    code, body = await status_of(await client.get(PODS, headers={"Accept": "application/vnd.kubernetes.protobuf"}))
    assert (code, body["reason"]) == (406, "NotAcceptable")
    code, _ = await status_of(await client.get(f"{PODS}?includeObject=Everything", headers={"Accept": TABLE}))
    assert code == 400


async def test_limit_and_continue_serve_one_snapshot(api: Any) -> None:
    client, _ = api
    for i in range(5):
        await client.post(CMS, json=cm(f"c{i}"))
    first = await (await client.get(f"{CMS}?limit=2")).json()
    assert [i["metadata"]["name"] for i in first["items"]] == ["c0", "c1"]
    token, rv = first["metadata"]["continue"], first["metadata"]["resourceVersion"]
    assert first["metadata"]["remainingItemCount"] == 3
    await client.delete(f"{CMS}/c3")   # later changes do not show up in the pages of this list
    second = await (await client.get(f"{CMS}?limit=2&continue={token}")).json()
    assert [i["metadata"]["name"] for i in second["items"]] == ["c2", "c3"]
    assert second["metadata"]["resourceVersion"] == rv
    third = await (await client.get(f"{CMS}?limit=2&continue={second['metadata']['continue']}")).json()
    assert [i["metadata"]["name"] for i in third["items"]] == ["c4"] and "continue" not in third["metadata"]
    code, body = await status_of(await client.get(f"{CMS}?continue=garbage"))
    assert code == 400 and "continue key is not valid" in body["message"]
    unlimited = await (await client.get(f"{CMS}?limit=-1")).json()   # upstream: no limit
    assert len(unlimited["items"]) == 4


async def test_list_of_another_namespace_and_all_namespaces(api: Any) -> None:
    client, _ = api
    await client.post("/api/v1/namespaces", json={"metadata": {"name": "team"}})
    await client.post("/api/v1/namespaces/team/configmaps", json=cm("t"))
    await client.post(CMS, json=cm("d"))
    all_ns = await (await client.get("/api/v1/configmaps")).json()
    assert [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in all_ns["items"]] == \
        [("default", "d"), ("team", "t")]
    ns = await (await client.get("/api/v1/namespaces/team")).json()
    assert ns["kind"] == "Namespace" and ns["status"]["phase"] == "Active"


# --- watch ---------------------------------------------------------------------------------------------


async def read_events(resp: Any, n: int, timeout: float = 3.0) -> list[dict[str, Any]]:
    out = []
    while len(out) < n:
        line = await asyncio.wait_for(resp.content.readline(), timeout)
        if not line:
            break
        out.append(json.loads(line))
    return out


async def test_a_secret_never_reaches_a_pod_watch(api: Any) -> None:
    """REVIEW D1 over HTTP: the old pod watch streamed every kind, Secrets with their data included."""
    client, _ = api
    resp = await client.get(f"{PODS}?watch=true&timeoutSeconds=2")
    await client.post("/api/v1/namespaces/default/secrets", json={"metadata": {"name": "db"},
                                                                  "stringData": {"password": "hunter2"}})
    await client.post(CMS, json=cm())
    await client.post(PODS, json=pod())
    text = (await resp.read()).decode()
    events = [json.loads(line) for line in text.splitlines() if line]
    assert [(e["type"], e["object"]["kind"], e["object"]["metadata"]["name"]) for e in events] == \
        [("ADDED", "Pod", "web")]
    assert "hunter2" not in text and "aHVudGVyMg" not in text


async def test_watch_every_kind_with_initial_state_and_changes(api: Any) -> None:
    client, _ = api
    await client.post(CMS, json=cm("a", k="1"))
    resp = await client.get(f"{CMS}?watch=1&timeoutSeconds=5")
    await client.patch(f"{CMS}/a", data=b'{"data":{"k":"2"}}', headers={"Content-Type": "application/merge-patch+json"})
    await client.delete(f"{CMS}/a")
    events = await read_events(resp, 3)
    assert [(e["type"], e["object"]["data"]["k"]) for e in events] == [("ADDED", "1"), ("MODIFIED", "2"),
                                                                      ("DELETED", "2")]
    resp.close()
    for path in ("/api/v1/namespaces", "/api/v1/nodes", "/api/v1/namespaces/default/events",
                 "/apis/events.k8s.io/v1/namespaces/default/events", "/api/v1/namespaces/default/serviceaccounts",
                 "/apis/coordination.k8s.io/v1/namespaces/default/leases",
                 "/api/v1/namespaces/default/persistentvolumeclaims"):
        r = await client.get(f"{path}?watch=true&timeoutSeconds=0", timeout=5)
        assert r.status == 200, path
        r.close()


async def test_watch_from_a_resource_version_replays_and_410s_when_too_old(api: Any) -> None:
    client, fake = api
    created = await (await client.post(CMS, json=cm("a"))).json()
    rv = created["metadata"]["resourceVersion"]
    await client.put(f"{CMS}/a", json=cm("a", x="1"))
    resp = await client.get(f"{CMS}?watch=1&resourceVersion={rv}&timeoutSeconds=1")
    events = [json.loads(x) for x in (await resp.read()).splitlines() if x]
    assert [(e["type"], e["object"]["data"]) for e in events] == [("MODIFIED", {"x": "1"})]
    fake.hub._history_of("ConfigMap").floor = int(rv) + 5   # as if the history had dropped those events
    resp = await client.get(f"{CMS}?watch=1&resourceVersion={rv}")
    [error] = [json.loads(x) for x in (await resp.read()).splitlines() if x]
    assert error["type"] == "ERROR" and error["object"]["code"] == 410 and error["object"]["reason"] == "Expired"
    assert error["object"]["message"] == f"too old resource version: {rv} ({int(rv) + 6})"


async def test_watch_bookmarks_and_send_initial_events(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    client, _ = api
    monkeypatch.setattr(watch_api, "BOOKMARK_SECONDS", 0.1)
    await client.post(CMS, json=cm("a"))
    resp = await client.get(f"{CMS}?watch=1&allowWatchBookmarks=true&sendInitialEvents=true"
                            "&resourceVersionMatch=NotOlderThan&timeoutSeconds=2")
    events = await read_events(resp, 3)
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK", "BOOKMARK"]
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert events[2]["object"]["kind"] == "ConfigMap" and int(events[2]["object"]["metadata"]["resourceVersion"]) > 0
    resp.close()


async def test_watch_with_selectors_follows_the_selection(api: Any) -> None:
    client, _ = api
    resp = await client.get(f"{CMS}?watch=1&labelSelector=app%3Dx&timeoutSeconds=3")
    await client.post(CMS, json={**cm("a"), "metadata": {"name": "a", "labels": {"app": "y"}}})
    await client.patch(f"{CMS}/a", data=b'{"metadata":{"labels":{"app":"x"}}}',
                       headers={"Content-Type": "application/merge-patch+json"})
    await client.patch(f"{CMS}/a", data=b'{"metadata":{"labels":{"app":"z"}}}',
                       headers={"Content-Type": "application/merge-patch+json"})
    events = await read_events(resp, 2)
    assert [(e["type"], e["object"]["metadata"]["labels"]["app"]) for e in events] == [("ADDED", "x"),
                                                                                      ("DELETED", "z")]
    resp.close()
    single = await client.get(f"{CMS}?watch=1&fieldSelector=metadata.name%3Da&timeoutSeconds=1")
    assert [json.loads(x)["object"]["metadata"]["name"] for x in (await single.read()).splitlines() if x] == ["a"]


async def test_table_watch_sends_one_row_tables(api: Any) -> None:
    client, _ = api
    await client.post(PODS, json=pod("a"))
    resp = await client.get(f"{PODS}?watch=1&timeoutSeconds=3", headers={"Accept": TABLE})
    assert resp.headers["Content-Type"].startswith("application/json;as=Table")
    await client.post(PODS, json=pod("b"))
    events = await read_events(resp, 2)
    assert [e["object"]["kind"] for e in events] == ["Table", "Table"]
    assert events[0]["object"]["columnDefinitions"][0]["name"] == "Name"
    assert events[1]["object"]["columnDefinitions"] is None
    assert [e["object"]["rows"][0]["cells"][0] for e in events] == ["a", "b"]
    resp.close()


# --- writes ----------------------------------------------------------------------------------------------


async def test_create_replace_patch_delete_round_trip(api: Any) -> None:
    client, _ = api
    resp = await client.post(PODS, json=pod())
    assert resp.status == 201
    created = await resp.json()
    assert created["metadata"]["generation"] == 1
    created["metadata"]["creationTimestamp"] = created["metadata"]["creationTimestamp"].replace("Z", "+00:00")
    created["metadata"]["labels"]["x"] = "y"
    resp = await client.put(f"{PODS}/web", json=created)   # the Python client's read-modify-replace
    assert resp.status == 200, await resp.text()
    code, body = await status_of(await client.put(f"{PODS}/web", json=created))
    assert (code, body["reason"]) == (409, "Conflict")
    resp = await client.patch(f"{PODS}/web", data=b'{"metadata":{"annotations":{"note":"hi"}}}',
                              headers={"Content-Type": "application/strategic-merge-patch+json"})
    assert (await resp.json())["metadata"]["annotations"] == {"note": "hi"}
    resp = await client.delete(f"{PODS}/web", json={"gracePeriodSeconds": 0})
    assert resp.status == 200 and (await resp.json())["metadata"]["deletionGracePeriodSeconds"] == 0


async def test_field_validation_strict_warn_ignore(api: Any) -> None:
    client, _ = api
    bogus = pod(bogus=1)
    code, body = await status_of(await client.post(f"{PODS}?fieldValidation=Strict", json=bogus))
    assert (code, body["message"]) == (400, 'strict decoding error: unknown field "spec.bogus"')
    resp = await client.post(PODS, json=bogus)
    assert resp.status == 201 and resp.headers.getall("Warning") == ['299 - "unknown field \\"spec.bogus\\""']
    assert "bogus" not in (await resp.json())["spec"]
    ignored = await client.post(f"{PODS}?fieldValidation=Ignore", json=pod("b", bogus=1))
    assert ignored.status == 201 and "Warning" not in ignored.headers
    dup = b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"d","name":"d"}}'
    code, body = await status_of(await client.post(f"{CMS}?fieldValidation=Strict", data=dup,
                                                   headers={"Content-Type": "application/json"}))
    assert body["message"] == 'strict decoding error: duplicate field "metadata.name"'


async def test_dry_run_writes_nothing(api: Any) -> None:
    client, fake = api
    await client.post(CMS, json=cm("keep"))
    rv = fake.repo.current_rv()
    resp = await client.post(f"{PODS}?dryRun=All", json=pod())
    assert resp.status == 201 and (await resp.json())["metadata"]["uid"]
    await client.put(f"{CMS}/keep?dryRun=All", json=cm("keep", a="1"))
    await client.patch(f"{CMS}/keep?dryRun=All", data=b'{"data":{"b":"2"}}',
                       headers={"Content-Type": "application/merge-patch+json"})
    resp = await client.delete(f"{CMS}/keep?dryRun=All")
    assert resp.status == 200
    assert fake.repo.current_rv() == rv
    assert fake.repo.get("ConfigMap", "default", "keep")["data"] == {}
    assert fake.repo.get("Pod", "default", "web") is None


async def test_protobuf_bodies_of_kubectl(api: Any) -> None:
    """kubectl 1.32+ sends protobuf for create configmap/secret/namespace."""
    client, fake = api
    for name in ("k133-create-configmap-cm1.pb", "k137-create-secret-generic.pb"):
        data = (PROTOBUF_DATA / name).read_bytes()
        kind = "configmaps" if "configmap" in name else "secrets"
        resp = await client.post(f"/api/v1/namespaces/default/{kind}", data=data,
                                 headers={"Content-Type": "application/vnd.kubernetes.protobuf",
                                          "Accept": "application/vnd.kubernetes.protobuf, */*"})
        assert resp.status == 201, await resp.text()
    assert fake.repo.list("ConfigMap", "default") and fake.repo.list("Secret", "default")


async def test_eviction_status_subresource_and_deletecollection(api: Any) -> None:
    client, fake = api
    await client.post(PODS, json=pod())
    resp = await client.get(f"{PODS}/web/status")
    assert (await resp.json())["status"]["phase"] == "Pending"
    cur = await resp.json()
    cur["status"] = {"phase": "Running"}
    resp = await client.put(f"{PODS}/web/status", json=cur)
    assert (await resp.json())["status"] == {"phase": "Running"}
    resp = await client.post(f"{PODS}/web/eviction", json={"apiVersion": "policy/v1", "kind": "Eviction",
                                                           "metadata": {"name": "web"}})
    assert resp.status == 201 and (await resp.json())["status"] == "Success"
    assert fake.repo.get("Pod", "default", "web")["metadata"]["deletionTimestamp"]
    for i in range(3):
        await client.post(CMS, json=cm(f"c{i}"))
    resp = await client.delete(CMS)
    assert resp.status == 200 and len((await resp.json())["items"]) == 3 and not fake.repo.list("ConfigMap")


async def test_metrics_kinds_are_computed(api: Any) -> None:
    client, fake = api

    async def pods(_rt: Any, ns: str | None, name: str | None) -> list[dict[str, Any]]:
        return [{"kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
                 "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
                 "timestamp": "2026-01-01T00:00:00Z", "window": "1s",
                 "containers": [{"name": "c", "usage": {"cpu": "5n", "memory": "4Ki"}}]}]

    fake.api.computed[("metrics.k8s.io", "pods")] = pods
    lst = await (await client.get("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app%3Dweb")).json()
    assert lst["kind"] == "PodMetricsList" and lst["items"][0]["containers"][0]["usage"]["cpu"] == "5n"
    one = await (await client.get("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web")).json()
    assert one["kind"] == "PodMetrics"
    code, _ = await status_of(await client.post("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods", json={}))
    assert code == 405


# --- bad input: issue 11 items 4, 5, 7, 9 and REVIEW D2 ------------------------------------------------


async def assert_rejected(client: Any, fake: FakeApi, resp: Any, codes: tuple[int, ...] = (400, 422)) -> dict[str, Any]:
    code, body = await status_of(resp)
    assert code in codes, body
    return body


async def test_item4_a_huge_quantity_is_refused_without_blocking(api: Any) -> None:
    client, fake = api
    rv = fake.repo.current_rv()
    started = time.perf_counter()
    body = await assert_rejected(client, fake, await client.post(PODS, json=pod(containers=[
        {"name": "c", "image": "busybox", "resources": {"limits": {"memory": "1e300000"}}}])))
    assert time.perf_counter() - started < 1.0 and "quantity" in body["message"]
    assert fake.repo.current_rv() == rv


@pytest.mark.parametrize("query", ["watch=true&timeoutSeconds=nan", "watch=true&resourceVersion=abc",
                                   "resourceVersion=abc", "limit=x", "timeoutSeconds=1.5", "watch=1&limit=1e9",
                                   "labelSelector=a%20b%20c", "fieldSelector=spec.bogus%3D1",
                                   "resourceVersionMatch=Exact"])
async def test_item5_bad_query_parameters_are_400_or_422(api: Any, query: str) -> None:
    client, fake = api
    await assert_rejected(client, fake, await client.get(f"{PODS}?{query}"))


async def test_item5_bad_log_parameters(api: Any) -> None:
    client, fake = api
    from podbay.server import logs as logs_api

    class Pods:
        def get(self, ns: str, name: str) -> dict[str, Any]:
            return fake.registry.get(fake.registry.kind("Pod"), ns, name)

    fake.api.connect[("", "pods", "log")] = lambda req, rt, route: logs_api.handle(req, Pods(), route.namespace or "",
                                                                                 route.name)
    await client.post(PODS, json=pod())
    for q in ("tailLines=abc", "tailLines=-1", "limitBytes=0", "sinceSeconds=x", "sinceTime=yesterday"):
        await assert_rejected(client, fake, await client.get(f"{PODS}/web/log?{q}"))


@pytest.mark.parametrize(("path", "body"), [
    ("/api/v1/namespaces/default/secrets", {"metadata": {"name": "s"}, "data": "true"}),
    (CMS, {"metadata": {"name": "c"}, "data": 3.14}),
    (PODS, {"metadata": {"name": 2**70}, "spec": {"containers": [{"name": "c", "image": "i"}]}}),
    (PODS, pod(initContainers="str")),
    (PODS, pod(volumes=[{"name": "v", "emptyDir": 0}])),
    (PODS, pod(volumes=[{"name": "v", "projected": {"sources": {"x": -1}}}])),
    (PODS, {**pod(), "metadata": {"name": "x", "annotations": ["a"]}}),
    (PODS, cm("not-a-pod")),
    (PODS, {**pod(), "metadata": {"name": "x", "namespace": "other"}}),   # D2: was a 500
    (PODS, [1, 2, 3]),
])
async def test_item7_malformed_objects_are_rejected_and_nothing_is_stored(api: Any, path: str, body: Any) -> None:
    client, fake = api
    rv = fake.repo.current_rv()
    await assert_rejected(client, fake, await client.post(path, json=body))
    assert fake.repo.current_rv() == rv


async def test_item7_deep_nesting_and_lone_surrogates(api: Any) -> None:
    client, fake = api
    rv = fake.repo.current_rv()
    deep = '{"metadata":{"name":"x","annotations":' * 1 + '{"a":' * 20000 + '"v"' + "}" * 20000 + "}}"
    await assert_rejected(client, fake, await client.post(CMS, data=deep, headers={"Content-Type": "application/json"}))
    surrogate = '{"metadata":{"name":"x"},"data":{"k":"\\ud800"}}'
    await assert_rejected(client, fake, await client.post(CMS, data=surrogate,
                                                          headers={"Content-Type": "application/json"}))
    invalid_utf8 = b'{"metadata":{"name":"x"},"data":{"k":"\xff"}}'
    await assert_rejected(client, fake, await client.post(CMS, data=invalid_utf8,
                                                          headers={"Content-Type": "application/json"}))
    assert fake.repo.current_rv() == rv


async def test_item7_grace_periods(api: Any) -> None:
    client, fake = api
    await client.post(PODS, json=pod())
    await assert_rejected(client, fake, await client.delete(f"{PODS}/web?gracePeriodSeconds=soon"))
    await assert_rejected(client, fake, await client.delete(f"{PODS}/web", json={"gracePeriodSeconds": "soon"}))
    resp = await client.delete(f"{PODS}/web?gracePeriodSeconds=-5")   # upstream: negative means 1s
    assert resp.status == 200 and (await resp.json())["metadata"]["deletionGracePeriodSeconds"] == 1


async def test_item9_delete_options_and_bodies(api: Any) -> None:
    client, fake = api
    await client.post(CMS, json=cm("keep"))
    assert (await client.delete(f"{CMS}/keep?dryRun=All")).status == 200
    assert fake.repo.get("ConfigMap", "default", "keep") is not None
    body = await assert_rejected(client, fake, await client.delete(f"{CMS}/keep", json={"preconditions": {"uid": "x"}}),
                                 (409,))
    assert body["reason"] == "Conflict" and "Precondition failed: UID in precondition: x" in body["message"]
    body = await assert_rejected(client, fake, await client.delete(f"{CMS}/keep?propagationPolicy=bogus"))
    assert 'propagationPolicy: Unsupported value: "bogus"' in body["message"]
    await assert_rejected(client, fake, await client.delete(f"{CMS}/keep", json={"propagationPolicy": "bogus"}))
    await assert_rejected(client, fake, await client.delete(f"{CMS}/keep", data=b"not json",
                                                             headers={"Content-Type": "application/json"}))
    await assert_rejected(client, fake, await client.post(CMS, data=b"{oops", headers={"Content-Type": "application/json"}))
    body = await assert_rejected(client, fake, await client.post(CMS, data=b"x", headers={"Content-Type": "text/plain"}),
                                 (415,))
    assert body["reason"] == "UnsupportedMediaType"
    assert fake.repo.get("ConfigMap", "default", "keep") is not None


async def test_item9_a_websocket_offering_only_unknown_subprotocols_is_refused(api: Any) -> None:
    client, fake = api
    from podbay.core.records import ContainerRecord
    from podbay.server import exec as exec_api

    await client.post(PODS, json=pod())
    uid = fake.repo.get("Pod", "default", "web")["metadata"]["uid"]
    rec = ContainerRecord(id="cid", pod_uid=uid, name="c", kind="regular", attempt=0, spec_hash="h",
                          image="busybox", state="running")

    class Store:
        def containers(self, _uid: str) -> list[ContainerRecord]:
            return [rec]

    class Pods:
        deps = type("D", (), {"store": Store()})()

        def get(self, ns: str, name: str) -> dict[str, Any]:
            return fake.registry.get(fake.registry.kind("Pod"), ns, name)

    fake.api.connect[("", "pods", "exec")] = lambda req, rt, route: exec_api.handle(req, Pods(), route.namespace or "",
                                                                                   route.name)
    with pytest.raises(Exception) as exc:
        await client.ws_connect(f"{PODS}/web/exec?command=true&stdout=1", protocols=("evil.example.com",))
    assert "400" in str(exc.value)


async def test_bodies_over_the_limit_are_413(api: Any) -> None:
    client, fake = api
    import io

    big = json.dumps(cm("big", k="x" * (3 * 1024 * 1024 + 10))).encode()
    code, body = await status_of(await client.post(CMS, data=io.BytesIO(big),
                                                   headers={"Content-Type": "application/json"}))
    assert (code, body["reason"]) == (413, "RequestEntityTooLarge")


async def test_unknown_namespace_and_terminating_namespace(api: Any) -> None:
    client, fake = api
    code, body = await status_of(await client.post("/api/v1/namespaces/nope/configmaps", json=cm()))
    assert (code, body["message"]) == (404, 'namespaces "nope" not found')
    await client.post("/api/v1/namespaces", json={"metadata": {"name": "team"}})
    await client.post("/api/v1/namespaces/team/pods", json=pod())   # keeps the namespace Terminating
    await client.delete("/api/v1/namespaces/team")
    code, body = await status_of(await client.post("/api/v1/namespaces/team/configmaps", json=cm()))
    assert code == 403 and body["message"] == ('configmaps "cfg" is forbidden: unable to create new content in '
                                               "namespace team because it is being terminated")


async def test_other_modules_plug_in_subresources_and_computed_kinds(api: Any) -> None:
    """The hooks the access helper uses: pods/attach as a connect handler, TokenReview as a kind."""
    from aiohttp import web

    from podbay.api.resources import ResourceType, Subresource

    client, fake = api
    table = fake.registry.table
    table.add_subresource("", "v1", "pods", Subresource("attach", "PodAttachOptions", ("create", "get")))
    table.register(ResourceType("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", "tokenreview", False,
                                verbs=("create",), storage=""))

    async def attach(request: Any, rt: Any, route: Any) -> web.Response:
        return web.Response(text=f"attach {route.namespace}/{route.name}")

    async def review(request: Any, rt: Any, route: Any) -> web.Response:
        return web.json_response({"kind": "TokenReview", "status": {"authenticated": False}}, status=201)

    fake.api.connect[("", "pods", "attach")] = attach
    fake.api.connect[("authentication.k8s.io", "tokenreviews", "")] = review
    await client.post(PODS, json=pod())
    assert await (await client.post(f"{PODS}/web/attach")).text() == "attach default/web"
    resp = await client.post("/apis/authentication.k8s.io/v1/tokenreviews", json={})
    assert resp.status == 201 and (await resp.json())["kind"] == "TokenReview"
    groups = await (await client.get("/apis")).json()
    assert "authentication.k8s.io" in [g["name"] for g in groups["groups"]]


async def test_too_many_requests_in_flight_is_429(tmp_path: Path) -> None:
    from aiohttp.test_utils import TestServer

    from podbay.server.app import AUTHENTICATOR, build_app

    fake = FakeApi(tmp_path)
    fake.build()
    app = build_app(fake.api, max_in_flight=1)
    gate = asyncio.Event()

    async def trusted(_: Any) -> Any:
        return {"username": "test"}

    app[AUTHENTICATOR] = trusted
    fake.api.computed[("metrics.k8s.io", "nodes")] = lambda *a: _slow_list(gate)
    async with TestClient(TestServer(app)) as client:
        first = asyncio.create_task(client.get("/apis/metrics.k8s.io/v1beta1/nodes"))
        await asyncio.sleep(0.2)
        code, body = await status_of(await client.get("/api/v1/namespaces"))
        assert (code, body["reason"]) == (429, "TooManyRequests")
        watch = await client.get(f"{CMS}?watch=1&timeoutSeconds=0")   # long-running: not limited
        assert watch.status == 200
        gate.set()
        assert (await first).status == 200
    if fake.namespaces is not None:
        await fake.namespaces.stop()
    fake.store.close()


async def _slow_list(gate: asyncio.Event) -> list[dict[str, Any]]:
    await gate.wait()
    return []
