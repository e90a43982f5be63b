"""compute_pod_actions: what the next sync must do for one pod, as data (kubelet ``computePodActions``).

Pure: takes the defaulted pod, the container attempts, in-memory start failures, the probe results
of the running attempts and ``now``. The plan says what to kill (and why), what to start, what
waits (and until when), and whether the pod as a whole is finished (``kill_pod``).

Rules kept from the kubelet:

* a running container is killed when its definition changed (the image: ``containerChanged``,
  always restarted), when its liveness or its startup probe failed (restarted unless the pod's
  restartPolicy is Never); sidecars use ``Init container <c> ...`` messages and always restart;
* when no regular container runs or will run again (restartPolicy Never/OnFailure), the pod is
  finished: ``kill_pod``, and sidecars are no longer restarted (they are stopped with it);
* restart back-off (``doBackOff``): a start is held back while the newest *exited* attempt of that
  container is inside the back-off entry of (pod, container, spec hash); otherwise the entry
  advances (``Next``) and the start goes ahead. The first restart is therefore immediate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from podbay.core import restart
from podbay.core.hashing import container_hash
from podbay.core.records import ContainerRecord, Waiting
from podbay.core.restart import BackoffEntry, in_backoff_since, next_entry, should_restart

BACKOFF_INITIAL = restart.BASE_DELAY
BACKOFF_MAX = restart.MAX_DELAY

# containerKillReason (kuberuntime_manager.go)
REASON_LIVENESS = "LivenessProbe"
REASON_STARTUP = "StartupProbe"
REASON_POST_START = "FailedPostStartHook"


@dataclass(frozen=True)
class StartFailure:
    """A container that could not be created (image missing, bad subPath...): no attempt was made."""

    reason: str           # ErrImagePull, CreateContainerConfigError, ...
    message: str
    count: int
    at: float             # when it last failed


@dataclass(frozen=True)
class ProbeState:
    """The prober's cached results for one running attempt (by container id)."""

    started: bool = True           # no startup probe, or it succeeded
    liveness_failed: bool = False
    startup_failed: bool = False


@dataclass(frozen=True)
class KillReason:
    """Why a running attempt is killed (containerToKillInfo): message for the Killing event."""

    message: str
    reason: str = ""               # LivenessProbe | StartupProbe | FailedPostStartHook | ""
    restart: bool = False          # a new attempt is started once it is gone


@dataclass(frozen=True)
class PodActions:
    start_init: str | None = None                 # init container (or sidecar) to start now
    start: tuple[str, ...] = ()                   # regular containers to start now
    kill: Mapping[str, KillReason] = field(default_factory=dict)   # container name -> its running attempt
    kill_pod: bool = False                        # nothing will run again: stop what is left, pod finished
    waiting: dict[str, Waiting] = field(default_factory=dict)
    wake_at: float | None = None                  # earliest time another sync is due
    backoff: Mapping[str, BackoffEntry] = field(default_factory=dict)  # entry to stamp on each new attempt
    init_failed: bool = False                     # restartPolicy Never and an init container failed

    @property
    def all_done(self) -> bool:
        return self.kill_pod


def failure_retry_delay(f: StartFailure) -> float:
    if f.reason in ("ErrImagePull", "ImagePullBackOff"):
        return float(min(BACKOFF_INITIAL * 2.0 ** (f.count - 1), BACKOFF_MAX))
    return float(min(2.0 ** (f.count - 1), 30.0))


def crashloop_message(delay: float, ctr: str, pod: Mapping[str, Any]) -> str:
    md = pod["metadata"]
    return restart.crashloop_message(delay, ctr, md["name"], md.get("namespace", "default"), md.get("uid", ""))


def _records_by_name(records: Sequence[ContainerRecord]) -> dict[str, list[ContainerRecord]]:
    out: dict[str, list[ContainerRecord]] = {}
    for r in records:
        if r.kind == "infra":
            continue
        out.setdefault(r.name, []).append(r)
    for v in out.values():
        v.sort(key=lambda r: r.attempt)
    return out


def _live(rec: ContainerRecord) -> bool:
    return rec.state in ("created", "running")


@dataclass
class _Plan:
    pod: Mapping[str, Any]
    now: float
    failures: Mapping[str, StartFailure]
    waiting: dict[str, Waiting] = field(default_factory=dict)
    wake: list[float] = field(default_factory=list)
    kill: dict[str, KillReason] = field(default_factory=dict)
    backoff: dict[str, BackoffEntry] = field(default_factory=dict)

    def later(self, t: float) -> None:
        self.wake.append(t)

    def wake_at(self) -> float | None:
        return min(self.wake, default=None)

    def may_start(self, ctr: Mapping[str, Any], history: list[ContainerRecord]) -> bool:
        """The back-off gate (doBackOff), then the create-failure gate; stamps the new entry on success."""
        name = str(ctr["name"])
        h = container_hash(ctr)
        latest = history[-1] if history else None
        entry = None
        if latest is not None and latest.spec_hash == h and latest.backoff > 0:
            entry = BackoffEntry(latest.backoff, latest.backoff_at)
        exited = [r for r in history if r.state == "exited"]
        new_entry = entry
        if exited:
            ts = exited[-1].finished_at if exited[-1].finished_at is not None else self.now
            if in_backoff_since(entry, ts, self.now):
                assert entry is not None
                self.waiting[name] = Waiting("CrashLoopBackOff", crashloop_message(entry.delay, name, self.pod))
                self.later(ts + entry.delay)
                return False
            new_entry = next_entry(entry, ts, self.now)
        if not self._failure_allows(name):
            return False
        if new_entry is not None:
            self.backoff[name] = new_entry
        return True

    def _failure_allows(self, name: str) -> bool:
        f = self.failures.get(name)
        if f is None:
            return True
        due = f.at + failure_retry_delay(f)
        if self.now >= due:
            return True
        # As the kubelet: the failed pull itself reports ErrImagePull; every sync inside the back-off
        # window after it reports ImagePullBackOff.
        reason = "ImagePullBackOff" if f.reason in ("ErrImagePull", "ImagePullBackOff") else f.reason
        self.waiting[name] = Waiting(reason, f.message)
        self.later(due)
        return False


