"""Small filesystem helpers for the volume plugins: pod dir layout, safe removal, Go-style errors."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from podbay.errors import MountFailure
from podbay.sys.mount import mounts_under

POD_DIR_MODE = 0o750


def go_error(op: str, exc: OSError) -> str:
    """Format an OSError the way Go's *PathError prints (`mkdir /x: no such file or directory`)."""
    reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
    return f"{op} {exc.filename}: {reason}"


def ensure_dir(path: Path, mode: int = POD_DIR_MODE) -> None:
    """Create path (parents with default perms) and force exactly `mode` on it if we created it."""
    if path.is_dir():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode)
    except FileExistsError:
        return
    os.chmod(path, mode)  # the umask may have cleared bits


def ensure_pod_dir(pod_dir: Path) -> None:
    """pods/<uid>, its volumes/ and plugins/ dirs, 0750 like the kubelet's makePodDataDirs."""
    for d in (pod_dir, pod_dir / "volumes", pod_dir / "plugins"):
        ensure_dir(d)


def remove_tree(path: Path) -> None:
    """rm -rf that never follows symlinks and never crosses into another mount.

    Refuses (MountFailure) if anything is still mounted at or below path: a bind mount of host
    data under the pod dir must never be emptied by a recursive delete.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(path)
        return
    busy = mounts_under(os.path.realpath(path))
    if busy:
        raise MountFailure(f"cannot delete directory {path}: it contains mount points {busy}")
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        _remove_contents(fd, st.st_dev, str(path))
    finally:
        os.close(fd)
    os.rmdir(path)


def _remove_contents(dir_fd: int, dev: int, where: str) -> None:
    for name in os.listdir(dir_fd):
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            continue
        if not stat.S_ISDIR(st.st_mode):
            os.unlink(name, dir_fd=dir_fd)
            continue
        if st.st_dev != dev:
            raise MountFailure(f"cannot delete directory {where}/{name}: it is a mount point")
        child = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
        try:
            _remove_contents(child, dev, f"{where}/{name}")
        finally:
            os.close(child)
        os.rmdir(name, dir_fd=dir_fd)
