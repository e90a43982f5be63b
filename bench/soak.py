"""Create/delete soak (issue 10): N cycles of a 2-container pod with emptyDir, Memory emptyDir,
configMap and secret volumes, deleted gracefully or forced, once Running or while starting.

Reports the cycles, their duration, the agent's RSS (start, at half, end, growth over the last half
of the cycles), its CPU time, the watch history (events, bytes) at half and at the end, and every
leak after the last cycle (mounts, netns, cgroups, processes, run/state dir entries, CNI results and
IPAM, dangling symlinks, store rows, log files). Writes bench/soak-last-run.json.
Usage: .venv/bin/python bench/soak.py [--cycles 1000] [--seed N]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from benchlib import stop_on_signals  # noqa: E402
from e2e_harness import IMAGE_TAR, Agent, _missing  # noqa: E402
from soak_cycles import Soak  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cycles", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    stop_on_signals()
    why = _missing()
    if why:
        raise SystemExit(f"soak bench: {why}")
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    with tempfile.TemporaryDirectory(prefix="podbay-soak-") as tmp:
        agent = Agent(Path(tmp))
        agent.root.mkdir(parents=True)
        agent.pb("image", "load", str(IMAGE_TAR))
        agent.start()
        try:
            res = Soak(agent, random.Random(seed), lambda line: print(line, flush=True)).run(args.cycles)
        finally:
            agent.cleanup()
    out = {"seed": seed, "ok": res.ok, **asdict(res)}
    text = json.dumps(out, indent=1)
    print(text)
    (REPO / "bench" / "soak-last-run.json").write_text(text + "\n")
    return 0 if res.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