def _kill_reason(ctr: Mapping[str, Any], rec: ContainerRecord, probes: Mapping[str, ProbeState],
                 restart_on_failure: bool, sidecar: bool) -> KillReason | None:
    """Why a running attempt must go, in the kubelet's priority order; None keeps it."""
    name = ctr["name"]
    prefix = "Init container" if sidecar else "Container"
    if rec.image != ctr.get("image"):
        return KillReason(f"{prefix} {name} definition changed" + ("" if sidecar else ", will be restarted"),
                          "", True)
    state = probes.get(rec.id)
    if state is None or rec.state != "running":
        return None
    for failed, what, reason in ((state.liveness_failed, "liveness", REASON_LIVENESS),
                                 (state.startup_failed, "startup", REASON_STARTUP)):
        if failed:
            if sidecar:
                return KillReason(f"Init container {name} failed {what} probe", reason, True)
            suffix = ", will be restarted" if restart_on_failure else ""
            return KillReason(f"Container {name} failed {what} probe{suffix}", reason, restart_on_failure)
    return None


def compute_pod_actions(pod: Mapping[str, Any], records: Sequence[ContainerRecord],
                        failures: Mapping[str, StartFailure], now: float,
                        probes: Mapping[str, ProbeState] | None = None) -> PodActions:
    spec = pod["spec"]
    policy = spec.get("restartPolicy", "Always")
    restart_on_failure = policy != "Never"
    probes = probes or {}
    by_name = _records_by_name(records)
    plan = _Plan(pod, now, failures)

    def done(**kw: Any) -> PodActions:
        return PodActions(waiting=plan.waiting, wake_at=plan.wake_at(), kill=plan.kill, backoff=plan.backoff, **kw)

    # Once regular containers exist the pod is initialized: a sidecar's restart (or its back-off)
    # no longer holds back the regular containers (kubelet computes both in one pass).
    initialized = any(by_name.get(c["name"]) for c in spec["containers"])
    sidecar_start: str | None = None

    for init in spec.get("initContainers") or []:
        name = init["name"]
        history = by_name.get(name, [])
        if init.get("restartPolicy") == "Always":
            # A native sidecar: started in order; the next init container waits for it to be started.
            last = history[-1] if history else None
            if last is not None and _live(last):
                why = _kill_reason(init, last, probes, True, sidecar=True)
                if why is not None:
                    plan.kill[name] = why
                    if (initialized or sidecar_start is None) and plan.may_start(init, history):
                        sidecar_start = sidecar_start or name
                    if not initialized:
                        return done(start_init=sidecar_start)
                    continue
                if not initialized and not probes.get(last.id, ProbeState()).started:
                    return done()     # wait for its startup probe before the next init container
                continue
            started = plan.may_start(init, history)
            if initialized:
                if started and sidecar_start is None:
                    sidecar_start = name
                elif started:
                    plan.later(now)  # one init start per sync: come back at once for this one
                continue
            return done(start_init=name if started else None)
        if not history:
            return done(start_init=name if plan.may_start(init, history) else None)
        last = history[-1]
        if _live(last):
            return done()
        if last.exit_code == 0:
            continue
        if policy == "Never":
            return done(init_failed=True, kill_pod=True)
        return done(start_init=name if plan.may_start(init, history) else None)

    to_start: list[str] = []
    live = 0
    for ctr in spec["containers"]:
        name = ctr["name"]
        history = by_name.get(name, [])
        last = history[-1] if history else None
        if last is not None and _live(last):
            why = _kill_reason(ctr, last, probes, restart_on_failure, sidecar=False)
            if why is None:
                live += 1
                continue
            plan.kill[name] = why
            if why.restart:
                live += 1
                # The attempt being killed is not an exited one: back-off looks at the one before it.
                if plan.may_start(ctr, history):
                    to_start.append(name)
            continue
        if last is not None and not should_restart(policy, last.exit_code):
            continue
        live += 1
        if plan.may_start(ctr, history):
            to_start.append(name)
    if live == 0:
        # Nothing regular runs or will run: the pod is finished, its sidecars stop with it.
        plan.waiting = {}
        return done(kill_pod=True)
    return done(start_init=sidecar_start, start=tuple(to_start))
