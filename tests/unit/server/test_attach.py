"""attach against a fake conmon: a real SEQPACKET `attach` socket and `ctl` fifo in a bundle dir."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from podbay.errors import BadRequest
from podbay.server import attach
from podbay.server.app import errors_middleware


class FakeConmon:
    """Serves one attach client: sends output packets, records stdin, ends when told (container exit)."""

    def __init__(self, bundle: Path) -> None:
        self.bundle = bundle
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.listener.bind(str(bundle / "attach"))
        self.listener.listen(1)
        os.mkfifo(bundle / "ctl")
        self.ctl_fd = os.open(bundle / "ctl", os.O_RDONLY | os.O_NONBLOCK)
        self.stdin = bytearray()
        self.stdin_closed = threading.Event()
        self.conn: socket.socket | None = None
        self.connected = threading.Event()
        self.exit = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        try:
            self.conn, _ = self.listener.accept()
        except OSError:
            return   # closed without a client (the request was refused before attaching)
        self.connected.set()
        self.conn.sendall(b"\x02hello stdout\n")
        self.conn.sendall(b"\x03hello stderr\n")
        self.conn.settimeout(0.1)
        while not self.exit.is_set():
            try:
                data = self.conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                self.stdin_closed.set()   # conmon would close the container's stdin here
                self.conn.sendall(b"\x02stdin closed\n")
                self.exit.wait(5)
                break
            self.stdin += data
            self.conn.sendall(b"\x02echo:" + data)
        self.conn.close()

    def ctl(self) -> str:
        try:
            return os.read(self.ctl_fd, 4096).decode()
        except BlockingIOError:
            return ""

    def close(self) -> None:
        self.exit.set()
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        os.close(self.ctl_fd)


@pytest.fixture()
def conmon(tmp_path: Path) -> Iterator[FakeConmon]:
    c = FakeConmon(tmp_path)
    yield c
    c.close()


POD: dict[str, Any] = {"metadata": {"name": "p", "namespace": "default", "uid": "u"},
                       "spec": {"containers": [{"name": "c"}, {"name": "d"}]}, "status": {"phase": "Running"}}


@pytest.fixture()
async def url(conmon: FakeConmon) -> AsyncIterator[str]:
    app = web.Application(middlewares=[errors_middleware])

    def target_of(pod: dict[str, Any], name: str) -> attach.AttachTarget:
        if name == "d":
            raise BadRequest('unable to upgrade connection: container not found ("d")')
        return attach.AttachTarget("cid", conmon.bundle, stdin=True, tty=True)

    async def h(request: web.Request) -> web.StreamResponse:
        return await attach.handle(request, request.match_info["ns"], request.match_info["name"],
                                   lambda ns, name: POD, target_of)

    app.router.add_get("/api/v1/namespaces/{ns}/pods/{name}/attach", h)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/api/v1/namespaces/default/pods/p/attach"  # type: ignore[union-attr]
    await runner.cleanup()


async def _until(ws: aiohttp.ClientWebSocketResponse, pred: Any) -> list[bytes]:
    got: list[bytes] = []
    while not pred(got):
        msg = await ws.receive(timeout=5)
        if msg.type != aiohttp.WSMsgType.BINARY:
            break
        got.append(msg.data)
    return got


def _text(got: list[bytes], channel: int) -> bytes:
    return b"".join(m[1:] for m in got if m and m[0] == channel)


async def test_output_is_demultiplexed_and_stdin_reaches_the_container(url: str, conmon: FakeConmon) -> None:
    async with aiohttp.ClientSession() as s, s.ws_connect(
            url + "?container=c&stdin=true&stdout=true&stderr=true", protocols=("v5.channel.k8s.io",)) as ws:
        got = await _until(ws, lambda g: b"hello stderr" in _text(g, 2) and b"hello stdout" in _text(g, 1))
        assert _text(got, 1) == b"hello stdout\n" and _text(got, 2) == b"hello stderr\n"
        await ws.send_bytes(b"\x00ping\n")
        got = await _until(ws, lambda g: b"echo:ping" in _text(g, 1))
        assert bytes(conmon.stdin) == b"ping\n"
        await ws.send_bytes(b"\x04" + json.dumps({"Width": 120, "Height": 40}).encode())
        await ws.send_bytes(bytes([255, 0]))   # v5 CLOSE stdin
        got = await _until(ws, lambda g: b"stdin closed" in _text(g, 1))
        assert conmon.stdin_closed.is_set()
        ctl = ""
        for _ in range(50):
            ctl += conmon.ctl()
            if ctl:
                break
            await asyncio.sleep(0.02)
        assert ctl.startswith("1 40 120\n")
        conmon.exit.set()   # the container exits: conmon closes the socket
        got = await _until(ws, lambda g: any(m[:1] == b"\x03" for m in g))
        status = json.loads(next(m for m in got if m[:1] == b"\x03")[1:])
        assert status == {"metadata": {}, "status": "Success"}


async def test_stderr_only_when_asked(url: str, conmon: FakeConmon) -> None:
    async with aiohttp.ClientSession() as s, s.ws_connect(url + "?container=c&stdout=true",
                                                          protocols=("v5.channel.k8s.io",)) as ws:
        await _until(ws, lambda g: b"hello stdout" in _text(g, 1))
        conmon.exit.set()
        got = await _until(ws, lambda g: any(m[:1] == b"\x03" for m in g))
        assert _text(got, 2) == b""


@pytest.mark.parametrize(("query", "status", "text"), [
    ("?stdout=true", 400, "a container name must be specified for pod p, choose one of: [c d]"),
    ("?container=zz&stdout=true", 400, "container zz is not valid for pod p"),
    ("?container=c", 400, "you must specify at least 1 of stdin, stdout, stderr"),
    ("?container=d&stdout=true", 400, 'container not found ("d")'),
])
async def test_bad_requests(url: str, query: str, status: int, text: str) -> None:
    async with aiohttp.ClientSession() as s:
        with pytest.raises(aiohttp.WSServerHandshakeError) as e:
            await s.ws_connect(url + query, protocols=("v5.channel.k8s.io",))
        assert e.value.status == status
    async with aiohttp.ClientSession() as s, s.get(url + query) as resp:
        body = json.loads(await resp.text())
        assert body["reason"] == "BadRequest" and text in body["message"]


async def test_resizes_reach_conmon_one_at_a_time_and_the_last_one_wins(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "ctl")
    fd = os.open(tmp_path / "ctl", os.O_RDONLY | os.O_NONBLOCK)
    reads: list[str] = []
    r = attach.Resizer(tmp_path)
    try:
        r.push(b"1 25 81\n")   # kubectl's "size + 1" ...
        r.push(b"1 24 80\n")   # ... then the real size, back to back
        for _ in range(40):
            await asyncio.sleep(0.02)
            try:
                chunk = os.read(fd, 4096).decode()
            except BlockingIOError:
                continue
            if chunk:   # "" is a FIFO with no writer at the moment
                reads.append(chunk)
    finally:
        await r.close()
        os.close(fd)
    assert all(chunk.count("\n") == 1 for chunk in reads), reads   # never two lines in one read
    assert reads[:2] == ["1 25 81\n", "1 24 80\n"] and reads[-1] == "1 24 80\n"
    assert len(reads) == 3   # the settled size is sent once more


def test_resize_lines() -> None:
    assert attach.resize_line(b'{"Width":80,"Height":24}') == b"1 24 80\n"
    assert attach.resize_line(b'{"Width":5000,"Height":24}') is None   # conmon refuses > 1000
    assert attach.resize_line(b"junk") is None


async def test_a_missing_attach_socket_is_a_failure_status(tmp_path: Path) -> None:
    app = web.Application(middlewares=[errors_middleware])

    async def h(request: web.Request) -> web.StreamResponse:
        return await attach.handle(request, request.match_info["ns"], request.match_info["name"],
                                   lambda ns, name: {**POD, "spec": {"containers": [{"name": "c"}]}},
                                   lambda pod, name: attach.AttachTarget("cid", tmp_path / "gone", False, False))

    app.router.add_get("/a/{ns}/{name}", h)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with aiohttp.ClientSession() as s, s.ws_connect(f"http://127.0.0.1:{port}/a/x/y?stdout=true",
                                                              protocols=("v4.channel.k8s.io",)) as ws:
            msg = await ws.receive_bytes(timeout=5)
            assert msg[0] == 3 and json.loads(msg[1:])["status"] == "Failure"
            assert (await ws.receive(timeout=5)).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    finally:
        await runner.cleanup()
    await asyncio.sleep(0)
