"""Kubelet container-log rotation as a plan (pkg/kubelet/logs/container_log_manager.go), pure.

When the live log reaches the size limit: drop the oldest rotated files so that, with the live file
and the one being rotated now, at most `max_files` remain; gzip every rotated file except the
newest (kept plain so shippers can finish reading it); rename the live file to
`<log>.<YYYYMMDD-HHMMSS>`; then the runtime reopens the log (conmon: `2 0 0` on its ctl FIFO).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

DEFAULT_MAX_SIZE = 10 * 1024 * 1024   # containerLogMaxSize 10Mi
DEFAULT_MAX_FILES = 5                 # containerLogMaxFiles


@dataclass(frozen=True)
class RotationPlan:
    delete: tuple[str, ...]
    compress: tuple[str, ...]
    rename_to: str


def rotated_name(log: str, now: float) -> str:
    return f"{log}.{time.strftime('%Y%m%d-%H%M%S', time.gmtime(now))}"


def plan_rotation(log: str, size: int, existing: list[str], now: float, max_size: int = DEFAULT_MAX_SIZE,
                  max_files: int = DEFAULT_MAX_FILES) -> RotationPlan | None:
    """`existing`: the rotated files of this log (`<log>.<stamp>[.gz]`); None when no rotation is due."""
    if size < max_size:
        return None
    rotated = sorted(f for f in existing if f.startswith(log + ".") and not f.endswith(".tmp"))
    keep = max(max_files - 2, 0)
    delete = tuple(rotated[:max(len(rotated) - keep, 0)])
    left = rotated[len(delete):]
    compress = tuple(f for f in left if not f.endswith(".gz"))
    target = rotated_name(log, now)
    while target in existing:
        now += 1
        target = rotated_name(log, now)
    return RotationPlan(delete=delete, compress=compress, rename_to=target)
