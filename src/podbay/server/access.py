"""Safe remote access, wired in one place: PKI, ServiceAccounts, the authenticator, the TLS listener,
and the streaming subresources (portforward, attach) and the auth endpoints.

The composition root (server.daemon) calls, in order:
1. ``build_access(cfg, store, publish)`` in a thread (creates/renews the PKI; may take ~100 ms),
2. ``install(app, access, pods)`` before the app starts (the auth middleware and the routes),
3. ``await start_listener(runner, access, cfg)`` after ``runner.setup()`` (the TLS site).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from podbay.agent.config import AgentConfig
from podbay.agent.serviceaccounts import STANDARD_NAMESPACES, ServiceAccounts
from podbay.core import authn
from podbay.errors import PermanentError
from podbay.host import pki as pkimod
from podbay.server import attach as attach_api
from podbay.server import authapi, portforward, tls
from podbay.server.auth import Authenticator, TokenFile, make_middleware
from podbay.sys.netns import connect_in_netns

log = logging.getLogger("podbay.access")


RENEW_CHECK_SECONDS = 12 * 3600


@dataclass
class Access:
    pki: pkimod.PkiPaths
    service_accounts: ServiceAccounts
    authenticator: Authenticator
    listen: tls.Listen | None
    ssl_context: ssl.SSLContext | None
    sans: pkimod.SanSet | None = None
    url: str | None = None
    renewer: asyncio.Task[None] | None = None


def build_access(cfg: AgentConfig, store: Any, publish: Callable[[str, dict[str, Any]], None]) -> Access:
    """Blocking: the PKI under <root>/pki, the ServiceAccount machinery, the authenticator."""
    listen = tls.parse_listen(cfg.listen)
    sans = pkimod.host_sans(cfg.tls_sans)
    paths = pkimod.ensure_pki(cfg.root / "pki", sans)
    ca_pem = paths.ca_crt.read_text()
    sas = ServiceAccounts(store, publish, pkimod.load_key(paths.sa_key), ca_pem, issuer=authn.DEFAULT_ISSUER,
                          node_name=cfg.node_name)
    for ns in STANDARD_NAMESPACES:
        sas.ensure_namespace(ns)
    files = [TokenFile(paths.tokens, required=False)]
    for f in cfg.token_auth_files:
        try:
            files.append(TokenFile(Path(f), required=True))
        except FileNotFoundError as exc:
            raise PermanentError(f"--token-auth-file {f}: no such file") from exc
        except ValueError as exc:
            raise PermanentError(str(exc)) from exc
    auth = Authenticator(files, sas, sas.api_audiences)
    ctx = tls.server_context(paths) if listen is not None else None
    return Access(paths, sas, auth, listen, ctx, sans)


def _running_container(store: Any, pod: dict[str, Any], name: str) -> Any:
    recs = [r for r in store.containers(pod["metadata"]["uid"]) if r.name == name]
    latest = max(recs, key=lambda r: r.attempt) if recs else None
    if latest is None or latest.state != "running":
        raise web.HTTPBadRequest(text=f'unable to upgrade connection: container not found ("{name}")')
    return latest


def install(app: web.Application, access: Access, pods: Any) -> None:
    """The hook into the app (before it starts): authentication first, then the routes below.

    The API router must send these paths here (see the report): portforward and attach (GET and
    POST), serviceaccounts/{name}/token, and the authentication.k8s.io / authorization.k8s.io reviews.
    """
    app.middlewares.append(make_middleware(access.authenticator))
    deps = pods.deps

    def netns_of(uid: str) -> str | None:
        from podbay.network.namespaces import is_pinned

        d = deps.cfg.ns_dir(uid)
        return str(d / "net") if is_pinned(d) else None

    target_of = portforward.target_factory(pods.get, netns_of, connect_in_netns)

    def attach_target(pod: dict[str, Any], name: str) -> attach_api.AttachTarget:
        rec = _running_container(deps.store, pod, name)
        spec = next(c for c in pod["spec"]["containers"] if c["name"] == name)
        return attach_api.AttachTarget(rec.id, deps.runtime.attach_dir(rec.id), spec.get("stdin") is True,
                                       spec.get("tty") is True)

    async def pf(request: web.Request) -> web.StreamResponse:
        return await portforward.handle(request, target_of)

    async def at(request: web.Request) -> web.StreamResponse:
        return await attach_api.handle(request, pods.get, attach_target)

    r = app.router
    r.add_get("/api/v1/namespaces/{ns}/pods/{name}/portforward", pf)
    r.add_post("/api/v1/namespaces/{ns}/pods/{name}/portforward", pf)
    r.add_get("/api/v1/namespaces/{ns}/pods/{name}/attach", at)
    r.add_post("/api/v1/namespaces/{ns}/pods/{name}/attach", at)
    authapi.routes(app, access.service_accounts, access.authenticator)


async def start_listener(runner: web.AppRunner, access: Access, cfg: AgentConfig) -> str | None:
    """The TLS site (after runner.setup()); None with --listen none."""
    url_file = cfg.run_dir / tls.URL_FILE
    if access.listen is None or access.ssl_context is None:
        with contextlib.suppress(FileNotFoundError):
            url_file.unlink()
        return None
    access.url = await tls.start_tls_site(runner, access.listen, access.ssl_context, cfg.run_dir)
    log.info("podbay API serving on %s (TLS; client certificates and bearer tokens)", access.url)
    access.renewer = asyncio.create_task(_renew(access))
    return access.url


async def _renew(access: Access) -> None:
    """A long-running agent renews its serving certificate too (new connections get the new one)."""
    assert access.ssl_context is not None and access.sans is not None
    while True:
        await asyncio.sleep(RENEW_CHECK_SECONDS)
        try:
            before = access.pki.server_crt.read_bytes()
            await asyncio.to_thread(pkimod.ensure_pki, access.pki.dir, access.sans)
            if access.pki.server_crt.read_bytes() != before:
                access.ssl_context.load_cert_chain(str(access.pki.server_crt), str(access.pki.server_key))
                log.info("renewed the API serving certificate")
        except (OSError, ValueError, ssl.SSLError, PermanentError) as exc:
            log.warning("serving certificate renewal failed: %s", exc)


def stop_listener(cfg: AgentConfig, access: Access | None = None) -> None:
    if access is not None and access.renewer is not None:
        access.renewer.cancel()
    with contextlib.suppress(FileNotFoundError):
        (cfg.run_dir / tls.URL_FILE).unlink()
