"""Real Kubernetes clients against the e2e agent: kubectl binaries and the Python client.

kubectl cannot dial a Unix socket: the e2e agent serves TLS on a random loopback port and
``podbay kubeconfig`` writes the kubeconfig (the admin client certificate). Without the agent's
environment (a bench agent started with ``--listen none``) a test-only bridge from a loopback TCP
port to the socket stands in. ``Kube`` is the one place that knows how clients reach the agent.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import yaml

KUBECTL_137 = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "kubectl"
KUBECTL_133 = Path("/usr/lib/google-cloud-sdk/bin/kubectl.1.33")


def kubectls() -> dict[str, Path]:
    """The kubectl versions the e2e tests drive, by minor version: 1.37 and 1.33 (what `make test`
    covers), every gcloud kubectl.1.XX as well with PODBAY_E2E_ALL_KUBECTL=1."""
    out = {}
    for version, path in (("1.37", KUBECTL_137), ("1.33", KUBECTL_133)):
        if path.exists():
            out[version] = path
    if os.environ.get("PODBAY_E2E_ALL_KUBECTL") == "1":
        for path in sorted(KUBECTL_133.parent.glob("kubectl.1.*")):
            out.setdefault(path.name.removeprefix("kubectl."), path)
    return out


class Bridge:
    """127.0.0.1:<random port> -> the agent's Unix socket, in a thread with its own event loop."""

    def __init__(self, socket_path: Path) -> None:
        self.socket_path = str(socket_path)
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            up_r, up_w = await asyncio.open_unix_connection(self.socket_path)
        except OSError:
            writer.close()
            self._writers.discard(writer)
            return
        self._writers.add(up_w)

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                try:
                    if dst.can_write_eof():
                        dst.write_eof()
                except (ConnectionError, OSError):
                    pass

        try:
            await asyncio.gather(pump(reader, up_w), pump(up_r, writer))
        finally:
            for w in (writer, up_w):
                w.close()
                self._writers.discard(w)

    def stop(self) -> None:
        async def _stop() -> None:
            if self._server is not None:
                self._server.close()
            for w in list(self._writers):
                w.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            if tasks:
                _done, pending = await asyncio.wait(tasks, timeout=2)
                for t in pending:
                    t.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
            self._loop.stop()

        asyncio.run_coroutine_threadsafe(_stop(), self._loop)
        self._thread.join(10)
        self._loop.close()


class Kube:
    """kubectl and kubeconfig for one agent: over its TLS listener with `podbay kubeconfig` (the
    admin client certificate) when given the agent's environment, else through the socket bridge."""

    def __init__(self, socket_path: Path, base: Path, env: dict[str, str] | None = None) -> None:
        self.socket_path = socket_path
        self.bridge: Bridge | None = None   # made only when needed: it owns an event loop
        self.base = base
        self.kubeconfig = base / "kubeconfig"
        self.server = ""
        self.env = env

    def start(self) -> None:
        if self.env is not None:
            res = subprocess.run([sys.executable, "-m", "podbay", "-n", "default", "kubeconfig"], env=self.env,
                                 capture_output=True, text=True, timeout=60, check=True)
            self.kubeconfig.write_text(res.stdout)
            os.chmod(self.kubeconfig, 0o600)
            self.server = str(yaml.safe_load(res.stdout)["clusters"][0]["cluster"]["server"])
            return
        self.bridge = Bridge(self.socket_path)
        self.bridge.start()
        self.server = f"http://127.0.0.1:{self.bridge.port}"
        self.kubeconfig.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "podbay",
            "clusters": [{"name": "podbay", "cluster": {"server": self.server}}],
            "users": [{"name": "admin", "user": {}}],
            "contexts": [{"name": "podbay", "context": {"cluster": "podbay", "user": "admin",
                                                        "namespace": "default"}}]}))
        os.chmod(self.kubeconfig, 0o600)

    def stop(self) -> None:
        if self.bridge is not None:
            self.bridge.stop()

    def __enter__(self) -> Kube:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def kubectl(self, *args: str, version: str = "1.37", input: str | None = None, check: bool = True,
                timeout: float = 60, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        binary = kubectls()[version]
        cache = tempfile.mkdtemp(prefix="kubectl-cache-", dir=self.base)   # a fresh discovery cache per run
        try:
            res = subprocess.run([str(binary), "--kubeconfig", str(self.kubeconfig), "--cache-dir", cache, *args],
                                 input=input, capture_output=True, text=True, timeout=timeout,
                                 env={**os.environ, "HOME": str(self.base), **(env or {})})
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        if check and res.returncode != 0:
            raise AssertionError(f"kubectl {version} {' '.join(args)} -> rc {res.returncode}\n"
                                 f"stdout: {res.stdout}\nstderr: {res.stderr}")
        return res

    def json(self, *args: str, version: str = "1.37") -> Any:
        return json.loads(self.kubectl(*args, "-o", "json", version=version).stdout)

    def python_client(self) -> Any:
        from kubernetes import client, config

        cfg = client.Configuration()
        config.load_kube_config(config_file=str(self.kubeconfig), client_configuration=cfg)
        return client.ApiClient(cfg)
