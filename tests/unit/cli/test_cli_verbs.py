"""wait, label, annotate, patch, edit, scale, rollout, events, top, logs, version and the error lines,
against the real API app."""

from __future__ import annotations

import json
import os
import re
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from conftest import ApiServer, pod, running, ts

from podbay.cli.commands.rollout import status_message
from podbay.cli.discovery import ApiResource

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "labels": {"app": "web"}},
      "data": {"a": "1"}}


def deployment(name: str = "web", replicas: int = 3) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": "nginx:1.25",
                                                           "ports": [{"containerPort": 80}]}]}}}}


# --- wait -----------------------------------------------------------------------------------------------

def test_wait_condition_jsonpath_delete_and_timeouts(server: ApiServer, run: Any) -> None:
    server.create(pod("web"))

    def later() -> None:
        time.sleep(0.3)
        running(server, "web")

    threading.Thread(target=later, daemon=True).start()
    r = run("wait", "--for=condition=Ready", "pod/web", "--timeout=10s")
    assert (r.exit_code, r.stdout) == (0, "pod/web condition met\n"), r.output
    assert run("wait", "--for=jsonpath={.status.phase}=Running", "pod/web").stdout == "pod/web condition met\n"
    assert run("wait", "--for=condition=ready=True", "pods", "--all").stdout == "pod/web condition met\n"
    r = run("wait", "--for=condition=Ready=false", "pod/web", "--timeout=200ms")
    assert (r.exit_code, r.stderr) == (1, "error: timed out waiting for the condition on pods/web\n")
    server.create(CM)
    rt = server.registry.kind("ConfigMap")
    threading.Thread(target=lambda: (time.sleep(0.3), server.call(server.registry.delete, rt, "default", "cfg")),
                     daemon=True).start()   # not a second CliRunner: it swaps sys.stdout for its thread too
    assert run("wait", "--for=delete", "cm/cfg", "--timeout=10s").stdout == "configmap/cfg condition met\n"
    assert run("wait", "--for=delete", "cm/cfg").exit_code == 0          # already gone: nothing to wait for
    r = run("wait", "--for=condition=Ready", "pod/nope")
    assert r.stderr == 'Error from server (NotFound): pods "nope" not found\n'
    assert run("wait", "--for=sideways", "pod/web").stderr == "error: unrecognized condition: 'sideways'\n"


# --- label / annotate / patch ---------------------------------------------------------------------------

def test_label_annotate_like_kubectl(server: ApiServer, run: Any) -> None:
    server.create(CM)
    assert run("label", "cm", "cfg", "tier=db").stdout == "configmap/cfg labeled\n"
    r = run("label", "cm", "cfg", "tier=cache")
    assert (r.exit_code, r.stderr) == (1, "error: 'tier' already has a value (db), and --overwrite is false\n")
    assert run("label", "cm", "cfg", "tier=cache", "--overwrite").stdout == "configmap/cfg labeled\n"
    assert run("label", "cm", "cfg", "tier=cache", "--overwrite").stdout == "configmap/cfg not labeled\n"
    assert run("label", "cm", "cfg", "tier-").stdout == "configmap/cfg unlabeled\n"
    assert run("label", "cm", "cfg", "tier-").stdout == 'label "tier" not found.\nconfigmap/cfg not labeled\n'
    assert server.get("ConfigMap", "default", "cfg")["metadata"]["labels"] == {"app": "web"}
    assert run("annotate", "configmap/cfg", "note=hello world").stdout == "configmap/cfg annotated\n"
    assert server.get("ConfigMap", "default", "cfg")["metadata"]["annotations"] == {"note": "hello world"}
    server.create(pod("web"))
    assert run("label", "pods,cm", "--all", "env=test").stdout == "pod/web labeled\nconfigmap/cfg labeled\n"
    assert run("label", "cm", "cfg").stderr == "error: at least one label update is required\n"


