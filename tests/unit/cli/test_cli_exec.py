"""``podbay exec`` over a real WebSocket (websockets' sync server on a Unix socket) with the k8s channels."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import ApiServer

from podbay.client.exec_ws import ExecSession, exit_code_from_status
from podbay.client.http import ApiError


class WsExec:
    """Echoes stdin (channel 0) on stdout until the v5 CLOSE frame, then reports an exit code."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.exit_code = 0
        self.subprotocols: list[str] = []

    def handle(self, ws: Any) -> None:
        self.paths.append(ws.request.path)
        self.subprotocols.append(ws.subprotocol)
        ws.send(b"\x01hello\n")
        ws.send(b"\x02warn\n")
        if "stdin=true" in ws.request.path:
            while True:
                msg = ws.recv(timeout=5)
                if msg[0] == 255:
                    break
                if msg[0] == 0:
                    ws.send(b"\x01" + msg[1:])
        if self.exit_code:
            ws.send(b"\x03" + json.dumps({"status": "Failure", "reason": "NonZeroExitCode", "details": {
                "causes": [{"reason": "ExitCode", "message": str(self.exit_code)}]}}).encode())
        else:
            ws.send(b'\x03{"status":"Success"}')


@pytest.fixture
def ws_server(sock_dir: str) -> Iterator[tuple[str, WsExec]]:
    from websockets.sync.server import unix_serve

    fake = WsExec()
    path = f"{sock_dir}/ws.sock"
    server = unix_serve(fake.handle, path, subprotocols=["v5.channel.k8s.io", "v4.channel.k8s.io"])
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield path, fake
    server.shutdown()
    t.join()


def test_exec_session_streams_stdin_and_returns_exit_code(ws_server: tuple[str, WsExec], tmp_path: Any) -> None:
    import io

    path, fake = ws_server
    fake.exit_code = 3
    src = tmp_path / "in"
    src.write_bytes(b"ping\n")
    out, err = io.BytesIO(), io.BytesIO()
    with src.open("rb") as stdin:
        code = ExecSession(path, "/api/v1/namespaces/default/pods/web/exec",
                           {"command": ["cat"], "stdin": True}, stdin=stdin, stdout=out, stderr=err).run()
    assert code == 3
    assert out.getvalue() == b"hello\nping\n" and err.getvalue() == b"warn\n"
    assert fake.subprotocols == ["v5.channel.k8s.io"]


def test_exit_code_from_status() -> None:
    assert exit_code_from_status({"status": "Success"}) == 0
    with pytest.raises(ApiError):
        exit_code_from_status({"status": "Failure", "message": "container not found", "code": 404, "reason": "NotFound"})


def test_exec_command_exit_code_and_query(server: ApiServer, ws_server: tuple[str, WsExec], monkeypatch: Any) -> None:
    """The exec verb GETs the pod (the real API) then execs (WebSocket fake); the remote exit code is ours."""
    from click.testing import CliRunner

    import podbay.client.exec_ws as exec_ws
    from podbay.cli.main import cli

    ws_path, fake = ws_server
    fake.exit_code = 7
    server.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                   "spec": {"containers": [{"name": "a", "image": "i"}, {"name": "b", "image": "i"}]}})
    real = exec_ws.run_exec
    monkeypatch.setattr(exec_ws, "run_exec", lambda _sock, *a, **kw: real(ws_path, *a, **kw))
    r = CliRunner().invoke(cli, ["--socket", server.socket, "exec", "web", "-c", "b", "--", "ls", "-l"])
    assert r.exit_code == 7, r.output
    assert r.stderr.endswith("command terminated with exit code 7\n")
    assert fake.paths == ["/api/v1/namespaces/default/pods/web/exec?command=ls&command=-l&container=b"
                          "&stdin=false&stdout=true&stderr=true&tty=false"]
