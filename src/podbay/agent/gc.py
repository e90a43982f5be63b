"""Start-up garbage collection: runtime state the store does not know about.

A crash at the wrong moment (between `crun create` and the store commit, or in the middle of a pod's
teardown) can leave a container, its rootfs mount, a pinned namespace or a CNI attachment with no
record. The kubelet's GC removes such orphans only after recovery has rebuilt its state; podbay runs
this at start-up before any pod worker runs, when the store is the whole truth and nothing is being
created, so nothing a stored pod owns is touched.
"""

from __future__ import annotations

import contextlib
import logging
import shutil

from podbay.agent.containers import cleanup_container
from podbay.agent.deps import Deps
from podbay.agent.sandbox import teardown_volumes
from podbay.errors import PodbayError
from podbay.network import namespaces
from podbay.sys import cgroups

log = logging.getLogger("podbay.gc")


def collect_orphans(deps: Deps) -> list[str]:
    """Remove containers, bundles, namespace pins and CNI attachments of no stored pod; returns what went."""
    removed: list[str] = []
    known_ctrs = {r.id for r in deps.store.all_containers()}
    known_pods = {p["metadata"]["uid"] for p in deps.store.list_objects("Pod")}
    on_disk = {d.name for d in deps.runtime.containers_dir.iterdir() if d.is_dir()} \
        if deps.runtime.containers_dir.exists() else set()
    for cid in sorted((set(deps.runtime.oci.list_ids()) | on_disk) - known_ctrs):
        with contextlib.suppress(PodbayError, OSError):
            deps.runtime.stop(cid, 0)
            cleanup_container(deps, cid)
            removed.append(f"container {cid[:12]}")
    ns_root = deps.cfg.run_dir / "ns"
    for ns_dir in sorted(ns_root.iterdir()) if ns_root.exists() else []:
        if ns_dir.name in known_pods:
            continue
        net = ns_dir / "net"
        with contextlib.suppress(PodbayError):
            deps.network.delete(ns_dir.name, str(net) if net.exists() else None)
        deps.network.forget(ns_dir.name)
        with contextlib.suppress(PodbayError, OSError):
            namespaces.unpin(ns_dir)
            removed.append(f"sandbox {ns_dir.name}")
    pods_root = deps.cfg.root / "pods"
    for pod_dir in sorted(pods_root.iterdir()) if pods_root.exists() else []:
        if pod_dir.name not in known_pods:
            with contextlib.suppress(PodbayError, OSError):
                teardown_volumes(deps, pod_dir.name)
                shutil.rmtree(pod_dir)
                removed.append(f"pod dir {pod_dir.name}")
    # Empty pod cgroups of pods that are gone (rmdir only succeeds on empty ones: a cgroup another
    # agent's running pod uses is never touched).
    pod_cgroups = {cg.name for h in cgroups.hierarchies() if (h / "podbay").is_dir()
                   for cg in (h / "podbay").glob("pod*")}
    for name in sorted(pod_cgroups):
        if name[3:] not in known_pods and not cgroups.remove_tree(f"podbay/{name}"):
            removed.append(f"cgroup {name}")
    for line in removed:
        log.info("removed orphaned %s", line)
    return removed