def test_patch_types(server: ApiServer, run: Any, tmp_path: Path) -> None:
    server.create(pod("web"))
    r = run("patch", "pod", "web", "-p", '{"metadata":{"labels":{"q":"1"}}}')
    assert r.stdout == "pod/web patched\n", r.output
    assert run("patch", "pod", "web", "-p", '{"metadata":{"labels":{"q":"1"}}}').stdout == "pod/web patched (no change)\n"
    assert run("patch", "pod", "web", "--type", "merge", "-p", "metadata: {labels: {q: '2'}}").exit_code == 0
    r = run("patch", "pod", "web", "--type", "json", "-p", '[{"op":"replace","path":"/spec/containers/0/image",'
                                                         '"value":"busybox:1.37"}]')
    assert r.stdout == "pod/web patched\n"
    live = server.get("Pod", "default", "web")
    assert live["metadata"]["labels"]["q"] == "2" and live["spec"]["containers"][0]["image"] == "busybox:1.37"
    f = tmp_path / "p.yaml"
    f.write_text('{"spec":{"activeDeadlineSeconds":30}}')
    r = run("patch", "pod", "web", "--patch-file", str(f))
    assert r.exit_code == 0, r.output
    r = run("patch", "pod", "web", "-p", '{"spec":{"containers":[{"name":"app","image":""}]}}')
    assert r.exit_code == 1 and r.stderr.startswith('Error from server (Invalid): Pod "web" is invalid:')
    r = run("patch", "pod", "web", "--type", "json", "-p", '[{"op":"remove","path":"/metadata/labels/nope"}]')
    assert r.exit_code == 1 and r.stderr.startswith("Error from server")


# --- edit -----------------------------------------------------------------------------------------------

def editor(tmp_path: Path, script: str) -> str:
    path = tmp_path / "editor.sh"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_edit_sends_the_change(server: ApiServer, run: Any, tmp_path: Path, monkeypatch: Any) -> None:
    server.create(CM)
    monkeypatch.setenv("EDITOR", editor(tmp_path, 'sed -i "s/a: \\"1\\"/a: \\"2\\"/" "$1"\n'))
    r = run("edit", "cm", "cfg")
    assert r.stdout == "configmap/cfg edited\n", r.output
    assert server.get("ConfigMap", "default", "cfg")["data"] == {"a": "2"}
    monkeypatch.setenv("EDITOR", editor(tmp_path, "true\n"))
    r = run("edit", "cm/cfg")
    assert (r.exit_code, r.stderr) == (0, "Edit cancelled, no changes made.\n")
    monkeypatch.setenv("EDITOR", editor(tmp_path, 'sed -i "s/name: cfg/name: other/" "$1"\n'))
    assert run("edit", "cm", "cfg").stderr == "error: At least one of apiVersion, kind and name was changed\n"


def test_edit_rejected_by_the_server_keeps_a_copy(server: ApiServer, run: Any, tmp_path: Path,
                                                  monkeypatch: Any) -> None:
    server.create(pod("web"))
    monkeypatch.setenv("KUBE_EDITOR", editor(tmp_path, 'sed -i "s/restartPolicy: Always/restartPolicy: Never/" "$1"\n'))
    r = run("edit", "pod", "web")
    assert r.exit_code == 1
    assert 'error: pods "web" could not be patched: Error from server (Invalid): Pod "web" is invalid' in r.stderr
    copy = r.stderr.rsplit('stored to "', 1)[1].split('"')[0]
    assert "restartPolicy: Never" in Path(copy).read_text()
    os.unlink(copy)


# --- scale / rollout / describe deployment --------------------------------------------------------------

def test_scale_uses_the_scale_subresource(server: ApiServer, run: Any) -> None:
    server.create(CM)
    r = run("scale", "cm", "cfg", "--replicas=2")
    assert (r.exit_code, r.stderr) == (1, "Error from server (NotFound): the server could not find the requested "
                                          "resource\n")
    assert run("scale", "cm", "cfg", "--replicas=-1").stderr.startswith("error: The --replicas=COUNT flag")


RES = ApiResource("apps", "v1", "Deployment", "deployments", "deployment", True)


