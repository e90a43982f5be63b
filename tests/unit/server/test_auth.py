"""Authentication over a real TLS listener (loopback, random port): certs, token files, SA tokens."""

from __future__ import annotations

import copy
import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from podbay.agent.serviceaccounts import ServiceAccounts
from podbay.core.authn import DEFAULT_ISSUER
from podbay.host import pki
from podbay.server import authapi, tls
from podbay.server.app import errors_middleware
from podbay.server.auth import Authenticator, TokenFile, make_middleware, request_user

SANS = pki.SanSet.of(["localhost", "127.0.0.1", "::1"])


class FakeStore:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}

    def get_object(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        o = self.objects.get((kind, namespace, name))
        return copy.deepcopy(o) if o else None

    def put_object(self, obj: dict[str, Any], *, create: bool = False) -> dict[str, Any]:
        self.objects[(obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])] = copy.deepcopy(obj)
        return obj


class Server:
    def __init__(self, tmp: Path) -> None:
        self.pki = pki.ensure_pki(tmp / "pki", SANS)
        (tmp / "tokens.csv").write_text('s3cret,alice,uid-alice,"dev,ops"\n')
        self.store = FakeStore()
        self.sas = ServiceAccounts(self.store, lambda t, o: None, pki.load_key(self.pki.sa_key),
                                   self.pki.ca_crt.read_text())
        self.sas.ensure_namespace("default")
        self.token_file = TokenFile(self.pki.tokens, required=False)
        self.auth = Authenticator([self.token_file, TokenFile(tmp / "tokens.csv", required=True)], self.sas,
                                  self.sas.api_audiences)
        self.tmp = tmp
        self.url = ""

    def client_ctx(self, cert: tuple[Path, Path] | None = None, ca: Path | None = None) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(ca or self.pki.ca_crt))
        if cert is not None:
            ctx.load_cert_chain(str(cert[0]), str(cert[1]))
        return ctx


@pytest.fixture()
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    srv = Server(tmp_path)
    app = web.Application(middlewares=[errors_middleware])   # as build_app, then install() appends auth
    app.middlewares.append(make_middleware(srv.auth))

    async def whoami(request: web.Request) -> web.Response:
        return web.json_response(request_user(request).to_api())

    for path in ("/api", "/healthz", "/version", "/livez", "/readyz"):
        app.router.add_get(path, whoami)
    authapi.routes(app, srv.sas, srv.auth)
    runner = web.AppRunner(app)
    await runner.setup()
    srv.url = await tls.start_tls_site(runner, tls.Listen("127.0.0.1", 0), tls.server_context(srv.pki), tmp_path)
    yield srv
    await runner.cleanup()


async def get(srv: Server, path: str, ctx: ssl.SSLContext | None = None, **headers: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as s, s.get(srv.url + path, ssl=ctx or srv.client_ctx(),
                                                   headers=headers) as r:
        return r.status, json.loads(await r.text())


async def post(srv: Server, path: str, body: dict[str, Any], ctx: ssl.SSLContext | None = None) -> tuple[int, Any]:
    cert = (srv.pki.admin_crt, srv.pki.admin_key)
    async with aiohttp.ClientSession() as s, s.post(srv.url + path, json=body, ssl=ctx or srv.client_ctx(cert)) as r:
        return r.status, json.loads(await r.text())


UNAUTHORIZED = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "Unauthorized",
                "reason": "Unauthorized", "code": 401}


async def test_the_url_file_names_the_listener(server: Server) -> None:
    assert (server.tmp / tls.URL_FILE).read_text().strip() == server.url
    assert server.url.startswith("https://127.0.0.1:")


async def test_no_credentials_is_401_except_the_public_paths(server: Server) -> None:
    assert await get(server, "/api") == (401, UNAUTHORIZED)
    for path in ("/healthz", "/version", "/livez", "/readyz"):
        status, user = await get(server, path)
        assert status == 200 and user == {"username": "system:anonymous", "groups": ["system:unauthenticated"]}


async def test_admin_certificate(server: Server) -> None:
    status, user = await get(server, "/api", server.client_ctx((server.pki.admin_crt, server.pki.admin_key)))
    assert status == 200
    assert user == {"username": "podbay-admin", "groups": ["system:masters", "system:authenticated"]}


async def test_a_certificate_for_another_user(server: Server, tmp_path: Path) -> None:
    crt, key = pki.make_client_cert(pki.load_cert(server.pki.ca_crt), pki.load_key(server.pki.ca_key), "bob", ("qa",))
    (tmp_path / "bob.crt").write_bytes(crt)
    (tmp_path / "bob.key").write_bytes(key)
    status, user = await get(server, "/api", server.client_ctx((tmp_path / "bob.crt", tmp_path / "bob.key")))
    assert (status, user["username"], user["groups"]) == (200, "bob", ["qa", "system:authenticated"])


