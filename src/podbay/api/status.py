"""Kubernetes ``Status`` objects for API errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from podbay.api.fielderror import FieldError


def status_object(
    code: int, reason: str, message: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A failed ``v1.Status`` as the apiserver returns it."""
    out: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details is not None:
        out["details"] = details
    out["code"] = code
    return out


def invalid_message(kind: str, name: str, errors: Sequence[FieldError | str]) -> str:
    """``Pod "x" is invalid: <err>`` or ``[<err1>, <err2>]``; identical strings collapse."""
    bodies = list(dict.fromkeys(str(e) for e in errors))
    joined = bodies[0] if len(bodies) == 1 else "[" + ", ".join(bodies) + "]"
    return f'{kind} "{name}" is invalid: {joined}'


def invalid_status(kind: str, name: str, errors: Sequence[FieldError]) -> dict[str, Any]:
    """HTTP 422 ``Invalid`` with one cause per field error (apierrors.NewInvalid)."""
    details = {"name": name, "kind": kind, "causes": [e.cause() for e in errors]}
    return status_object(422, "Invalid", invalid_message(kind, name, errors), details)
