from __future__ import annotations

import pytest

from podbay.core.hashing import container_hash
from podbay.core.records import ContainerRecord
from podbay.core.restart import (
    backoff_delay,
    backoff_event_message,
    crashloop_message,
    current_backoff,
    format_delay,
    next_start_time,
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


def test_backoff_sequence() -> None:
    assert [backoff_delay(n) for n in range(8)] == [10, 20, 40, 80, 160, 300, 300, 300]
    assert backoff_delay(10_000) == 300


def rec(attempt: int, finished: float | None, started: float | None = None) -> ContainerRecord:
    return ContainerRecord(id=f"c{attempt}", pod_uid="u", name="app", kind="regular", attempt=attempt,
                           spec_hash="h", image="busybox", state="exited" if finished is not None else "running",
                           exit_code=1, started_at=started, finished_at=finished)


def simulate(run_for: float, crashes: int) -> list[float]:
    """A container that always runs ``run_for`` seconds; restarts at the earliest allowed time.
    Returns the wait before each restart."""
    exits: list[float] = []
    waits: list[float] = []
    start = 0.0
    for attempt in range(crashes):
        finished = start + run_for
        latest = rec(attempt, finished, start)
        due = next_start_time(latest, exits, now=finished)
        assert due is not None
        waits.append(due - finished)
        exits.append(finished)
        start = due
    return waits


def test_kubelet_sequence_first_restart_immediate() -> None:
    assert simulate(1.0, 9) == [0, 10, 20, 40, 80, 160, 300, 300, 300]


def test_reset_after_ten_minutes_of_running() -> None:
    # Runs 601 s each time: every exit is > 2 x 300 s after the last back-off update.
    assert simulate(601.0, 4) == [0, 0, 0, 0]
    # 599 s is not enough.
    assert simulate(599.0, 4) == [0, 10, 20, 40]


def test_reset_in_the_middle() -> None:
    exits = [0.0, 1.0, 12.0]                  # crashes: restart at 0, 11, 32
    latest = rec(3, 32.0 + 700.0, 32.0)       # then it ran 700 s
    assert current_backoff(latest, exits) == 0
    # and the one after restarts the sequence at 10 s
    latest2 = rec(4, 733.0, 732.0)
    assert current_backoff(latest2, exits + [732.0]) == 10


def test_next_start_time() -> None:
    running = rec(0, None, 5.0)
    assert next_start_time(running, [], now=10.0) is None
    second = rec(1, 20.0, 15.0)
    assert next_start_time(second, [14.0], now=21.0) == 30.0       # in back-off until 20 + 10
    assert next_start_time(second, [14.0], now=35.0) == 35.0       # due: start now
    first = rec(0, 20.0, 15.0)
    assert next_start_time(first, [], now=20.5) == 20.5             # first restart immediate


def test_actual_restart_time_is_used_for_reset() -> None:
    # The restart after the 2nd exit happened late (agent down for 20 min); the attempt then ran 5 s.
    latest = rec(2, 1300.0 + 5.0, 1300.0)
    assert current_backoff(latest, [0.0, 1.0]) == 20


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
