"""Density and start throughput (issue 10): podbay with 500 running pods, and 100 pods started at once
against `podman kube play` of the same 100 pods in the same run.

* throughput: one manifest of N pods (1 busybox container each); podbay: `podbay apply -f` until
  every pod is Ready; podman: `podman kube play` (it returns once the containers started), on a
  private store (--root/--runroot/--tmpdir), a private network config dir and its own bridge and
  subnet, so nothing global is touched. Runs alternate; medians and the ratio.
* density: P pods running on podbay; the agent's RSS, its CPU over an idle minute (% of one core),
  and `podbay get pods` (a CLI process, as a user runs it) for all of them: median of 7.

Goals (issue 10): RSS < 150 MB, idle CPU < 2 % of a core, get pods < 300 ms. Writes
bench/density-last-run.json. Usage (root): .venv/bin/python bench/density.py [--pods 500]
[--burst 100] [--runs 2] [--idle 60] [--skip-podman]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from benchlib import stop_on_signals  # noqa: E402
from e2e_harness import IMAGE_TAR, Agent, _missing  # noqa: E402
from soak_cycles import cpu_seconds, rss_bytes  # noqa: E402

from podbay.client.http import ApiClient  # noqa: E402

GOALS = {"agent_rss_mb": 150, "idle_cpu_pct": 2.0, "get_pods_ms": 300}


def pod_doc(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "density"}},
            "spec": {"terminationGracePeriodSeconds": 0, "restartPolicy": "Always",
                     "containers": [{"name": "c", "image": "busybox:1.35", "command": ["sleep", "36000"]}]}}


def manifest(path: Path, prefix: str, n: int, start: int = 0) -> Path:
    path.write_text("\n---\n".join(json.dumps(pod_doc(f"{prefix}-{i:03d}")) for i in range(start, start + n)))
    return path


def run(argv: list[str], env: dict[str, str] | None = None, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:6])} ... failed: {res.stderr.strip()[-1500:]}")
    return res


class Podbay:
    def __init__(self, work: Path, max_pods: int) -> None:
        self.agent = Agent(work)
        # The kubelet's default of 110 pods per node would leave the rest Pending (Unschedulable).
        self.agent.extra_args = ["--max-pods", str(max_pods)]
        # 500 pods need more than a /24: a /21 of its own (aligned), gateway .1.
        a, b = random.randrange(200, 250), random.randrange(0, 32) * 8
        self.agent.subnet, self.agent.gateway = f"10.{a}.{b}.0/21", f"10.{a}.{b}.1"
        self.agent.service_args = ["--service-cidr", self.agent.service_cidr, "--nodeport-addresses",
                                   self.agent.gateway]
        self.agent.root.mkdir(parents=True)
        self.agent.pb("image", "load", str(IMAGE_TAR))
        self.agent.start()
        self.api = ApiClient(str(self.agent.socket), timeout=120)
        self.work = work

    @property
    def pid(self) -> int:
        assert self.agent.proc is not None
        return self.agent.proc.pid

    def pods(self) -> list[dict[str, Any]]:
        return list(self.api.get("/api/v1/namespaces/default/pods").get("items") or [])

    def wait(self, pred: Any, n: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            items = self.pods()
            if len(items) == n and all(pred(p) for p in items):
                return
            stuck = [c.get("message") for p in items for c in (p.get("status") or {}).get("conditions") or []
                     if c.get("type") == "PodScheduled" and c.get("reason") == "Unschedulable"]
            if stuck:
                raise SystemExit(f"podbay: {len(stuck)} pods Unschedulable: {stuck[0]}")
            time.sleep(0.25)   # a list of 500 pods is not free: do not load the agent being measured
        raise SystemExit(f"podbay: pods not there within {timeout} s")

    @staticmethod
    def ready(pod: dict[str, Any]) -> bool:
        return any(c.get("type") == "Ready" and c.get("status") == "True"
                   for c in (pod.get("status") or {}).get("conditions") or [])

    def start_burst(self, prefix: str, n: int, start: int = 0) -> float:
        path = manifest(self.work / f"{prefix}-{start}.json", prefix, n, start)
        before = len(self.pods())
        t0 = time.monotonic()
        self.agent.pb("apply", "-f", str(path), timeout=600)
        self.wait(self.ready, before + n, 900)
        return time.monotonic() - t0

    def delete_all(self) -> None:
        for p in self.pods():
            self.api.delete(f"/api/v1/namespaces/default/pods/{p['metadata']['name']}", {"gracePeriodSeconds": "0"})
        deadline = time.monotonic() + 600
        while self.pods() and time.monotonic() < deadline:
            time.sleep(0.5)

    def close(self) -> None:
        self.agent.cleanup()


class Podman:
    """podman on a private store, network config dir, bridge and subnet."""

    def __init__(self, work: Path) -> None:
        self.work = work / "podman"
        self.work.mkdir(parents=True, exist_ok=True)
        tag = f"{random.randrange(16**4):04x}"
        self.net = f"pbdens{tag}"
        self.subnet = f"10.{random.randrange(100, 199)}.{random.randrange(0, 256)}.0/24"
        (self.work / "net.d").mkdir(exist_ok=True)
        (self.work / "containers.conf").write_text(
            '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]\n'
            f'[engine]\nevents_logger = "none"\n[network]\nnetwork_backend = "cni"\n'
            f'network_config_dir = "{self.work / "net.d"}"\n')
        (self.work / "storage.conf").write_text(
            f'[storage]\ndriver = "overlay"\nrunroot = "{self.work / "runroot"}"\ngraphroot = "{self.work / "root"}"\n')
        home = self.work / "home"
        home.mkdir(exist_ok=True)
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
                    "XDG_RUNTIME_DIR": str(self.work / "xdg"), "CONTAINERS_CONF": str(self.work / "containers.conf"),
                    "CONTAINERS_STORAGE_CONF": str(self.work / "storage.conf")}
        run(self._argv("load", "-i", str(IMAGE_TAR)), self.env)
        # podman 4.3 (Debian 12) cannot name the bridge (--interface-name came later): the network is a
        # CNI conflist of our own in the private network_config_dir, the bridge named like the network.
        gw = self.subnet.rsplit(".", 1)[0] + ".1"
        conflist = {"cniVersion": "0.4.0", "name": self.net, "plugins": [
            {"type": "bridge", "bridge": self.net, "isGateway": True, "ipMasq": True, "hairpinMode": True,
             "ipam": {"type": "host-local", "routes": [{"dst": "0.0.0.0/0"}],
                      "ranges": [[{"subnet": self.subnet, "gateway": gw}]]}},
            {"type": "portmap", "capabilities": {"portMappings": True}}]}
        (self.work / "net.d" / f"{self.net}.conflist").write_text(json.dumps(conflist))

    def _argv(self, *args: str) -> list[str]:
        return ["podman", "--root", str(self.work / "root"), "--runroot", str(self.work / "runroot"),
                "--tmpdir", str(self.work / "tmp"), "--storage-driver", "overlay", *args]

    def start_burst(self, prefix: str, n: int) -> float:
        path = manifest(self.work / f"{prefix}.json", prefix, n)
        t0 = time.monotonic()
        run(self._argv("kube", "play", "--network", self.net, str(path)), self.env)
        elapsed = time.monotonic() - t0
        out = run(self._argv("ps", "--filter", "status=running", "--format", "{{.Names}}"), self.env).stdout
        running = [line for line in out.split() if line.startswith(prefix) and not line.endswith("-infra")]
        if len(running) < n:
            raise SystemExit(f"podman: only {len(running)} of {n} containers running after kube play")
        self._down(path)
        return elapsed

    def _down(self, path: Path) -> None:
        subprocess.run(self._argv("kube", "down", str(path)), env=self.env, capture_output=True, timeout=600)

    def close(self) -> None:
        subprocess.run(self._argv("pod", "rm", "-a", "-f"), env=self.env, capture_output=True, timeout=600)
        subprocess.run(self._argv("rmi", "-a", "-f"), env=self.env, capture_output=True)
        subprocess.run(["ip", "link", "del", self.net], capture_output=True)
        shutil.rmtree(f"/var/lib/cni/networks/{self.net}", ignore_errors=True)
        from podbay.sys.mount import unmount_all_under
        unmount_all_under(str(self.work))


def timed_get_pods(pb: Podbay, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.monotonic()
        res = pb.agent.pb("get", "pods")
        out.append(time.monotonic() - t0)
        assert res.stdout.count("\n") > 1
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=500)
    ap.add_argument("--burst", type=int, default=100)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--idle", type=float, default=60.0)
    ap.add_argument("--skip-podman", action="store_true")
    args = ap.parse_args()
    stop_on_signals()
    why = _missing()
    if why:
        raise SystemExit(f"density bench: {why}")
    result: dict[str, Any] = {"pods": args.pods, "burst": args.burst, "goals": GOALS}
    with tempfile.TemporaryDirectory(prefix="podbay-density-") as tmp:
        work = Path(tmp)
        pb = Podbay(work / "podbay", args.pods + args.burst)
        pm = Podman(work) if not args.skip_podman and shutil.which("podman") else None
        try:
            # -- start throughput, alternating --------------------------------------------------------
            times: dict[str, list[float]] = {"podbay": [], "podman": []}
            for r in range(args.runs):
                times["podbay"].append(pb.start_burst(f"burst{r}", args.burst))
                print(f"podbay: {args.burst} pods Ready in {times['podbay'][-1]:.1f} s", flush=True)
                pb.delete_all()
                if pm is not None:
                    times["podman"].append(pm.start_burst(f"pmburst{r}", args.burst))
                    print(f"podman: {args.burst} pods started in {times['podman'][-1]:.1f} s", flush=True)
            result["start"] = {side: {"runs_s": [round(t, 2) for t in ts], "median_s": round(statistics.median(ts), 2),
                                      "pods_per_s": round(args.burst / statistics.median(ts), 1)}
                               for side, ts in times.items() if ts}
            if times["podman"]:
                result["start"]["ratio_podbay_to_podman"] = round(
                    statistics.median(times["podbay"]) / statistics.median(times["podman"]), 2)
            # -- density ---------------------------------------------------------------------------------
            rss_empty = rss_bytes(pb.pid)
            t0 = time.monotonic()
            for start in range(0, args.pods, args.burst):
                pb.start_burst("dense", min(args.burst, args.pods - start), start)
                print(f"podbay: {start + args.burst} pods running", flush=True)
            result["density_start_s"] = round(time.monotonic() - t0, 1)
            time.sleep(10)   # the last statuses and probes settle
            cpu0, w0 = cpu_seconds(pb.pid), time.monotonic()
            time.sleep(args.idle)
            idle = 100 * (cpu_seconds(pb.pid) - cpu0) / (time.monotonic() - w0)
            gets = timed_get_pods(pb, 7)
            result["density"] = {
                "running_pods": sum(1 for p in pb.pods() if Podbay.ready(p)),
                "agent_rss_mb": round(rss_bytes(pb.pid) / 2**20, 1),
                "agent_rss_empty_mb": round(rss_empty / 2**20, 1),
                "idle_cpu_pct": round(idle, 2),
                "get_pods_ms_median": round(1000 * statistics.median(gets), 1),
                "get_pods_ms_runs": [round(1000 * g, 1) for g in gets],
            }
            d = result["density"]
            result["met"] = {"agent_rss": d["agent_rss_mb"] < GOALS["agent_rss_mb"],
                             "idle_cpu": d["idle_cpu_pct"] < GOALS["idle_cpu_pct"],
                             "get_pods": d["get_pods_ms_median"] < GOALS["get_pods_ms"]}
            pb.delete_all()
        finally:
            if pb.pods():
                pb.delete_all()   # through the API: the harness's cleanup runs a CLI per pod
            pb.close()
            if pm is not None:
                pm.close()
    text = json.dumps(result, indent=1)
    print(text)
    (REPO / "bench" / "density-last-run.json").write_text(text + "\n")
    return 0 if all(result.get("met", {}).values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
