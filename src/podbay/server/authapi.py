"""The authentication.k8s.io and authorization.k8s.io endpoints, and serviceaccounts/{name}/token.

- ``POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token``: TokenRequest (201);
- ``POST /apis/authentication.k8s.io/v1/tokenreviews``: TokenReview (201), judged by the same bearer
  authenticators as requests (pkg/registry/authentication/tokenreview);
- ``POST /apis/authentication.k8s.io/v1/selfsubjectreviews``: who am I (``kubectl auth whoami``);
- ``POST /apis/authorization.k8s.io/v1/{selfsubjectaccessreviews,subjectaccessreviews,
  selfsubjectrulesreviews}``: AlwaysAllow's answers (``kubectl auth can-i``).
"""

from __future__ import annotations

import importlib
import json
from typing import Any

from aiohttp import web

from podbay.agent.serviceaccounts import ServiceAccounts
from podbay.core.authn import TokenRejected
from podbay.errors import BadRequest
from podbay.server.auth import Authenticator, request_user

AUTHN = "authentication.k8s.io/v1"
AUTHZ = "authorization.k8s.io/v1"


def _json(obj: Any, status: int = 201) -> web.Response:
    return web.Response(text=json.dumps(obj), status=status, content_type="application/json")


PROTOBUF = "application/vnd.kubernetes.protobuf"


async def _body(request: web.Request, kind: str, *, optional: bool = False) -> dict[str, Any]:
    """The JSON body; protobuf ones (kubectl >= 1.32 sends them) go through the API's decoder when
    there is one (podbay.api.patch.decode_protobuf, the patch helper's); `optional` bodies may be
    skipped (a SelfSubjectReview carries nothing)."""
    if request.content_type == PROTOBUF:
        raw = await request.read()
        try:
            decode_protobuf = importlib.import_module("podbay.api.patch").decode_protobuf
        except (ImportError, AttributeError):
            if optional:
                return {}
            raise web.HTTPUnsupportedMediaType(
                text=f"the body of the request was in an unknown format - accepted media types include: "
                     f"application/json; {kind} in {PROTOBUF} is not supported yet") from None
        decoded = decode_protobuf(raw)
        return dict(decoded) if isinstance(decoded, dict) else {}
    try:
        data = await request.json()
    except ValueError as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object")
    if data.get("kind") not in (None, kind):
        raise BadRequest(f"the body of the request was in an unknown format: kind {data.get('kind')!r}, "
                         f"expected {kind}")
    return data


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
    r.add_post("/api/v1/namespaces/{ns}/serviceaccounts/{name}/token", token_request)
    r.add_post(f"/apis/{AUTHN}/tokenreviews", token_review)
    r.add_post(f"/apis/{AUTHN}/selfsubjectreviews", self_subject_review)
    r.add_post(f"/apis/{AUTHZ}/selfsubjectaccessreviews", access_review)
    r.add_post(f"/apis/{AUTHZ}/subjectaccessreviews", access_review)
    r.add_post(f"/apis/{AUTHZ}/selfsubjectrulesreviews", rules_review)
