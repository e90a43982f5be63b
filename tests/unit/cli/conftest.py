"""Fixtures: the fake agent API on a Unix socket and a CLI runner against it."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result
from clifake import NOW, FakeApi, Server, handler


@pytest.fixture
def sock_dir() -> Iterator[str]:
    d = tempfile.mkdtemp(prefix="pbcli")  # short path: AF_UNIX paths are limited to 108 bytes
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def api(sock_dir: str) -> Iterator[FakeApi]:
    fake = FakeApi()
    path = f"{sock_dir}/api.sock"
    server = Server(path, handler(fake))
    fake.socket = path
    t = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    t.start()
    yield fake
    server.shutdown()
    server.server_close()
    t.join()


@pytest.fixture
def run(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> Any:
    import podbay.cli.main as climain

    monkeypatch.setattr(climain, "now", lambda: NOW)

    def invoke(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(climain.cli, ["--socket", api.socket, *args], input=input)

    return invoke
