"""Safe remote access, wired in one place: PKI, ServiceAccounts, the authenticator, the TLS listener,
and the streaming subresources (portforward, attach), TokenRequest and the review kinds.

The composition root (server.daemon) calls, in order:
1. ``build_access(cfg, registry, hub)`` in a thread, once the namespaces exist (creates or renews
   the PKI, publishes ``kube-root-ca.crt`` into every namespace and into each new one);
2. ``install(api, registry, pods, access)`` before anything is served: the resource table learns
   pods/attach, pods/portforward, serviceaccounts/token and the review kinds, the router's
   ``Api.connect`` gets their handlers, the pod strategy gets the ServiceAccount admission;
3. ``app[AUTHENTICATOR] = access.authenticate`` and, after ``runner.setup()``,
   ``await start_listener(runner, access, cfg)`` (the TLS site).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from podbay.agent.config import AgentConfig
from podbay.agent.hub import Event, Hub
from podbay.agent.registry import Registry
from podbay.agent.serviceaccounts import RegistryObjects, ServiceAccounts
from podbay.api.paths import Route
from podbay.api.resources import ResourceType, Subresource
from podbay.core import authn
from podbay.core.authn import UserInfo
from podbay.errors import BadRequest, PermanentError
from podbay.host import pki as pkimod
from podbay.server import attach as attach_api
from podbay.server import authapi, portforward, tls
from podbay.server.auth import Authenticator, TokenFile, authenticator_for
from podbay.sys.netns import connect_in_netns

log = logging.getLogger("podbay.access")
RENEW_CHECK_SECONDS = 12 * 3600
POD_SUBRESOURCES = (Subresource("attach", "PodAttachOptions", ("create", "get")),
                    Subresource("portforward", "PodPortForwardOptions", ("create", "get")))


@dataclass
class Access:
    pki: pkimod.PkiPaths
    service_accounts: ServiceAccounts
    authenticator: Authenticator
    listen: tls.Listen | None
    ssl_context: ssl.SSLContext | None
    sans: pkimod.SanSet | None = None
    in_cluster: tls.Listen | None = None   # <bridge address>:6443, behind the `kubernetes` Service
    url: str | None = None
    renewer: asyncio.Task[None] | None = None

    @property
    def authenticate(self) -> Callable[[web.Request], Awaitable[UserInfo | None]]:
        """For ``app[AUTHENTICATOR]``."""
        return authenticator_for(self.authenticator)


def build_access(cfg: AgentConfig, registry: Registry, hub: Hub) -> Access:
    """Blocking: the PKI under <root>/pki, the ServiceAccount machinery, the authenticator."""
    listen = tls.parse_listen(cfg.listen)
    in_cluster, cluster_sans = _in_cluster(cfg, listen)
    sans = pkimod.host_sans((*cluster_sans, *cfg.tls_sans))
    paths = pkimod.ensure_pki(cfg.root / "pki", sans)
    ca_pem = paths.ca_crt.read_text()

    def namespace_exists(ns: str) -> bool:
        return registry.repo.peek("Namespace", "", ns) is not None

    sas = ServiceAccounts(RegistryObjects(registry), None, pkimod.load_key(paths.sa_key), ca_pem,
                          issuer=authn.DEFAULT_ISSUER, node_name=cfg.node_name, namespace_exists=namespace_exists)
    # The root-ca-cert-publisher: kube-root-ca.crt in every namespace, now and as they are created.
    for ns in registry.repo.list("Namespace"):
        if not (ns.obj.get("metadata") or {}).get("deletionTimestamp"):
            sas.ensure_namespace(ns.name)

    def on_namespace(ev: Event) -> None:
        if ev.type == "ADDED":
            sas.ensure_namespace(ev.name)

    hub.add_listener("Namespace", on_namespace)
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
    return Access(paths, sas, auth, listen, ctx, sans, in_cluster)


def _in_cluster(cfg: AgentConfig, listen: tls.Listen | None) -> tuple[tls.Listen | None, tuple[str, ...]]:
    """With Services, pods reach the API at the `kubernetes` Service: its ClusterIP (and the bridge
    address it leads to) go into the serving certificate, and the API listens on the bridge address
    unless --listen already covers it. --listen none means no TCP listener at all."""
    if listen is None or not cfg.services:
        return None, ()
    from podbay.core.services.allocation import ServiceNetwork

    try:
        cluster_ip = ServiceNetwork.from_flags(cfg.service_cidr, cfg.service_node_port_range).kubernetes_ip
    except ValueError:
        cluster_ip = ""
    wanted = tls.Listen(cfg.bridge_address, tls.IN_CLUSTER_PORT)
    names = tuple(n for n in (cluster_ip, cfg.bridge_address) if n)
    return (None if tls.covers(listen, wanted) else wanted), names


def _running_container(pods: Any, pod: dict[str, Any], name: str) -> Any:
    recs = [r for r in pods.records(pod["metadata"]["uid"]) if r.name == name]
    latest = max(recs, key=lambda r: r.attempt) if recs else None
    if latest is None or latest.state != "running":
        raise BadRequest(f'unable to upgrade connection: container not found ("{name}")')
    return latest


def install_reviews(api: Any, registry: Registry, access: Access) -> None:
    """serviceaccounts/token, the review kinds and the ServiceAccount admission (no pods needed)."""
    table = registry.table
    table.add_subresource("", "v1", "serviceaccounts", authapi.TOKEN_SUBRESOURCE)
    for rt in authapi.REVIEW_TYPES:
        if table.by_path(rt.group, rt.version, rt.plural) is None:
            table.register(rt)
    pod_strategy = registry.strategies.get("Pod")
    if pod_strategy is not None:
        pod_strategy.admit = access.service_accounts.admit_pod   # type: ignore[attr-defined]
    api.connect.update(authapi.handlers(access.service_accounts, access.authenticator))


def install(api: Any, registry: Registry, pods: Any, access: Access) -> None:
    """Teach the resource table and the router what access serves (see the module doc)."""
    install_reviews(api, registry, access)
    for sub in POD_SUBRESOURCES:
        registry.table.add_subresource("", "v1", "pods", sub)
    deps = pods.deps

    def netns_of(uid: str) -> str | None:
        from podbay.network.namespaces import is_pinned

        d = deps.cfg.ns_dir(uid)
        return str(d / "net") if is_pinned(d) else None

    target_of = portforward.target_factory(pods.get, netns_of, connect_in_netns)

    def attach_target(pod: dict[str, Any], name: str) -> attach_api.AttachTarget:
        rec = _running_container(pods, pod, name)
        spec = next(c for c in pod["spec"]["containers"] if c["name"] == name)
        return attach_api.AttachTarget(rec.id, deps.runtime.attach_dir(rec.id), spec.get("stdin") is True,
                                       spec.get("tty") is True)

    async def pf(request: web.Request, rt: ResourceType, route: Route) -> web.StreamResponse:
        return await portforward.handle(request, route.namespace or "", route.name, target_of)

    async def at(request: web.Request, rt: ResourceType, route: Route) -> web.StreamResponse:
        return await attach_api.handle(request, route.namespace or "", route.name, pods.get, attach_target)

    api.connect[("", "pods", "portforward")] = pf
    api.connect[("", "pods", "attach")] = at


async def start_listener(runner: web.AppRunner, access: Access, cfg: AgentConfig) -> str | None:
    """The TLS site (after runner.setup()); None with --listen none."""
    url_file = cfg.run_dir / tls.URL_FILE
    if access.listen is None or access.ssl_context is None:
        with contextlib.suppress(FileNotFoundError):
            url_file.unlink()
        return None
    access.url = await tls.start_tls_site(runner, access.listen, access.ssl_context, cfg.run_dir)
    log.info("podbay API serving on %s (TLS; client certificates and bearer tokens)", access.url)
    if access.in_cluster is not None:
        try:
            await tls.start_freebind_site(runner, access.in_cluster, access.ssl_context)
            log.info("podbay API serving pods on %s:%d (the kubernetes Service)", access.in_cluster.host,
                     access.in_cluster.port)
        except OSError as exc:   # the loopback listener still works; in-cluster clients get refused
            log.warning("cannot listen for pods on %s:%d: %s", access.in_cluster.host, access.in_cluster.port,
                        exc.strerror or exc)
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
