"""Safe subPath bind mounts (SEMANTICS §4.4), hardened against CVE-2017-1002101 and CVE-2021-25741.

The user-controlled volume may contain symlinks planted by a container. Paths are resolved once,
checked to stay inside the volume, then re-opened one component at a time with O_NOFOLLOW; the
bind mount takes `/proc/self/fd/<fd>` as source so the kernel binds exactly the inode we checked.
Details of a refusal are kept in the exception's __cause__ (for logs), never shown to the user.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from podbay.errors import MountFailure, PermanentError
from podbay.sys import mount as sysmount
from podbay.volumes.fsutil import ensure_dir, remove_tree

SUBPATH_DIR = "volume-subpaths"
_DIR_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC
_PATH_FLAGS = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC


class SubPathDenied(Exception):
    """Internal detail of why a subPath was refused (chained as __cause__)."""


def bind_target(pod_dir: Path | str, vol: str, ctr: str, idx: int) -> Path:
    return Path(pod_dir) / SUBPATH_DIR / vol / ctr / str(idx)


def _within(path: str, base: str) -> bool:
    rel = os.path.relpath(path, base)
    return rel != ".." and not rel.startswith("../")


def _safe_open(pathname: str, base: str) -> int:
    """doSafeOpen: O_PATH fd of pathname reached from base without following any symlink."""
    pathname, base = os.path.normpath(pathname), os.path.normpath(base)
    if not _within(pathname, base):
        raise SubPathDenied(f"path {pathname} is outside of allowed base {base}")
    rel = os.path.relpath(pathname, base)
    segments = [] if rel == "." else rel.split("/")
    try:
        fd = os.open(base, _DIR_FLAGS)  # the base itself must not be a symlink
    except OSError as exc:
        raise SubPathDenied(f"cannot open directory {base}: {exc.strerror}") from exc
    current = base
    try:
        for seg in segments:
            current = os.path.join(current, seg)
            try:  # trailing slash triggers an automount, if any; errors are irrelevant
                os.stat(seg + "/", dir_fd=fd, follow_symlinks=False)
            except OSError:
                pass
            try:
                child = os.open(seg, _PATH_FLAGS, dir_fd=fd)
            except OSError as exc:
                raise SubPathDenied(f"cannot open {current}: {exc.strerror}") from exc
            os.close(fd)
            fd = child
            if stat.S_ISLNK(os.fstat(fd).st_mode):
                raise SubPathDenied(f"unexpected symlink found {current}")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _existing_prefix(base: str, pathname: str) -> tuple[str, list[str]]:
    """findExistingPrefix: longest existing prefix (symlinks followed) and the parts still missing."""
    rel = os.path.relpath(pathname, base)
    parts = [] if rel == "." else rel.split("/")
    fd = os.open(base, os.O_RDONLY | os.O_CLOEXEC)
    current = base
    try:
        for i, part in enumerate(parts):
            try:
                child = os.open(part, os.O_PATH | os.O_CLOEXEC, dir_fd=fd)  # O_PATH: no hang on a fifo
            except FileNotFoundError:
                return current, parts[i:]
            os.close(fd)
            fd = child
            current = os.path.join(current, part)
    finally:
        os.close(fd)
    return pathname, []


def safe_make_dir(subpath: str, base: str, mode: int) -> None:
    """doSafeMakeDir: create base/subpath component-wise, each dir fchmod'ed to `mode`."""
    pathname = os.path.join(base, subpath)
    existing, to_create = _existing_prefix(base, pathname)
    try:
        full = os.path.realpath(existing, strict=True)
    except OSError as exc:
        raise SubPathDenied(f"error opening directory {existing}: {exc}") from exc
    if not _within(full, os.path.realpath(base)):
        raise SubPathDenied(f"path {full} is outside of allowed base {base}")
    fd = _safe_open(full, os.path.realpath(base))
    try:
        # Re-open as a real directory fd (O_PATH cannot be used for mkdirat on every kernel).
        parent = os.open(".", _DIR_FLAGS, dir_fd=fd)
    finally:
        os.close(fd)
    current = full
    try:
        for part in to_create:
            current = os.path.join(current, part)
            try:
                os.mkdir(part, mode & 0o777, dir_fd=parent)
            except OSError as exc:
                raise SubPathDenied(f"cannot create directory {current}: {exc.strerror}") from exc
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=parent)
            except OSError as exc:
                raise SubPathDenied(f"cannot open {current}: {exc.strerror}") from exc
            os.close(parent)
            parent = child
            os.fchmod(parent, mode)  # mkdirat obeys the umask and drops setgid/sticky
    finally:
        os.close(parent)


