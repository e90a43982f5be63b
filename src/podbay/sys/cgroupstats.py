"""CPU and memory usage of cgroups and of the host, for metrics.k8s.io (cgroup v1/hybrid and v2).

Working set as the kubelet/cAdvisor counts it: usage minus inactive file pages.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _stat(path: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            k, _, v = line.partition(" ")
            with contextlib.suppress(ValueError):
                out[k] = int(v)
    return out


def _unified(root: Path) -> bool:
    return (root / "cgroup.controllers").exists()


def cpu_usage_ns(rel: str, root: Path = CGROUP_ROOT) -> int | None:
    """Total CPU time of cgroup ``rel`` (e.g. ``podbay/pod<uid>/<cid>``), in nanoseconds."""
    if _unified(root):
        usec = _stat(root / rel / "cpu.stat").get("usage_usec")
        return None if usec is None else usec * 1000
    for ctrl in ("cpuacct", "cpu,cpuacct", "cpuacct,cpu"):
        v = _read_int(root / ctrl / rel / "cpuacct.usage")
        if v is not None:
            return v
    return None


def memory_working_set(rel: str, root: Path = CGROUP_ROOT) -> int | None:
    if _unified(root):
        usage = _read_int(root / rel / "memory.current")
        inactive = _stat(root / rel / "memory.stat").get("inactive_file", 0)
    else:
        usage = _read_int(root / "memory" / rel / "memory.usage_in_bytes")
        inactive = _stat(root / "memory" / rel / "memory.stat").get("total_inactive_file", 0)
    if usage is None:
        return None
    return max(0, usage - inactive)


def host_cpu_ns() -> int | None:
    """CPU time of the whole host (all CPUs, user+nice+system+irq+softirq+steal), nanoseconds."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    values = [int(x) for x in fields[1:]]
    busy = sum(values[i] for i in (0, 1, 2, 5, 6, 7) if i < len(values))
    hz = os.sysconf("SC_CLK_TCK")
    return busy * 1_000_000_000 // hz


def host_memory_working_set() -> int | None:
    info: dict[str, int] = {}
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                k, _, v = line.partition(":")
                info[k] = int(v.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    if "MemTotal" not in info or "MemAvailable" not in info:
        return None
    return info["MemTotal"] - info["MemAvailable"]
