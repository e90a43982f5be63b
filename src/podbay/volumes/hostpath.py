"""hostPath SetUp: the kubelet's type checks (SEMANTICS §3.2). No mount; TearDown never deletes.

With allowed prefixes (`--allowed-host-path`) the path is a security boundary, and a container that
can write inside a prefix can replace a directory with a symlink to `/`. So under prefixes:

* the path is resolved (symlinks followed) and must land beneath a prefix, then re-opened from the
  prefix without following any symlink (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS), so a swap in
  between is refused rather than followed;
* *OrCreate types create beneath the prefix component by component (mkdirat / openat O_NOFOLLOW);
* at every container start the path is resolved again and the inode found is bind-mounted from its
  fd (`/proc/self/fd/N`, as the subPath code does) at `volume-hostpaths/<vol>/<ctr>/<idx>` in the
  pod dir; the runtime binds that pinned mount, never the user's path.

Without prefixes every path is allowed anyway, and the runtime binds the path as Kubernetes does.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from podbay.errors import MountFailure
from podbay.sys import safeopen
from podbay.volumes.fsutil import go_error
from podbay.volumes.plan import VolumePlan, setup_failed
from podbay.volumes.subpath import SubPathDenied, bind_pinned, cleanup_binds, safe_make_dir

PIN_DIR = "volume-hostpaths"

# type -> (stat predicate, "is not a ..." wording of long-standing kubelet releases)
_CHECKS: dict[str, tuple[Callable[[int], bool], str]] = {
    "Directory": (stat.S_ISDIR, "a directory"),
    "File": (stat.S_ISREG, "a file"),
    "Socket": (stat.S_ISSOCK, "a socket file"),
    "CharDevice": (stat.S_ISCHR, "a character device"),
    "BlockDevice": (stat.S_ISBLK, "a block device"),
}
_CHECK_OF = {"DirectoryOrCreate": "Directory", "FileOrCreate": "File"}


class OutsidePrefix(Exception):
    """The host path resolves outside every allowed prefix (or changed while it was being opened)."""


def _is(path: str, pred: Callable[[int], bool]) -> bool:
    try:
        return pred(os.stat(path).st_mode)  # stat follows symlinks, like hostutil
    except OSError:
        return False


def _within(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip("/") + "/")


def _beneath(path: str, prefixes: Sequence[str]) -> tuple[str, str]:
    """(real prefix, path relative to it) with every symlink of path resolved; OutsidePrefix if none holds it."""
    real = os.path.realpath(path)
    for p in prefixes:
        base = os.path.realpath(p)
        if _within(real, base):
            return base, os.path.relpath(real, base)
    raise OutsidePrefix(f"hostPath {path} is not under an allowed prefix: {list(prefixes)}")


def _open_pinned(path: str, prefixes: Sequence[str]) -> int:
    """O_PATH fd of path's inode, reached from its prefix without a symlink; OutsidePrefix otherwise."""
    base, rel = _beneath(path, prefixes)
    base_fd = os.open(base, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return safeopen.open_beneath(base_fd, "" if rel == "." else rel, os.O_PATH)
    except OSError as exc:
        if exc.errno == 2:   # ENOENT: let the type check say "is not a ..."
            raise
        # ELOOP/EXDEV: a component was swapped for a symlink after it was resolved.
        raise OutsidePrefix(f"hostPath {path} is not under an allowed prefix: {list(prefixes)} "
                            f"(it changed while being opened)") from exc
    finally:
        os.close(base_fd)


def check_host_path(path: str, path_type: str) -> None:
    """Raise ValueError with the kubelet's message if path does not satisfy path_type."""
    _check_syntax(path)
    try:
        if path_type == "":
            # The kubelet checks nothing; the CRI runtime creates a missing source as a 0755 dir.
            if not os.path.exists(path):
                os.makedirs(path, 0o755)
            return
        if path_type == "DirectoryOrCreate" and not os.path.exists(path):
            os.makedirs(path, 0o755)
            return
        if path_type == "FileOrCreate" and not os.path.exists(path):
            # O_CREAT without parents: a missing parent fails like the kubelet's OpenFile.
            os.close(os.open(path, os.O_CREAT | os.O_RDONLY | os.O_CLOEXEC, 0o644))
            return
    except OSError as exc:
        op = "open" if path_type == "FileOrCreate" else "mkdir"
        raise ValueError(go_error(op, exc)) from exc
    _check_type(path, path_type, lambda pred: _is(path, pred))


def _check_syntax(path: str) -> None:
    if ".." in path.split("/"):
        raise ValueError(f"invalid HostPath `{path}`: must not contain '..'")
    if not os.path.isabs(path):
        # podbay: the kubelet would resolve against its cwd; a bind source must be absolute.
        raise ValueError(f"invalid HostPath `{path}`: must be an absolute path")


def _check_type(path: str, path_type: str, has: Callable[[Callable[[int], bool]], bool]) -> None:
    if path_type == "":
        return
    checked = _CHECK_OF.get(path_type, path_type)
    if checked not in _CHECKS:
        raise ValueError(f"{path_type} is an invalid volume type")
    pred, what = _CHECKS[checked]
    if not has(pred):
        raise ValueError(f"hostPath type check failed: {path} is not {what}")


def _create_beneath(path: str, path_type: str, prefixes: Sequence[str]) -> None:
    """The *OrCreate (and default) creation, never outside a prefix whatever symlinks the path holds."""
    if os.path.lexists(path) and os.path.exists(path):
        return
    base, rel = _beneath(path, prefixes)
    try:
        if path_type in ("", "DirectoryOrCreate"):
            safe_make_dir(rel, base, 0o755)
        elif path_type == "FileOrCreate":
            parent_rel, name = os.path.split(rel)
            base_fd = os.open(base, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                parent = safeopen.open_beneath(base_fd, parent_rel, os.O_PATH | os.O_DIRECTORY)
            finally:
                os.close(base_fd)
            try:
                os.close(os.open(name, os.O_CREAT | os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644,
                                 dir_fd=parent))
            finally:
                os.close(parent)
    except SubPathDenied as exc:
        raise OutsidePrefix(f"hostPath {path} is not under an allowed prefix: {list(prefixes)}") from exc
    except OSError as exc:
        exc.filename = exc.filename or path
        raise ValueError(go_error("open" if path_type == "FileOrCreate" else "mkdir", exc)) from exc


def setup_host_path(plan: VolumePlan, allowed_prefixes: Sequence[str] | None = None) -> str:
    """Check (and for the *OrCreate types create) the host path; return it as the bind source."""
    path = plan.host_path or ""
    path_type = plan.host_path_type or ""
    try:
        if allowed_prefixes is None:
            check_host_path(path, path_type)
            return path
        _check_syntax(path)
        _create_beneath(path, path_type, allowed_prefixes)
        _check_pinned_type(path, path_type, allowed_prefixes)
    except OutsidePrefix as exc:
        raise setup_failed(plan.name, str(exc)) from exc
    except ValueError as exc:
        raise setup_failed(plan.name, str(exc)) from exc
    return path


def _check_pinned_type(path: str, path_type: str, prefixes: Sequence[str]) -> None:
    try:
        fd = _open_pinned(path, prefixes)
    except FileNotFoundError:
        _check_type(path, path_type, lambda _pred: False)
        raise ValueError(f"hostPath {path} does not exist") from None
    try:
        mode = os.fstat(fd).st_mode
    finally:
        os.close(fd)
    _check_type(path, path_type, lambda pred: pred(mode))


def pin_target(pod_dir: Path | str, vol: str, ctr: str, idx: int) -> Path:
    return Path(pod_dir) / PIN_DIR / vol / ctr / str(idx)


def pin_host_path(path: str, path_type: str, prefixes: Sequence[str], pod_dir: Path | str, vol: str, ctr: str,
                  idx: int) -> str:
    """Resolve path beneath a prefix again (it may have been swapped since SetUp), check its type and
    bind the inode found at the pin target; returns the target, the bind source for the runtime.
    Raises PermanentError (MountVolume.SetUp failed ...)."""
    try:
        _check_syntax(path)
        _create_beneath(path, path_type, prefixes)   # a container may have removed it since SetUp
        try:
            fd = _open_pinned(path, prefixes)
        except FileNotFoundError as exc:
            raise ValueError(f"hostPath {path} does not exist") from exc
        try:
            mode = os.fstat(fd).st_mode
            _check_type(path, path_type, lambda pred: pred(mode))
            return bind_pinned(fd, pin_target(pod_dir, vol, ctr, idx), recursive=True)
        finally:
            os.close(fd)
    except (OutsidePrefix, ValueError, MountFailure, OSError) as exc:
        raise setup_failed(vol, str(exc)) from exc


def container_source(pod: Mapping[str, Any], vol: str, volume_path: str, prefixes: Sequence[str] | None,
                     pod_dir: Path | str, ctr: str, idx: int) -> str:
    """The host path the runtime binds for volumeMount `idx` of `ctr`: a freshly pinned mount for a
    hostPath volume under allowed prefixes, else volume_path itself. Raises PermanentError."""
    if not prefixes:
        return volume_path
    for v in (pod.get("spec") or {}).get("volumes") or []:
        if v.get("name") == vol and v.get("hostPath") is not None:
            hp = v["hostPath"]
            return pin_host_path(str(hp.get("path", "")), str(hp.get("type") or ""), prefixes, pod_dir, vol,
                                 ctr, idx)
    return volume_path


def cleanup_pins(pod_dir: Path | str) -> None:
    """Unmount and remove every pin of the pod (host data is never touched: rmdir/unlink only)."""
    with contextlib.suppress(FileNotFoundError):
        cleanup_binds(Path(pod_dir) / PIN_DIR)
