"""CLI start-up: wall time of everyday ``podbay`` verbs, each a new process, against the real API app
(``build_app`` + registry on an in-memory store, served from a thread on a Unix socket; no root).

Each command runs ``--runs`` times after 3 warm-ups; medians and p90 in ms. ``--baseline SRC`` runs the
same commands with another tree's ``src`` (e.g. ``git archive main | tar -x -C /tmp/base``) in the same
run, for a before/after ratio on the same machine load.

Usage: .venv/bin/python bench/cli_startup.py [--runs 30] [--baseline /tmp/base/src] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "unit" / "cli"))

from apiserver import ApiServer  # noqa: E402

MANIFEST = """apiVersion: v1
kind: ConfigMap
metadata:
  name: bench-cm
data:
  a: "1"
"""

COMMANDS: list[tuple[str, list[str]]] = [
    ("--help", ["--help"]),
    ("get pods", ["get", "pods"]),
    ("get pods -o wide", ["get", "pods", "-o", "wide"]),
    ("get pod p0 -o json", ["get", "pod", "p0", "-o", "json"]),
    ("get cm", ["get", "cm"]),
    ("describe pod p0", ["describe", "pod", "p0"]),
    ("apply -f (unchanged)", ["apply", "-f", "{manifest}"]),
]


def pod(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "bench"}},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}


def measure(argv: list[str], env: dict[str, str], runs: int) -> list[float]:
    out = []
    for i in range(runs + 3):
        t0 = time.perf_counter()
        p = subprocess.run(argv, env=env, capture_output=True)
        dt = (time.perf_counter() - t0) * 1000
        if p.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} -> {p.returncode}: {p.stderr.decode()[-500:]}")
        if i >= 3:
            out.append(dt)
    return out


def p90(xs: list[float]) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(0.9 * (len(s) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--pods", type=int, default=20)
    ap.add_argument("--baseline", default=None, help="another tree's src/ to compare with")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    d = tempfile.mkdtemp(prefix="pbbench")
    sock = f"{d}/api.sock"
    manifest = Path(d) / "cm.yaml"
    manifest.write_text(MANIFEST)
    trees = {"this": str(REPO / "src")}
    if args.baseline:
        trees["baseline"] = args.baseline
    results: dict[str, dict[str, dict[str, float]]] = {}
    with ApiServer(sock, Path(d)) as srv:
        for i in range(args.pods):
            srv.create(pod(f"p{i}"))
        for name, src in trees.items():
            env = {**os.environ, "PYTHONPATH": src, "PODBAY_SOCKET": sock, "XDG_CACHE_HOME": f"{d}/cache-{name}"}
            base = [sys.executable, "-c", "from podbay.entry import main; main()"]
            subprocess.run([*base, "apply", "-f", str(manifest)], env=env, capture_output=True, check=True)
            results[name] = {}
            for label, cmd in COMMANDS:
                argv = [*base, *[c.format(manifest=manifest) for c in cmd]]
                xs = measure(argv, env, args.runs)
                results[name][label] = {"median_ms": round(statistics.median(xs), 1), "p90_ms": round(p90(xs), 1)}
    width = max(len(label) for label, _ in COMMANDS)
    print(f"{'command':<{width}}  " + "  ".join(f"{n + ' median/p90 ms':>24}" for n in trees)
          + ("  ratio" if args.baseline else ""))
    for label, _ in COMMANDS:
        cells = [f"{results[n][label]['median_ms']:>11.1f} / {results[n][label]['p90_ms']:>8.1f}" for n in trees]
        line = f"{label:<{width}}  " + "  ".join(f"{c:>24}" for c in cells)
        if args.baseline:
            line += f"  {results['this'][label]['median_ms'] / results['baseline'][label]['median_ms']:.2f}"
        print(line)
    if args.json:
        Path(args.json).write_text(json.dumps({"pods": args.pods, "runs": args.runs, "results": results}, indent=1))


if __name__ == "__main__":
    main()
