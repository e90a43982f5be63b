"""Carry out a controller's plan (``core.controllers.plan.Result``) through the ``Writer`` port.

Writes run in order; the first failure stops the plan (the controller requeues the object, as a
sync returns its first error). Consecutive creates of one ``batch`` run as ``slowStartBatch``;
a later update of an object this plan already wrote carries that write's resourceVersion;
``created_field`` placeholders get the created objects' uids; outcome events are recorded once a
write's result is known. A delete or patch of an object that is already gone is not an error (the
upstream controllers ignore NotFound there).
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from podbay.agent.controllers.ports import Writer
from podbay.core.controllers.plan import (
    Action,
    Create,
    Delete,
    Emit,
    Outcome,
    Patch,
    Result,
    Update,
    resolve_created,
)
from podbay.core.controllers.podtemplate import slow_start_batches
from podbay.errors import NotFound

Obj = dict[str, Any]


@dataclasses.dataclass
class Executed:
    error: str | None = None
    created: list[Obj] = dataclasses.field(default_factory=list)
    skipped_creates: int = 0      # creates of a slow-start group never attempted after a failure
    failed_creates: int = 0
    exception: BaseException | None = None


def _emit(writer: Writer, outcome: Outcome | None, ok: bool, component: str, name: str = "", error: str = "") -> None:
    if outcome is None:
        return
    tpl = outcome.success if ok else outcome.failure
    if tpl is None:
        return
    reason, msg = tpl
    writer.record_event(outcome.involved, "Normal" if ok else "Warning", reason,
                        msg.format(name=name, error=error), component)


def _key(body: Obj) -> tuple[str, str, str]:
    md = body.get("metadata") or {}
    return (str(body.get("kind") or ""), str(md.get("namespace") or ""), str(md.get("name") or ""))


def _write(writer: Writer, action: Action, state: dict[str, Any], component: str) -> None:
    created: dict[tuple[str, str], Obj] = state["created"]
    rvs: dict[tuple[str, str, str], str] = state["rvs"]
    if isinstance(action, Create):
        body = resolve_created(copy.deepcopy(action.body), created)
        try:
            made = writer.create(body)
        except Exception as exc:
            _emit(writer, action.outcome, False, component, error=str(exc))
            raise
        created[(str(made.get("kind") or body.get("kind") or ""), str((made.get("metadata") or {}).get("name") or ""))] = made
        state["made"].append(made)
        _emit(writer, action.outcome, True, component, name=str((made.get("metadata") or {}).get("name") or ""))
    elif isinstance(action, Update):
        body = resolve_created(copy.deepcopy(action.body), created)
        k = _key(body)
        if k in rvs:
            body.setdefault("metadata", {})["resourceVersion"] = rvs[k]
        try:
            made = writer.update(body, action.subresource)
        except Exception as exc:
            _emit(writer, action.outcome, False, component, name=k[2], error=str(exc))
            raise
        rvs[k] = str((made.get("metadata") or {}).get("resourceVersion") or "")
        _emit(writer, action.outcome, True, component, name=k[2])
    elif isinstance(action, Patch):
        try:
            made = writer.patch(action.target, action.patch, action.patch_type, action.subresource)
        except NotFound:
            return
        rvs[(action.target.kind, action.target.namespace, action.target.name)] = str(
            (made.get("metadata") or {}).get("resourceVersion") or "")
    elif isinstance(action, Delete):
        try:
            writer.delete(action.target, action.propagation, action.precondition_uid,
                          action.precondition_resource_version)
        except NotFound:
            _emit(writer, action.outcome, True, component, name=action.target.name)
            return
        except Exception as exc:
            _emit(writer, action.outcome, False, component, name=action.target.name, error=str(exc))
            raise
        _emit(writer, action.outcome, True, component, name=action.target.name)
    elif isinstance(action, Emit):
        writer.record_event(action.involved, action.type, action.reason, action.message, component)


def execute(result: Result, writer: Writer, component: str) -> Executed:
    out = Executed()
    state: dict[str, Any] = {"created": {}, "rvs": {}, "made": out.created}
    actions = list(result.actions)
    i = 0
    while i < len(actions):
        a = actions[i]
        if isinstance(a, Create) and a.batch:
            group = [a]
            while i + len(group) < len(actions):
                nxt = actions[i + len(group)]
                if not (isinstance(nxt, Create) and nxt.batch == a.batch):
                    break
                group.append(nxt)
            pos = 0
            for size in slow_start_batches(len(group)):
                errors = []
                for create in group[pos:pos + size]:
                    try:
                        _write(writer, create, state, component)
                    except Exception as exc:  # one bad sync never kills the controller
                        errors.append(exc)
                pos += size
                if errors:
                    out.failed_creates = len(errors)
                    out.skipped_creates = len(group) - pos
                    out.error = str(errors[0])
                    out.exception = errors[0]
                    return out
            i += len(group)
            continue
        try:
            _write(writer, a, state, component)
        except Exception as exc:
            out.error = str(exc)
            out.exception = exc
            if isinstance(a, Create):
                out.failed_creates = 1
            return out
        i += 1
    return out
