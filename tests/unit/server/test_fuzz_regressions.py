"""Defects the live-agent fuzz (tests/e2e/test_e2e_fuzz.py, bench/fuzz.py) found, each answered as the
API server answers (a Status with its reason and code) and changing nothing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from apifake import api_client  # noqa: E402


async def test_a_body_that_is_not_the_content_encoding_it_claims_is_a_400_and_stores_nothing(tmp_path: Path) -> None:
    """`Content-Encoding: gzip` on a body that is not gzip used to be a 500 InternalError."""
    async with api_client(tmp_path) as (client, fake):
        before = fake.repo.current_rv()
        for path in ("/api/v1/namespaces/default/configmaps", "/api/v1/namespaces/default/configmaps/c"):
            resp = await client.request("POST" if path.endswith("s") else "PUT", path, data=b'{"metadata":{"name":"c"}}',
                                     headers={"Content-Type": "application/json", "Content-Encoding": "gzip",
                                              "Connection": "close"})
            body = json.loads(await resp.text())
            assert (resp.status, body["kind"], body["reason"], body["code"]) == (400, "Status", "BadRequest", 400)
            assert "Can not decode content-encoding: gzip" in body["message"]
        assert fake.repo.current_rv() == before


async def test_a_request_line_over_8_kib_is_served_as_kube_apiserver_serves_it(tmp_path: Path) -> None:
    """A long labelSelector (9 KB) used to get aiohttp's plain-text 400 "Got more than 8190 bytes";
    kube-apiserver allows 1 MiB of request line and headers."""
    async with api_client(tmp_path) as (client, _):
        selector = "app in (" + ",".join(f"a{i}" for i in range(2000)) + ")"
        resp = await client.get("/api/v1/namespaces/default/configmaps", params={"labelSelector": selector})
        assert resp.status == 200, await resp.text()
        assert json.loads(await resp.text())["kind"] == "ConfigMapList"
        resp = await client.get("/api/v1/namespaces/default/configmaps", params={"timeoutSeconds": "x" * 10000})
        assert resp.status == 400
        assert json.loads(await resp.text())["kind"] == "Status"
