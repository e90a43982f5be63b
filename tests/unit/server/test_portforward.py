"""Port-forward: stream pairing and forwarding over SPDY, the v4 WebSocket channels, the tunnel.

The pod is a local TCP server (the dialer is the only fake: it connects to loopback instead of
entering a network namespace); clients speak the protocols as client-go and the Python client do.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from podbay.server import portforward, spdy
from podbay.server.app import errors_middleware
from podbay.server.spdy import DataFrame, FrameCodec, Ping, RstStream, SynReply, SynStream


class MemoryChannel:
    """One end of an in-memory byte pipe (what a WebSocket tunnel or an upgraded connection is)."""

    def __init__(self, inbox: asyncio.Queue[bytes], outbox: asyncio.Queue[bytes]) -> None:
        self.inbox, self.outbox = inbox, outbox

    async def read(self) -> bytes:
        return await self.inbox.get()

    async def write(self, data: bytes) -> None:
        await self.outbox.put(data)

    async def close(self) -> None:
        await self.outbox.put(b"")


class SpdyClient:
    def __init__(self, channel: MemoryChannel) -> None:
        self.ch = channel
        self.codec = FrameCodec()
        self.frames: list[Any] = []

    async def send(self, *frames: Any) -> None:
        for f in frames:
            await self.ch.write(self.codec.encode(f))

    async def until(self, pred: Any, timeout: float = 5) -> list[Any]:
        async def loop() -> list[Any]:
            while not pred(self.frames):
                data = await self.ch.read()
                if not data:
                    break
                self.frames += self.codec.feed(data)
            return self.frames

        return await asyncio.wait_for(loop(), timeout)


@pytest.fixture()
async def pod_server() -> AsyncIterator[tuple[int, list[bytes]]]:
    """A tiny HTTP/1.0 server standing in for the pod's port; records what it received."""
    seen: list[bytes] = []

    async def serve(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        data = await r.read(65536)
        seen.append(data)
        w.write(b"HTTP/1.0 200 OK\r\n\r\nhello-from-pod:" + data.split(b"\r\n", 1)[0])
        await w.drain()
        w.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1], seen
    server.close()
    await server.wait_closed()


def target(port_map: dict[int, int]) -> portforward.Target:
    async def dial(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if port not in port_map:
            raise ConnectionRefusedError(111, "Connection refused")
        return await asyncio.open_connection("127.0.0.1", port_map[port])

    return portforward.Target("web", "uid-1", dial)


def session(t: portforward.Target, timeout: float = 30) -> tuple[asyncio.Task[None], SpdyClient]:
    a, b = asyncio.Queue[bytes](), asyncio.Queue[bytes]()
    pf = portforward.SpdyPortForward(t, timeout)
    s = spdy.SpdySession(MemoryChannel(a, b), pf.accept, pf.handle)
    return asyncio.create_task(s.run()), SpdyClient(MemoryChannel(b, a))


def hdr(kind: str, port: int, rid: str | None = "0") -> dict[str, list[str]]:
    h = {"streamtype": [kind], "port": [str(port)]}
    if rid is not None:
        h["requestid"] = [rid]
    return h


def data_of(frames: list[Any], sid: int) -> bytes:
    return b"".join(f.data for f in frames if isinstance(f, DataFrame) and f.stream_id == sid)


def fin(frames: list[Any], sid: int) -> bool:
    return any(isinstance(f, DataFrame) and f.stream_id == sid and f.flags & spdy.FLAG_FIN for f in frames)


# --- pairing rules ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("headers", "reason"), [
    ({"streamtype": ["data"]}, '"port" header is required'),
    ({"streamtype": ["data"], "port": ["http"]}, "unable to parse 'http' as a port"),
    ({"streamtype": ["data"], "port": ["0"]}, 'port "0" must be > 0'),
    ({"port": ["80"]}, '"streamType" header is required'),
    ({"port": ["80"], "streamtype": ["stdin"]}, 'invalid stream type "stdin"'),
    ({"port": ["80"], "streamtype": ["error"]}, None),
])
def test_stream_headers(headers: dict[str, list[str]], reason: str | None) -> None:
    assert portforward.validate_stream(headers) == reason


def test_request_id_for_clients_that_send_none() -> None:
    assert portforward.request_id(5, hdr("error", 80, None)) == "5"
    assert portforward.request_id(7, hdr("data", 80, None)) == "5"
    assert portforward.request_id(7, hdr("data", 80, "42")) == "42"


# --- SPDY ------------------------------------------------------------------------------------------

