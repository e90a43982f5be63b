"""A rolling update behind a Service, and port-forward to a Service and a Deployment (issues 8 and 9),
driven by kubectl as a user would, on the nginx test image from the loopback registry.

* A 5-replica nginx Deployment with an httpGet readinessProbe and RollingUpdate maxUnavailable 25%
  behind a ClusterIP Service (named targetPort): while ``kubectl set image`` / ``rollout status``
  run, a client on the host opens a new connection through the ClusterIP every few milliseconds;
  not one request fails, availability never drops below 4, and the new pods serve.
* ``kubectl port-forward svc/NAME`` and ``deploy/NAME`` (1.37 and 1.33, WebSocket and SPDY):
  kubectl picks a pod and maps the Service port to its (named) targetPort.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from e2e_harness import Agent as Harness
from e2e_harness import app_bed
from kube import Kube, kubectls

pytestmark = pytest.mark.root


WEB = """apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - name: http
    port: 8080
    targetPort: http
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 5
  selector:
    matchLabels:
      app: web
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 25%
      maxSurge: 25%
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: nginx:1.14.2
        ports:
        - name: http
          containerPort: 80
        readinessProbe:
          httpGet:
            path: /
            port: http
          periodSeconds: 1
        lifecycle:
          preStop:
            sleep:
              seconds: 3
