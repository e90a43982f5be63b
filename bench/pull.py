"""Image pulls: podbay against `podman pull` of the same image from the same loopback registry.

1. Pull time into an empty store, until the image can start (layers unpacked): `podbay image pull`
   against `podman pull` (private --root/--runroot/--tmpdir, HOME and config files, so nothing global
   is touched), runs interleaved, medians and their ratio (goal: podbay <= 0.7 x podman).
2. Through the agent: a pod whose image must be pulled, then a second pod with the image present
   (IfNotPresent): its start adds no registry request (counted in the registry's access log).

Usage: .venv/bin/python bench/pull.py [--runs N] [--image nginx] [--skip-podman]
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
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from benchlib import remove_bridge, timed  # noqa: E402

from podbay.images import testregistry  # noqa: E402

PB = [str(REPO / ".venv" / "bin" / "podbay")]


class PodbaySide:
    def __init__(self, work: Path, ref: str) -> None:
        self.root = work / "podbay"
        self.ref = ref
        self.env = {**os.environ, "PODBAY_ROOT": str(self.root)}

    def pull(self) -> float:
        shutil.rmtree(self.root / "images", ignore_errors=True)
        self.root.mkdir(parents=True, exist_ok=True)
        return timed([*PB, "image", "--root", str(self.root), "pull", "-q", self.ref], self.env)


class PodmanSide:
    def __init__(self, work: Path, ref: str) -> None:
        self.work = work / "podman"
        self.ref = ref
        self.work.mkdir(parents=True, exist_ok=True)
        (self.work / "containers.conf").write_text('[engine]\nevents_logger = "none"\n')
        (self.work / "registries.conf").write_text("# the reference is fully qualified\n")
        (self.work / "storage.conf").write_text(
            f'[storage]\ndriver = "overlay"\nrunroot = "{self.work / "runroot"}"\ngraphroot = "{self.work / "root"}"\n')
        home = self.work / "home"
        home.mkdir(exist_ok=True)
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
                    "XDG_RUNTIME_DIR": str(self.work / "xdg"), "CONTAINERS_CONF": str(self.work / "containers.conf"),
                    "CONTAINERS_REGISTRIES_CONF": str(self.work / "registries.conf"),
                    "CONTAINERS_STORAGE_CONF": str(self.work / "storage.conf")}

    def _argv(self, *args: str) -> list[str]:
        return ["podman", "--root", str(self.work / "root"), "--runroot", str(self.work / "runroot"),
                "--tmpdir", str(self.work / "tmp"), "--storage-driver", "overlay", *args]

    def pull(self) -> float:
        self.reset()
        return timed(self._argv("pull", "-q", "--tls-verify=false", self.ref), self.env)

    def reset(self) -> None:
        if (self.work / "root").exists():
            subprocess.run(self._argv("rmi", "-a", "-f"), env=self.env, capture_output=True)
        for d in ("root", "runroot", "tmp"):
            shutil.rmtree(self.work / d, ignore_errors=True)


def pulls(work: Path, ref: str, runs: int, skip_podman: bool) -> dict[str, Any]:
    sides: dict[str, Any] = {"podbay": PodbaySide(work, ref)}
    if not skip_podman:
        sides["podman"] = PodmanSide(work, ref)
    samples: dict[str, list[float]] = {k: [] for k in sides}
    for side in sides.values():
        side.pull()   # warm-up: page cache, skopeo/podman binaries
    for i in range(runs):
        order = list(sides) if i % 2 == 0 else list(reversed(sides))
        for name in order:
            samples[name].append(sides[name].pull())
    if "podman" in sides:
        sides["podman"].reset()
    out: dict[str, Any] = {name: {"median_s": round(statistics.median(v), 3), "samples_s": [round(x, 3) for x in v]}
                           for name, v in samples.items()}
    if "podman" in out:
        out["ratio_podbay_to_podman"] = round(out["podbay"]["median_s"] / out["podman"]["median_s"], 2)
    return out


class Agent:
    def __init__(self, work: Path, conf: Path) -> None:
        tag = f"{random.randrange(16**4):04x}"
        self.root = work / "agent-root"
        self.run_dir = Path(f"/run/podbay-bench-pull-{tag}")
        self.bridge = f"pbpl{tag}"
        self.env = {**os.environ, "PODBAY_ROOT": str(self.root), "PODBAY_RUN_DIR": str(self.run_dir),
                    "PODBAY_SOCKET": str(self.run_dir / "podbay.sock")}
        self.root.mkdir(parents=True, exist_ok=True)
        self.log = (work / "agent.log").open("w")
        subnet = f"10.{random.randrange(200, 250)}.{random.randrange(0, 255)}.0/24"
        self.proc = subprocess.Popen([*PB, "agent", "--bridge", self.bridge, "--subnet", subnet,
                                      "--registries-conf", str(conf)], env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        for _ in range(400):
            if (self.run_dir / "podbay.sock").exists():
                break
            time.sleep(0.05)
        from podbay.client.http import ApiClient

        self.api = ApiClient(str(self.run_dir / "podbay.sock"))

    def start_pod(self, name: str, image: str) -> float:
        """Seconds from `podbay apply` until the container runs (watched, not polled)."""
        done = threading.Event()

        def watch() -> None:
            for ev in self.api.watch("/api/v1/namespaces/default/pods", {"fieldSelector": f"metadata.name={name}"}):
                cs = (ev.get("object") or {}).get("status", {}).get("containerStatuses") or []
                if cs and all("running" in c["state"] for c in cs):
                    done.set()
                    return

        threading.Thread(target=watch, daemon=True).start()
        time.sleep(0.05)
        doc = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
               "spec": {"terminationGracePeriodSeconds": 1,
                        "containers": [{"name": "c", "image": image, "imagePullPolicy": "IfNotPresent"}]}}
        t0 = time.perf_counter()
        subprocess.run([*PB, "apply", "-f", "-"], input=json.dumps(doc), env=self.env, capture_output=True,
                       text=True, check=True)
        if not done.wait(90):
            raise SystemExit(f"pod {name} did not start")
        return time.perf_counter() - t0

    def close(self) -> None:
        for name in ("first", "second"):
            subprocess.run([*PB, "delete", "pod", name, "--grace-period", "0", "--force", "--wait"], env=self.env,
                           capture_output=True, timeout=120)
        self.proc.terminate()
        self.proc.wait(timeout=60)
        remove_bridge(self.bridge)
        from podbay.sys.mount import unmount_all_under

        for d in (self.root, self.run_dir):
            unmount_all_under(str(d))
        shutil.rmtree(self.run_dir, ignore_errors=True)


def round_trips(work: Path, reg: testregistry.Registry, image: str) -> dict[str, Any]:
    conf = work / "registries.conf"
    conf.write_text(testregistry.registries_conf(reg.host))
    agent = Agent(work, conf)
    try:
        before = len(reg.requests(""))
        first = agent.start_pod("first", image)
        after_first = len(reg.requests(""))
        second = agent.start_pod("second", image)
        after_second = len(reg.requests(""))
    finally:
        agent.close()
    return {"first_pod_start_with_pull_s": round(first, 3), "registry_requests_first_pod": after_first - before,
            "second_pod_start_image_present_s": round(second, 3),
            "registry_requests_second_pod": after_second - after_first}


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--image", default="nginx", choices=["nginx", "redis", "mariadb"])
    ap.add_argument("--skip-podman", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench/pull.py needs root (podman's overlay storage, the agent)")
    archive = REPO / "_work" / "images" / f"{args.image}.tar"
    if not archive.exists():
        raise SystemExit(f"{archive} missing: make test-images")
    # Bytecode as an installed wheel has it: with PYTHONDONTWRITEBYTECODE set (as in the sessions'
    # shells) an editable tree would otherwise recompile every module edited since its .pyc.
    subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-m", "compileall", "-q", str(REPO / "src" / "podbay")],
                   capture_output=True, check=False)
    work = Path(tempfile.mkdtemp(prefix="podbay-bench-pull-"))
    reg = testregistry.Registry(work, "registry").start()
    try:
        reg.push(f"oci-archive:{archive}", f"library/{args.image}:bench")
        ref = f"{reg.host}/library/{args.image}:bench"
        result: dict[str, Any] = {"image": args.image, "archive_bytes": archive.stat().st_size, "runs": args.runs,
                                  "loadavg_before": os.getloadavg()[0]}
        result["pull"] = pulls(work, ref, args.runs, args.skip_podman)
        result["agent"] = round_trips(work, reg, f"{args.image}:bench")
        result["loadavg_after"] = os.getloadavg()[0]
    finally:
        reg.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=1))
    (REPO / "bench" / "last-pull.json").write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
