"""Pod sandbox: pod dir, pinned namespaces, CNI attachment, managed /etc files, and the pod volumes.

All idempotent (a sync may run them again after a failure or an agent restart). ``PodSandboxes``
reaches the host only through its ports (namespace pinning, the network); ``HostVolumes`` is the
real ``PodVolumes`` port over the volume adapters.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from podbay.agent import claims, projections
from podbay.agent.deps import Deps
from podbay.agent.pod_store import StoreObjects
from podbay.network import namespaces, podfiles
from podbay.network.cni import netns_usable
from podbay.network.cniconf import host_port_mappings, pod_cni_args, pod_ips
from podbay.ports import NamespacePinner, ObjectSource, PinnedNamespaces, PodNetwork, Sandbox
from podbay.sys import cgroups
from podbay.sys.mount import mounts_under, unmount_all_under
from podbay.volumes import hostpath, nfs
from podbay.volumes import manager as volumes

Obj = dict[str, Any]


class HostPinner:
    """NamespacePinner over util-linux unshare bind mounts (network.namespaces)."""

    def pin(self, ns_dir: Path, hostname: str) -> PinnedNamespaces:
        return namespaces.pin(ns_dir, hostname)

    def unpin(self, ns_dir: Path) -> None:
        namespaces.unpin(ns_dir)

    def usable(self, path: Path) -> bool:
        return netns_usable(str(path))


class PodSandboxes:
    def __init__(self, pinner: NamespacePinner, network: PodNetwork, ns_root: Path, pods_root: Path,
                 logs_root: Path, host_resolv: Path = Path("/etc/resolv.conf"), cgroup_parent: str | None = "podbay",
                 *, cluster_dns: Sequence[str] = (), cluster_domain: str = podfiles.CLUSTER_DOMAIN):
        self.cgroup_parent = cgroup_parent
        self.cluster_dns = tuple(cluster_dns)      # ClusterFirst pods resolve through these
        self.cluster_domain = cluster_domain
        self.pinner = pinner
        self.network = network
        self.ns_root = ns_root
        self.pods_root = pods_root
        self.logs_root = logs_root
        self.host_resolv = host_resolv

    def pod_dir(self, uid: str) -> Path:
        return self.pods_root / uid

    def ns_dir(self, uid: str) -> Path:
        return self.ns_root / uid

    def pod_log_dir(self, pod: Mapping[str, Any]) -> Path:
        md = pod["metadata"]
        return self.logs_root / f"{md['namespace']}_{md['name']}_{md['uid']}"

    def prepare(self, pod: Mapping[str, Any]) -> Sandbox:
        """Pinned namespaces and the managed /etc files; the IP too when a cached CNI result exists."""
        uid = pod["metadata"]["uid"]
        pod_dir = self.pod_dir(uid)
        ns = self.pinner.pin(self.ns_dir(uid), namespaces.hostname_for(pod))
        ips = pod_ips(self.network.result(uid))
        files = podfiles.write_pod_files(pod_dir, pod, ips, self.host_resolv, cluster_dns=self.cluster_dns,
                                         cluster_domain=self.cluster_domain)
        return Sandbox(pod_dir, ns, tuple(ips), files.hosts, files.hostname, files.resolv)

    def attach_network(self, pod: Mapping[str, Any], sb: Sandbox,
                       capability_args: Mapping[str, Any] | None = None) -> Sandbox:
        """CNI ADD (unless cached), then the pod IP into /etc/hosts.

        Containers may already be created (not started) with /etc/hosts bind-mounted, so the file is
        rewritten in place: a rename would leave them holding the old inode.
        """
        md = pod["metadata"]
        uid = md["uid"]
        result = self.network.result(uid)
        if result is None:
            mappings = host_port_mappings(pod)
            caps = dict(capability_args or {})
            if mappings:
                caps["portMappings"] = mappings
            result = self.network.add(uid, str(sb.ns.net), "eth0",
                                      pod_cni_args(md["namespace"], md["name"], uid, uid), capability_args=caps)
        ips = pod_ips(result)
        if tuple(ips) != sb.ips:
            with open(sb.hosts, "r+") as f:
                f.write(podfiles.hosts_file(pod, ips, cluster_domain=self.cluster_domain))
                f.truncate()
        return Sandbox(sb.pod_dir, sb.ns, tuple(ips), sb.hosts, sb.hostname, sb.resolv)

    def teardown_network(self, uid: str) -> None:
        ns_dir = self.ns_dir(uid)
        net = ns_dir / "net"
        self.network.delete(uid, str(net) if self.pinner.usable(net) else None)
        self.pinner.unpin(ns_dir)

    def remove_pod_dirs(self, pod: Mapping[str, Any]) -> None:
        uid = pod["metadata"]["uid"]
        pod_dir = self.pod_dir(uid)
        # Never let rmtree walk into a mount (a subPath bind of a hostPath would lose host data).
        unmount_all_under(str(pod_dir))
        if not mounts_under(str(pod_dir)):
            shutil.rmtree(pod_dir, ignore_errors=True)
        shutil.rmtree(self.pod_log_dir(pod), ignore_errors=True)
        if self.cgroup_parent is not None:
            remove_pod_cgroup(f"{self.cgroup_parent}/pod{uid}")


class HostVolumes:
    """PodVolumes over the volume adapters: emptyDir/hostPath by the volume manager, then claims,
    nfs and the atomic-writer volumes (configMap, secret, downwardAPI, projected)."""

    def __init__(self, objects: ObjectSource, state_root: Path, node_allocatable: int,
                 allowed_host_paths: tuple[str, ...] = (), tokens: projections.PodTokens | None = None) -> None:
        self.objects = objects
        self.tokens = tokens           # serviceAccountToken projections (None: ServiceAccounts are off)
        self.pod_token = tokens.pod_token if tokens is not None else None
        self.cached_token = tokens.cached_token if tokens is not None else None
        self.state_root = state_root
        self.node_allocatable = node_allocatable
        self.allowed_host_paths = allowed_host_paths
        self._refreshed: dict[str, projections.RefreshInputs] = {}   # pod uid -> what its last refresh read

    def setup(self, pod: Mapping[str, Any], pod_dir: Path) -> dict[str, str]:
        def special(v: Obj) -> bool:
            return projections.is_projection(v) or claims.is_claim_volume(v) or nfs.is_nfs_volume(v)

        plain = {**pod, "spec": {**pod["spec"], "volumes": [v for v in pod["spec"].get("volumes") or []
                                                            if not special(v)]}}
        paths = volumes.setup_pod_volumes(plain, pod_dir, self.node_allocatable,
                                          list(self.allowed_host_paths) or None)
        paths.update(claims.setup_all(self.objects, self.state_root, dict(pod), pod_dir))
        paths.update(nfs.setup_all(dict(pod), pod_dir))
        seen = projections.InputRecorder(self.objects, self.pod_token)
        paths.update(projections.setup_all(seen.objects, self.node_allocatable, dict(pod), pod_dir, seen.pod_token))
        self._refreshed[pod_dir.name] = seen.inputs(dict(pod), time.monotonic())
        return paths

    def refresh(self, pod: Mapping[str, Any], pod_dir: Path) -> None:
        if any(projections.is_projection(v) for v in pod["spec"].get("volumes") or []):
            seen = projections.InputRecorder(self.objects, self.pod_token)
            failed: list[str] = []
            projections.refresh_all(seen.objects, self.node_allocatable, dict(pod), pod_dir, seen.pod_token, failed)
            if failed:   # what a failed volume would have read is unknown: try again at every sync
                self._refreshed.pop(pod_dir.name, None)
            else:
                self._refreshed[pod_dir.name] = seen.inputs(dict(pod), time.monotonic())

    def refresh_needed(self, pod: Mapping[str, Any], pod_dir: Path) -> bool:
        """The kubelet re-projects these volumes at every sync; here a sync whose inputs (the pod, the
        objects and tokens the last refresh read) are all unchanged skips it, and the thread it runs in."""
        if not any(projections.is_projection(v) for v in pod["spec"].get("volumes") or []):
            return False
        last = self._refreshed.get(pod_dir.name)
        return last is None or not projections.inputs_unchanged(last, self.objects, dict(pod), self.cached_token,
                                                                time.monotonic())

    def teardown(self, pod_dir: Path) -> None:
        """Mounts first (subPath binds, tmpfs, nfs, and mounts a Bidirectional container propagated into
        a volume), so no tree is ever deleted with something mounted below it."""
        unmount_all_under(str(pod_dir / "volume-subpaths"))
        unmount_all_under(str(pod_dir / hostpath.PIN_DIR))
        unmount_all_under(str(pod_dir / "volumes"))
        projections.teardown_all(pod_dir)
        self._refreshed.pop(pod_dir.name, None)
        if self.tokens is not None:
            self.tokens.forget_pod(pod_dir.name)   # pod dirs are named by the pod's uid
        nfs.teardown_all(pod_dir)
        claims.teardown_all(pod_dir)   # unmounts only: claim data outlives the pod
        volumes.teardown_pod_volumes(pod_dir)


def remove_pod_cgroup(cgroup: str) -> None:
    with contextlib.suppress(OSError):
        cgroups.remove_tree(cgroup)


# --- the old entry points (gc, the integration tests) over the new classes ---------------------------

def host_volumes(deps: Deps) -> HostVolumes:
    return HostVolumes(StoreObjects(deps.repo), deps.cfg.root, deps.node_allocatable, deps.cfg.allowed_host_paths,
                       deps.service_accounts)


def setup_volumes(deps: Deps, pod: Obj) -> dict[str, str]:
    return host_volumes(deps).setup(pod, deps.cfg.pod_dir(pod["metadata"]["uid"]))


def teardown_volumes(deps: Deps, uid: str) -> None:
    host_volumes(deps).teardown(deps.cfg.pod_dir(uid))
