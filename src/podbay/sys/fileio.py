"""Atomic file replacement (readers see the old or the new content, never a half-written file) and
the safe recursive delete (no symlink followed, no mount crossed)."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from podbay.errors import MountFailure


def atomic_write(path: Path, data: bytes, mode: int = 0o644, *, fsync: bool = False) -> None:
    """Write data to a temp file beside path, then rename it over path (the temp file never lingers)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)  # fchmod: the process umask must not narrow it
            f.write(data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


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
    from podbay.sys.mount import mounts_under  # ctypes: not for the callers that only atomic_write

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
