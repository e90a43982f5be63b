"""A 20-replica Deployment: podbay against `podman kube play` (Debian's podman 4.3 makes one pod per
replica), same manifest, same local busybox image, same run.

- apply: from the command until all 20 replicas run (podbay: `kubectl apply` (1.37, through the
  e2e harness's loopback bridge to the agent's socket), then the Deployment's
  watch until readyReplicas = updatedReplicas = 20 at the current generation; podman: `kube play`
  returns once every pod's containers are started);
- update: the image changes to a second tag of the same image, until the rollout is complete
  (podbay: RollingUpdate 25%/25%, watched until updated = available = replicas = 20 with no old
  replica left; podman: `kube play --replace`, which removes every pod and plays them again).

The container exits on SIGTERM at once on both sides, so neither waits out a grace period.
Usage: .venv/bin/python bench/workloads.py [--runs N] [--replicas N] [--skip-podman]
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
from typing import Any

from benchlib import PODMAN_CONF, remove_bridge, run, timed  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests" / "e2e"))
IMAGE_TAR = REPO / "_work" / "busybox-1.35.tar"
IMAGE = "docker.io/library/busybox:1.35"
AGAIN = "docker.io/library/busybox:1.35-again"
NAME = "wbench"
MANIFEST = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: {image}
        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
"""
class Podbay:
    def __init__(self, work: Path, replicas: int) -> None:
        self.replicas = replicas
        self.env = {**os.environ, "PODBAY_ROOT": str(work / "root"), "PODBAY_RUN_DIR": "/run/podbay-wbench",
                    "PODBAY_SOCKET": "/run/podbay-wbench/podbay.sock"}
        self.cli = [str(REPO / ".venv" / "bin" / "podbay")]
        work.mkdir(parents=True, exist_ok=True)
        again = work / "again.tar"
        run([sys.executable, "-m", "podbay.images.testimage", str(again), "--ref", AGAIN],
            {**os.environ, "PYTHONPATH": str(REPO / "src")})
        for tar in (IMAGE_TAR, again):
            run([*self.cli, "image", "load", str(tar)], self.env)
        self.log = (work / "agent.log").open("w")
        self.agent = subprocess.Popen([*self.cli, "agent", "--bridge", "podbay-wbench", "--subnet", "10.88.247.0/24",
                                       "--service-cidr", "10.89.247.0/24", "--nodeport-addresses", "10.88.247.1"],
                                      env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(400):
            if Path(self.env["PODBAY_SOCKET"]).exists():
                break
            time.sleep(0.05)
        from kube import Kube

        from podbay.client.http import ApiClient

        self.api = ApiClient(self.env["PODBAY_SOCKET"])
        self.kube = Kube(Path(self.env["PODBAY_SOCKET"]), work)
        self.kube.start()
        self.manifests = {}
        for image in (IMAGE, AGAIN):
            path = work / f"{image.rsplit(':', 1)[1]}.yaml"
            path.write_text(MANIFEST.format(name=NAME, replicas=replicas, image=image))
            self.manifests[image] = path

    def _until(self, image: str, done: Any) -> float:
        """`kubectl apply` of the image's manifest, then the Deployment's watch until ``done``."""
        hit = threading.Event()
        at: list[float] = []

        def watch() -> None:
            for ev in self.api.watch("/apis/apps/v1/namespaces/default/deployments",
                                     {"fieldSelector": f"metadata.name={NAME}"}):
                obj = ev.get("object") or {}
                if obj.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [{}])[0].get(
                        "image") == image and done(obj):
                    at.append(time.perf_counter())
                    hit.set()
                    return

        t = threading.Thread(target=watch, daemon=True)
        t.start()
        time.sleep(0.1)   # the watch is established before the clock starts
        t0 = time.perf_counter()
        self.kube.kubectl("apply", "-f", str(self.manifests[image]))
        if not hit.wait(300):
            raise SystemExit(f"podbay: {NAME} did not get there within 300 s")
        return at[0] - t0

    def _complete(self, d: dict[str, Any]) -> bool:
        st, n = d.get("status") or {}, self.replicas
        return (int(st.get("observedGeneration") or 0) >= int(d["metadata"].get("generation") or 0)
                and st.get("updatedReplicas") == n and st.get("replicas") == n and st.get("availableReplicas") == n
                and st.get("readyReplicas") == n)

    def apply(self) -> float:
        return self._until(IMAGE, self._complete)

    def update(self) -> float:
        return self._until(AGAIN, self._complete)

    def teardown(self) -> None:
        self.kube.kubectl("delete", "deployment", NAME)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            pods = self.api.get("/api/v1/namespaces/default/pods")["items"]
            if not pods:
                return
            time.sleep(0.2)
        raise SystemExit("podbay: pods did not go")

    def close(self) -> None:
        self.kube.stop()
        self.agent.terminate()
        self.agent.wait()
        remove_bridge("podbay-wbench")
        subprocess.run(["nft", "delete", "table", "ip", "podbay-podbay-wbench"], capture_output=True)


