"""Workloads on real application images pulled from the loopback test registry (issue 8): the seeds'
MySQL Deployment (003: ``strategy: Recreate`` on an emptyDir, ``mysql:5.6`` served by the MariaDB
test image) and a 5-replica nginx Deployment rolled to a new tag, both driven by kubectl 1.37."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from e2e_harness import Agent as Harness
from e2e_harness import app_bed
from kube import Kube

pytestmark = pytest.mark.root


# /work/shared/seeds/003: the manifest as the article gives it.
MYSQL = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: mysql-emptydir
  labels:
    app: wordpress-emptydir
    tier: mysql-emptydir
spec:
  selector:
    matchLabels:
      app: wordpress-emptydir
      tier: mysql-emptydir
  strategy:
    type: Recreate
  template:
    metadata:
      labels:
        app: wordpress-emptydir
        tier: mysql-emptydir
    spec:
      containers:
        - image: mysql:5.6
          name: mysql-emptydir
          env:
            - name: MYSQL_ROOT_PASSWORD
              value: changeme
          ports:
            - containerPort: 3306
              name: mysql
          volumeMounts:
            - name: mysql-persistent-storage
              mountPath: /var/lib/mysql
      volumes:
        - name: mysql-persistent-storage
          emptyDir: {}
"""

NGINX = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx
spec:
  replicas: 5
  selector:
    matchLabels: {app: nginx}
  template:
    metadata:
      labels: {app: nginx}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: nginx
        image: nginx:1.14.2
        ports: [{containerPort: 80}]
        readinessProbe:
          httpGet: {path: /, port: 80}
          periodSeconds: 1
