"""A controller's sync as data: the writes it wants, in order, and when to look again.

Controllers here never call the API; they return these actions and the agent executes them through
the same registry path a client's request takes (so defaulting, validation, generateName,
resourceVersion preconditions and watch events all happen as for a user). The executor stops at
the first failed write and requeues the object, as a controller's sync returns its first error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

Obj = dict[str, Any]

NORMAL = "Normal"
WARNING = "Warning"


@dataclasses.dataclass(frozen=True)
class Ref:
    """The object an action targets (and an event's involvedObject)."""

    api_version: str
    kind: str
    namespace: str
    name: str
    uid: str = ""
    resource_version: str = ""


def ref_of(obj: Mapping[str, Any]) -> Ref:
    md = obj.get("metadata") or {}
    return Ref(
        api_version=str(obj.get("apiVersion") or ""),
        kind=str(obj.get("kind") or ""),
        namespace=str(md.get("namespace") or ""),
        name=str(md.get("name") or ""),
        uid=str(md.get("uid") or ""),
        resource_version=str(md.get("resourceVersion") or ""),
    )


@dataclasses.dataclass(frozen=True)
class Outcome:
    """Events the executor records about ``involved`` once a write's result is known (a created
    pod's generated name, the API error): ``(reason, message)`` with ``{name}`` / ``{error}``."""

    involved: Ref
    success: tuple[str, str] | None = None
    failure: tuple[str, str] | None = None


@dataclasses.dataclass(frozen=True)
class Create:
    """POST ``body`` (``metadata.generateName`` or ``metadata.name``, namespace, ownerReferences).

    Consecutive creates with the same ``batch`` run as ``slowStartBatch`` (1, 2, 4, … at a time,
    stopping at the first failure), so a rejected template costs one failed create, not N.
    """

    body: Obj
    outcome: Outcome | None = None
    batch: str = ""


@dataclasses.dataclass(frozen=True)
class Update:
    """PUT the whole object (``metadata.resourceVersion`` is the precondition); ``subresource``
    ``"status"`` writes only the status (and, for Deployments, annotations) as ``UpdateStatus`` does."""

    body: Obj
    subresource: str = ""
    outcome: Outcome | None = None


@dataclasses.dataclass(frozen=True)
class Patch:
    """PATCH ``target`` (``strategic`` = application/strategic-merge-patch+json, ``merge``, ``json``)."""

    target: Ref
    patch: Any
    patch_type: str = "strategic"
    subresource: str = ""


@dataclasses.dataclass(frozen=True)
class Delete:
    """DELETE with ``propagationPolicy`` (None: the kind's default) and optional UID precondition."""

    target: Ref
    propagation: str | None = None
    precondition_uid: str = ""
    precondition_resource_version: str = ""
    outcome: Outcome | None = None


@dataclasses.dataclass(frozen=True)
class Emit:
    """An Event about ``involved`` (``source.component`` is the controller's name)."""

    involved: Ref
    type: str
    reason: str
    message: str


Action = Create | Update | Patch | Delete | Emit


def created_field(kind: str, name: str, field: str) -> str:
    """A placeholder for a field (``uid``, ``resourceVersion``) of an object an earlier Create of
    the same plan makes; the executor substitutes it in later actions' bodies (the CronJob's
    ``status.active`` names the Job it just created)."""
    return f"$created:{kind}/{name}:{field}"


def resolve_created(value: Any, created: Mapping[tuple[str, str], Mapping[str, Any]]) -> Any:
    """Replace ``created_field`` placeholders inside ``value`` by the created objects' metadata."""
    if isinstance(value, str) and value.startswith("$created:"):
        ident, _, field = value[len("$created:"):].rpartition(":")
        kind, _, name = ident.partition("/")
        obj = created.get((kind, name))
        if obj is not None:
            return str((obj.get("metadata") or {}).get(field) or "")
        return value
    if isinstance(value, dict):
        return {k: resolve_created(v, created) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_created(v, created) for v in value]
    return value


def event(obj: Mapping[str, Any], type_: str, reason: str, message: str) -> Emit:
    return Emit(ref_of(obj), type_, reason, message)


@dataclasses.dataclass
class Result:
    """What one sync wants done; ``requeue_after`` seconds (None: only on the next event/resync)."""

    actions: list[Action] = dataclasses.field(default_factory=list)
    requeue_after: float | None = None

    def add(self, *actions: Action) -> None:
        self.actions.extend(actions)

    def requeue(self, after: float) -> None:
        after = max(0.0, after)
        if self.requeue_after is None or after < self.requeue_after:
            self.requeue_after = after

    def writes(self) -> list[Action]:
        return [a for a in self.actions if not isinstance(a, Emit)]

    def events(self) -> list[Emit]:
        return [a for a in self.actions if isinstance(a, Emit)]
