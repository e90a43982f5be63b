"""The agent's side effects, as small interfaces (Protocols) with in-memory fakes in ``podbay.testing``.

The pod workers, the prober and the pod service reach the host only through these: a container
runtime (CRI-shaped, like CRI-O's ``RuntimeImpl``), the pod network (CNI), namespace pinning, the pod
volumes, the API objects they read (ConfigMaps, Secrets, the pods themselves), the one place pod
status is written, events, a clock, and the probe/hook transport. Each has one real adapter in the
agent and one fake, so the lifecycle can be tested without root (as the kubelet tests its
``SyncPod`` against ``fake_runtime.go``).

Pure: only types. Sync methods block (the agent calls them in threads); ``async`` ones run on the
event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from podbay.core.image_policy import EnsureResult
from podbay.core.probes import GrpcTarget, HttpTarget, ProbeOutcome, ProbeResult, TcpTarget
from podbay.core.records import ContainerRecord

__all__ = ["GrpcTarget", "HttpTarget", "ProbeOutcome", "ProbeResult", "TcpTarget"]

Obj = dict[str, Any]


# --- clock ---------------------------------------------------------------------------------------


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def now(self) -> float: ...                 # wall clock (UNIX seconds): timestamps, back-off
    def monotonic(self) -> float: ...           # intervals: probe periods, grace periods
    async def sleep(self, seconds: float) -> None: ...
    # fn() runs on the loop after ``seconds`` unless cancelled: a wait without a task per period.
    def call_later(self, seconds: float, fn: Callable[[], None]) -> Timer: ...


# --- the container runtime -----------------------------------------------------------------------


@dataclass(frozen=True)
class PinnedNamespaces:
    net: Path
    uts: Path
    ipc: Path


@dataclass(frozen=True)
class Sandbox:
    """What containers of a pod join: pinned namespaces, the pod IPs, the managed /etc files."""

    pod_dir: Path
    ns: PinnedNamespaces
    ips: tuple[str, ...]
    hosts: Path
    hostname: Path
    resolv: Path


@dataclass(frozen=True)
class CreateRequest:
    """One attempt of one container (CRI CreateContainer)."""

    pod: Mapping[str, Any]
    name: str
    attempt: int
    sandbox: Sandbox
    volume_paths: Mapping[str, str]
    pid_ns: str | None = None
    warn: Callable[[str, str], None] | None = None    # (reason, message): a Warning event on the pod


@dataclass(frozen=True)
class ExitStatus:
    code: int | None          # None: unknown, never "0 by default"
    finished_at: float
    oom_killed: bool = False


@dataclass(frozen=True)
class ExecResult:
    """ExecSync: stdout then stderr (not interleaved), capped by the caller's limit."""

    exit_code: int | None
    output: bytes = b""
    timed_out: bool = False
    error: str = ""           # the exec could not run at all (container gone, runtime failure)


# What the OCI runtime itself says (`crun state`): "gone" when it does not know the container.
RuntimeStatus = Literal["created", "running", "stopped", "gone"]


class Runtime(Protocol):
    def create(self, req: CreateRequest) -> ContainerRecord:
        """State "created" (or "exited" with StartError); raises StartFailed when nothing was created."""
        ...

    def start(self, rec: ContainerRecord) -> ContainerRecord:
        """Running, or exited with StartError (the created container is removed then)."""
        ...

    def create_infra(self, pod: Mapping[str, Any], sandbox: Sandbox, attempt: int) -> ContainerRecord:
        """The pause process that holds a shared PID namespace (shareProcessNamespace), started."""
        ...

    def signal(self, rec: ContainerRecord, sig: int) -> bool: ...
    def exit_status(self, rec: ContainerRecord) -> ExitStatus | None: ...   # None while it runs
    def is_alive(self, rec: ContainerRecord) -> bool: ...                   # its monitor (conmon)
    def runtime_status(self, rec: ContainerRecord) -> RuntimeStatus: ...
    def remove(self, rec: ContainerRecord) -> None: ...                     # idempotent
    def container_dir(self, cid: str) -> Path: ...

    async def exec_sync(self, rec: ContainerRecord, argv: Sequence[str], timeout: float | None,
                        limit: int = 10 * 1024) -> ExecResult:
        """Run argv in the container with its own process spec; SIGKILL (the process group) on timeout."""
        ...


# --- network, namespaces, volumes ----------------------------------------------------------------


class PodNetwork(Protocol):
    def add(self, container_id: str, netns_path: str | Path, ifname: str = "eth0",
            args: Mapping[str, str] | None = None, *,
            capability_args: Mapping[str, Any] | None = None) -> dict[str, Any]: ...
    def delete(self, container_id: str, netns_path: str | Path | None, ifname: str = "eth0") -> None: ...
    def result(self, container_id: str, ifname: str = "eth0") -> dict[str, Any] | None: ...
    def forget(self, container_id: str, ifname: str = "eth0") -> None: ...


