"""compute_pod_actions: what the next sync must do for one pod, as data (kubelet's computePodActions).

Pure: takes the defaulted pod, the container records, in-memory start failures and `now`.
Restart back-off follows client-go's flowcontrol.Backoff as the kubelet uses it: the first restart
after a crash is immediate, later ones wait 10 s, 20 s, 40 s ... capped at 300 s, measured from the
exit (finishedAt); an attempt that ran longer than 2 x 300 s resets the sequence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from podbay.core import restart
from podbay.core.records import ContainerRecord, Waiting
from podbay.core.restart import current_backoff, should_restart

BACKOFF_INITIAL = restart.BASE_DELAY
BACKOFF_MAX = restart.MAX_DELAY


@dataclass(frozen=True)
class StartFailure:
    """A container that could not be created (image missing, bad subPath...): no attempt was made."""

    reason: str           # ErrImagePull, CreateContainerConfigError, ...
    message: str
    count: int
    at: float             # when it last failed


@dataclass(frozen=True)
class PodActions:
    start_init: str | None = None                 # init container to start now
    start: tuple[str, ...] = ()                   # regular containers to start now
    waiting: dict[str, Waiting] = field(default_factory=dict)
    wake_at: float | None = None                  # earliest time another sync is due
    init_failed: bool = False                     # restartPolicy Never and an init container failed
    all_done: bool = False                        # nothing will ever run again (pod terminal)


def restart_backoff(attempts: Sequence[ContainerRecord]) -> float | None:
    """Back-off (seconds) that applies to restarting after the last of `attempts`; None = restart now."""
    ordered = sorted(attempts, key=lambda r: r.attempt)
    if not ordered:
        return None
    prior = [r.finished_at if r.finished_at is not None else r.created_at for r in ordered[:-1]]
    return current_backoff(ordered[-1], prior) or None


def failure_retry_delay(f: StartFailure) -> float:
    if f.reason in ("ErrImagePull", "ImagePullBackOff"):
        return float(min(BACKOFF_INITIAL * 2.0 ** (f.count - 1), BACKOFF_MAX))
    return float(min(2.0 ** (f.count - 1), 30.0))


def crashloop_message(delay: float, ctr: str, pod: Mapping) -> str:
    md = pod["metadata"]
    return restart.crashloop_message(delay, ctr, md["name"], md.get("namespace", "default"), md.get("uid", ""))


def _records_by_name(records: Sequence[ContainerRecord]) -> dict[str, list[ContainerRecord]]:
    out: dict[str, list[ContainerRecord]] = {}
    for r in records:
        out.setdefault(r.name, []).append(r)
    for v in out.values():
        v.sort(key=lambda r: r.attempt)
    return out


@dataclass
class _Plan:
    waiting: dict[str, Waiting] = field(default_factory=dict)
    wake: list[float] = field(default_factory=list)

    def later(self, t: float) -> None:
        self.wake.append(t)


def _may_start(name: str, failures: Mapping[str, StartFailure], now: float, plan: _Plan) -> bool:
    f = failures.get(name)
    if f is None:
        return True
    due = f.at + failure_retry_delay(f)
    if now >= due:
        return True
    # As the kubelet: the failed pull itself reports ErrImagePull; every sync inside the back-off
    # window after it reports ImagePullBackOff.
    reason = "ImagePullBackOff" if f.reason in ("ErrImagePull", "ImagePullBackOff") else f.reason
    plan.waiting[name] = Waiting(reason, f.message)
    plan.later(due)
    return False


def _restart_decision(name: str, history: list[ContainerRecord], pod: Mapping, now: float,
                      failures: Mapping[str, StartFailure], plan: _Plan) -> bool:
    """For an exited container that should restart: start now, or wait in CrashLoopBackOff."""
    delay = restart_backoff(history)
    last = history[-1]
    if delay is not None:
        due = (last.finished_at or now) + delay
        if now < due:
            plan.waiting[name] = Waiting("CrashLoopBackOff", crashloop_message(delay, name, pod))
            plan.later(due)
            return False
    return _may_start(name, failures, now, plan)


def compute_pod_actions(pod: Mapping, records: Sequence[ContainerRecord],
                        failures: Mapping[str, StartFailure], now: float) -> PodActions:
    spec = pod["spec"]
    policy = spec.get("restartPolicy", "Always")
    by_name = _records_by_name(records)
    plan = _Plan()
    # Once regular containers exist the pod is initialized: a sidecar's restart (or its back-off)
    # no longer holds back the regular containers (kubelet computes both in one pass).
    initialized = any(by_name.get(c["name"]) for c in spec["containers"])
    sidecar_start: str | None = None

    for init in spec.get("initContainers") or []:
        name = init["name"]
        history = by_name.get(name, [])
        if init.get("restartPolicy") == "Always":
            # A native sidecar: started in order, the next init container waits only for it to run.
            if not history or history[-1].state not in ("created", "running"):
                if not history:
                    started = _may_start(name, failures, now, plan)
                else:
                    started = _restart_decision(name, history, pod, now, failures, plan)
                if initialized:
                    if started and sidecar_start is None:
                        sidecar_start = name
                    elif started:
                        plan.later(now)  # one init start per sync: come back at once for this one
                    continue
                if started:
                    return PodActions(start_init=name, waiting=plan.waiting)
                return PodActions(waiting=plan.waiting, wake_at=min(plan.wake, default=None))
            continue
        if not history:
            if _may_start(name, failures, now, plan):
                return PodActions(start_init=name, waiting=plan.waiting)
            return PodActions(waiting=plan.waiting, wake_at=min(plan.wake, default=None))
        last = history[-1]
        if last.state in ("created", "running"):
            return PodActions(waiting=plan.waiting)
        if last.exit_code == 0:
            continue
        if policy == "Never":
            return PodActions(init_failed=True, all_done=True)
        if _restart_decision(name, history, pod, now, failures, plan):
            return PodActions(start_init=name, waiting=plan.waiting)
        return PodActions(waiting=plan.waiting, wake_at=min(plan.wake, default=None))

    to_start: list[str] = []
    live = 0
    for ctr in spec["containers"]:
        name = ctr["name"]
        history = by_name.get(name, [])
        if not history:
            live += 1
            if _may_start(name, failures, now, plan):
                to_start.append(name)
            continue
        last = history[-1]
        if last.state in ("created", "running"):
            live += 1
            continue
        if not should_restart(policy, last.exit_code):
            continue
        live += 1
        if _restart_decision(name, history, pod, now, failures, plan):
            to_start.append(name)
    # Sidecars are not restarted once every regular container is done: the pod is finishing.
    return PodActions(start_init=sidecar_start if live else None, start=tuple(to_start), waiting=plan.waiting,
                      wake_at=min(plan.wake, default=None), all_done=live == 0)
