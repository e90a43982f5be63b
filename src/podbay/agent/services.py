"""The agent's service machinery, driven by the stored changes of Services, Pods, EndpointSlices and
Namespaces (hub listeners):

* the bootstrap objects: ``default/kubernetes`` (-> the API listener pods can reach) and
  ``kube-system/kube-dns`` (-> the agent's DNS server), with their EndpointSlices and Endpoints;
* the EndpointSlice/Endpoints controller for every Service with a selector;
* ServiceLB: ``status.loadBalancer.ingress`` of LoadBalancer Services = this host's addresses;
* the proxier (nftables) and the cluster DNS index, fed from the same snapshot.

One loop does it all, coalescing bursts of events; a failure in one step is logged and retried on
the next change (or after RETRY_SECONDS), never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from podbay.agent.clusterdns import ClusterDnsService
from podbay.agent.endpointslices import EndpointsController
from podbay.agent.hub import Event, Hub
from podbay.agent.proxier import Proxier
from podbay.agent.registry import Registry
from podbay.core.services import bootstrap
from podbay.core.services.allocation import ServiceNetwork
from podbay.errors import AlreadyExists, Conflict, NotFound, PodbayError
from podbay.store.repository import Repository

log = logging.getLogger("podbay.services")
Obj = dict[str, Any]
RETRY_SECONDS = 1.0
SLICE = ("discovery.k8s.io", "v1", "EndpointSlice")


@dataclass(frozen=True)
class ServiceSettings:
    net: ServiceNetwork
    host_address: str          # the host's address on the pod bridge (what pods reach)
    api_port: int = 0          # the API's TCP listener for in-cluster clients (0: none yet)
    ingress_ips: tuple[str, ...] = ()   # ServiceLB addresses (the NodePort addresses)


class RegistryLister:
    """The controller's reads, straight from the repository (the informer cache here)."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo

    def service(self, namespace: str, name: str) -> Obj | None:
        return self.repo.get("Service", namespace, name)

    def pods(self, namespace: str) -> list[Obj]:
        return [s.copy() for s in self.repo.list("Pod", namespace)]

    def slices(self, namespace: str, service: str) -> list[Obj]:
        return [s.copy() for s in self.repo.list("EndpointSlice", namespace)
                if ((s.obj.get("metadata") or {}).get("labels") or {}).get("kubernetes.io/service-name") == service]

    def endpoints(self, namespace: str, name: str) -> Obj | None:
        return self.repo.get("Endpoints", namespace, name)