class Podman:
    def __init__(self, work: Path, replicas: int) -> None:
        work.mkdir(parents=True, exist_ok=True)
        conf = work / "containers.conf"
        conf.write_text(PODMAN_CONF)
        self.env = {**os.environ, "CONTAINERS_CONF": str(conf)}
        run(["podman", "load", "-i", str(IMAGE_TAR)], self.env)
        run(["podman", "tag", IMAGE, AGAIN], self.env)
        self.manifests = {}
        for image in (IMAGE, AGAIN):
            path = work / f"{image.rsplit(':', 1)[1]}.yaml"
            path.write_text(MANIFEST.format(name=NAME, replicas=replicas, image=image))
            self.manifests[image] = path

    def apply(self) -> float:
        return timed(["podman", "kube", "play", str(self.manifests[IMAGE])], self.env)

    def update(self) -> float:
        return timed(["podman", "kube", "play", "--replace", str(self.manifests[AGAIN])], self.env)

    def teardown(self) -> None:
        run(["podman", "kube", "down", str(self.manifests[AGAIN])], self.env)

    def close(self) -> None:
        for m in self.manifests.values():
            subprocess.run(["podman", "kube", "down", str(m)], env=self.env, capture_output=True)
        subprocess.run(["podman", "rmi", AGAIN], env=self.env, capture_output=True)   # the tag only


def measure(side: Podbay | Podman, runs: int) -> tuple[list[float], list[float]]:
    side.apply()
    side.update()
    side.teardown()   # warm-up
    applies, updates = [], []
    for _ in range(runs):
        applies.append(side.apply())
        time.sleep(0.5)
        updates.append(side.update())
        time.sleep(0.5)
        side.teardown()
    return applies, updates


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--replicas", type=int, default=20)
    ap.add_argument("--skip-podman", action="store_true")
    ap.add_argument("--json", default=str(REPO / "bench" / "workloads-last-run.json"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root")
    work = Path(tempfile.mkdtemp(prefix="podbay-wbench-"))
    results: dict[str, dict[str, Any]] = {}
    try:
        pb = Podbay(work / "podbay", args.replicas)
        try:
            a, u = measure(pb, args.runs)
        finally:
            pb.close()
        results["podbay"] = {"apply_s": statistics.median(a), "update_s": statistics.median(u),
                             "apply_runs": [round(x, 3) for x in a], "update_runs": [round(x, 3) for x in u]}
        if not args.skip_podman and shutil.which("podman"):
            pm = Podman(work / "podman", args.replicas)
            try:
                a, u = measure(pm, args.runs)
            finally:
                pm.close()
            results["podman"] = {"apply_s": statistics.median(a), "update_s": statistics.median(u),
                                 "apply_runs": [round(x, 3) for x in a], "update_runs": [round(x, 3) for x in u]}
    finally:
        from podbay.sys.mount import unmount_all_under

        unmount_all_under(str(work))
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree("/run/podbay-wbench", ignore_errors=True)
    print(f"Deployment of {args.replicas} replicas, runs per side: {args.runs} (medians)")
    print(f"{'':10} {'apply s':>10} {'update s':>10}")
    for name, r in results.items():
        print(f"{name:10} {r['apply_s']:10.2f} {r['update_s']:10.2f}")
    if "podman" in results:
        pb_r, pm_r = results["podbay"], results["podman"]
        results["ratio"] = {"apply": pb_r["apply_s"] / pm_r["apply_s"], "update": pb_r["update_s"] / pm_r["update_s"]}
        print(f"{'ratio':10} {results['ratio']['apply']:9.2f}x {results['ratio']['update']:9.2f}x  (podbay / podman)")
    results["replicas"] = {"n": args.replicas, "runs": args.runs}
    Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
