"""The REST verbs on every served resource: one handler, driven by the resource table.

``GET`` collection (list or watch), ``POST`` (create), ``DELETE`` collection (deletecollection);
``GET`` / ``PUT`` / ``PATCH`` / ``DELETE`` on an object; the ``status`` and ``finalize``
subresources, ``pods/eviction``; connect-style subresources (log, exec, and what other modules add:
attach, portforward, token) through ``Api.connect``; the computed metrics.k8s.io kinds. Query
parameters are validated first (``api.query``), then Accept (406), then the body (415, 413, 400).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from podbay.agent.hub import Hub
from podbay.agent.registry import Registry
from podbay.api import patch, query, tables
from podbay.api.negotiate import body_format, negotiate
from podbay.api.patchtypes import APPLY_PATCH
from podbay.api.paths import Route
from podbay.api.resources import ResourceType
from podbay.errors import BadRequest, Expired, MethodNotAllowed, NotFound
from podbay.server import codec
from podbay.server import watch as watch_api
from podbay.server.pages import Pages
from podbay.store.repository import stored_item

ConnectHandler = Callable[[web.Request, ResourceType, Route], Awaitable[web.StreamResponse]]
ComputedLister = Callable[[ResourceType, str | None, str | None], Awaitable[list[dict[str, Any]]]]
INCLUDE_OBJECT = ("None", "Metadata", "Object")
THREAD_BODY_BYTES = 64 * 1024   # decode and check bigger bodies off the event loop
THREAD_LIST_ITEMS = 500         # print or convert longer lists off the event loop
NOT_FOUND = "the server could not find the requested resource"


def not_found() -> NotFound:
    return NotFound(NOT_FOUND, {})


def not_allowed(rt: ResourceType, name: str = "") -> MethodNotAllowed:
    details: dict[str, Any] = {"kind": rt.plural}
    if name:
        details["name"] = name
    if rt.group:
        details["group"] = rt.group
    return MethodNotAllowed("the server does not allow this method on the requested resource", details)


def _query(request: web.Request) -> dict[str, list[str]]:
    q: dict[str, list[str]] = {}
    for k, v in request.query.items():
        q.setdefault(k, []).append(v)
    return q


def _include(q: dict[str, list[str]]) -> str:
    value = (q.get("includeObject") or ["Metadata"])[0] or "Metadata"
    if value not in INCLUDE_OBJECT:
        raise BadRequest(f'includeObject: Unsupported value: "{value}": supported values: "None", "Metadata", '
                         '"Object"')
    return value


class Api:
    def __init__(self, registry: Registry, hub: Hub, *, clock: Callable[[], float] = time.time,
                 pages: Pages | None = None) -> None:
        self.registry = registry
        self.hub = hub
        self.clock = clock
        self.pages = pages or Pages()
        # (group, plural, subresource) -> handler: log, exec, attach, portforward, token; a computed
        # kind served by its own handler has the subresource "".
        self.connect: dict[tuple[str, str, str], ConnectHandler] = {}
        self.computed: dict[tuple[str, str], ComputedLister] = {}   # (group, plural) -> lister

    # --- dispatch -------------------------------------------------------------------------------------
    async def handle(self, request: web.Request, route: Route) -> web.StreamResponse:
        rt = self.registry.table.by_path(route.group, route.version, route.plural)
        if rt is None:
            raise not_found()
        if (route.namespace is not None and not rt.namespaced) or (rt.namespaced and route.namespace is None
                                                                   and route.name):
            raise not_found()
        ns = route.namespace
        method = request.method
        if route.sub:
            return await self._subresource(request, rt, route)
        if not rt.stored:
            handler = self.connect.get((rt.group, rt.plural, ""))
            if handler is not None:   # a computed kind with its own verbs (TokenReview: create)
                return await handler(request, rt, route)
            return await self._computed(request, rt, route)
        if route.watch and method != "GET":
            raise not_allowed(rt, route.name)
        if route.name:
            if route.watch:
                return await self._list(request, rt, ns, name=route.name, watch_path=True)
            if method == "GET":
                return await self._get(request, rt, ns or "", route.name)
            if method == "PUT":
                return await self._update(request, rt, ns or "", route.name, "")
            if method == "PATCH":
                return await self._patch(request, rt, ns or "", route.name, "")
            if method == "DELETE":
                return await self._delete(request, rt, ns or "", route.name)
            raise not_allowed(rt, route.name)
        if method == "GET":
            return await self._list(request, rt, ns, watch_path=route.watch)
        if method == "POST":
            if ns is None and rt.namespaced:
                raise not_allowed(rt)
            return await self._create(request, rt, ns or "")
        if method == "DELETE" and rt.allows("deletecollection"):
            return await self._delete_collection(request, rt, ns)
        raise not_allowed(rt)

    async def _subresource(self, request: web.Request, rt: ResourceType, route: Route) -> web.StreamResponse:
        sub = rt.subresource(route.sub)
        if sub is None or not route.name:
            raise not_found()
        handler = self.connect.get((rt.group, rt.plural, route.sub))
        if handler is not None:
            return await handler(request, rt, route)
        ns, name, method = route.namespace or "", route.name, request.method
        if route.sub in ("status", "finalize"):
            if method == "GET" and "get" in sub.verbs:
                return await self._get(request, rt, ns, name)
            if method == "PUT" and "update" in sub.verbs:
                return await self._update(request, rt, ns, name, route.sub)
            if method == "PATCH" and "patch" in sub.verbs:
                return await self._patch(request, rt, ns, name, route.sub)
        elif route.sub == "eviction" and method == "POST":
            return await self._evict(request, rt, ns, name)
        raise not_allowed(rt, name)

    # --- reads ----------------------------------------------------------------------------------------
    async def _get(self, request: web.Request, rt: ResourceType, ns: str, name: str) -> web.StreamResponse:
        q = _query(request)
        query.get_options(q)
        r = negotiate(request.headers.get("Accept"), target="object")
        include = _include(q)
        stored = self.registry.get_stored(rt, ns, name)
        if r.form == "json" and not self.registry.needs_view(rt):
            return codec.respond(stored.raw)
        view = self.registry.view(rt, stored.copy())
        body, ctype = codec.render_object(view, r, printer=tables.printer(rt.group, rt.kind), now=self.clock(),
                                          include=include, stored=stored.obj)
        return codec.respond(body, content_type=ctype)

    async def _list(self, request: web.Request, rt: ResourceType, ns: str | None, *, name: str = "",
                    watch_path: bool = False) -> web.StreamResponse:
        q = _query(request)
        if name:   # /watch/.../{name}: a watch of one object
            q["fieldSelector"] = [",".join(x for x in [f"metadata.name={name}", *(q.get("fieldSelector") or [])]
                                           if x)]
        opts = query.list_options(q, watch_path=watch_path)
        include = _include(q)
        if opts.watch:
            if not rt.allows("watch"):
                raise not_allowed(rt)
            r = negotiate(request.headers.get("Accept"), target="watch")
            return await watch_api.serve(request, self.registry, self.hub, rt, ns, opts, r, include, self.clock)
        if not rt.allows("list"):
            raise not_allowed(rt)
        r = negotiate(request.headers.get("Accept"), target="list")
        rv, items = self.registry.list(rt, ns, opts.label_selector, opts.field_selector)
        if opts.resource_version_match == query.EXACT and opts.rv != rv:
            raise Expired(f"too old resource version: {opts.rv} ({rv})")
        page, rv, cont, remaining = self.pages.page(items, rv, opts.limit, opts.continue_token)

        def render() -> tuple[bytes, str]:
            views = [self.registry.view(rt, s.copy()) for s in page] if self.registry.needs_view(rt) else None
            return codec.render_list(rt.list_kind, rt.api_version, page, views, rv, cont, r,
                                     printer=tables.printer(rt.group, rt.kind), now=self.clock(),
                                     include=include, remaining=remaining or None)

        # Joining stored bodies is cheap; printing or converting thousands of objects is not.
        heavy = len(page) > THREAD_LIST_ITEMS and (r.form != "json" or self.registry.needs_view(rt))
        body, ctype = await asyncio.to_thread(render) if heavy else render()
        return codec.respond(body, content_type=ctype)

    # --- writes ---------------------------------------------------------------------------------------
    async def _body(self, request: web.Request, *, patch: bool = False) -> tuple[str, bytes]:
        media = body_format(request.headers.get("Content-Type"), patch=patch)
        return media, await codec.read_body(request)

    async def _run(self, size: int, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        if size > THREAD_BODY_BYTES:
            return await asyncio.to_thread(fn, *args, **kw)
        return fn(*args, **kw)

    @staticmethod
    def _manager(request: web.Request, opts: query.WriteOptions) -> query.WriteOptions:
        """managerOrUserAgent: without a fieldManager the User-Agent names the manager."""
        opts.field_manager = patch.default_manager(opts.field_manager or None, request.headers.get("User-Agent"))
        return opts

    def _respond_object(self, request: web.Request, rt: ResourceType, obj: dict[str, Any], status: int,
                        warnings: list[str]) -> web.Response:
        r = negotiate(request.headers.get("Accept"), target="object")
        body, ctype = codec.render_object(obj, r, printer=tables.printer(rt.group, rt.kind), now=self.clock(),
                                          include=_include(_query(request)))
        return codec.respond(body, status, ctype, warnings)

    def _decode_body(self, media: str, data: bytes) -> Any:
        body = codec.decode(data, media)
        if body is None:
            raise BadRequest("the body of the request was empty")
        return body

    async def _create(self, request: web.Request, rt: ResourceType, ns: str) -> web.StreamResponse:
        if not rt.allows("create"):
            raise not_allowed(rt)
        opts = self._manager(request, query.write_options(_query(request), "create"))
        negotiate(request.headers.get("Accept"), target="object")
        media, data = await self._body(request)

        def run() -> dict[str, Any]:
            return self.registry.create(rt, ns, self._decode_body(media, data), opts)

        obj = await self._run(len(data), run)
        return self._respond_object(request, rt, obj, 201, opts.warnings)

    async def _update(self, request: web.Request, rt: ResourceType, ns: str, name: str,
                      sub: str) -> web.StreamResponse:
        if not sub and not rt.allows("update"):
            raise not_allowed(rt, name)
        opts = self._manager(request, query.write_options(_query(request), "update"))
        negotiate(request.headers.get("Accept"), target="object")
        media, data = await self._body(request)

        def run() -> tuple[dict[str, Any], bool]:
            return self.registry.update(rt, ns, name, self._decode_body(media, data), opts, subresource=sub)

        obj, created = await self._run(len(data), run)
        return self._respond_object(request, rt, obj, 201 if created else 200, opts.warnings)

    async def _patch(self, request: web.Request, rt: ResourceType, ns: str, name: str,
                     sub: str) -> web.StreamResponse:
        if not sub and not rt.allows("patch"):
            raise not_allowed(rt, name)
        media, data = await self._body(request, patch=True)
        opts = query.write_options(_query(request), "patch", apply_patch=media == APPLY_PATCH)
        if media != APPLY_PATCH:
            opts = self._manager(request, opts)
        negotiate(request.headers.get("Accept"), target="object")
        if not data.strip():
            raise BadRequest("the body of the request was empty")
        obj, created = await self._run(len(data), self.registry.patch, rt, ns, name, media, data, opts,
                                       subresource=sub)
        return self._respond_object(request, rt, obj, 201 if created else 200, opts.warnings)

    async def _delete_body(self, request: web.Request, rt: ResourceType, q: dict[str, list[str]]) -> query.DeleteOptions:
        body: Any = None
        if request.can_read_body:
            media, data = await self._body(request)
            body = codec.decode(data, media)
        if body is not None:
            body = self.registry.decode(rt, body, query.WriteOptions(field_validation="Ignore"),
                                        schema_kind="DeleteOptions")
        return query.delete_options(q, body)

    async def _delete(self, request: web.Request, rt: ResourceType, ns: str, name: str) -> web.StreamResponse:
        if not rt.allows("delete"):
            raise not_allowed(rt, name)
        q = _query(request)
        opts = await self._delete_body(request, rt, q)
        negotiate(request.headers.get("Accept"), target="object")
        obj, code = self.registry.delete(rt, ns, name, opts)
        if obj.get("kind") == "Status":
            return codec.respond(codec.dumps(obj), code, warnings=opts.warnings)
        return self._respond_object(request, rt, obj, code, opts.warnings)

    async def _delete_collection(self, request: web.Request, rt: ResourceType, ns: str | None) -> web.StreamResponse:
        q = _query(request)
        lopts = query.list_options(q)
        opts = await self._delete_body(request, rt, q)
        result = self.registry.delete_collection(rt, ns, lopts.label_selector, lopts.field_selector, opts)
        return codec.respond(codec.dumps(result), warnings=list(dict.fromkeys(opts.warnings)))

    async def _evict(self, request: web.Request, rt: ResourceType, ns: str, name: str) -> web.StreamResponse:
        opts = query.write_options(_query(request), "create")
        media, data = await self._body(request)
        result = self.registry.evict(rt, ns, name, self._decode_body(media, data), opts)
        return codec.respond(codec.dumps(result), 201, warnings=opts.warnings)

    # --- computed kinds (metrics.k8s.io) -----------------------------------------------------------
    async def _computed(self, request: web.Request, rt: ResourceType, route: Route) -> web.StreamResponse:
        lister = self.computed.get((rt.group, rt.plural))
        if lister is None:
            raise not_found()
        if request.method != "GET":
            raise not_allowed(rt, route.name)
        q = _query(request)
        opts = query.list_options(q)
        if opts.watch:
            raise not_allowed(rt)
        items = await lister(rt, route.namespace, route.name or None)
        match = self.registry.matcher(rt, opts.label_selector, opts.field_selector)
        stored = [stored_item(rt.kind, (o["metadata"].get("namespace") or ""), o["metadata"]["name"], 0,
                          codec.dumps(o), o) for o in items]
        if route.name:
            if not stored:
                raise self.registry.not_found(rt, route.name)
            r = negotiate(request.headers.get("Accept"), target="object")
            body, ctype = codec.render_object(items[0], r, printer=tables.printer(rt.group, rt.kind),
                                              now=self.clock(), include=_include(q))
            return codec.respond(body, content_type=ctype)
        page = [s for s in stored if match(s)]
        r = negotiate(request.headers.get("Accept"), target="list")
        body, ctype = codec.render_list(rt.list_kind, rt.api_version, page, None, self.registry.repo.current_rv(),
                                        "", r, printer=tables.printer(rt.group, rt.kind), now=self.clock(),
                                        include=_include(q))
        return codec.respond(body, content_type=ctype)
