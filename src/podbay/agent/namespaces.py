"""The namespace controller and the service-account controller, in-process.

- The built-in namespaces (default, kube-system, kube-public, kube-node-lease) exist, and so does
  every namespace stored objects live in (a store from before namespaces were objects).
- Every namespace has a ``default`` ServiceAccount (created with the namespace).
- A namespace marked for deletion (phase Terminating) has its content deleted through the
  registry — pods gracefully, by their workers — with the upstream conditions reporting progress;
  once nothing is left, its ``kubernetes`` finalizer goes and so does the namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from podbay.agent.hub import Event, Hub
from podbay.agent.registry import Registry
from podbay.api.meta import rfc3339
from podbay.api.node import LEASE_NAMESPACE
from podbay.api.query import DeleteOptions
from podbay.errors import AlreadyExists, NotFound, StatusError

log = logging.getLogger("podbay.namespaces")
BUILTIN = ("default", "kube-system", "kube-public", LEASE_NAMESPACE)
RETRY_SECONDS = 1.0
# Upstream's namespace controller starts on the content a moment after the namespace is marked;
# `kubectl delete -f` of a file holding a namespace and its objects deletes them itself right after
# the namespace, and must not find them gone already (it would report NotFound and fail).
START_DELAY_SECONDS = 1.0

Obj = dict[str, Any]


def _condition(type_: str, status: str, reason: str, message: str, now: float) -> Obj:
    return {"type": type_, "status": status, "lastTransitionTime": rfc3339(now), "reason": reason,
            "message": message}


def deletion_conditions(remaining: dict[str, int], finalizers: dict[str, int], now: float) -> list[Obj]:
    """The namespace controller's conditions for what is left (resource -> instances)."""
    conds = [
        _condition("NamespaceDeletionDiscoveryFailure", "False", "ResourcesDiscovered",
                   "All resources successfully discovered", now),
        _condition("NamespaceDeletionGroupVersionParsingFailure", "False", "ParsedGroupVersions",
                   "All legacy kube types successfully parsed", now),
        _condition("NamespaceDeletionContentFailure", "False", "ContentDeleted",
                   "All content successfully deleted, may be waiting on finalization", now),
    ]
    if remaining:
        msg = ", ".join(f"{r} has {n} resource instances" for r, n in sorted(remaining.items()))
        conds.append(_condition("NamespaceContentRemaining", "True", "SomeResourcesRemain",
                                f"Some resources are remaining: {msg}", now))
    else:
        conds.append(_condition("NamespaceContentRemaining", "False", "ContentRemoved",
                                "All content successfully removed", now))
    if finalizers:
        msg = ", ".join(f"{f} in {n} resource instances" for f, n in sorted(finalizers.items()))
        conds.append(_condition("NamespaceFinalizersRemaining", "True", "SomeFinalizersRemain",
                                f"Some content in the namespace has finalizers remaining: {msg}", now))
    else:
        conds.append(_condition("NamespaceFinalizersRemaining", "False", "ContentHasNoFinalizers",
                                "All content-preserving finalizers finished", now))
    return conds


