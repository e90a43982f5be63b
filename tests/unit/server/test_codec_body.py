"""A request body that arrives in pieces (as over TLS: one record at a time) is read whole."""

from __future__ import annotations

import asyncio

from aiohttp import web

from podbay.server import codec


async def test_a_body_in_several_pieces_is_read_whole() -> None:
    got: list[bytes] = []

    async def h(request: web.Request) -> web.Response:
        got.append(await codec.read_body(request))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_put("/x", h)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        body = b'{"a": "' + b"x" * 5000 + b'"}'
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"PUT /x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body) + body[:3000])
        await w.drain()
        await asyncio.sleep(0.1)   # the rest comes later, as a second TLS record would
        w.write(body[3000:])
        await w.drain()
        assert (await asyncio.wait_for(r.readuntil(b"\r\n"), 5)).startswith(b"HTTP/1.1 200")
        w.close()
    finally:
        await runner.cleanup()
    assert got == [body]
