"""The access wiring: building it from the agent's config, the listener option, certificate renewal."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apifake import FakeApi

from podbay.agent.config import AgentConfig
from podbay.agent.namespaces import NamespaceController
from podbay.errors import PermanentError
from podbay.host import pki
from podbay.server import access, tls


@pytest.fixture()
def fake(tmp_path: Path) -> Iterator[FakeApi]:
    """The real registry on an in-memory store, with the built-in namespaces."""
    f = FakeApi(tmp_path)
    f.namespaces = NamespaceController(f.registry, f.hub)
    f.namespaces.ensure()
    yield f
    f.store.close()


def cfg(tmp: Path, **kw: Any) -> AgentConfig:
    return AgentConfig(root=tmp / "root", run_dir=tmp / "run", **kw)


def test_build_access_creates_the_pki_and_publishes_the_root_ca(tmp_path: Path, fake: FakeApi) -> None:
    a = access.build_access(cfg(tmp_path, tls_sans=("api.example.test",)), fake.registry, fake.hub)
    assert a.listen == tls.Listen("127.0.0.1", 6443) and a.ssl_context is not None
    assert "api.example.test" in pki.cert_sans(pki.load_cert(a.pki.server_crt)).dns
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
        assert fake.repo.get("ServiceAccount", ns, "default") is not None
        cm = fake.repo.get("ConfigMap", ns, "kube-root-ca.crt")
        assert cm is not None and cm["data"]["ca.crt"] == a.pki.ca_crt.read_text()
    again = access.build_access(cfg(tmp_path), fake.registry, fake.hub)   # a restart changes nothing
    assert again.pki.ca_crt.read_text() == a.pki.ca_crt.read_text()


def test_listen_none_has_no_tls_context(tmp_path: Path, fake: FakeApi) -> None:
    a = access.build_access(cfg(tmp_path, listen="none"), fake.registry, fake.hub)
    assert a.listen is None and a.ssl_context is None


def test_a_missing_token_file_stops_the_agent(tmp_path: Path, fake: FakeApi) -> None:
    with pytest.raises(PermanentError, match="--token-auth-file .*: no such file"):
        access.build_access(cfg(tmp_path, token_auth_files=(str(tmp_path / "nope.csv"),)), fake.registry, fake.hub)
    bad = tmp_path / "bad.csv"
    bad.write_text("only,two\n")
    with pytest.raises(PermanentError, match="must have at least 3 columns"):
        access.build_access(cfg(tmp_path, token_auth_files=(str(bad),)), fake.registry, fake.hub)


@pytest.mark.parametrize(("text", "want"), [
    ("127.0.0.1:6443", tls.Listen("127.0.0.1", 6443)),
    ("0.0.0.0:0", tls.Listen("0.0.0.0", 0)),
    ("[::1]:7443", tls.Listen("::1", 7443)),
    ("none", None),
    (None, tls.Listen("127.0.0.1", 6443)),
])
def test_parse_listen(text: str | None, want: tls.Listen | None) -> None:
    assert tls.parse_listen(text) == want


@pytest.mark.parametrize("text", ["6443", "localhost:6443", "1.2.3.4:99999", "1.2.3.4:x"])
def test_parse_listen_errors(text: str) -> None:
    with pytest.raises(PermanentError, match="--listen"):
        tls.parse_listen(text)


def test_client_urls() -> None:
    assert tls.client_url(tls.Listen("0.0.0.0", 1), 6443) == "https://127.0.0.1:6443"
    assert tls.client_url(tls.Listen("::", 1), 6443) == "https://[::1]:6443"
    assert tls.client_url(tls.Listen("10.0.0.5", 1), 7) == "https://10.0.0.5:7"


async def test_a_running_agent_renews_its_serving_certificate(tmp_path: Path, fake: FakeApi,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    a = access.build_access(cfg(tmp_path), fake.registry, fake.hub)
    before = a.pki.server_crt.read_bytes()
    a.sans = pki.SanSet.of([*a.sans.dns, *a.sans.ips, "renamed.example.test"])   # type: ignore[union-attr]
    monkeypatch.setattr(access, "RENEW_CHECK_SECONDS", 0.01)
    task = asyncio.create_task(access._renew(a))
    for _ in range(200):
        await asyncio.sleep(0.01)
        if a.pki.server_crt.read_bytes() != before:
            break
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert "renamed.example.test" in pki.cert_sans(pki.load_cert(a.pki.server_crt)).dns


def test_in_cluster_listener_and_names(tmp_path: Path, fake: FakeApi) -> None:
    a = access.build_access(cfg(tmp_path, subnet="10.77.5.0/24"), fake.registry, fake.hub)
    assert a.in_cluster == tls.Listen("10.77.5.1", tls.IN_CLUSTER_PORT)
    ips = pki.cert_sans(pki.load_cert(a.pki.server_crt)).ips
    assert "10.96.0.1" in ips and "10.77.5.1" in ips   # the kubernetes Service IP and the bridge address


@pytest.mark.parametrize(("listen", "services", "want"), [
    ("0.0.0.0:6443", True, None),            # the wildcard listener already answers on the bridge
    ("0.0.0.0:7443", True, tls.Listen("10.77.5.1", 6443)),
    ("127.0.0.1:6443", False, None),         # no Services, no kubernetes Service to lead there
    ("none", True, None),                    # no TCP listener at all
])
def test_when_there_is_an_in_cluster_listener(tmp_path: Path, listen: str, services: bool,
                                              want: tls.Listen | None) -> None:
    c = cfg(tmp_path, subnet="10.77.5.0/24", listen=listen, services=services)
    assert access._in_cluster(c, tls.parse_listen(c.listen))[0] == want


async def test_a_freebind_site_listens_on_an_address_the_host_lacks(tmp_path: Path) -> None:
    from aiohttp import web

    from podbay.host.pki import SanSet, ensure_pki

    p = ensure_pki(tmp_path / "pki", SanSet.of(["127.0.0.1"]))
    runner = web.AppRunner(web.Application())
    await runner.setup()
    try:   # TEST-NET-3: on no interface of this host
        await tls.start_freebind_site(runner, tls.Listen("203.0.113.77", 0), tls.server_context(p))
        assert any(s.name and "203.0.113.77" in s.name for s in runner.sites)
    finally:
        await runner.cleanup()
