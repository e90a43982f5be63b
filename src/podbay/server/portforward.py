"""pods/{name}/portforward: what kubectl and the Python client send, forwarded to localhost in the pod.

Three transports, as kube-apiserver and the kubelet accept them (kubelet pkg/kubelet/cri/streaming/
portforward, apiserver util/proxy tunneling):
- WebSocket ``GET`` with subprotocol ``SPDY/3.1+portforward.k8s.io`` (kubectl >= 1.31): the binary
  messages carry a SPDY/3.1 session;
- ``POST`` with ``Upgrade: SPDY/3.1`` and ``X-Stream-Protocol-Version: portforward.k8s.io``
  (kubectl <= 1.30, and the fallback of newer ones): the same session on the connection itself;
- WebSocket ``GET ?ports=P[,Q]`` with ``v4.channel.k8s.io`` (or its base64 variant, or none): per
  port a data channel 2i and an error channel 2i+1, each opened by a frame carrying the port as
  2 bytes little endian (the Python client).

On SPDY every forwarded connection is a pair of streams (``streamType`` error and data) sharing
``port`` and ``requestID`` headers; the pair is forwarded once both arrived (httpStreamHandler).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import WSMsgType, web

from podbay.errors import BadRequest, Forbidden, NotFound
from podbay.server import spdy, upgrade

log = logging.getLogger("podbay.portforward")
V1_NAME = "portforward.k8s.io"
TUNNEL_PROTOCOL = "SPDY/3.1+" + V1_NAME
WS_PROTOCOLS = ("v4.channel.k8s.io", "v4.base64.channel.k8s.io")
STREAM_CREATION_TIMEOUT = 30.0       # kubelet streamCreationTimeout
CHUNK = 32 * 1024


class Dialer(Protocol):
    async def __call__(self, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]: ...


@dataclass(frozen=True)
class Target:
    """The pod a request forwards into: its names for messages and a dialer into its network."""

    name: str
    uid: str
    dial: Callable[[int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


def _forward_error(t: Target, port: int, exc: BaseException) -> str:
    """kubelet's message wrapping the runtime's (Go's dial error words)."""
    detail = str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        detail = f"dial tcp4 127.0.0.1:{port}: connect: {exc.strerror.lower()}"
    return (f"error forwarding port {port} to pod {t.name}, uid {t.uid}: failed to connect to localhost:{port} "
            f"inside namespace \"{t.name}\": {detail}")


# --- the SPDY stream pairs -------------------------------------------------------------------------

def validate_stream(headers: spdy.Headers) -> str | None:
    """httpStreamReceived: a port header (1..65535) and a known streamType, or the reason to refuse."""
    port = (headers.get("port") or [""])[0]
    if not port:
        return '"port" header is required'
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        return f"unable to parse {port!r} as a port"
    if int(port) < 1:
        return f'port "{port}" must be > 0'
    st = (headers.get("streamtype") or [""])[0]
    if not st:
        return '"streamType" header is required'
    if st not in ("error", "data"):
        return f'invalid stream type "{st}"'
    return None


def request_id(stream_id: int, headers: spdy.Headers) -> str:
    """The requestID header, or for clients too old to send one the id derived from the stream id."""
    rid = (headers.get("requestid") or [""])[0]
    if rid:
        return rid
    st = (headers.get("streamtype") or [""])[0]
    return str(stream_id if st == "error" else stream_id - 2)


@dataclass
class StreamPair:
    request_id: str
    data: spdy.SpdyStream | None = None
    error: spdy.SpdyStream | None = None
    complete: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, stream: spdy.SpdyStream) -> str | None:
        """Add a stream; an error message when its type is already taken."""
        kind = stream.header("streamtype")
        if kind == "error":
            if self.error is not None:
                return "error stream already assigned"
            self.error = stream
        else:
            if self.data is not None:
                return "data stream already assigned"
            self.data = stream
        if self.data is not None and self.error is not None:
            self.complete.set()
        return None