class NamespaceController:
    def __init__(self, registry: Registry, hub: Hub, clock: Any = time.time,
                 start_delay: float = START_DELAY_SECONDS) -> None:
        self.registry = registry
        self.clock = clock
        self.start_delay = start_delay
        self.ns_rt = registry.kind("Namespace")
        self.sa_rt = registry.kind("ServiceAccount")
        self._deleting: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        hub.add_listener("Namespace", self._on_namespace)
        hub.add_listener("Pod", lambda ev: self._wake.set() if ev.type == "DELETED" else None)

    # --- start ---------------------------------------------------------------------------------------
    def ensure(self) -> None:
        """The built-in namespaces, the namespaces objects already live in, a default SA in each;
        resume the deletion of namespaces left Terminating."""
        wanted = set(BUILTIN) | self.registry.repo.namespaces_in_use()
        for name in sorted(wanted):
            if self.registry.repo.peek("Namespace", "", name) is None:
                with contextlib.suppress(AlreadyExists):
                    self.registry.create(self.ns_rt, "", {"metadata": {"name": name}}, decoded=True)
        for ns in self.registry.repo.list("Namespace"):
            if (ns.obj.get("metadata") or {}).get("deletionTimestamp"):
                self._start_deletion(ns.name)
            else:
                self._ensure_service_account(ns.name)

    def _ensure_service_account(self, namespace: str) -> None:
        if self.registry.repo.peek("ServiceAccount", namespace, "default") is not None:
            return
        with contextlib.suppress(AlreadyExists, NotFound):
            self.registry.create(self.sa_rt, namespace, {"metadata": {"name": "default"}}, decoded=True)

    def _on_namespace(self, ev: Event) -> None:
        if ev.obj is None or ev.type == "DELETED":
            return
        md = ev.obj.get("metadata") or {}
        if md.get("deletionTimestamp"):
            self._start_deletion(ev.name)
        elif ev.type == "ADDED":
            try:
                self._ensure_service_account(ev.name)
            except StatusError as exc:
                log.warning("default service account in %s: %s", ev.name, exc)

    # --- deletion --------------------------------------------------------------------------------------
    def _start_deletion(self, name: str) -> None:
        task = self._deleting.get(name)
        if task is not None and not task.done():
            self._wake.set()
            return
        with contextlib.suppress(RuntimeError):   # no running loop: start() resumes it
            self._deleting[name] = asyncio.get_running_loop().create_task(self._finalize(name))

    def _content(self, namespace: str) -> tuple[dict[str, int], dict[str, int], list[tuple[Any, str]]]:
        remaining: dict[str, int] = {}
        finalizers: dict[str, int] = {}
        todo = []
        seen_kinds: set[str] = set()
        for rt in self.registry.table:
            if not rt.namespaced or not rt.stored or rt.storage_kind in seen_kinds:
                continue
            seen_kinds.add(rt.storage_kind)
            for item in self.registry.repo.list(rt.storage_kind, namespace):
                remaining[rt.group_resource] = remaining.get(rt.group_resource, 0) + 1
                md = item.obj.get("metadata") or {}
                for f in md.get("finalizers") or []:
                    finalizers[f] = finalizers.get(f, 0) + 1
                if not md.get("deletionTimestamp"):
                    todo.append((rt, item.name))
        return remaining, finalizers, todo

    async def _finalize(self, name: str) -> None:
        await asyncio.sleep(self.start_delay)
        while True:
            try:
                if self._round(name):
                    return
            except Exception as exc:   # a reconcile loop never dies from one bad round
                log.warning("deleting namespace %s: %s", name, exc)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), RETRY_SECONDS)

    def _round(self, name: str) -> bool:
        """One pass: delete what is left, report it; True once the namespace is gone."""
        ns = self.registry.repo.peek("Namespace", "", name)
        if ns is None or not (ns.obj.get("metadata") or {}).get("deletionTimestamp"):
            return True
        remaining, finalizers, todo = self._content(name)
        for rt, obj_name in todo:
            with contextlib.suppress(NotFound):
                self.registry.delete(rt, name, obj_name, DeleteOptions(propagation_policy="Background"))
        remaining, finalizers, _todo = self._content(name)
        conds = deletion_conditions(remaining, finalizers, self.clock())

        def report(obj: Obj) -> Obj | None:
            status = obj.setdefault("status", {})
            old = {c["type"]: (c["status"], c["message"]) for c in status.get("conditions") or []}
            if old == {c["type"]: (c["status"], c["message"]) for c in conds} and status.get("phase") == "Terminating":
                return None
            status["phase"] = "Terminating"
            status["conditions"] = conds
            return obj

        self.registry.repo.mutate("Namespace", "", name, report)
        if remaining:
            return False
        cur = self.registry.repo.get("Namespace", "", name)
        if cur is None:
            return True
        cur["spec"] = {"finalizers": [f for f in (cur.get("spec") or {}).get("finalizers") or []
                                      if f != "kubernetes"]}
        self.registry.update(self.ns_rt, "", name, cur, decoded=True, subresource="finalize")
        return self.registry.repo.peek("Namespace", "", name) is None

    async def stop(self) -> None:
        for task in self._deleting.values():
            task.cancel()
        await asyncio.gather(*self._deleting.values(), return_exceptions=True)
