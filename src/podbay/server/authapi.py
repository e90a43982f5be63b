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
from podbay.api.patch import PROTOBUF, PatchError, decode_protobuf
from podbay.core.authn import TokenRejected
from podbay.errors import BadRequest
from podbay.server.auth import Authenticator, request_user

AUTHN = "authentication.k8s.io/v1"
AUTHZ = "authorization.k8s.io/v1"


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
        except ValueError as exc:
            raise BadRequest(f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object")
    if data.get("kind") not in (None, kind):
        raise BadRequest(f"the body of the request was in an unknown format: kind {data.get('kind')!r}, "
                         f"expected {kind}")
    return data


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _answers_patch_errors(fn: Handler) -> Handler:
    """A PatchError from the body decoder carries its own Status (400/415), as the API router's do."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await fn(request)
        except PatchError as exc:
            return _json(exc.status(), exc.code)

    return wrapped


def _spec(body: dict[str, Any]) -> dict[str, Any]:
    spec = body.get("spec")
    return spec if isinstance(spec, dict) else {}


def _meta(body: dict[str, Any]) -> dict[str, Any]:
    md = dict(body.get("metadata") or {})
    md.setdefault("creationTimestamp", None)
    return md


def routes(app: web.Application, sas: ServiceAccounts, auth: Authenticator) -> None:
    async def token_request(request: web.Request) -> web.Response:
        body = await _body(request, "TokenRequest")
        return _json(sas.request_token(request.match_info["ns"], request.match_info["name"], body))

    async def token_review(request: web.Request) -> web.Response:
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

    async def self_subject_review(request: web.Request) -> web.Response:
        body = await _body(request, "SelfSubjectReview", optional=True)
        return _json({"kind": "SelfSubjectReview", "apiVersion": AUTHN, "metadata": _meta(body),
                      "status": {"userInfo": request_user(request).to_api()}})

    async def access_review(request: web.Request) -> web.Response:
        kind = "SelfSubjectAccessReview" if "selfsubject" in request.path else "SubjectAccessReview"
        body = await _body(request, kind)
        spec = _spec(body)
        if not (spec.get("resourceAttributes") or spec.get("nonResourceAttributes")):
            raise BadRequest(f"{kind}.authorization.k8s.io is invalid: spec.resourceAttributes: Invalid value: "
                             "\"null\": exactly one of nonResourceAttributes or resourceAttributes must be "
                             "specified")
        return _json({"kind": kind, "apiVersion": AUTHZ, "metadata": _meta(body), "spec": spec,
                      "status": {"allowed": True, "reason": "podbay authorizes every authenticated user "
                                                            "(AlwaysAllow)"}})

    async def rules_review(request: web.Request) -> web.Response:
        body = await _body(request, "SelfSubjectRulesReview")
        return _json({"kind": "SelfSubjectRulesReview", "apiVersion": AUTHZ, "metadata": _meta(body),
                      "spec": body.get("spec") or {},
                      "status": {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                                 "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                                 "incomplete": False}})

    r = app.router
    r.add_post("/api/v1/namespaces/{ns}/serviceaccounts/{name}/token", _answers_patch_errors(token_request))
    r.add_post(f"/apis/{AUTHN}/tokenreviews", _answers_patch_errors(token_review))
    r.add_post(f"/apis/{AUTHN}/selfsubjectreviews", _answers_patch_errors(self_subject_review))
    r.add_post(f"/apis/{AUTHZ}/selfsubjectaccessreviews", _answers_patch_errors(access_review))
    r.add_post(f"/apis/{AUTHZ}/subjectaccessreviews", _answers_patch_errors(access_review))
    r.add_post(f"/apis/{AUTHZ}/selfsubjectrulesreviews", _answers_patch_errors(rules_review))