"""

ROLLOUT_LINE = re.compile(
    r'^(Waiting for deployment "nginx" rollout to finish: (\d+ out of \d+ new replicas have been updated|'
    r"\d+ old replicas are pending termination|\d+ of \d+ updated replicas are available)\.\.\.|"
    r"Waiting for deployment spec update to be observed\.\.\.|"
    r'deployment "nginx" successfully rolled out)$')


@pytest.fixture(scope="module")
def bed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Harness, Kube]]:
    with app_bed(tmp_path_factory.mktemp("apps"), ("mariadb", "nginx")) as b:
        yield b


def wait(fn: Callable[[], Any], timeout: float = 120, every: float = 0.5, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}: last {last!r}")


def pods(kube: Kube, selector: str) -> list[dict[str, Any]]:
    res = kube.kubectl("get", "pods", "-l", selector, "-o", "json", check=False)
    return list(json.loads(res.stdout)["items"]) if res.returncode == 0 else []


def sql(kube: Kube, pod: str, query: str) -> str:
    res = kube.kubectl("exec", pod, "--", "mysql", "-uroot", "-pchangeme", "-N", "-e", query, check=False)
    return res.stdout if res.returncode == 0 else ""


def running_pod(kube: Kube, selector: str) -> dict[str, Any]:
    def one() -> dict[str, Any] | None:
        live = [p for p in pods(kube, selector) if not p["metadata"].get("deletionTimestamp")]
        if len(live) == 1 and live[0]["status"].get("phase") == "Running":
            return live[0]
        return None

    return dict(wait(one, what=f"one running pod {selector}"))


def test_seed_mysql_deployment_recreate_on_an_empty_dir(bed: tuple[Harness, Kube]) -> None:
    _, kube = bed
    sel = "app=wordpress-emptydir"
    kube.kubectl("apply", "-f", "-", input=MYSQL)
    pod = running_pod(kube, sel)
    name = pod["metadata"]["name"]
    wait(lambda: "1" in sql(kube, name, "SELECT 1"), what="mysqld to answer")
    sql(kube, name, "CREATE DATABASE seeded; CREATE TABLE seeded.t (v INT); INSERT INTO seeded.t VALUES (42)")
    assert sql(kube, name, "SELECT v FROM seeded.t").split() == ["42"]

    # The container is killed (mysqld stops on SIGTERM as PID 1); the pod's emptyDir keeps the data.
    kube.kubectl("exec", name, "--", "kill", "1")
    wait(lambda: pods(kube, sel)[0]["status"]["containerStatuses"][0]["restartCount"] >= 1, what="a restart")
    wait(lambda: sql(kube, name, "SELECT v FROM seeded.t").split() == ["42"], what="data after the restart")

    # set image with Recreate: the old pod is gone before the new one exists.
    seen: list[set[str]] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            live = {p["metadata"]["labels"].get("pod-template-hash", "") for p in pods(kube, sel)
                    if p["status"].get("phase") not in ("Succeeded", "Failed")}
            seen.append(live)
            time.sleep(0.2)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    kube.kubectl("set", "image", "deployment/mysql-emptydir", "mysql-emptydir=mysql:8.0")
    kube.kubectl("rollout", "status", "deployment/mysql-emptydir", "--timeout=180s", timeout=200)
    stop.set()
    t.join(5)
    assert seen and max(len(s) for s in seen) == 1, seen   # never an old and a new pod together
    new = running_pod(kube, sel)
    assert new["metadata"]["name"] != name and new["spec"]["containers"][0]["image"] == "mysql:8.0"
    new_name = new["metadata"]["name"]
    wait(lambda: "1" in sql(kube, new_name, "SELECT 1"), what="the new mysqld to answer")
    assert "seeded" not in sql(kube, new_name, "SHOW DATABASES").split()   # a fresh emptyDir
    kube.kubectl("delete", "deployment", "mysql-emptydir")
    wait(lambda: pods(kube, sel) == [], what="the pod to go")


def test_nginx_rolling_update_keeps_four_of_five_available_and_undo(bed: tuple[Harness, Kube]) -> None:
    _, kube = bed
    kube.kubectl("apply", "-f", "-", input=NGINX)
    kube.kubectl("rollout", "status", "deployment/nginx", "--timeout=180s", timeout=200)
    first = json.loads(kube.kubectl("get", "rs", "-l", "app=nginx", "-o", "json").stdout)["items"]
    assert len(first) == 1
    old_rs = first[0]["metadata"]["name"]
    available: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            res = kube.kubectl("get", "deployment", "nginx", "-o", "json", check=False)
            if res.returncode == 0:
                available.append(int(json.loads(res.stdout)["status"].get("availableReplicas") or 0))
            time.sleep(0.1)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    kube.kubectl("set", "image", "deployment/nginx", "nginx=nginx:1.25")
    status = kube.kubectl("rollout", "status", "deployment/nginx", "--timeout=180s", timeout=200).stdout
    stop.set()
    t.join(5)
    assert available and min(available) >= 4, available
    lines = status.strip().splitlines()
    assert lines[-1] == 'deployment "nginx" successfully rolled out'
    assert all(ROLLOUT_LINE.match(line) for line in lines), lines
    live = [p for p in pods(kube, "app=nginx") if not p["metadata"].get("deletionTimestamp")]
    assert {p["spec"]["containers"][0]["image"] for p in live} == {"nginx:1.25"}
    with urllib.request.urlopen(f"http://{live[0]['status']['podIP']}/", timeout=5) as resp:
        assert resp.status == 200 and b"nginx" in resp.read()

    assert kube.kubectl("rollout", "undo", "deployment/nginx").stdout.strip() == "deployment.apps/nginx rolled back"
    kube.kubectl("rollout", "status", "deployment/nginx", "--timeout=180s", timeout=200)
    rss = json.loads(kube.kubectl("get", "rs", "-l", "app=nginx", "-o", "json").stdout)["items"]
    active = [r for r in rss if r["spec"]["replicas"] > 0]
    assert [r["metadata"]["name"] for r in active] == [old_rs]
    assert active[0]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    history = kube.kubectl("rollout", "history", "deployment/nginx").stdout.split()
    assert history[history.index("CHANGE-CAUSE") + 1:] == ["2", "<none>", "3", "<none>"]

    kube.kubectl("delete", "deployment", "nginx")
    wait(lambda: pods(kube, "app=nginx") == [] and json.loads(
        kube.kubectl("get", "rs", "-l", "app=nginx", "-o", "json").stdout)["items"] == [], what="RSs and pods to go")
