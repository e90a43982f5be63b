"""API speed: podbay's REST API against podman's (libpod REST, `podman system service`) in the same
run, 200 running pods on each side (one busybox `sleep` container each).

- list all pods and get one pod, over each side's Unix socket with keep-alive: medians and p99
  (podbay ``GET /api/v1/namespaces/bench/pods`` and ``…/pods/<name>``; podman
  ``GET /v4.0.0/libpod/pods/json`` and ``/v4.0.0/libpod/pods/<name>/json``);
- watch delivery latency with 100 concurrent watchers (a ConfigMap written -> the event received by
  every watcher), p50/p99, podbay only;
- ``kubectl get pods`` wall time for the 200 pods (warm discovery cache, through the test bridge)
  against ``podman pod ps``.

Usage (root): .venv/bin/python bench/api.py [--pods 200] [--requests 200] [--skip-podman]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import remove_bridge  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
IMAGE_TAR = REPO / "_work" / "busybox-1.35.tar"
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests" / "e2e"))
PODMAN_CONF = """[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
"""


def pod_doc(name: str, namespace: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace,
                                                           "labels": {"app": "bench"}},
            "spec": {"terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "c", "image": "busybox:1.35", "command": ["sleep", "36000"]}]}}


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=60)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def timed_gets(sock: str, path: str, n: int) -> list[float]:
    """n sequential GETs on one keep-alive connection; seconds each (after 5 warm-up requests)."""
    conn = UnixHTTP(sock)
    out = []
    for i in range(n + 5):
        t0 = time.perf_counter()
        conn.request("GET", path, headers={"Accept": "application/json"})
        resp = conn.getresponse()
        body = resp.read()
        dt = time.perf_counter() - t0
        if resp.status != 200:
            raise SystemExit(f"GET {path} -> {resp.status}: {body[:300]!r}")
        if i >= 5:
            out.append(dt)
    conn.close()
    return out


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def summary(xs: list[float]) -> dict[str, float]:
    return {"median_ms": statistics.median(xs) * 1000, "p99_ms": pct(xs, 99) * 1000}


def run(argv: list[str], env: dict[str, str] | None = None, input: str | None = None) -> str:
    res = subprocess.run(argv, env=env, capture_output=True, text=True, input=input)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {res.stderr.strip()[-800:]}")
    return res.stdout


class Podbay:
    def __init__(self, work: Path, tag: str) -> None:
        self.run_dir = Path(f"/run/podbay-bench-{tag}")
        self.socket = str(self.run_dir / "podbay.sock")
        self.bridge = f"pbb{tag}"
        self.env = {**os.environ, "PODBAY_ROOT": str(work / "root"), "PODBAY_RUN_DIR": str(self.run_dir),
                    "PODBAY_SOCKET": self.socket}
        self.cli = [str(REPO / ".venv" / "bin" / "podbay")]
        run([*self.cli, "image", "load", str(IMAGE_TAR)], self.env)
        self.log = (work / "agent.log").open("w")
        subnet = f"10.{random.randrange(200, 250)}.{random.randrange(0, 255)}.0/24"
        self.agent = subprocess.Popen([*self.cli, "agent", "--listen", "none", "--bridge", self.bridge, "--subnet", subnet],
                                      env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(400):
            if Path(self.socket).exists():
                break
            time.sleep(0.05)
        from podbay.client.http import ApiClient

        self.api = ApiClient(self.socket)

    def create(self, n: int) -> None:
        self.api.post("/api/v1/namespaces", {"metadata": {"name": "bench"}})
        docs = "\n---\n".join(json.dumps(pod_doc(f"p{i:03d}", "bench")) for i in range(n))
        run([*self.cli, "apply", "-f", "-"], self.env, input=docs)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            items = self.api.get("/api/v1/namespaces/bench/pods").get("items") or []
            running = sum(1 for p in items if (p.get("status") or {}).get("phase") == "Running")
            if running == n:
                return
            time.sleep(1)
        raise SystemExit(f"only {running} of {n} podbay pods running")

    def close(self) -> None:
        try:
            items = self.api.get("/api/v1/namespaces/bench/pods").get("items") or []
            for p in items:
                self.api.delete(f"/api/v1/namespaces/bench/pods/{p['metadata']['name']}",
                                {"gracePeriodSeconds": 0})
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and self.api.get("/api/v1/namespaces/bench/pods").get("items"):
                time.sleep(1)
        finally:
            self.agent.terminate()
            self.agent.wait(60)
            remove_bridge(self.bridge)
            shutil.rmtree(self.run_dir, ignore_errors=True)


class Podman:
    def __init__(self, work: Path, tag: str) -> None:
        self.run_dir = Path(f"/run/podbay-bench-{tag}")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.socket = str(self.run_dir / "podman.sock")
        conf = work / "containers.conf"   # the same limits bench/run.py uses (this host's RLIMIT_NOFILE)
        conf.write_text(PODMAN_CONF)
        self.env = {**os.environ, "CONTAINERS_CONF": str(conf)}
        run(["podman", "load", "-i", str(IMAGE_TAR)], self.env)
        self.service = subprocess.Popen(["podman", "system", "service", "--time=0", f"unix://{self.socket}"],
                                        env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            if Path(self.socket).exists():
                break
            time.sleep(0.05)
        self.names: list[str] = []
        self.manifest = work / "podman.yaml"

    def create(self, n: int, tag: str) -> None:
        docs = []
        for i in range(n):
            d = pod_doc(f"pb{tag}-{i:03d}", "default")
            d["metadata"].pop("namespace")
            docs.append(json.dumps(d))
        self.names = [f"pb{tag}-{i:03d}" for i in range(n)]
        self.manifest.write_text("\n---\n".join(docs))
        run(["podman", "kube", "play", str(self.manifest)], self.env)

    def close(self) -> None:
        subprocess.run(["podman", "kube", "down", str(self.manifest)], env=self.env, capture_output=True)
        self.service.terminate()
        self.service.wait(30)
        shutil.rmtree(self.run_dir, ignore_errors=True)


async def watch_latency(sock: str, watchers: int, writes: int) -> list[float]:
    """Each of ``watchers`` streams ConfigMap events; a ConfigMap is updated ``writes`` times; the
    latency of one delivery is (event read by that watcher) - (just before the write was sent)."""
    sent: dict[str, float] = {}
    samples: list[float] = []

    async def request(method: str, path: str, body: Any = None) -> dict[str, Any]:
        r, w = await asyncio.open_unix_connection(sock)
        data = json.dumps(body).encode() if body is not None else b""
        w.write(f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
        raw = await r.read()
        w.close()
        return dict(json.loads(raw.split(b"\r\n\r\n", 1)[1] or b"{}"))

    await request("POST", "/api/v1/namespaces/bench/configmaps", {"metadata": {"name": "w"}, "data": {"i": "0"}})
    ready = 0
    done = asyncio.Event()

    async def watcher() -> None:
        nonlocal ready
        r, w = await asyncio.open_unix_connection(sock)
        w.write(b"GET /api/v1/namespaces/bench/configmaps?watch=1&fieldSelector=metadata.name%3Dw"
                b"&timeoutSeconds=600 HTTP/1.1\r\nHost: x\r\n\r\n")
        await r.readuntil(b"\r\n\r\n")
        ready += 1
        got = 0
        while got < writes + 1:
            size = int((await r.readline()).strip(), 16)
            chunk = await r.readexactly(size + 2)
            for line in chunk.splitlines():
                if not line.strip():
                    continue
                ev = json.loads(line)
                i = ev["object"]["data"]["i"]
                got += 1
                if i in sent:
                    samples.append(time.perf_counter() - sent[i])
        w.close()

    tasks = [asyncio.create_task(watcher()) for _ in range(watchers)]
    while ready < watchers:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    for i in range(1, writes + 1):
        sent[str(i)] = time.perf_counter()
        await request("PUT", "/api/v1/namespaces/bench/configmaps/w", {"metadata": {"name": "w"},
                                                                         "data": {"i": str(i)}})
        await asyncio.sleep(0.02)
    await asyncio.wait_for(asyncio.gather(*tasks), 120)
    done.set()
    return samples


def kubectl_get(sock: str, base: Path, n: int) -> list[float]:
    from kube import Kube

    kube = Kube(Path(sock), base)
    kube.start()
    try:
        cache = base / "kubectl-cache"
        argv = [str(REPO / ".venv" / "bin" / "kubectl"), "--kubeconfig", str(kube.kubeconfig), "--cache-dir",
                str(cache), "get", "pods", "-n", "bench"]
        run(argv)   # warm the discovery cache, as a user's kubectl has it
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            lines = run(argv).splitlines()
            out.append(time.perf_counter() - t0)
        if len(lines) < 2:
            raise SystemExit("kubectl get pods printed nothing")
        return out
    finally:
        kube.stop()


def timed_cmd(argv: list[str], n: int, env: dict[str, str] | None = None) -> list[float]:
    run(argv, env)
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        run(argv, env)
        out.append(time.perf_counter() - t0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=200)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--watchers", type=int, default=100)
    ap.add_argument("--writes", type=int, default=50)
    ap.add_argument("--cli-runs", type=int, default=10)
    ap.add_argument("--skip-podman", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root")
    tag = f"{random.randrange(16**4):04x}"
    work = Path(tempfile.mkdtemp(prefix="podbay-bench-api-"))
    results: dict[str, Any] = {"pods": args.pods}
    try:
        pb = Podbay(work / "podbay", tag)
        try:
            pb.create(args.pods)
            results["podbay_list"] = summary(timed_gets(pb.socket, "/api/v1/namespaces/bench/pods", args.requests))
            results["podbay_get"] = summary(timed_gets(pb.socket, f"/api/v1/namespaces/bench/pods/p{args.pods // 2:03d}",
                                                       args.requests))
            lat = asyncio.run(watch_latency(pb.socket, args.watchers, args.writes))
            results["podbay_watch"] = {**summary(lat), "watchers": args.watchers, "events": len(lat)}
            results["kubectl_get_pods"] = summary(kubectl_get(pb.socket, work, args.cli_runs))
        finally:
            pb.close()
        if not args.skip_podman and shutil.which("podman"):
            pm = Podman(work, tag)
            try:
                pm.create(args.pods, tag)
                results["podman_list"] = summary(timed_gets(pm.socket, "/v4.0.0/libpod/pods/json", args.requests))
                results["podman_get"] = summary(timed_gets(pm.socket, f"/v4.0.0/libpod/pods/{pm.names[args.pods // 2]}/json",
                                                           args.requests))
                results["podman_pod_ps"] = summary(timed_cmd(["podman", "pod", "ps"], args.cli_runs, pm.env))
            finally:
                pm.close()
    finally:
        from podbay.sys.mount import unmount_all_under

        unmount_all_under(str(work))
        shutil.rmtree(work, ignore_errors=True)
    print(f"{args.pods} pods per side; {args.requests} requests per measure; medians and p99 in ms")
    for key in ("podbay_list", "podman_list", "podbay_get", "podman_get", "podbay_watch", "kubectl_get_pods",
                "podman_pod_ps"):
        if key in results:
            r = results[key]
            print(f"{key:18} median {r['median_ms']:8.2f}  p99 {r['p99_ms']:8.2f}")
    for what in ("list", "get"):
        if f"podman_{what}" in results:
            ratio = results[f"podbay_{what}"]["median_ms"] / results[f"podman_{what}"]["median_ms"]
            results[f"{what}_ratio"] = ratio
            print(f"{what} ratio podbay/podman: {ratio:.3f}x")
    (REPO / "bench" / "last-api-run.json").write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
