"""Small /proc readers: process start time (PID-reuse guard), liveness, boot id."""

from __future__ import annotations

import os


def _stat_after_comm(pid: int) -> list[str]:
    """Fields 3.. of /proc/<pid>/stat ([] if the process is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode(errors="replace")
    except OSError:
        return []
    # comm (field 2) may hold spaces and parentheses: split after the last ')'.
    return data.rpartition(")")[2].split()


def start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (clock ticks since boot), or None if the process is gone."""
    rest = _stat_after_comm(pid)
    try:
        return int(rest[19])
    except (IndexError, ValueError):
        return None


def state(pid: int) -> str | None:
    """Field 3 (R, S, D, Z, ...), or None if the process is gone."""
    rest = _stat_after_comm(pid)
    return rest[0] if rest else None


def is_alive(pid: int | None, expected_start: int | None) -> bool:
    """True if pid runs and (when known) is the same process that started at expected_start."""
    if not pid:
        return False
    rest = _stat_after_comm(pid)     # one read for both fields: the pod workers ask for every container
    if not rest or rest[0] in ("Z", "X"):
        return False
    if expected_start is None:
        return True
    try:
        return int(rest[19]) == expected_start
    except (IndexError, ValueError):
        return False


def boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return "unknown"


def reap_if_child(pid: int) -> None:
    """Collect an exited child we inherited as subreaper; harmless if pid is not our child."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass

