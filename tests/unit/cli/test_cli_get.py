"""``podbay get`` against the real API app: server-side Tables printed with kubectl's rules, the -o
formats, several types, errors and exit codes, and -w rows from Table watch events."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from conftest import ApiServer, Clock, pod, running


def cm(name: str, ns: str = "default", **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data}


def test_get_pods_table_exact(server: ApiServer, clock: Clock, run: Any) -> None:
    server.create(pod("web"))
    clock.t += 65
    server.create(pod("a-much-longer-name"))
    running(server, "web")
    r = run("get", "pods")
    assert r.exit_code == 0, r.output
    assert r.stdout == ("NAME                 READY   STATUS    RESTARTS   AGE\n"
                        "a-much-longer-name   0/1     Pending   0          0s\n"
                        "web                  1/1     Running   0          65s\n")
    assert r.stderr == ""


def test_get_wide_all_namespaces_labels(server: ApiServer, run: Any) -> None:
    server.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    server.create(pod("web", labels={"app": "web", "tier": "front"}))
    server.create(pod("db", "team"), namespace="team")
    running(server, "web")
    r = run("get", "pods", "-A", "-o", "wide", "--show-labels")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == [
        "NAMESPACE   NAME   READY   STATUS    RESTARTS   AGE   IP          NODE    NOMINATED NODE   READINESS GATES"
        "   LABELS",
        "default     web    1/1     Running   0          0s    10.88.0.5   node1   <none>           <none>"
        "            app=web,tier=front",
        "team        db     0/1     Pending   0          0s    <none>      node1   <none>           <none>"
        "            app=db"]
    r = run("get", "po", "-L", "tier", "-l", "app=web")
    assert r.stdout.splitlines() == ["NAME   READY   STATUS    RESTARTS   AGE   TIER", "web    1/1     Running   0          0s    front"]


def test_get_several_types_prefix_kinds_and_separate_tables(server: ApiServer, run: Any) -> None:
    server.create(pod("web"))
    server.create(cm("cfg", a="1"))
    r = run("get", "po,cm")
    assert r.exit_code == 0, r.output
    assert r.stdout == ("NAME      READY   STATUS    RESTARTS   AGE\n"
                        "pod/web   0/1     Pending   0          0s\n"
                        "\n"
                        "NAME                         DATA   AGE\n"
                        "configmap/cfg                1      0s\n"
                        "configmap/kube-root-ca.crt   1      0s\n"
                        if server.exists("ConfigMap", "default", "kube-root-ca.crt") else
                        "NAME      READY   STATUS    RESTARTS   AGE\n"
                        "pod/web   0/1     Pending   0          0s\n"
                        "\n"
                        "NAME            DATA   AGE\n"
                        "configmap/cfg   1      0s\n")
    r = run("get", "pod/web", "configmap/cfg", "-o", "name")
    assert r.stdout == "pod/web\nconfigmap/cfg\n"


def test_get_all_is_the_all_category(server: ApiServer, run: Any) -> None:
    server.create(pod("web"))
    server.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                   "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    r = run("get", "all")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"] and lines[1].startswith("pod/web ")
    assert lines[2] == "" and lines[3].split()[:2] == ["NAME", "TYPE"]
    assert any(line.startswith("service/web ") for line in lines[4:])
    assert not any("configmap" in line for line in lines)


def test_get_output_formats(server: ApiServer, run: Any) -> None:
    server.create(pod("web"))
    server.create(pod("db"))
    obj = json.loads(run("get", "pod", "web", "-o", "json").stdout)
    assert obj["kind"] == "Pod" and obj["metadata"]["name"] == "web" and "managedFields" not in obj["metadata"]
    lst = json.loads(run("get", "pods", "-o", "json").stdout)
    assert lst["kind"] == "List" and lst["metadata"] == {"resourceVersion": ""}
    assert [i["metadata"]["name"] for i in lst["items"]] == ["db", "web"] and lst["items"][0]["kind"] == "Pod"
    assert run("get", "pods", "-o", "yaml").stdout.startswith("apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Pod\n")
    assert 'resourceVersion: "' in run("get", "pod", "web", "-o", "yaml").stdout   # go-yaml's double quotes
    assert run("get", "pods", "-o", "name").stdout == "pod/db\npod/web\n"
    assert run("get", "pods", "-o", "jsonpath={.items[*].metadata.name}").stdout == "db web"
    r = run("get", "pods", "-o", 'jsonpath={range .items[*]}{.metadata.name}:{.spec.containers[0].image}{"\\n"}{end}')
    assert r.stdout == "db:busybox:1.36\nweb:busybox:1.36\n"
    r = run("get", "pods", "-o", "custom-columns=NAME:.metadata.name,IMAGES:.spec.containers[*].image,X:.nope")
    assert r.stdout == "NAME   IMAGES         X\ndb     busybox:1.36   <none>\nweb    busybox:1.36   <none>\n"
    r = run("get", "pods", "--sort-by=.metadata.name", "--no-headers")
    assert [line.split()[0] for line in r.stdout.splitlines()] == ["db", "web"]


def test_get_errors_exit_codes_and_messages(server: ApiServer, run: Any) -> None:
    server.create(pod("web"))
    r = run("get", "pods", "web", "nope")
    assert r.exit_code == 1
    assert r.stdout.startswith("NAME ") and "web" in r.stdout
    assert r.stderr == 'Error from server (NotFound): pods "nope" not found\n'
    assert run("get", "pods", "nope", "--ignore-not-found").exit_code == 0
    r = run("get", "widgets")
    assert (r.exit_code, r.stderr) == (1, 'error: the server doesn\'t have a resource type "widgets"\n')
    r = run("get", "pods", "-o", "bogus")
    assert r.exit_code == 1 and r.stderr.startswith('error: unable to match a printer suitable for the output '
                                                    'format "bogus"')
    r = run("get", "cm", "-n", "empty")
    assert (r.exit_code, r.stdout, r.stderr) == (0, "", "No resources found in empty namespace.\n")
    assert run("get", "ns", "nope").stderr == 'Error from server (NotFound): namespaces "nope" not found\n'
    r = run("get", "leases.coordination.k8s.io", "nope")
    assert r.stderr == 'Error from server (NotFound): leases.coordination.k8s.io "nope" not found\n'
    r = run("get", "pods", "-l", "a in (")
    assert r.exit_code == 1 and r.stderr.startswith("Error from server (BadRequest):")


def test_get_cluster_scoped_kinds_have_no_namespace_column(server: ApiServer, run: Any) -> None:
    r = run("get", "ns", "-A")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[0].split() == ["NAME", "STATUS", "AGE"]
    assert "default " in r.stdout and "kube-system " in r.stdout


def test_get_watch_prints_rows_from_table_watch_events(server: ApiServer, sock_dir: str) -> None:
    server.create(pod("web"))
    env = {**os.environ, "PODBAY_CACHE_DIR": f"{sock_dir}/cache", "PODBAY_SOCKET": server.socket}
    with subprocess.Popen([sys.executable, "-m", "podbay", "get", "pods", "-w", "--output-watch-events"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as proc:
        try:
            _watch_rows(server, proc)
        finally:
            proc.terminate()
            proc.communicate(timeout=10)


def _watch_rows(server: ApiServer, proc: Any) -> None:
    assert proc.stdout is not None
    header = proc.stdout.readline()
    first = proc.stdout.readline()
    assert header.split() == ["EVENT", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert first.split()[:2] == ["ADDED", "web"]
    server.create(pod("db"))
    running(server, "web")
    rows = [proc.stdout.readline().split() for _ in range(2)]
    assert rows == [["ADDED", "db", "0/1", "Pending", "0", "0s"], ["MODIFIED", "web", "1/1", "Running", "0", "0s"]]
    # the rows keep the columns of the first table (remembered tabwriter widths)
    assert header.index("READY") == first.index("0/1")


def test_get_from_manifest_file(server: ApiServer, run: Any, tmp_path: Any) -> None:
    server.create(cm("cfg", a="1"))
    f = tmp_path / "m.yaml"
    f.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n")
    r = run("get", "-f", str(f), "-o", "name")
    assert (r.exit_code, r.stdout) == (0, "configmap/cfg\n")