def test_rollout_status_messages_are_kubectls() -> None:
    d = deployment()
    d["metadata"].update(generation=2)
    d["status"] = {"observedGeneration": 1}
    assert status_message(RES, d) == ("Waiting for deployment spec update to be observed...\n", False)
    d["status"] = {"observedGeneration": 2, "replicas": 4, "updatedReplicas": 1, "availableReplicas": 3}
    assert status_message(RES, d) == ('Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have '
                                      "been updated...\n", False)
    d["status"].update(updatedReplicas=3)
    assert status_message(RES, d)[0] == ('Waiting for deployment "web" rollout to finish: 1 old replicas are pending '
                                         "termination...\n")
    d["status"].update(replicas=3, availableReplicas=1)
    assert status_message(RES, d)[0] == ('Waiting for deployment "web" rollout to finish: 1 of 3 updated replicas are '
                                         "available...\n")
    d["status"].update(availableReplicas=3)
    assert status_message(RES, d) == ('deployment "web" successfully rolled out\n', True)
    ds = ApiResource("apps", "v1", "DaemonSet", "daemonsets", "daemonset", True)
    assert status_message(ds, {"metadata": {"name": "x", "generation": 1},
                               "status": {"observedGeneration": 1, "desiredNumberScheduled": 1,
                                          "updatedNumberScheduled": 1, "numberAvailable": 1}}) == (
        'daemon set "x" successfully rolled out\n', True)


WAITING = re.compile(r'Waiting for deployment "web" rollout to finish: \d+ (out of \d+ new replicas have been updated|'
                     r"old replicas are pending termination|of \d+ updated replicas are available)\.\.\.$")


def rolled_out(run: Any, target: str = "deployment/web") -> list[str]:
    r = run("rollout", "status", target, "--timeout=60s")
    lines = r.stdout.splitlines()
    assert r.exit_code == 0 and lines[-1] == 'deployment "web" successfully rolled out', r.output
    assert all(WAITING.match(line) or line == "Waiting for deployment spec update to be observed..."
               for line in lines[:-1]), lines
    assert len(set(lines)) == len(lines)   # a line per change of the message, as kubectl
    return lines


def test_rollout_status_follows_the_deployment_controller(server: ApiServer, run: Any) -> None:
    server.create(deployment())
    r = run("rollout", "status", "deploy/web", "--timeout=1s")   # no kubelet yet: no pod becomes ready
    assert r.exit_code == 1 and r.stderr == "error: timed out waiting for the condition\n"
    assert r.stdout.splitlines()[-1] == ('Waiting for deployment "web" rollout to finish: 0 of 3 updated replicas are '
                                         "available...")
    server.start_kubelet()
    for p in server.call(server.registry.list, server.registry.kind("Pod"), "default")[1]:
        server.call(server._mark_running, "default", p.name)
    rolled_out(run)
    assert run("rollout", "status", "deployment", "web", "--watch=false").stdout == \
        'deployment "web" successfully rolled out\n'
    assert run("rollout", "status", "cm/x").stderr == "error: no status viewer has been implemented for ConfigMap\n"


def test_rollout_history_undo_restart_pause(server: ApiServer, run: Any) -> None:
    server.start_kubelet()
    server.create(deployment())
    rolled_out(run)
    patch = '{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"nginx:1.26"}]}}}}'
    assert run("patch", "deployment", "web", "-p", patch).stdout == "deployment.apps/web patched\n"
    rolled_out(run)
    assert run("rollout", "history", "deployment/web").stdout == (
        "deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n\n")
    history = run("rollout", "history", "deployment/web", "--revision=1").stdout
    assert history.startswith("deployment.apps/web with revision #1\nPod Template:\n")
    assert ["Image:", "nginx:1.25"] in [line.split() for line in history.splitlines()]
    assert run("rollout", "undo", "deployment/web").stdout == "deployment.apps/web rolled back\n"
    rolled_out(run)
    live = server.get("Deployment", "default", "web", group="apps")
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
    assert "pod-template-hash" not in live["spec"]["template"]["metadata"]["labels"]
    assert run("rollout", "undo", "deployment/web", "--to-revision=3").stdout == (
        "deployment.apps/web skipped rollback (current template already matches revision 3)\n")
    assert run("rollout", "restart", "deployment/web").stdout == "deployment.apps/web restarted\n"
    annotations = server.get("Deployment", "default", "web", group="apps")["spec"]["template"]["metadata"][
        "annotations"]
    assert set(annotations) == {"kubectl.kubernetes.io/restartedAt"}
    rolled_out(run)
    assert run("rollout", "pause", "deployment/web").stdout == "deployment.apps/web paused\n"
    assert run("rollout", "restart", "deployment/web").stderr == \
        "error: can't restart paused deployment (run rollout resume first)\n"
    assert run("rollout", "resume", "deployment/web").stdout == "deployment.apps/web resumed\n"