class NamespacePinner(Protocol):
    def pin(self, ns_dir: Path, hostname: str) -> PinnedNamespaces: ...
    def unpin(self, ns_dir: Path) -> None: ...
    def usable(self, path: Path) -> bool: ...     # a live pinned namespace (not a leftover file)


class PodVolumes(Protocol):
    """The pod's volumes (kubelet volume manager): set up idempotently, refreshed, torn down."""

    def setup(self, pod: Mapping[str, Any], pod_dir: Path) -> dict[str, str]: ...   # name -> host path
    def refresh(self, pod: Mapping[str, Any], pod_dir: Path) -> None: ...          # atomic-writer ones
    # Cheap, on the loop: could refresh change anything? (an input changed since the last one)
    def refresh_needed(self, pod: Mapping[str, Any], pod_dir: Path) -> bool: ...
    def teardown(self, pod_dir: Path) -> None: ...


class Mounter(Protocol):
    """mount(2) for the volume plugins that mount (nfs); the fake records the calls."""

    def mount(self, source: str, target: str, fstype: str, options: str) -> None: ...
    def umount(self, target: str) -> bool: ...
    def is_mount_point(self, path: str) -> bool: ...


# --- API objects, status, events -----------------------------------------------------------------


class ObjectSource(Protocol):
    """ConfigMaps, Secrets and claims as the API stores them (re-read at every use, as upstream)."""

    def get(self, kind: str, namespace: str, name: str) -> Obj | None: ...
    def version(self, kind: str, namespace: str, name: str) -> str | None: ...   # resourceVersion, no copy


@dataclass(frozen=True)
class StatusUpdate:
    status: Obj
    annotations: Mapping[str, str] = field(default_factory=dict)   # podbay.io/ annotations only


class StatusWriter(Protocol):
    """The ONE way pod status reaches the API: ``status_of`` maps the stored pod to its new status
    (None: nothing to write); the writer persists and publishes only a real change."""

    def update_status(self, uid: str, status_of: Callable[[Obj], StatusUpdate | None]) -> Obj | None: ...


class PodSource(Protocol):
    def get_pod(self, uid: str) -> Obj | None: ...
    def list_pods(self) -> list[Obj]: ...
    def finish_deletion(self, pod: Obj) -> None: ...    # remove the object of a terminated, deleted pod


class EventRecorder(Protocol):
    def record(self, pod: Mapping[str, Any], type_: str, reason: str, message: str,
               field_path: str = "") -> None: ...
    def forget(self, pod: Mapping[str, Any]) -> None: ...    # the events of a pod that is gone


class ContainerRecords(Protocol):
    """The container attempts of every pod (the store's `containers` table)."""

    def containers(self, pod_uid: str) -> list[ContainerRecord]: ...
    def all_containers(self) -> list[ContainerRecord]: ...
    def put_container(self, rec: ContainerRecord) -> None: ...
    def delete_container(self, cid: str) -> None: ...
    def delete_pod_containers(self, pod_uid: str) -> None: ...


# --- images --------------------------------------------------------------------------------------


ImageEventSink = Callable[[str, str, str, str], None]   # (container name, type, reason, message)


class ImageService(Protocol):
    """EnsureImageExists for the containers about to start: pull policy, credentials, back-off and
    their events (the kubelet's image manager). The result per container name."""

    async def ensure(self, pod: Mapping[str, Any], names: Sequence[str],
                     record: ImageEventSink) -> Mapping[str, EnsureResult]: ...


# --- probes and hooks ----------------------------------------------------------------------------


class ProbeTransport(Protocol):
    """What probes and hooks do on the wire, from the host: HTTP(S) GET, TCP connect, gRPC health."""

    async def http_get(self, target: HttpTarget, timeout: float | None, *,
                       check_status: bool = True) -> ProbeOutcome: ...
    async def tcp(self, target: TcpTarget, timeout: float) -> ProbeOutcome: ...
    async def grpc(self, target: GrpcTarget, timeout: float) -> ProbeOutcome: ...


class EvictionTracker(Protocol):
    """Local ephemeral storage accounting (the eviction manager's inputs)."""

    async def track(self, pod: Mapping[str, Any], volume_paths: Mapping[str, str]) -> None: ...
    async def track_container(self, pod: Mapping[str, Any], name: str, upper_dir: Path, log_dir: Path) -> None: ...
    def untrack(self, uid: str) -> None: ...
