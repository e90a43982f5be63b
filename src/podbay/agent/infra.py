"""The pod's infra (pause) process, only for shareProcessNamespace: catatonit as PID 1 of the shared PID namespace.

Without shareProcessNamespace no infra process exists: the net/UTS/IPC namespaces are pinned by bind
mounts (as CRI-O's pinns), and each container gets its own PID namespace.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podbay.core import ocispec
from podbay.core.records import ContainerRecord
from podbay.errors import PermanentError
from podbay.ports import Sandbox
from podbay.runtime import seccomp_profiles
from podbay.runtime.service import ContainerRuntime
from podbay.sys import procfs

if TYPE_CHECKING:
    from podbay.agent.containers import NodeInfo

INFRA_NAME = "POD"
CATATONIT = "/usr/bin/catatonit"


def wants_infra(pod: Mapping[str, Any]) -> bool:
    return bool(pod["spec"].get("shareProcessNamespace"))


def _rootfs(infra_root: Path) -> Path:
    """A one-file read-only rootfs holding the static catatonit binary (made once)."""
    root = infra_root / "rootfs"
    target = root / "catatonit"
    if not target.exists():
        if not os.path.exists(CATATONIT):
            raise PermanentError("shareProcessNamespace needs catatonit (apt-get install -y catatonit)")
        for d in ("proc", "dev", "sys", "etc"):
            (root / d).mkdir(parents=True, exist_ok=True)
        tmp = root / "catatonit.tmp"
        shutil.copy2(CATATONIT, tmp)
        os.replace(tmp, target)
    return root


def pid_ns_path(rec: ContainerRecord) -> str:
    return f"/proc/{rec.pid}/ns/pid"


def start_infra(runtime: ContainerRuntime, infra_root: Path, node: NodeInfo, pod: dict[str, Any], sb: Sandbox,
                attempt: int) -> ContainerRecord:
    md = pod["metadata"]
    uid = md["uid"]
    cid = secrets.token_hex(32)
    ctr = {"name": INFRA_NAME, "image": "podbay/infra",
           "securityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                               "capabilities": {"drop": ["ALL"]}}}
    # The sandbox gets the pod-level seccomp profile, as the kubelet gives it to the pause container.
    profile_name = ocispec.localhost_profile_name(pod, ctr)
    plan = ocispec.ContainerPlan(
        container_id=cid, pod=pod, container=ctr, argv=("/catatonit", "-P"), env=("PATH=/",),
        rootfs=str(_rootfs(infra_root)), cgroups_path=f"/{node.pod_cgroup(uid)}/infra",
        net_ns=str(sb.ns.net), ipc_ns=str(sb.ns.ipc), uts_ns=str(sb.ns.uts), rlimit_nofile=node.nofile,
        available_caps=node.host_caps, arch=seccomp_profiles.HOST_ARCH,
        seccomp_localhost=seccomp_profiles.load(node.seccomp_root, profile_name)
        if profile_name and node.seccomp_root is not None else None)
    spec = ocispec.build_spec(plan)
    runtime.container_dir(cid).mkdir(parents=True, exist_ok=True)
    log_path = node.logs_root / f"{md['namespace']}_{md['name']}_{uid}" / "infra.log"
    launched = runtime.create(cid, f"{md['name']}_POD", spec, log_path)
    runtime.start(cid)
    now = time.time()
    return ContainerRecord(id=cid, pod_uid=uid, name=INFRA_NAME, kind="infra", attempt=attempt, spec_hash="",
                           image="", state="running", created_at=now, started_at=now,
                           conmon_pid=launched.conmon_pid, conmon_start=procfs.start_time(launched.conmon_pid),
                           pid=launched.pid, log_path=str(log_path))
