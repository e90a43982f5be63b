"""Watch for every kind: chunked newline-delimited ``WatchEvent``s of one kind only (REVIEW D1).

Semantics of kube-apiserver's watch cache: without a resourceVersion (or with ``0``) the stream
starts with a synthetic ADDED per existing object; from a resourceVersion it replays the kind's
history after it, or ends with an ERROR 410 ``too old resource version`` when that history is gone.
``sendInitialEvents=true`` ends the initial ADDEDs with a BOOKMARK annotated
``k8s.io/initial-events-end``; ``allowWatchBookmarks`` adds periodic BOOKMARKs. Label and field
selectors filter by the state of each version: an object that stops matching is sent as DELETED, one
that starts matching as ADDED. ``as=Table`` streams one-row Tables (column definitions first only).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import Callable
from typing import Any

from aiohttp import web

from podbay.agent.hub import Event, Hub
from podbay.agent.registry import Registry
from podbay.api import meta, tables
from podbay.api.negotiate import Rendering
from podbay.api.query import ListOptions
from podbay.api.resources import ResourceType
from podbay.api.status import status_object
from podbay.server.codec import dumps

BOOKMARK_SECONDS = 60.0
INITIAL_EVENTS_END = "k8s.io/initial-events-end"
DEFAULT_TIMEOUT = 1800.0   # kube-apiserver's --min-request-timeout, randomised up to twice that


class _Stream:
    def __init__(self, resp: web.StreamResponse, rt: ResourceType, registry: Registry, rendering: Rendering,
                 include: str, now: Callable[[], float]) -> None:
        self.resp = resp
        self.rt = rt
        self.registry = registry
        self.rendering = rendering
        self.include = include
        self.now = now
        self.printer = tables.printer(rt.group, rt.kind)
        self.first_table = True

    def _object(self, raw: bytes, parsed: dict[str, Any] | None) -> bytes:
        r = self.rendering
        if r.form == "json" and not self.registry.needs_view(self.rt):
            return raw
        stored = parsed if parsed is not None else json.loads(raw)
        view = self.registry.view(self.rt, stored)
        if r.form == "table":
            body = tables.table(self.printer, [stored], self.now(), include=self.include, version=r.version,
                                columns=self.first_table, views=[view])
            self.first_table = False
            return dumps(body)
        if r.form == "partial":
            return dumps(meta.partial(view, r.version))
        return dumps(view)

    async def send(self, type_: str, raw: bytes, parsed: dict[str, Any] | None = None) -> None:
        await self.resp.write(b'{"type":"' + type_.encode() + b'","object":' + self._object(raw, parsed) + b"}\n")

    async def bookmark(self, rv: int, initial_end: bool = False) -> None:
        md: dict[str, Any] = {"resourceVersion": str(rv)}
        if initial_end:
            md["annotations"] = {INITIAL_EVENTS_END: "true"}
        obj = {"kind": self.rt.kind, "apiVersion": self.rt.api_version, "metadata": md}
        await self.resp.write(b'{"type":"BOOKMARK","object":' + dumps(obj) + b"}\n")

    async def error(self, status: dict[str, Any]) -> None:
        await self.resp.write(b'{"type":"ERROR","object":' + dumps(status) + b"}\n")


async def serve(request: web.Request, registry: Registry, hub: Hub, rt: ResourceType, namespace: str | None,
                opts: ListOptions, rendering: Rendering, include: str, now: Callable[[], float]) -> web.StreamResponse:
    match = registry.matcher(rt, opts.label_selector, opts.field_selector)   # 400 before anything streams
    start_rv = opts.rv
    kind = rt.storage_kind
    ns = namespace if rt.namespaced else None
    sub = hub.subscribe(kind)   # subscribe before reading state: nothing falls between the two
    try:
        initial = opts.send_initial_events is True or start_rv == 0
        replay: list[Event] | None = []
        if initial:
            snap_rv, items = registry.repo.snapshot(kind, ns)
        else:
            replay = hub.since(kind, start_rv)
            snap_rv, items = start_rv, registry.repo.list(kind, ns) if replay is not None else []
        resp = web.StreamResponse(headers={"Content-Type": rendering.content_type, "Cache-Control": "no-cache"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        stream = _Stream(resp, rt, registry, rendering, include, now)
        if replay is None:
            floor = hub.floor(kind)
            await stream.error(status_object(410, "Expired", f"too old resource version: {start_rv} ({floor + 1})"))
            return resp
        visible = {(s.namespace, s.name) for s in items if match(s)}
        last_rv = snap_rv
        if initial:
            for s in items:
                if (s.namespace, s.name) in visible:
                    await stream.send("ADDED", s.raw, s.obj)
            if opts.send_initial_events:
                await stream.bookmark(snap_rv, initial_end=True)
        for ev in replay:
            last_rv = await _deliver(stream, ev, ns, match, visible, last_rv)
        await _follow(stream, sub, hub, ns, match, visible, last_rv, opts)
        with contextlib.suppress(ConnectionResetError):
            await resp.write_eof()
        return resp
    finally:
        hub.unsubscribe(sub)


async def _deliver(stream: _Stream, ev: Event, ns: str | None, match: Callable[[Any], bool],
                   visible: set[tuple[str, str]], last_rv: int) -> int:
    if ev.rv <= last_rv:
        return last_rv
    if ns is not None and ev.namespace != ns:
        return ev.rv
    key = (ev.namespace, ev.name)
    now_matches = match(ev)
    if ev.type == "DELETED":
        if key in visible or now_matches:
            visible.discard(key)
            await stream.send("DELETED", ev.raw, ev.obj)
    elif now_matches:
        # An object that starts matching (or is new) is ADDED for this watch, as the watch cache does.
        type_ = "ADDED" if ev.type == "ADDED" or key not in visible else "MODIFIED"
        visible.add(key)
        await stream.send(type_, ev.raw, ev.obj)
    elif key in visible:
        visible.discard(key)   # it no longer matches the selector: gone for this watch
        await stream.send("DELETED", ev.raw, ev.obj)
    return ev.rv


async def _follow(stream: _Stream, sub: Any, hub: Hub, ns: str | None, match: Callable[[Any], bool],
                  visible: set[tuple[str, str]], last_rv: int, opts: ListOptions) -> None:
    loop = asyncio.get_running_loop()
    timeout = opts.timeout_seconds
    if timeout is None or timeout == 0:
        timeout = int(DEFAULT_TIMEOUT * (1 + random.random()))
    deadline = loop.time() + max(0, timeout)
    next_bookmark = loop.time() + BOOKMARK_SECONDS
    while not sub.overflowed:
        now = loop.time()
        if now >= deadline:
            break
        wait = deadline - now
        if opts.allow_watch_bookmarks:
            wait = min(wait, max(0.0, next_bookmark - now))
        try:
            ev: Event = await asyncio.wait_for(sub.queue.get(), wait)
        except TimeoutError:
            if opts.allow_watch_bookmarks and loop.time() >= next_bookmark:
                next_bookmark = loop.time() + BOOKMARK_SECONDS
                if sub.queue.empty():
                    last_rv = max(last_rv, hub.flushed_rv())
                await stream.bookmark(last_rv)
            continue
        last_rv = await _deliver(stream, ev, ns, match, visible, last_rv)
