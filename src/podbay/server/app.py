"""The Kubernetes-shaped REST API on a Unix socket (aiohttp). Errors leave as Status objects."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from podbay import __version__
from podbay.agent.objects import KINDS, ObjectService
from podbay.agent.pods import PodService
from podbay.agent.stats import summary
from podbay.api.status import invalid_status, status_object
from podbay.core.selectors import field_selector, label_selector
from podbay.errors import (
    AlreadyExists,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    NotSupported,
    PermanentError,
    PodbayError,
    ValidationError,
)
from podbay.server import exec as exec_api
from podbay.server import logs as logs_api
from podbay.server.watch import list_or_watch

log = logging.getLogger("podbay.server")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(obj: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(obj), status=status, content_type="application/json")


def error_response(exc: Exception) -> web.Response:
    if isinstance(exc, ValidationError):
        return json_response(invalid_status(exc.kind, exc.name, exc.causes), 422)  # type: ignore[arg-type]
    if isinstance(exc, NotFound):
        return json_response(status_object(404, "NotFound", str(exc)), 404)
    if isinstance(exc, AlreadyExists):
        return json_response(status_object(409, "AlreadyExists", str(exc)), 409)
    if isinstance(exc, Conflict):
        return json_response(status_object(409, "Conflict", str(exc)), 409)
    if isinstance(exc, Forbidden):   # access: admission refusals (ServiceAccount)
        return json_response(status_object(403, "Forbidden", str(exc)), 403)
    if isinstance(exc, BadRequest):  # access: TokenRequest/TokenReview
        return json_response(status_object(400, "BadRequest", str(exc)), 400)
    if isinstance(exc, NotSupported | PermanentError):
        return json_response(status_object(422, "Invalid", str(exc)), 422)
    if isinstance(exc, web.HTTPException):
        return json_response(status_object(exc.status, exc.reason, exc.text or exc.reason), exc.status)
    log.exception("internal error", exc_info=exc)
    return json_response(status_object(500, "InternalError", f"Internal error occurred: {exc}"), 500)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except (PodbayError, web.HTTPException) as exc:
        if isinstance(exc, web.HTTPException) and exc.status < 400:
            raise
        return error_response(exc)
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception as exc:
        return error_response(exc)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="the request body must be a JSON object")
    return data


def build_app(pods: PodService, objects: ObjectService) -> web.Application:
    app = web.Application(middlewares=[errors_middleware], client_max_size=16 * 1024 * 1024)
    r = app.router

    async def version(_: web.Request) -> web.Response:
        return json_response({"major": "1", "minor": "33", "gitVersion": f"v1.33.0-podbay.{__version__}",
                              "platform": "linux/amd64", "podbayVersion": __version__})

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def api_versions(_: web.Request) -> web.Response:
        return json_response({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})

    async def list_pods(request: web.Request) -> web.StreamResponse:
        ns = request.match_info.get("ns")
        return await list_or_watch(request, pods, ns)

    async def create_pod(request: web.Request) -> web.Response:
        pod = pods.create(request.match_info["ns"], await _body(request))
        return json_response(pod, 201)

    async def get_pod(request: web.Request) -> web.Response:
        return json_response(pods.get(request.match_info["ns"], request.match_info["name"]))

    async def put_pod(request: web.Request) -> web.Response:
        return json_response(pods.replace(request.match_info["ns"], request.match_info["name"],
                                          await _body(request)))

    async def delete_pod(request: web.Request) -> web.Response:
        grace: int | None = None
        if "gracePeriodSeconds" in request.query:
            grace = int(request.query["gracePeriodSeconds"])
        if request.can_read_body:
            try:
                opts = await request.json()
                if isinstance(opts, dict) and opts.get("gracePeriodSeconds") is not None:
                    grace = int(opts["gracePeriodSeconds"])
            except ValueError:
                pass
        if grace is not None and grace < 0:
            raise ValidationError("DeleteOptions", "", ["gracePeriodSeconds: Invalid value: "
                                                        f"{grace}: must be greater than or equal to 0"])
        return json_response(pods.delete(request.match_info["ns"], request.match_info["name"], grace))

    async def list_events(request: web.Request) -> web.Response:
        ns = request.match_info.get("ns")
        name = None
        for sel in request.query.get("fieldSelector", "").split(","):
            k, _, v = sel.partition("=")
            if k == "involvedObject.name":
                name = v.lstrip("=")
        items = pods.deps.store.events(ns, name)
        return json_response({"kind": "EventList", "apiVersion": "v1",
                              "metadata": {"resourceVersion": str(pods.deps.store.current_rv())}, "items": items})

    async def namespaces(_: web.Request) -> web.Response:
        names = sorted({p["metadata"]["namespace"] for p in pods.list(None)} | {"default"})
        return json_response({"kind": "NamespaceList", "apiVersion": "v1", "metadata": {},
                              "items": [{"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": n},
                                         "status": {"phase": "Active"}} for n in names]})

    def kind_of(request: web.Request) -> str:
        return KINDS[request.match_info["res"]]

    async def list_objects(request: web.Request) -> web.Response:
        kind = kind_of(request)
        ns = request.match_info.get("ns")
        try:
            by_label = label_selector(request.query.get("labelSelector", ""))
            by_field = field_selector(request.query.get("fieldSelector", ""))
        except ValueError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from exc
        items = [o for o in objects.list(kind, ns) if by_label(o) and by_field(o)]
        return json_response({"kind": f"{kind}List", "apiVersion": "v1",
                              "metadata": {"resourceVersion": str(pods.deps.store.current_rv())}, "items": items})

    async def create_object(request: web.Request) -> web.Response:
        return json_response(objects.create(kind_of(request), request.match_info["ns"], await _body(request)), 201)

    async def get_object(request: web.Request) -> web.Response:
        return json_response(objects.get(kind_of(request), request.match_info["ns"], request.match_info["name"]))

    async def put_object(request: web.Request) -> web.Response:
        return json_response(objects.replace(kind_of(request), request.match_info["ns"], request.match_info["name"],
                                             await _body(request)))

    async def delete_object(request: web.Request) -> web.Response:
        return json_response(objects.delete(kind_of(request), request.match_info["ns"], request.match_info["name"]))

    res = "{res:configmaps|secrets|persistentvolumeclaims}"
    r.add_get(f"/api/v1/{res}", list_objects)
    r.add_get(f"/api/v1/namespaces/{{ns}}/{res}", list_objects)
    r.add_post(f"/api/v1/namespaces/{{ns}}/{res}", create_object)
    r.add_get(f"/api/v1/namespaces/{{ns}}/{res}/{{name}}", get_object)
    r.add_put(f"/api/v1/namespaces/{{ns}}/{res}/{{name}}", put_object)
    r.add_delete(f"/api/v1/namespaces/{{ns}}/{res}/{{name}}", delete_object)

    async def stats_summary(_: web.Request) -> web.Response:
        return json_response(await asyncio.to_thread(summary, pods.deps, pods.evictions))

    r.add_get("/stats/summary", stats_summary)
    r.add_get("/version", version)
    r.add_get("/healthz", healthz)
    r.add_get("/api", api_versions)
    r.add_get("/api/v1/namespaces", namespaces)
    r.add_get("/api/v1/pods", list_pods)
    r.add_get("/api/v1/events", list_events)
    r.add_get("/api/v1/namespaces/{ns}/pods", list_pods)
    r.add_post("/api/v1/namespaces/{ns}/pods", create_pod)
    r.add_get("/api/v1/namespaces/{ns}/pods/{name}", get_pod)
    r.add_put("/api/v1/namespaces/{ns}/pods/{name}", put_pod)
    r.add_delete("/api/v1/namespaces/{ns}/pods/{name}", delete_pod)
    r.add_get("/api/v1/namespaces/{ns}/pods/{name}/log", lambda req: logs_api.handle(req, pods))
    r.add_get("/api/v1/namespaces/{ns}/pods/{name}/exec", lambda req: exec_api.handle(req, pods))
    r.add_post("/api/v1/namespaces/{ns}/pods/{name}/exec", lambda req: exec_api.handle(req, pods))
    r.add_get("/api/v1/namespaces/{ns}/events", list_events)
    return app
