"""The non-resource endpoints: ``/version``, ``/healthz`` ``/livez`` ``/readyz`` (``?verbose``),
discovery (``/api``, ``/apis``, group and group-version documents, aggregated v2/v2beta1) and
OpenAPI (``/openapi/v3`` index and documents, ``/openapi/v2``), generated once and served with an
ETag (``If-None-Match`` -> 304)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from podbay.api import discovery, openapi
from podbay.api.negotiate import negotiate
from podbay.api.paths import Route
from podbay.api.resources import ResourceTable
from podbay.api.version import version_info
from podbay.errors import NotFound
from podbay.server import codec

HealthCheck = Callable[[], bool]


@dataclass(frozen=True)
class Document:
    body: bytes
    etag: str


def _document(obj: object) -> Document:
    body = codec.dumps(obj)
    return Document(body, hashlib.sha512(body).hexdigest()[:32].upper())


class OpenApiCache:
    """The documents are generated at most once per table (they take ~0.1 s), off the event loop."""

    def __init__(self, table: ResourceTable) -> None:
        self.table = table
        self._v3: dict[str, Document] | None = None
        self._v2: Document | None = None
        self._lock = asyncio.Lock()

    def _build_v3(self) -> dict[str, Document]:
        return {openapi.v3_path(g, v): _document(openapi.document_v3(self.table, g, v))
                for g, v in openapi.group_versions(self.table)}

    async def v3(self) -> dict[str, Document]:
        async with self._lock:
            if self._v3 is None:
                self._v3 = await asyncio.to_thread(self._build_v3)
            return self._v3

    async def v2(self) -> Document:
        async with self._lock:
            if self._v2 is None:
                self._v2 = await asyncio.to_thread(lambda: _document(openapi.document_v2(self.table)))
            return self._v2


def _serve_document(request: web.Request, doc: Document, immutable: bool = False) -> web.Response:
    etag = f'"{doc.etag}"'
    headers = {"ETag": etag, "Content-Type": "application/json",
               "Cache-Control": "public, immutable" if immutable else "no-cache, private",
               "Vary": "Accept"}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=doc.body, headers=headers)


class MetaRoutes:
    def __init__(self, table: ResourceTable, health: dict[str, HealthCheck] | None = None) -> None:
        self.table = table
        self.openapi = OpenApiCache(table)
        self.health = health or {}

    def add_to(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/version", self.version)
        r.add_get("/version/", self.version)
        for name in ("healthz", "livez", "readyz"):
            r.add_get(f"/{name}", self.healthz)
            r.add_get(f"/{name}/", self.healthz)
            r.add_get(f"/{name}/{{check}}", self.healthz)
        r.add_get("/openapi/v2", self.openapi_v2)
        r.add_get("/openapi/v3", self.openapi_index)
        r.add_get("/openapi/v3/", self.openapi_index)
        r.add_get("/openapi/v3/{path:.+}", self.openapi_v3)

    async def version(self, _: web.Request) -> web.Response:
        return codec.respond(codec.dumps(version_info()))

    async def healthz(self, request: web.Request) -> web.Response:
        which = request.path.strip("/").split("/")[0]
        checks = {"ping": lambda: True, **self.health}
        one = request.match_info.get("check")
        if one is not None:
            fn = checks.get(one)
            if fn is None:
                raise NotFound(NOT_FOUND_TEXT, {})
            ok = fn()
            return web.Response(text="ok" if ok else f"{one} failed", status=200 if ok else 500)
        results = {name: fn() for name, fn in checks.items()}
        healthy = all(results.values())
        if "verbose" in request.query:
            lines = [f"[{'+' if ok else '-'}]{name} {'ok' if ok else 'failed'}" for name, ok in results.items()]
            lines.append(f"{which} check {'passed' if healthy else 'failed'}")
            return web.Response(text="\n".join(lines) + "\n", status=200 if healthy else 500)
        return web.Response(text="ok" if healthy else f"{which} check failed", status=200 if healthy else 500)

    async def discovery(self, request: web.Request, route: Route) -> web.Response:
        accept = request.headers.get("Accept")
        if route.level in ("api", "apis"):
            r = negotiate(accept, target="discovery")
            if r.form == "discovery":
                agg = discovery.aggregated(self.table, core=route.level == "api", version=r.version)
                return codec.respond(codec.dumps(agg), content_type=r.content_type)
            if route.level == "api":
                return codec.respond(codec.dumps(discovery.api_versions()))
            return codec.respond(codec.dumps(discovery.api_group_list(self.table)))
        negotiate(accept, target="plain")
        if route.level == "group":
            found = discovery.api_group(self.table, route.group)
            if found is None:
                raise NotFound(NOT_FOUND_TEXT, {})
            return codec.respond(codec.dumps(found))
        doc = discovery.api_resource_list(self.table, route.group, route.version)
        if doc is None:
            raise NotFound(NOT_FOUND_TEXT, {})
        return codec.respond(codec.dumps(doc))

    async def openapi_index(self, request: web.Request) -> web.Response:
        docs = await self.openapi.v3()
        index = openapi.index_v3({path: d.etag for path, d in docs.items()})
        return codec.respond(codec.dumps(index))

    async def openapi_v3(self, request: web.Request) -> web.Response:
        negotiate(request.headers.get("Accept"), target="plain")
        docs = await self.openapi.v3()
        doc = docs.get(request.match_info["path"].strip("/"))
        if doc is None:
            raise NotFound(NOT_FOUND_TEXT, {})
        return _serve_document(request, doc, immutable=request.query.get("hash") == doc.etag)

    async def openapi_v2(self, request: web.Request) -> web.Response:
        # client-go asks for the protobuf form only; 406 makes it fall back (podbay serves JSON).
        negotiate(request.headers.get("Accept"), target="plain")
        return _serve_document(request, await self.openapi.v2())


NOT_FOUND_TEXT = "the server could not find the requested resource"
