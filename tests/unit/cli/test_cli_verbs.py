"""logs, delete, apply, wait, version and the error lines, against the fake API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from clifake import FakeApi, make_pod, status

from podbay.cli.apply import LAST_APPLIED, changed, merged


def test_logs_query_params_and_stream(api: FakeApi, run: Any) -> None:
    api.add(make_pod("web"))
    r = run("logs", "web", "-f", "--tail", "5", "--timestamps", "-p")
    assert r.exit_code == 0, r.output
    assert r.stdout == "line1\nline2\n"
    path, query = [(p, q) for m, p, q, _ in api.requests if p.endswith("/log")][0]
    assert path == "/api/v1/namespaces/default/pods/web/log"
    assert query == {"container": ["app"], "follow": ["true"], "previous": ["true"], "tailLines": ["5"],
                     "timestamps": ["true"]}


def test_logs_needs_a_container_when_several(api: FakeApi, run: Any) -> None:
    api.add(make_pod("web", containers=("a", "b")))
    r = run("logs", "web")
    assert r.exit_code == 1
    assert r.stderr == "error: a container name must be specified for pod web, choose one of: [a b]\n"
    assert run("logs", "pod/web", "-c", "b").exit_code == 0
    assert [q for m, p, q, _ in api.requests if p.endswith("/log")][0]["container"] == ["b"]


def test_delete_waits_for_the_watch(api: FakeApi, run: Any) -> None:
    api.add(make_pod("web"))
    api.watch_events = [{"type": "MODIFIED", "object": make_pod("web")}, {"type": "DELETED", "object": make_pod("web")}]
    r = run("delete", "pod", "web", "--now")
    assert r.exit_code == 0, r.output
    assert r.stdout == 'pod "web" deleted\n'
    method, path, query, body = api.calls("DELETE")[0]
    assert path == "/api/v1/namespaces/default/pods/web"
    assert query["gracePeriodSeconds"] == ["1"] and body["gracePeriodSeconds"] == 1
    watch = [q for m, p, q, _ in api.requests if q.get("watch")]
    assert watch and watch[0]["fieldSelector"] == ["metadata.name=web"]


def test_delete_timeout_and_not_found(api: FakeApi, run: Any) -> None:
    api.add(make_pod("web"))
    r = run("delete", "pod/web", "pod/nope", "--timeout", "300ms")
    assert r.exit_code == 1
    assert r.stdout == 'pod "web" deleted\n'
    assert r.stderr == ('Error from server (NotFound): pods "nope" not found\n'
                        "error: timed out waiting for the condition on pods/web\n")
    assert run("delete", "pod", "nope", "--ignore-not-found").exit_code == 0


def test_delete_no_wait_and_force(api: FakeApi, run: Any) -> None:
    api.add(make_pod("web"))
    r = run("delete", "pod", "web", "--wait=false", "--grace-period=0", "--force")
    assert r.exit_code == 0, r.output
    assert r.stdout == 'pod "web" force deleted\n'
    assert api.calls("DELETE")[0][2]["gracePeriodSeconds"] == ["0"]
    assert not [q for m, p, q, _ in api.requests if q.get("watch")]


MANIFEST = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: app
    image: busybox:1.36
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
"""


def test_apply_created_unchanged_configured(api: FakeApi, run: Any, tmp_path: Path) -> None:
    f = tmp_path / "pod.yaml"
    f.write_text(MANIFEST)
    r = run("apply", "-f", str(f))
    assert r.exit_code == 1
    assert r.stdout == "pod/web created\n"
    assert r.stderr == 'error: podbay does not support kind "Deployment" yet\n'
    created = api.calls("POST")[0]
    assert created[1] == "/api/v1/namespaces/default/pods" and created[3]["metadata"]["namespace"] == "default"
    f.write_text(MANIFEST.split("---")[0])
    assert run("apply", "-f", str(tmp_path)).stdout == "pod/web unchanged\n"
    f.write_text(MANIFEST.split("---")[0].replace("busybox:1.36", "busybox:1.37"))
    r = run("apply", "-f", "-", input=f.read_text())
    assert r.stdout == "pod/web configured\n"
    put = api.calls("PUT")[0][3]
    assert put["spec"]["containers"][0]["image"] == "busybox:1.37"
    assert put["metadata"]["uid"] == "uid-new"  # PUT sends the live object, merged


