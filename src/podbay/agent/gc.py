"""Garbage collection of runtime state the store does not know about, in the background after start-up.

A crash at the wrong moment (between `crun create` and the store commit, or in the middle of a pod's
teardown) can leave a container, its rootfs mount, a pinned namespace or a CNI attachment with no
record. Like the kubelet's housekeeping, which runs only once the pod workers have been started and
never holds up the API, podbay takes a snapshot at start-up before any pod worker runs -- when the
store is the whole truth and nothing is being created -- and removes the orphans of that snapshot in
the background while the API already serves. Whatever a worker creates later is not in the snapshot,
so nothing a stored pod owns is ever touched.

Nothing here waits for what cannot happen: an orphaned container the runtime reports without a live
process is removed at once, not after a timeout for an exit file no conmon will ever write.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

from podbay.agent.containers import cleanup_container
from podbay.agent.deps import Deps
from podbay.agent.sandbox import teardown_volumes
from podbay.errors import PodbayError
from podbay.network import namespaces
from podbay.sys import cgroups
from podbay.sys.fileio import remove_tree
from podbay.sys.mount import mounts_under, unmount_all_under

log = logging.getLogger("podbay.gc")


@dataclass(frozen=True)
class Orphans:
    """What existed at start-up without a record: container ids, sandbox (pod uid) dirs, pod dirs, cgroups."""

    containers: tuple[str, ...] = ()
    sandboxes: tuple[str, ...] = ()
    pod_dirs: tuple[str, ...] = ()
    cgroups: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.containers or self.sandboxes or self.pod_dirs or self.cgroups)


def _names(root: Path) -> set[str]:
    try:
        return {d.name for d in root.iterdir() if d.is_dir() and not d.is_symlink()}
    except FileNotFoundError:
        return set()


def find_orphans(deps: Deps) -> Orphans:
    """The snapshot; call it before any pod worker runs (cheap: directory listings and `crun list`)."""
    known_ctrs = {r.id for r in deps.store.all_containers()}
    known_pods = {p["metadata"]["uid"] for p in deps.store.list_objects("Pod")}
    on_disk = _names(deps.runtime.containers_dir)
    ctrs = (set(deps.runtime.oci.list_ids()) | on_disk) - known_ctrs
    # Pod cgroups are named podbay/pod<uid> in every hierarchy.
    pod_cgroups = {cg.name for h in cgroups.hierarchies() if (h / "podbay").is_dir()
                   for cg in (h / "podbay").glob("pod*")}
    return Orphans(
        containers=tuple(sorted(ctrs)),
        sandboxes=tuple(sorted(_names(deps.cfg.run_dir / "ns") - known_pods)),
        pod_dirs=tuple(sorted(_names(deps.cfg.root / "pods") - known_pods)),
        cgroups=tuple(sorted(n for n in pod_cgroups if n[3:] not in known_pods)),
    )


def collect_orphans(deps: Deps, orphans: Orphans | None = None) -> list[str]:
    """Remove the orphans found by find_orphans (found now when None); returns what went."""
    if orphans is None:
        orphans = find_orphans(deps)
    removed: list[str] = []
    for cid in orphans.containers:
        with contextlib.suppress(PodbayError, OSError):
            # conmon pid unknown: stop() asks the runtime, and a container without a process goes at once.
            deps.runtime.stop(cid, 0)
            cleanup_container(deps, cid)
            removed.append(f"container {cid[:12]}")
    for uid in orphans.sandboxes:
        ns_dir = deps.cfg.run_dir / "ns" / uid
        net = ns_dir / "net"
        with contextlib.suppress(PodbayError):
            deps.network.delete(uid, str(net) if net.exists() else None)
        deps.network.forget(uid)
        with contextlib.suppress(PodbayError, OSError):
            namespaces.unpin(ns_dir)
            removed.append(f"sandbox {uid}")
    for uid in orphans.pod_dirs:
        pod_dir = deps.cfg.root / "pods" / uid
        with contextlib.suppress(PodbayError, OSError):
            teardown_volumes(deps, uid)
            unmount_all_under(str(pod_dir))
            if not mounts_under(str(pod_dir)):   # never let a delete walk into host data
                remove_tree(pod_dir)
                removed.append(f"pod dir {uid}")
    # rmdir only succeeds on empty cgroups: one another agent's running pod uses is never touched.
    for name in orphans.cgroups:
        if not cgroups.remove_tree(f"podbay/{name}"):
            removed.append(f"cgroup {name}")
    for line in removed:
        log.info("removed orphaned %s", line)
    return removed
