"""This host as a Node object and its Lease in ``kube-node-lease`` (pure: facts and now in).

The conditions, reasons and messages are the kubelet's (pkg/kubelet/nodestatus/setters.go), since
clients key on them; podbay reports no pressure (its own eviction manager acts before any).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from podbay.api.meta import micro_time, rfc3339

Obj = dict[str, Any]
LEASE_NAMESPACE = "kube-node-lease"
LEASE_SECONDS = 40


@dataclass(frozen=True)
class NodeFacts:
    name: str
    cpus: int
    memory_bytes: int
    ephemeral_bytes: int
    internal_ip: str
    kernel: str
    os_image: str
    runtime_version: str
    kubelet_version: str
    arch: str
    machine_id: str = ""
    system_uuid: str = ""
    boot_id: str = ""
    max_pods: int = 110
    hugepages: dict[str, int] = field(default_factory=dict)   # "hugepages-2Mi" -> bytes


def _ki(n: int) -> str:
    return f"{n // 1024}Ki"


def capacity(f: NodeFacts) -> dict[str, str]:
    out = {"cpu": str(f.cpus), "memory": _ki(f.memory_bytes), "pods": str(f.max_pods),
           "ephemeral-storage": _ki(f.ephemeral_bytes)}
    for name, size in sorted(f.hugepages.items()):
        out[name] = str(size) if size == 0 else _ki(size) if size % (1024 * 1024) else f"{size // (1024 * 1024)}Mi"
    return out


_CONDITIONS = (
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)


def conditions(now: float, previous: list[Obj] | None = None) -> list[Obj]:
    """The four conditions at ``now``; lastTransitionTime is kept while a status does not change."""
    before = {c.get("type"): c for c in previous or []}
    out = []
    for type_, status, reason, message in _CONDITIONS:
        old = before.get(type_) or {}
        since = old.get("lastTransitionTime") if old.get("status") == status else None
        out.append({"type": type_, "status": status, "lastHeartbeatTime": rfc3339(now),
                    "lastTransitionTime": since or rfc3339(now), "reason": reason, "message": message})
    return out


def labels(f: NodeFacts) -> dict[str, str]:
    return {"beta.kubernetes.io/arch": f.arch, "beta.kubernetes.io/os": "linux", "kubernetes.io/arch": f.arch,
            "kubernetes.io/hostname": f.name, "kubernetes.io/os": "linux"}


def node_status(f: NodeFacts, now: float, previous: Obj | None = None) -> Obj:
    prev_conditions = ((previous or {}).get("status") or {}).get("conditions")
    caps = capacity(f)
    return {
        "capacity": caps, "allocatable": dict(caps), "conditions": conditions(now, prev_conditions),
        "addresses": [{"type": "InternalIP", "address": f.internal_ip}, {"type": "Hostname", "address": f.name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 0}},
        "nodeInfo": {"machineID": f.machine_id, "systemUUID": f.system_uuid, "bootID": f.boot_id,
                     "kernelVersion": f.kernel, "osImage": f.os_image, "containerRuntimeVersion": f.runtime_version,
                     "kubeletVersion": f.kubelet_version, "kubeProxyVersion": "", "operatingSystem": "linux",
                     "architecture": f.arch},
    }


def node_object(f: NodeFacts, now: float) -> Obj:
    return {"kind": "Node", "apiVersion": "v1",
            "metadata": {"name": f.name, "labels": labels(f),
                         "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
            "spec": {}, "status": node_status(f, now)}


def lease_object(node_name: str, node_uid: str, now: float) -> Obj:
    return {"kind": "Lease", "apiVersion": "coordination.k8s.io/v1",
            "metadata": {"name": node_name, "namespace": LEASE_NAMESPACE,
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": node_name,
                                              "uid": node_uid}]},
            "spec": {"holderIdentity": node_name, "leaseDurationSeconds": LEASE_SECONDS,
                     "renewTime": micro_time(now)}}
