"""``…/{deployments,replicasets,statefulsets,replicationcontrollers}/{name}/scale``: GET, PUT and
PATCH of an ``autoscaling/v1`` Scale (``kubectl scale`` merge-patches it). Writing the Scale
updates the object's ``spec.replicas`` through the registry, with the Scale's resourceVersion as
the precondition (``scaleUpdatedObjectInfo``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from podbay.agent.registry import Registry
from podbay.api import patch, query
from podbay.api import scale as scaleapi
from podbay.api.negotiate import body_format, negotiate
from podbay.api.paths import Route
from podbay.api.resources import ResourceType
from podbay.errors import BadRequest, MethodNotAllowed, ValidationError
from podbay.server import codec

SCALE_SCHEMA = "io.k8s.api.autoscaling.v1.Scale"


def _not_allowed() -> MethodNotAllowed:
    return MethodNotAllowed("the server does not allow this method on the requested resource", {})


def handler(registry: Registry, clock: Callable[[], float] = time.time) -> Any:
    async def handle(request: web.Request, rt: ResourceType, route: Route) -> web.StreamResponse:
        ns, name = route.namespace or "", route.name
        negotiate(request.headers.get("Accept"), target="object")
        if request.method == "GET":
            return codec.respond(codec.dumps(scaleapi.scale_of(registry.get(rt, ns, name))))
        if request.method not in ("PUT", "PATCH"):
            raise _not_allowed()
        media = body_format(request.headers.get("Content-Type"), patch=request.method == "PATCH")
        data = await codec.read_body(request)
        if not data.strip():
            raise BadRequest("the body of the request was empty")
        cur = registry.get(rt, ns, name)
        if request.method == "PUT":
            body = codec.decode(data, media)
            if not isinstance(body, dict):
                raise BadRequest("the body of the request was not a Scale")
            wanted = body
        else:
            wanted = patch.apply_patch(media, scaleapi.scale_of(cur), data, SCALE_SCHEMA)
        errs = scaleapi.validate_scale(wanted)
        if errs:
            raise ValidationError("Scale.autoscaling", name, errs)
        kind = query.write_options({}, "update")
        kind.field_manager = patch.default_manager(None, request.headers.get("User-Agent"))
        updated, _ = registry.update(rt, ns, name, scaleapi.apply_scale(cur, wanted), kind)
        return codec.respond(codec.dumps(scaleapi.scale_of(updated)))

    return handle
