"""cgroupfs helpers for this host's v1/hybrid layout (no systemd): conmon placement and pod cgroup removal."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def hierarchies(root: Path = CGROUP_ROOT) -> list[Path]:
    """Every mounted cgroup hierarchy root below /sys/fs/cgroup (v1 controllers and the unified one)."""
    found = []
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return []
    if (root / "cgroup.procs").exists():  # pure v2
        return [root]
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink() and (entry / "cgroup.procs").exists():
            found.append(entry)
    return found


def move_to(pid: int, rel: str, root: Path = CGROUP_ROOT) -> None:
    """Put pid into cgroup `rel` (e.g. "podbay/conmon") of every v1 hierarchy, creating it as needed."""
    for h in hierarchies(root):
        if h.name == "unified":
            continue  # no controllers live there on hybrid hosts; moving would need a v2 leaf
        target = h / rel
        with contextlib.suppress(OSError):
            target.mkdir(parents=True, exist_ok=True)
            if h.name == "cpuset":
                _inherit_cpuset(target)
            (target / "cgroup.procs").write_text(str(pid))


def _inherit_cpuset(path: Path) -> None:
    # A new v1 cpuset cgroup starts with empty cpus/mems and refuses tasks until they are filled.
    for name in ("cpuset.cpus", "cpuset.mems"):
        f = path / name
        if f.exists() and not f.read_text().strip():
            parent = path.parent
            while not (parent / name).read_text().strip():
                parent = parent.parent
            f.write_text((parent / name).read_text().strip())


def remove_tree(rel: str, root: Path = CGROUP_ROOT) -> list[str]:
    """rmdir cgroup `rel` and its children in every hierarchy (deepest first); returns what remains."""
    left = []
    for h in hierarchies(root):
        base = h / rel
        if not base.is_dir():
            continue
        dirs = sorted((Path(d) for d, _, _ in os.walk(base)), key=lambda p: len(p.parts), reverse=True)
        for d in dirs:
            try:
                d.rmdir()
            except OSError:
                left.append(str(d))
    return left


def exists_anywhere(rel: str, root: Path = CGROUP_ROOT) -> bool:
    return any((h / rel).is_dir() for h in hierarchies(root))
