"""Pod start and teardown: podbay against `podman kube play` on the same 2-container emptyDir pod.

Both sides run the same manifest with the same local busybox image and crun. Start = from the
command until both containers run (podman: `kube play` returns once they are started; podbay:
`podbay apply` then watching the pod until both containerStatuses are running). Teardown = grace
period 0 until everything is gone (podman: `kube down`; podbay: `delete --grace-period 0 --wait`).
Usage: .venv/bin/python bench/run.py [--runs N] [--skip-podman]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchlib import PODMAN_CONF, remove_bridge, run, timed  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
IMAGE_TAR = REPO / "_work" / "busybox-1.35.tar"
MANIFEST = """apiVersion: v1
kind: Pod
metadata:
  name: bench
spec:
  containers:
  - name: a
    image: busybox:1.35
    command: ["sleep", "3600"]
    volumeMounts: [{name: shared, mountPath: /shared}]
  - name: b
    image: busybox:1.35
    command: ["sleep", "3600"]
    volumeMounts: [{name: shared, mountPath: /shared}]
  volumes:
  - name: shared
    emptyDir: {}
"""
class Podbay:
    def __init__(self, work: Path) -> None:
        self.env = {**os.environ, "PODBAY_ROOT": str(work / "root"), "PODBAY_RUN_DIR": "/run/podbay-bench",
                    "PODBAY_SOCKET": "/run/podbay-bench/podbay.sock"}
        self.cli = [str(REPO / ".venv" / "bin" / "podbay")]
        run([*self.cli, "image", "load", str(IMAGE_TAR)], self.env)
        self.log = (work / "agent.log").open("w")
        self.agent = subprocess.Popen([*self.cli, "agent", "--listen", "none", "--bridge", "podbay-bench0", "--subnet",
                                       "10.88.251.0/24"], env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(200):
            if Path(self.env["PODBAY_SOCKET"]).exists():
                break
            time.sleep(0.05)
        sys.path.insert(0, str(REPO / "src"))
        from podbay.client.http import ApiClient
        self.api = ApiClient(self.env["PODBAY_SOCKET"])
        self.manifest = work / "bench.yaml"
        self.manifest.write_text(MANIFEST)
        self.cli_ms: list[float] = []

    def start(self) -> float:
        # Watch (event-driven, like `kubectl wait`) rather than poll: polling would load the agent.
        done = threading.Event()
        seen: list[float] = []

        def watch() -> None:
            for ev in self.api.watch("/api/v1/namespaces/default/pods", {"fieldSelector": "metadata.name=bench"}):
                cs = (ev.get("object") or {}).get("status", {}).get("containerStatuses") or []
                if len(cs) == 2 and all("running" in c["state"] for c in cs):
                    seen.append(time.perf_counter())
                    done.set()
                    return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        time.sleep(0.05)   # the watch is established before the clock starts
        t0 = time.perf_counter()
        run([*self.cli, "apply", "-f", str(self.manifest)], self.env)
        self.cli_ms.append((time.perf_counter() - t0) * 1000)
        if not done.wait(30):
            raise SystemExit("podbay pod did not start within 30 s")
        return seen[0] - t0

    def stop(self) -> float:
        return timed([*self.cli, "delete", "pod", "bench", "--grace-period", "0", "--force", "--wait"], self.env)

    def close(self) -> None:
        self.agent.terminate()
        self.agent.wait()
        remove_bridge("podbay-bench0")


class Podman:
    def __init__(self, work: Path) -> None:
        conf = work / "containers.conf"
        conf.write_text(PODMAN_CONF)
        self.env = {**os.environ, "CONTAINERS_CONF": str(conf)}
        run(["podman", "load", "-i", str(IMAGE_TAR)], self.env)
        self.manifest = work / "bench.yaml"
        self.manifest.write_text(MANIFEST)

    def start(self) -> float:
        return timed(["podman", "kube", "play", str(self.manifest)], self.env)

    def stop(self) -> float:
        return timed(["podman", "kube", "down", str(self.manifest)], self.env)

    def close(self) -> None:
        subprocess.run(["podman", "kube", "down", str(self.manifest)], env=self.env, capture_output=True)


def measure(side: Podbay | Podman, runs: int) -> tuple[list[float], list[float]]:
    side.start()
    side.stop()   # warm-up
    starts, stops = [], []
    for _ in range(runs):
        starts.append(side.start())
        time.sleep(0.3)
        stops.append(side.stop())
    return starts, stops


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--skip-podman", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root")
    work = Path(tempfile.mkdtemp(prefix="podbay-bench-"))
    results: dict[str, dict[str, float]] = {}
    try:
        pb = Podbay(work / "podbay")
        try:
            s, d = measure(pb, args.runs)
        finally:
            pb.close()
        print("podbay start ms:", " ".join(f"{x * 1000:.0f}" for x in s), file=sys.stderr)
        print("of which `podbay apply` ran ms:", " ".join(f"{x:.0f}" for x in pb.cli_ms[1:]), file=sys.stderr)
        results["podbay"] = {"start_ms": statistics.median(s) * 1000, "teardown_ms": statistics.median(d) * 1000}
        if not args.skip_podman and shutil.which("podman"):
            pm = Podman(work)
            try:
                s, d = measure(pm, args.runs)
            finally:
                pm.close()
            results["podman"] = {"start_ms": statistics.median(s) * 1000,
                                 "teardown_ms": statistics.median(d) * 1000}
    finally:
        from podbay.sys.mount import unmount_all_under
        unmount_all_under(str(work))
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree("/run/podbay-bench", ignore_errors=True)
    print(f"runs per side: {args.runs} (medians)")
    print(f"{'':10} {'start ms':>10} {'teardown ms':>12}")
    for name, r in results.items():
        print(f"{name:10} {r['start_ms']:10.0f} {r['teardown_ms']:12.0f}")
    if "podman" in results:
        pb_r, pm_r = results["podbay"], results["podman"]
        print(f"{'ratio':10} {pb_r['start_ms'] / pm_r['start_ms']:10.2f}x {pb_r['teardown_ms'] / pm_r['teardown_ms']:11.2f}x"
              "  (podbay / podman)")
    (REPO / "bench" / "last-run.json").write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
