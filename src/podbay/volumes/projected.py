"""SetUp/TearDown of configMap, secret, downwardAPI and projected volumes.

Upstream each plugin wraps an emptyDir (configMap on disk, secret/downwardAPI/projected with medium
Memory, i.e. a tmpfs) and then projects its payload with the AtomicWriter. The payload itself is
computed by podbay.core.projection; this module only does the filesystem part.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from podbay.core.projection import WRAPPER_MEDIUM, FileProjection
from podbay.errors import MountFailure, PermanentError
from podbay.sys import mount as sysmount
from podbay.volumes.atomic_writer import write_payload
from podbay.volumes.fsutil import change_group, ensure_pod_dir, setup_volume_root, unmount_and_remove
from podbay.volumes.plan import setup_failed
from podbay.volumes.subpath import cleanup_subpaths

ROOT_MODE = 0o777  # the wrapped emptyDir's directory mode (a tmpfs root is the kernel's 1777)
RO_MASK = 0o440  # SetVolumeOwnership mask for read-only volumes


def volume_dir(pod_dir: Path | str, plugin: str, name: str) -> Path:
    if plugin not in WRAPPER_MEDIUM:
        raise PermanentError(f"unknown atomic-writer volume plugin {plugin!r}")
    return Path(pod_dir) / "volumes" / plugin / name


def _is_tmpfs_mount(path: Path) -> bool:
    return sysmount.fs_type_magic(str(path)) == sysmount.TMPFS_MAGIC and sysmount.is_mount_point(str(path))


def _setup_root(path: Path, memory: bool, size_bytes: int | None) -> None:
    if memory and _is_tmpfs_mount(path):
        return  # already set up (agent restart, resync)
    setup_volume_root(path, ROOT_MODE)
    if memory:
        # No mode=: the tmpfs root keeps the kernel's 1777 like the kubelet's wrapped emptyDir.
        sysmount.mount("tmpfs", str(path), "tmpfs", 0, f"size={size_bytes}" if size_bytes else None)


def setup_projected_volume(
    pod_dir: Path | str,
    plugin: str,
    name: str,
    payload: Mapping[str, FileProjection],
    *,
    medium: str | None = None,
    size_bytes: int | None = None,
    fs_group: int | None = None,
) -> str:
    """Create (or refresh) the volume and return its host path. Idempotent.

    Errors come back as PermanentError `MountVolume.SetUp failed for volume "<name>" : ...`; the
    caller wraps payload errors from core.projection the same way (plan.setup_failed).

    medium defaults to the upstream wrapper's ("" for configMap, "Memory" for the others);
    size_bytes is the tmpfs size (the caller passes min(node allocatable, pod memory limit)).
    """
    pod_dir = Path(pod_dir)
    path = volume_dir(pod_dir, plugin, name)
    memory = (WRAPPER_MEDIUM[plugin] if medium is None else medium) == "Memory"
    ensure_pod_dir(pod_dir)
    (pod_dir / "volumes" / plugin).mkdir(mode=0o750, exist_ok=True)
    try:
        _setup_root(path, memory, size_bytes)
        update_projected_volume(pod_dir, plugin, name, payload, fs_group=fs_group)
    except (OSError, MountFailure, PermanentError) as exc:
        raise setup_failed(name, str(exc)) from exc
    return str(path)


def update_projected_volume(
    pod_dir: Path | str,
    plugin: str,
    name: str,
    payload: Mapping[str, FileProjection],
    *,
    fs_group: int | None = None,
) -> bool:
    """Re-project the payload (configMap/secret/labels changed); True if anything changed on disk."""
    path = volume_dir(pod_dir, plugin, name)
    if not path.is_dir() or path.is_symlink():
        raise PermanentError(f"volume {name} is not set up at {path}")

    def set_perms(ts_dir: Path) -> None:
        assert fs_group is not None
        set_readonly_ownership(path, ts_dir, fs_group)

    return write_payload(path, payload, set_perms=set_perms if fs_group is not None else None)


def set_readonly_ownership(root: Path, ts_dir: Path, gid: int) -> None:
    """SetVolumeOwnership for a read-only volume: group gid, g+r (dirs also g+x and setgid).

    Applied to the volume root and the new timestamped dir before it becomes visible; entries are
    opened O_NOFOLLOW and changed through their fd, symlinks are only lchown'ed.
    """
    change_group(None, str(root), gid, RO_MASK)
    change_group(None, str(ts_dir), gid, RO_MASK)
    for _top, dirs, files, dfd in os.fwalk(ts_dir, follow_symlinks=False):
        for entry in [*dirs, *files]:
            change_group(dfd, entry, gid, RO_MASK)


def teardown_projected_volume(pod_dir: Path | str, plugin: str, name: str) -> None:
    """Unmount subPath binds and the tmpfs (if any), then remove the tree. Idempotent."""
    pod_dir = Path(pod_dir)
    path = volume_dir(pod_dir, plugin, name)
    cleanup_subpaths(pod_dir, name)
    unmount_and_remove(path, _is_tmpfs_mount)
