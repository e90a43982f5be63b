"""hostPath SetUp: the kubelet's type checks (SEMANTICS §3.2). No mount; TearDown never deletes."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Sequence

from podbay.volumes.fsutil import go_error
from podbay.volumes.plan import VolumePlan, setup_failed

# type -> (stat predicate, "is not a ..." wording of long-standing kubelet releases)
_CHECKS: dict[str, tuple[Callable[[int], bool], str]] = {
    "Directory": (stat.S_ISDIR, "a directory"),
    "File": (stat.S_ISREG, "a file"),
    "Socket": (stat.S_ISSOCK, "a socket file"),
    "CharDevice": (stat.S_ISCHR, "a character device"),
    "BlockDevice": (stat.S_ISBLK, "a block device"),
}


def _is(path: str, pred: Callable[[int], bool]) -> bool:
    try:
        return pred(os.stat(path).st_mode)  # stat follows symlinks, like hostutil
    except OSError:
        return False


def _within(path: str, prefixes: Sequence[str]) -> bool:
    real = os.path.realpath(path)
    for p in prefixes:
        base = os.path.realpath(p)
        if real == base or real.startswith(base.rstrip("/") + "/"):
            return True
    return False


def check_host_path(path: str, path_type: str) -> None:
    """Raise ValueError with the kubelet's message if path does not satisfy path_type."""
    if ".." in path.split("/"):
        raise ValueError(f"invalid HostPath `{path}`: must not contain '..'")
    if not os.path.isabs(path):
        # podbay: the kubelet would resolve against its cwd; a bind source must be absolute.
        raise ValueError(f"invalid HostPath `{path}`: must be an absolute path")
    try:
        if path_type == "":
            # The kubelet checks nothing; the CRI runtime creates a missing source as a 0755 dir.
            if not os.path.exists(path):
                os.makedirs(path, 0o755)
            return
        if path_type == "DirectoryOrCreate":
            if not os.path.exists(path):
                os.makedirs(path, 0o755)
                return
            path_type = "Directory"
        elif path_type == "FileOrCreate":
            if not os.path.exists(path):
                # O_CREAT without parents: a missing parent fails like the kubelet's OpenFile.
                os.close(os.open(path, os.O_CREAT | os.O_RDONLY | os.O_CLOEXEC, 0o644))
                return
            path_type = "File"
    except OSError as exc:
        op = "open" if path_type == "FileOrCreate" else "mkdir"
        raise ValueError(go_error(op, exc)) from exc
    if path_type not in _CHECKS:
        raise ValueError(f"{path_type} is an invalid volume type")
    pred, what = _CHECKS[path_type]
    if not _is(path, pred):
        raise ValueError(f"hostPath type check failed: {path} is not {what}")


def setup_host_path(plan: VolumePlan, allowed_prefixes: Sequence[str] | None = None) -> str:
    """Check (and for the *OrCreate types create) the host path; return it as the bind source."""
    path = plan.host_path or ""
    path_type = plan.host_path_type or ""
    if allowed_prefixes is not None and not _within(path, allowed_prefixes):
        raise setup_failed(plan.name, f"hostPath {path} is not under an allowed prefix: {list(allowed_prefixes)}")
    try:
        check_host_path(path, path_type)
    except ValueError as exc:
        raise setup_failed(plan.name, str(exc)) from exc
    # Re-check after creation: a symlink in the path may only now resolve somewhere else.
    if allowed_prefixes is not None and not _within(path, allowed_prefixes):
        raise setup_failed(plan.name, f"hostPath {path} is not under an allowed prefix: {list(allowed_prefixes)}")
    return path
