"""The authentication.k8s.io and authorization.k8s.io endpoints, and serviceaccounts/{name}/token.

- ``POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token``: TokenRequest (201);
- ``POST /apis/authentication.k8s.io/v1/tokenreviews``: TokenReview (201), judged by the same bearer
  authenticators as requests (pkg/registry/authentication/tokenreview);
- ``POST /apis/authentication.k8s.io/v1/selfsubjectreviews``: who am I (``kubectl auth whoami``);
- ``POST /apis/authorization.k8s.io/v1/{selfsubjectaccessreviews,subjectaccessreviews,
  selfsubjectrulesreviews}``: AlwaysAllow's answers (``kubectl auth can-i``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from podbay.agent.serviceaccounts import ServiceAccounts
from podbay.api import schema, typecheck
from podbay.api.patch import PROTOBUF, PatchError, decode_protobuf
from podbay.api.paths import Route
from podbay.api.resources import ResourceType, Subresource
from podbay.core.authn import TokenRejected
from podbay.errors import BadRequest, MethodNotAllowed
from podbay.server.auth import Authenticator, request_user

AUTHN = "authentication.k8s.io/v1"
AUTHZ = "authorization.k8s.io/v1"
_AUTHN_KINDS = ("TokenRequest", "TokenReview", "SelfSubjectReview")


def _json(obj: Any, status: int = 201) -> web.Response:
    return web.Response(text=json.dumps(obj), status=status, content_type="application/json")


async def _body(request: web.Request, kind: str, *, optional: bool = False) -> dict[str, Any]:
    """The request object: JSON, or protobuf as kubectl >= 1.32 sends it (the API's decoder);
    `optional` bodies may be empty (a SelfSubjectReview carries nothing)."""
    raw = await request.read()
    if optional and not raw.strip():
        return {}
    if request.content_type == PROTOBUF:
        data: Any = decode_protobuf(raw)   # PatchError: 400 malformed, 415 a kind it does not know
    else:
        try:
            data = json.loads(raw)
        except RecursionError:   # as codec.decode_json: the decoder's depth limit is the client's error
            raise BadRequest("json: exceeded max depth (the request body is nested too deeply)") from None
        except ValueError as exc:
            raise BadRequest(f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object")
    if data.get("kind") not in (None, kind):
        raise BadRequest(f"the body of the request was in an unknown format: kind {data.get('kind')!r}, "
                         f"expected {kind}")
    # Wrong-typed fields (`metadata: 3`) are a 400 in the Go decoder's words, as for every stored kind.
    group = (AUTHN if kind in _AUTHN_KINDS else AUTHZ).split("/")[0]
    definition = schema.definition_name(group, "v1", kind)
    if definition is not None:
        typecheck.check(data, definition, kind, "v1")
    return data


def _spec(body: dict[str, Any]) -> dict[str, Any]:
    spec = body.get("spec")
    return spec if isinstance(spec, dict) else {}


def _meta(body: dict[str, Any]) -> dict[str, Any]:
    md = dict(body.get("metadata") or {})
    md.setdefault("creationTimestamp", None)
    return md


# The review kinds: computed (never stored), create only, as kube-apiserver serves them.
REVIEW_TYPES = (
    ResourceType("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", "tokenreview", False,
                 verbs=("create",), storage=""),
    ResourceType("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", "selfsubjectreview",
                 False, verbs=("create",), storage=""),
    ResourceType("authorization.k8s.io", "v1", "LocalSubjectAccessReview", "localsubjectaccessreviews",
                 "localsubjectaccessreview", True, verbs=("create",), storage=""),
    ResourceType("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews",
                 "selfsubjectaccessreview", False, verbs=("create",), storage=""),
    ResourceType("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews",
                 "selfsubjectrulesreview", False, verbs=("create",), storage=""),
    ResourceType("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews",
                 "subjectaccessreview", False, verbs=("create",), storage=""),
)
TOKEN_SUBRESOURCE = Subresource("token", "TokenRequest", ("create",), "authentication.k8s.io", "v1")
Connect = Callable[[web.Request, ResourceType, Route], Awaitable[web.StreamResponse]]


def _post_only(fn: Callable[[web.Request, ResourceType, Route], Awaitable[web.StreamResponse]]) -> Connect:
    """create is the only verb; PatchErrors from the body decoder answer with their own Status."""

    async def wrapped(request: web.Request, rt: ResourceType, route: Route) -> web.StreamResponse:
        if request.method != "POST":
            raise MethodNotAllowed("the server does not allow this method on the requested resource",
                                   {"kind": rt.plural, **({"group": rt.group} if rt.group else {})})
        try:
            return await fn(request, rt, route)
        except PatchError as exc:
            return _json(exc.status(), exc.code)

    return wrapped


def handlers(sas: ServiceAccounts, auth: Authenticator) -> dict[tuple[str, str, str], Connect]:
    """The connect handlers, keyed as the API router's ``Api.connect``: (group, plural, subresource)."""

    async def token_request(request: web.Request, rt: ResourceType, route: Route) -> web.Response:
        body = await _body(request, "TokenRequest")
        return _json(sas.request_token(route.namespace or "", route.name, body))

    async def token_review(request: web.Request, rt: ResourceType, route: Route) -> web.Response:
        body = await _body(request, "TokenReview")
        spec = _spec(body)
        token = spec.get("token")
        if not isinstance(token, str) or not token:
            raise BadRequest(f"token is required for TokenReview in {AUTHN.split('/')[0]}")
        auds = spec.get("audiences") or []
        if not isinstance(auds, list) or not all(isinstance(a, str) for a in auds):
            raise BadRequest("spec.audiences must be a list of strings")
        status: dict[str, Any] = {"user": {}}
        try:
            found = auth.authenticate_token(token, tuple(auds) or None)
        except TokenRejected as exc:
            found, status["error"] = None, str(exc)
        if found is not None:
            user, matched = found
            status = {"authenticated": True, "user": user.to_api(), "audiences": list(matched)}
        return _json({"kind": "TokenReview", "apiVersion": AUTHN, "metadata": _meta(body), "spec": spec,
                      "status": status})

    async def self_subject_review(request: web.Request, rt: ResourceType, route: Route) -> web.Response:
        body = await _body(request, "SelfSubjectReview", optional=True)
        return _json({"kind": "SelfSubjectReview", "apiVersion": AUTHN, "metadata": _meta(body),
                      "status": {"userInfo": request_user(request).to_api()}})

    async def access_review(request: web.Request, rt: ResourceType, route: Route) -> web.Response:
        body = await _body(request, rt.kind)
        spec = _spec(body)
        if not (spec.get("resourceAttributes") or spec.get("nonResourceAttributes")):
            raise BadRequest(f"{rt.kind}.authorization.k8s.io is invalid: spec.resourceAttributes: Invalid value: "
                             "\"null\": exactly one of nonResourceAttributes or resourceAttributes must be "
                             "specified")
        md = _meta(body)
        if rt.namespaced:
            md.setdefault("namespace", route.namespace)
        return _json({"kind": rt.kind, "apiVersion": AUTHZ, "metadata": md, "spec": spec,
                      "status": {"allowed": True, "reason": "podbay authorizes every authenticated user "
                                                            "(AlwaysAllow)"}})

    async def rules_review(request: web.Request, rt: ResourceType, route: Route) -> web.Response:
        body = await _body(request, "SelfSubjectRulesReview")
        return _json({"kind": "SelfSubjectRulesReview", "apiVersion": AUTHZ, "metadata": _meta(body),
                      "spec": body.get("spec") or {},
                      "status": {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                                 "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                                 "incomplete": False}})

    out: dict[tuple[str, str, str], Connect] = {("", "serviceaccounts", "token"): _post_only(token_request)}
    out[("authentication.k8s.io", "tokenreviews", "")] = _post_only(token_review)
    out[("authentication.k8s.io", "selfsubjectreviews", "")] = _post_only(self_subject_review)
    for plural in ("selfsubjectaccessreviews", "subjectaccessreviews", "localsubjectaccessreviews"):
        out[("authorization.k8s.io", plural, "")] = _post_only(access_review)
    out[("authorization.k8s.io", "selfsubjectrulesreviews", "")] = _post_only(rules_review)
    return out
