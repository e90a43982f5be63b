"""Rotate the CRI log files of running containers (kubelet semantics), every 10 s."""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from podbay.core.logrotation import DEFAULT_MAX_FILES, DEFAULT_MAX_SIZE, plan_rotation

log = logging.getLogger("podbay.logs")
REOPEN_LOGS = b"2 0 0\n"   # conmon ctl message REOPEN_LOGS_EVENT


def _gzip(path: str) -> None:
    tmp = path + ".gz.tmp"
    with open(path, "rb") as src, gzip.open(tmp, "wb") as dst:
        shutil.copyfileobj(src, dst)
    os.replace(tmp, path + ".gz")
    os.unlink(path)


def _reopen(ctl: Path) -> bool:
    try:
        fd = os.open(ctl, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        return os.write(fd, REOPEN_LOGS) == len(REOPEN_LOGS)
    except OSError:
        return False
    finally:
        os.close(fd)


def rotate_logs(live: Iterable[tuple[str, str]], container_dir: Callable[[str], Path],
                max_size: int = DEFAULT_MAX_SIZE, max_files: int = DEFAULT_MAX_FILES) -> list[str]:
    """Rotate every running container's log that reached max_size; returns the rotated files.

    ``live``: (container id, log path) of the running attempts (the agent's running index)."""
    done = []
    for cid, log_path in live:
        if not log_path:
            continue
        path = Path(log_path)
        try:
            size = path.stat().st_size
        except OSError:
            continue
        if size < max_size:
            continue     # plan_rotation's first rule: nothing is due, so the rotated files need no glob
        existing = [str(p) for p in path.parent.glob(path.name + ".*")]
        plan = plan_rotation(str(path), size, existing, time.time(), max_size, max_files)
        if plan is None:
            continue
        for f in plan.delete:
            with contextlib.suppress(OSError):
                os.unlink(f)
        for f in plan.compress:
            with contextlib.suppress(OSError):
                _gzip(f)
        os.rename(path, plan.rename_to)
        if not _reopen(container_dir(cid) / "ctl"):
            os.rename(plan.rename_to, path)   # conmon did not take it: keep writing to the same file
            log.warning("container %s: log reopen failed, rotation undone", cid[:12])
            continue
        done.append(plan.rename_to)
    return done