async def test_a_stream_pair_forwards_one_connection(pod_server: tuple[int, list[bytes]]) -> None:
    port, seen = pod_server
    task, c = session(target({8080: port}))
    await c.send(SynStream(1, hdr("error", 8080)), SynStream(3, hdr("data", 8080)),
                 DataFrame(3, b"GET /x HTTP/1.0\r\n\r\n"), DataFrame(3, b"", spdy.FLAG_FIN))
    frames = await c.until(lambda fs: fin(fs, 3) and fin(fs, 1))
    assert [f.stream_id for f in frames if isinstance(f, SynReply)] == [1, 3]
    assert data_of(frames, 3) == b"HTTP/1.0 200 OK\r\n\r\nhello-from-pod:GET /x HTTP/1.0"
    assert data_of(frames, 1) == b""   # no error
    assert seen == [b"GET /x HTTP/1.0\r\n\r\n"]
    await c.ch.write(b"")
    await asyncio.wait_for(task, 5)


async def test_several_pairs_on_one_connection(pod_server: tuple[int, list[bytes]]) -> None:
    port, _ = pod_server
    task, c = session(target({80: port}))
    await c.send(SynStream(1, hdr("error", 80, "0")), SynStream(3, hdr("error", 80, "1")),
                 SynStream(5, hdr("data", 80, "1")), SynStream(7, hdr("data", 80, "0")),
                 DataFrame(5, b"GET /one HTTP/1.0\r\n\r\n"), DataFrame(7, b"GET /zero HTTP/1.0\r\n\r\n"))
    frames = await c.until(lambda fs: fin(fs, 5) and fin(fs, 7))
    assert data_of(frames, 5).endswith(b"GET /one HTTP/1.0")
    assert data_of(frames, 7).endswith(b"GET /zero HTTP/1.0")
    await c.ch.write(b"")
    await asyncio.wait_for(task, 5)


async def test_refused_port_is_reported_on_the_error_stream() -> None:
    task, c = session(target({}))
    await c.send(SynStream(1, hdr("error", 9999)), SynStream(3, hdr("data", 9999)))
    frames = await c.until(lambda fs: fin(fs, 1))
    msg = data_of(frames, 1).decode()
    assert msg.startswith("error forwarding port 9999 to pod web, uid uid-1: failed to connect to localhost:9999")
    assert "connection refused" in msg
    await c.ch.write(b"")
    await asyncio.wait_for(task, 5)


async def test_invalid_stream_is_reset_and_ping_is_echoed() -> None:
    task, c = session(target({}))
    await c.send(SynStream(1, {"streamtype": ["data"]}), Ping(1))
    frames = await c.until(lambda fs: len(fs) >= 2)
    assert RstStream(1, spdy.CANCEL) in frames and Ping(1) in frames
    await c.ch.write(b"")
    await asyncio.wait_for(task, 5)


async def test_an_unpaired_stream_times_out_with_upstreams_message() -> None:
    task, c = session(target({}), timeout=0.2)
    await c.send(SynStream(1, hdr("error", 80)))
    frames = await c.until(lambda fs: fin(fs, 1))
    assert data_of(frames, 1) == b"timed out waiting for streams for request 0"
    await c.ch.write(b"")
    await asyncio.wait_for(task, 5)