def _same_inode(fd: int, target: Path) -> bool:
    try:
        a, b = os.fstat(fd), os.stat(target)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _bind(volume_path: str, host_path: str, target: Path) -> str:
    """doBindSubPath."""
    try:
        real_volume = os.path.realpath(volume_path, strict=True)
        real_path = os.path.realpath(host_path, strict=True)
    except OSError as exc:
        raise SubPathDenied(f"error resolving symlinks in {host_path!r}: {exc}") from exc
    if not _within(real_path, real_volume):
        raise SubPathDenied(f'subpath "{real_path}" not within volume path "{real_volume}"')
    fd = _safe_open(real_path, real_volume)
    try:
        return bind_pinned(fd, target)
    except MountFailure as exc:
        raise SubPathDenied(f"error mounting {real_path}: {exc}") from exc
    finally:
        os.close(fd)


def bind_pinned(fd: int, target: Path, *, recursive: bool = False) -> str:
    """Bind exactly the inode `fd` refers to at `target` (`mount --bind /proc/self/fd/<fd>`), so no path
    lookup happens between the check that opened fd and the mount. An existing bind of the same inode
    is reused (container restart); a stale one is replaced. The target (a dir, or an empty file for any
    other source type) and its two parents are created 0750."""
    if sysmount.is_mount_point(str(target)):
        if _same_inode(fd, target):
            return str(target)
        sysmount.umount(str(target))
    for d in (target.parent.parent.parent, target.parent.parent, target.parent):
        ensure_dir(d)  # <kind>/<vol>/<ctr>, each 0750
    is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
    if os.path.lexists(target) and target.is_dir() != is_dir:
        _remove_target(target)  # the source changed type since the last start
    if is_dir:
        try:
            target.mkdir(0o750)
        except FileExistsError:
            pass
    elif not target.exists():
        # An empty file is a valid target for any non-directory source (file, socket, device...).
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, 0o640))
    try:
        sysmount.mount(f"/proc/self/fd/{fd}", str(target), None,
                       sysmount.MS_BIND | (sysmount.MS_REC if recursive else 0))
    except MountFailure:
        _remove_target(target)
        raise
    return str(target)


def prepare_subpath(volume_path: str, subpath: str, pod_dir: Path | str, vol: str, ctr: str, idx: int) -> str:
    """Return the host path to bind into the container for volumeMount `idx` of container `ctr`."""
    if os.path.isabs(subpath):
        raise PermanentError(f"error SubPath `{subpath}` must not be an absolute path")
    if ".." in subpath.split("/"):
        raise PermanentError(f"unable to provision SubPath `{subpath}`: must not contain '..'")
    host_path = os.path.join(volume_path, subpath)
    if not os.path.exists(host_path):
        try:
            safe_make_dir(subpath, volume_path, stat.S_IMODE(os.stat(volume_path).st_mode))
        except (SubPathDenied, OSError) as exc:
            raise PermanentError(
                f'failed to create subPath directory for volumeMount "{vol}" of container "{ctr}"'
            ) from exc
    try:
        return _bind(volume_path, host_path, bind_target(pod_dir, vol, ctr, idx))
    except (SubPathDenied, OSError, MountFailure) as exc:
        raise PermanentError(f'failed to prepare subPath for volumeMount "{vol}" of container "{ctr}"') from exc


def _remove_target(target: Path) -> None:
    """rmdir/unlink only: a still-mounted target must never be emptied recursively."""
    try:
        if target.is_dir() and not target.is_symlink():
            target.rmdir()
        else:
            target.unlink()
    except FileNotFoundError:
        pass


def cleanup_subpaths(pod_dir: Path | str, vol: str | None = None) -> None:
    """Unmount and remove volume-subpaths/<vol>/<ctr>/<idx> (all volumes when vol is None)."""
    cleanup_binds(Path(pod_dir) / SUBPATH_DIR, vol)


def cleanup_binds(root: Path, vol: str | None = None) -> None:
    """Unmount and remove <root>/<vol>/<ctr>/<idx> binds (all volumes when vol is None), rmdir/unlink only."""
    top = root / vol if vol is not None else root
    if not top.exists():
        return
    sysmount.unmount_all_under(os.path.realpath(top))
    vol_dirs = [top] if vol is not None else [p for p in top.iterdir() if p.is_dir() and not p.is_symlink()]
    for vdir in vol_dirs:
        for cdir in list(vdir.iterdir()):
            if cdir.is_dir() and not cdir.is_symlink():
                for target in list(cdir.iterdir()):
                    _remove_target(target)
            _remove_target(cdir)
        _remove_target(vdir)
    if vol is None or not any(root.iterdir()):
        remove_tree(root)


# Contract name (docs/contracts.md).
prepare = prepare_subpath
