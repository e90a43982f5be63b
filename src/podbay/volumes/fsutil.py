"""Small filesystem helpers for the volume plugins: pod dir layout, safe removal, Go-style errors,
the volume root's mode, fsGroup changes and the unmount-then-delete teardown they share."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from podbay.sys.fileio import remove_tree
from podbay.sys.mount import mounts_under, umount

__all__ = ["remove_tree"]  # re-exported: the safe rm -rf lives in sys.fileio

POD_DIR_MODE = 0o750
EXEC_MASK = 0o110  # SetVolumeOwnership adds g+x (and setgid) on directories


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


def setup_volume_root(path: Path, mode: int) -> None:
    """MkdirAll then chmod to exactly ``mode`` whatever the umask, like emptyDir's setupDir.

    Only the rwx bits are compared, so setgid/sticky added by fsGroup or a tmpfs survive a re-setup.
    """
    path.mkdir(mode, parents=True, exist_ok=True)
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise NotADirectoryError(f"{path} is not a directory")
    if stat.S_IMODE(st.st_mode) & 0o777 != mode:
        os.chmod(path, mode)


def change_group(dir_fd: int | None, name: str, gid: int, mask: int) -> None:
    """One SetVolumeOwnership step: group ``gid`` and the ``mask`` bits (dirs also g+x and setgid).

    The entry is opened O_PATH|O_NOFOLLOW and changed through /proc/self/fd, so a container swapping a
    file for a symlink cannot redirect us; a symlink itself is only lchown'ed. Raises OSError.
    """
    fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        st = os.fstat(fd)
        if stat.S_ISLNK(st.st_mode):
            os.chown(name, -1, gid, dir_fd=dir_fd, follow_symlinks=False)
            return
        via = f"/proc/self/fd/{fd}"
        os.chown(via, -1, gid)
        dir_bits = EXEC_MASK | stat.S_ISGID if stat.S_ISDIR(st.st_mode) else 0
        os.chmod(via, stat.S_IMODE(st.st_mode) | mask | dir_bits)
    finally:
        os.close(fd)


def unmount_and_remove(path: Path, still_mounted: Callable[[Path], bool]) -> None:
    """TearDown of a volume dir that may be a mount: mounts below it go first (deepest first), then
    every mount stacked on it while ``still_mounted`` says so, then the tree. Idempotent.

    A stray symlink at path is unlinked, never followed.
    """
    if not os.path.lexists(path):
        return
    if path.is_symlink():
        path.unlink()
        return
    real = os.path.realpath(path)
    for point in mounts_under(real):
        if point != real:
            umount(point)
    while still_mounted(path) and umount(str(path)):
        pass  # stacked mounts of a crashed double set-up all go
    remove_tree(path)
