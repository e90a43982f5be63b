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
