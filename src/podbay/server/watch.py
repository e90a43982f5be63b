"""List and watch pods: JSON list, or chunked newline-delimited watch events."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import web

from podbay.agent.hub import Event
from podbay.agent.pods import PodService
from podbay.core.selectors import field_selector, label_selector


def _truthy(v: str | None) -> bool:
    return (v or "").lower() in ("1", "t", "true")


async def list_or_watch(request: web.Request, pods: PodService, ns: str | None) -> web.StreamResponse:
    q = request.query
    try:
        by_label = label_selector(q.get("labelSelector", ""))
        by_field = field_selector(q.get("fieldSelector", ""))
    except ValueError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc

    def match(obj: dict[str, Any]) -> bool:
        if ns is not None and obj["metadata"].get("namespace") != ns:
            return False
        return by_label(obj) and by_field(obj)

    if not _truthy(q.get("watch")):
        items = [p for p in pods.list(ns) if match(p)]
        body = {"kind": "PodList", "apiVersion": "v1",
                "metadata": {"resourceVersion": str(pods.deps.store.current_rv())}, "items": items}
        return web.Response(text=json.dumps(body), content_type="application/json")
    if q.get("sendInitialEvents"):
        raise web.HTTPBadRequest(text="sendInitialEvents is not supported by podbay")
    return await _watch(request, pods, ns, match)


async def _watch(request: web.Request, pods: PodService, ns: str | None, match: Any) -> web.StreamResponse:
    hub = pods.deps.hub
    queue = hub.subscribe()   # subscribe before reading state: nothing falls between the two
    try:
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        rv_text = request.query.get("resourceVersion", "")
        last_rv = 0
        if rv_text in ("", "0"):
            for pod in pods.list(ns):
                if match(pod):
                    last_rv = max(last_rv, int(pod["metadata"].get("resourceVersion", 0)))
                    await _send(resp, "ADDED", pod)
            last_rv = max(last_rv, pods.deps.store.current_rv())
        else:
            last_rv = int(rv_text)
            replay = hub.since(last_rv, lambda e: match(e.obj))
            if replay is None:
                await _send(resp, "ERROR", {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                            "message": "too old resource version", "reason": "Expired",
                                            "code": 410})
                return resp
            for ev in replay:
                await _send(resp, ev.type, ev.obj)
                last_rv = max(last_rv, ev.rv)
        timeout = float(request.query.get("timeoutSeconds", "1800"))
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                break
            try:
                event: Event = await asyncio.wait_for(queue.get(), left)
            except TimeoutError:
                break
            if event.rv <= last_rv or not match(event.obj):
                continue
            last_rv = event.rv
            await _send(resp, event.type, event.obj)
        with contextlib.suppress(ConnectionResetError):
            await resp.write_eof()
        return resp
    finally:
        hub.unsubscribe(queue)


async def _send(resp: web.StreamResponse, type_: str, obj: dict[str, Any]) -> None:
    await resp.write(json.dumps({"type": type_, "object": obj}).encode() + b"\n")
