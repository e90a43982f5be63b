from __future__ import annotations

import pytest

from podbay.core.hashing import container_hash
from podbay.core.restart import (
    BackoffEntry,
    backoff_event_message,
    crashloop_message,
    format_delay,
    in_backoff_since,
    next_entry,
    should_restart,
)


@pytest.mark.parametrize(
    ("policy", "code", "expected"),
    [
        ("Always", 0, True), ("Always", 1, True), ("Always", None, True),
        ("OnFailure", 0, False), ("OnFailure", 137, True), ("OnFailure", None, True),
        ("Never", 0, False), ("Never", 1, False),
    ],
)
def test_should_restart(policy: str, code: int | None, expected: bool) -> None:
    assert should_restart(policy, code) is expected


def simulate(run_for: float, crashes: int) -> list[float]:
    """A container that always runs ``run_for`` seconds, restarted at the earliest allowed time."""
    entry: BackoffEntry | None = None
    start = 0.0
    waits = []
    for _ in range(crashes):
        finished = start + run_for
        due = finished + entry.delay if in_backoff_since(entry, finished, finished) and entry else finished
        waits.append(due - finished)
        entry = next_entry(entry, finished, due)
        start = due
    return waits


def test_kubelet_sequence_first_restart_immediate() -> None:
    assert simulate(1.0, 9) == [0, 10, 20, 40, 80, 160, 300, 300, 300]


def test_reset_after_ten_minutes_of_running() -> None:
    # Runs 601 s each time: every exit is > 2 x 300 s after the last back-off update.
    assert simulate(601.0, 4) == [0, 0, 0, 0]
    # 599 s is not enough.
    assert simulate(599.0, 4) == [0, 10, 20, 40]


def test_in_backoff_since() -> None:
    e = BackoffEntry(20.0, 100.0)
    assert in_backoff_since(e, 110.0, 125.0) and not in_backoff_since(e, 110.0, 130.0)
    assert not in_backoff_since(None, 110.0, 110.0)
    assert not in_backoff_since(e, 701.0, 702.0)      # the entry expired: a stable run
    assert next_entry(e, 110.0, 130.0) == BackoffEntry(40.0, 130.0)
    assert next_entry(BackoffEntry(300.0, 0.0), 10.0, 20.0) == BackoffEntry(300.0, 20.0)


def test_messages() -> None:
    assert crashloop_message(40, "c", "p", "ns", "u1") == "back-off 40s restarting failed container=c pod=p_ns(u1)"
    assert crashloop_message(300, "c", "p", "ns", "u1").startswith("back-off 5m0s ")
    assert [format_delay(s) for s in (10, 80, 160, 300)] == ["10s", "1m20s", "2m40s", "5m0s"]
    assert backoff_event_message("c", "p", "ns", "u") == "Back-off restarting failed container c in pod p_ns(u)"


def test_container_hash() -> None:
    a = {"name": "c", "image": "busybox", "command": ["sh"]}
    b = {"command": ["sh"], "image": "busybox", "name": "c"}
    h = container_hash(a)
    assert h == container_hash(b) and len(h) == 8 and int(h, 16) >= 0
    assert container_hash({**a, "image": "busybox:1.36"}) != h
    assert container_hash({**a, "command": ["other"]}) == h     # only name and image, as HashContainer
