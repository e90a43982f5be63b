"""End-to-end harness (imported by the tests; conftest only holds the fixture): a real agent (crun/runc + conmon + CNI) on a private root, bridge and subnet."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
IMAGE_TAR = REPO / "_work" / "busybox-1.35.tar"
PODBAY = [sys.executable, "-m", "podbay"]


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root"
    for b in ("conmon", "unshare", "nsenter", "ip"):
        if not shutil.which(b):
            return f"{b} not installed"
    if not (shutil.which("crun") or shutil.which("runc")):
        return "no OCI runtime"
    if not Path("/usr/lib/cni/bridge").exists():
        return "CNI plugins not installed"
    return None


def free_port() -> int:
    """A loopback TCP port nobody listens on right now (bind to port 0 and let it go)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Agent:
    def __init__(self, base: Path) -> None:
        tag = f"{random.randrange(16**4):04x}"
        self.base = base
        self.root = base / "root"
        self.run_dir = Path(f"/run/podbay-e2e-{tag}")
        self.socket = self.run_dir / "podbay.sock"
        self.bridge = f"pbe{tag}"
        self.subnet = f"10.{random.randrange(200, 250)}.{random.randrange(0, 255)}.0/24"
        self.gateway = self.subnet.rsplit(".", 1)[0] + ".1"
        # Services: a service range of its own and NodePorts/LoadBalancers only on its own bridge
        # address, so parallel agents never capture each other's traffic (table podbay-<bridge>).
        self.service_cidr = f"10.{random.randrange(100, 199)}.{random.randrange(0, 256)}.0/24"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = base / "agent.log"
        self.service_args = ["--service-cidr", self.service_cidr, "--nodeport-addresses", self.gateway]
        self.extra_args: list[str] = []
        self.api_port = free_port()   # the TLS listener: never the shared default 6443

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "PODBAY_ROOT": str(self.root), "PODBAY_RUN_DIR": str(self.run_dir),
                "PODBAY_SOCKET": str(self.socket), "PYTHONPATH": str(REPO / "src")}

    def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()
        with self.log.open("ab") as logf:
            self.proc = subprocess.Popen(
                [*PODBAY, "agent", "--bridge", self.bridge, "--subnet", self.subnet, *self.service_args,
                 "--listen", f"127.0.0.1:{self.api_port}", *self.extra_args],
                env=self.env, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.socket.exists():
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"agent exited: {self.log.read_text()[-3000:]}")
            time.sleep(0.05)
        raise RuntimeError(f"agent did not start: {self.log.read_text()[-3000:]}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(timeout=30)
        self.proc = None

    def pb(self, *args: str, input: str | None = None, check: bool = True,
           timeout: float = 60) -> subprocess.CompletedProcess[str]:
        res = subprocess.run([*PODBAY, *args], env=self.env, input=input, capture_output=True, text=True,
                             timeout=timeout)
        if check and res.returncode != 0:
            raise AssertionError(f"podbay {' '.join(args)} -> rc {res.returncode}\n{res.stdout}\n{res.stderr}")
        return res

    def pod(self, name: str, ns: str = "default") -> dict[str, Any]:
        return dict(json.loads(self.pb("get", "pod", name, "-n", ns, "-o", "json").stdout))

    def wait_for(self, name: str, pred: Any, timeout: float = 30, ns: str = "default") -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            res = self.pb("get", "pod", name, "-n", ns, "-o", "json", check=False)
            if res.returncode == 0:
                last = json.loads(res.stdout)
                try:
                    if pred(last):
                        return last
                except (KeyError, IndexError):
                    pass   # a status still being filled in (no containerStatuses yet)
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for pod {name}: {json.dumps(last.get('status'), indent=1)}")

    def cleanup(self) -> None:
        if self.proc is None and self.socket.parent.exists():
            with contextlib.suppress(Exception):
                self.start()
        if self.proc is not None:
            res = self.pb("get", "pods", "-A", "-o", "json", check=False)
            if res.returncode == 0:
                for item in json.loads(res.stdout).get("items", []):
                    md = item["metadata"]
                    self.pb("delete", "pod", md["name"], "-n", md["namespace"], "--grace-period", "0",
                            "--wait", check=False, timeout=60)
            self.kill(signal.SIGTERM)
        subprocess.run(["nft", "delete", "table", "ip", f"podbay-{self.bridge}"], capture_output=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
        from podbay.sys.mount import unmount_all_under
        for d in (self.root, self.run_dir):
            unmount_all_under(str(d))
        shutil.rmtree(self.run_dir, ignore_errors=True)


def pod_manifest(name: str, containers: list[dict[str, Any]], volumes: list[dict[str, Any]] | None = None,
                 **spec: Any) -> str:
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": containers, "volumes": volumes or [], "terminationGracePeriodSeconds": 1, **spec}}
    return json.dumps(body)


APP_IMAGES = REPO / "_work" / "images"   # the Debian-built nginx/redis/MariaDB images (make test-images)


@contextlib.contextmanager
def app_bed(base: Path, images: tuple[str, ...], tls: bool = False) -> Any:
    """An agent whose registries.conf mirrors docker.io to a loopback test registry serving the
    application images, with kubectl access (over the TLS listener as a user's when ``tls``, else
    through the socket bridge): yields (agent, kube). Skips without the images."""
    import tempfile

    import pytest
    from kube import Kube

    from podbay.images import testregistry

    if any(not (APP_IMAGES / f"{name}.tar").exists() for name in images):
        pytest.skip("no application test images (make test-images)")
    bed = testregistry.start_bed(Path(tempfile.mkdtemp(prefix="app-bed-", dir=base)), APP_IMAGES, ("plain",))
    a = Agent(base)
    try:
        a.root.mkdir(parents=True)
        a.pb("image", "load", str(IMAGE_TAR))
        a.extra_args = ["--registries-conf", str(bed.registries_conf)]
        a.start()
        with Kube(a.socket, a.base, env=a.env if tls else None) as k:
            yield a, k
    finally:
        a.cleanup()
        bed.stop()


@contextlib.contextmanager
def fresh_agent(base: Path) -> Any:
    """A started agent of its own (busybox loaded) for a test that kills, soaks or restarts it."""
    import pytest

    why = _missing()
    if why:
        pytest.skip(why)
    a = Agent(base)
    try:
        a.root.mkdir(parents=True)
        a.pb("image", "load", str(IMAGE_TAR))
        a.start()
        yield a
    finally:
        a.cleanup()


def conmon_pids(root: Path) -> list[int]:
    """The conmon processes serving containers under this agent's state root."""
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"conmon") and str(root).encode() in b" ".join(cmd):
            out.append(int(p.name))
    return out


def defunct_children(pid: int) -> list[int]:
    """The zombie children of a process (none if it is gone)."""
    kids: set[int] = set()
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            kids.update(int(k) for k in (task / "children").read_text().split())
    except OSError:
        return []
    out = []
    for k in sorted(kids):
        try:
            if Path(f"/proc/{k}/stat").read_text().rpartition(")")[2].split()[0] == "Z":
                out.append(k)
        except (OSError, IndexError):
            continue
    return out