def test_scale_and_describe_deployment(server: ApiServer, run: Any) -> None:
    server.start_kubelet()
    server.create(deployment())
    rolled_out(run)
    assert run("scale", "deployment/web", "--replicas=2").stdout == "deployment.apps/web scaled\n"
    assert run("scale", "deploy", "web", "--replicas=5", "--current-replicas=3").stderr == \
        "error: Expected replicas to be 3, was 2\n"
    rolled_out(run)
    out = run("describe", "deploy", "web").stdout
    assert out.startswith("Name:                   web\nNamespace:              default\nCreationTimestamp:      ")
    lines = out.splitlines()
    for line in ("Selector:               app=web",
                 "Replicas:               2 desired | 2 updated | 2 total | 2 available | 0 unavailable",
                 "StrategyType:           RollingUpdate",
                 "RollingUpdateStrategy:  25% max unavailable, 25% max surge",
                 "Pod Template:", "  Labels:  app=web", "  Containers:", "   app:",
                 "    Image:         nginx:1.25", "    Port:          80/TCP", "  Volumes:         <none>",
                 "OldReplicaSets:  <none>"):
        assert line in lines, (line, out)
    assert any(re.fullmatch(r"NewReplicaSet:   web-\w+ \(2/2 replicas created\)", line) for line in lines), out
    assert [line.split()[:2] for line in lines if line.startswith(("  Available", "  Progressing"))] == [
        ["Available", "True"], ["Progressing", "True"]]


# --- events / top / logs / exec / version ---------------------------------------------------------------

def event(name: str, reason: str, type_: str, last: float, count: int = 1, first: float | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name},
            "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"}, "reason": reason,
            "message": f"{reason} happened", "type": type_, "source": {"component": "kubelet"},
            "firstTimestamp": ts(first if first is not None else last), "lastTimestamp": ts(last), "count": count}


def test_events_like_kubectl_events(server: ApiServer, run: Any) -> None:
    server.create(event("e1", "Pulled", "Normal", 60, count=3, first=600))
    server.create(event("e2", "BackOff", "Warning", 30))
    r = run("events")
    assert r.stdout == ("LAST SEEN           TYPE      REASON    OBJECT    MESSAGE\n"
                        "60s (x3 over 10m)   Normal    Pulled    Pod/web   Pulled happened\n"
                        "30s                 Warning   BackOff   Pod/web   BackOff happened\n")
    assert run("events", "--types=Warning", "--for", "pod/web").stdout.splitlines()[1].split()[:2] == ["30s", "Warning"]
    assert run("events", "-n", "empty").stderr == "No events found in empty namespace.\n"


def test_top_pod_and_node(server: ApiServer, run: Any) -> None:
    async def pods(_rt: Any, ns: str | None, name: str | None) -> list[dict[str, Any]]:
        return [{"metadata": {"name": "web", "namespace": "default"}, "timestamp": ts(0), "window": "10s",
                 "containers": [{"name": "app", "usage": {"cpu": "12500000n", "memory": "4Mi"}},
                                {"name": "side", "usage": {"cpu": "1m", "memory": "1048576"}}]}]

    async def nodes(_rt: Any, ns: str | None, name: str | None) -> list[dict[str, Any]]:
        return [{"metadata": {"name": "node1"}, "timestamp": ts(0), "window": "10s",
                 "usage": {"cpu": "500m", "memory": "1Gi"}}]

    server.api.computed[("metrics.k8s.io", "pods")] = pods
    server.api.computed[("metrics.k8s.io", "nodes")] = nodes
    server.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node1"}})
    server.set_status("Node", "", "node1", {"allocatable": {"cpu": "2", "memory": "4Gi"}})
    assert run("top", "pod").stdout == "NAME   CPU(cores)   MEMORY(bytes)   \nweb    14m          5Mi             \n"
    assert run("top", "pod", "--containers").stdout.splitlines()[1].split() == ["web", "app", "13m", "4Mi"]
    assert run("top", "node").stdout.splitlines() == [
        "NAME    CPU(cores)   CPU(%)   MEMORY(bytes)   MEMORY(%)   ", "node1   500m         25%      1024Mi          25%         "]


