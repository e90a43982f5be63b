"""Pod sandbox: pod dir, volumes, pinned namespaces, CNI attachment, managed /etc files. All idempotent."""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podbay.agent import claims, projections
from podbay.agent.deps import Deps
from podbay.network import namespaces, podfiles
from podbay.network.cniconf import pod_cni_args, pod_ips
from podbay.sys import cgroups
from podbay.sys.mount import mounts_under, unmount_all_under
from podbay.volumes import hostpath, nfs
from podbay.volumes import manager as volumes


@dataclass(frozen=True)
class Sandbox:
    pod_dir: Path
    ns: namespaces.PinnedNamespaces
    ips: list[str]
    files: podfiles.PodFiles


def setup_volumes(deps: Deps, pod: dict[str, Any]) -> dict[str, str]:
    """Every pod volume, idempotently: emptyDir/hostPath by the volume manager, then claims, nfs and
    atomic-writer ones."""
    pod_dir = deps.cfg.pod_dir(pod["metadata"]["uid"])

    def special(v: dict[str, Any]) -> bool:
        return projections.is_projection(v) or claims.is_claim_volume(v) or nfs.is_nfs_volume(v)

    plain = {**pod, "spec": {**pod["spec"], "volumes": [v for v in pod["spec"].get("volumes") or []
                                                        if not special(v)]}}
    paths = volumes.setup_pod_volumes(plain, pod_dir, deps.node_allocatable,
                                      list(deps.cfg.allowed_host_paths) or None)
    paths.update(claims.setup_all(deps, pod, pod_dir))
    paths.update(nfs.setup_all(pod, pod_dir))
    paths.update(projections.setup_all(deps, pod, pod_dir))
    return paths


def prepare_sandbox(deps: Deps, pod: dict[str, Any]) -> Sandbox:
    """Pinned namespaces and the managed /etc files; the IP too when a cached CNI result exists."""
    md = pod["metadata"]
    uid = md["uid"]
    pod_dir = deps.cfg.pod_dir(uid)
    ns = namespaces.pin(deps.cfg.ns_dir(uid), namespaces.hostname_for(pod))
    ips = pod_ips(deps.network.result(uid))
    files = podfiles.write_pod_files(pod_dir, pod, ips, cluster_dns=deps.cfg.cluster_dns,
                                     cluster_domain=deps.cfg.cluster_domain)
    return Sandbox(pod_dir, ns, ips, files)


def attach_network(deps: Deps, pod: dict[str, Any], sb: Sandbox) -> Sandbox:
    """CNI ADD (unless cached), then the pod IP into /etc/hosts.

    Containers may already be created (not started) with /etc/hosts bind-mounted, so the file is
    rewritten in place: a rename would leave them holding the old inode.
    """
    md = pod["metadata"]
    uid = md["uid"]
    result = deps.network.result(uid)
    if result is None:
        result = deps.network.add(uid, str(sb.ns.net), "eth0", pod_cni_args(md["namespace"], md["name"], uid, uid))
    ips = pod_ips(result)
    if ips != sb.ips:
        with open(sb.files.hosts, "r+") as f:
            f.write(podfiles.hosts_file(pod, ips))
            f.truncate()
    return Sandbox(sb.pod_dir, sb.ns, ips, sb.files)


def teardown_network(deps: Deps, uid: str) -> None:
    ns_dir = deps.cfg.ns_dir(uid)
    net = ns_dir / "net"
    deps.network.delete(uid, str(net) if net.exists() else None)
    namespaces.unpin(ns_dir)


def teardown_volumes(deps: Deps, uid: str) -> None:
    """Every volume of a stopped pod. Mounts first (subPath binds, tmpfs, nfs, and mounts a Bidirectional
    container propagated into a volume), so no tree is ever deleted with something mounted below it."""
    pod_dir = deps.cfg.pod_dir(uid)
    unmount_all_under(str(pod_dir / "volume-subpaths"))
    unmount_all_under(str(pod_dir / hostpath.PIN_DIR))
    unmount_all_under(str(pod_dir / "volumes"))
    projections.teardown_all(deps.cfg.pod_dir(uid))
    nfs.teardown_all(deps.cfg.pod_dir(uid))
    claims.teardown_all(deps.cfg.pod_dir(uid))   # unmounts only: claim data outlives the pod
    volumes.teardown_pod_volumes(deps.cfg.pod_dir(uid))


def remove_pod_dirs(deps: Deps, pod: dict[str, Any]) -> None:
    uid = pod["metadata"]["uid"]
    pod_dir = deps.cfg.pod_dir(uid)
    # Never let rmtree walk into a mount (a subPath bind of a hostPath would lose host data).
    unmount_all_under(str(pod_dir))
    if not mounts_under(str(pod_dir)):
        shutil.rmtree(pod_dir, ignore_errors=True)
    shutil.rmtree(deps.cfg.pod_log_dir(pod), ignore_errors=True)
    with contextlib.suppress(OSError):
        cgroups.remove_tree(deps.cfg.pod_cgroup(uid))
