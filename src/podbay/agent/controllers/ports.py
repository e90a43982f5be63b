"""The one side-effect port of the controllers: writing API objects and events.

The agent implements it over the registry (so a controller's writes get a client's defaulting,
validation, generateName, preconditions and watch events); tests use an in-memory fake. Methods
raise ``podbay.errors`` (NotFound, AlreadyExists, Conflict, ValidationError, ...).
"""

from __future__ import annotations

from typing import Any, Protocol

from podbay.core.controllers.plan import Ref

Obj = dict[str, Any]


class Writer(Protocol):
    def create(self, body: Obj) -> Obj:
        """POST; returns the stored object (with its generated name, uid, resourceVersion)."""

    def update(self, body: Obj, subresource: str = "") -> Obj:
        """PUT (``metadata.resourceVersion`` is the precondition); ``subresource`` "status"."""

    def patch(self, target: Ref, patch: Any, patch_type: str, subresource: str = "") -> Obj:
        """PATCH with ``strategic`` | ``merge`` | ``json``."""

    def delete(self, target: Ref, propagation: str | None, uid: str = "", resource_version: str = "") -> None:
        """DELETE with a propagationPolicy (None: the kind's default) and preconditions."""

    def bind(self, pod: Ref, node_name: str) -> None:
        """POST pods/{name}/binding: the scheduler assigns the pod to the node."""

    def record_event(self, involved: Ref, type_: str, reason: str, message: str, component: str) -> None:
        """An Event about ``involved`` from ``component`` (``deployment-controller``, ...)."""


class Provisioner(Protocol):
    """podbay's local volume provisioner (the scheduler's PreBind and the PV controller use it)."""

    name: str   # the StorageClass ``provisioner`` it serves

    def volume_path(self, claim: Obj) -> str:
        """Where the claim's volume lives on the node (the PersistentVolume's hostPath)."""

    def provision(self, claim: Ref, node_name: str) -> None:
        """Make the claim's volume and bind the claim to it (Bound); ``node_name`` is the node the
        scheduler chose (WaitForFirstConsumer) or "" (Immediate)."""
