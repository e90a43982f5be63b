"""Localhost seccomp profiles: files below the profile root (`--seccomp-profile-root`, default
`<root>/seccomp`, the kubelet's `<root-dir>/seccomp`), read without ever leaving that root."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

from podbay.errors import PermanentError
from podbay.sys import safeopen

HOST_ARCH = platform.machine()
MAX_PROFILE_BYTES = 1 << 20


def load(root: Path, name: str) -> Any:
    """The JSON of profile `name` (relative to root). Symlinks and `..` are refused (openat2
    RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS), so a profile name can never read a file outside the root.
    Raises PermanentError with containerd's wording: `cannot load seccomp profile "<path>": <why>`."""
    full = root / name
    if os.path.isabs(name) or ".." in name.split("/"):
        raise PermanentError(f'cannot load seccomp profile "{full}": the path must stay below {root}')
    try:
        root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fd = safeopen.open_beneath(root_fd, name, os.O_RDONLY)
        finally:
            os.close(root_fd)
        with os.fdopen(fd, "rb") as f:
            data = f.read(MAX_PROFILE_BYTES + 1)
    except OSError as exc:
        reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
        raise PermanentError(f'cannot load seccomp profile "{full}": open {full}: {reason}') from exc
    if len(data) > MAX_PROFILE_BYTES:
        raise PermanentError(f'cannot load seccomp profile "{full}": larger than {MAX_PROFILE_BYTES} bytes')
    try:
        return json.loads(data)
    except ValueError as exc:
        raise PermanentError(f'cannot load seccomp profile "{full}": decoding seccomp profile failed: {exc}') from exc
