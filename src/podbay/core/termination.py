"""Termination messages (kuberuntime_container.go ``getTerminationMessage`` and
``readLastStringFromContainerLogs``).

The container writes ``terminationMessagePath`` (a fresh 0666 file per attempt); on exit its last
4096 bytes become ``state.terminated.message``. With ``FallbackToLogsOnError``, a non-zero exit
with an empty or missing file uses the container's log instead: the last 80 lines, of which the
last 2048 bytes survive. The per-pod budget (12288 bytes shared by all containers) is applied when
the status is generated (``core.status``).
"""

from __future__ import annotations

from collections.abc import Iterable

from podbay.core import crilog

MAX_FILE_BYTES = 4 * 1024          # MaxContainerTerminationMessageLength
MAX_LOG_LINES = 80                 # MaxContainerTerminationMessageLogLines
MAX_LOG_BYTES = 2 * 1024           # MaxContainerTerminationMessageLogLength


def from_file(data: bytes) -> str:
    return data[-MAX_FILE_BYTES:].decode("utf-8", "replace")


def from_log(lines: Iterable[str]) -> str:
    """The last 80 log lines as ``kubectl logs`` prints them, then only their last 2048 bytes."""
    parsed = crilog.tail(list(crilog.parse(lines, flush=True)), MAX_LOG_LINES)
    text = "".join(crilog.render(line, False) for line in parsed).encode("utf-8", "replace")
    return text[-MAX_LOG_BYTES:].decode("utf-8", "ignore")


def falls_back(policy: str, exit_code: int | None, reason: str) -> bool:
    return policy == "FallbackToLogsOnError" and exit_code != 0 and reason != "ContainerCannotRun"


def message(policy: str, exit_code: int | None, reason: str, file_data: bytes | None,
            log_lines: Iterable[str] | None) -> str:
    """file_data None: no such file; log_lines are read only when needed (pass a lazy iterable)."""
    text = from_file(file_data) if file_data is not None else ""
    if text or not falls_back(policy, exit_code, reason):
        return text
    return from_log(log_lines or [])
