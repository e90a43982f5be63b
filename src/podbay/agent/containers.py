"""The agent's container runtime (the ``Runtime`` port): image -> rootfs -> mounts -> OCI spec -> conmon.

Like CRI-O behind the CRI, ``CrunRuntime`` creates, starts, signals, inspects and removes one
container attempt at a time, and runs commands in a container with its own process spec
(``ExecSync``, for probes and exec hooks).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import os
import secrets
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podbay.agent import infra
from podbay.core import command, ocispec
from podbay.core.hashing import container_hash
from podbay.core.records import ContainerKind, ContainerRecord
from podbay.core.signals import stop_signal
from podbay.errors import NotFound, NotSupported, PermanentError, PodbayError, RuntimeFailure, StartFailed
from podbay.images import rootfs
from podbay.images.store import ImageStore
from podbay.ports import CreateRequest, ExecResult, ExitStatus, ObjectSource, RuntimeStatus, Sandbox
from podbay.runtime import seccomp_profiles
from podbay.runtime.service import ContainerRuntime
from podbay.sys import procfs
from podbay.volumes import hostpath, subpath

__all__ = ["CrunRuntime", "NodeInfo", "StartFailed", "cleanup_container", "find_container", "needs_pod_ip"]


ServiceEnv = Callable[[Mapping[str, Any]], dict[str, str]]   # the pod's Service variables


@dataclass(frozen=True)
class NodeInfo:
    node_name: str
    host_ip: str
    nofile: tuple[int, int]
    host_caps: tuple[str, ...] | None
    logs_root: Path
    cgroup_parent: str = "podbay"
    allowed_host_paths: tuple[str, ...] = ()
    seccomp_root: Path | None = None       # Localhost seccomp profiles

    def log_path(self, pod: Mapping[str, Any], container: str, attempt: int) -> Path:
        md = pod["metadata"]
        return self.logs_root / f"{md['namespace']}_{md['name']}_{md['uid']}" / container / f"{attempt}.log"

    def pod_cgroup(self, uid: str) -> str:
        return f"{self.cgroup_parent}/pod{uid}"


def find_container(pod: Mapping[str, Any], name: str) -> tuple[dict[str, Any], ContainerKind]:
    for c in pod["spec"].get("initContainers") or []:
        if c["name"] == name:
            return c, "init"
    for c in pod["spec"]["containers"]:
        if c["name"] == name:
            return c, "regular"
    raise NotFound(f'container "{name}" not found in pod "{pod["metadata"]["name"]}"')


def needs_pod_ip(container: Mapping[str, Any]) -> bool:
    """Whether the container's env reads the pod IP (then it can only be created after CNI ADD)."""
    for var in container.get("env") or []:
        path = ((var.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath", "")
        if path in ("status.podIP", "status.podIPs"):
            return True
    return False


def termination_log_path(pod_dir: Path, name: str, cid: str) -> Path:
    """kubelet makeMounts: <podDir>/containers/<name>/<8 hex>, a fresh file per attempt."""
    return pod_dir / "containers" / name / cid[:8]


def _volume_mounts(pod: Mapping[str, Any], ctr: Mapping[str, Any], volume_paths: Mapping[str, str],
                   env: Mapping[str, str], sb: Sandbox, allowed_host_paths: tuple[str, ...]) -> list[ocispec.MountSpec]:
    mounts: list[ocispec.MountSpec] = []
    name = ctr["name"]
    for idx, vm in enumerate(ctr.get("volumeMounts") or []):
        vol = vm["name"]
        if vol not in volume_paths:
            raise StartFailed("CreateContainerConfigError",
                              f'cannot find volume "{vol}" to mount into container "{name}"')
        try:   # under --allowed-host-path a hostPath is resolved and pinned again at every start
            source = hostpath.container_source(dict(pod), vol, volume_paths[vol], allowed_host_paths,
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


def _pod_file_mounts(ctr: Mapping[str, Any], sb: Sandbox, user_dests: set[str],
                     term_log: Path) -> list[ocispec.MountSpec]:
    out = []
    for dest, src in (("/etc/hosts", sb.hosts), ("/etc/hostname", sb.hostname), ("/etc/resolv.conf", sb.resolv)):
        if dest not in user_dests:  # a user volume at that path wins over the managed file
            out.append(ocispec.MountSpec(dest, str(src)))
    tpath = ctr.get("terminationMessagePath") or "/dev/termination-log"
    if tpath not in user_dests:
        out.append(ocispec.MountSpec(tpath, str(term_log)))
    return out


def _object_lookup(objects: ObjectSource, namespace: str) -> command.Lookup:
    """configMapKeyRef / secretKeyRef values from the stored objects (re-read at every start, as upstream)."""

    def lookup(kind: str, name: str, key: str) -> str | None:
        if kind == "configmap":
            cm = objects.get("ConfigMap", namespace, name) or {}
            if key in (cm.get("data") or {}):
                return str(cm["data"][key])
            raw = (cm.get("binaryData") or {}).get(key)
            return base64.b64decode(raw).decode(errors="replace") if raw is not None else None
        secret = objects.get("Secret", namespace, name) or {}
        raw = (secret.get("data") or {}).get(key)
        return base64.b64decode(raw).decode(errors="replace") if raw is not None else None

    return lookup


def _object_data(objects: ObjectSource, namespace: str) -> command.ObjectLookup:
    """Whole ConfigMaps (data + binaryData) and Secrets (decoded) for envFrom."""

    def data(kind: str, name: str) -> dict[str, str] | None:
        if kind == "configmap":
            cm = objects.get("ConfigMap", namespace, name)
            if cm is None:
                return None
            out = {str(k): str(v) for k, v in (cm.get("data") or {}).items()}
            for k, v in (cm.get("binaryData") or {}).items():
                out[str(k)] = base64.b64decode(v).decode(errors="replace")
            return out
        secret = objects.get("Secret", namespace, name)
        if secret is None:
            return None
        return {str(k): base64.b64decode(v).decode(errors="replace") for k, v in (secret.get("data") or {}).items()}

    return data


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


class CrunRuntime:
    """The Runtime port over conmon + crun/runc, the image store and the rootfs overlay."""

    def __init__(self, runtime: ContainerRuntime, images: ImageStore, objects: ObjectSource, node: NodeInfo,
                 infra_root: Path, service_env: ServiceEnv | None = None) -> None:
        self.runtime = runtime
        self.images = images
        self.objects = objects
        self.node = node
        self.infra_root = infra_root
        self.service_env = service_env      # None: no Service variables (agent --no-services)

    def container_dir(self, cid: str) -> Path:
        return self.runtime.container_dir(cid)

    # -- create / start -------------------------------------------------------------------------
    def create(self, req: CreateRequest) -> ContainerRecord:
        pod, name, sb = req.pod, req.name, req.sandbox
        ctr, kind = find_container(pod, name)
        try:
            image = self.images.resolve(ctr["image"])
        except NotFound as exc:
            raise StartFailed("ErrImagePull", str(exc)) from exc
        cid = secrets.token_hex(32)
        cdir = self.runtime.container_dir(cid)
        cdir.mkdir(parents=True, exist_ok=True)
        try:
            return self._create(req, ctr, kind, image, cid, cdir)
        except BaseException:
            # Nothing half-made survives a failed create (mounts, bundle, the termination log).
            with contextlib.suppress(PodbayError, OSError):
                self._cleanup(cid)
            with contextlib.suppress(OSError):
                termination_log_path(sb.pod_dir, name, cid).unlink()
            raise

    def _create(self, req: CreateRequest, ctr: dict[str, Any], kind: ContainerKind, image: Any, cid: str,
                cdir: Path) -> ContainerRecord:
        pod, name, sb = req.pod, req.name, req.sandbox
        md = pod["metadata"]
        image_env = list(image.config.get("Env") or [])
        pod_ip = sb.ips[0] if sb.ips else ""
        lookup = _object_lookup(self.objects, md["namespace"])
        objects = _object_data(self.objects, md["namespace"])
        try:
            # Service variables as of this container's creation (kubelet getServiceEnvVarMap).
            svc_env = self.service_env(pod) if self.service_env is not None else {}
            ctr_env = {**svc_env, **dict(command.container_env(pod, ctr, pod_ip, self.node.node_name,
                                                               self.node.host_ip, lookup, None, objects, req.warn,
                                                               svc_env))}
            env = command.resolve_env(pod, ctr, image_env, pod_ip, self.node.node_name, self.node.host_ip, lookup,
                                      objects=objects, service_env=svc_env)
            argv = command.resolve_argv(ctr, image.config, ctr_env)
        except (NotSupported, PermanentError) as exc:
            raise StartFailed("CreateContainerConfigError", str(exc)) from exc
        mounts = _volume_mounts(pod, ctr, req.volume_paths, ctr_env, sb, self.node.allowed_host_paths)
        term_log = termination_log_path(sb.pod_dir, name, cid)
        term_log.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        term_log.touch()
        os.chmod(term_log, 0o666)    # any container user may write it (the umask would clear bits)
        mounts += _pod_file_mounts(ctr, sb, {m.destination for m in mounts}, term_log)
        try:   # a Localhost seccomp profile is read below the profile root (CRI runtimes load it at create)
            profile_name = ocispec.localhost_profile_name(pod, ctr)
        except PermanentError as exc:
            raise StartFailed("CreateContainerConfigError", str(exc)) from exc
        try:
            localhost = seccomp_profiles.load(self.node.seccomp_root, profile_name) \
                if profile_name and self.node.seccomp_root is not None else None
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
                pid_ns=req.pid_ns, mounts=tuple(mounts),
                cgroups_path=f"/{self.node.pod_cgroup(md['uid'])}/{cid[:12]}",
                rlimit_nofile=self.node.nofile, available_caps=self.node.host_caps,
                seccomp_localhost=localhost, arch=seccomp_profiles.HOST_ARCH,
            )
            spec = ocispec.build_spec(plan)
        except (PermanentError, NotSupported) as exc:
            raise StartFailed("CreateContainerConfigError", str(exc)) from exc
        log_path = self.node.log_path(pod, name, req.attempt)
        rec = ContainerRecord(id=cid, pod_uid=md["uid"], name=name, kind=kind, attempt=req.attempt,
                              spec_hash=container_hash(ctr), image=ctr["image"],
                              image_id=image.status_ref(ctr["image"]),   # containerd's imageID
                              state="created", created_at=time.time(), log_path=str(log_path),
                              stop_signal=stop_signal(ctr, image.config))
        try:
            launched = self.runtime.create(cid, f"{md['name']}_{name}", spec, log_path)
        except RuntimeFailure as exc:
            return self._start_error(rec, exc)
        return rec.with_(conmon_pid=launched.conmon_pid, conmon_start=procfs.start_time(launched.conmon_pid),
                         pid=launched.pid)

    def start(self, rec: ContainerRecord) -> ContainerRecord:
        try:
            self.runtime.start(rec.id)
        except RuntimeFailure as exc:
            return self._start_error(rec, exc)
        return rec.with_(state="running", started_at=time.time())

    def _start_error(self, rec: ContainerRecord, exc: Exception) -> ContainerRecord:
        # As kubelet: a runtime that cannot start the process gives a terminated StartError attempt.
        with contextlib.suppress(PodbayError, OSError):
            self._cleanup(rec.id)
        return rec.with_(state="exited", exit_code=128, reason="StartError", message=_short(str(exc)),
                         started_at=None, finished_at=time.time())

    def create_infra(self, pod: Mapping[str, Any], sandbox: Sandbox, attempt: int) -> ContainerRecord:
        return infra.start_infra(self.runtime, self.infra_root, self.node, dict(pod), sandbox, attempt)

    # -- inspect / stop / remove -----------------------------------------------------------------
    def signal(self, rec: ContainerRecord, sig: int) -> bool:
        return self.runtime.signal(rec.id, sig)

    def exit_status(self, rec: ContainerRecord) -> ExitStatus | None:
        info = self.runtime.exit_info(rec.id)
        if info is None:
            return None
        return ExitStatus(info.code, info.finished_at, self.runtime.oom_killed(rec.id))

    def is_alive(self, rec: ContainerRecord) -> bool:
        return self.runtime.is_running(rec.conmon_pid, rec.conmon_start)

    def runtime_status(self, rec: ContainerRecord) -> RuntimeStatus:
        state = self.runtime.oci.state(rec.id)
        if state is None:
            return "gone"
        status = str(state.get("status") or "")
        if status in ("created", "running"):
            return status  # type: ignore[return-value]
        return "stopped"

    def remove(self, rec: ContainerRecord) -> None:
        self._cleanup(rec.id)

    def _cleanup(self, cid: str) -> None:
        rootfs.unmount(self.runtime.container_dir(cid))
        self.runtime.remove(cid)

    # -- exec ------------------------------------------------------------------------------------
    async def exec_sync(self, rec: ContainerRecord, argv: Sequence[str], timeout: float | None,
                        limit: int = 10 * 1024) -> ExecResult:
        # Probes and hooks run the same command again and again: its process file is kept (written on
        # the loop only when it is new, a stat otherwise), so a run costs no thread and no temp file.
        try:
            cmd = self.runtime.exec_argv_kept(rec.id, list(argv))
        except (OSError, ValueError, KeyError) as exc:
            return ExecResult(None, error=f"container not found: {exc}")
        pid_file = self.runtime.container_dir(rec.id) / f"exec-{os.getpid()}-{next(_EXEC_SEQ)}.pid"
        # `exec [--pid-file F] ... <cid>`: the pid of the process in the container, to kill it on timeout.
        cmd = [*cmd[:-1], "--pid-file", str(pid_file), cmd[-1]]

        def kill_exec() -> None:
            with contextlib.suppress(OSError, ValueError):
                kill_tree(int(pid_file.read_text().strip()))

        try:
            return await run_capped(cmd, timeout, limit, on_timeout=kill_exec)
        finally:
            pid_file.unlink(missing_ok=True)


_EXEC_SEQ = itertools.count()


def kill_tree(pid: int) -> None:
    """SIGKILL a process and its descendants (children lists of /proc), deepest last."""
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
    for p in seen:
        with contextlib.suppress(OSError):
            os.kill(p, signal.SIGKILL)


async def run_capped(cmd: Sequence[str], timeout: float | None, limit: int,
                     on_timeout: Callable[[], None] | None = None) -> ExecResult:
    """Run cmd in its own process group: stdout then stderr, each read up to ``limit`` bytes in total.

    On timeout ``on_timeout`` kills what runs (for a runtime exec: the process in the container and
    its children, so the runtime's own processes exit and are reaped normally and no orphan is left in
    the container's PID namespace); without it the whole group is SIGKILLed. Pipes a background child
    still holds are not waited for (``sh -c "sleep 10 & exit 1"`` reports its exit at once)."""
    loop = asyncio.get_running_loop()
    pipes = [os.pipe(), os.pipe()]
    bufs = [bytearray(), bytearray()]
    eofs: list[asyncio.Future[None]] = [loop.create_future(), loop.create_future()]
    try:
        proc = await asyncio.create_subprocess_exec(*cmd, stdin=asyncio.subprocess.DEVNULL, stdout=pipes[0][1],
                                                    stderr=pipes[1][1], start_new_session=True)
    except OSError as exc:
        for r, w in pipes:
            os.close(r)
            os.close(w)
        return ExecResult(None, error=str(exc))
    for i, (r, w) in enumerate(pipes):
        os.close(w)
        os.set_blocking(r, False)

        def readable(i: int = i, fd: int = r) -> None:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                loop.remove_reader(fd)
                if not eofs[i].done():
                    eofs[i].set_result(None)
                return
            if len(bufs[i]) < limit:
                bufs[i] += chunk[: limit - len(bufs[i])]

        loop.add_reader(r, readable)
    timed_out = False
    try:
        try:
            async with asyncio.timeout(timeout):     # no task per exec (wait_for made one)
                await proc.wait()
        except TimeoutError:
            timed_out = True
            if on_timeout is not None:
                with contextlib.suppress(Exception):
                    on_timeout()
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
    finally:
        if proc.returncode is None:     # cancelled: never leave the process behind
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        if not all(f.done() for f in eofs):
            # Output still in flight after the exit is read for a moment; a pipe a background child
            # holds is not waited for.
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                async with asyncio.timeout(0.05):
                    for f in eofs:
                        await f      # a cancelled f is fine: the reader checks done()
        for r, _ in pipes:
            loop.remove_reader(r)
            os.close(r)
    output = (bytes(bufs[0]) + bytes(bufs[1]))[:limit]
    return ExecResult(None if timed_out else proc.returncode, output, timed_out)


def cleanup_container(deps: Any, cid: str) -> None:
    """Forget one attempt in the runtime: runtime state, rootfs mount, bundle. Idempotent (start-up GC)."""
    cdir = deps.runtime.container_dir(cid)
    rootfs.unmount(cdir)
    deps.runtime.remove(cid)

