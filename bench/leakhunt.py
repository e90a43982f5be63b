"""Find what the agent keeps per pod: the soak's cycles (tests/e2e/soak_cycles.py) with the agent under
tracemalloc (bench/agent_trace.py); heap snapshots after cycle N/2 and N, diffed by allocation site,
and live objects by type. Slow (tracemalloc costs the agent about 2x): use a few hundred cycles.
Usage (root): .venv/bin/python bench/leakhunt.py [--cycles 400] [--top 25] [--frames 12]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests" / "e2e"))
import e2e_harness  # noqa: E402
from e2e_harness import IMAGE_TAR, Agent, _missing  # noqa: E402
from soak_cycles import Soak, rss_bytes  # noqa: E402


def snapshot(agent: Agent, trace: Path, n: int) -> None:
    assert agent.proc is not None
    agent.proc.send_signal(signal.SIGUSR2)
    deadline = time.monotonic() + 300
    while not (trace / f"gc{n}.json").exists():
        if time.monotonic() > deadline:
            raise SystemExit("no snapshot from the agent")
        time.sleep(0.5)


class TracedSoak(Soak):
    def __init__(self, agent: Agent, rng: random.Random, log: Callable[[str], None], *,
                 marks: dict[int, int], trace: Path) -> None:
        super().__init__(agent, rng, log)
        self.marks, self.trace = marks, trace

    def cycle(self, i: int) -> str:
        mode: str = super().cycle(i)
        if i in self.marks:
            time.sleep(3)    # background teardown of the last pod
            snapshot(self.agent, self.trace, self.marks[i])
            self.log(f"snapshot {self.marks[i]} after cycle {i + 1}: rss {rss_bytes(self.agent.proc.pid) / 2**20:.1f} MiB"
                     if self.agent.proc else "")
        return mode


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cycles", type=int, default=400)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--frames", type=int, default=12)
    args = ap.parse_args()
    why = _missing()
    if why:
        raise SystemExit(f"leakhunt: {why}")
    with tempfile.TemporaryDirectory(prefix="podbay-leakhunt-") as tmp:
        trace = Path(tmp) / "trace"
        trace.mkdir()
        os.environ.update(PODBAY_TRACE_DIR=str(trace), PODBAY_TRACE_FRAMES=str(args.frames))
        e2e_harness.PODBAY = [sys.executable, str(REPO / "bench" / "agent_trace.py")]
        agent = Agent(Path(tmp))
        agent.root.mkdir(parents=True)
        agent.pb("image", "load", str(IMAGE_TAR))
        agent.start()
        try:
            marks = {args.cycles // 2 - 1: 1, args.cycles - 1: 2}
            res = TracedSoak(agent, random.Random(1), lambda line: print(line, flush=True),
                             marks=marks, trace=trace).run(args.cycles)
            print(f"errors {res.errors[:3]} leaks {res.leaks[:10]}")
        finally:
            agent.cleanup()
        a = tracemalloc.Snapshot.load(str(trace / "snap1.pickle"))
        b = tracemalloc.Snapshot.load(str(trace / "snap2.pickle"))
        a = a.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
        b = b.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
        per = args.cycles - args.cycles // 2
        total = sum(s.size for s in b.statistics("filename")) - sum(s.size for s in a.statistics("filename"))
        print(f"\n== traced heap growth over the last {per} cycles: {total / 1024:.1f} KiB "
              f"({total / per:.0f} B/cycle)")
        print("\n== by line")
        for st in b.compare_to(a, "lineno")[:args.top]:
            print(f"{st.size_diff / 1024:+9.1f} KiB {st.count_diff:+6d}  {st.traceback[0]}")
        print("\n== by traceback")
        for st in b.compare_to(a, "traceback")[:10]:
            print(f"{st.size_diff / 1024:+9.1f} KiB {st.count_diff:+6d}")
            for fr in list(st.traceback)[-args.frames:]:
                print(f"      {fr}")
        ga = json.loads((trace / "gc1.json").read_text())
        gb = json.loads((trace / "gc2.json").read_text())
        diff = sorted(((gb.get(k, 0) - ga.get(k, 0), k) for k in set(ga) | set(gb)), reverse=True)
        print("\n== live objects by type (gc), growth")
        for d, k in diff[:args.top]:
            if d:
                print(f"{d:+7d}  {k}  ({gb.get(k, 0)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
