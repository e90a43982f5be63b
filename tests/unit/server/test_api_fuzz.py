"""Fuzzing the API (issue 11 acceptance, the API side): manifests generated from the v1 schemas with
mutations, and requests with bad parameters, bodies and headers. Never a 500, never a hang, and a
rejected request stores nothing."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
from apifake import api_client  # noqa: E402

from podbay.api import schema  # noqa: E402

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=12)


def from_schema(node: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values shaped by a schema node, with a chance of any JSON value instead (the mutation)."""
    resolved = schema.resolve(node)
    types = schema.types(node) - {"null"}
    if depth > 5:
        return JSON
    if "properties" in resolved:
        props = resolved["properties"]
        names = sorted(props)
        return st.lists(st.sampled_from(names), max_size=4, unique=True).flatmap(
            lambda keys: st.fixed_dictionaries({k: from_schema(props[k], depth + 1) for k in keys}))
    if "array" in types:
        item = schema.items(node) or {}
        return st.lists(from_schema(item, depth + 1), max_size=2)
    if "object" in types:
        extra = resolved.get("additionalProperties")
        return st.dictionaries(st.text(min_size=1, max_size=8),
                               from_schema(extra, depth + 1) if isinstance(extra, dict) else JSON, max_size=2)
    if "string" in types:
        return st.text(max_size=12)
    if "integer" in types:
        return st.integers(min_value=-5, max_value=100000)
    if "boolean" in types:
        return st.booleans()
    return JSON


def mutated(definition: str) -> st.SearchStrategy[Any]:
    base = from_schema({"$ref": f"#/$defs/{definition}"})
    return st.one_of(base, base.flatmap(lambda obj: _mutate(obj)), JSON)


def _mutate(obj: Any) -> st.SearchStrategy[Any]:
    if not isinstance(obj, dict) or not obj:
        return JSON
    keys = sorted(obj)
    return st.tuples(st.sampled_from(keys), JSON).map(lambda kv: {**obj, kv[0]: kv[1]})


KINDS = [("pods", "io.k8s.api.core.v1.Pod"), ("configmaps", "io.k8s.api.core.v1.ConfigMap"),
         ("secrets", "io.k8s.api.core.v1.Secret"), ("persistentvolumeclaims",
                                                    "io.k8s.api.core.v1.PersistentVolumeClaim")]
CASES = st.sampled_from(KINDS).flatmap(lambda k: st.tuples(st.just(k[0]), mutated(k[1])))
PARAMS = st.dictionaries(st.sampled_from(["watch", "timeoutSeconds", "resourceVersion", "limit", "continue",
                                          "labelSelector", "fieldSelector", "dryRun", "fieldValidation",
                                          "gracePeriodSeconds", "propagationPolicy", "includeObject",
                                          "resourceVersionMatch", "sendInitialEvents", "allowWatchBookmarks"]),
                         st.text(max_size=10), max_size=4)
HEADERS = st.fixed_dictionaries({}, optional={
    "Accept": st.sampled_from(["application/json", "*/*", "text/html", "application/yaml",
                               "application/json;as=Table;g=meta.k8s.io;v=v1", "application/vnd.kubernetes.protobuf",
                               "application/json;as=Bogus", ";;;", "application/json;q=nan"]),
    "Content-Type": st.sampled_from(["application/json", "text/plain", "application/yaml",
                                     "application/vnd.kubernetes.protobuf", "application/merge-patch+json", ""])})


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cases=st.lists(CASES, min_size=1, max_size=5))
def test_generated_manifests_never_500_and_rejections_store_nothing(tmp_path_factory: Any,
                                                                    cases: list[tuple[str, Any]]) -> None:
    async def go() -> None:
        async with api_client(tmp_path_factory.mktemp("fz")) as (client, fake):
            for plural, body in cases:
                before = fake.repo.current_rv()
                resp = await asyncio.wait_for(client.post(f"/api/v1/namespaces/default/{plural}", json=body), 5)
                text = await resp.text()
                assert resp.status != 500, text
                if resp.status >= 400:
                    assert json.loads(text)["kind"] == "Status"
                    assert fake.repo.current_rv() == before, text

    _run(go())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
       path=st.sampled_from(["/api/v1/namespaces/default/configmaps", "/api/v1/namespaces/default/configmaps/c",
                             "/api/v1/namespaces/default/pods/p/status", "/api/v1/pods", "/api/v1/nodes",
                             "/api/v1/namespaces/default/pods/p/eviction", "/apis/coordination.k8s.io/v1/leases",
                             "/api/v1/namespaces/x y/configmaps", "/api", "/openapi/v3/api/v1"]),
       params=PARAMS, headers=HEADERS, body=st.one_of(st.none(), st.binary(max_size=40), JSON.map(json.dumps)))
def test_raw_requests_never_500_or_hang(tmp_path_factory: Any, method: str, path: str, params: dict[str, str],
                                        headers: dict[str, str], body: Any) -> None:
    async def go() -> None:
        async with api_client(tmp_path_factory.mktemp("fz")) as (client, fake):
            await client.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"name": "c"}})
            # a watch ends at its timeout, a second here
            sent = {**params, "timeoutSeconds": "1"} if "watch" in params else params
            resp = await asyncio.wait_for(client.request(method, path, params=sent, headers=headers, data=body), 5)
            data = await asyncio.wait_for(resp.read(), 5)
            assert resp.status != 500, data[:500]

    _run(go())
