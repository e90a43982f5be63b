"""The ProbeTransport port on the real network: HTTP(S) GET, TCP connect and gRPC health, from the host.

As ``pkg/probe/http``, ``tcp`` and ``grpc``: one connection per attempt with ``SO_LINGER`` 1 s (no
TIME_WAIT pile-up), HTTPS never verified, ``Connection: close``, no compression, at most 10 KiB of
body read, same-host redirects followed (10 at most), the whole exchange bounded by the timeout;
messages in Go's wording. gRPC (grpcio, loaded on first use) checks ``grpc.health.v1.Health``.

Plain HTTP and TCP attempts use a bare non-blocking socket with the loop's ``sock_*`` calls and
``asyncio.timeout`` (no transport, protocol, stream pair or extra task per attempt: 100 pods probed
every second make this the prober's hot path); HTTPS goes through asyncio's TLS streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import ssl
import struct
import urllib.parse
from typing import Any, Protocol

from podbay.core import probes
from podbay.core.probes import GrpcTarget, HttpTarget, ProbeOutcome, TcpTarget

MAX_REDIRECTS = 10
MAX_HEADER_LINE = 1 << 20   # a longer line is cut (and fails to parse) instead of buffered forever
LINGER = struct.pack("ii", 1, 1)
HTTP_FALLBACK = "http: server gave HTTP response to HTTPS client"


def _go_duration(seconds: float) -> str:
    return f"{int(seconds)}s" if float(seconds).is_integer() else f"{seconds}s"


def _insecure_tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _dial_error(host: str, port: int, exc: BaseException) -> str:
    addr = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return f"dial tcp {addr}: i/o timeout"
    if isinstance(exc, OSError) and exc.errno in (errno.ECONNREFUSED,):
        return f"dial tcp {addr}: connect: connection refused"
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return f"dial tcp {addr}: connect: {'no route to host' if exc.errno == errno.EHOSTUNREACH else 'network is unreachable'}"
    return f"dial tcp {addr}: {exc}"


async def _open(host: str, port: int, tls: ssl.SSLContext | None) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(host, port, ssl=tls, server_hostname=host if tls else None)
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER)
    return reader, writer


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(writer.wait_closed(), 1.0)


async def _connect(host: str, port: int) -> socket.socket:
    """A connected non-blocking socket with SO_LINGER set (the caller closes it). A host name is resolved
    off the loop and its addresses tried in order, as Go's dialer does."""
    loop = asyncio.get_running_loop()
    addrs: list[tuple[int, Any]]
    if _is_ip(host):
        addrs = [(socket.AF_INET6 if ":" in host else socket.AF_INET, (host, port))]
    else:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addrs = [(family, addr) for family, _, _, _, addr in infos]
        if not addrs:
            raise OSError(errno.EHOSTUNREACH, f"no address for {host}")
    last: OSError | None = None
    for family, addr in addrs:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER)
            await loop.sock_connect(sock, addr)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
        except BaseException:
            sock.close()
            raise
    assert last is not None
    raise last


def _is_ip(host: str) -> bool:
    for family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            socket.inet_pton(family, host)
            return True
    return False


class _Reader(Protocol):
    async def readline(self) -> bytes: ...
    async def read(self, n: int) -> bytes: ...
    async def readexactly(self, n: int) -> bytes: ...


class _SocketReader:
    """The three reads ``_read_response`` needs, over a bare socket (StreamReader's semantics)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._loop = asyncio.get_running_loop()
        self._buf = bytearray()
        self._eof = False

    async def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = await self._loop.sock_recv(self._sock, 65536)
        if not chunk:
            self._eof = True
            return False
        self._buf += chunk
        return True

    def _take(self, n: int) -> bytes:
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    async def readline(self) -> bytes:
        while (i := self._buf.find(b"\n")) < 0:
            if len(self._buf) > MAX_HEADER_LINE or not await self._fill():
                return self._take(len(self._buf))
        return self._take(i + 1)

    async def read(self, n: int) -> bytes:
        if not self._buf:
            await self._fill()
        return self._take(n)

    async def readexactly(self, n: int) -> bytes:
        while len(self._buf) < n:
            if not await self._fill():
                partial = self._take(len(self._buf))
                raise asyncio.IncompleteReadError(partial, n)
        return self._take(n)


class _Response:
    def __init__(self, code: int, headers: dict[str, str], body: bytes) -> None:
        self.code = code
        self.headers = headers
        self.body = body


async def _read_response(reader: _Reader, limit: int) -> _Response:
    line = await reader.readline()
    parts = line.decode("latin-1").split(None, 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ValueError(f"malformed HTTP response {line[:64]!r}")
    code = int(parts[1])
    headers: dict[str, str] = {}
    while True:
        h = await reader.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        k, _, v = h.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    body = b""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while len(body) < limit:
            size_line = await reader.readline()
            try:
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
            except ValueError:
                break
            if size == 0:
                break
            body += await reader.readexactly(size)
            await reader.readline()
    elif "content-length" in headers and headers["content-length"].isdigit():
        n = min(int(headers["content-length"]), limit)
        body = await reader.readexactly(n) if n else b""
    else:
        while len(body) < limit:
            chunk = await reader.read(limit - len(body))
            if not chunk:
                break
            body += chunk
    return _Response(code, headers, body[:limit])


class NetProbeTransport:
    def __init__(self) -> None:
        self._tls = _insecure_tls()

    # -- HTTP ------------------------------------------------------------------------------------
    async def http_get(self, target: HttpTarget, timeout: float | None, *, check_status: bool = True) -> ProbeOutcome:
        url = _url(target.scheme, target.host, target.port, target.path)
        try:
            async with asyncio.timeout(timeout):
                return await self._http(target, url, check_status)
        except TimeoutError:
            return ProbeOutcome("failure", f'Get "{url}": context deadline exceeded '
                                           "(Client.Timeout exceeded while awaiting headers)")

    async def _http(self, target: HttpTarget, url: str, check_status: bool) -> ProbeOutcome:
        original_host = target.host
        current = target
        for _ in range(MAX_REDIRECTS + 1):
            try:
                resp = await self._request(current)
            except ssl.SSLError as exc:
                text = HTTP_FALLBACK if "WRONG_VERSION_NUMBER" in str(exc) or "record layer" in str(exc) else str(exc)
                return ProbeOutcome("failure", f'Get "{_url(current.scheme, current.host, current.port, current.path)}": '
                                               f"{text}")
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                cur = _url(current.scheme, current.host, current.port, current.path)
                msg = _dial_error(current.host, current.port, exc) if isinstance(exc, OSError) else str(exc)
                return ProbeOutcome("failure", f'Get "{cur}": {msg}')
            location = resp.headers.get("location")
            if 300 <= resp.code < 400 and location:
                nxt = _redirect(current, location)
                if nxt is not None and nxt.host == original_host:
                    current = nxt
                    continue
            return _result(resp, check_status)
        return ProbeOutcome("failure", f'Get "{url}": stopped after {MAX_REDIRECTS} redirects')

    async def _request(self, t: HttpTarget) -> _Response:
        lines = [f"GET {t.path} HTTP/1.1"] + [f"{k}: {v}" for k, v in probes.request_headers(t)]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        if t.scheme != "https":
            sock = await _connect(t.host, t.port)
            try:
                await asyncio.get_running_loop().sock_sendall(sock, request)
                return await _read_response(_SocketReader(sock), probes.MAX_OUTPUT)
            finally:
                sock.close()
        reader, writer = await _open(t.host, t.port, self._tls)
        try:
            writer.write(request)
            await writer.drain()
            return await _read_response(reader, probes.MAX_OUTPUT)
        finally:
            await _close(writer)

    # -- TCP -------------------------------------------------------------------------------------
    async def tcp(self, target: TcpTarget, timeout: float) -> ProbeOutcome:
        try:
            async with asyncio.timeout(timeout):
                sock = await _connect(target.host, target.port)
        except (TimeoutError, OSError) as exc:
            return ProbeOutcome("failure", _dial_error(target.host, target.port, exc))
        sock.close()
        return ProbeOutcome("success")

    # -- gRPC ------------------------------------------------------------------------------------
    async def grpc(self, target: GrpcTarget, timeout: float) -> ProbeOutcome:
        import grpc
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        addr = f"{target.host}:{target.port}"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with grpc.aio.insecure_channel(addr, options=[("grpc.primary_user_agent", probes.USER_AGENT)]) as ch:
            try:
                await asyncio.wait_for(ch.channel_ready(), timeout)
            except TimeoutError:
                return ProbeOutcome("failure", f'timeout: failed to connect service "{addr}" within '
                                               f"{_go_duration(timeout)}: context deadline exceeded")
            stub: Any = health_pb2_grpc.HealthStub(ch)
            try:
                resp = await stub.Check(health_pb2.HealthCheckRequest(service=target.service),
                                        timeout=max(0.001, deadline - loop.time()))
            except grpc.aio.AioRpcError as exc:
                code = exc.code()
                if code == grpc.StatusCode.UNIMPLEMENTED:
                    return ProbeOutcome("failure", "error: this server does not implement the grpc health protocol "
                                                   f"(grpc.health.v1.Health): {exc.details()}")
                if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                    return ProbeOutcome("failure", f"timeout: health rpc did not complete within {_go_duration(timeout)}")
                return ProbeOutcome("failure", f"error: health rpc probe failed: {exc.details() or code}")
            if resp.status != health_pb2.HealthCheckResponse.SERVING:
                name = health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)
                return ProbeOutcome("failure", f'service unhealthy (responded with "{name}")')
            return ProbeOutcome("success", "service healthy")


def _url(scheme: str, host: str, port: int, path: str) -> str:
    h = f"[{host}]" if ":" in host else host
    return f"{scheme}://{h}:{port}{path}"


def _redirect(current: HttpTarget, location: str) -> HttpTarget | None:
    base = _url(current.scheme, current.host, current.port, current.path)
    nxt = urllib.parse.urlsplit(urllib.parse.urljoin(base, location))
    if nxt.scheme not in ("http", "https") or not nxt.hostname:
        return None
    port = nxt.port or (443 if nxt.scheme == "https" else 80)
    path = (nxt.path or "/") + (f"?{nxt.query}" if nxt.query else "")
    headers = tuple(h for h in current.headers if h[0].lower() != "host")
    return HttpTarget(nxt.scheme, nxt.hostname, port, path, headers, current.user_agent)


def _result(resp: _Response, check_status: bool) -> ProbeOutcome:
    body = resp.body.decode("utf-8", "replace")
    if not check_status:
        return ProbeOutcome("success", body)
    if 200 <= resp.code < 300:
        return ProbeOutcome("success", body)
    if 300 <= resp.code < 400:
        return ProbeOutcome("warning", f"Probe terminated redirects, Response body: {body}")
    return ProbeOutcome("failure", f"HTTP probe failed with statuscode: {resp.code}")
