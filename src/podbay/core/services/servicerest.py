"""What the API server's Service REST storage does around a write (pure): prepare, validate,
allocate (pkg/registry/core/service/storage: ``beginCreate``/``beginUpdate`` + the allocators).

The registry's Service strategy calls these with every *other* stored Service; they return the
object to store or raise the API server's error (422 Invalid with field causes; a full range is an
internal error, as upstream).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

from podbay.api import services as api
from podbay.core.services.allocation import AllocationFailed, ServiceNetwork, allocate
from podbay.errors import StatusError, ValidationError

Obj = dict[str, Any]


class ServiceAllocationError(StatusError):
    """No address or port left in the range: the API server answers 500 InternalError."""

    reason = "InternalError"
    code = 500


def _name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _raise(obj: Obj, exc: AllocationFailed) -> None:
    if exc.causes:
        raise ValidationError("Service", _name(obj), exc.causes) from None
    raise ServiceAllocationError(f"Internal error occurred: {exc}") from None


def create(obj: Obj, others: Iterable[Obj], net: ServiceNetwork, rand: random.Random | None = None) -> Obj:
    svc = api.prepare_for_create(obj)
    errs = api.validate_service(svc)
    if errs:
        raise ValidationError("Service", _name(svc), errs)
    try:
        return allocate(svc, None, others, net, rand)
    except AllocationFailed as exc:
        _raise(svc, exc)
        raise  # unreachable


def update(new: Obj, old: Obj, others: Iterable[Obj], net: ServiceNetwork, rand: random.Random | None = None) -> Obj:
    svc = api.prepare_for_update(new, old)
    api.drop_type_dependent_fields(svc, old)
    errs = api.validate_service_update(svc, old)
    if errs:
        raise ValidationError("Service", _name(svc), errs)
    try:
        return allocate(svc, old, others, net, rand)
    except AllocationFailed as exc:
        _raise(svc, exc)
        raise  # unreachable


def update_status(new: Obj, old: Obj) -> Obj:
    """The /status subresource: only status changes (the spec stays as stored)."""
    out = dict(old)
    out["metadata"] = new.get("metadata") or old.get("metadata")
    out["status"] = api.default_service({**old, "status": new.get("status") or {}}).get("status") or {}
    errs = api.validate_service_status_update(out, old)
    if errs:
        raise ValidationError("Service", _name(out), errs)
    return out
