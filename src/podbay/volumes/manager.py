"""Pod-level volume set-up, teardown and usage: the volume manager's part of the kubelet."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from podbay.volumes.emptydir import PLUGIN_DIR, mount_medium, setup_empty_dir, teardown_empty_dir
from podbay.volumes.fsutil import ensure_pod_dir, remove_tree
from podbay.volumes.hostpath import PIN_DIR, cleanup_pins, setup_host_path
from podbay.volumes.plan import EMPTY_DIR, HOST_PATH, VolumePlan, plan_volumes
from podbay.volumes.subpath import SUBPATH_DIR, cleanup_subpaths


def setup(
    plan: VolumePlan,
    pod_dir: Path | str,
    *,
    fs_group: int | None = None,
    fs_group_change_policy: str | None = None,
    allowed_host_prefixes: Sequence[str] | None = None,
) -> str:
    """Set up one planned volume; return its host path (idempotent)."""
    if plan.plugin == EMPTY_DIR:
        return setup_empty_dir(plan, pod_dir, fs_group=fs_group, fs_group_change_policy=fs_group_change_policy)
    if plan.plugin == HOST_PATH:
        return setup_host_path(plan, allowed_host_prefixes)
    raise AssertionError(f"unplanned plugin {plan.plugin}")  # plan_volumes rejects everything else


def setup_pod_volumes(
    pod: dict[str, Any],
    pod_dir: Path | str,
    node_allocatable_bytes: int,
    allowed_host_prefixes: Sequence[str] | None = None,
) -> dict[str, str]:
    """Set up every volume of the (defaulted) pod; return volume name -> host path."""
    plans = plan_volumes(pod, node_allocatable_bytes)  # raises before anything touches the disk
    pod_dir = Path(pod_dir)
    ensure_pod_dir(pod_dir)
    sc = (pod.get("spec") or {}).get("securityContext") or {}
    fs_group = sc.get("fsGroup")
    policy = sc.get("fsGroupChangePolicy")
    return {
        p.name: setup(p, pod_dir, fs_group=None if fs_group is None else int(fs_group),
                      fs_group_change_policy=policy, allowed_host_prefixes=allowed_host_prefixes)
        for p in plans
    }


def teardown_pod_volumes(pod_dir: Path | str) -> None:
    """Remove subPath binds and hostPath pins, then every emptyDir found on disk (no spec needed), then
    the volume dirs.

    hostPath data is never touched: it is not under the pod dir and nothing here follows symlinks
    or crosses mounts.
    """
    pod_dir = Path(pod_dir)
    if not pod_dir.exists():
        return
    cleanup_subpaths(pod_dir)
    cleanup_pins(pod_dir)
    ed_root = pod_dir / "volumes" / PLUGIN_DIR
    if ed_root.is_dir() and not ed_root.is_symlink():
        for entry in sorted(ed_root.iterdir()):
            teardown_empty_dir(entry.name, pod_dir)
    for d in ("volumes", "plugins", SUBPATH_DIR, PIN_DIR):
        remove_tree(pod_dir / d)


teardown_pod = teardown_pod_volumes


def volume_usage(path: Path | str) -> tuple[int, int]:
    """(bytes used, inodes used) like the kubelet's du provider; statvfs for a tmpfs/hugetlbfs volume."""
    path = Path(path)
    if mount_medium(path) is not None:
        vfs = os.statvfs(path)
        return (vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize, vfs.f_files - vfs.f_ffree
    try:
        root = os.lstat(path)
    except FileNotFoundError:
        return 0, 0
    seen: set[tuple[int, int]] = set()
    total = inodes = 0
    stack = [str(path)]
    while stack:
        current = stack.pop()
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            continue
        if st.st_dev != root.st_dev:
            continue  # one filesystem, like du -x
        key = (st.st_dev, st.st_ino)
        if key in seen:
            continue  # hard links count once
        seen.add(key)
        total += st.st_blocks * 512
        inodes += 1
        if stat.S_ISDIR(st.st_mode):
            try:
                stack.extend(os.path.join(current, n) for n in os.listdir(current))
            except OSError:
                pass
    return total, inodes


def volume_capacity(path: Path | str) -> tuple[int, int]:
    """(capacity bytes, available bytes) of the filesystem holding the volume (statfs)."""
    vfs = os.statvfs(path)
    return vfs.f_blocks * vfs.f_frsize, vfs.f_bavail * vfs.f_frsize


__all__ = [
    "setup", "setup_pod_volumes", "teardown_pod", "teardown_pod_volumes", "volume_capacity", "volume_usage",
]
