"""Issue 11 fuzz acceptance against a live agent (tests/e2e/fuzz_live.py does the talking and checking;
tests/fuzz_strategies.py generates): manifests generated from the v1 schemas with mutations, raw
requests with bad parameters, bodies and headers, over the Unix socket and the TLS listener. 0 answers
500, every error a Status, 0 over 5 s, nothing stored for a rejected request, the agent healthy and
nothing leaked at the end. Bounded for `make test`; bench/fuzz.py (`make fuzz`) runs the large size.
PODBAY_FUZZ_SEED and PODBAY_FUZZ_EXAMPLES change the seed and the number of examples per test."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_harness import _missing
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parents[1]))
from fuzz_live import Fuzzer, fuzz_agent, manifest_cases, raw_cases  # noqa: E402

pytestmark = pytest.mark.root

SEED = int(os.environ.get("PODBAY_FUZZ_SEED", "11"))
EXAMPLES = int(os.environ.get("PODBAY_FUZZ_EXAMPLES", "1000"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                phases=[Phase.explicit, Phase.generate, Phase.shrink],
                suppress_health_check=list(HealthCheck))
MANIFESTS: dict[str, Any] = {}   # the manifest strategy, built once from the agent's discovery


@pytest.fixture(scope="module")
def fuzzer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzer]:
    why = _missing()
    if why:
        pytest.skip(why)
    agent = fuzz_agent(tmp_path_factory.mktemp("fuzz"))
    try:
        fz = Fuzzer(agent)
        fz.setup()
        print(f"fuzz seed {SEED}, {EXAMPLES} examples per test (PODBAY_FUZZ_SEED / PODBAY_FUZZ_EXAMPLES)")
        yield fz
    finally:
        agent.cleanup()


def _assert_clean(fz: Fuzzer, failed_before: int) -> None:
    failures = fz.tally.failures()[failed_before:]   # this example's (shrinking replays examples)
    assert fz.tally.agent_restarts == 0, f"the agent died during: {fz.last_case}"
    assert not failures, "\n".join(failures[:20])


@seed(SEED)
@FUZZ
@given(data=st.data())
def test_generated_manifests_never_500_hang_or_store_when_rejected(fuzzer: Fuzzer, data: Any) -> None:
    failed = len(fuzzer.tally.failures())
    via, target, body, params = data.draw(MANIFESTS.setdefault("cases", manifest_cases(fuzzer)))
    fuzzer.manifest_case(via, target, body, params)
    _assert_clean(fuzzer, failed)


@seed(SEED)
@FUZZ
@given(case=raw_cases())
def test_raw_requests_with_bad_parameters_bodies_and_headers(fuzzer: Fuzzer, case: Any) -> None:
    failed = len(fuzzer.tally.failures())
    fuzzer.raw_case(*case)
    _assert_clean(fuzzer, failed)


def test_agent_healthy_nothing_stored_nothing_leaked_after_the_fuzz(fuzzer: Fuzzer) -> None:
    print(fuzzer.tally.summary())
    problems = fuzzer.final_problems()
    assert not problems, "\n".join(problems)
