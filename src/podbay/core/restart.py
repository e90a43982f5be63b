"""Restart policy and CrashLoopBackOff (kubelet ``doBackOff`` over client-go ``flowcontrol.Backoff``).

One back-off entry per (pod, container, spec hash), ``(delay, updated)``:

* ``IsInBackOffSince(finishedAt)``: an entry that was last updated more than 2 x 300 s before the
  exit has expired (the container ran stably), otherwise the container waits until
  ``finishedAt + delay``;
* ``Next`` at each restart after an exit: a missing or expired entry becomes 10 s, otherwise the
  delay doubles up to 300 s; ``updated`` becomes the restart time.

So restarts go: immediate, then 10, 20, 40, 80, 160, 300, 300 ... s after each exit. podbay keeps
the entry on the container attempt it started (``ContainerRecord.backoff``/``backoff_at``), so an
agent restart does not reset the back-off (the kubelet's table is memory-only) and old attempts
can be garbage-collected without losing it.
"""

from __future__ import annotations

from dataclasses import dataclass

BASE_DELAY = 10.0
MAX_DELAY = 300.0
STABLE_AFTER = 2 * MAX_DELAY  # hasExpired: eventTime - lastUpdate > 2 * maxDuration


@dataclass(frozen=True)
class BackoffEntry:
    delay: float
    updated: float


def should_restart(policy: str, exit_code: int | None) -> bool:
    """Pod (or sidecar) restartPolicy applied to one exit; an unknown exit code counts as a failure."""
    if policy == "Always":
        return True
    if policy == "OnFailure":
        return exit_code != 0
    return False


def _expired(entry: BackoffEntry, event_time: float) -> bool:
    return event_time - entry.updated > STABLE_AFTER


def in_backoff_since(entry: BackoffEntry | None, event_time: float, now: float) -> bool:
    """flowcontrol.Backoff.IsInBackOffSince."""
    if entry is None or entry.delay <= 0 or _expired(entry, event_time):
        return False
    return now - event_time < entry.delay


def next_entry(entry: BackoffEntry | None, event_time: float, now: float) -> BackoffEntry:
    """flowcontrol.Backoff.Next (without jitter, which the kubelet's back-off does not use)."""
    if entry is None or entry.delay <= 0 or _expired(entry, event_time):
        return BackoffEntry(BASE_DELAY, now)
    return BackoffEntry(min(entry.delay * 2, MAX_DELAY), now)


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
