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
    st = state(pid)
    if st is None or st in ("Z", "X"):
        return False
    return expected_start is None or start_time(pid) == expected_start


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


def children(pid: int | None = None) -> list[int]:
    """Direct children of a process, all its threads included (/proc/<pid>/task/*/children)."""
    base = f"/proc/{pid or os.getpid()}/task"
    out: list[int] = []
    try:
        tasks = os.listdir(base)
    except OSError:
        return out
    for t in tasks:
        try:
            with open(f"{base}/{t}/children") as f:
                out += [int(c) for c in f.read().split()]
        except OSError:
            continue
    return out


def reap_container_orphans() -> list[int]:
    """Reap zombie children of ours that belong to a nested PID namespace (``NSpid`` has more than one
    level): processes a runtime exec left behind when it was killed, re-parented to us as subreaper.
    Until they are reaped, their container's PID 1 cannot finish exiting. Never one of our own
    subprocesses (those live in our namespace), so no waiter loses its exit status."""
    reaped = []
    for pid in children():
        try:
            with open(f"/proc/{pid}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        if not fields.get("State", "").strip().startswith("Z"):
            continue
        if len(fields.get("NSpid", "").split()) < 2:
            continue
        try:
            os.waitpid(pid, os.WNOHANG)
            reaped.append(pid)
        except ChildProcessError:
            pass
    return reaped