class SpdyPortForward:
    """One SPDY connection: pairs streams by requestID and forwards each complete pair."""

    def __init__(self, target: Target, timeout: float = STREAM_CREATION_TIMEOUT) -> None:
        self.target = target
        self.timeout = timeout
        self.pairs: dict[str, StreamPair] = {}

    def accept(self, stream: spdy.SpdyStream) -> str | None:
        reason = validate_stream(stream.headers)
        if reason is not None:
            log.info("port-forward stream refused: %s", reason)
        return reason

    async def handle(self, stream: spdy.SpdyStream) -> None:
        rid = request_id(stream.id, stream.headers)
        pair = self.pairs.setdefault(rid, StreamPair(rid))
        problem = pair.add(stream)
        if problem is not None:
            msg = f"error processing stream for request {rid}: {problem}"
            if pair.error is not None:
                await pair.error.write(msg.encode())
            return
        if pair.complete.is_set():
            self.pairs.pop(rid, None)
            await forward_pair(self.target, pair)
            return
        try:
            await asyncio.wait_for(pair.complete.wait(), self.timeout)
        except TimeoutError:
            self.pairs.pop(rid, None)
            if pair.error is not None:
                await pair.error.write(f"timed out waiting for streams for request {rid}".encode())
                await pair.error.close()


async def forward_pair(t: Target, pair: StreamPair) -> None:
    assert pair.data is not None and pair.error is not None
    data, err = pair.data, pair.error
    port = int(data.header("port"))
    try:
        await forward(t, port, data.read, data.write, data.close, lambda: data.was_reset)
    except OSError as exc:
        await err.write(_forward_error(t, port, exc).encode())
    finally:
        await data.close()
        await err.close()
        data.session.forget(data)
        err.session.forget(err)


async def forward(t: Target, port: int, read: Callable[[], Awaitable[bytes]],
                  write: Callable[[bytes], Awaitable[None]], close: Callable[[], Awaitable[None]],
                  was_reset: Callable[[], bool]) -> None:
    """Copy both ways between the client stream and localhost:port in the pod until the pod side ends
    (or the client resets): the client's half-close shuts our write side, like io.Copy + CloseWrite."""
    reader, writer = await t.dial(port)

    async def up() -> None:
        try:
            while chunk := await read():
                writer.write(chunk)
                await writer.drain()
            if not was_reset() and writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, OSError):
            pass

    async def down() -> None:
        try:
            while chunk := await reader.read(CHUNK):
                await write(chunk)
        except (ConnectionError, OSError):
            pass
        await close()

    up_task = asyncio.create_task(up())
    down_task = asyncio.create_task(down())
    try:
        done, _ = await asyncio.wait({up_task, down_task}, return_when=asyncio.FIRST_COMPLETED)
        if down_task not in done and not was_reset():
            await down_task   # the client half-closed: the pod may still answer
    finally:
        for task in (up_task, down_task):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


# --- WebSocket channels (v4.channel.k8s.io) --------------------------------------------------------

def parse_ports(values: list[str]) -> list[int]:
    """V4Options: `ports` repeated and/or comma-separated; ValueError with kubelet's messages."""
    if not values:
        raise ValueError('query parameter "port" is required')
    ports: list[int] = []
    for text in values:
        if not text:
            raise ValueError('query parameter "port" cannot be empty')
        for p in text.split(","):
            if not p.isdigit() or int(p) > 65535:
                raise ValueError(f"unable to parse {text!r} as a port")
            if int(p) < 1:
                raise ValueError(f'port "{text}" must be > 0')
            ports.append(int(p))
    return ports


class ChannelCodec:
    """wsstream framing: binary = channel byte + payload; base64 = ASCII digit + base64 text."""

    def __init__(self, base64_text: bool) -> None:
        self.base64 = base64_text

    def encode(self, channel: int, payload: bytes) -> tuple[bool, bytes | str]:
        if self.base64:
            return False, chr(ord("0") + channel) + base64.b64encode(payload).decode()
        return True, bytes([channel]) + payload

    def decode(self, msg: bytes | str) -> tuple[int, bytes] | None:
        if isinstance(msg, str):
            if not msg:
                return None
            if self.base64:
                try:
                    return ord(msg[0]) - ord("0"), base64.b64decode(msg[1:])
                except ValueError:
                    return None
            msg = msg.encode()
        if not msg:
            return None
        return msg[0], bytes(msg[1:])


