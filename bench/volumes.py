"""Volume benchmarks against a real agent: emptyDir throughput vs the host, eviction latency, idle CPU.

1. Sequential write+read of 256 MiB with busybox dd inside a pod, into a disk emptyDir and a Memory emptyDir,
   against the same dd run on the host into a plain directory and a tmpfs (ratio should be ~1.0: bind mounts).
2. Eviction latency: time from crossing a 1Mi sizeLimit (written from the host into the volume) to the pod
   showing phase Failed / reason Evicted (N crossings, median / max).
   Reads come from the page cache on both sides (a pod cannot drop caches), so they compare mount overhead.
3. Agent CPU with 50 idle pods that each hold an emptyDir with a sizeLimit: % of one core over 30 s.
Usage: .venv/bin/python bench/volumes.py [--pods 50] [--idle 30]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import remove_bridge  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from podbay.client.http import ApiClient  # noqa: E402

IMAGE_TAR = REPO / "_work" / "busybox-1.35.tar"
MIB = 512


def pod(name: str, volumes: list[dict], command: list[str]) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"terminationGracePeriodSeconds": 0, "containers": [{
                "name": "c", "image": "busybox:1.35", "command": command,
                "volumeMounts": [{"name": v["name"], "mountPath": f"/{v['name']}"} for v in volumes]}],
                "volumes": volumes}}


class Agent:
    def __init__(self, work: Path) -> None:
        self.env = {**os.environ, "PODBAY_ROOT": str(work / "root"), "PODBAY_RUN_DIR": "/run/podbay-vbench",
                    "PODBAY_SOCKET": "/run/podbay-vbench/podbay.sock"}
        self.cli = [str(REPO / ".venv" / "bin" / "podbay")]
        subprocess.run([*self.cli, "image", "load", str(IMAGE_TAR)], env=self.env, check=True, capture_output=True)
        self.log = (work / "agent.log").open("w")
        self.proc = subprocess.Popen([*self.cli, "agent", "--listen", "none", "--bridge", "podbay-vb0", "--subnet", "10.88.252.0/22"],
                                     env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(200):
            if Path(self.env["PODBAY_SOCKET"]).exists():
                break
            time.sleep(0.05)
        self.api = ApiClient(self.env["PODBAY_SOCKET"])

    def create(self, body: dict) -> dict:
        return self.api.post("/api/v1/namespaces/default/pods", body)

    def get(self, name: str) -> dict:
        return self.api.get(f"/api/v1/namespaces/default/pods/{name}")

    def wait_running(self, name: str) -> dict:
        while True:
            p = self.get(name)
            cs = p.get("status", {}).get("containerStatuses") or []
            if cs and all("running" in c["state"] for c in cs):
                return p
            time.sleep(0.05)

    def delete(self, name: str) -> None:
        subprocess.run([*self.cli, "delete", "pod", name, "--grace-period", "0", "--force", "--wait"],
                       env=self.env, capture_output=True)

    def exec(self, name: str, script: str) -> str:
        res = subprocess.run([*self.cli, "exec", name, "--", "sh", "-c", script], env=self.env,
                             capture_output=True, text=True)
        return res.stdout + res.stderr

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait()
        remove_bridge("podbay-vb0")


DD = (f"sync; t0=$(cut -d' ' -f1 /proc/uptime); dd if=/dev/zero of=DIR/f bs=1M count={MIB} conv=fsync 2>/dev/null; "
      f"t1=$(cut -d' ' -f1 /proc/uptime); "
      f"dd if=DIR/f of=/dev/null bs=1M 2>/dev/null; t2=$(cut -d' ' -f1 /proc/uptime); rm -f DIR/f; "
      f"echo $t0 $t1 $t2")


def rates(out: str) -> tuple[float, float]:
    stamps = [line for line in out.splitlines() if re.fullmatch(r"[\d.]+ [\d.]+ [\d.]+", line.strip())]
    if not stamps:
        raise SystemExit(f"unexpected dd output: {out!r}")
    t0, t1, t2 = (float(x) for x in stamps[-1].split())
    return MIB / max(t1 - t0, 0.01), MIB / max(t2 - t1, 0.01)


def host_dd(directory: Path) -> tuple[float, float]:
    out = subprocess.run(["/bin/busybox", "sh", "-c", DD.replace("DIR", str(directory))], capture_output=True,
                         text=True).stdout
    return rates(out)


def throughput(agent: Agent, work: Path, runs: int) -> list[str]:
    vols = [{"name": "disk", "emptyDir": {}}, {"name": "mem", "emptyDir": {"medium": "Memory", "sizeLimit": "512Mi"}}]
    agent.create(pod("tput", vols, ["sleep", "3600"]))
    agent.wait_running("tput")
    hostdir = work / "hostdir"
    hostdir.mkdir()
    tmpfs = work / "tmpfs"
    tmpfs.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512m", "tmpfs", str(tmpfs)], check=True)
    rows = []
    try:
        for label, inside, host in (("disk emptyDir", "/disk", hostdir), ("Memory emptyDir", "/mem", tmpfs)):
            pw, pr, hw, hr = [], [], [], []
            for _ in range(runs):
                w, r = rates(agent.exec("tput", DD.replace("DIR", inside)))
                pw.append(w)
                pr.append(r)
                w, r = host_dd(host)
                hw.append(w)
                hr.append(r)
            mw, mr, mhw, mhr = (statistics.median(x) for x in (pw, pr, hw, hr))
            rows.append(f"| {label} write | {mw:.0f} MiB/s | {mhw:.0f} MiB/s | {mw / mhw:.2f} |")
            rows.append(f"| {label} read | {mr:.0f} MiB/s | {mhr:.0f} MiB/s | {mr / mhr:.2f} |")
    finally:
        subprocess.run(["umount", str(tmpfs)], capture_output=True)
        agent.delete("tput")
    return rows


def eviction_latency(agent: Agent, n: int) -> list[float]:
    out = []
    for i in range(n):
        name = f"evict-{i}"
        agent.create(pod(name, [{"name": "data", "emptyDir": {"sizeLimit": "1Mi"}}], ["sleep", "3600"]))
        p = agent.wait_running(name)
        host = Path(json.loads(p["metadata"]["annotations"]["podbay.io/volume-paths"])["data"])
        with open(host / "fill", "wb") as f:
            f.write(b"\0" * (1024 * 1024 + 4096))
            f.flush()
            os.fsync(f.fileno())
        t0 = time.monotonic()
        while agent.get(name).get("status", {}).get("reason") != "Evicted":
            time.sleep(0.002)
        out.append(time.monotonic() - t0)
        agent.delete(name)
    return out


def idle_cpu(agent: Agent, pods: int, idle: float) -> float:
    for i in range(pods):
        agent.create(pod(f"idle-{i}", [{"name": "data", "emptyDir": {"sizeLimit": "100Mi"}}], ["sleep", "3600"]))
    for i in range(pods):
        agent.wait_running(f"idle-{i}")
    time.sleep(5)  # let start-up work settle
    c0, t0 = agent.cpu_seconds(), time.monotonic()
    time.sleep(idle)
    pct = 100 * (agent.cpu_seconds() - c0) / (time.monotonic() - t0)
    for i in range(pods):
        agent.api.delete(f"/api/v1/namespaces/default/pods/idle-{i}", {"gracePeriodSeconds": "0"})
    deadline = time.monotonic() + 120
    while agent.api.get("/api/v1/namespaces/default/pods").get("items") and time.monotonic() < deadline:
        time.sleep(0.2)
    return pct


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=50)
    ap.add_argument("--idle", type=float, default=30.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--evictions", type=int, default=10)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="podbay-vbench-"))
    agent = Agent(work)
    try:
        rows = throughput(agent, work, args.runs)
        lat = eviction_latency(agent, args.evictions)
        cpu = idle_cpu(agent, args.pods, args.idle)
    finally:
        agent.close()
        from podbay.sys.mount import unmount_all_under
        unmount_all_under(str(work))
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree("/run/podbay-vbench", ignore_errors=True)
    print(f"| I/O ({MIB} MiB, dd bs=1M, median of {args.runs}) | in a pod | on the host | ratio |")
    print("|---|---|---|---|")
    print("\n".join(rows))
    print()
    print(f"eviction latency over {len(lat)} crossings of a 1Mi sizeLimit: median {statistics.median(lat) * 1000:.0f} ms, "
          f"max {max(lat) * 1000:.0f} ms")
    print(f"agent CPU with {args.pods} idle pods holding sizeLimit emptyDirs: {cpu:.2f}% of one core "
          f"(over {args.idle:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
