"""emptyDir SetUp/TearDown exactly like the kubelet's plugin (SEMANTICS §1.2–§1.8)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from podbay.api.quantity import format_quantity, parse_quantity
from podbay.errors import MountFailure
from podbay.sys import mount as sysmount
from podbay.volumes.fsutil import (
    EXEC_MASK,
    change_group,
    ensure_dir,
    ensure_pod_dir,
    remove_tree,
    setup_volume_root,
    unmount_and_remove,
)
from podbay.volumes.plan import (
    MEDIUM_DEFAULT,
    MEDIUM_HUGEPAGES,
    MEDIUM_MEMORY,
    VolumePlan,
    is_hugepage_medium,
    setup_failed,
)
from podbay.volumes.subpath import cleanup_subpaths

PLUGIN_DIR = "kubernetes.io~empty-dir"
DEFAULT_PERM = 0o777
RW_MASK = 0o660


def volume_dir(pod_dir: Path | str, name: str) -> Path:
    return Path(pod_dir) / "volumes" / PLUGIN_DIR / name


def meta_dir(pod_dir: Path | str, name: str) -> Path:
    return Path(pod_dir) / "plugins" / PLUGIN_DIR / name


def mount_medium(path: Path) -> str | None:
    """Medium of a live mount at path ("Memory" / "HugePages"), None if it is not such a mount point."""
    magic = sysmount.fs_type_magic(str(path))
    if magic not in (sysmount.TMPFS_MAGIC, sysmount.HUGETLBFS_MAGIC):
        return None
    if not sysmount.is_mount_point(str(path)):
        return None
    return MEDIUM_MEMORY if magic == sysmount.TMPFS_MAGIC else MEDIUM_HUGEPAGES


def _mounted_pagesize(path: Path) -> str | None:
    real = os.path.realpath(path)
    for m in reversed(sysmount.mounts()):  # the last entry for a point is the visible one
        if m.mount_point == real:
            for opt in m.super_options.split(","):
                if opt.startswith("pagesize="):
                    return opt[len("pagesize="):]
            return None
    return None


def setup_empty_dir(
    plan: VolumePlan,
    pod_dir: Path | str,
    *,
    fs_group: int | None = None,
    fs_group_change_policy: str | None = None,
) -> str:
    """Create (or find) the volume and return its host path. Idempotent across agent restarts."""
    pod_dir = Path(pod_dir)
    ensure_pod_dir(pod_dir)
    path = volume_dir(pod_dir, plan.name)
    meta = meta_dir(pod_dir, plan.name)
    ready = meta / "ready"
    if ready.exists():
        if plan.medium == MEDIUM_MEMORY and mount_medium(path) == MEDIUM_MEMORY:
            return str(path)
        if plan.medium == MEDIUM_DEFAULT:
            if path.is_dir():
                return str(path)
            remove_tree(meta)  # stale marker: the directory vanished, set it up again
    try:
        if plan.medium == MEDIUM_DEFAULT:
            setup_volume_root(path, DEFAULT_PERM)
        elif plan.medium == MEDIUM_MEMORY:
            _setup_tmpfs(path, plan.size_bytes or 0)
        elif is_hugepage_medium(plan.medium):
            _setup_hugepages(path, plan, pod_dir.name)
        else:
            raise ValueError(f'unknown storage medium "{plan.medium}"')
    except (ValueError, OSError, MountFailure) as exc:
        raise setup_failed(plan.name, str(exc)) from exc
    if fs_group is not None:
        set_volume_ownership(path, fs_group, fs_group_change_policy)
    ensure_dir(meta)
    ready.touch()
    return str(path)


def _noswap_supported() -> bool:
    parts = os.uname().release.split(".")
    try:
        return (int(parts[0]), int(parts[1].split("-")[0])) >= (6, 4)
    except (ValueError, IndexError):
        return False


def _setup_tmpfs(path: Path, size: int) -> None:
    setup_volume_root(path, DEFAULT_PERM)
    if mount_medium(path) == MEDIUM_MEMORY:
        return
    # No mode=/uid=/gid=: the tmpfs root keeps the kernel default 1777 like the kubelet's.
    opts = [f"size={size}"] if size > 0 else []
    if _noswap_supported():
        try:
            sysmount.mount("tmpfs", str(path), "tmpfs", 0, ",".join([*opts, "noswap"]))
            return
        except MountFailure:
            pass  # kernel without noswap support after all; mount plainly
    sysmount.mount("tmpfs", str(path), "tmpfs", 0, ",".join(opts) or None)


def _setup_hugepages(path: Path, plan: VolumePlan, pod_uid: str) -> None:
    setup_volume_root(path, DEFAULT_PERM)
    if mount_medium(path) == MEDIUM_HUGEPAGES:
        if plan.medium == MEDIUM_HUGEPAGES:
            return
        mounted = _mounted_pagesize(path)
        if mounted is None:
            raise ValueError(f"error getting mount page size for a path {path}")
        # The kernel prints binary sizes as 2M / 1G.
        mounted_value = parse_quantity(mounted + ("i" if mounted[-1:] in "KMGTPE" else ""))
        wanted_str = plan.medium[len("HugePages-"):]
        wanted = parse_quantity(wanted_str)
        if mounted_value != wanted:
            raise ValueError(
                f"pod {pod_uid}: mounted dir {path} pagesize '{format_quantity(mounted_value, 'BinarySI')}' "
                f"and requested medium size '{format_quantity(wanted, 'BinarySI')}' differ"
            )
        return
    sysmount.mount("nodev", str(path), "hugetlbfs", 0, f"pagesize={plan.hugepage_size}")


# --- fsGroup (SetVolumeOwnership) ------------------------------------------------------------------

def _needs_ownership_change(root: Path, gid: int) -> bool:
    try:
        st = os.stat(root)
    except OSError:
        return True
    if st.st_gid != gid or not stat.S_ISDIR(st.st_mode):
        return True
    want = RW_MASK | EXEC_MASK
    return (st.st_mode & want) != want or not st.st_mode & stat.S_ISGID


def set_volume_ownership(root: Path, gid: int, policy: str | None = None) -> None:
    """lchown to the fsGroup gid and add g+rw (dirs also x and setgid) on the whole tree.

    Symlinks are re-owned (lchown) but never chmod'ed. Each entry is opened O_PATH|O_NOFOLLOW and
    changed through /proc/self/fd, so a container swapping a file for a symlink cannot redirect us.
    Errors are ignored, as in the kubelet.
    """
    if policy == "OnRootMismatch" and not _needs_ownership_change(root, gid):
        return
    try:
        _change_entry(None, str(root), gid)
        for _top, dirs, files, dfd in os.fwalk(root, follow_symlinks=False):
            for name in [*dirs, *files]:
                _change_entry(dfd, name, gid)
    except OSError:
        pass


def _change_entry(dir_fd: int | None, name: str, gid: int) -> None:
    try:
        change_group(dir_fd, name, gid, RW_MASK)
    except OSError:
        pass  # the kubelet ignores per-file errors and goes on with the walk


# --- TearDown --------------------------------------------------------------------------------------

def teardown_empty_dir(name: str, pod_dir: Path | str) -> None:
    """Remove the marker, unmount a live tmpfs/hugetlbfs (detected from the mount, not the spec), rm -rf."""
    pod_dir = Path(pod_dir)
    cleanup_subpaths(pod_dir, name)  # subPath binds of this volume go first, as in the kubelet
    remove_tree(meta_dir(pod_dir, name))
    # Anything a privileged container mounted below the volume goes first, then the medium mount
    # itself; only then is the tree deleted.
    unmount_and_remove(volume_dir(pod_dir, name), lambda p: mount_medium(p) is not None)