async def websocket_portforward(ws: web.WebSocketResponse, t: Target, ports: list[int]) -> None:
    codec = ChannelCodec(ws.ws_protocol == "v4.base64.channel.k8s.io")
    lock = asyncio.Lock()

    async def send(channel: int, payload: bytes) -> None:
        binary, data = codec.encode(channel, payload)
        async with lock:
            if ws.closed:
                raise ConnectionResetError("websocket closed")
            if binary:
                await ws.send_bytes(data)  # type: ignore[arg-type]
            else:
                await ws.send_str(data)  # type: ignore[arg-type]

    inboxes: list[asyncio.Queue[bytes]] = [asyncio.Queue() for _ in ports]
    for i, port in enumerate(ports):
        prefix = struct.pack("<H", port)
        await send(2 * i, prefix)
        await send(2 * i + 1, prefix)

    async def one(i: int, port: int) -> None:
        async def read() -> bytes:
            return await inboxes[i].get()

        async def write(data: bytes) -> None:
            await send(2 * i, data)

        async def close() -> None:
            return None   # a wsstream channel has no close signal of its own

        try:
            await forward(t, port, read, write, close, lambda: ws.closed)
        except OSError as exc:
            with contextlib.suppress(ConnectionError):
                await send(2 * i + 1, _forward_error(t, port, exc).encode())

    async def feed() -> None:
        async for msg in ws:
            if msg.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
                continue
            decoded = codec.decode(msg.data)
            if decoded is None:
                continue
            channel, payload = decoded
            if channel % 2 == 0 and channel // 2 < len(ports) and payload:
                inboxes[channel // 2].put_nowait(payload)
        for q in inboxes:   # the client went away: every forward's upload ends
            q.put_nowait(b"")

    feeder = asyncio.create_task(feed())
    try:
        await asyncio.gather(*(one(i, p) for i, p in enumerate(ports)))
    finally:
        feeder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await feeder


# --- the handler -----------------------------------------------------------------------------------

def _offered(request: web.Request) -> list[str]:
    return [p.strip() for h in request.headers.getall("Sec-WebSocket-Protocol", []) for p in h.split(",")
            if p.strip()]


async def handle(request: web.Request, namespace: str, name: str,
                 target_of: Callable[[str, str], Target]) -> web.StreamResponse:
    """GET and POST …/namespaces/{namespace}/pods/{name}/portforward."""
    target = target_of(namespace, name)   # NotFound -> 404
    is_ws = request.headers.get("Upgrade", "").lower() == "websocket"
    if is_ws:
        if TUNNEL_PROTOCOL in _offered(request):
            ws = web.WebSocketResponse(protocols=(TUNNEL_PROTOCOL,), autoping=True, heartbeat=None,
                                       max_msg_size=0, compress=False)
            await ws.prepare(request)
            await _run_spdy(upgrade.WebSocketChannel(ws), target)
            return ws
        try:
            ports = parse_ports(request.query.getall("ports", []))
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
        ws = web.WebSocketResponse(protocols=WS_PROTOCOLS, autoping=True, heartbeat=None, max_msg_size=0,
                                   compress=False)
        await ws.prepare(request)
        try:
            await websocket_portforward(ws, target, ports)
        finally:
            await ws.close()
        return ws
    if upgrade.wants_upgrade(request, "SPDY/3.1"):
        offered = [p.strip() for h in request.headers.getall("X-Stream-Protocol-Version", []) for p in h.split(",")]
        offered = [p for p in offered if p]
        if offered and V1_NAME not in offered:
            raise Forbidden(f"unable to upgrade: unable to negotiate protocol: client supports {offered}, "
                            f"server accepts {[V1_NAME]}")
        channel, resp = await upgrade.upgrade_raw(request, "SPDY/3.1", {"X-Stream-Protocol-Version": V1_NAME})
        await _run_spdy(channel, target)
        return resp
    raise BadRequest("Upgrade request required")


async def _run_spdy(channel: spdy.ByteChannel, target: Target) -> None:
    pf = SpdyPortForward(target)
    session = spdy.SpdySession(channel, pf.accept, pf.handle)
    await session.run()


def target_factory(lookup_pod: Callable[[str, str], dict[str, Any]], netns_of: Callable[[str], str | None],
                   connect: Callable[[str, int], Any]) -> Callable[[str, str], Target]:
    """Build Targets from the pod store and the pinned namespaces; `connect(netns, port)` is blocking."""

    def target_of(ns: str, name: str) -> Target:
        pod = lookup_pod(ns, name)
        uid = str(pod["metadata"]["uid"])

        async def dial(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
            netns = netns_of(uid)
            if netns is None:
                raise OSError(2, "the pod's network namespace does not exist (is the pod running?)")
            sock = await asyncio.to_thread(connect, netns, port)
            return await asyncio.open_connection(sock=sock)

        return Target(name, uid, dial)

    return target_of


__all__ = ["NotFound", "Target", "handle", "target_factory"]
