"""Restart policy and CrashLoopBackOff, computed from persisted exit times.

The kubelet keeps one in-memory back-off entry per (pod, container, spec hash)
(``kuberuntime_manager.doBackOff`` over ``client-go/util/flowcontrol.Backoff``):

* On an exit, if there is no entry, or the entry was last updated more than 2 x 300 s before
  this exit (``hasExpired``: the container ran stably), the restart is immediate and a fresh entry
  of 10 s is created (``Next``).
* Otherwise the container waits until ``finishedAt + entry`` (``IsInBackOffSince``), shown as
  ``back-off <entry> restarting failed container=...``; at the restart the entry doubles, capped
  at 300 s, and its update time becomes the restart time.

So restarts go: immediate, then 10, 20, 40, 80, 160, 300, 300 ... s after each exit.
podbay replays that state machine over the exit times it stored, so an agent restart does not
reset the back-off (a deliberate difference from the kubelet, whose table is memory-only).
"""

from __future__ import annotations

from collections.abc import Sequence

from podbay.core.records import ContainerRecord

BASE_DELAY = 10.0
MAX_DELAY = 300.0
STABLE_AFTER = 2 * MAX_DELAY  # hasExpired: eventTime - lastUpdate > 2 * maxDuration


def should_restart(policy: str, exit_code: int | None) -> bool:
    """Pod (or sidecar) restartPolicy applied to one exit; an unknown exit code counts as a failure."""
    if policy == "Always":
        return True
    if policy == "OnFailure":
        return exit_code != 0
    return False


def backoff_delay(restart_count_since_reset: int) -> float:
    """The n-th back-off step (0-based): 10, 20, 40, 80, 160, 300, 300 ..."""
    if restart_count_since_reset < 0:
        return 0.0
    # Capped exponent avoids building huge floats for long-running crash loops.
    return min(BASE_DELAY * float(2 ** min(restart_count_since_reset, 16)), MAX_DELAY)


def _replay(exits: Sequence[float], last_restart_at: float | None) -> float:
    """Back-off entry (seconds, 0 = none) in force when the last of ``exits`` happened.

    ``exits`` are finish times in order; the restart after exit i happened at exit_i + delay_i,
    except the one that started the latest attempt, which is ``last_restart_at`` when known.
    """
    entry = 0.0
    updated = 0.0
    for i, finished in enumerate(exits):
        expired = entry == 0.0 or finished - updated > STABLE_AFTER
        if i == len(exits) - 1:
            return 0.0 if expired else entry
        if expired:
            restart_at = finished
            entry = BASE_DELAY
        else:
            restart_at = finished + entry
            entry = min(entry * 2, MAX_DELAY)
        updated = restart_at
        if i == len(exits) - 2 and last_restart_at is not None:
            updated = max(last_restart_at, finished)
    return entry


def current_backoff(latest: ContainerRecord, prior_exits: Sequence[float]) -> float:
    """The back-off (s) that applies to ``latest``'s exit; 0 when the restart may be immediate.

    ``prior_exits``: finish times of the earlier attempts of the same container with the same
    spec hash (any exit code, as the kubelet counts every exit), oldest first.
    """
    if latest.finished_at is None:
        return 0.0
    exits = sorted(t for t in prior_exits if t <= latest.finished_at) + [latest.finished_at]
    restarted = latest.started_at if latest.started_at is not None else (latest.created_at or None)
    return _replay(exits, restarted)


def next_start_time(latest: ContainerRecord, prior_crashes: Sequence[float], now: float) -> float | None:
    """When the container may be started again (``<= now``: start now); None if it has not exited.

    The restart policy is not consulted here: ask :func:`should_restart` first.
    """
    if latest.finished_at is None:
        return None
    due = latest.finished_at + current_backoff(latest, prior_crashes)
    return max(due, now)


def format_delay(seconds: float) -> str:
    """Go's time.Duration.String() for whole seconds and minutes: 10s, 1m20s, 5m0s."""
    total = int(round(seconds))
    if total < 60:
        return f"{total}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m{secs}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes}m{secs}s"


def crashloop_message(delay: float, ctr: str, pod: str, ns: str, uid: str) -> str:
    return f"back-off {format_delay(delay)} restarting failed container={ctr} pod={pod}_{ns}({uid})"


def backoff_event_message(ctr: str, pod: str, ns: str, uid: str) -> str:
    return f"Back-off restarting failed container {ctr} in pod {pod}_{ns}({uid})"
