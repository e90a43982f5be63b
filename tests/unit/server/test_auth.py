"""Authentication over a real TLS listener (loopback, random port): certs, token files, SA tokens."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from apifake import FakeApi

from podbay.agent.config import AgentConfig
from podbay.core.authn import DEFAULT_ISSUER
from podbay.host import pki
from podbay.server import access, tls
from podbay.server.app import AUTHENTICATOR
from podbay.server.auth import TokenFile

SANS = pki.SanSet.of(["localhost", "127.0.0.1", "::1"])


class Server:
    """The real app (apifake: registry, strategies, hub, in-memory store) with access installed,
    served on a TLS listener on a random loopback port."""

    def __init__(self, tmp: Path) -> None:
        self.fake = FakeApi(tmp)
        self.tmp = tmp
        self.url = ""

    def setup(self) -> web.Application:
        app = self.fake.build()   # namespaces (and their default ServiceAccounts) exist now
        self.access = access.build_access(AgentConfig(root=self.tmp / "root", run_dir=self.tmp / "run"),
                                          self.fake.registry, self.fake.hub)
        self.pki = self.access.pki
        self.sas = self.access.service_accounts
        (self.tmp / "tokens.csv").write_text('s3cret,alice,uid-alice,"dev,ops"\n')
        self.token_file = self.access.authenticator.token_files[0]
        self.access.authenticator.token_files.append(TokenFile(self.tmp / "tokens.csv", required=True))
        access.install_reviews(self.fake.api, self.fake.registry, self.access)
        app[AUTHENTICATOR] = self.access.authenticate
        return app

    def client_ctx(self, cert: tuple[Path, Path] | None = None, ca: Path | None = None) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(ca or self.pki.ca_crt))
        if cert is not None:
            ctx.load_cert_chain(str(cert[0]), str(cert[1]))
        return ctx


@pytest.fixture()
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    srv = Server(tmp_path)
    app = srv.setup()
    runner = web.AppRunner(app)
    await runner.setup()
    srv.url = await tls.start_tls_site(runner, tls.Listen("127.0.0.1", 0), tls.server_context(srv.pki), tmp_path)
    yield srv
    await runner.cleanup()
    if srv.fake.namespaces is not None:
        await srv.fake.namespaces.stop()
    srv.fake.store.close()


async def whoami(srv: Server, ctx: ssl.SSLContext | None = None, headers: Any = None) -> tuple[int, Any]:
    """The user the server sees (a SelfSubjectReview, what `kubectl auth whoami` sends)."""
    async with aiohttp.ClientSession() as s, s.post(srv.url + "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                                                    json={}, ssl=ctx or srv.client_ctx(), headers=headers) as r:
        body = json.loads(await r.text())
        return r.status, body["status"]["userInfo"] if r.status == 201 else body


async def get(srv: Server, path: str, ctx: ssl.SSLContext | None = None, **headers: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as s, s.get(srv.url + path, ssl=ctx or srv.client_ctx(),
                                                   headers=headers) as r:
        return r.status, await r.text()


async def post(srv: Server, path: str, body: dict[str, Any], ctx: ssl.SSLContext | None = None) -> tuple[int, Any]:
    cert = (srv.pki.admin_crt, srv.pki.admin_key)
    async with aiohttp.ClientSession() as s, s.post(srv.url + path, json=body, ssl=ctx or srv.client_ctx(cert)) as r:
        return r.status, json.loads(await r.text())


UNAUTHORIZED = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "Unauthorized",
                "reason": "Unauthorized", "code": 401}


def admin(srv: Server) -> ssl.SSLContext:
    return srv.client_ctx((srv.pki.admin_crt, srv.pki.admin_key))


async def test_the_url_file_names_the_listener(server: Server) -> None:
    assert (server.tmp / tls.URL_FILE).read_text().strip() == server.url
    assert server.url.startswith("https://127.0.0.1:")


async def test_no_credentials_is_401_except_the_public_paths(server: Server) -> None:
    status, text = await get(server, "/api")
    assert (status, json.loads(text)) == (401, UNAUTHORIZED)
    for path in ("/healthz", "/livez", "/readyz"):
        assert await get(server, path) == (200, "ok")
    status, text = await get(server, "/version")
    assert status == 200 and json.loads(text)["gitVersion"].startswith("v1.")
    assert (await whoami(server))[0] == 401


async def test_admin_certificate(server: Server) -> None:
    assert await whoami(server, admin(server)) == (
        201, {"username": "podbay-admin", "groups": ["system:masters", "system:authenticated"]})
    status, text = await get(server, "/api/v1/namespaces/default/pods", admin(server))
    assert status == 200 and json.loads(text)["kind"] == "PodList"


async def test_a_certificate_for_another_user(server: Server, tmp_path: Path) -> None:
    crt, key = pki.make_client_cert(pki.load_cert(server.pki.ca_crt), pki.load_key(server.pki.ca_key), "bob", ("qa",))
    (tmp_path / "bob.crt").write_bytes(crt)
    (tmp_path / "bob.key").write_bytes(key)
    status, user = await whoami(server, server.client_ctx((tmp_path / "bob.crt", tmp_path / "bob.key")))
    assert (status, user["username"], user["groups"]) == (201, "bob", ["qa", "system:authenticated"])


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
    assert await whoami(server, headers={"Authorization": "Bearer s3cret"}) == (
        201, {"username": "alice", "uid": "uid-alice", "groups": ["dev", "ops", "system:authenticated"]})
    for header in ("Bearer wrong", "Basic YTpi"):
        status, text = await get(server, "/api", Authorization=header)
        assert (status, json.loads(text)) == (401, UNAUTHORIZED)
    # a wrong token is refused even on a public path (a credential that is presented must be good)
    assert (await get(server, "/healthz", Authorization="Bearer wrong"))[0] == 401


async def test_tokens_added_at_runtime_are_picked_up(server: Server) -> None:
    server.pki.tokens.write_text("fresh,carol,uid-c\n")
    server.token_file._checked = 0.0   # skip the once-a-second re-check
    status, user = await whoami(server, headers={"Authorization": "Bearer fresh"})
    assert status == 201 and user["username"] == "carol"


async def test_service_account_token_bearer_and_tokenreview(server: Server) -> None:
    req = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 600}}
    status, tr = await post(server, "/api/v1/namespaces/default/serviceaccounts/default/token", req)
    assert status == 201 and tr["status"]["token"], tr
    token = tr["status"]["token"]
    status, user = await whoami(server, headers={"Authorization": f"Bearer {token}"})
    assert status == 201 and user["username"] == "system:serviceaccount:default:default"
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
    async with aiohttp.ClientSession() as s, s.get(server.url + url, ssl=admin(server)) as r:
        assert r.status == 405


async def test_a_token_request_for_a_missing_service_account_is_not_found(server: Server) -> None:
    status, body = await post(server, "/api/v1/namespaces/default/serviceaccounts/nope/token", {"spec": {}})
    assert status == 404 and body["reason"] == "NotFound"
    status, body = await post(server, "/api/v1/namespaces/default/serviceaccounts/default/token",
                              {"spec": {"expirationSeconds": 60}})
    assert status == 422 and "may not specify a duration less than 10 minutes" in body["message"]


async def test_impersonation(server: Server) -> None:
    headers = [("Impersonate-User", "system:serviceaccount:ns1:robot"), ("Impersonate-Group", "extra-group")]
    status, user = await whoami(server, admin(server), headers)
    assert status == 201 and user["username"] == "system:serviceaccount:ns1:robot"
    assert user["groups"] == ["system:serviceaccounts", "system:serviceaccounts:ns1", "extra-group",
                              "system:authenticated"]
    status, _ = await whoami(server, admin(server), {"Impersonate-Group": "g"})
    assert status == 400


async def test_access_reviews_allow_everything(server: Server) -> None:
    status, ssar = await post(server, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                              {"kind": "SelfSubjectAccessReview",
                               "spec": {"resourceAttributes": {"verb": "delete", "resource": "pods"}}})
    assert status == 201 and ssar["status"]["allowed"] is True
    status, _ = await post(server, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {"spec": {}})
    assert status == 400
    status, local = await post(server, "/apis/authorization.k8s.io/v1/namespaces/default/localsubjectaccessreviews",
                               {"spec": {"user": "x", "resourceAttributes": {"verb": "get"}}})
    assert status == 201 and local["metadata"]["namespace"] == "default" and local["status"]["allowed"]


async def test_discovery_lists_what_access_serves(server: Server) -> None:
    status, text = await get(server, "/api/v1", admin(server))
    res = {r["name"]: r for r in json.loads(text)["resources"]}
    assert res["serviceaccounts/token"]["kind"] == "TokenRequest"
    assert res["serviceaccounts/token"]["group"] == "authentication.k8s.io"
    status, text = await get(server, "/apis/authentication.k8s.io/v1", admin(server))
    names = {r["name"]: r["verbs"] for r in json.loads(text)["resources"]}
    assert names == {"selfsubjectreviews": ["create"], "tokenreviews": ["create"]}
    status, text = await get(server, "/apis/authorization.k8s.io/v1", admin(server))
    assert {r["name"] for r in json.loads(text)["resources"]} == {
        "localsubjectaccessreviews", "selfsubjectaccessreviews", "selfsubjectrulesreviews", "subjectaccessreviews"}


async def test_the_pod_admission_mounts_a_token(server: Server) -> None:
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    status, pod = await post(server, "/api/v1/namespaces/default/pods", body)
    assert status == 201, pod
    vols = [v["name"] for v in pod["spec"]["volumes"]]
    assert len(vols) == 1 and vols[0].startswith("kube-api-access-")
    assert pod["spec"]["serviceAccountName"] == "default"
    status, cm = await get(server, "/api/v1/namespaces/default/configmaps/kube-root-ca.crt", admin(server))
    assert status == 200 and json.loads(cm)["data"]["ca.crt"] == server.pki.ca_crt.read_text()
    body["metadata"]["name"] = "q"
    body["spec"]["serviceAccountName"] = "builder"
    status, err = await post(server, "/api/v1/namespaces/default/pods", body)
    assert status == 403 and err["reason"] == "Forbidden"
    assert err["message"] == ('pods "q" is forbidden: error looking up service account default/builder: '
                              'serviceaccount "builder" not found')
    status, err = await post(server, "/api/v1/namespaces/nowhere/pods", {**body, "spec": {
        "containers": body["spec"]["containers"]}})
    assert status == 404 and 'namespaces "nowhere" not found' in err["message"]


async def test_a_new_namespace_gets_the_root_ca(server: Server) -> None:
    status, _ = await post(server, "/api/v1/namespaces", {"metadata": {"name": "team"}})
    assert status == 201
    for _ in range(50):
        status, cm = await get(server, "/api/v1/namespaces/team/configmaps/kube-root-ca.crt", admin(server))
        if status == 200:
            break
        await asyncio.sleep(0.02)
    assert status == 200 and json.loads(cm)["data"]["ca.crt"].startswith("-----BEGIN CERTIFICATE-----")


async def test_a_review_nested_too_deeply_is_a_400_not_a_500(server: Server) -> None:
    """Found by the live fuzz: JSON 3000 objects deep posted to a review used to be a 500 InternalError."""
    body = b'{"a":' * 3000 + b"1" + b"}" * 3000
    for path in ("/apis/authentication.k8s.io/v1/tokenreviews", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"):
        async with aiohttp.ClientSession() as s, s.post(server.url + path, data=body, ssl=admin(server),
                                                        headers={"Content-Type": "application/json"}) as r:
            status, got = r.status, json.loads(await r.text())
        assert (status, got["kind"], got["reason"], got["code"]) == (400, "Status", "BadRequest", 400), got
        assert "exceeded max depth" in got["message"]


async def test_a_review_with_wrong_typed_fields_is_a_400_not_a_500(server: Server) -> None:
    """Found by the live fuzz: `metadata: [[], [], 34]` (or a string, or Infinity) made every review kind a 500."""
    for path, kind in (("/apis/authentication.k8s.io/v1/tokenreviews", "TokenReview"),
                       ("/apis/authentication.k8s.io/v1/selfsubjectreviews", "SelfSubjectReview"),
                       ("/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", "SelfSubjectRulesReview"),
                       ("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", "SelfSubjectAccessReview")):
        for metadata in ([[], [], 34], "x", 3):
            status, got = await post(server, path, {"kind": kind, "metadata": metadata, "spec": {"token": "t"}})
            assert (status, got["kind"], got["reason"]) == (400, "Status", "BadRequest"), got
            assert got["message"].startswith(f'{kind} in version "v1" cannot be handled as a {kind}: json: '
                                             "cannot unmarshal"), got
