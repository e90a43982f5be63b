"""Byte channels for streaming subresources: a WebSocket's binary messages, or an HTTP/1.1 upgrade.

- WebSocketChannel: each binary message is a piece of one byte stream (client-go's
  TunnelingConnection for ``SPDY/3.1+portforward.k8s.io``); pings are answered by aiohttp.
- upgrade_raw(): answers ``101 Switching Protocols`` (``Upgrade: SPDY/3.1``) and takes the connection
  over. aiohttp only switches protocols for WebSocket, so the handler installs its own payload reader
  on the connection before the 101 goes out (the client sends nothing before it reads the 101).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import WSMsgType, web

READ_PAUSE = 1 << 20


class WebSocketChannel:
    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws

    async def read(self) -> bytes:
        while True:
            msg = await self.ws.receive()
            if msg.type == WSMsgType.BINARY:
                if msg.data:
                    return bytes(msg.data)
                continue
            if msg.type == WSMsgType.TEXT:
                if msg.data:
                    return str(msg.data).encode()
                continue
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return b""

    async def write(self, data: bytes) -> None:
        if self.ws.closed:
            raise ConnectionResetError("websocket closed")
        await self.ws.send_bytes(data)

    async def close(self) -> None:
        if not self.ws.closed:
            await self.ws.close()


class _RawReader:
    """What aiohttp's protocol feeds once the connection is ours (the WebSocketReader interface)."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.buf = bytearray()
        self.eof = False
        self.event = asyncio.Event()
        self.paused = False

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.buf += data
        self.event.set()
        if len(self.buf) > READ_PAUSE and not self.paused:
            self.paused = True
            self.transport.pause_reading()
        return False, b""

    def feed_eof(self) -> None:
        self.eof = True
        self.event.set()

    async def read(self) -> bytes:
        while not self.buf and not self.eof:
            self.event.clear()
            await self.event.wait()
        data = bytes(self.buf)
        self.buf.clear()
        if self.paused:
            self.paused = False
            self.transport.resume_reading()
        return data


class RawChannel:
    def __init__(self, request: web.Request, reader: _RawReader) -> None:
        self.request = request
        self.reader = reader
        self.transport = request.transport

    async def read(self) -> bytes:
        return await self.reader.read()

    async def write(self, data: bytes) -> None:
        t = self.transport
        if t is None or t.is_closing():
            raise ConnectionResetError("connection closed")
        t.write(data)
        if t.get_write_buffer_size() > READ_PAUSE:
            await self.request.protocol._drain_helper()   # aiohttp's own writers wait the same way

    async def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


def wants_upgrade(request: web.Request, protocol: str) -> bool:
    conn = {t.strip().lower() for t in request.headers.get("Connection", "").split(",")}
    return "upgrade" in conn and request.headers.get("Upgrade", "").lower() == protocol.lower()


async def upgrade_raw(request: web.Request, upgrade: str,
                      headers: dict[str, str]) -> tuple[RawChannel, web.StreamResponse]:
    """Switch this HTTP/1.1 connection to `upgrade`; the bytes that follow are the channel's."""
    transport = request.transport
    if transport is None:
        raise ConnectionResetError("connection closed")
    reader = _RawReader(transport)  # type: ignore[arg-type]
    proto: Any = request.protocol
    proto.set_parser(reader)
    proto.keep_alive(False)
    resp = web.StreamResponse(status=101, headers={"Connection": "Upgrade", "Upgrade": upgrade, **headers})
    resp.force_close()
    await resp.prepare(request)
    await resp.write(b"")   # the 101 goes out now (aiohttp holds headers until the first write)
    return RawChannel(request, reader), resp
