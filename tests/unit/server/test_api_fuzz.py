"""Fuzzing the API in process (issue 11 acceptance, the API side): manifests generated from the v1
schemas with mutations, and requests with bad parameters, bodies and headers (tests/fuzz_strategies.py,
shared with the live-agent fuzz). Never a 500, never a hang, and a rejected request stores nothing."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[2]))
from apifake import api_client  # noqa: E402

from fuzz_strategies import CASES, HEADERS, JSON, PARAMS  # noqa: E402


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