def test_apply_server_error_and_bad_yaml(api: FakeApi, run: Any, tmp_path: Path, monkeypatch: Any) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("kind: [unclosed\n")
    r = run("apply", "-f", str(f))
    assert r.exit_code == 1 and r.stderr.startswith(f"error: error parsing {f}:") and "Traceback" not in r.output
    r = run("apply", "-f", str(tmp_path / "missing.yaml"))
    assert r.exit_code == 1 and r.stderr == f'error: the path "{tmp_path / "missing.yaml"}" does not exist\n'


def test_apply_with_annotations_of_the_wrong_type_reports_the_server_error(api: FakeApi, run: Any) -> None:
    """Issue 10: podbay apply crashed with a traceback on annotations given as a list."""
    manifest = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  annotations: [a, b]\n"
                "spec:\n  containers: [{name: c, image: busybox}]\n")
    r = run("apply", "-f", "-", input=manifest)
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert r.stderr == ('Error from server (BadRequest): error when creating "STDIN": Pod in version "v1" cannot be '
                        "handled as a Pod: json: cannot unmarshal array into Go struct field "
                        "ObjectMeta.metadata.annotations of type map[string]string\n")


def test_apply_merge_keeps_live_fields_and_drops_removed_labels() -> None:
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "1", "b": "2"}},
                "spec": {"containers": [{"name": "app", "image": "i:1"}]}}
    live = make_pod("p")
    live["metadata"]["labels"] = {"a": "1", "b": "2"}
    live["spec"]["containers"][0]["terminationMessagePath"] = "/dev/termination-log"
    live["metadata"]["annotations"] = {LAST_APPLIED: json.dumps(manifest)}
    manifest["metadata"]["labels"] = {"a": "1"}
    new = merged(live, manifest)
    assert new["metadata"]["labels"] == {"a": "1"}
    assert new["spec"]["containers"][0] == {"name": "app", "image": "i:1", "terminationMessagePath": "/dev/termination-log"}
    assert new["spec"]["restartPolicy"] == "Always" and new["status"] == live["status"]
    assert changed(live, new) and not changed(new, merged(new, manifest))


def test_wait_condition_and_delete(api: FakeApi, run: Any) -> None:
    pending = make_pod("web", ready=False)
    api.add(pending)
    api.watch_events = [{"type": "MODIFIED", "object": make_pod("web", ready=True)}]
    r = run("wait", "--for=condition=Ready", "pod/web", "--timeout", "5s")
    assert r.exit_code == 0, r.output
    assert r.stdout == "pod/web condition met\n"
    api.watch_events = []
    r = run("wait", "--for=condition=Ready", "pod/web", "--timeout", "200ms")
    assert r.exit_code == 1 and r.stderr == "error: timed out waiting for the condition on pods/web\n"
    api.watch_events = [{"type": "DELETED", "object": pending}]
    assert run("wait", "--for=delete", "pod/web", "--timeout=5s").stdout == "pod/web condition met\n"
    assert run("wait", "--for=delete", "pod/absent").exit_code == 0


def test_version(api: FakeApi, run: Any) -> None:
    from podbay import __version__

    r = run("version")
    assert r.stdout == f"Client Version: {__version__}\nServer Version: v0.1.0-podbay\n"


def test_unreachable_socket_is_one_line(sock_dir: str) -> None:
    from click.testing import CliRunner

    from podbay.cli.main import cli

    path = f"{sock_dir}/none.sock"
    r = CliRunner().invoke(cli, ["--socket", path, "get", "pods"])
    assert r.exit_code == 1
    assert r.stderr == (f"error: cannot reach the podbay agent at {path}: is it running? "
                        "(start it with: podbay agent)\n")


def test_server_error_without_status_body(api: FakeApi, run: Any) -> None:
    from podbay.client.http import status_from_body

    assert status_from_body(500, "Internal Server Error", b"boom")["message"] == "boom"
    st = status(409, "AlreadyExists", 'pods "web" already exists')
    assert status_from_body(409, "Conflict", json.dumps(st).encode()) == st
