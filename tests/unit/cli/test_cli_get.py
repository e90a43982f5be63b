"""``podbay get``: exact table text, output formats, errors and watch."""

from __future__ import annotations

import json
from typing import Any

import yaml
from clifake import FakeApi, make_pod


def test_get_pods_table_exact(api: FakeApi, run: Any) -> None:
    api.add(make_pod("web", age=182))
    crash = make_pod("a-longer-pod-name", containers=("a", "b"), age=3 * 86400, restarts=3)
    crash["status"]["containerStatuses"][1].update(ready=False, state={"waiting": {"reason": "CrashLoopBackOff"}})
    api.add(crash)
    r = run("get", "pods")
    assert r.exit_code == 0, r.output
    assert r.stdout == (
        "NAME                READY   STATUS             RESTARTS   AGE\n"
        "a-longer-pod-name   1/2     CrashLoopBackOff   6          3d\n"
        "web                 1/1     Running            0          3m2s\n"
    )


def test_get_wide_all_namespaces(api: FakeApi, run: Any) -> None:
    api.add(make_pod("web"))
    api.add(make_pod("db", ns="prod", ip="10.88.0.9"))
    r = run("get", "po", "-A", "-o", "wide")
    assert r.exit_code == 0, r.output
    assert r.stdout == (
        "NAMESPACE   NAME   READY   STATUS    RESTARTS   AGE   IP          NODE    NOMINATED NODE   READINESS GATES\n"
        "default     web    1/1     Running   0          65s   10.88.0.5   node1   <none>           <none>\n"
        "prod        db     1/1     Running   0          65s   10.88.0.9   node1   <none>           <none>\n"
    )
    assert api.calls("GET")[0][1] == "/api/v1/pods"


def test_get_empty_namespace_message(api: FakeApi, run: Any) -> None:
    r = run("-n", "kube-system", "get", "pods")
    assert r.exit_code == 0
    assert r.stdout == ""
    assert r.stderr == "No resources found in kube-system namespace.\n"


def test_get_output_formats(api: FakeApi, run: Any) -> None:
    api.add(make_pod("web"))
    api.add(make_pod("db"))
    one = run("get", "pod", "web", "-o", "json")
    assert json.loads(one.stdout)["metadata"]["name"] == "web"
    assert one.stdout.startswith('{\n    "apiVersion": "v1",')
    lst = json.loads(run("get", "pods", "-o", "json").stdout)
    assert lst["kind"] == "List" and [p["metadata"]["name"] for p in lst["items"]] == ["db", "web"]
    y = yaml.safe_load(run("get", "pod/web", "-o", "yaml").stdout)
    assert y["kind"] == "Pod" and y["spec"]["containers"][0]["image"] == "busybox:1.36"
    assert run("get", "pods", "-o", "name").stdout == "pod/db\npod/web\n"
    bad = run("get", "pods", "-o", "table")
    assert bad.exit_code == 1 and bad.stderr.startswith('error: unable to match a printer suitable for the output format "table"')


def test_get_missing_pod_is_a_server_error(api: FakeApi, run: Any) -> None:
    api.add(make_pod("web"))
    r = run("get", "pod", "web", "nope")
    assert r.exit_code == 1
    assert r.stderr == 'Error from server (NotFound): pods "nope" not found\n'
    assert r.stdout.splitlines()[1].startswith("web ")


def test_get_selector_and_unknown_type(api: FakeApi, run: Any) -> None:
    api.add(make_pod("web"))
    api.add(make_pod("db"))
    assert run("get", "pods", "-l", "app=db", "-o", "name").stdout == "pod/db\n"
    assert api.calls("GET")[-1][2]["labelSelector"] == ["app=db"]
    r = run("get", "svc")
    assert r.exit_code == 1 and r.stderr == 'error: the server doesn\'t have a resource type "svc"\n'


def test_get_watch_prints_rows_as_events_arrive(api: FakeApi, run: Any) -> None:
    api.add(make_pod("web"))
    pending = make_pod("web", phase="Pending", ready=False)
    pending["status"]["containerStatuses"][0]["state"] = {"waiting": {"reason": "ContainerCreating"}}
    gone = make_pod("web")
    gone["metadata"]["deletionTimestamp"] = "2024-01-01T12:00:00Z"
    api.watch_events = [{"type": "MODIFIED", "object": pending}, {"type": "DELETED", "object": gone}]
    r = run("get", "pods", "-w")
    assert r.exit_code == 0, r.output
    assert r.stdout == (
        "NAME   READY   STATUS    RESTARTS   AGE\n"
        "web    1/1     Running   0          65s\n"
        "web    0/1     ContainerCreating   0          65s\n"
        "web    1/1     Terminating         0          65s\n"
    )
    watch = [q for m, p, q, _ in api.requests if q.get("watch")][0]
    assert watch["resourceVersion"] == ["42"]
