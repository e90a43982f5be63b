"""The Kubernetes REST API (aiohttp): routing, the error boundary, and what serves each path.

Every error leaves as a ``v1 Status`` with kube-apiserver's reason and code — also the router's own
404 and 405 and aiohttp's 413 — never aiohttp's text pages; only a bug answers 500 (logged).
Other modules plug in through the ``Api`` object (``api.connect`` for subresources such as
pods/attach, ``api.computed`` for computed kinds) and ``app[AUTHENTICATOR]`` (requests that did not
come through the root-only Unix socket must authenticate).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from podbay.api import paths, query
from podbay.api.patch import PatchError
from podbay.api.resources import ResourceType
from podbay.api.status import invalid_status, status_object
from podbay.errors import (
    BadRequest,
    MethodNotAllowed,
    NotFound,
    PodbayError,
    StatusError,
    TooManyRequests,
    Unauthorized,
    ValidationError,
)
from podbay.server import codec
from podbay.server.metaroutes import MetaRoutes
from podbay.server.rest import NOT_FOUND, Api

log = logging.getLogger("podbay.server")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Authenticator = Callable[[web.Request], Awaitable[Any]]
AUTHENTICATOR: web.AppKey[Authenticator | None] = web.AppKey("podbay.authenticator")
USER: web.RequestKey[Any] = web.RequestKey("podbay.user")


def json_response(obj: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(obj), status=status, content_type="application/json")


_AIOHTTP_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
                    405: "MethodNotAllowed", 406: "NotAcceptable", 409: "Conflict", 410: "Gone",
                    413: "RequestEntityTooLarge", 415: "UnsupportedMediaType", 422: "Invalid",
                    429: "TooManyRequests", 504: "Timeout"}
_AIOHTTP_MESSAGES = {404: NOT_FOUND, 405: "the server does not allow this method on the requested resource",
                     413: "the request entity is too large"}


def error_response(exc: BaseException) -> web.Response:
    if isinstance(exc, ValidationError):
        body = invalid_status(exc.kind, exc.name, exc.causes)
        return json_response(body, 422)
    if isinstance(exc, StatusError):
        return json_response(status_object(exc.code, exc.reason, str(exc), exc.details), exc.code)
    if isinstance(exc, PatchError):   # api.patch's errors carry their own Status
        return json_response(exc.status(), exc.code)
    if isinstance(exc, web.HTTPException):
        code = exc.status
        reason = _AIOHTTP_REASONS.get(code, "InternalError" if code >= 500 else "BadRequest")
        message = _AIOHTTP_MESSAGES.get(code) or exc.text or exc.reason
        return json_response(status_object(code, reason, message, {} if code in (404, 405) else None), code)
    log.exception("internal error", exc_info=exc)
    return json_response(status_object(500, "InternalError", f"Internal error occurred: {exc}"), 500)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(exc)
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except RecursionError:
        return error_response(StatusError("the request is nested too deeply"))
    except web.RequestPayloadError as exc:   # the body stream's errors, e.g. a Content-Encoding it cannot decode
        message = " ".join(str(exc).split()).removeprefix("400, message: ")
        return error_response(BadRequest(f"the request body could not be read: {message}"))
    except PodbayError as exc:
        return error_response(exc)
    except Exception as exc:
        return error_response(exc)


# kube-apiserver serves with Go's MaxHeaderBytes 1 MiB (secure_serving.go): a request line or header
# that long (a long labelSelector) is served; aiohttp's default (8190 bytes) would refuse it in plain text.
MAX_HEADER_BYTES = 1 << 20
RUNNER_ARGS: dict[str, Any] = {"max_line_size": MAX_HEADER_BYTES, "max_field_size": MAX_HEADER_BYTES}

MAX_IN_FLIGHT = 400   # kube-apiserver's --max-requests-inflight (long-running requests do not count)


def _long_running(request: web.Request) -> bool:
    """Watches, logs -f, exec and other upgrades (kube-apiserver's long-running request check)."""
    watch = request.query.get("watch")
    if (watch is not None and query.bool_param({"watch": [watch]}, "watch")) or "/watch/" in request.path:
        return True
    if request.headers.get("Upgrade"):
        return True
    return request.path.endswith(("/log", "/exec", "/attach", "/portforward", "/proxy"))


def in_flight_middleware(limit: int = MAX_IN_FLIGHT) -> Any:
    """429 TooManyRequests beyond ``limit`` concurrent short requests, as the API server's limiter."""
    state = {"n": 0}

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if _long_running(request):
            return await handler(request)
        if state["n"] >= limit:
            resp = error_response(TooManyRequests("Too many requests, please try again later.",
                                                  {"retryAfterSeconds": 1}))
            resp.headers["Retry-After"] = "1"
            return resp
        state["n"] += 1
        try:
            return await handler(request)
        finally:
            state["n"] -= 1

    return middleware


def _from_socket(request: web.Request) -> bool:
    """Requests on the root-only Unix socket are trusted (the peer is root); TCP ones are not."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return not isinstance(peer, tuple)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if _from_socket(request):
        return await handler(request)
    authenticate = request.app.get(AUTHENTICATOR)
    user = await authenticate(request) if authenticate is not None else None
    if user is None:
        raise Unauthorized("Unauthorized")
    request[USER] = user
    return await handler(request)


def build_app(api: Api, *, stats: Callable[[], Awaitable[dict[str, Any]]] | None = None,
              health: dict[str, Callable[[], bool]] | None = None, max_in_flight: int = MAX_IN_FLIGHT) -> web.Application:
    app = web.Application(middlewares=[errors_middleware, in_flight_middleware(max_in_flight), auth_middleware],
                          client_max_size=codec.MAX_BODY + 1024)
    app[AUTHENTICATOR] = None
    meta = MetaRoutes(api.registry.table, health)
    meta.add_to(app)

    if stats is not None:
        async def stats_summary(_: web.Request) -> web.Response:
            return json_response(await stats())

        app.router.add_get("/stats/summary", stats_summary)

    async def dispatch(request: web.Request) -> web.StreamResponse:
        route = paths.parse(request.path)
        if route is None:
            raise NotFound(NOT_FOUND, {})
        if route.level != "resource":
            if request.method not in ("GET", "HEAD"):
                raise MethodNotAllowed("the server does not allow this method on the requested resource", {})
            return await meta.discovery(request, route)
        return await api.handle(request, route)

    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app


__all__ = ["AUTHENTICATOR", "USER", "Api", "ResourceType", "build_app", "error_response", "json_response"]
