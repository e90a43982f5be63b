#!/usr/bin/env python3
"""Probe cost: N pods, each with an httpGet readiness probe every 1 s and an exec liveness probe every
10 s (issue 10). Prints the agent's CPU (median of 1 s samples over the window, % of one core), its
children's CPU (crun exec), RSS, and how long after a readiness change the pod's Ready flips.

    sudo .venv/bin/python bench/probes.py [--pods 100] [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))

import e2e_harness as h  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu(pid: int) -> tuple[float, float]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK, (int(fields[13]) + int(fields[14])) / TICK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pod(i: int) -> dict:
    web = "mkdir -p /www; echo ok > /www/index.html; exec httpd -f -p 80 -h /www"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"probed-{i}"}, "spec": {
        "terminationGracePeriodSeconds": 1,
        "containers": [{"name": "web", "image": "busybox:1.35", "command": ["sh", "-c", web],
                        "readinessProbe": {"httpGet": {"path": "/index.html", "port": 80}, "periodSeconds": 1},
                        "livenessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 10}}]}}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=100)
    ap.add_argument("--seconds", type=int, default=60)
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="podbay-bench-probes-"))
    agent = h.Agent(base)
    agent.root.mkdir(parents=True)
    agent.pb("image", "load", str(h.IMAGE_TAR))
    agent.start()
    try:
        docs = "\n---\n".join(json.dumps(pod(i)) for i in range(args.pods))
        t0 = time.monotonic()
        agent.pb("apply", "-f", "-", input=docs, timeout=600)
        while True:
            items = json.loads(agent.pb("get", "pods", "-o", "json", timeout=60).stdout)["items"]
            ready = sum(any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
                        for p in items)
            if ready == args.pods:
                break
            if time.monotonic() - t0 > 600:
                raise SystemExit(f"only {ready}/{args.pods} ready")
            time.sleep(1)
        all_ready = time.monotonic() - t0
        assert agent.proc is not None
        pid = agent.proc.pid
        samples, child = [], []
        prev, prev_c = cpu(pid)
        for _ in range(args.seconds):
            time.sleep(1)
            cur, cur_c = cpu(pid)
            samples.append((cur - prev) * 100)
            child.append((cur_c - prev_c) * 100)
            prev, prev_c = cur, cur_c
        out = {"pods": args.pods, "all_ready_s": round(all_ready, 1),
               "agent_cpu_pct_median": round(statistics.median(samples), 1),
               "agent_cpu_pct_p90": round(sorted(samples)[int(len(samples) * 0.9)], 1),
               "children_cpu_pct_median": round(statistics.median(child), 1),
               "agent_rss_mb": round(rss_mb(pid), 1)}
        print(json.dumps(out))
    finally:
        agent.cleanup()      # deletes every pod (grace 0) and stops the agent
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
