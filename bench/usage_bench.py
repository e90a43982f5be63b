"""emptyDir usage accounting: idle CPU with 50 watched trees, busy-writer cost, detection latency.

* idle: 50 trees (a few files each, or --big files each) watched for --idle seconds; CPU time of
  this process (getrusage, all threads) as % of one core. Compared with the naive alternative that
  meets the same 1 s target by walking every tree once a second. The monitor's only periodic work
  is its safety-net full walk; its cost is the measured watch() walk time / DEFAULT_RESCAN.
* busy writer: a separate process writes 4 KiB chunks in a tight loop (a 64 MiB ring) to one
  tree; CPU % of the monitor process only.
* latency: --crossings writer processes, one after another, each appending 64 KiB every 5 ms
  without closing the file until its tree passes a 1 MiB limit; latency = the writer's first
  write that put the tree over the limit (CLOCK_MONOTONIC, shared across processes) -> on_over.

Usage: .venv/bin/python bench/usage_bench.py [--idle 20] [--crossings 20] [--big 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from podbay.volumes.usage import DEFAULT_RESCAN, UsageMonitor

MI = 1024**2
TREES = 50

WRITER = """
import os, sys, time
path, base, limit, chunk, pause = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
crossed = None
with open(path, "wb") as f:
    deadline = time.monotonic() + float(sys.argv[6])
    while time.monotonic() < deadline:
        if f.tell() >= 64 << 20:
            f.seek(0)  # the busy writer overwrites a 64 MiB ring instead of filling the disk
        f.write(b"z" * chunk)
        f.flush()
        if crossed is None and limit and base + os.fstat(f.fileno()).st_blocks * 512 > limit:
            crossed = time.monotonic()
            print(crossed, flush=True)
        if pause:
            time.sleep(pause)
"""


@contextlib.contextmanager
def driven(m: UsageMonitor, on_over: Callable[[str], object]) -> Iterator[None]:
    """The agent's driver: the monitor attached to an event loop (here in its own thread)."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        m.attach(loop, on_over)
        ready.set()
        loop.run_forever()

    th = threading.Thread(target=run, name="loop", daemon=True)
    th.start()
    ready.wait()
    try:
        yield
    finally:
        loop.call_soon_threadsafe(m.detach)
        loop.call_soon_threadsafe(loop.stop)
        th.join()
        loop.close()


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def make_trees(root: Path, files: int) -> list[Path]:
    trees = []
    for i in range(TREES):
        t = root / f"pod{i}" / "volumes" / "kubernetes.io~empty-dir" / "scratch"
        (t / "sub").mkdir(parents=True)
        for j in range(files):
            (t / ("sub" if j % 2 else "") / f"f{j}").write_bytes(b"x" * (1000 + 37 * j))
        trees.append(t)
    return trees


def idle_inotify(trees: list[Path], seconds: float) -> tuple[float, float, int]:
    """(% of one core while idle, seconds to set up all watches, watches)."""
    m = UsageMonitor()
    t0 = time.monotonic()
    for i, t in enumerate(trees):
        m.watch(f"t{i}", t, MI)
    setup = time.monotonic() - t0
    with driven(m, lambda key: None):
        c0, w0 = cpu(), time.monotonic()
        time.sleep(seconds)
        pct = 100 * (cpu() - c0) / (time.monotonic() - w0)
    watches = m.watch_count()
    m.close()
    return pct, setup, watches


def walk(root: Path) -> int:
    dev = os.lstat(root).st_dev
    seen: dict[int, int] = {}
    stack = [str(root)]
    while stack:
        d = stack.pop()
        st = os.lstat(d)
        seen[st.st_ino] = st.st_blocks * 512
        with os.scandir(d) as it:
            for e in it:
                s = e.stat(follow_symlinks=False)
                if s.st_dev != dev:
                    continue
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
                else:
                    seen[s.st_ino] = s.st_blocks * 512
    return sum(seen.values())


