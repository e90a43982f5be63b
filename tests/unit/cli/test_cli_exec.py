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


def test_attach_command(server: ApiServer, ws_server: tuple[str, WsExec], monkeypatch: Any) -> None:
    from click.testing import CliRunner

    import podbay.client.exec_ws as exec_ws
    from podbay.cli.main import cli

    ws_path, fake = ws_server
    server.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                   "spec": {"containers": [{"name": "a", "image": "i"}]}})
    real = exec_ws.run_exec
    monkeypatch.setattr(exec_ws, "run_exec", lambda _sock, *a, **kw: real(ws_path, *a, **kw))
    r = CliRunner().invoke(cli, ["--socket", server.socket, "attach", "web"])
    assert (r.exit_code, r.stdout) == (0, "hello\n"), r.output
    assert fake.paths == ["/api/v1/namespaces/default/pods/web/attach?container=a&stdin=false&stdout=true"
                          "&stderr=true&tty=false"]


def test_port_forward_carries_connections(server: ApiServer, sock_dir: str) -> None:
    """`podbay port-forward` -> the real pods/portforward handler (v4 channel WebSocket) -> a TCP echo
    server standing in for the pod's port."""
    import asyncio
    import os
    import socket
    import subprocess
    import sys

    from podbay.api.resources import Subresource
    from podbay.server import portforward

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1024):
            writer.write(data.upper())
            await writer.drain()
        writer.close()

    async def start_echo() -> asyncio.Server:
        return await asyncio.start_server(echo, "127.0.0.1", 0)

    async def stop_echo() -> None:
        echo_server.close()
        await echo_server.wait_closed()

    echo_server = asyncio.run_coroutine_threadsafe(start_echo(), server.loop).result(10)
    echo_port = int(echo_server.sockets[0].getsockname()[1])
    dialed: list[int] = []

    async def dial(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        dialed.append(port)
        return await asyncio.open_connection("127.0.0.1", echo_port)

    target_of = lambda ns, name: portforward.Target(name, "uid-web", dial)  # noqa: E731
    server.call(server.registry.table.add_subresource, "", "v1", "pods",
                Subresource("portforward", "PodPortForwardOptions", ("create", "get")))
    server.add_connect("", "pods", "portforward",
                       lambda req, rt, route: portforward.handle(req, route.namespace, route.name, target_of))
    server.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                   "spec": {"containers": [{"name": "a", "image": "i", "ports": [{"containerPort": 80}]}]}})
    from conftest import running

    running(server, "web")
    env = {**os.environ, "PODBAY_SOCKET": server.socket}
    with subprocess.Popen([sys.executable, "-m", "podbay", "port-forward", "pod/web", ":80", "--address",
                           "127.0.0.1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line.startswith("Forwarding from 127.0.0.1:") and line.endswith(" -> 80\n"), line
            local = int(line.split(":")[1].split(" ")[0])
            for word in (b"ping", b"pong"):
                with socket.create_connection(("127.0.0.1", local), timeout=10) as c:
                    c.sendall(word)
                    assert c.recv(1024) == word.upper()
            assert proc.stdout.readline() == f"Handling connection for {local}\n"
            assert dialed == [80, 80]
        finally:
            proc.terminate()
            proc.communicate(timeout=10)
            asyncio.run_coroutine_threadsafe(stop_echo(), server.loop).result(10)