class RegistryWriter:
    """The controller's writes through the registry (same validation as any client's)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def _rt(self, obj: Obj) -> Any:
        api_version = str(obj.get("apiVersion") or "v1")
        group, _, version = api_version.rpartition("/")
        return self.registry.kind(str(obj["kind"]), group, version)

    async def create(self, obj: Obj) -> Obj:
        return self.registry.create(self._rt(obj), str(obj["metadata"]["namespace"]), obj, decoded=True)

    async def update(self, obj: Obj) -> Obj:
        md = obj["metadata"]
        out, _ = self.registry.update(self._rt(obj), str(md["namespace"]), str(md["name"]), obj, decoded=True)
        return out

    async def delete(self, api_version: str, kind: str, namespace: str, name: str) -> None:
        group, _, version = api_version.rpartition("/")
        with contextlib.suppress(NotFound):
            self.registry.delete(self.registry.kind(kind, group, version), namespace, name)


class ServiceController:
    def __init__(self, registry: Registry, hub: Hub, settings: ServiceSettings, proxier: Proxier | None,
                 dns: ClusterDnsService | None) -> None:
        self.registry = registry
        self.repo = registry.repo
        self.settings = settings
        self.proxier = proxier
        self.dns = dns
        self.endpoints = EndpointsController(RegistryLister(self.repo), RegistryWriter(registry))
        self._dirty: set[tuple[str, str]] = set()
        self._mirror: set[tuple[str, str]] = set()
        self._all = True
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._proxier_task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        for kind in ("Service", "Pod", "EndpointSlice", "Endpoints", "Namespace"):
            hub.add_listener(kind, self._on_event)

    # --- events ----------------------------------------------------------------------------------
    def _on_event(self, ev: Event) -> None:
        if ev.kind == "Service":
            self._dirty.add((ev.namespace, ev.name))
        elif ev.kind == "Endpoints":   # the mirroring controller's input only: never a Service sync
            self._mirror.add((ev.namespace, ev.name))
        elif ev.kind == "Pod":
            # Any Service of the namespace may select it (old labels are gone with the event).
            for s in self.repo.list("Service", ev.namespace):
                self._dirty.add((s.namespace, s.name))
        self._wake.set()

    # --- bootstrap -------------------------------------------------------------------------------
    def ensure_bootstrap(self) -> None:
        """`kubernetes` and `kube-dns`, and the endpoints the agent writes for them."""
        net = self.settings.net
        svc_rt = self.registry.kind("Service")
        wanted = [bootstrap.kube_dns_service(net)]
        if self.settings.api_port:
            wanted.insert(0, bootstrap.kubernetes_service(net, self.settings.api_port))
        for svc in wanted:
            md = svc["metadata"]
            if self.repo.peek("Service", md["namespace"], md["name"]) is None:
                with contextlib.suppress(AlreadyExists):
                    self.registry.create(svc_rt, md["namespace"], svc, decoded=True)
        pairs = [bootstrap.kube_dns_endpoints(net, self.settings.host_address)]
        if self.settings.api_port:
            pairs.insert(0, bootstrap.kubernetes_endpoints(net, self.settings.host_address, self.settings.api_port))
        for sl, ep in pairs:
            for obj in (sl, ep):
                self._put(obj)

    def _put(self, obj: Obj) -> None:
        group, _, version = str(obj["apiVersion"]).rpartition("/")
        rt = self.registry.kind(obj["kind"], group, version)
        md = obj["metadata"]
        cur = self.repo.peek(obj["kind"], md["namespace"], md["name"])
        if cur is None:
            self.registry.create(rt, md["namespace"], obj, decoded=True)
            return
        have = cur.copy()
        body = {k: v for k, v in obj.items() if k != "metadata"}
        if {k: v for k, v in have.items() if k in body} != body or \
                (have.get("metadata") or {}).get("labels") != md.get("labels"):
            new = {**have, **body, "metadata": {**have["metadata"], "labels": md.get("labels")}}
            self.registry.update(rt, md["namespace"], md["name"], new, decoded=True)

    # --- the loop --------------------------------------------------------------------------------
    def start(self) -> None:
        self.ensure_bootstrap()
        if self.dns is not None:
            self.dns.start()
        if self.proxier is not None:
            self._proxier_task = asyncio.create_task(self.proxier.run(self._stop))
        self._wake.set()   # the first pass programs what is stored (an agent restart rebuilds the table)
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for t in (self._task, self._proxier_task):
            if t is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await t
        if self.dns is not None:
            await asyncio.to_thread(self.dns.stop)

    async def _run(self) -> None:
        while not self._stop.is_set():
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(0)  # coalesce a burst of events published together
            try:
                ok = await self.sync_once()
            except Exception as exc:  # a reconcile loop never dies from one bad sync
                log.warning("service sync failed: %s", exc)
                ok = False
            if not ok:
                await asyncio.sleep(RETRY_SECONDS)
                self._wake.set()

    async def sync_once(self) -> bool:
        """One pass: endpoints of the changed Services, LB status, then the data path and DNS."""
        if self._all:
            keys = {(s.namespace, s.name) for s in self.repo.list("Service")}
            self._all = False
        else:
            keys = set()
        keys |= self._dirty
        self._dirty = set()
        mirror, self._mirror = self._mirror - keys, set()
        ok = True
        for ns, name in sorted(mirror):
            if not await self.endpoints.sync_safely(ns, name, mirror_only=True):
                self._mirror.add((ns, name))
                ok = False
        for ns, name in sorted(keys):
            if not await self.endpoints.sync_safely(ns, name):
                self._dirty.add((ns, name))
                ok = False
            ok = self._lb_status(ns, name) and ok
        self.program()
        return ok

    def _lb_status(self, namespace: str, name: str) -> bool:
        cur = self.repo.peek("Service", namespace, name)
        if cur is None:
            return True
        svc = cur.copy()
        status = bootstrap.load_balancer_status(svc, list(self.settings.ingress_ips))
        if status is None:
            return True
        try:
            self.registry.update(self.registry.kind("Service"), namespace, name, {**svc, "status": status},
                                 subresource="status", decoded=True)
        except (Conflict, NotFound):
            self._dirty.add((namespace, name))
            return False
        except PodbayError as exc:
            log.warning("status of service %s/%s not written: %s", namespace, name, exc)
            return False
        return True

    def snapshot(self) -> tuple[list[Obj], list[Obj], list[str]]:
        services = [s.obj for s in self.repo.list("Service")]
        slices = [s.obj for s in self.repo.list("EndpointSlice")]
        namespaces = [s.name for s in self.repo.list("Namespace")]
        return services, slices, namespaces

    def program(self) -> None:
        services, slices, namespaces = self.snapshot()
        if self.proxier is not None:
            self.proxier.update(services, slices)
        if self.dns is not None:
            self.dns.update(services, slices, namespaces)


def service_env_for(repo: Repository, pod: Obj) -> dict[str, str]:
    """The service variables of a container of this pod, from the Services stored right now."""
    from podbay.core.services.envvars import enable_service_links, service_env

    ns = str((pod.get("metadata") or {}).get("namespace") or "default")
    services: Iterable[Obj] = [s.obj for s in repo.list("Service", ns)]
    if ns != "default":
        services = [*services, *(s.obj for s in repo.list("Service", "default") if s.name == "kubernetes")]
    return service_env(ns, enable_service_links(pod), services)