async def test_a_certificate_from_another_ca_fails_the_handshake(server: Server, tmp_path: Path) -> None:
    other = pki.ensure_pki(tmp_path / "other", SANS)
    ctx = server.client_ctx((other.admin_crt, other.admin_key))
    with pytest.raises((aiohttp.ClientError, ssl.SSLError, ConnectionError)):
        await get(server, "/api", ctx)


async def test_a_client_trusting_another_ca_refuses_the_server(server: Server, tmp_path: Path) -> None:
    other = pki.ensure_pki(tmp_path / "other", SANS)
    with pytest.raises(aiohttp.ClientConnectorCertificateError):
        await get(server, "/healthz", server.client_ctx(ca=other.ca_crt))


async def test_token_file_bearer(server: Server) -> None:
    status, user = await get(server, "/api", Authorization="Bearer s3cret")
    assert status == 200
    assert user == {"username": "alice", "uid": "uid-alice", "groups": ["dev", "ops", "system:authenticated"]}
    assert await get(server, "/api", Authorization="Bearer wrong") == (401, UNAUTHORIZED)
    assert await get(server, "/api", Authorization="Basic YTpi") == (401, UNAUTHORIZED)
    # a wrong token is refused even on a public path (a credential that is presented must be good)
    assert (await get(server, "/healthz", Authorization="Bearer wrong"))[0] == 401


async def test_tokens_added_at_runtime_are_picked_up(server: Server) -> None:
    server.pki.tokens.write_text("fresh,carol,uid-c\n")
    server.token_file._checked = 0.0   # skip the once-a-second re-check
    status, user = await get(server, "/api", Authorization="Bearer fresh")
    assert status == 200 and user["username"] == "carol"


async def test_service_account_token_bearer_and_tokenreview(server: Server) -> None:
    req = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 600}}
    status, tr = await post(server, "/api/v1/namespaces/default/serviceaccounts/default/token", req)
    assert status == 201 and tr["status"]["token"]
    token = tr["status"]["token"]
    status, user = await get(server, "/api", Authorization=f"Bearer {token}")
    assert status == 200 and user["username"] == "system:serviceaccount:default:default"
    assert user["groups"] == ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"]
    status, review = await post(server, "/apis/authentication.k8s.io/v1/tokenreviews",
                                {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                                 "spec": {"token": token}})
    assert status == 201 and review["kind"] == "TokenReview"
    assert review["status"]["authenticated"] is True
    assert review["status"]["audiences"] == [DEFAULT_ISSUER]
    assert review["status"]["user"]["username"] == "system:serviceaccount:default:default"


async def test_tokenreview_of_bad_tokens(server: Server) -> None:
    url = "/apis/authentication.k8s.io/v1/tokenreviews"
    status, review = await post(server, url, {"kind": "TokenReview", "spec": {"token": "nope"}})
    assert status == 201 and review["status"] == {"user": {}}
    req = {"kind": "TokenRequest", "spec": {"audiences": ["vault"]}}
    tok = (await post(server, "/api/v1/namespaces/default/serviceaccounts/default/token", req))[1]["status"]["token"]
    _, review = await post(server, url, {"kind": "TokenReview", "spec": {"token": tok}})
    assert review["status"]["error"].startswith('token audiences ["vault"] is invalid for the target audiences')
    _, review = await post(server, url, {"kind": "TokenReview", "spec": {"token": tok, "audiences": ["vault"]}})
    assert review["status"]["authenticated"] is True and review["status"]["audiences"] == ["vault"]
    # token-file tokens answer for the API audiences only
    _, review = await post(server, url, {"kind": "TokenReview", "spec": {"token": "s3cret", "audiences": ["vault"]}})
    assert "authenticated" not in review["status"]
    status, bad = await post(server, url, {"kind": "TokenReview", "spec": {}})
    assert status == 400 and bad["reason"] == "BadRequest"


async def test_impersonation(server: Server) -> None:
    ctx = server.client_ctx((server.pki.admin_crt, server.pki.admin_key))
    async with aiohttp.ClientSession() as s:
        async with s.get(server.url + "/api", ssl=ctx,
                         headers=[("Impersonate-User", "system:serviceaccount:ns1:robot"),
                                  ("Impersonate-Group", "extra-group")]) as r:
            user = json.loads(await r.text())
        assert user["username"] == "system:serviceaccount:ns1:robot"
        assert user["groups"] == ["system:serviceaccounts", "system:serviceaccounts:ns1", "extra-group",
                                  "system:authenticated"]
        async with s.get(server.url + "/api", ssl=ctx, headers={"Impersonate-Group": "g"}) as r:
            assert r.status == 400


async def test_self_subject_and_access_reviews(server: Server) -> None:
    status, me = await post(server, "/apis/authentication.k8s.io/v1/selfsubjectreviews", {})
    assert status == 201 and me["status"]["userInfo"]["username"] == "podbay-admin"
    status, ssar = await post(server, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                              {"kind": "SelfSubjectAccessReview",
                               "spec": {"resourceAttributes": {"verb": "delete", "resource": "pods"}}})
    assert status == 201 and ssar["status"]["allowed"] is True
    status, bad = await post(server, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {"spec": {}})
    assert status == 400