async def test_client_reset_ends_the_forward_even_if_the_pod_stays_open() -> None:
    async def hold(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(b"banner")
        await w.drain()
        await r.read()   # until we close
        closed.set()
        w.close()

    closed = asyncio.Event()
    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        task, c = session(target({22: server.sockets[0].getsockname()[1]}))
        await c.send(SynStream(1, hdr("error", 22)), SynStream(3, hdr("data", 22)))
        await c.until(lambda fs: data_of(fs, 3) == b"banner")
        await c.send(RstStream(3, spdy.CANCEL))
        await asyncio.wait_for(closed.wait(), 5)
        await c.ch.write(b"")
        await asyncio.wait_for(task, 5)
    finally:
        server.close()


# --- over HTTP: the WebSocket tunnel, the v4 channels, the SPDY upgrade ------------------------------

@pytest.fixture()
async def app_url(pod_server: tuple[int, list[bytes]]) -> AsyncIterator[str]:
    port, _ = pod_server
    app = web.Application(middlewares=[errors_middleware])

    async def h(request: web.Request) -> web.StreamResponse:
        return await portforward.handle(request, request.match_info["ns"], request.match_info["name"],
                                        lambda ns, name: target({8080: port}))

    app.router.add_get("/api/v1/namespaces/{ns}/pods/{name}/portforward", h)
    app.router.add_post("/api/v1/namespaces/{ns}/pods/{name}/portforward", h)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    await runner.cleanup()


PATH = "/api/v1/namespaces/default/pods/web/portforward"


async def test_websocket_v4_channels_as_the_python_client_uses_them(app_url: str) -> None:
    async with aiohttp.ClientSession() as s, s.ws_connect(app_url + PATH + "?ports=8080",
                                                          protocols=("v4.channel.k8s.io",)) as ws:
        assert ws.protocol == "v4.channel.k8s.io"
        first = [await ws.receive_bytes(), await ws.receive_bytes()]
        assert first == [b"\x00" + struct.pack("<H", 8080), b"\x01" + struct.pack("<H", 8080)]
        await ws.send_bytes(b"\x00GET /py HTTP/1.0\r\n\r\n")
        body = b""
        while not body.endswith(b"GET /py HTTP/1.0"):
            msg = await ws.receive_bytes(timeout=5)
            assert msg[0] == 0
            body += msg[1:]
        assert body.startswith(b"HTTP/1.0 200 OK")


async def test_websocket_v4_refused_port(app_url: str) -> None:
    async with aiohttp.ClientSession() as s, s.ws_connect(app_url + PATH + "?ports=81",
                                                          protocols=("v4.channel.k8s.io",)) as ws:
        await ws.receive_bytes()
        await ws.receive_bytes()
        err = await ws.receive_bytes(timeout=5)
        assert err[0] == 1 and b"failed to connect to localhost:81" in err


async def test_websocket_without_ports_is_a_bad_request(app_url: str) -> None:
    async with aiohttp.ClientSession() as s:
        with pytest.raises(aiohttp.WSServerHandshakeError) as e:
            await s.ws_connect(app_url + PATH, protocols=("v4.channel.k8s.io",))
        assert e.value.status == 400


async def test_spdy_tunnelled_in_websocket_messages(app_url: str) -> None:
    codec = FrameCodec()
    async with aiohttp.ClientSession() as s, s.ws_connect(app_url + PATH,
                                                          protocols=("SPDY/3.1+portforward.k8s.io",)) as ws:
        assert ws.protocol == "SPDY/3.1+portforward.k8s.io"
        wire = b"".join(codec.encode(f) for f in (
            SynStream(1, hdr("error", 8080)), SynStream(3, hdr("data", 8080)),
            DataFrame(3, b"GET /tunnel HTTP/1.0\r\n\r\n")))
        for i in range(0, len(wire), 7):   # message boundaries need not match frame boundaries
            await ws.send_bytes(wire[i:i + 7])
        frames: list[Any] = []
        while not fin(frames, 3):
            frames += codec.feed(await ws.receive_bytes(timeout=5))
        assert data_of(frames, 3).endswith(b"GET /tunnel HTTP/1.0")


async def test_spdy_over_an_http_upgrade(app_url: str) -> None:
    host, port = app_url.removeprefix("http://").split(":")
    r, w = await asyncio.open_connection(host, int(port))
    w.write(f"POST {PATH} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
            "X-Stream-Protocol-Version: portforward.k8s.io\r\nContent-Length: 0\r\n\r\n".encode())
    await w.drain()
    head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 101 ")
    assert b"upgrade: spdy/3.1" in head.lower() and b"x-stream-protocol-version: portforward.k8s.io" in head.lower()
    assert b"transfer-encoding" not in head.lower()
    codec = FrameCodec()
    w.write(b"".join(codec.encode(f) for f in (
        SynStream(1, hdr("error", 8080)), SynStream(3, hdr("data", 8080)),
        DataFrame(3, b"GET /upgrade HTTP/1.0\r\n\r\n"))))
    await w.drain()
    frames: list[Any] = []
    while not fin(frames, 3):
        chunk = await asyncio.wait_for(r.read(65536), 5)
        assert chunk, f"connection closed after {frames}"
        frames += codec.feed(chunk)
    assert data_of(frames, 3).endswith(b"GET /upgrade HTTP/1.0")
    w.close()


async def test_a_plain_request_needs_an_upgrade(app_url: str) -> None:
    async with aiohttp.ClientSession() as s, s.post(app_url + PATH) as resp:
        assert resp.status == 400 and "Upgrade request required" in await resp.text()


async def test_spdy_upgrade_with_an_unknown_protocol_is_forbidden(app_url: str) -> None:
    headers = {"Connection": "Upgrade", "Upgrade": "SPDY/3.1", "X-Stream-Protocol-Version": "v9.portforward"}
    async with aiohttp.ClientSession() as s, s.post(app_url + PATH, headers=headers) as resp:
        assert resp.status == 403 and "unable to negotiate protocol" in await resp.text()
