"""Run `python -m podbay ...` with tracemalloc on; SIGUSR2 writes a heap snapshot and gc counts.

A leak-hunting aid for bench/leakhunt.py (not used by the agent itself): with PODBAY_TRACE_DIR set and
the first argument `agent`, tracemalloc starts before podbay is imported, and every SIGUSR2 writes
<dir>/snapN.pickle (a tracemalloc.Snapshot) and <dir>/gcN.json (live objects by type) after a full
collection. Any other command runs untraced.
"""

from __future__ import annotations

import collections
import gc
import json
import os
import runpy
import signal
import sys
import tracemalloc
from types import FrameType

OUT = os.environ.get("PODBAY_TRACE_DIR", "")
_count = 0


def _dump(_signum: int, _frame: FrameType | None) -> None:
    global _count
    _count += 1
    gc.collect()
    tracemalloc.take_snapshot().dump(os.path.join(OUT, f"snap{_count}.pickle"))
    types = collections.Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects())
    with open(os.path.join(OUT, f"gc{_count}.json.tmp"), "w") as f:
        json.dump(dict(types.most_common()), f)
    os.rename(os.path.join(OUT, f"gc{_count}.json.tmp"), os.path.join(OUT, f"gc{_count}.json"))


if __name__ == "__main__":
    if OUT and sys.argv[1:2] == ["agent"]:
        tracemalloc.start(int(os.environ.get("PODBAY_TRACE_FRAMES", "12")))
        signal.signal(signal.SIGUSR2, _dump)
    sys.argv = ["podbay", *sys.argv[1:]]
    runpy.run_module("podbay", run_name="__main__", alter_sys=True)
