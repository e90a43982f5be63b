"""Crash bench (issue 11): SIGKILL a real agent at random points of apply and delete, N rounds.

Each round kills the agent twice (0-400 ms into an apply, 0-300 ms into a grace-0 delete), restarts it
and checks: no running container restarted, nothing leaked (mounts, netns, cgroups, conmon processes,
symlinks, bundles, run dirs, CNI results/intents, IPAM), the API answering within 2 s of each restart.
Prints and writes bench/crash-last-run.json: rounds, outcomes, API answer times, the failed rounds.
Usage: .venv/bin/python bench/crash.py [--rounds 50] [--seed N]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from crash_rounds import crash_round, summary  # noqa: E402
from e2e_harness import IMAGE_TAR, Agent, _missing  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    why = _missing()
    if why:
        raise SystemExit(f"crash bench: {why}")
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="podbay-crash-") as tmp:
        agent = Agent(Path(tmp))
        agent.root.mkdir(parents=True)
        agent.pb("image", "load", str(IMAGE_TAR))
        agent.start()
        outcomes = []
        t0 = time.monotonic()
        try:
            for i in range(args.rounds):
                o = crash_round(agent, i, rng)
                outcomes.append(o)
                print(f"round {i:3d}: kill at apply+{o.apply_kill_ms:3d} ms, delete+{o.delete_kill_ms:3d} ms -> "
                      f"{'ok' if o.ok else 'FAILED'} (API {o.api_after_apply_kill_s:.2f} s / "
                      f"{o.api_after_delete_kill_s:.2f} s)", flush=True)
        finally:
            agent.cleanup()
    result = {"seed": seed, "seconds": round(time.monotonic() - t0, 1), **summary(outcomes),
              "failed": [asdict(o) for o in outcomes if not o.ok]}
    text = json.dumps(result, indent=1)
    print(text)
    (REPO / "bench" / "crash-last-run.json").write_text(text + "\n")
    return 0 if not result["failed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
