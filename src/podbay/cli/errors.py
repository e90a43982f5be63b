"""How the CLI words failures: one line on stderr, kubectl's grammar, exit 1 (never a traceback)."""

from __future__ import annotations

from typing import Any


class CliError(Exception):
    """An expected failure; ``str()`` is the whole line printed (``error: ...``)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def fail(message: str) -> CliError:
    return CliError(message if message.startswith("error: ") else f"error: {message}")


def server_error_line(status: dict[str, Any]) -> str:
    """kubectl's StandardErrorMessage for an API Status."""
    message = str(status.get("message") or "")
    reason = str(status.get("reason") or "")
    if reason == "Unauthorized":
        return f"error: You must be logged in to the server ({message})"
    if reason:
        return f"Error from server ({reason}): {message}"
    return f"Error from server: {message}"


def with_source(status: dict[str, Any], verb: str, source: str) -> dict[str, Any]:
    """kubectl's AddSourceToErr: ``error when creating "pod.yaml": ...``."""
    if not source:
        return status
    return {**status, "message": f'error when {verb} "{source}": {status.get("message", "")}'}
