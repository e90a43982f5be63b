"""SIGKILL the agent at random points of apply and delete (issue 11 crash acceptance): no running
container restarted, nothing leaked, the API answering within 2 s of every restart.

The default suite runs a handful of rounds; the slow one 50 (bench/crash.py runs any number and
reports the outcomes). Seeded per run; the seed is printed so a failing round can be replayed
(PODBAY_CRASH_SEED)."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from crash_rounds import crash_round, summary
from e2e_harness import Agent, fresh_agent

pytestmark = pytest.mark.root


@pytest.fixture
def crash_agent(tmp_path: Path) -> Iterator[Agent]:
    with fresh_agent(tmp_path) as a:
        yield a


def _rounds(agent: Agent, n: int) -> None:
    seed = int(os.environ.get("PODBAY_CRASH_SEED") or random.randrange(1 << 30))
    print(f"crash seed {seed}")
    rng = random.Random(seed)
    outcomes = [crash_round(agent, i, rng) for i in range(n)]
    print(json.dumps(summary(outcomes)))
    bad = [o for o in outcomes if not o.ok]
    assert not bad, "\n".join(json.dumps(o.__dict__) for o in bad) + f"\nseed {seed}"


def test_sigkill_during_apply_and_delete(crash_agent: Agent) -> None:
    _rounds(crash_agent, 3)


@pytest.mark.slow
def test_sigkill_during_apply_and_delete_50_rounds(crash_agent: Agent) -> None:
    _rounds(crash_agent, 50)
