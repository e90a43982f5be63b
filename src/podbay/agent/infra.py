"""The pod's infra (pause) process, only for shareProcessNamespace: catatonit as PID 1 of the shared PID namespace.

Without shareProcessNamespace no infra process exists: the net/UTS/IPC namespaces are pinned by bind
mounts (as CRI-O's pinns), and each container gets its own PID namespace.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from podbay.agent.deps import Deps
from podbay.agent.sandbox import Sandbox
from podbay.core import ocispec
from podbay.core.records import ContainerRecord
from podbay.errors import PermanentError
from podbay.runtime import seccomp_profiles
from podbay.sys import procfs

INFRA_NAME = "POD"
CATATONIT = "/usr/bin/catatonit"


def wants_infra(pod: dict[str, Any]) -> bool:
    return bool(pod["spec"].get("shareProcessNamespace"))


def _rootfs(deps: Deps) -> Path:
    """A one-file read-only rootfs holding the static catatonit binary (made once)."""
    root = deps.cfg.root / "infra" / "rootfs"
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


def running_infra(deps: Deps, uid: str) -> ContainerRecord | None:
    for rec in deps.store.containers(uid):
        if rec.kind == "infra" and rec.state == "running" and deps.runtime.is_running(rec.conmon_pid,
                                                                                      rec.conmon_start):
            return rec
    return None


def pid_ns_path(rec: ContainerRecord) -> str:
    return f"/proc/{rec.pid}/ns/pid"


def start_infra(deps: Deps, pod: dict[str, Any], sb: Sandbox) -> ContainerRecord:
    md = pod["metadata"]
    uid = md["uid"]
    attempt = 1 + max((r.attempt for r in deps.store.containers(uid) if r.kind == "infra"), default=-1)
    cid = secrets.token_hex(32)
    ctr = {"name": INFRA_NAME, "image": "podbay/infra",
           "securityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                               "capabilities": {"drop": ["ALL"]}}}
    # The sandbox gets the pod-level seccomp profile, as the kubelet gives it to the pause container.
    profile_name = ocispec.localhost_profile_name(pod, ctr)
    plan = ocispec.ContainerPlan(
        container_id=cid, pod=pod, container=ctr, argv=("/catatonit", "-P"), env=("PATH=/",),
        rootfs=str(_rootfs(deps)), cgroups_path=f"/{deps.cfg.pod_cgroup(uid)}/infra",
        net_ns=str(sb.ns.net), ipc_ns=str(sb.ns.ipc), uts_ns=str(sb.ns.uts), rlimit_nofile=deps.nofile,
        available_caps=deps.host_caps, arch=seccomp_profiles.HOST_ARCH,
        seccomp_localhost=seccomp_profiles.load(deps.cfg.seccomp_root, profile_name) if profile_name else None)
    spec = ocispec.build_spec(plan)
    deps.runtime.container_dir(cid).mkdir(parents=True, exist_ok=True)
    log_path = deps.cfg.pod_log_dir(pod) / "infra.log"
    launched = deps.runtime.create(cid, f"{md['name']}_POD", spec, log_path)
    deps.runtime.start(cid)
    now = time.time()
    rec = ContainerRecord(id=cid, pod_uid=uid, name=INFRA_NAME, kind="infra", attempt=attempt, spec_hash="",
                          image="", state="running", created_at=now, started_at=now,
                          conmon_pid=launched.conmon_pid, conmon_start=procfs.start_time(launched.conmon_pid),
                          pid=launched.pid, log_path=str(log_path))
    deps.store.put_container(rec)
    return rec