def test_top_without_metrics(server: ApiServer, run: Any) -> None:
    assert run("top", "pod").stderr == "error: Metrics API not available\n"


@pytest.fixture
def logs(server: ApiServer) -> list[dict[str, str]]:
    seen: list[dict[str, str]] = []

    async def handler(request: web.Request, _rt: Any, route: Any) -> web.StreamResponse:
        seen.append(dict(request.query))
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await resp.prepare(request)
        for chunk in (b"line1\n", b"line2\n"):
            await resp.write(chunk)
        return resp

    server.add_connect("", "pods", "log", handler)
    return seen


def test_logs_query_and_stream(server: ApiServer, run: Any, logs: list[dict[str, str]]) -> None:
    server.create(pod("web"))
    r = run("logs", "web", "-f", "--tail", "5", "--timestamps", "-p", "--since=2m")
    assert (r.exit_code, r.stdout) == (0, "line1\nline2\n"), r.output
    assert logs == [{"container": "app", "follow": "true", "previous": "true", "tailLines": "5",
                     "timestamps": "true", "sinceSeconds": "120"}]


def test_logs_container_choice_and_workload_pods(server: ApiServer, run: Any, logs: list[dict[str, str]]) -> None:
    two = pod("web", containers=[{"name": "a", "image": "i"}, {"name": "b", "image": "i"}])
    server.create(two)
    r = run("logs", "web")
    assert (r.exit_code, r.stderr) == (1, "error: a container name must be specified for pod web, choose one of: [a b]\n")
    assert run("logs", "pod/web", "-c", "b").exit_code == 0 and logs[-1]["container"] == "b"
    assert run("logs", "web", "c").stderr == "error: container c is not valid for pod web\n"
    server.create(deployment())
    assert run("logs", "deploy/web", "-c", "a").exit_code == 0 and logs[-1]["container"] == "a"


def test_version(server: ApiServer, run: Any) -> None:
    from podbay import __version__

    r = run("version")
    assert r.stdout.splitlines()[0] == f"Client Version: {__version__}"
    assert r.stdout.splitlines()[1].startswith("Server Version: v1.37.0-podbay.")
    assert json.loads(run("version", "-o", "json").stdout)["serverVersion"]["major"] == "1"


def test_unreachable_socket_is_one_line(sock_dir: str) -> None:
    from click.testing import CliRunner

    from podbay.cli.main import cli

    r = CliRunner().invoke(cli, ["--socket", f"{sock_dir}/nope.sock", "get", "pods"])
    assert r.exit_code == 1
    assert r.stderr == (f"error: cannot reach the podbay agent at {sock_dir}/nope.sock: is it running? (start it "
                        "with: podbay agent)\n")


def test_server_error_without_status_body() -> None:
    from podbay.client.http import status_from_body

    st = status_from_body(502, "Bad Gateway", b"upstream broke")
    assert (st["reason"], st["message"], st["code"]) == ("BadGateway", "upstream broke", 502)


def test_help_lists_every_verb(run: Any) -> None:
    from podbay.cli.main import COMMANDS

    text = run("--help").stdout
    for verb in COMMANDS:
        assert f"  {verb} " in text
    for verb in COMMANDS:
        if verb != "agent":   # `podbay agent --help` is the agent's own help
            assert run(verb, "--help").exit_code == 0, verb