"""


@pytest.fixture(scope="module")
def bed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Harness, Kube]]:
    with app_bed(tmp_path_factory.mktemp("rollout"), ("nginx",), tls=True) as b:
        yield b


@pytest.fixture(scope="module")
def web(bed: tuple[Harness, Kube]) -> Iterator[Kube]:
    _, kube = bed
    kube.kubectl("apply", "-f", "-", input=WEB)
    kube.kubectl("rollout", "status", "deployment/web", "--timeout=180s", timeout=200)
    yield kube
    kube.kubectl("delete", "-f", "-", input=WEB, check=False)


def wait(fn: Callable[[], Any], timeout: float = 60, every: float = 0.3, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = fn()
        except OSError as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}: last {last!r}")


def http_status(ip: str, port: int, timeout: float = 3.0) -> int:
    """One request on a new connection; the HTTP status code."""
    with socket.create_connection((ip, port), timeout=timeout) as s:
        s.sendall(f"GET / HTTP/1.0\r\nHost: {ip}\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1])


class Client(threading.Thread):
    """Requests in a loop through one address; outcomes counted by kind."""

    def __init__(self, ip: str, port: int) -> None:
        super().__init__(daemon=True)
        self.ip, self.port = ip, port
        self.outcomes: Counter[str] = Counter()
        self.log: list[tuple[float, float, str]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            t = time.monotonic()
            try:
                code = http_status(self.ip, self.port)
                what = "200" if code == 200 else f"http {code}"
            except OSError as exc:
                what = type(exc).__name__
            self.outcomes[what] += 1
            self.log.append((t, time.monotonic() - t, what))
            time.sleep(0.005)


def live_pods(kube: Kube) -> list[dict[str, Any]]:
    items = json.loads(kube.kubectl("get", "pods", "-l", "app=web", "-o", "json").stdout)["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def test_rolling_update_behind_a_service_drops_no_request(web: Kube) -> None:
    kube = web
    ip = json.loads(kube.kubectl("get", "svc", "web", "-o", "json").stdout)["spec"]["clusterIP"]
    wait(lambda: http_status(ip, 8080) == 200, what="the ClusterIP to answer")
    before = {p["metadata"]["name"] for p in live_pods(kube)}
    assert len(before) == 5
    available: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            res = kube.kubectl("get", "deployment", "web", "-o", "json", check=False)
            if res.returncode == 0:
                available.append(int(json.loads(res.stdout)["status"].get("availableReplicas") or 0))
            time.sleep(0.2)

    client = Client(ip, 8080)
    watcher = threading.Thread(target=watch, daemon=True)
    client.start()
    watcher.start()
    t0 = time.monotonic()
    kube.kubectl("set", "image", "deployment/web", "nginx=nginx:1.25")
    status = kube.kubectl("rollout", "status", "deployment/web", "--timeout=180s", timeout=200).stdout
    rolled = time.monotonic() - t0
    # Keep sending while the last old pods finish terminating.
    wait(lambda: len(json.loads(kube.kubectl("get", "pods", "-l", "app=web", "-o", "json").stdout)["items"]) == 5,
         what="old pods gone")
    client.stop.set()
    stop.set()
    client.join(10)
    watcher.join(10)
    print(f"rollout {rolled:.1f}s, requests {dict(client.outcomes)}, available min {min(available)}")
    assert status.strip().splitlines()[-1] == 'deployment "web" successfully rolled out'
    assert client.outcomes["200"] > 100, client.outcomes
    failed = [(round(t - t0, 2), what) for t, _, what in client.log if what != "200"]
    assert not failed, (client.outcomes, failed)   # no refused, reset or timed-out request
    assert available and min(available) >= 4, available
    after = live_pods(kube)
    assert {p["spec"]["containers"][0]["image"] for p in after} == {"nginx:1.25"}
    assert not before & {p["metadata"]["name"] for p in after}
    # The new pods took traffic through the Service (nginx logs each request it served).
    served = [kube.kubectl("logs", p["metadata"]["name"]).stdout.count('"GET / HTTP/1.0"') for p in after]
    assert sum(served) > 0, served


def _forward(kube: Kube, version: str, target: str, port: str, websockets: bool) -> tuple[subprocess.Popen[str], str]:
    cache = tempfile.mkdtemp(prefix="kubectl-cache-", dir=kube.base)
    proc = subprocess.Popen(
        [str(kubectls()[version]), "--kubeconfig", str(kube.kubeconfig), "--cache-dir", cache,
         "port-forward", target, f":{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "HOME": str(kube.base), "KUBECTL_PORT_FORWARD_WEBSOCKETS": str(websockets).lower()})
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("Forwarding from 127.0.0.1:"):
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"kubectl {version} port-forward {target}: {line!r} {err}")
    return proc, line


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


def _page(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data.decode(errors="replace")


@pytest.mark.parametrize("version", sorted(kubectls()))
@pytest.mark.parametrize("target,port", [("svc/web", "8080"), ("deploy/web", "80"), ("service/web", "http")])
@pytest.mark.parametrize("websockets", [True, False], ids=["websocket", "spdy"])
def test_port_forward_to_a_service_and_a_deployment(web: Kube, version: str, target: str, port: str,
                                                    websockets: bool) -> None:
    if port == "http" and version != "1.37":
        pytest.skip("one named-port case is enough")
    proc, line = _forward(web, version, target, port, websockets)
    try:
        # kubectl translated the Service port (8080, or its name) to the pod's named targetPort 80.
        local = int(line.split("127.0.0.1:", 1)[1].split()[0])
        assert line.strip() == f"Forwarding from 127.0.0.1:{local} -> 80"
        for _ in range(2):   # two connections over one session
            page = _page(local)
            assert page.startswith("HTTP/1.1 200 OK") and "<title>Welcome to nginx!</title>" in page, page[:300]
    finally:
        _stop(proc)


@pytest.mark.parametrize("kind", ["NodePort", "LoadBalancer"])
def test_kubectl_expose_answers_from_the_host(web: Kube, bed: tuple[Harness, Kube], kind: str) -> None:
    """The README's example: `kubectl expose deployment` as NodePort and LoadBalancer; the host reaches
    nginx on the node address (the agent's --nodeport-addresses) at the node port / service port."""
    agent, _ = bed
    name = f"web-{kind.lower()}"
    web.kubectl("expose", "deployment", "web", "--name", name, "--port", "8081", "--target-port", "http",
                "--type", kind)
    try:
        svc = json.loads(web.kubectl("get", "svc", name, "-o", "json").stdout)
        port = svc["spec"]["ports"][0]
        assert port["targetPort"] == "http" and 30000 <= port["nodePort"] <= 32767
        if kind == "NodePort":
            ip, at = agent.gateway, int(port["nodePort"])
        else:
            ingress = wait(lambda: json.loads(web.kubectl("get", "svc", name, "-o", "json").stdout)
                           ["status"].get("loadBalancer", {}).get("ingress"), what="the LoadBalancer ingress")
            ip, at = ingress[0]["ip"], 8081
            assert ip == agent.gateway
        assert wait(lambda: http_status(ip, at) == 200, what=f"nginx on {ip}:{at}")
    finally:
        web.kubectl("delete", "svc", name, check=False)
