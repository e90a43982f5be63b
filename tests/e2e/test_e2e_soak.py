"""The 1000-cycle create/delete soak (issue 10 acceptance; slow: bench/soak.py reports the same run).

Nothing may leak (mounts, netns, cgroups, processes, run/state dir entries, CNI state, symlinks,
store rows, log files), the agent's RSS may grow by less than 1 MB over the last 500 cycles, and
the watch history stays within its byte bound. A short run (20 cycles) is in the default suite."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest
from e2e_harness import Agent, fresh_agent
from soak_cycles import Soak

from podbay.agent.hub import MAX_BYTES

pytestmark = pytest.mark.root


@pytest.fixture
def soak_agent(tmp_path: Path) -> Iterator[Agent]:
    with fresh_agent(tmp_path) as a:
        yield a


def _soak(agent: Agent, cycles: int) -> None:
    seed = random.randrange(1 << 30)
    res = Soak(agent, random.Random(seed)).run(cycles)
    print(json.dumps(asdict(res)))
    assert res.errors == [], f"seed {seed}: {res.errors}"
    assert res.leaks == [], f"seed {seed}: {res.leaks}"
    assert res.cycles == cycles and set(res.modes) == {"graceful", "forced", "graceful-while-starting",
                                                         "forced-while-starting"}
    kinds = 20   # generous: every kind the agent stores is bounded on its own
    assert res.watch_history_end["bytes"] <= kinds * MAX_BYTES
    if cycles >= 1000:
        assert res.rss_growth_last_half < 1024 * 1024, f"RSS grew {res.rss_growth_last_half} B over the last half"


def test_create_delete_cycles_leak_nothing(soak_agent: Agent) -> None:
    _soak(soak_agent, 20)


@pytest.mark.slow
def test_1000_create_delete_cycles(soak_agent: Agent) -> None:
    _soak(soak_agent, 1000)
