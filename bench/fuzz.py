"""Fuzz bench (issue 11): N generated manifests and N raw requests against a fresh real agent.

tests/e2e/fuzz_live.py sends and checks (the same code as tests/e2e/test_e2e_fuzz.py, bounded there):
manifests generated from the v1 schemas with mutations, raw requests with bad parameters, bodies and
headers, over the Unix socket and the TLS listener. Counts every answer by status code, the 500s,
the answers over 5 s, the error bodies that are not a Status, objects stored after a rejected request,
agent restarts; at the end the agent's health, what is left in the store and what leaked.
Prints and writes bench/fuzz-last-run.json. Usage: .venv/bin/python bench/fuzz.py [--manifests 2000]
[--raw 2000] [--seed N]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from e2e_harness import _missing  # noqa: E402
from fuzz_live import Fuzzer, fuzz_agent, manifest_cases, raw_cases  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import seed as hseed  # noqa: E402


def run(fz: Fuzzer, n: int, strategy: Any, case: Any, seed: int) -> None:
    """n examples, none shrunk: every outcome is counted, nothing stops the run."""
    done = [0]

    @hseed(seed)
    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def go(args: Any) -> None:
        case(*args)
        done[0] += 1
        if done[0] % 250 == 0:
            print(f"  {done[0]} cases, {fz.tally.summary()['outcomes_by_status']}", flush=True)

    go()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--manifests", type=int, default=2000)
    ap.add_argument("--raw", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    why = _missing()
    if why:
        raise SystemExit(f"fuzz bench: {why}")
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print(f"fuzz bench: seed {seed}, {args.manifests} manifests, {args.raw} raw requests", flush=True)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="podbay-fuzz-") as tmp:
        agent = fuzz_agent(Path(tmp))
        try:
            fz = Fuzzer(agent)
            fz.setup()
            print("manifests:", flush=True)
            run(fz, args.manifests, manifest_cases(fz), fz.manifest_case, seed)
            print("raw requests:", flush=True)
            run(fz, args.raw, raw_cases(), fz.raw_case, seed)
            final = fz.final_problems()
        finally:
            agent.cleanup()
    failures = fz.tally.failures()
    result = {"seed": seed, "seconds": round(time.monotonic() - t0, 1), **fz.tally.summary(),
              "final_problems": final, "failures": failures[:200]}
    text = json.dumps(result, indent=1)
    print(text)
    (REPO / "bench" / "fuzz-last-run.json").write_text(text + "\n")
    return 0 if not (failures or final or fz.tally.agent_restarts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
