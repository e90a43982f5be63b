"""Value types shared by the agent, the store and the pure planners.

A ContainerRecord is one *attempt* of one container of one pod (kubelet: one CRI container).
Times are wall-clock UNIX seconds (float) so they survive an agent restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

# "infra" is the pause process holding a shared PID namespace (shareProcessNamespace), not a spec container.
ContainerKind = Literal["init", "regular", "infra"]
# created: bundle + conmon exist, not started; running; exited: conmon wrote an exit code;
# failed: could not be created/started (reason/message say why).
RunState = Literal["created", "running", "exited", "failed"]


@dataclass(frozen=True)
class ContainerRecord:
    id: str                      # runtime container id (unique per attempt)
    pod_uid: str
    name: str
    kind: ContainerKind
    attempt: int                 # 0 for the first run; restartCount == attempt of the newest record
    spec_hash: str
    image: str                   # the reference as written in the pod spec
    image_id: str = ""           # resolved image id (sha256:...)
    state: RunState = "created"
    exit_code: int | None = None  # None = unknown, never "0 by default"
    reason: str = ""             # e.g. Completed, Error, OOMKilled, StartError
    message: str = ""
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    conmon_pid: int | None = None
    conmon_start: int | None = None   # /proc/<pid>/stat starttime, guards against PID reuse
    pid: int | None = None
    log_path: str = ""
    # The restart back-off entry (client-go flowcontrol.Backoff) in force when this attempt started,
    # keyed like the kubelet's by (pod, container, spec_hash): seconds, and when it was last updated.
    backoff: float = 0.0
    backoff_at: float = 0.0
    stop_signal: int = 0          # the effective stop signal chosen at create (0: SIGTERM)

    def with_(self, **changes: object) -> ContainerRecord:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Waiting:
    """A container that is not running and why (CrashLoopBackOff, ErrImagePull, ...)."""

    reason: str
    message: str = ""


@dataclass(frozen=True)
class PodRuntimeView:
    """What the agent knows about one pod at a moment: records plus per-container waiting reasons."""

    records: tuple[ContainerRecord, ...] = ()
    waiting: dict[str, Waiting] = field(default_factory=dict)   # container name -> why it waits
    pod_ip: str | None = None
    sandbox_ready: bool = False
    terminal_reason: str = ""      # e.g. Evicted
    terminal_message: str = ""

    def latest(self, name: str) -> ContainerRecord | None:
        best: ContainerRecord | None = None
        for r in self.records:
            if r.name == name and (best is None or r.attempt > best.attempt):
                best = r
        return best

    def previous(self, name: str) -> ContainerRecord | None:
        latest = self.latest(name)
        if latest is None:
            return None
        older = [r for r in self.records if r.name == name and r.attempt < latest.attempt]
        return max(older, key=lambda r: r.attempt) if older else None
