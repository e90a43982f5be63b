"""``services/{name}/proxy/{path}`` and ``pods/{name}/proxy/{path}``: the API server's HTTP proxy to
a Service's endpoint or a pod (``kubectl proxy``, ``kubectl get --raw``, the Conformance Proxy tests).

The target comes from ``core.services.proxytarget`` (``[scheme:]name[:port]``, one ready endpoint
of the Service port); the request is forwarded with its method, query, body and end-to-end headers,
and the answer comes back as is. Only pod and endpoint addresses are dialled: a Service of type
ExternalName is refused (upstream proxies to it; here it would make the API an open relay).
"""

from __future__ import annotations

from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from podbay.api.paths import Route
from podbay.core.services import proxytarget
from podbay.errors import BadRequest, NotFound, StatusError
from podbay.store.repository import Repository

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "host", "authorization", "content-length"}
TIMEOUT = ClientTimeout(total=60, connect=5)


class ProxyFailed(StatusError):
    reason = "ServiceUnavailable"
    code = 503


def target(repo: Repository, plural: str, namespace: str, raw_name: str) -> proxytarget.Target:
    scheme, name, port = proxytarget.split_name(raw_name)
    if plural == "services":
        svc = repo.get("Service", namespace, name)
        if svc is None:
            raise NotFound(f'services "{name}" not found', {"name": name, "kind": "services"})
        if (svc.get("spec") or {}).get("type") == "ExternalName":
            raise BadRequest(f'services "{name}" of type ExternalName cannot be proxied by podbay')
        slices = [s.obj for s in repo.list("EndpointSlice", namespace)
                  if ((s.obj.get("metadata") or {}).get("labels") or {}).get("kubernetes.io/service-name") == name]
        return proxytarget.service_target(svc, slices, port, scheme)
    pod = repo.get("Pod", namespace, name)
    if pod is None:
        raise NotFound(f'pods "{name}" not found', {"name": name, "kind": "pods"})
    return proxytarget.pod_target(pod, port, scheme)


def make_handler(repo: Repository) -> Any:
    async def handle(request: web.Request, rt: Any, route: Route) -> web.StreamResponse:
        t = target(repo, rt.plural, route.namespace or "", route.name)
        path = "/" + route.tail if route.tail else "/"
        if route.tail and request.path.endswith("/"):
            path += "/"
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        body = await request.read()
        try:
            async with ClientSession(timeout=TIMEOUT, auto_decompress=False) as session, \
                    session.request(request.method, t.url(path, request.query_string), headers=headers,
                                    data=body or None, allow_redirects=False) as resp:
                data = await resp.read()
                out_headers = {k: v for k, v in resp.headers.items() if k.lower() not in HOP_BY_HOP}
                return web.Response(status=resp.status, body=data, headers=out_headers)
        except (ClientError, TimeoutError, OSError) as exc:
            raise ProxyFailed(f"error trying to reach service: {exc}") from None

    return handle
