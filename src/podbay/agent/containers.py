"""Start one container attempt: image -> rootfs -> mounts -> OCI spec -> conmon. Stop and clean one attempt."""

from __future__ import annotations

import base64
import contextlib
import secrets
import time
from pathlib import Path
from typing import Any

from podbay.agent.deps import Deps
from podbay.agent.sandbox import Sandbox
from podbay.agent.services import service_env_for
from podbay.core import command, ocispec
from podbay.core.hashing import container_hash
from podbay.core.records import ContainerKind, ContainerRecord
from podbay.errors import NotFound, NotSupported, PermanentError, PodbayError, RuntimeFailure
from podbay.images import rootfs
from podbay.runtime import seccomp_profiles
from podbay.sys import procfs
from podbay.volumes import hostpath, subpath


class StartFailed(PodbayError):
    """The container could not be created; reason is Kubernetes' waiting reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def find_container(pod: dict[str, Any], name: str) -> tuple[dict[str, Any], ContainerKind]:
    for c in pod["spec"].get("initContainers") or []:
        if c["name"] == name:
            return c, "init"
    for c in pod["spec"]["containers"]:
        if c["name"] == name:
            return c, "regular"
    raise NotFound(f'container "{name}" not found in pod "{pod["metadata"]["name"]}"')


def _volume_mounts(deps: Deps, pod: dict[str, Any], ctr: dict[str, Any], volume_paths: dict[str, str],
                   env: dict[str, str], sb: Sandbox) -> list[ocispec.MountSpec]:
    mounts: list[ocispec.MountSpec] = []
    name = ctr["name"]
    for idx, vm in enumerate(ctr.get("volumeMounts") or []):
        vol = vm["name"]
        if vol not in volume_paths:
            raise StartFailed("CreateContainerConfigError",
                              f'cannot find volume "{vol}" to mount into container "{name}"')
        try:   # under --allowed-host-path a hostPath is resolved and pinned again at every start
            source = hostpath.container_source(pod, vol, volume_paths[vol], deps.cfg.allowed_host_paths,
                                               sb.pod_dir, name, idx)
        except PodbayError as exc:
            raise StartFailed("CreateContainerConfigError", str(exc)) from exc
        sub = vm.get("subPath") or ""
        if vm.get("subPathExpr"):
            try:
                sub = command.expand_subpath_expr(vm["subPathExpr"], env)
            except ValueError as exc:
                raise StartFailed("CreateContainerConfigError", str(exc)) from exc
        if sub:
            try:
                source = subpath.prepare_subpath(source, sub, sb.pod_dir, vol, name, idx)
            except PodbayError as exc:
                raise StartFailed("CreateContainerConfigError", str(exc)) from exc
        try:
            mounts.append(ocispec.volume_mount(vm, source))
        except NotSupported as exc:
            raise StartFailed("CreateContainerConfigError", str(exc)) from exc
    return mounts


def _pod_file_mounts(ctr: dict[str, Any], sb: Sandbox, user_dests: set[str], term_log: Path) -> list[ocispec.MountSpec]:
    out = []
    for dest, src in (("/etc/hosts", sb.files.hosts), ("/etc/hostname", sb.files.hostname),
                      ("/etc/resolv.conf", sb.files.resolv)):
        if dest not in user_dests:  # a user volume at that path wins over the managed file
            out.append(ocispec.MountSpec(dest, str(src)))
    tpath = ctr.get("terminationMessagePath") or "/dev/termination-log"
    if tpath not in user_dests:
        out.append(ocispec.MountSpec(tpath, str(term_log)))
    return out


def needs_pod_ip(container: dict[str, Any]) -> bool:
    """Whether the container's env reads the pod IP (then it can only be created after CNI ADD)."""
    for var in container.get("env") or []:
        path = ((var.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath", "")
        if path in ("status.podIP", "status.podIPs"):
            return True
    return False


def create_container(deps: Deps, pod: dict[str, Any], name: str, attempt: int, sb: Sandbox,
                     volume_paths: dict[str, str], pid_ns: str | None = None) -> ContainerRecord:
    """Create attempt `attempt` of container `name` (state "created", or "exited" with StartError);
    raises StartFailed when nothing was created."""
    ctr, kind = find_container(pod, name)
    md = pod["metadata"]
    try:
        image = deps.images.resolve(ctr["image"])
    except NotFound as exc:
        raise StartFailed("ErrImagePull", str(exc)) from exc
    cid = secrets.token_hex(32)
    cdir = deps.runtime.container_dir(cid)
    cdir.mkdir(parents=True, exist_ok=True)
    try:
        image_env = list(image.config.get("Env") or [])
        pod_ip = sb.ips[0] if sb.ips else ""
        lookup = _object_lookup(deps, md["namespace"])
        try:
            # Service variables as of this container's creation (kubelet getServiceEnvVarMap).
            svc_env = service_env_for(deps.repo, pod) if deps.cfg.services else {}
            env = command.resolve_env(pod, ctr, image_env, pod_ip, deps.cfg.node_name, deps.host_ip, lookup,
                                      service_env=svc_env)
            ctr_env = {**svc_env, **dict(command.container_env(pod, ctr, pod_ip, deps.cfg.node_name, deps.host_ip,
                                                               lookup, None, svc_env))}
            argv = command.resolve_argv(ctr, image.config, ctr_env)
        except (NotSupported, PermanentError) as exc:
            raise StartFailed("CreateContainerConfigError", str(exc)) from exc
        mounts = _volume_mounts(deps, pod, ctr, volume_paths, ctr_env, sb)
        term_dir = sb.pod_dir / "containers" / name
        term_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
        term_log = term_dir / cid[:8]
        term_log.touch(mode=0o666)
        mounts += _pod_file_mounts(ctr, sb, {m.destination for m in mounts}, term_log)
        try:   # a Localhost seccomp profile is read below the profile root (CRI runtimes load it at create)
            profile_name = ocispec.localhost_profile_name(pod, ctr)
        except PermanentError as exc:
            raise StartFailed("CreateContainerConfigError", str(exc)) from exc
        try:
            localhost = seccomp_profiles.load(deps.cfg.seccomp_root, profile_name) if profile_name else None
        except PermanentError as exc:
            raise StartFailed("CreateContainerError", str(exc)) from exc
        root = rootfs.mount_overlay(image.layer_dirs, cdir)
        try:
            user = ocispec.resolve_user(pod, ctr, image.config.get("User") or "", _read_etc(root, "passwd"),
                                        _read_etc(root, "group"))
            plan = ocispec.ContainerPlan(
                container_id=cid, pod=pod, container=ctr, argv=tuple(argv), env=tuple(env),
                cwd=command.resolve_cwd(ctr, image.config), user=user,
                rootfs=str(root), net_ns=str(sb.ns.net), ipc_ns=str(sb.ns.ipc), uts_ns=str(sb.ns.uts),
                pid_ns=pid_ns,
                mounts=tuple(mounts), cgroups_path=f"/{deps.cfg.pod_cgroup(md['uid'])}/{cid[:12]}",
                rlimit_nofile=deps.nofile, available_caps=deps.host_caps,
                seccomp_localhost=localhost, arch=seccomp_profiles.HOST_ARCH,
            )
            spec = ocispec.build_spec(plan)
        except (PermanentError, NotSupported) as exc:
            raise StartFailed("CreateContainerConfigError", str(exc)) from exc
        log_path = deps.cfg.log_path(pod, name, attempt)
        now = time.time()
        rec = ContainerRecord(id=cid, pod_uid=md["uid"], name=name, kind=kind, attempt=attempt,
                              spec_hash=container_hash(ctr), image=ctr["image"],
                              image_id=image.status_ref(ctr["image"]),   # images lane: containerd's imageID
                              state="created", created_at=now, log_path=str(log_path))
        try:
            launched = deps.runtime.create(cid, f"{md['name']}_{name}", spec, log_path)
        except RuntimeFailure as exc:
            return _start_error(deps, rec, exc)
        return rec.with_(conmon_pid=launched.conmon_pid, conmon_start=procfs.start_time(launched.conmon_pid),
                         pid=launched.pid)
    except StartFailed:
        cleanup_container(deps, cid)
        raise


def start_created(deps: Deps, rec: ContainerRecord) -> ContainerRecord:
    """runtime start of a created attempt -> running, or exited with StartError."""
    try:
        deps.runtime.start(rec.id)
    except RuntimeFailure as exc:
        return _start_error(deps, rec, exc)
    return rec.with_(state="running", started_at=time.time())


def _start_error(deps: Deps, rec: ContainerRecord, exc: Exception) -> ContainerRecord:
    # As kubelet: a runtime that cannot start the process gives a terminated StartError attempt.
    cleanup_container(deps, rec.id)
    return rec.with_(state="exited", exit_code=128, reason="StartError", message=_short(str(exc)),
                     started_at=None, finished_at=time.time())


def _object_lookup(deps: Deps, namespace: str) -> command.Lookup:
    """configMapKeyRef / secretKeyRef values from the stored objects (re-read at every start, as upstream)."""

    def lookup(kind: str, name: str, key: str) -> str | None:
        if kind == "configmap":
            cm = deps.store.get_object("ConfigMap", namespace, name) or {}
            if key in (cm.get("data") or {}):
                return str(cm["data"][key])
            raw = (cm.get("binaryData") or {}).get(key)
            return base64.b64decode(raw).decode(errors="replace") if raw is not None else None
        secret = deps.store.get_object("Secret", namespace, name) or {}
        raw = (secret.get("data") or {}).get(key)
        return base64.b64decode(raw).decode(errors="replace") if raw is not None else None

    return lookup


def _short(msg: str) -> str:
    return msg if len(msg) < 400 else msg[:400] + "..."


def _read_etc(root: Path, name: str) -> str | None:
    # Read through the overlay without following a symlink planted by the image.
    path = root / "etc" / name
    if path.is_symlink():
        return None
    with contextlib.suppress(OSError):
        return path.read_text(errors="replace")
    return None


def cleanup_container(deps: Deps, cid: str) -> None:
    """Forget one attempt in the runtime: runtime state, rootfs mount, bundle. Idempotent."""
    cdir = deps.runtime.container_dir(cid)
    rootfs.unmount(cdir)
    deps.runtime.remove(cid)
