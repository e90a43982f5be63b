"""The real probe transport against servers on 127.0.0.1 (no root): HTTP details, TCP, gRPC health."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from podbay.agent.probe_transport import NetProbeTransport
from podbay.core import probes
from podbay.core.probes import GrpcTarget, HttpTarget, TcpTarget

Handler = Callable[[str, dict[str, str]], tuple[int, dict[str, str], bytes]]


class Server:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.port = 0
        self._server: asyncio.base_events.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = (await reader.readline()).decode()
        headers: dict[str, str] = {}
        while (h := await reader.readline()) not in (b"\r\n", b""):
            k, _, v = h.decode().partition(":")
            headers[k.strip()] = v.strip()
        path = line.split()[1]
        self.requests.append((path, headers))
        code, extra, body = self.handler(path, headers)
        head = f"HTTP/1.1 {code} X\r\nContent-Length: {len(body)}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in extra.items())
        writer.write(head.encode() + b"\r\n" + body)
        await writer.drain()
        writer.close()

    async def __aenter__(self) -> Server:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: Any) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


def target(port: int, path: str = "/healthz", headers: tuple[tuple[str, str], ...] = ()) -> HttpTarget:
    return HttpTarget("http", "127.0.0.1", port, path, headers, probes.USER_AGENT)


async def test_http_success_headers_and_user_agent() -> None:
    async with Server(lambda p, h: (200, {}, b"ok")) as srv:
        out = await NetProbeTransport().http_get(target(srv.port, headers=(("X-Custom", "1"),)), 1.0)
    assert out.result == "success" and out.output == "ok"
    path, headers = srv.requests[0]
    assert path == "/healthz"
    assert headers["User-Agent"] == "kube-probe/1.37" and headers["Accept"] == "*/*"
    assert headers["Host"] == f"127.0.0.1:{srv.port}" and headers["X-Custom"] == "1"
    assert headers["Connection"] == "close" and "Accept-Encoding" not in headers


async def test_http_status_codes() -> None:
    async with Server(lambda p, h: (500, {}, b"boom")) as srv:
        out = await NetProbeTransport().http_get(target(srv.port), 1.0)
    assert (out.result, out.output) == ("failure", "HTTP probe failed with statuscode: 500")
    async with Server(lambda p, h: (200, {}, b"")) as srv:
        assert (await NetProbeTransport().http_get(target(srv.port), 1.0, check_status=False)).result == "success"
    async with Server(lambda p, h: (500, {}, b"")) as srv:   # hooks never check the status
        assert (await NetProbeTransport().http_get(target(srv.port), 1.0, check_status=False)).result == "success"


async def test_same_host_redirect_is_followed_other_host_is_a_warning() -> None:
    def handler(path: str, _h: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if path.startswith("/redirect?loc=%2Fhealthz"):
            return 302, {"Location": "/healthz"}, b""
        if path.startswith("/redirect"):
            return 302, {"Location": "http://0.0.0.0/"}, b'<a href="http://0.0.0.0/">Found</a>.\n\n'
        return 200, {}, b"fine"

    async with Server(handler) as srv:
        out = await NetProbeTransport().http_get(target(srv.port, "/redirect?loc=%2Fhealthz"), 1.0)
        assert out.result == "success" and out.output == "fine"
        out = await NetProbeTransport().http_get(target(srv.port, "/redirect?loc=http%3A%2F%2F0.0.0.0%2F"), 1.0)
    assert out.result == "warning"
    assert out.output == 'Probe terminated redirects, Response body: <a href="http://0.0.0.0/">Found</a>.\n\n'
    assert probes.event_for("liveness", out) == ("ProbeWarning", "Liveness probe warning: " + out.output)


async def test_http_refused_and_timeout_are_failures_in_go_wording() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = await NetProbeTransport().http_get(target(port), 1.0)
    assert out.result == "failure"
    assert out.output == f'Get "http://127.0.0.1:{port}/healthz": dial tcp 127.0.0.1:{port}: connect: connection refused'
    held: list[asyncio.StreamWriter] = []

    async def silent(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        held.append(w)

    hang = await asyncio.start_server(silent, "127.0.0.1", 0)
    try:
        port = hang.sockets[0].getsockname()[1]
        out = await NetProbeTransport().http_get(target(port), 0.2)
    finally:
        for w in held:
            w.close()
        hang.close()
        await hang.wait_closed()
    assert out.result == "failure" and "Client.Timeout exceeded while awaiting headers" in out.output


async def test_tcp() -> None:
    srv = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    try:
        assert (await NetProbeTransport().tcp(TcpTarget("127.0.0.1", port), 1.0)).result == "success"
    finally:
        srv.close()
        await srv.wait_closed()
    out = await NetProbeTransport().tcp(TcpTarget("127.0.0.1", port), 1.0)
    assert out.result == "failure" and out.output == f"dial tcp 127.0.0.1:{port}: connect: connection refused"


async def raw_server(reply: bytes) -> tuple[asyncio.base_events.Server, int]:
    """Answers every connection with ``reply`` verbatim after the request head, then closes."""
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        writer.write(reply)
        await writer.drain()
        writer.close()

    srv = await asyncio.start_server(serve, "127.0.0.1", 0)
    return srv, srv.sockets[0].getsockname()[1]


@pytest.mark.parametrize(("reply", "result", "output"), [
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=1\r\nde\r\n0\r\n\r\n",
     "success", "abcde"),
    (b"HTTP/1.0 204 No Content\r\n\r\n", "success", ""),
    (b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 30000, "success", "x" * probes.MAX_OUTPUT),   # until close, capped
    (b"HTTP/1.1 200 OK\r\nContent-Length: 20000\r\n\r\n" + b"y" * 20000, "success", "y" * probes.MAX_OUTPUT),
    (b"HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy", "failure", "HTTP probe failed with statuscode: 503"),
])
async def test_plain_http_bodies(reply: bytes, result: str, output: str) -> None:
    srv, port = await raw_server(reply)
    try:
        out = await NetProbeTransport().http_get(target(port), 1.0)
    finally:
        srv.close()
        await srv.wait_closed()
    assert (out.result, out.output) == (result, output)


async def test_plain_http_short_or_garbled_answers_are_failures() -> None:
    srv, short_port = await raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")   # closed early
    try:
        short = await NetProbeTransport().http_get(target(short_port), 1.0)
    finally:
        srv.close()
        await srv.wait_closed()
    srv, port = await raw_server(b"SSH-2.0-OpenSSH_9.2\r\n")
    try:
        garbled = await NetProbeTransport().http_get(target(port), 1.0)
    finally:
        srv.close()
        await srv.wait_closed()
    assert short.result == "failure" and short.output.startswith(f'Get "http://127.0.0.1:{short_port}/healthz": ')
    assert garbled.result == "failure" and "malformed HTTP response" in garbled.output


async def test_plain_http_and_tcp_to_a_host_name() -> None:
    async with Server(lambda p, h: (200, {}, b"named")) as srv:
        named = HttpTarget("http", "localhost", srv.port, "/", (), probes.USER_AGENT)
        out = await NetProbeTransport().http_get(named, 1.0)
        tcp = await NetProbeTransport().tcp(TcpTarget("localhost", srv.port), 1.0)
    assert (out.result, out.output) == ("success", "named")
    assert tcp.result == "success"
    assert srv.requests[0][1]["Host"] == f"localhost:{srv.port}"


async def test_plain_http_leaves_no_socket_open() -> None:
    import os

    def fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    async with Server(lambda p, h: (200, {}, b"ok")) as srv:
        await NetProbeTransport().http_get(target(srv.port), 1.0)
        before = fds()
        for _ in range(50):
            assert (await NetProbeTransport().http_get(target(srv.port), 1.0)).result == "success"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            closed = s.getsockname()[1]
        for _ in range(20):
            assert (await NetProbeTransport().http_get(target(closed), 1.0)).result == "failure"
        assert fds() <= before


@pytest.fixture
async def grpc_server() -> AsyncIterator[tuple[int, Any]]:
    import grpc
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc

    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    await servicer.set("down", health_pb2.HealthCheckResponse.NOT_SERVING)
    try:
        yield port, servicer
    finally:
        await server.stop(0)


async def test_grpc_health(grpc_server: tuple[int, Any]) -> None:
    port, _ = grpc_server
    t = NetProbeTransport()
    assert (await t.grpc(GrpcTarget("127.0.0.1", port), 2.0)).output == "service healthy"
    out = await t.grpc(GrpcTarget("127.0.0.1", port, "down"), 2.0)
    assert (out.result, out.output) == ("failure", 'service unhealthy (responded with "NOT_SERVING")')


async def test_grpc_wrong_port_waits_the_full_timeout() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    out = await NetProbeTransport().grpc(GrpcTarget("127.0.0.1", port), 1.0)
    assert loop.time() - t0 >= 0.9
    assert out.output == f'timeout: failed to connect service "127.0.0.1:{port}" within 1s: context deadline exceeded'


async def test_exec_in_capped_process_group_kills_on_timeout_and_ignores_held_pipes() -> None:
    from podbay.agent.containers import run_capped

    loop = asyncio.get_running_loop()
    t0 = loop.time()
    res = await run_capped(["/bin/sh", "-c", "sleep 10 & exit 1"], 5.0, 10240)
    assert res.exit_code == 1 and loop.time() - t0 < 2
    res = await run_capped(["/bin/sh", "-c", "sleep 10"], 0.3, 10240)
    assert res.timed_out and res.exit_code is None
    res = await run_capped(["/bin/sh", "-c", "head -c 11264 /dev/zero; echo err >&2"], 5.0, 10240)
    assert len(res.output) == 10240