def idle_polling(trees: list[Path], seconds: float) -> float:
    """The naive design: walk every tree once a second."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(1.0):
            for t in trees:
                walk(t)

    th = threading.Thread(target=run, daemon=True)
    c0, w0 = cpu(), time.monotonic()
    th.start()
    time.sleep(seconds)
    stop.set()
    th.join()
    return 100 * (cpu() - c0) / (time.monotonic() - w0)


def busy_writer(root: Path, seconds: float) -> float:
    tree = root / "busy"
    tree.mkdir()
    m = UsageMonitor()
    m.watch("busy", tree, None)
    with driven(m, lambda key: None):
        c0, w0 = cpu(), time.monotonic()
        p = subprocess.run([sys.executable, "-c", WRITER, str(tree / "f"), "0", "0", "4096", "0", str(seconds)],
                           check=True, capture_output=True, text=True)
        del p
        pct = 100 * (cpu() - c0) / (time.monotonic() - w0)
        size = (tree / "f").stat().st_size
        time.sleep(0.3)
        ok = m.usage("busy")[0] >= size
    m.close()
    (tree / "f").unlink()
    if not ok:
        raise SystemExit("busy writer: usage lagged behind the file")
    return pct


def latencies(root: Path, n: int) -> list[float]:
    m = UsageMonitor()
    detected: dict[str, float] = {}
    trees = []
    for i in range(TREES):
        t = root / f"lat{i}"
        t.mkdir()
        m.watch(f"lat{i}", t, MI)
        trees.append(t)
    out = []
    with driven(m, lambda key: detected.setdefault(key, time.monotonic())):
        _crossings(m, trees, detected, n, out)
    m.close()
    return out


def _crossings(m: UsageMonitor, trees: list[Path], detected: dict[str, float], n: int, out: list[float]) -> None:
    for i in range(n):
        key, tree = f"lat{i % TREES}", trees[i % TREES]
        base = m.usage(key)[0]
        p = subprocess.run([sys.executable, "-c", WRITER, str(tree / f"w{i}"), str(base), str(MI), "65536", "0.005",
                            "0.6"], check=True, capture_output=True, text=True)
        crossed = float(p.stdout.split()[0])
        deadline = time.monotonic() + 2
        while key not in detected and time.monotonic() < deadline:
            time.sleep(0.005)
        if key not in detected:
            raise SystemExit(f"crossing {i} not detected")
        out.append(detected.pop(key) - crossed)
        (tree / f"w{i}").unlink()
        time.sleep(0.15)  # let the delete bring the tree back under its limit before the next round


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--idle", type=float, default=20.0)
    ap.add_argument("--crossings", type=int, default=20)
    ap.add_argument("--big", type=int, default=1000, help="files per tree in the large-tree comparison")
    args = ap.parse_args()
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="usage-bench-") as tmp:
        root = Path(tmp)
        for files in (4, args.big):
            trees = make_trees(root / f"n{files}", files)
            pct, setup, watches = idle_inotify(trees, args.idle)
            naive = idle_polling(trees, args.idle)
            rows.append((f"idle, 50 trees x {files} files: inotify monitor", f"{pct:.3f} % of one core"))
            rows.append((f"idle, 50 trees x {files} files: walk every 1 s", f"{naive:.3f} % of one core"))
            rows.append((f"watch() setup, 50 trees x {files} files ({watches} watches)", f"{setup * 1000:.1f} ms"))
            rows.append((f"safety-net rescan amortised ({DEFAULT_RESCAN:.0f} s), 50 x {files} files",
                         f"{100 * setup / DEFAULT_RESCAN:.3f} % of one core"))
        rows.append(("busy writer (4 KiB writes, tight loop), monitor CPU", f"{busy_writer(root, 5.0):.2f} % of one core"))
        lat = sorted(latencies(root, args.crossings))
        p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
        rows.append((f"detection latency over {len(lat)} crossings: median", f"{statistics.median(lat) * 1000:.0f} ms"))
        rows.append((f"detection latency over {len(lat)} crossings: p95 / max",
                     f"{p95 * 1000:.0f} ms / {lat[-1] * 1000:.0f} ms"))
    width = max(len(r[0]) for r in rows)
    print(f"| {'measurement'.ljust(width)} | result |")
    print(f"|{'-' * (width + 2)}|--------|")
    for name, value in rows:
        print(f"| {name.ljust(width)} | {value} |")


if __name__ == "__main__":
    main()
